package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"github.com/imload/imload/codes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// referenceDecode is Decode as encoding/json alone does it: the reference
// the scanner must agree with.
func referenceDecode(b []byte) (Frame, error) {
	if len(b) > MaxFrameBytes {
		return Frame{}, &DecodeError{Code: codes.FrameTooBig, Msg: "too big"}
	}
	if !utf8.Valid(b) {
		return Frame{}, &DecodeError{Code: codes.BadFrame, Msg: ErrNotUTF8}
	}
	var f Frame
	if err := json.Unmarshal(b, &f); err != nil {
		return Frame{}, &DecodeError{Code: codes.BadFrame, Msg: "malformed JSON: " + err.Error()}
	}
	if err := f.validate(); err != nil {
		return Frame{}, err
	}
	return f, nil
}

// sameDecode fails t unless Decode and decodeJSON give the same frame, or
// errors with the same code and, below the size limit, the same message.
func sameDecode(t *testing.T, b []byte) {
	t.Helper()
	got, gotErr := Decode(b)
	want, wantErr := referenceDecode(b)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("Decode(%q): error %v, encoding/json: %v", b, gotErr, wantErr)
	}
	if gotErr != nil {
		var g, w *DecodeError
		if !errors.As(gotErr, &g) || !errors.As(wantErr, &w) {
			t.Fatalf("Decode(%q): errors %T %T", b, gotErr, wantErr)
		}
		if g.Code != w.Code || g.ID != w.ID || (len(b) <= MaxFrameBytes && g.Msg != w.Msg) {
			t.Fatalf("Decode(%q): %v, encoding/json: %v", b, g, w)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode(%q):\n got %+v\nwant %+v", b, got, want)
	}
}

// usualFrames are frames as the server and the ws driver send them.
func usualFrames(t testing.TB) [][]byte {
	b, err := os.ReadFile(filepath.Join("testdata", "usual-frames.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for line := range bytes.Lines(b) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			out = append(out, line)
		}
	}
	return out
}

// TestScanTakesUsualFrames checks that frames of the usual shape take the
// scanner, not the encoding/json fallback, and decode as encoding/json
// decodes them.
func TestScanTakesUsualFrames(t *testing.T) {
	for _, b := range usualFrames(t) {
		t.Run(string(b), func(t *testing.T) {
			var f Frame
			if !f.scan(b) {
				t.Fatalf("the scanner refused %s", b)
			}
			sameDecode(t, b)
		})
	}
}

// TestDecodeMatchesJSON covers the inputs where the scanner must hand over
// to encoding/json or must agree with it on a subtle point.
func TestDecodeMatchesJSON(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"empty", ``},
		{"spaces only", "  \n"},
		{"empty object", `{}`},
		{"empty object, spaces", " { } "},
		{"trailing garbage", `{"op":"ping"} x`},
		{"trailing comma", `{"op":"ping",}`},
		{"missing colon", `{"op" "ping"}`},
		{"two objects", `{"op":"ping"}{"op":"ping"}`},
		{"array", `[1,2]`},
		{"null", `null`},
		{"folded key", `{"OP":"ping"}`},
		{"mixed-case key", `{"op":"login","User_ID":"a","platform":"Web"}`},
		{"unknown key", `{"op":"ping","extra":{"a":[1,2,{}]}}`},
		{"escaped key", `{"o\u0070":"ping"}`},
		{"duplicate key: last wins", `{"op":"login","op":"ping"}`},
		{"null keeps the earlier value", `{"op":"ping","op":null}`},
		{"null everywhere", `{"op":"ping","id":null,"v":null,"repeat_login":null,"message":null}`},
		{"bool true then false", `{"op":"pong","repeat_login":true,"repeat_login":false}`},
		{"bool for a string", `{"op":true}`},
		{"string for a number", `{"op":"ping","id":"1"}`},
		{"number for a string", `{"op":1}`},
		{"number for a bool", `{"op":"pong","repeat_login":1}`},
		{"negative uint", `{"op":"ping","id":-1}`},
		{"negative zero uint", `{"op":"ping","id":-0}`},
		{"negative zero int", `{"op":"error","code":-0}`},
		{"negative int", `{"op":"error","code":-5}`},
		{"exponent", `{"op":"hello","v":1e0}`},
		{"fraction", `{"op":"hello","v":1.0}`},
		{"leading zero", `{"op":"ping","id":01}`},
		{"plus sign", `{"op":"ping","id":+1}`},
		{"lone minus", `{"op":"ping","code":-}`},
		{"max uint64", `{"op":"ping","id":18446744073709551615}`},
		{"uint64 overflow", `{"op":"ping","id":18446744073709551616}`},
		{"max int64", `{"op":"pong","server_time_ms":9223372036854775807}`},
		{"min int64", `{"op":"pong","server_time_ms":-9223372036854775808}`},
		{"int64 overflow", `{"op":"pong","server_time_ms":9223372036854775808}`},
		{"int64 underflow", `{"op":"pong","server_time_ms":-9223372036854775809}`},
		{"simple escapes", `{"op":"error","message":"a\"b\\c\/d\be\ff\ng\rh\ti"}`},
		{"unicode escape", `{"op":"error","message":"\u003c\u00e9\u4e2d"}`},
		{"NUL escape", `{"op":"login","user_id":"\u0000","platform":"Web"}`},
		{"escaped op", `{"op":"p\u0069ng"}`},
		{"surrogate pair", `{"op":"error","message":"\ud83d\ude00"}`},
		{"lone surrogate", `{"op":"error","message":"\ud83d"}`},
		{"bad escape", `{"op":"error","message":"\x"}`},
		{"single-quote escape", `{"op":"error","message":"\'"}`},
		{"short unicode escape", `{"op":"error","message":"\u12"}`},
		{"bad hex", `{"op":"error","message":"\u12g4"}`},
		{"raw control character", "{\"op\":\"error\",\"message\":\"a\x01b\"}"},
		{"raw tab", "{\"op\":\"error\",\"message\":\"a\tb\"}"},
		{"valid UTF-8", `{"op":"error","message":"中文 é"}`},
		{"invalid UTF-8", "{\"op\":\"error\",\"message\":\"a\xffb\"}"},
		{"encoded surrogate", "{\"op\":\"error\",\"message\":\"\xed\xa0\x80\"}"},
		{"unterminated string", `{"op":"ping`},
		{"unterminated object", `{"op":"ping"`},
		{"missing op", `{"id":1}`},
		{"empty op", `{"op":""}`},
		{"unknown op", `{"op":"dance"}`},
		{"login without platform", `{"op":"login","user_id":"a"}`},
		{"whitespace everywhere", " \t\r\n{ \"op\" : \"ping\" , \"id\" : 7 } \n"},
		{"too big", `{"op":"ping","message":"` + strings.Repeat("a", MaxFrameBytes) + `"}`},
		{"byte order mark", "\xef\xbb\xbf{\"op\":\"ping\"}"},
	} {
		t.Run(tc.name, func(t *testing.T) { sameDecode(t, []byte(tc.in)) })
	}
}

// FuzzDecodeMatchesJSON checks that Decode agrees with encoding/json on any
// input: the same frame, or errors with the same code and message.
func FuzzDecodeMatchesJSON(f *testing.F) {
	for _, b := range usualFrames(f) {
		f.Add(b)
	}
	for _, s := range []string{
		`{"OP":"ping"}`, `{"op":"ping","op":null}`, `{"op":"error","message":"\ud83d\ude00\u003c"}`,
		`{"op":"ping","id":18446744073709551616}`, `{"op":"error","code":-0}`, "{\"op\":\"error\",\"message\":\"\xff\"}",
		`{"op":"pong","repeat_login":true}`, ` { "op" : "ping" } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { sameDecode(t, b) })
}

// fuzzFrame builds a frame from fuzz arguments; bits of mask leave members
// empty so that every omitempty path is taken.
func fuzzFrame(op, a, b, c string, u uint64, i int64, repeat bool, mask uint32) Frame {
	f := Frame{Op: op, ID: u, V: int(i >> 3), SDKAppID: u >> 5, UserID: a, UserSig: b, Platform: c, Instance: a + c,
		Code: int(i), Message: b + a, ServerTimeMs: i, Seq: u >> 1, ResumeToken: c + b, RepeatLogin: repeat,
		HeartbeatMs: -i, SigExpireAtMs: i >> 7, ServerVersion: a, ByPlatform: c, ByInstance: b, BySeq: ^u, Reason: c + a}
	v := reflect.ValueOf(&f).Elem()
	for k := 1; k < v.NumField(); k++ {
		if mask&(1<<k) != 0 {
			v.Field(k).SetZero()
		}
	}
	return f
}

// FuzzEncodeMatchesJSON checks that Encode writes what encoding/json
// writes, byte for byte, and that Decode reads it back as encoding/json
// does.
func FuzzEncodeMatchesJSON(f *testing.F) {
	f.Add("login_result", "alice", "eJw<>&", "Web", uint64(7), int64(1767225600201), false, uint32(0))
	f.Add("error", "\x00\x1f\"\\", "\u2028\u2029", "\xff\xfe中", uint64(math.MaxUint64), int64(math.MinInt64), true, uint32(0xaaaa))
	f.Add("", "", "", "", uint64(0), int64(0), false, uint32(math.MaxUint32))
	f.Add("kicked_offline", "\b\f\n\r\t", "é", "\xed\xa0\x80", uint64(1), int64(-1), true, uint32(0x5555))
	f.Fuzz(func(t *testing.T, op, a, b, c string, u uint64, i int64, repeat bool, mask uint32) {
		fr := fuzzFrame(op, a, b, c, u, i, repeat, mask)
		got, err := Encode(fr)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(fr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Encode(%+v):\n got %s\nwant %s", fr, got, want)
		}
		if app := AppendFrame([]byte("x"), &fr); !bytes.Equal(app[1:], want) || app[0] != 'x' {
			t.Fatalf("AppendFrame(%+v) = %s", fr, app)
		}
		sameDecode(t, got)
	})
}

// TestDecodeAllocations pins the scanner's allocations: one per string
// member that is not an op.
func TestDecodeAllocations(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
	}{
		{`{"op":"ping","id":4}`, 0},
		{`{"op":"login","id":1,"user_id":"alice","user_sig":"eJw","platform":"Web","instance":"tab"}`, 4},
	} {
		b := []byte(tc.in)
		if got := testing.AllocsPerRun(100, func() { _, _ = Decode(b) }); got != tc.want {
			t.Errorf("Decode(%s): %v allocations, want %v", tc.in, got, tc.want)
		}
	}
	f := Frame{Op: OpLoginResult, ID: 1, ServerTimeMs: 1767225600201, Seq: 3, ResumeToken: "YWxpY2U.AAAA", SigExpireAtMs: 1767312000000}
	buf := make([]byte, 0, 256)
	if got := testing.AllocsPerRun(100, func() { buf = AppendFrame(buf[:0], &f) }); got != 0 {
		t.Errorf("AppendFrame: %v allocations, want 0", got)
	}
}

// BenchmarkDecodeLogin and BenchmarkEncodeLoginResult measure the frames of
// a login round trip against encoding/json.
func BenchmarkDecodeLogin(b *testing.B) {
	in := []byte(`{"op":"login","id":1,"user_id":"bench_0001_0","user_sig":"` + strings.Repeat("eJwtjEELgjAYhv-K7JzwbW7TdmzpsQKlQ7ehK7*Jc7FlkdF-T*j2Ps-L*-aJs7VH0QQJ99gRqHGLfVxf7j4bP28pFhI64ixH", 2) + `","platform":"Android","instance":"bench"}`)
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := Decode(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := referenceDecode(in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncodeLoginResult(b *testing.B) {
	f := Frame{Op: OpLoginResult, ID: 1, ServerTimeMs: 1767225600201, Seq: 3, ResumeToken: "YmVuY2hfMDAwMV8w.AAAAAAAAAAAAAAAAAAAAAA", SigExpireAtMs: 1767312000000}
	b.Run("AppendFrame", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 256)
		for b.Loop() {
			buf = AppendFrame(buf[:0], &f)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(&f); err != nil {
				b.Fatal(err)
			}
		}
	})
}
