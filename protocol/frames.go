// Package protocol holds the JSON frames that the reference server and the ws
// driver exchange over WebSocket. docs/PROTOCOL.md is the normative text for
// other implementers; of ours this package imports only codes.
package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/imload/imload/codes"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Version is the protocol version carried in hello frames.
const Version = 1

// Subprotocol is the WebSocket subprotocol name a client offers.
const Subprotocol = "imload.v1"

// MaxFrameBytes is the largest frame a peer must accept; larger frames are an
// error and close the connection.
const MaxFrameBytes = 8 << 10

// Ops sent by a client.
const (
	OpHello  = "hello"
	OpLogin  = "login"
	OpLogout = "logout"
	OpResume = "resume"
	OpPing   = "ping"
)

// Ops sent by a server.
const (
	OpHelloOK        = "hello_ok"
	OpLoginResult    = "login_result"
	OpLogoutResult   = "logout_result"
	OpResumeResult   = "resume_result"
	OpPong           = "pong"
	OpKickedOffline  = "kicked_offline"
	OpUserSigExpired = "user_sig_expired"
	OpError          = "error"
)

// The error codes of frames (Frame.Code) are package codes.

// Frame is every frame of the protocol: Op says which fields matter. Unused
// fields are omitted on the wire.
type Frame struct {
	Op string `json:"op"`
	// ID is chosen by the client on requests and echoed on their results.
	ID uint64 `json:"id,omitempty"`
	V  int    `json:"v,omitempty"`

	// hello / login
	SDKAppID uint64 `json:"sdkappid,omitempty"`
	UserID   string `json:"user_id,omitempty"`
	UserSig  string `json:"user_sig,omitempty"`
	Platform string `json:"platform,omitempty"`
	Instance string `json:"instance,omitempty"`

	// results and errors
	Code    int    `json:"code,omitempty"`
	Message string `json:"message,omitempty"`

	// login_result / resume_result / hello_ok
	ServerTimeMs  int64  `json:"server_time_ms,omitempty"`
	Seq           uint64 `json:"seq,omitempty"`
	ResumeToken   string `json:"resume_token,omitempty"`
	RepeatLogin   bool   `json:"repeat_login,omitempty"`
	HeartbeatMs   int64  `json:"heartbeat_ms,omitempty"`
	SigExpireAtMs int64  `json:"sig_expire_at_ms,omitempty"`
	ServerVersion string `json:"server_version,omitempty"`

	// kicked_offline
	ByPlatform string `json:"by_platform,omitempty"`
	ByInstance string `json:"by_instance,omitempty"`
	BySeq      uint64 `json:"by_seq,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// ErrNotUTF8 is the message of the DecodeError of a frame that is not
// valid UTF-8 (RFC 6455 text messages must be; encoding/json would replace
// the bad bytes silently).
const ErrNotUTF8 = "frame is not valid UTF-8"

// ErrFrameTooBig is returned by Decode for frames over MaxFrameBytes.
var ErrFrameTooBig = errors.New("protocol: frame exceeds maximum size")

// DecodeError is a malformed frame; Code is the protocol error to answer with.
type DecodeError struct {
	Code int
	Msg  string
	// ID is the frame's id when its JSON could be read (a missing member,
	// no op, an unknown op), so that the error can answer the request; 0
	// when the frame is not valid UTF-8, not JSON of the frame's shape, or
	// too big.
	ID uint64
}

func (e *DecodeError) Error() string { return fmt.Sprintf("protocol: %s (code %d)", e.Msg, e.Code) }

// Decode parses one frame and checks that its op is known and that the fields
// its op requires are present. It takes the same input as encoding/json
// would into a Frame and gives the same frame or the same error: frames of
// the usual shape are parsed by a scanner of the known keys, and anything
// that scanner does not take (unknown or differently cased keys, unusual
// escapes, type mismatches, malformed input) goes through encoding/json.
func Decode(b []byte) (Frame, error) {
	var f Frame
	if len(b) > MaxFrameBytes {
		return f, &DecodeError{Code: codes.FrameTooBig, Msg: fmt.Sprintf("frame of %d bytes exceeds %d", len(b), MaxFrameBytes)}
	}
	if !utf8.Valid(b) {
		return f, &DecodeError{Code: codes.BadFrame, Msg: ErrNotUTF8}
	}
	if !f.scan(b) {
		return decodeJSON(b)
	}
	if err := f.validate(); err != nil {
		return Frame{}, err
	}
	return f, nil
}

// decodeJSON is Decode through encoding/json, for what the scanner does
// not take.
func decodeJSON(b []byte) (Frame, error) {
	f := new(Frame)
	if err := json.Unmarshal(b, f); err != nil {
		return Frame{}, &DecodeError{Code: codes.BadFrame, Msg: "malformed JSON: " + err.Error()}
	}
	if err := f.validate(); err != nil {
		return Frame{}, err
	}
	return *f, nil
}

// Encode renders a frame as encoding/json does.
func Encode(f Frame) ([]byte, error) { return AppendFrame(make([]byte, 0, 128), &f), nil }

// AppendFrame appends the encoding of f to dst, byte for byte what
// encoding/json makes of it, and returns the extended buffer.
func AppendFrame(dst []byte, f *Frame) []byte {
	dst = append(dst, `{"op":`...)
	dst = appendString(dst, f.Op)
	if f.ID != 0 {
		dst = strconv.AppendUint(append(dst, `,"id":`...), f.ID, 10)
	}
	if f.V != 0 {
		dst = strconv.AppendInt(append(dst, `,"v":`...), int64(f.V), 10)
	}
	if f.SDKAppID != 0 {
		dst = strconv.AppendUint(append(dst, `,"sdkappid":`...), f.SDKAppID, 10)
	}
	dst = appendField(dst, `,"user_id":`, f.UserID)
	dst = appendField(dst, `,"user_sig":`, f.UserSig)
	dst = appendField(dst, `,"platform":`, f.Platform)
	dst = appendField(dst, `,"instance":`, f.Instance)
	if f.Code != 0 {
		dst = strconv.AppendInt(append(dst, `,"code":`...), int64(f.Code), 10)
	}
	dst = appendField(dst, `,"message":`, f.Message)
	if f.ServerTimeMs != 0 {
		dst = strconv.AppendInt(append(dst, `,"server_time_ms":`...), f.ServerTimeMs, 10)
	}
	if f.Seq != 0 {
		dst = strconv.AppendUint(append(dst, `,"seq":`...), f.Seq, 10)
	}
	dst = appendField(dst, `,"resume_token":`, f.ResumeToken)
	if f.RepeatLogin {
		dst = append(dst, `,"repeat_login":true`...)
	}
	if f.HeartbeatMs != 0 {
		dst = strconv.AppendInt(append(dst, `,"heartbeat_ms":`...), f.HeartbeatMs, 10)
	}
	if f.SigExpireAtMs != 0 {
		dst = strconv.AppendInt(append(dst, `,"sig_expire_at_ms":`...), f.SigExpireAtMs, 10)
	}
	dst = appendField(dst, `,"server_version":`, f.ServerVersion)
	dst = appendField(dst, `,"by_platform":`, f.ByPlatform)
	dst = appendField(dst, `,"by_instance":`, f.ByInstance)
	if f.BySeq != 0 {
		dst = strconv.AppendUint(append(dst, `,"by_seq":`...), f.BySeq, 10)
	}
	dst = appendField(dst, `,"reason":`, f.Reason)
	return append(dst, '}')
}

// appendField appends a string member unless it is empty (omitempty).
func appendField(dst []byte, key, v string) []byte {
	if v == "" {
		return dst
	}
	return appendString(append(dst, key...), v)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string with encoding/json's escaping:
// quote, backslash and control characters escaped, <, > and & as \u003c,
// \u003e and \u0026, U+2028 and U+2029 escaped, and each byte of invalid
// UTF-8 as \ufffd.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	done := 0 // s[:done] is in dst
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[done:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[done:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[done:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	dst = append(dst, s[done:]...)
	return append(dst, '"')
}

// Frame members as the scanner knows them.
const (
	kOp = iota
	kID
	kV
	kSDKAppID
	kUserID
	kUserSig
	kPlatform
	kInstance
	kCode
	kMessage
	kServerTimeMs
	kSeq
	kResumeToken
	kRepeatLogin
	kHeartbeatMs
	kSigExpireAtMs
	kServerVersion
	kByPlatform
	kByInstance
	kBySeq
	kReason
	kUnknown
)

// member names the member a key stands for, by exact spelling only:
// encoding/json also matches keys case-insensitively, and such keys are
// left to it.
func member(key []byte) int {
	switch string(key) {
	case "op":
		return kOp
	case "id":
		return kID
	case "v":
		return kV
	case "sdkappid":
		return kSDKAppID
	case "user_id":
		return kUserID
	case "user_sig":
		return kUserSig
	case "platform":
		return kPlatform
	case "instance":
		return kInstance
	case "code":
		return kCode
	case "message":
		return kMessage
	case "server_time_ms":
		return kServerTimeMs
	case "seq":
		return kSeq
	case "resume_token":
		return kResumeToken
	case "repeat_login":
		return kRepeatLogin
	case "heartbeat_ms":
		return kHeartbeatMs
	case "sig_expire_at_ms":
		return kSigExpireAtMs
	case "server_version":
		return kServerVersion
	case "by_platform":
		return kByPlatform
	case "by_instance":
		return kByInstance
	case "by_seq":
		return kBySeq
	case "reason":
		return kReason
	}
	return kUnknown
}

// opName returns the constant for a known op, so that decoding an op
// allocates nothing.
func opName(b []byte) string {
	switch string(b) {
	case OpHello:
		return OpHello
	case OpLogin:
		return OpLogin
	case OpLogout:
		return OpLogout
	case OpResume:
		return OpResume
	case OpPing:
		return OpPing
	case OpHelloOK:
		return OpHelloOK
	case OpLoginResult:
		return OpLoginResult
	case OpLogoutResult:
		return OpLogoutResult
	case OpResumeResult:
		return OpResumeResult
	case OpPong:
		return OpPong
	case OpKickedOffline:
		return OpKickedOffline
	case OpUserSigExpired:
		return OpUserSigExpired
	case OpError:
		return OpError
	}
	return string(b)
}

// scan parses b into f when b is a JSON object of the frame's members in
// their exact spelling, with values of the members' types: strings with
// valid UTF-8 and no escape other than \" \\ \/ \b \f \n \r \t and
// \u of a non-surrogate, integers without fraction or exponent that fit,
// true or false, or null (which leaves the member as it is). It reports
// false for anything else; f is then partly written and must be reset. On
// true, f is what encoding/json would have made of b, without error.
func (f *Frame) scan(b []byte) bool {
	var scratch [256]byte // unescaped strings
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipSpace(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		end, esc := stringEnd(b, i+1)
		if end < 0 || esc {
			return false
		}
		k := member(b[i+1 : end])
		if k == kUnknown {
			return false
		}
		i = skipSpace(b, end+1)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return false
		}
		switch c := b[i]; {
		case c == 'n':
			if !hasWord(b, i, "null") {
				return false
			}
			i += 4
		case c == '"':
			end, esc := stringEnd(b, i+1)
			if end < 0 {
				return false
			}
			raw := b[i+1 : end]
			i = end + 1
			var v string
			if esc {
				u, ok := unescape(scratch[:0], raw)
				if !ok {
					return false
				}
				v = string(u)
			} else if k != kOp {
				v = string(raw)
			}
			switch k {
			case kOp:
				if esc {
					f.Op = v
				} else {
					f.Op = opName(raw)
				}
			case kUserID:
				f.UserID = v
			case kUserSig:
				f.UserSig = v
			case kPlatform:
				f.Platform = v
			case kInstance:
				f.Instance = v
			case kMessage:
				f.Message = v
			case kResumeToken:
				f.ResumeToken = v
			case kServerVersion:
				f.ServerVersion = v
			case kByPlatform:
				f.ByPlatform = v
			case kByInstance:
				f.ByInstance = v
			case kReason:
				f.Reason = v
			default:
				return false
			}
		case c == 't' || c == 'f':
			if k != kRepeatLogin {
				return false
			}
			if hasWord(b, i, "true") {
				f.RepeatLogin = true
				i += 4
			} else if hasWord(b, i, "false") {
				f.RepeatLogin = false
				i += 5
			} else {
				return false
			}
		case c == '-' || ('0' <= c && c <= '9'):
			neg := c == '-'
			if neg {
				i++
			}
			n, next, ok := digits(b, i)
			if !ok {
				return false
			}
			i = next
			switch k {
			case kID, kSDKAppID, kSeq, kBySeq:
				if neg {
					return false
				}
				switch k {
				case kID:
					f.ID = n
				case kSDKAppID:
					f.SDKAppID = n
				case kSeq:
					f.Seq = n
				case kBySeq:
					f.BySeq = n
				}
			case kV, kCode:
				v, ok := signed(n, neg, strconv.IntSize)
				if !ok {
					return false
				}
				if k == kV {
					f.V = int(v)
				} else {
					f.Code = int(v)
				}
			case kServerTimeMs, kHeartbeatMs, kSigExpireAtMs:
				v, ok := signed(n, neg, 64)
				if !ok {
					return false
				}
				switch k {
				case kServerTimeMs:
					f.ServerTimeMs = v
				case kHeartbeatMs:
					f.HeartbeatMs = v
				case kSigExpireAtMs:
					f.SigExpireAtMs = v
				}
			default:
				return false
			}
		default:
			return false
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return skipSpace(b, i+1) == len(b)
		default:
			return false
		}
	}
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// hasWord reports whether b holds w at i.
func hasWord(b []byte, i int, w string) bool {
	return len(b)-i >= len(w) && string(b[i:i+len(w)]) == w
}

// stringEnd returns the index of the quote that ends the string whose
// contents start at i, and whether the contents hold a backslash; -1 when
// the string is unterminated or holds a control character or invalid
// UTF-8. Escapes are only skipped here; unescape checks them.
func stringEnd(b []byte, i int) (end int, esc bool) {
	ascii := true
	start := i
	for ; i < len(b); i++ {
		c := b[i]
		if 0x20 <= c && c < utf8.RuneSelf && c != '"' && c != '\\' {
			continue // the common case first
		}
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(b[start:i]) {
				return -1, false
			}
			return i, esc
		case c == '\\':
			esc = true
			i++ // the escaped byte, which may be a quote
		case c < 0x20:
			return -1, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return -1, false
}

// unescape appends the contents of a JSON string, raw, to dst with its
// escapes resolved; false for an escape it does not take.
func unescape(dst, raw []byte) ([]byte, bool) {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		if i >= len(raw) {
			return nil, false
		}
		switch raw[i] {
		case '"', '\\', '/':
			dst = append(dst, raw[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if len(raw)-i < 5 {
				return nil, false
			}
			var r rune
			for _, h := range raw[i+1 : i+5] {
				switch {
				case '0' <= h && h <= '9':
					r = r<<4 | rune(h-'0')
				case 'a' <= h && h <= 'f':
					r = r<<4 | rune(h-'a'+10)
				case 'A' <= h && h <= 'F':
					r = r<<4 | rune(h-'A'+10)
				default:
					return nil, false
				}
			}
			if utf16.IsSurrogate(r) {
				return nil, false
			}
			dst = utf8.AppendRune(dst, r)
			i += 4
		default:
			return nil, false
		}
	}
	return dst, true
}

// digits parses the JSON integer at i: "0" or a non-zero digit and more
// digits, not followed by a fraction or exponent, that fits in a uint64.
func digits(b []byte, i int) (n uint64, next int, ok bool) {
	start := i
	for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, 0, false
		}
		n = n*10 + d
	}
	switch {
	case i == start:
		return 0, 0, false
	case b[start] == '0' && i-start > 1:
		return 0, 0, false // a leading zero is malformed
	case i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E'):
		return 0, 0, false
	}
	return n, i, true
}

// signed gives the value of a magnitude and sign as a signed integer of
// the given width, false when it does not fit.
func signed(n uint64, neg bool, bits int) (int64, bool) {
	limit := uint64(1) << (bits - 1)
	if neg {
		if n > limit {
			return 0, false
		}
		return int64(-n), true
	}
	if n >= limit {
		return 0, false
	}
	return int64(n), true
}

func (f *Frame) validate() error {
	missing := func(field string) error {
		return &DecodeError{Code: codes.BadFrame, Msg: fmt.Sprintf("%s frame needs %q", f.Op, field), ID: f.ID}
	}
	switch f.Op {
	case OpHello:
		if f.V == 0 {
			return missing("v")
		}
	case OpLogin:
		if f.UserID == "" {
			return missing("user_id")
		}
		if f.Platform == "" {
			return missing("platform")
		}
	case OpResume:
		if f.ResumeToken == "" {
			return missing("resume_token")
		}
	case OpLogout, OpPing:
	case OpHelloOK, OpLoginResult, OpLogoutResult, OpResumeResult, OpPong,
		OpKickedOffline, OpUserSigExpired, OpError:
	case "":
		return &DecodeError{Code: codes.BadFrame, Msg: `frame needs "op"`, ID: f.ID}
	default:
		return &DecodeError{Code: codes.UnknownOp, Msg: fmt.Sprintf("unknown op %q", f.Op), ID: f.ID}
	}
	return nil
}

// IsClientOp reports whether op is sent by clients.
func IsClientOp(op string) bool {
	switch op {
	case OpHello, OpLogin, OpLogout, OpResume, OpPing:
		return true
	}
	return false
}
