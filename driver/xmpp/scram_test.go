package xmpp

import (
	"strings"
	"testing"
)

// TestSCRAMVectors runs the example exchanges of RFC 5802 section 5
// (SCRAM-SHA-1) and RFC 7677 section 3 (SCRAM-SHA-256), with and without
// the salted-password cache.
func TestSCRAMVectors(t *testing.T) {
	cases := []struct {
		mech, nonce, serverFirst, clientFinal, serverFinal string
	}{
		{
			MechSCRAMSHA1, "fyko+d2lbbFgONRv9qkxdawL",
			"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
			"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
			"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
		},
		{
			MechSCRAMSHA256, "rOprNGfwEbeRWgbNEkqO",
			"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
			"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
			"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
		},
	}
	cache := newSaltCache(8)
	for _, tc := range cases {
		for _, round := range []string{"cold", "cached"} {
			t.Run(tc.mech+"/"+round, func(t *testing.T) {
				s := &scram{h: scramHash(tc.mech), user: "user", password: "pencil", nonce: tc.nonce, cache: cache}
				if got, want := s.first(), "n,,n=user,r="+tc.nonce; got != want {
					t.Fatalf("client-first = %q, want %q", got, want)
				}
				final, err := s.final(tc.serverFirst)
				if err != nil {
					t.Fatal(err)
				}
				if final != tc.clientFinal {
					t.Fatalf("client-final = %q, want %q", final, tc.clientFinal)
				}
				if err := s.verify(tc.serverFinal); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
	if len(cache.m) != 2 {
		t.Errorf("cache holds %d salted passwords, want 2", len(cache.m))
	}
}

func TestSCRAMRejects(t *testing.T) {
	const good = "r=abcXYZ,s=QSXCR+Q6sek8bf92,i=4096"
	cases := []struct {
		name, serverFirst, serverFinal string
		want                           string
	}{
		{"nonce not extended", "r=xyz,s=QSXCR+Q6sek8bf92,i=4096", "", "nonce"},
		{"nonce not longer", "r=abc,s=QSXCR+Q6sek8bf92,i=4096", "", "nonce"},
		{"bad salt", "r=abcXYZ,s=***,i=4096", "", "salt"},
		{"iterations zero", "r=abcXYZ,s=QSXCR+Q6sek8bf92,i=0", "", "iteration"},
		{"iterations not a number", "r=abcXYZ,s=QSXCR+Q6sek8bf92,i=x", "", "iteration"},
		{"mandatory extension", "m=ext,r=abcXYZ,s=QSXCR+Q6sek8bf92,i=4096", "", "extension"},
		{"malformed", "r=abcXYZ,garbage", "", "malformed"},
		{"server error", good, "e=invalid-proof", "server error"},
		{"wrong server signature", good, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=", "does not verify"},
		{"server signature not base64", good, "v=***", "does not verify"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &scram{h: scramHash(MechSCRAMSHA1), user: "user", password: "pencil", nonce: "abc"}
			s.first()
			_, err := s.final(tc.serverFirst)
			if err == nil && tc.serverFinal != "" {
				err = s.verify(tc.serverFinal)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestSASLName(t *testing.T) {
	for in, want := range map[string]string{"user": "user", "a=b,c": "a=3Db=2Cc", "": ""} {
		if got := saslName(in); got != want {
			t.Errorf("saslName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSaltCacheBounded(t *testing.T) {
	c := newSaltCache(3)
	for i := range 10 {
		c.put(saltKey{user: string(rune('a' + i))}, []byte{byte(i)})
		if len(c.m) > 3 {
			t.Fatalf("cache holds %d entries, limit 3", len(c.m))
		}
	}
	if v, ok := c.get(saltKey{user: "j"}); !ok || v[0] != 9 {
		t.Errorf("the last entry is gone: %v %v", v, ok)
	}
	var none *saltCache // SaltCache < 0
	none.put(saltKey{}, nil)
	if _, ok := none.get(saltKey{}); ok {
		t.Error("a nil cache returned an entry")
	}
}
