package usersig

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vector is one line of testdata/usersig-vectors.jsonl.
type vector struct {
	SDKAppID   uint64 `json:"sdkappid"`
	Key        string `json:"key"`
	Identifier string `json:"identifier"`
	Expire     int64  `json:"expire"`
	Time       int64  `json:"time"`
	UserBufB64 string `json:"userbuf_b64"`
	ZlibLevel  int    `json:"zlib_level"`
	UserSig    string `json:"usersig"`
}

func (v vector) name() string {
	return v.Identifier + "@" + time.Unix(v.Time, 0).UTC().Format("20060102T150405")
}

// userBuf is the vector's user buffer, nil when it carries none.
func (v vector) userBuf(t testing.TB) []byte {
	t.Helper()
	if v.UserBufB64 == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(v.UserBufB64)
	if err != nil {
		t.Fatalf("vector %s: userbuf_b64: %v", v.name(), err)
	}
	return b
}

// escape and unescape map between standard base64 and the ticket's text form.
func escape(s string) string   { return strings.NewReplacer("+", "*", "/", "-", "=", "_").Replace(s) }
func unescape(s string) string { return strings.NewReplacer("*", "+", "-", "/", "_", "=").Replace(s) }

func loadVectors(t testing.TB) []vector {
	t.Helper()
	f, err := os.Open("testdata/usersig-vectors.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var v vector
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("usersig-vectors.jsonl:%d: %v", line, err)
		}
		vs = append(vs, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	return vs
}

// codeOf returns the code of a *Error, failing the test for any other error.
func codeOf(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *usersig.Error", err, err)
	}
	return e.Code
}

// rawJSON returns the JSON document inside a ticket.
func rawJSON(t testing.TB, ticket string) []byte {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(unescape(ticket))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	js, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// encode builds a ticket from a JSON document compressed at level.
func encode(t testing.TB, js []byte, level int) string {
	t.Helper()
	var z bytes.Buffer
	w, err := zlib.NewWriterLevel(&z, level)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(js); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return escape(base64.StdEncoding.EncodeToString(z.Bytes()))
}

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.name(), func(t *testing.T) {
			key := []byte(v.Key)
			ub := v.userBuf(t)
			issued := time.Unix(v.Time, 0)
			expiry := time.Unix(v.Time+v.Expire, 0)
			// The expected buffer is checked when given and skipped when nil.
			for _, want := range [][]byte{ub, nil} {
				for _, at := range []time.Time{issued, expiry} {
					tk, err := Verify(v.UserSig, v.SDKAppID, key, v.Identifier, want, at)
					if err != nil {
						t.Fatalf("Verify(userbuf=%q) at %d: %v", want, at.Unix(), err)
					}
					if tk.Identifier != v.Identifier || tk.SDKAppID != v.SDKAppID || tk.Time != v.Time || tk.Expire != v.Expire {
						t.Fatalf("decoded %+v, want identifier %q sdkappid %d time %d expire %d",
							tk, v.Identifier, v.SDKAppID, v.Time, v.Expire)
					}
					if !bytes.Equal(tk.UserBuf, ub) || (ub == nil) != (tk.UserBuf == nil) {
						t.Fatalf("decoded userbuf %q, want %q", tk.UserBuf, ub)
					}
					if !tk.ExpiresAt().Equal(expiry) {
						t.Fatalf("ExpiresAt %v, want %v", tk.ExpiresAt(), expiry)
					}
				}
				_, err := Verify(v.UserSig, v.SDKAppID, key, v.Identifier, want, expiry.Add(time.Second))
				if got := codeOf(t, err); got != CodeExpired {
					t.Fatalf("Verify(userbuf=%q) one second after expiry: code %d (%v), want %d", want, got, err, CodeExpired)
				}
			}
		})
	}
}

// TestVectorsRecompressed re-compresses every vector's document at other zlib
// levels: the decoder accepts any valid zlib stream.
func TestVectorsRecompressed(t *testing.T) {
	levels := []int{zlib.NoCompression, zlib.BestSpeed, zlib.DefaultCompression, zlib.BestCompression, zlib.HuffmanOnly}
	for _, v := range loadVectors(t) {
		js := rawJSON(t, v.UserSig)
		for _, level := range levels {
			if level == v.ZlibLevel {
				continue
			}
			ticket := encode(t, js, level)
			if ticket == v.UserSig {
				continue
			}
			t.Run(v.name()+"/level"+strconv.Itoa(level), func(t *testing.T) {
				if _, err := Verify(ticket, v.SDKAppID, []byte(v.Key), v.Identifier, v.userBuf(t), time.Unix(v.Time, 0)); err != nil {
					t.Fatalf("level %d: %v", level, err)
				}
			})
		}
	}
}

// TestDecodeVariants covers documents the official implementations differ
// in: key order, whitespace, a trailing newline, a missing zero field.
func TestDecodeVariants(t *testing.T) {
	key := []byte("k")
	sig := base64.StdEncoding.EncodeToString(sign(nil, key, "u", 7, 100, 0, false, ""))
	docs := map[string]string{
		"reordered":       `{"TLS.sig":"` + sig + `","TLS.time":100,"TLS.expire":0,"TLS.sdkappid":7,"TLS.identifier":"u","TLS.ver":"2.0"}`,
		"whitespace":      "{ \"TLS.ver\" : \"2.0\" ,\n\t\"TLS.identifier\":\"u\", \"TLS.sdkappid\": 7, \"TLS.expire\": 0, \"TLS.time\": 100, \"TLS.sig\": \"" + sig + "\" }",
		"newline":         `{"TLS.ver":"2.0","TLS.identifier":"u","TLS.sdkappid":7,"TLS.expire":0,"TLS.time":100,"TLS.sig":"` + sig + `"}` + "\n",
		"expire omitted":  `{"TLS.ver":"2.0","TLS.identifier":"u","TLS.sdkappid":7,"TLS.time":100,"TLS.sig":"` + sig + `"}`,
		"escaped string":  `{"TLS.ver":"2.0","TLS.identifier":"\u0075","TLS.sdkappid":7,"TLS.expire":0,"TLS.time":100,"TLS.sig":"` + sig + `"}`,
		"unknown members": `{"TLS.ver":"2.0","TLS.identifier":"u","x":[1,{"y":null}],"TLS.sdkappid":7,"TLS.expire":0,"TLS.time":100,"TLS.sig":"` + sig + `"}`,
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			ticket := encode(t, []byte(doc), zlib.DefaultCompression)
			if _, err := Verify(ticket, 7, key, "u", nil, time.Unix(100, 0)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	vs := loadVectors(t)
	v := vs[0]
	key := []byte(v.Key)
	at := time.Unix(v.Time, 0)
	js := rawJSON(t, v.UserSig)
	raw, err := base64.StdEncoding.DecodeString(unescape(v.UserSig))
	if err != nil {
		t.Fatal(err)
	}
	var withBuf vector
	for _, w := range vs {
		if w.UserBufB64 != "" {
			withBuf = w
			break
		}
	}
	cases := []struct {
		name     string
		ticket   string
		sdkappid uint64
		key      []byte
		user     string
		userbuf  []byte
		now      time.Time
		code     int
	}{
		{name: "empty", ticket: "", code: CodeEmpty},
		{name: "not base64", ticket: "eAEA!!!!", code: CodeUndecodable},
		{name: "not base64 padding", ticket: v.UserSig[:len(v.UserSig)-1], code: CodeUndecodable},
		{name: "not zlib", ticket: escape(base64.StdEncoding.EncodeToString(js)), code: CodeUndecodable},
		{name: "zlib header only", ticket: escape(base64.StdEncoding.EncodeToString(raw[:2])), code: CodeUndecodable},
		{name: "truncated", ticket: escape(base64.StdEncoding.EncodeToString(raw[:len(raw)/2])), code: CodeUndecodable},
		{name: "bad checksum", ticket: escape(base64.StdEncoding.EncodeToString(append(raw[:len(raw)-1:len(raw)-1], raw[len(raw)-1]^1))), code: CodeUndecodable},
		{name: "not JSON", ticket: encode(t, []byte("TLS.ver=2.0"), 6), code: CodeUndecodable},
		{name: "JSON array", ticket: encode(t, []byte(`["TLS.ver"]`), 6), code: CodeUndecodable},
		{name: "string number", ticket: encode(t, bytes.Replace(js, []byte(`"TLS.time":1700000000`), []byte(`"TLS.time":"1700000000"`), 1), 6), code: CodeUndecodable},
		{name: "fraction", ticket: encode(t, bytes.Replace(js, []byte(`"TLS.time":1700000000`), []byte(`"TLS.time":1700000000.5`), 1), 6), code: CodeUndecodable},
		{name: "negative sdkappid", ticket: encode(t, bytes.Replace(js, []byte(`"TLS.sdkappid":1400000000`), []byte(`"TLS.sdkappid":-1`), 1), 6), code: CodeUndecodable},
		{name: "sig not base64", ticket: encode(t, bytes.Replace(js, []byte(`"TLS.sig":"`), []byte(`"TLS.sig":"!`), 1), 6), code: CodeUndecodable},
		{name: "too large", ticket: encode(t, append(append([]byte(`{"pad":"`), bytes.Repeat([]byte("a"), maxTicketBytes)...), `"}`...), 9), code: CodeUndecodable},
		{name: "other key", ticket: v.UserSig, key: []byte("another app's key"), code: CodeBadSignature},
		{name: "tampered time", ticket: encode(t, bytes.Replace(js, []byte(`"TLS.time":1700000000`), []byte(`"TLS.time":1700000001`), 1), 6), code: CodeBadSignature},
		{name: "user mismatch", ticket: v.UserSig, user: v.Identifier + "x", code: CodeUserMismatch},
		{name: "sdkappid mismatch", ticket: v.UserSig, sdkappid: v.SDKAppID + 1, code: CodeAppMismatch},
		{name: "expired", ticket: v.UserSig, now: time.Unix(v.Time+v.Expire+1, 0), code: CodeExpired},
		{name: "userbuf expected, none in ticket", ticket: v.UserSig, userbuf: []byte("x"), code: CodeBadSignature},
		// The reference order: SDKAppID before UserID before expiry.
		{name: "app checked first", ticket: v.UserSig, sdkappid: v.SDKAppID + 1, user: "other", now: time.Unix(v.Time+v.Expire+1, 0), code: CodeAppMismatch},
		{name: "user before expiry", ticket: v.UserSig, user: "other", now: time.Unix(v.Time+v.Expire+1, 0), key: []byte("x"), code: CodeUserMismatch},
		{name: "expiry before signature", ticket: v.UserSig, key: []byte("x"), now: time.Unix(v.Time+v.Expire+1, 0), code: CodeExpired},
	}
	if withBuf.UserSig != "" {
		cases = append(cases, struct {
			name     string
			ticket   string
			sdkappid uint64
			key      []byte
			user     string
			userbuf  []byte
			now      time.Time
			code     int
		}{name: "userbuf differs", ticket: withBuf.UserSig, sdkappid: withBuf.SDKAppID, key: []byte(withBuf.Key),
			user: withBuf.Identifier, userbuf: []byte("other buffer"), now: time.Unix(withBuf.Time, 0), code: CodeBadSignature})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.sdkappid == 0 {
				c.sdkappid = v.SDKAppID
			}
			if c.key == nil {
				c.key = key
			}
			if c.user == "" {
				c.user = v.Identifier
			}
			if c.now.IsZero() {
				c.now = at
			}
			_, err := Verify(c.ticket, c.sdkappid, c.key, c.user, c.userbuf, c.now)
			if got := codeOf(t, err); got != c.code {
				t.Fatalf("code %d (%v), want %d", got, err, c.code)
			}
			var e *Error
			errors.As(err, &e)
			if e.Reason == "" || !strings.Contains(err.Error(), e.Reason) {
				t.Fatalf("error %q lacks a reason", err)
			}
		})
	}
}

func TestGenVerify(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		sdkappid uint64
		key      string
		user     string
		expire   time.Duration
		userbuf  []byte
	}{
		{"plain", 1400000000, "secret", "alice", 24 * time.Hour, nil},
		{"userbuf", 1400000000, "secret", "bob", time.Hour, []byte("room:1234")},
		{"binary userbuf", 1600012345, "k", "c", 180 * 24 * time.Hour, []byte{0, 1, 2, 0xff, 0xfe}},
		{"empty userbuf", 1, "k", "d", time.Minute, []byte{}},
		{"zero lifetime", 1, "k", "e", 0, nil},
		{"html characters", 1, "k", "a<b>&c", time.Hour, nil},
		{"longest user", 1, "k", strings.Repeat("z", 32), time.Hour, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ticket, err := Gen(c.sdkappid, []byte(c.key), c.user, c.expire, now, c.userbuf)
			if err != nil {
				t.Fatal(err)
			}
			last := now.Add(c.expire)
			for _, at := range []time.Time{now, last} {
				tk, err := Verify(ticket, c.sdkappid, []byte(c.key), c.user, c.userbuf, at)
				if err != nil {
					t.Fatalf("at %v: %v", at, err)
				}
				if (c.userbuf == nil) != (tk.UserBuf == nil) || !bytes.Equal(tk.UserBuf, c.userbuf) {
					t.Fatalf("userbuf %q, want %q", tk.UserBuf, c.userbuf)
				}
				if tk.Version != "2.0" {
					t.Fatalf("version %q", tk.Version)
				}
			}
			_, err = Verify(ticket, c.sdkappid, []byte(c.key), c.user, c.userbuf, last.Add(time.Second))
			if got := codeOf(t, err); got != CodeExpired {
				t.Fatalf("after expiry: code %d (%v), want %d", got, err, CodeExpired)
			}
			// Re-compressed at every level, the ticket still verifies.
			js := rawJSON(t, ticket)
			for _, level := range []int{zlib.NoCompression, zlib.BestSpeed, zlib.DefaultCompression, zlib.HuffmanOnly} {
				if _, err := Verify(encode(t, js, level), c.sdkappid, []byte(c.key), c.user, c.userbuf, now); err != nil {
					t.Fatalf("re-compressed at level %d: %v", level, err)
				}
			}
		})
	}
}

func TestGenRejectsInvalidUTF8(t *testing.T) {
	_, err := Gen(1, []byte("k"), "a\xffb", time.Hour, time.Unix(0, 0), nil)
	if err == nil {
		t.Fatal("Gen accepted an identifier that is not UTF-8")
	}
}

func TestDecodeDoesNotVerify(t *testing.T) {
	v := loadVectors(t)[0]
	tk, err := Decode(v.UserSig)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Identifier != v.Identifier || tk.SDKAppID != v.SDKAppID || len(tk.Sig) != 32 {
		t.Fatalf("Decode = %+v", tk)
	}
}

// TestGenMatchesVectors: Gen makes, byte for byte, the ticket that the
// official Go implementation made for every vector.
func TestGenMatchesVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.name(), func(t *testing.T) {
			got, err := Gen(v.SDKAppID, []byte(v.Key), v.Identifier, time.Duration(v.Expire)*time.Second, time.Unix(v.Time, 0), v.userBuf(t))
			if err != nil {
				t.Fatal(err)
			}
			if got != v.UserSig {
				t.Fatalf("Gen =\n%s\nwant\n%s\ndocument %s", got, v.UserSig, rawJSON(t, got))
			}
		})
	}
}

// TestStoredMatchesZlib: the stored-block writer and reader agree with
// compress/zlib, across the 65535-byte block boundary.
func TestStoredMatchesZlib(t *testing.T) {
	for _, n := range []int{0, 1, 200, 65535, 65536, 140000} {
		data := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
		got := storeZlib(nil, data)
		var want bytes.Buffer
		w, _ := zlib.NewWriterLevel(&want, zlib.NoCompression)
		w.Write(data)
		w.Close()
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("n=%d: storeZlib differs from compress/zlib", n)
		}
		// Stored blocks never inflate beyond their input: any size is read
		// (the official verifier reads any size too).
		out, ok := inflateStored(bytes.Clone(got))
		if !ok || !bytes.Equal(out, data) {
			t.Fatalf("n=%d: inflateStored ok=%v, content equal %v", n, ok, bytes.Equal(out, data))
		}
	}
}

func TestHMACMatchesCryptoHMAC(t *testing.T) {
	for _, kl := range []int{0, 1, 32, 63, 64, 65, 200} {
		for _, ml := range []int{0, 1, 100, 447, 448, 449, 5000} {
			key := bytes.Repeat([]byte{byte(kl + 1)}, kl)
			msg := bytes.Repeat([]byte{byte(ml*7 + 3)}, ml)
			m := hmac.New(sha256.New, key)
			m.Write(msg)
			got := hmacSHA256(key, msg)
			if !bytes.Equal(got[:], m.Sum(nil)) {
				t.Fatalf("key %d bytes, message %d bytes: differs from crypto/hmac", kl, ml)
			}
		}
	}
}

// TestLargeUserBuf: Gen makes tickets whose document is over 4096 bytes, as
// the official generator does for a long user buffer, and the official
// verifier accepts them; so does Verify, in stored blocks and compressed by
// another implementation.
func TestLargeUserBuf(t *testing.T) {
	key := []byte("large-userbuf-key")
	now := time.Unix(1700000000, 0)
	for _, n := range []int{2900, 3100, 20000, 100000} {
		buf := make([]byte, n)
		rand.NewChaCha8([32]byte{byte(n)}).Read(buf) // incompressible

		ticket, err := Gen(1400000000, key, "bob", time.Hour, now, buf)
		if err != nil {
			t.Fatal(err)
		}
		js := rawJSON(t, ticket)
		if n >= 3100 && len(js) <= maxTicketBytes {
			t.Fatalf("userbuf %d: document of %d bytes; the test wants one over %d", n, len(js), maxTicketBytes)
		}
		for name, tk := range map[string]string{"stored": ticket, "compressed": encode(t, js, zlib.DefaultCompression)} {
			got, err := Verify(tk, 1400000000, key, "bob", buf, now)
			if err != nil {
				t.Errorf("userbuf %d, %s (document %d bytes): %v", n, name, len(js), err)
				continue
			}
			if !bytes.Equal(got.UserBuf, buf) {
				t.Errorf("userbuf %d, %s: buffer differs", n, name)
			}
		}
	}
}

// TestInflateBound: a compressed document may hold up to maxInflateRatio
// times its compressed size (at least maxTicketBytes); a decompression bomb
// beyond that is refused without being inflated further.
func TestInflateBound(t *testing.T) {
	for _, tc := range []struct {
		pad int
		ok  bool
	}{{maxTicketBytes - 100, true}, {maxTicketBytes, false}, {1 << 20, false}} {
		doc := append(append([]byte(`{"pad":"`), bytes.Repeat([]byte("a"), tc.pad)...), `"}`...)
		ticket := encode(t, doc, zlib.BestCompression)
		_, err := Decode(ticket)
		var e *Error
		switch {
		case tc.ok && err != nil:
			t.Errorf("pad %d: %v", tc.pad, err)
		case !tc.ok && (!errors.As(err, &e) || e.Code != CodeUndecodable || !strings.Contains(e.Reason, "too large")):
			t.Errorf("pad %d (%d bytes of ticket): %v, want 70003 too large", tc.pad, len(ticket), err)
		}
	}
	// Within the ratio, above the floor: random content compresses little.
	r := make([]byte, 30000)
	rand.NewChaCha8([32]byte{1}).Read(r)
	doc := []byte(`{"pad":"` + base64.StdEncoding.EncodeToString(r) + `"}`)
	if _, err := Decode(encode(t, doc, zlib.BestCompression)); err != nil {
		t.Errorf("document of %d bytes at a low ratio: %v", len(doc), err)
	}
}

// TestMemberNamesIgnoreCase: the official verifier decodes the document into
// a struct with encoding/json, which matches member names without regard to
// case (Unicode folding); so does Verify. The names are not signed, so the
// ticket verifies.
func TestMemberNamesIgnoreCase(t *testing.T) {
	v := loadVectors(t)[0]
	js := rawJSON(t, v.UserSig)
	lower := bytes.ReplaceAll(js, []byte(`"TLS.`), []byte(`"tls.`))
	mixed := bytes.Replace(js, []byte(`"TLS.identifier"`), []byte(`"Tls.IDENTIFIER"`), 1)
	// U+017F (long s) folds to s, U+212A (Kelvin sign) to k.
	unicode := bytes.Replace(bytes.Replace(js, []byte(`"TLS.sdkappid"`), []byte("\"TLS.sd\u212Aappid\""), 1), []byte(`"TLS.ver"`), []byte("\"TL\u017f.ver\""), 1)
	for name, doc := range map[string][]byte{"lower": lower, "mixed": mixed, "unicode": unicode} {
		var official struct {
			Version    string `json:"TLS.ver"`
			Identifier string `json:"TLS.identifier"`
			SDKAppID   uint64 `json:"TLS.sdkappid"`
			Time       int64  `json:"TLS.time"`
		}
		if err := json.Unmarshal(doc, &official); err != nil || official.Identifier != v.Identifier || official.SDKAppID != v.SDKAppID || official.Version != "2.0" {
			t.Fatalf("%s: encoding/json reads %+v, %v: the test document is wrong", name, official, err)
		}
		ticket := encode(t, doc, zlib.NoCompression)
		if _, err := Verify(ticket, v.SDKAppID, []byte(v.Key), v.Identifier, nil, time.Unix(v.Time, 0)); err != nil {
			t.Errorf("%s: %v\n%s", name, err, doc)
		}
	}
	// Of members naming one field in different cases, the last counts.
	dup := bytes.Replace(js, []byte(`"TLS.identifier"`), []byte(`"tls.identifier":"mallory","TLS.identifier"`), 1)
	if tk, err := Decode(encode(t, dup, zlib.NoCompression)); err != nil || tk.Identifier != v.Identifier {
		t.Errorf("duplicate in another case: %+v, %v; want the last, %q", tk, err, v.Identifier)
	}
	dup = bytes.Replace(js, []byte(`"TLS.sig"`), []byte(`"TLS.identifier":"mallory","tls.SIG"`), 1)
	if tk, err := Decode(encode(t, dup, zlib.NoCompression)); err != nil || tk.Identifier != "mallory" {
		t.Errorf("later member in another case: %+v, %v; want mallory", tk, err)
	}
}
