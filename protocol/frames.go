// Package protocol holds the JSON frames that the reference server and the ws
// driver exchange over WebSocket. docs/PROTOCOL.md is the normative text for
// other implementers; this package must import nothing of ours.
package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
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

// Error codes used on the wire (SPEC.md section 5).
const (
	CodeOK               = 0
	CodeSigExpired       = 70001
	CodeSigEmpty         = 70002
	CodeSigUndecodable   = 70003
	CodeSigBadSignature  = 70009
	CodeSigUserMismatch  = 70013
	CodeSigAppMismatch   = 70014
	CodeKeyNotFound      = 70016
	CodeAppNotFound      = 70020
	CodeSigRateLimited   = 70050
	CodeBlacklisted      = 70051
	CodeSigInvalidated   = 70052
	CodeNotImported      = 70107
	CodeClientSigExpired = 6206
	CodeKickedWhileOff   = 6208
	CodeNotLoggedIn      = 6014
	CodeNotInitialised   = 6013
	CodeInProgress       = 6015
	CodeInvalidParam     = 6017
	CodeInvalidUserID    = 7003
	CodeTooOften         = 7008
	// Frame-level errors of this protocol (not Tencent codes).
	CodeBadFrame     = 1001 // malformed JSON or missing fields
	CodeUnknownOp    = 1002
	CodeFrameTooBig  = 1003
	CodeNoHello      = 1004 // a frame other than hello before hello
	CodeBadVersion   = 1005
	CodeResumeFailed = 1006 // resume token unknown or session gone
	CodeServerClosed = 1007 // server shutting down
)

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

// ErrFrameTooBig is returned by Decode for frames over MaxFrameBytes.
var ErrFrameTooBig = errors.New("protocol: frame exceeds maximum size")

// DecodeError is a malformed frame; Code is the protocol error to answer with.
type DecodeError struct {
	Code int
	Msg  string
}

func (e *DecodeError) Error() string { return fmt.Sprintf("protocol: %s (code %d)", e.Msg, e.Code) }

// Decode parses one frame and checks that its op is known and that the fields
// its op requires are present.
func Decode(b []byte) (Frame, error) {
	var f Frame
	if len(b) > MaxFrameBytes {
		return f, &DecodeError{Code: CodeFrameTooBig, Msg: fmt.Sprintf("frame of %d bytes exceeds %d", len(b), MaxFrameBytes)}
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return Frame{}, &DecodeError{Code: CodeBadFrame, Msg: "malformed JSON: " + err.Error()}
	}
	if err := f.validate(); err != nil {
		return Frame{}, err
	}
	return f, nil
}

// Encode renders a frame.
func Encode(f Frame) ([]byte, error) { return json.Marshal(f) }

func (f *Frame) validate() error {
	missing := func(field string) error {
		return &DecodeError{Code: CodeBadFrame, Msg: fmt.Sprintf("%s frame needs %q", f.Op, field)}
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
		return &DecodeError{Code: CodeBadFrame, Msg: `frame needs "op"`}
	default:
		return &DecodeError{Code: CodeUnknownOp, Msg: fmt.Sprintf("unknown op %q", f.Op)}
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
