package server

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
	"github.com/imload/imload/usersig"
)

// TestBadFrames sends each kind of bad frame and checks the error code, whether
// the connection closes, and that the error was counted.
func TestBadFrames(t *testing.T) {
	cases := []struct {
		name      string
		hello     bool // say hello first
		raw       string
		code      int
		wantClose bool
	}{
		{"oversize frame", true, `{"op":"ping","message":"` + strings.Repeat("x", protocol.MaxFrameBytes) + `"}`, codes.FrameTooBig, true},
		{"unknown op", true, `{"op":"dance","id":3}`, codes.UnknownOp, false},
		{"server op from client", true, `{"op":"pong","id":3}`, codes.UnknownOp, false},
		{"malformed JSON", true, `{"op":"login",`, codes.BadFrame, false},
		{"not JSON", true, "\x00\xff", codes.BadFrame, false},
		{"missing op", true, `{"id":1}`, codes.BadFrame, false},
		{"login without user_id", true, `{"op":"login","id":1,"platform":"Web"}`, codes.BadFrame, false},
		{"second hello", true, `{"op":"hello","v":1}`, codes.BadFrame, false},
		{"login before hello", false, `{"op":"login","id":1,"user_id":"a","platform":"Web"}`, codes.NoHello, true},
		{"ping before hello", false, `{"op":"ping","id":1}`, codes.NoHello, true},
		{"wrong version", false, `{"op":"hello","v":2}`, codes.BadVersion, true},
		{"unknown platform in hello", false, `{"op":"hello","v":1,"platform":"Symbian"}`, codes.InvalidParam, true},
	}
	h := newHarness(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := h.s.Stats().FrameErrors[tc.code]
			var c *client
			if tc.hello {
				c = h.dial(policy.Web, "tab")
			} else {
				c = h.dialRaw("raw")
			}
			c.t = t
			c.sendRaw([]byte(tc.raw))
			f := c.next()
			if f.Op != protocol.OpError || f.Code != tc.code || f.Message == "" {
				t.Fatalf("got %+v, want error %d", f, tc.code)
			}
			if tc.wantClose {
				if !c.closed() {
					t.Fatal("connection not closed")
				}
			} else if r := c.call(protocol.Frame{Op: protocol.OpPing}); r.Op != protocol.OpPong {
				t.Fatalf("ping after the error: %+v", r)
			}
			if got := h.s.Stats().FrameErrors[tc.code]; got != before+1 {
				t.Fatalf("FrameErrors[%d] = %d, want %d", tc.code, got, before+1)
			}
		})
	}
}

// TestBadLogins checks every refused login: its code, that the connection
// stays usable, and that it was counted.
func TestBadLogins(t *testing.T) {
	h := newHarness(t)
	gen := func(app uint64, key []byte, user string, life time.Duration, at time.Time) string {
		sig, err := usersig.Gen(app, key, user, life, at, nil)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	good := h.ticket("ivan", time.Hour)
	cases := []struct {
		name string
		user string
		sig  string
		code int
	}{
		{"33-byte UserID", strings.Repeat("u", 33), good, codes.InvalidUserID},
		{"control byte in UserID", "bad\x01id", good, codes.InvalidUserID},
		{"DEL in UserID", "bad\x7fid", good, codes.InvalidUserID},
		{"non-ASCII UserID", "用户", good, codes.InvalidUserID},
		{"empty ticket", "ivan", "", codes.SigEmpty},
		{"truncated ticket", "ivan", good[:len(good)/2], codes.SigUndecodable},
		{"forged ticket", "ivan", gen(testApp, []byte("another-key"), "ivan", time.Hour, t0()), codes.SigBadSignature},
		{"other user's ticket", "ivan", h.ticket("judy", time.Hour), codes.SigUserMismatch},
		{"other app's ticket", "ivan", gen(testApp+1, testKey, "ivan", time.Hour, t0()), codes.SigAppMismatch},
		{"expired ticket", "ivan", gen(testApp, testKey, "ivan", time.Minute, t0().Add(-time.Hour)), codes.SigExpired},
	}
	c := h.dial(policy.Android, "phone")
	c.t = t
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			before := h.s.Stats().LoginsFailed[tc.code]
			r := c.loginOn(policy.Android, tc.user, tc.sig)
			if r.Op != protocol.OpLoginResult || r.Code != tc.code || r.Seq != 0 || r.ResumeToken != "" {
				t.Fatalf("got %+v, want login_result %d", r, tc.code)
			}
			if got := h.s.Stats().LoginsFailed[tc.code]; got != before+1 {
				t.Fatalf("LoginsFailed[%d] = %d, want %d", tc.code, got, before+1)
			}
		})
	}
	c.t = t
	c.mustLogin(policy.Android, "ivan", good)

	// Another SDKAppID in hello: 70020 at login.
	o := h.dialRaw("other-app")
	o.send(protocol.Frame{Op: protocol.OpHello, V: 1, SDKAppID: testApp + 7, Platform: "Web"})
	o.next()
	if r := o.loginOn(policy.Web, "ivan", good); r.Code != codes.AppNotFound {
		t.Fatalf("login to another app: %+v, want 70020", r)
	}
}

func TestRepeatedTicketFailuresAreRateLimited(t *testing.T) {
	h := newHarness(t)
	forged, err := usersig.Gen(testApp, []byte("wrong key"), "kate", time.Hour, t0(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := h.dial(policy.Android, "phone")
	// 70001 does not count towards the limit.
	for i := 0; i < 15; i++ {
		old, _ := usersig.Gen(testApp, testKey, "kate", time.Second, t0().Add(-time.Hour), nil)
		if r := c.loginOn(policy.Android, "kate", old); r.Code != codes.SigExpired {
			t.Fatalf("expired %d: %+v", i, r)
		}
	}
	for i := 1; i <= DefaultFailureLimit+1; i++ {
		if r := c.loginOn(policy.Android, "kate", forged); r.Code != codes.SigBadSignature {
			t.Fatalf("failure %d: %+v, want 70009", i, r)
		}
	}
	// More than 10 failures within a minute: even a good ticket is refused.
	if r := c.loginOn(policy.Android, "kate", h.ticket("kate", time.Hour)); r.Code != codes.SigRateLimited {
		t.Fatalf("after %d failures: %+v, want 70050", DefaultFailureLimit+1, r)
	}
	// Other users from the same address are not affected.
	c2 := h.dial(policy.Web, "tab")
	c2.mustLogin(policy.Web, "liam", h.ticket("liam", time.Hour))
	h.clk.Advance(DefaultFailureBlock + time.Second)
	c.mustLogin(policy.Android, "kate", h.ticket("kate", time.Hour))
	if n := h.s.Stats().LoginsFailed[codes.SigRateLimited]; n != 1 {
		t.Fatalf("70050 counted %d times, want 1", n)
	}
}

// TestLoginWhileLoginInProgress holds the connection's operation lock, as a
// running login does, and checks that login, logout and resume meanwhile
// are answered with 6015.
func TestLoginWhileLoginInProgress(t *testing.T) {
	h := newHarness(t)
	c := h.dial(policy.Web, "tab")
	var core *Conn
	eventually(t, "the core connection", func() bool {
		if cs := h.s.conns.list(); len(cs) == 1 {
			core = cs[0]
		}
		return core != nil
	})
	core.op.Lock()
	for _, f := range []protocol.Frame{
		{Op: protocol.OpLogin, UserID: "mia", UserSig: h.ticket("mia", time.Hour), Platform: "Web"},
		{Op: protocol.OpLogout},
		{Op: protocol.OpResume, ResumeToken: "bWlh.AAAAAAAAAAAAAAAAAAAAAA"},
	} {
		if r := c.call(f); r.Code != codes.InProgress {
			core.op.Unlock()
			t.Fatalf("%s during a running login: %+v, want 6015", f.Op, r)
		}
	}
	if r := c.call(protocol.Frame{Op: protocol.OpPing}); r.Op != protocol.OpPong {
		t.Fatalf("ping during a running login: %+v", r)
	}
	core.op.Unlock()
	c.mustLogin(policy.Web, "mia", h.ticket("mia", time.Hour))
	if n := h.s.Stats().LoginsFailed[codes.InProgress]; n != 1 {
		t.Fatalf("6015 logins counted %d, want 1", n)
	}
}

// TestPipelinedLogins sends two logins without waiting: each gets exactly
// one answer, and the second is either refused with 6015 (the first still
// ran) or is a repeat login (the first had finished).
func TestPipelinedLogins(t *testing.T) {
	h := newHarness(t)
	c := h.dial(policy.Web, "tab")
	sig := h.ticket("noah", time.Hour)
	var buf bytes.Buffer
	for id := 1; id <= 2; id++ {
		buf.Reset()
		buf.WriteString(`{"op":"login","id":`)
		buf.WriteByte(byte('0' + id))
		buf.WriteString(`,"user_id":"noah","platform":"Web","user_sig":"` + sig + `"}`)
		c.sendRaw(append([]byte(nil), buf.Bytes()...))
	}
	got := map[uint64]protocol.Frame{}
	for len(got) < 2 {
		f := c.next()
		got[f.ID] = f
	}
	if got[1].Code != 0 || got[1].Seq != 1 {
		t.Fatalf("first login: %+v", got[1])
	}
	if s := got[2]; !(s.Code == codes.InProgress || (s.Code == 0 && s.RepeatLogin && s.Seq == 1)) {
		t.Fatalf("second login: %+v, want 6015 or a repeat login", s)
	}
}
