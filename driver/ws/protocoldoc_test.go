package ws

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/protocol"
)

const protocolDoc = "../../docs/PROTOCOL.md"

// resultOf maps each request op to the op that answers it.
var resultOf = map[string]string{
	protocol.OpHello:  protocol.OpHelloOK,
	protocol.OpLogin:  protocol.OpLoginResult,
	protocol.OpLogout: protocol.OpLogoutResult,
	protocol.OpResume: protocol.OpResumeResult,
	protocol.OpPing:   protocol.OpPong,
}

type transcript struct {
	title string
	lines []string
	first int // line number in the document of lines[0]
}

func readTranscripts(t *testing.T) []transcript {
	t.Helper()
	b, err := os.ReadFile(protocolDoc)
	if err != nil {
		t.Fatal(err)
	}
	var out []transcript
	var cur *transcript
	title := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "### "):
			title = strings.TrimPrefix(line, "### ")
		case cur == nil && line == "```transcript":
			cur = &transcript{title: title, first: n + 1}
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, line)
		}
	}
	return out
}

var transcriptLine = regexp.MustCompile(`^([A-Z])(>!|>|<) (.+)$`)

// TestProtocolDocTranscripts checks every example exchange of
// docs/PROTOCOL.md: each frame decodes (or, marked >!, fails with the code
// of the error that follows), is canonical (re-encodes to the same bytes),
// travels in the right direction, begins with hello, and every request gets
// exactly one answer with its id; nothing follows a kick but the close.
func TestProtocolDocTranscripts(t *testing.T) {
	ts := readTranscripts(t)
	if len(ts) < 9 {
		t.Fatalf("%d transcripts in %s, want the 9 of section 11", len(ts), protocolDoc)
	}
	for _, tr := range ts {
		t.Run(tr.title, func(t *testing.T) {
			type connState struct {
				sawClient   bool
				wantErr     int               // code of the error that must answer a >! frame
				wantErrID   uint64            // and the id it must carry
				outstanding map[uint64]string // id → request op
				ended       bool              // kicked or closed by the server
				lastKick    bool
			}
			conns := map[string]*connState{}
			for i, line := range tr.lines {
				at := protocolDoc + ":" + strconv.Itoa(tr.first+i)
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				m := transcriptLine.FindStringSubmatch(line)
				if m == nil {
					t.Fatalf("%s: not a transcript line: %q", at, line)
				}
				name, dir, body := m[1], m[2], m[3]
				c := conns[name]
				if c == nil {
					c = &connState{outstanding: map[uint64]string{}}
					conns[name] = c
				}
				if strings.HasPrefix(body, "[") {
					if dir == "<" && strings.HasPrefix(body, "[close") {
						c.ended = true
					}
					c.lastKick = false
					continue
				}
				if c.lastKick {
					t.Fatalf("%s: frame after kicked_offline on %s; only the close may follow", at, name)
				}
				if c.ended {
					t.Fatalf("%s: frame on %s after the server closed it", at, name)
				}
				f, err := protocol.Decode([]byte(body))
				if dir == ">!" {
					var de *protocol.DecodeError
					if !errors.As(err, &de) {
						t.Fatalf("%s: frame marked invalid decodes: %v", at, err)
					}
					// Before hello any bad frame but a too-big one is
					// refused with 1004; the error carries the id of a
					// readable frame.
					c.wantErr, c.wantErrID = de.Code, de.ID
					if !c.sawClient && de.Code != codes.FrameTooBig {
						c.wantErr = codes.NoHello
					}
					c.sawClient = true
					if de.ID != 0 {
						if _, dup := c.outstanding[de.ID]; dup {
							t.Fatalf("%s: id %d reused while outstanding", at, de.ID)
						}
						c.outstanding[de.ID] = "invalid"
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", at, err)
				}
				enc, err := protocol.Encode(f)
				if err != nil {
					t.Fatal(err)
				}
				if string(enc) != body {
					t.Fatalf("%s: not canonical:\n doc  %s\n code %s", at, body, enc)
				}
				if client := dir == ">"; client != protocol.IsClientOp(f.Op) {
					t.Fatalf("%s: op %q sent in the wrong direction", at, f.Op)
				}
				switch dir {
				case ">":
					if !c.sawClient && f.Op != protocol.OpHello {
						c.wantErr, c.wantErrID = codes.NoHello, f.ID // must be refused with 1004
					}
					c.sawClient = true
					if f.Op != protocol.OpHello && f.ID == 0 {
						t.Fatalf("%s: request without id", at)
					}
					if _, dup := c.outstanding[f.ID]; dup {
						t.Fatalf("%s: id %d reused while outstanding", at, f.ID)
					}
					c.outstanding[f.ID] = f.Op
				case "<":
					if f.Op == protocol.OpError && c.wantErr != 0 {
						if f.Code != c.wantErr {
							t.Fatalf("%s: error %d, want %d for the frame before", at, f.Code, c.wantErr)
						}
						if f.ID != c.wantErrID {
							t.Fatalf("%s: error with id %d, want %d (the id of the frame before, 0 when it is unreadable)", at, f.ID, c.wantErrID)
						}
						c.wantErr, c.wantErrID = 0, 0
					} else if c.wantErr != 0 {
						t.Fatalf("%s: %s before the error %d that the invalid frame needs", at, f.Op, c.wantErr)
					}
					if req, ok := c.outstanding[f.ID]; ok && (f.ID != 0 || req == protocol.OpHello) && (f.Op == resultOf[req] || f.Op == protocol.OpError) {
						delete(c.outstanding, f.ID)
					} else if f.ID != 0 {
						t.Fatalf("%s: %s id %d answers no outstanding request", at, f.Op, f.ID)
					} else if f.Op != protocol.OpError && f.Op != protocol.OpKickedOffline && f.Op != protocol.OpUserSigExpired {
						t.Fatalf("%s: %s without an outstanding request", at, f.Op)
					}
					if f.Op == protocol.OpKickedOffline {
						c.lastKick = true
						if f.Reason == "multi_device" && f.BySeq <= f.Seq {
							t.Fatalf("%s: by_seq %d not after the victim's seq %d", at, f.BySeq, f.Seq)
						}
					}
				}
			}
			for name, c := range conns {
				if c.wantErr != 0 {
					t.Errorf("connection %s: invalid frame never answered with %d", name, c.wantErr)
				}
				for id, op := range c.outstanding {
					if !c.ended {
						t.Errorf("connection %s: %s id %d never answered", name, op, id)
					}
				}
			}
		})
	}
}

// TestProtocolDocCodes checks the error-code table of docs/PROTOCOL.md
// against package codes: every row names a constant with its value, and
// every constant has a row.
func TestProtocolDocCodes(t *testing.T) {
	consts := map[string]int{
		"OK": codes.OK, "BadFrame": codes.BadFrame, "UnknownOp": codes.UnknownOp,
		"FrameTooBig": codes.FrameTooBig, "NoHello": codes.NoHello, "BadVersion": codes.BadVersion,
		"ResumeFailed": codes.ResumeFailed, "ServerClosed": codes.ServerClosed,
		"LoginRefused": codes.LoginRefused, "ServerFull": codes.ServerFull,
		"LoginTooFrequent": codes.LoginTooFrequent, "LoginBucketBusy": codes.LoginBucketBusy,
		"FlappingBanned": codes.FlappingBanned,
		"NotInitialised": codes.NotInitialised, "NotLoggedIn": codes.NotLoggedIn,
		"InProgress": codes.InProgress, "InvalidParam": codes.InvalidParam,
		"KickedWhileOff": codes.KickedWhileOff, "InvalidUserID": codes.InvalidUserID,
		"SigExpired": codes.SigExpired, "SigEmpty": codes.SigEmpty,
		"SigUndecodable": codes.SigUndecodable, "SigBadSignature": codes.SigBadSignature,
		"SigUserMismatch": codes.SigUserMismatch, "SigAppMismatch": codes.SigAppMismatch,
		"KeyNotFound": codes.KeyNotFound, "AppNotFound": codes.AppNotFound,
		"SigRateLimited": codes.SigRateLimited, "Blacklisted": codes.Blacklisted,
		"SigInvalidated": codes.SigInvalidated,
	}
	b, err := os.ReadFile(protocolDoc)
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| (\\d+) \\| `codes\\.(\\w+)` \\|")
	seen := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		code, _ := strconv.Atoi(m[1])
		want, ok := consts[m[2]]
		if !ok {
			t.Errorf("row %s %s: no such constant in package codes (or add it to this test)", m[1], m[2])
			continue
		}
		if code != want {
			t.Errorf("row %s %s: the constant is %d", m[1], m[2], want)
		}
		seen[m[2]] = true
	}
	for name, v := range consts {
		if !seen[name] {
			t.Errorf("%s (%d) has no row in the error-code table", name, v)
		}
	}
}
