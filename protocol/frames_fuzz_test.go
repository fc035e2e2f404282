package protocol

import (
	"errors"
	"github.com/imload/imload/codes"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecode checks that Decode never panics, that every error is a
// *DecodeError with a frame-level code, and that a decoded frame survives
// Encode and Decode unchanged.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"op":"hello","v":1,"sdkappid":1400000001,"platform":"Android","instance":"a"}`,
		`{"op":"login","id":1,"user_id":"alice","user_sig":"eJw","platform":"Web"}`,
		`{"op":"logout","id":2}`,
		`{"op":"resume","id":3,"resume_token":"YQ.AAAA"}`,
		`{"op":"ping","id":4}`,
		`{"op":"kicked_offline","seq":1,"by_seq":2,"by_platform":"iPhone","reason":"multi_device"}`,
		`{"op":"login_result","id":1,"code":70001,"message":"expired"}`,
		`{"op":"dance"}`,
		`{"op":""}`,
		`{"id":1}`,
		`{"op":"login","id":-1}`,
		`{"op":"hello","v":1e3}`,
		`[1,2]`,
		`null`,
		`{"op":"login","user_id":"\u0000","platform":"Web"}`,
		`{`,
		"",
		strings.Repeat(" ", MaxFrameBytes+1),
		`{"op":"ping","message":"` + strings.Repeat("<", 2000) + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := Decode(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%q): error %v is not a *DecodeError", b, err)
			}
			switch de.Code {
			case codes.BadFrame, codes.UnknownOp, codes.FrameTooBig:
			default:
				t.Fatalf("Decode(%q): code %d", b, de.Code)
			}
			if len(b) > MaxFrameBytes && de.Code != codes.FrameTooBig {
				t.Fatalf("Decode of %d bytes: code %d, want %d", len(b), de.Code, codes.FrameTooBig)
			}
			if !reflect.DeepEqual(fr, Frame{}) {
				t.Fatalf("Decode(%q) failed but returned %+v", b, fr)
			}
			return
		}
		if fr.Op == "" {
			t.Fatalf("Decode(%q) accepted a frame without op", b)
		}
		enc, err := Encode(fr)
		if err != nil {
			t.Fatalf("Encode(%+v): %v", fr, err)
		}
		if len(enc) > MaxFrameBytes {
			// JSON escaping can grow a frame ("<" becomes "\u003c"); such a
			// frame cannot be sent back, and Decode must say so.
			if _, err := Decode(enc); err == nil {
				t.Fatalf("Decode accepted %d bytes", len(enc))
			}
			return
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-Decode(%s): %v", enc, err)
		}
		if !reflect.DeepEqual(fr, again) {
			t.Fatalf("round trip changed the frame:\n %+v\n %+v", fr, again)
		}
	})
}
