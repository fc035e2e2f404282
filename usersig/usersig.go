package usersig

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/adler32"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
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

func undecodable(reason string) error { return &Error{Code: CodeUndecodable, Reason: reason} }

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

// Gen makes a ticket for identifier, issued at now, valid for expire (whole
// seconds). userbuf may be nil. The output is byte for byte what Tencent's Go
// implementation makes: members in its order, TLS.expire left out when 0, a
// trailing newline, and zlib with stored (uncompressed) deflate blocks.
func Gen(sdkappid uint64, key []byte, identifier string, expire time.Duration, now time.Time, userbuf []byte) (string, error) {
	if !utf8.ValidString(identifier) {
		return "", fmt.Errorf("usersig: identifier %q is not UTF-8: no JSON document can carry it", identifier)
	}
	exp := int64(expire / time.Second)
	ts := now.Unix()
	id, err := json.Marshal(identifier)
	if err != nil {
		return "", fmt.Errorf("usersig: identifier: %w", err)
	}
	var ub string
	if userbuf != nil {
		ub = base64.StdEncoding.EncodeToString(userbuf)
	}
	var mac [sha256.Size]byte
	sign(mac[:0], key, identifier, sdkappid, ts, exp, userbuf != nil, ub)

	js := make([]byte, 0, 160+len(id)+len(ub))
	js = append(js, `{"TLS.ver":"2.0","TLS.identifier":`...)
	js = append(js, id...)
	js = append(js, `,"TLS.sdkappid":`...)
	js = strconv.AppendUint(js, sdkappid, 10)
	if exp != 0 {
		js = append(js, `,"TLS.expire":`...)
		js = strconv.AppendInt(js, exp, 10)
	}
	js = append(js, `,"TLS.time":`...)
	js = strconv.AppendInt(js, ts, 10)
	if userbuf != nil {
		js = append(js, `,"TLS.userbuf":"`...)
		js = append(js, ub...)
		js = append(js, '"')
	}
	js = append(js, `,"TLS.sig":"`...)
	js = base64.StdEncoding.AppendEncode(js, mac[:])
	js = append(js, "\"}\n"...)

	z := storeZlib(make([]byte, 0, len(js)+16), js)
	out := make([]byte, base64.StdEncoding.EncodedLen(len(z)))
	base64.StdEncoding.Encode(out, z)
	for i, c := range out {
		switch c {
		case '+':
			out[i] = '*'
		case '/':
			out[i] = '-'
		case '=':
			out[i] = '_'
		}
	}
	return string(out), nil
}

// maxStoredBlock is the largest stored deflate block (RFC 1951 3.2.4).
const maxStoredBlock = 65535

// storeZlib appends to dst a zlib stream (RFC 1950, fastest-level header) of
// data in stored deflate blocks, ending with an empty final block, as
// compress/zlib does at level NoCompression.
func storeZlib(dst, data []byte) []byte {
	dst = append(dst, 0x78, 0x01)
	for rest := data; len(rest) > 0; {
		n := min(len(rest), maxStoredBlock)
		dst = append(dst, 0x00, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		dst = append(dst, rest[:n]...)
		rest = rest[n:]
	}
	dst = append(dst, 0x01, 0x00, 0x00, 0xff, 0xff)
	return binary.BigEndian.AppendUint32(dst, adler32.Checksum(data))
}

// sign appends to dst the HMAC-SHA256 of the signed string of usersig.md.
// ub is the base64 of the user buffer, used when hasBuf.
func sign(dst, key []byte, identifier string, sdkappid uint64, ts, exp int64, hasBuf bool, ub string) []byte {
	var buf [192]byte
	b := append(buf[:0], "TLS.identifier:"...)
	b = append(b, identifier...)
	b = append(b, "\nTLS.sdkappid:"...)
	b = strconv.AppendUint(b, sdkappid, 10)
	b = append(b, "\nTLS.time:"...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, "\nTLS.expire:"...)
	b = strconv.AppendInt(b, exp, 10)
	b = append(b, '\n')
	if hasBuf {
		b = append(b, "TLS.userbuf:"...)
		b = append(b, ub...)
		b = append(b, '\n')
	}
	mac := hmacSHA256(key, b)
	return append(dst, mac[:]...)
}

// hmacSHA256 is HMAC-SHA256 (RFC 2104) over buffers on the stack, so that a
// verification allocates nothing for it; crypto/hmac, whose hash sits behind
// an interface, costs several allocations a call.
func hmacSHA256(key, msg []byte) [sha256.Size]byte {
	const block = 64
	var k [block]byte
	if len(key) > block {
		h := sha256.Sum256(key)
		copy(k[:], h[:])
	} else {
		copy(k[:], key)
	}
	var stack [block + 448]byte
	in := stack[:0]
	if block+len(msg) > len(stack) {
		in = make([]byte, 0, block+len(msg))
	}
	for _, c := range k {
		in = append(in, c^0x36)
	}
	inner := sha256.Sum256(append(in, msg...))
	var out [block + sha256.Size]byte
	for i, c := range k {
		out[i] = c ^ 0x5c
	}
	copy(out[block:], inner[:])
	return sha256.Sum256(out[:])
}

// The official verifier reads a ticket of any size, and Gen (like the
// official generator) writes documents of any size in stored blocks, which
// never inflate to more than the zlib bytes they come in: those are read in
// place whatever their size. Other zlib streams are bounded relative to their
// own size, so that a crafted ticket (deflate reaches about 1000:1) cannot
// make the verifier allocate more than a small multiple of what it was sent:
// a document may hold up to maxInflateRatio times the compressed bytes, and
// at least maxTicketBytes whatever the ratio. A real ticket's document
// compresses about 1.3:1 (its bulk is base64 of a signature and a user
// buffer); only a long user buffer of repeated bytes, compressed by another
// implementation, goes past the bound.
const (
	maxTicketBytes  = 4 << 10
	maxInflateRatio = 8
)

// inflateLimit is the largest document a compressed (not stored) zlib
// stream of n bytes may hold.
func inflateLimit(n int) int { return max(maxTicketBytes, maxInflateRatio*n) }

// Decode parses a ticket without checking it. Errors are *Error with
// CodeEmpty or CodeUndecodable.
func Decode(ticket string) (*Ticket, error) {
	if ticket == "" {
		return nil, &Error{Code: CodeEmpty, Reason: "ticket is empty"}
	}
	// One buffer holds the unescaped text and, after it, the zlib bytes.
	n := len(ticket)
	buf := make([]byte, n+base64.StdEncoding.DecodedLen(n))
	text, raw := buf[:n], buf[n:]
	for i := 0; i < n; i++ {
		c := ticket[i]
		switch c {
		case '*':
			c = '+'
		case '-':
			c = '/'
		case '_':
			c = '='
		}
		text[i] = c
	}
	m, err := base64.StdEncoding.Decode(raw, text)
	if err != nil {
		return nil, undecodable("not base64: " + err.Error())
	}
	js, err := inflate(raw[:m])
	if err != nil {
		return nil, err
	}
	return parseDoc(js)
}

// inflate returns the document inside a zlib stream. Streams of stored
// blocks, which the Go implementation writes, are read in place; any other
// valid stream goes through compress/zlib.
func inflate(z []byte) ([]byte, error) {
	if js, ok := inflateStored(z); ok {
		return js, nil
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, undecodable("not zlib: " + err.Error())
	}
	limit := inflateLimit(len(z))
	js, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
	if err != nil {
		return nil, undecodable("bad zlib stream: " + err.Error())
	}
	if len(js) > limit {
		return nil, undecodable(fmt.Sprintf("ticket document too large: %d compressed bytes inflate to more than %d (the bound is %d times the compressed size, at least %d bytes)",
			len(z), limit, maxInflateRatio, maxTicketBytes))
	}
	return js, nil
}

// inflateStored reads a zlib stream made only of stored deflate blocks,
// compacting their payloads in place. ok is false for any other stream, and
// for any flaw, which compress/zlib then reports in its own words.
func inflateStored(z []byte) (js []byte, ok bool) {
	if len(z) < 2+5+4 || z[0]&0x0f != 8 || z[0]>>4 > 7 || z[1]&0x20 != 0 || binary.BigEndian.Uint16(z)%31 != 0 {
		return nil, false
	}
	out, i := 0, 2
	for {
		if i+5 > len(z) || z[i]&0x06 != 0 { // BTYPE 00: stored
			return nil, false
		}
		final := z[i]&1 == 1
		n := int(binary.LittleEndian.Uint16(z[i+1:]))
		if binary.LittleEndian.Uint16(z[i+3:]) != ^uint16(n) || i+5+n > len(z) {
			return nil, false
		}
		out += copy(z[out:], z[i+5:i+5+n])
		i += 5 + n
		if final {
			break
		}
	}
	if i+4 != len(z) || binary.BigEndian.Uint32(z[i:]) != adler32.Checksum(z[:out]) {
		return nil, false
	}
	return z[:out], true
}

// The members of a ticket document, in the order parseDoc interprets them.
const (
	fVer = iota
	fIdentifier
	fSDKAppID
	fExpire
	fTime
	fSig
	fUserBuf
	nFields
)

func fieldName(f int) string {
	return [nFields]string{"TLS.ver", "TLS.identifier", "TLS.sdkappid", "TLS.expire", "TLS.time", "TLS.sig", "TLS.userbuf"}[f]
}

// fieldOf returns the member a name stands for: the exact name, or else
// a name equal to it under Unicode case folding (bytes.EqualFold), as
// encoding/json matches the official verifier's struct fields, so that
// "tls.identifier" is TLS.identifier.
func fieldOf(name []byte) int {
	if f := exactField(name); f >= 0 {
		return f
	}
	for f := range nFields {
		if bytes.EqualFold(name, []byte(fieldName(f))) {
			return f
		}
	}
	return -1
}

func exactField(name []byte) int {
	switch string(name) {
	case "TLS.ver":
		return fVer
	case "TLS.identifier":
		return fIdentifier
	case "TLS.sdkappid":
		return fSDKAppID
	case "TLS.expire":
		return fExpire
	case "TLS.time":
		return fTime
	case "TLS.sig":
		return fSig
	case "TLS.userbuf":
		return fUserBuf
	}
	return -1
}

// parseDoc reads the JSON document of a ticket. Members are matched by name
// after unescaping, ignoring letter case as encoding/json does (see
// fieldOf); of duplicate members (in any case) the last counts; unknown
// members are skipped; null counts as absent; a missing number is 0; numbers
// must be integers and strings strings.
func parseDoc(js []byte) (*Ticket, error) {
	if !json.Valid(js) {
		return nil, undecodable("not JSON: " + jsonError(js))
	}
	i := skipSpace(js, 0)
	if js[i] != '{' {
		return nil, undecodable("not a JSON object")
	}
	// First find each member's last value; json.Valid vouches for the syntax.
	var vals [nFields][]byte
	for i = skipSpace(js, i+1); js[i] != '}'; {
		end := stringEnd(js, i)
		name := js[i+1 : end-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			u, err := rawString(js[i:end], "member name")
			if err != nil {
				return nil, err
			}
			name = u
		}
		i = skipSpace(js, skipSpace(js, end)+1) // past ':'
		vend := valueEnd(js, i)
		if f := fieldOf(name); f >= 0 {
			vals[f] = js[i:vend]
			if vals[f][0] == 'n' { // null
				vals[f] = nil
			}
		}
		if i = skipSpace(js, vend); js[i] == ',' {
			i = skipSpace(js, i+1)
		}
	}
	t := &Ticket{}
	var err error
	if t.Version, err = str(vals[fVer], fieldName(fVer)); err != nil {
		return nil, err
	}
	if t.Identifier, err = str(vals[fIdentifier], fieldName(fIdentifier)); err != nil {
		return nil, err
	}
	if v := vals[fSDKAppID]; v != nil && v[0] == '-' {
		if app, err := integer(v, fieldName(fSDKAppID)); err != nil || app != 0 {
			return nil, undecodable("TLS.sdkappid is negative")
		}
	} else if v != nil {
		if t.SDKAppID, err = strconv.ParseUint(string(v), 10, 64); err != nil {
			return nil, undecodable("TLS.sdkappid is not an unsigned integer")
		}
	}
	if t.Expire, err = integer(vals[fExpire], fieldName(fExpire)); err != nil {
		return nil, err
	}
	if t.Time, err = integer(vals[fTime], fieldName(fTime)); err != nil {
		return nil, err
	}
	sig, err := rawString(vals[fSig], fieldName(fSig))
	if err != nil {
		return nil, err
	}
	if t.Sig, err = base64.StdEncoding.AppendDecode(nil, sig); err != nil {
		return nil, undecodable("TLS.sig is not base64")
	}
	if vals[fUserBuf] != nil {
		ub, err := rawString(vals[fUserBuf], fieldName(fUserBuf))
		if err != nil {
			return nil, err
		}
		if t.UserBuf, err = base64.StdEncoding.AppendDecode(make([]byte, 0, len(ub)), ub); err != nil {
			return nil, undecodable("TLS.userbuf is not base64")
		}
	}
	return t, nil
}

// jsonError says why js is not valid JSON.
func jsonError(js []byte) string {
	var v any
	if err := json.Unmarshal(js, &v); err != nil {
		return err.Error()
	}
	return "invalid"
}

func skipSpace(js []byte, i int) int {
	for i < len(js) && (js[i] == ' ' || js[i] == '\t' || js[i] == '\n' || js[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that starts at js[i].
// js is valid JSON.
func stringEnd(js []byte, i int) int {
	for i++; ; i++ {
		switch js[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

// valueEnd returns the index just past the value that starts at js[i]. js is
// valid JSON.
func valueEnd(js []byte, i int) int {
	switch js[i] {
	case '"':
		return stringEnd(js, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch js[i] {
			case '"':
				i = stringEnd(js, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	default: // number, true, false, null
		for ; i < len(js); i++ {
			switch js[i] {
			case ' ', '\t', '\r', '\n', ',', '}', ']':
				return i
			}
		}
		return i
	}
}

// rawString returns the content of a JSON string value, unescaped; an
// absent value (nil) is empty.
func rawString(val []byte, field string) ([]byte, error) {
	if val == nil {
		return nil, nil
	}
	if val[0] != '"' {
		return nil, undecodable(field + " is not a string")
	}
	s := val[1 : len(val)-1]
	if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		return s, nil
	}
	var u string
	if err := json.Unmarshal(val, &u); err != nil {
		return nil, undecodable(field + ": " + err.Error())
	}
	return []byte(u), nil
}

func str(val []byte, field string) (string, error) {
	s, err := rawString(val, field)
	return string(s), err
}

// integer parses a JSON integer; an absent value (nil) is 0.
func integer(val []byte, field string) (int64, error) {
	if val == nil {
		return 0, nil
	}
	v, err := strconv.ParseInt(string(val), 10, 64)
	if err != nil {
		return 0, undecodable(field + " is not an integer")
	}
	return v, nil
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
	var ub string
	if t.UserBuf != nil {
		ub = base64.StdEncoding.EncodeToString(t.UserBuf)
	}
	var want [sha256.Size]byte
	sign(want[:0], key, t.Identifier, t.SDKAppID, t.Time, t.Expire, t.UserBuf != nil, ub)
	if !hmac.Equal(want[:], t.Sig) {
		return t, &Error{Code: CodeBadSignature, Reason: "signature does not match the key"}
	}
	return t, nil
}
