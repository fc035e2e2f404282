// Package usersig generates and verifies TLSSigAPIv2 tickets (UserSig),
// byte-compatible with the official implementations. It imports nothing of
// ours.
package usersig

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Error codes of ticket verification (SPEC.md section 5).
const (
	CodeExpired      = 70001
	CodeEmpty        = 70002
	CodeUndecodable  = 70003
	CodeBadSignature = 70009
	CodeUserMismatch = 70013
	CodeAppMismatch  = 70014
)

// Error is a failed verification; Code is the service's error code.
type Error struct {
	Code   int
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("usersig: %d: %s", e.Code, e.Reason) }

// Ticket is the decoded content of a UserSig.
type Ticket struct {
	Version    string
	Identifier string
	SDKAppID   uint64
	Expire     int64 // lifetime in seconds
	Time       int64 // issue time, unix seconds
	Sig        []byte
	UserBuf    []byte // nil when the ticket carries none
}

// ExpiresAt is the last instant the ticket is valid.
func (t *Ticket) ExpiresAt() time.Time { return time.Unix(t.Time+t.Expire, 0) }

// Gen makes a ticket for identifier, issued at now, valid for expire.
// userbuf may be nil.
func Gen(sdkappid uint64, key []byte, identifier string, expire time.Duration, now time.Time, userbuf []byte) (string, error) {
	exp := int64(expire / time.Second)
	ts := now.Unix()
	sig := sign(key, identifier, sdkappid, ts, exp, userbuf)
	doc := map[string]any{
		"TLS.ver":        "2.0",
		"TLS.identifier": identifier,
		"TLS.sdkappid":   sdkappid,
		"TLS.expire":     exp,
		"TLS.time":       ts,
		"TLS.sig":        base64.StdEncoding.EncodeToString(sig),
	}
	if userbuf != nil {
		doc["TLS.userbuf"] = base64.StdEncoding.EncodeToString(userbuf)
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	var z bytes.Buffer
	w, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := w.Write(js); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return escape(base64.StdEncoding.EncodeToString(z.Bytes())), nil
}

func sign(key []byte, identifier string, sdkappid uint64, ts, exp int64, userbuf []byte) []byte {
	var b strings.Builder
	b.Grow(96 + len(identifier))
	b.WriteString("TLS.identifier:")
	b.WriteString(identifier)
	b.WriteString("\nTLS.sdkappid:")
	b.WriteString(strconv.FormatUint(sdkappid, 10))
	b.WriteString("\nTLS.time:")
	b.WriteString(strconv.FormatInt(ts, 10))
	b.WriteString("\nTLS.expire:")
	b.WriteString(strconv.FormatInt(exp, 10))
	b.WriteString("\n")
	if userbuf != nil {
		b.WriteString("TLS.userbuf:")
		b.WriteString(base64.StdEncoding.EncodeToString(userbuf))
		b.WriteString("\n")
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(b.String()))
	return m.Sum(nil)
}

var escaper = strings.NewReplacer("+", "*", "/", "-", "=", "_")
var unescaper = strings.NewReplacer("*", "+", "-", "/", "_", "=")

func escape(s string) string   { return escaper.Replace(s) }
func unescape(s string) string { return unescaper.Replace(s) }

// maxTicketBytes bounds the decompressed document, so a crafted ticket cannot
// make the verifier inflate without limit.
const maxTicketBytes = 4 << 10

// Decode parses a ticket without checking it.
func Decode(ticket string) (*Ticket, error) {
	if ticket == "" {
		return nil, &Error{Code: CodeEmpty, Reason: "ticket is empty"}
	}
	if len(ticket) > 2*maxTicketBytes {
		return nil, &Error{Code: CodeUndecodable, Reason: "ticket is too long"}
	}
	raw, err := base64.StdEncoding.DecodeString(unescape(ticket))
	if err != nil {
		return nil, &Error{Code: CodeUndecodable, Reason: "not base64: " + err.Error()}
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, &Error{Code: CodeUndecodable, Reason: "not zlib: " + err.Error()}
	}
	js, err := io.ReadAll(io.LimitReader(zr, maxTicketBytes+1))
	if err != nil {
		return nil, &Error{Code: CodeUndecodable, Reason: "bad zlib stream: " + err.Error()}
	}
	if len(js) > maxTicketBytes {
		return nil, &Error{Code: CodeUndecodable, Reason: "ticket document too large"}
	}
	var doc struct {
		Ver        string      `json:"TLS.ver"`
		Identifier string      `json:"TLS.identifier"`
		SDKAppID   json.Number `json:"TLS.sdkappid"`
		Expire     json.Number `json:"TLS.expire"`
		Time       json.Number `json:"TLS.time"`
		Sig        string      `json:"TLS.sig"`
		UserBuf    *string     `json:"TLS.userbuf"`
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, &Error{Code: CodeUndecodable, Reason: "not JSON: " + err.Error()}
	}
	t := &Ticket{Version: doc.Ver, Identifier: doc.Identifier}
	num := func(n json.Number, field string) (int64, error) {
		if n == "" {
			return 0, nil
		}
		v, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return 0, &Error{Code: CodeUndecodable, Reason: field + " is not an integer"}
		}
		return v, nil
	}
	app, err := num(doc.SDKAppID, "TLS.sdkappid")
	if err != nil {
		return nil, err
	}
	if app < 0 {
		return nil, &Error{Code: CodeUndecodable, Reason: "TLS.sdkappid is negative"}
	}
	t.SDKAppID = uint64(app)
	if t.Expire, err = num(doc.Expire, "TLS.expire"); err != nil {
		return nil, err
	}
	if t.Time, err = num(doc.Time, "TLS.time"); err != nil {
		return nil, err
	}
	if t.Sig, err = base64.StdEncoding.DecodeString(doc.Sig); err != nil {
		return nil, &Error{Code: CodeUndecodable, Reason: "TLS.sig is not base64"}
	}
	if doc.UserBuf != nil {
		if t.UserBuf, err = base64.StdEncoding.DecodeString(*doc.UserBuf); err != nil {
			return nil, &Error{Code: CodeUndecodable, Reason: "TLS.userbuf is not base64"}
		}
	}
	return t, nil
}

// Verify checks ticket for a login of identifier to sdkappid at now, in the
// reference order: SDKAppID, UserID, expiry, user buffer, signature. userbuf is
// the buffer the caller expects (nil: none). Errors are *Error.
func Verify(ticket string, sdkappid uint64, key []byte, identifier string, userbuf []byte, now time.Time) (*Ticket, error) {
	t, err := Decode(ticket)
	if err != nil {
		return nil, err
	}
	if t.SDKAppID != sdkappid {
		return t, &Error{Code: CodeAppMismatch, Reason: fmt.Sprintf("ticket is for SDKAppID %d, not %d", t.SDKAppID, sdkappid)}
	}
	if t.Identifier != identifier {
		return t, &Error{Code: CodeUserMismatch, Reason: fmt.Sprintf("ticket is for UserID %q, not %q", t.Identifier, identifier)}
	}
	if now.Unix() > t.Time+t.Expire {
		return t, &Error{Code: CodeExpired, Reason: fmt.Sprintf("ticket expired at %s", t.ExpiresAt().UTC().Format(time.RFC3339))}
	}
	if userbuf != nil && !bytes.Equal(userbuf, t.UserBuf) {
		return t, &Error{Code: CodeBadSignature, Reason: "user buffer differs"}
	}
	want := sign(key, t.Identifier, t.SDKAppID, t.Time, t.Expire, t.UserBuf)
	if !hmac.Equal(want, t.Sig) {
		return t, &Error{Code: CodeBadSignature, Reason: "signature does not match the key"}
	}
	return t, nil
}
