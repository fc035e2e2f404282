package protocol

import (
	"errors"
	"github.com/imload/imload/codes"
	"testing"
)

// TestDecodeErrorCarriesTheID: an error of a frame whose JSON was read
// names the frame's id, so that a server can answer the request with it;
// an unreadable frame (bad JSON, bad UTF-8) has none.
func TestDecodeErrorCarriesTheID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		code int
		id   uint64
	}{
		{`{"op":"login","id":2,"platform":"Web"}`, codes.BadFrame, 2},
		{`{"op":"login","id":3,"user_id":"","platform":"Web"}`, codes.BadFrame, 3},
		{`{"op":"login","id":4,"user_id":"u"}`, codes.BadFrame, 4},
		{`{"op":"resume","id":5}`, codes.BadFrame, 5},
		{`{"op":"hello","id":6}`, codes.BadFrame, 6},
		{`{"id":7}`, codes.BadFrame, 7},
		{`{"op":"dance","id":8}`, codes.UnknownOp, 8},
		{`{"id": 9, "op" : "dance"}`, codes.UnknownOp, 9}, // the encoding/json path
		{`{"op":"login","id":10,`, codes.BadFrame, 0},
		{`{"op":"ping","id":"11"}`, codes.BadFrame, 0},
		{"{\"op\":\"ping\",\"id\":12,\"message\":\"\xff\"}", codes.BadFrame, 0},
		{"{\"op\":\"ping\",\"id\":13,\"message\":\"\xed\xa0\x80\"}", codes.BadFrame, 0}, // a surrogate half
	} {
		_, err := Decode([]byte(tc.in))
		var de *DecodeError
		if !errors.As(err, &de) || de.Code != tc.code || de.ID != tc.id {
			t.Errorf("Decode(%q) = %v (%+v), want code %d id %d", tc.in, err, de, tc.code, tc.id)
		}
	}
	if _, err := Decode([]byte(`{"op":"ping","id":1,"message":"héllo ✓"}`)); err != nil {
		t.Errorf("valid UTF-8 refused: %v", err)
	}
}
