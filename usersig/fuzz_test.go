package usersig

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzKey signs the tickets of the fuzz targets' own seeds.
var fuzzKey = []byte("fuzz-key")

func knownCode(code int) bool {
	switch code {
	case CodeExpired, CodeEmpty, CodeUndecodable, CodeBadSignature, CodeUserMismatch, CodeAppMismatch:
		return true
	}
	return false
}

// FuzzVerify feeds arbitrary tickets to Verify: it never panics, fails only
// with a typed error of a known code, and whatever it decodes can be issued
// again with Gen and keeps verifying.
func FuzzVerify(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.UserSig, v.Key)
		f.Add(v.UserSig[:len(v.UserSig)/2], v.Key)
		js := rawJSON(f, v.UserSig)
		f.Add(encode(f, js, zlib.BestCompression), v.Key)
		f.Add(encode(f, js[:len(js)-3], zlib.NoCompression), v.Key)
	}
	own, err := Gen(7, fuzzKey, "fuzz", time.Hour, time.Unix(1e9, 0), []byte("buf"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(own, string(fuzzKey))
	f.Add("", "k")
	f.Add("eAEA", "k")
	f.Fuzz(func(t *testing.T, ticket, key string) {
		tk, err := Decode(ticket)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !knownCode(e.Code) {
				t.Fatalf("Decode error %v (%T) is not a *Error of a known code", err, err)
			}
			if _, verr := Verify(ticket, 1, []byte(key), "u", nil, time.Unix(0, 0)); verr == nil || verr.Error() != err.Error() {
				t.Fatalf("Verify error %v differs from Decode error %v", verr, err)
			}
			return
		}
		now := time.Unix(tk.Time, 0)
		got, err := Verify(ticket, tk.SDKAppID, []byte(key), tk.Identifier, tk.UserBuf, now)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Code != CodeBadSignature && e.Code != CodeExpired) {
				t.Fatalf("Verify of a decodable ticket with its own fields: %v", err)
			}
		} else if got.Identifier != tk.Identifier || got.SDKAppID != tk.SDKAppID || !bytes.Equal(got.UserBuf, tk.UserBuf) {
			t.Fatalf("Verify decoded %+v, Decode %+v", got, tk)
		}
		if tk.Expire < 0 || tk.Expire > math.MaxInt64/int64(time.Second) || tk.Time > math.MaxInt64-tk.Expire {
			return
		}
		again, err := Gen(tk.SDKAppID, []byte(key), tk.Identifier, time.Duration(tk.Expire)*time.Second, now, tk.UserBuf)
		if err != nil {
			t.Fatalf("Gen of decoded fields: %v", err)
		}
		for _, at := range []time.Time{now, tk.ExpiresAt()} {
			if _, err := Verify(again, tk.SDKAppID, []byte(key), tk.Identifier, tk.UserBuf, at); err != nil {
				t.Fatalf("re-issued ticket at %d: %v", at.Unix(), err)
			}
		}
	})
}

// FuzzGenVerify: every ticket Gen makes verifies during its lifetime, with
// and without the expected buffer, and has expired one second after it.
func FuzzGenVerify(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.SDKAppID, []byte(v.Key), v.Identifier, v.Expire, v.Time, []byte(v.UserBufB64), v.UserBufB64 != "")
	}
	f.Add(uint64(0), []byte{}, "", int64(0), int64(0), []byte{}, true)
	f.Add(uint64(math.MaxUint64), bytes.Repeat([]byte{0xff}, 200), "\"\\<>&\u2028", int64(1), int64(-1), []byte{0}, true)
	f.Fuzz(func(t *testing.T, sdkappid uint64, key []byte, user string, expire, issued int64, userbuf []byte, hasBuf bool) {
		if expire < 0 || expire > math.MaxInt64/int64(time.Second) || issued > math.MaxInt64-expire-1 {
			t.Skip("lifetime out of range")
		}
		if !hasBuf {
			userbuf = nil
		} else if userbuf == nil {
			userbuf = []byte{}
		}
		ticket, err := Gen(sdkappid, key, user, time.Duration(expire)*time.Second, time.Unix(issued, 0), userbuf)
		if !utf8.ValidString(user) {
			if err == nil {
				t.Fatalf("Gen accepted identifier %q, which is not UTF-8", user)
			}
			return
		}
		if err != nil {
			t.Fatalf("Gen: %v", err)
		}
		for _, want := range [][]byte{userbuf, nil} {
			for _, at := range []int64{issued, issued + expire} {
				tk, err := Verify(ticket, sdkappid, key, user, want, time.Unix(at, 0))
				if err != nil {
					t.Fatalf("at %d (expected buffer %q): %v", at, want, err)
				}
				if (tk.UserBuf == nil) != (userbuf == nil) || !bytes.Equal(tk.UserBuf, userbuf) {
					t.Fatalf("userbuf %q, want %q", tk.UserBuf, userbuf)
				}
			}
		}
		_, err = Verify(ticket, sdkappid, key, user, userbuf, time.Unix(issued+expire+1, 0))
		if e, ok := err.(*Error); !ok || e.Code != CodeExpired {
			t.Fatalf("one second after expiry: %v", err)
		}
	})
}

// FuzzParseDoc compares the document reader with a reference built on
// encoding/json: both accept the same documents and read the same fields.
func FuzzParseDoc(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(rawJSON(f, v.UserSig))
	}
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"TLS.time":1,"TLS.time":null}`, `{"TLS.time":"1"}`, `{"TLS.time":1.5}`,
		`{"TLS\u002eidentifier":"\u00e9\ud83d\ude00","x":{"y":["}",{"z":"\""}]}}`, `{"TLS.sig":"AAAA","TLS.sig":7,"TLS.sig":"AA=="}`,
		`{"TLS.userbuf":null}`, `{"TLS.userbuf":""}`, `{"TLS.sdkappid":-1}`, `{"TLS.expire":-0}`, "{\"TLS.identifier\":\"\xff\"}",
		`{"TLS.sdkappid":18446744073709551615}`, ` { "TLS.ver" : "2.0" } `, `{"TLS.ver":true}`,
		`{"tls.identifier":"a","TLS.IDENTIFIER":"b","Tls.Time":3,"tls.time":null}`, `{"TLS.sdkappid":1,"tls.sdkappid":"x"}`,
		`{"TL\u017f.ver":"2.0","TLS.sd\u212appid":5,"tls.user\u0062uf":"AA=="}`, "{\"TL\u017f.ver\":\"raw\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, err := parseDoc(doc)
		want, werr := referenceDoc(doc)
		if (err == nil) != (werr == nil) {
			t.Fatalf("parseDoc error %v, reference error %v", err, werr)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeUndecodable {
				t.Fatalf("error %v is not CodeUndecodable", err)
			}
			return
		}
		if got.Version != want.Version || got.Identifier != want.Identifier || got.SDKAppID != want.SDKAppID ||
			got.Expire != want.Expire || got.Time != want.Time || !bytes.Equal(got.Sig, want.Sig) ||
			!bytes.Equal(got.UserBuf, want.UserBuf) || (got.UserBuf == nil) != (want.UserBuf == nil) {
			t.Fatalf("parseDoc %+v, reference %+v", got, want)
		}
	})
}

// referenceDoc reads a ticket document with encoding/json, by the rules that
// parseDoc documents.
func referenceDoc(doc []byte) (*Ticket, error) {
	bad := errors.New("undecodable")
	if !json.Valid(doc) {
		return nil, bad
	}
	// Each member's last value, by the name it folds to (encoding/json
	// matches struct fields so: exact name, else case-insensitively).
	names := []string{"TLS.ver", "TLS.identifier", "TLS.sdkappid", "TLS.expire", "TLS.time", "TLS.sig", "TLS.userbuf"}
	m := map[string]json.RawMessage{}
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, bad
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, bad
		}
		for _, name := range names {
			if strings.EqualFold(tok.(string), name) {
				m[name] = raw
			}
		}
	}
	present := func(name string) (json.RawMessage, bool) {
		raw, ok := m[name]
		return raw, ok && string(raw) != "null"
	}
	str := func(name string) (string, error) {
		var s string
		if raw, ok := present(name); ok {
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", bad
			}
		}
		return s, nil
	}
	num := func(name string) (int64, error) {
		raw, ok := present(name)
		if !ok {
			return 0, nil
		}
		if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
			return 0, bad
		}
		return strconv.ParseInt(string(raw), 10, 64)
	}
	t := &Ticket{}
	var err error
	if t.Version, err = str("TLS.ver"); err != nil {
		return nil, err
	}
	if t.Identifier, err = str("TLS.identifier"); err != nil {
		return nil, err
	}
	if raw, ok := present("TLS.sdkappid"); ok {
		var n json.Number
		if raw[0] == '"' || json.Unmarshal(raw, &n) != nil {
			return nil, bad
		}
		if app, err := n.Int64(); err == nil && app == 0 {
			t.SDKAppID = 0
		} else if t.SDKAppID, err = strconv.ParseUint(n.String(), 10, 64); err != nil {
			return nil, bad
		}
	}
	if t.Expire, err = num("TLS.expire"); err != nil {
		return nil, err
	}
	if t.Time, err = num("TLS.time"); err != nil {
		return nil, err
	}
	sig, err := str("TLS.sig")
	if err != nil {
		return nil, err
	}
	if t.Sig, err = base64.StdEncoding.DecodeString(sig); err != nil {
		return nil, err
	}
	if _, ok := present("TLS.userbuf"); ok {
		ub, err := str("TLS.userbuf")
		if err != nil {
			return nil, err
		}
		if t.UserBuf, err = base64.StdEncoding.DecodeString(ub); err != nil {
			return nil, err
		}
	}
	return t, nil
}
