package server

import (
	"testing"
	"time"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
)

func TestResumeKeepsSessionAndAddsNoLogin(t *testing.T) {
	h := newHarness(t)
	a := h.dial(policy.Android, "phone")
	r := a.mustLogin(policy.Android, "alice", h.ticket("alice", time.Hour))
	a.ws.Close() // network loss: no logout
	eventually(t, "session to be disconnected", func() bool {
		in := h.s.OnlineStatus("alice")
		return len(in) == 1 && in[0].State == StateDisconnected
	})
	if st := h.s.Stats(); st.Online != 1 || st.Connected != 0 {
		t.Fatalf("while down: online %d connected %d, want 1 0", st.Online, st.Connected)
	}
	h.clk.Advance(DefaultResumeWindow - time.Second)
	b := h.dial(policy.Android, "phone")
	res := b.call(protocol.Frame{Op: protocol.OpResume, ResumeToken: r.ResumeToken})
	if res.Op != protocol.OpResumeResult || res.Code != 0 || res.Seq != r.Seq {
		t.Fatalf("resume answered %+v, want code 0 seq %d", res, r.Seq)
	}
	st := h.s.Stats()
	if st.LoginsOK != 1 || st.Resumes != 1 || st.Days[0].Logins != 1 || st.Days[0].LoginUsers != 1 || st.Months[0].MAU != 1 {
		t.Fatalf("stats after resume: %+v", st)
	}
	in := h.s.OnlineStatus("alice")
	if len(in) != 1 || in[0].State != StateOnline || in[0].Seq != r.Seq {
		t.Fatalf("online after resume: %+v", in)
	}
	// The window has passed since the drop, but the resumed session is
	// attached again and must not be removed.
	h.clk.Advance(2 * time.Second)
	time.Sleep(20 * time.Millisecond)
	if in := h.s.OnlineStatus("alice"); len(in) != 1 {
		t.Fatalf("resumed session was removed: %+v", in)
	}
	// It is live: a new login on another platform displaces it.
	c := h.dial(policy.Windows, "pc")
	c.mustLogin(policy.Windows, "alice", h.ticket("alice", time.Hour))
	if f := b.next(); f.Op != protocol.OpKickedOffline || f.Seq != r.Seq {
		t.Fatalf("resumed session got %+v, want kicked_offline", f)
	}
}

func TestResumeAfterWindowAndAfterKick(t *testing.T) {
	h := newHarness(t)
	a := h.dial(policy.Android, "phone")
	r := a.mustLogin(policy.Android, "bob", h.ticket("bob", time.Hour))
	a.ws.Close()
	eventually(t, "disconnect", func() bool { return h.s.Stats().Connected == 0 })
	var changes []StateChange
	done := make(chan StateChange, 1)
	h.s.OnStateChange(func(c StateChange) {
		if c.Action == "Disconnect" {
			done <- c
		}
	})
	h.advanceUntil("session removal", time.Second, func() bool { return len(h.s.OnlineStatus("bob")) == 0 })
	select {
	case c := <-done:
		changes = append(changes, c)
	case <-time.After(waitFor):
		t.Fatal("no Disconnect state change")
	}
	if changes[0].Reason != ReasonTimeOut || changes[0].Cause != ReasonLinkClose || changes[0].UserID != "bob" {
		t.Fatalf("state change %+v", changes[0])
	}
	b := h.dial(policy.Android, "phone")
	if res := b.call(protocol.Frame{Op: protocol.OpResume, ResumeToken: r.ResumeToken}); res.Code != codes.ResumeFailed {
		t.Fatalf("resume after window: %+v, want 1006", res)
	}
	if res := b.call(protocol.Frame{Op: protocol.OpResume, ResumeToken: "garbage"}); res.Code != codes.ResumeFailed {
		t.Fatalf("resume with garbage token: %+v, want 1006", res)
	}

	// Kicked while down: 6208.
	r2 := b.mustLogin(policy.Android, "bob", h.ticket("bob", time.Hour))
	b.ws.Close()
	eventually(t, "disconnect", func() bool { return h.s.Stats().Connected == 0 })
	c := h.dial(policy.Mac, "laptop")
	c.mustLogin(policy.Mac, "bob", h.ticket("bob", time.Hour))
	d := h.dial(policy.Android, "phone")
	if res := d.call(protocol.Frame{Op: protocol.OpResume, ResumeToken: r2.ResumeToken}); res.Code != codes.KickedWhileOff {
		t.Fatalf("resume after kick: %+v, want 6208", res)
	}
	st := h.s.Stats()
	if st.TimedOut != 1 || st.Kicks != 1 || st.ResumeFailed[codes.ResumeFailed] != 2 || st.ResumeFailed[codes.KickedWhileOff] != 1 || st.Resumes != 0 {
		t.Fatalf("stats %+v", st)
	}
	// A user kicked while offline logs in again successfully.
	d.mustLogin(policy.Android, "bob", h.ticket("bob", time.Hour))
}

func TestTicketExpiryWhileOnline(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.IdleTimeout = time.Hour })
	a := h.dial(policy.IPhone, "phone")
	r := a.mustLogin(policy.IPhone, "carol", h.ticket("carol", time.Minute))
	if want := t0().Add(time.Minute).UnixMilli(); r.SigExpireAtMs != want {
		t.Fatalf("sig_expire_at_ms %d, want %d", r.SigExpireAtMs, want)
	}
	h.clk.Advance(time.Minute) // the ticket's last valid second
	a.quiet(30 * time.Millisecond)
	h.clk.Advance(time.Second)
	f := a.next()
	if f.Op != protocol.OpUserSigExpired || f.Seq != r.Seq {
		t.Fatalf("got %+v, want user_sig_expired", f)
	}
	// Still online: the client re-logs in with a new ticket on the same
	// connection (a repeat login: same seq, no kick).
	if in := h.s.OnlineStatus("carol"); len(in) != 1 || in[0].State != StateOnline {
		t.Fatalf("after expiry: %+v", in)
	}
	r2 := a.loginOn(policy.IPhone, "carol", h.ticket("carol", time.Minute))
	if r2.Code != 0 || !r2.RepeatLogin || r2.Seq != r.Seq {
		t.Fatalf("re-login: %+v", r2)
	}
	h.clk.Advance(30 * time.Second)
	a.quiet(30 * time.Millisecond) // the old deadline is gone
	h.clk.Advance(31 * time.Second)
	if f := a.next(); f.Op != protocol.OpUserSigExpired {
		t.Fatalf("got %+v, want a second user_sig_expired", f)
	}
	if st := h.s.Stats(); st.SigExpired != 2 || st.LoginsOK != 2 || st.RepeatLogins != 1 || st.Kicks != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestExpiryWhileDisconnectedIsToldOnResume(t *testing.T) {
	h := newHarness(t)
	a := h.dial(policy.Android, "phone")
	r := a.mustLogin(policy.Android, "dora", h.ticket("dora", 10*time.Second))
	a.ws.Close()
	eventually(t, "disconnect", func() bool { return h.s.Stats().Connected == 0 })
	h.clk.Advance(15 * time.Second)
	b := h.dial(policy.Android, "phone")
	b.id++
	b.send(protocol.Frame{Op: protocol.OpResume, ID: b.id, ResumeToken: r.ResumeToken})
	got := map[string]bool{}
	for i := 0; i < 2; i++ {
		f := b.next()
		got[f.Op] = true
		if f.Op == protocol.OpResumeResult && f.Code != 0 {
			t.Fatalf("resume: %+v", f)
		}
	}
	if !got[protocol.OpResumeResult] || !got[protocol.OpUserSigExpired] {
		t.Fatalf("got %v, want resume_result and user_sig_expired", got)
	}
}

func TestIdleAndHandshakeTimeouts(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.IdleTimeout = 30 * time.Second; c.HandshakeTimeout = 5 * time.Second })
	silent := h.dialRaw("silent")
	a := h.dial(policy.Android, "phone")
	a.mustLogin(policy.Android, "erin", h.ticket("erin", time.Hour))
	eventually(t, "both connections attached", func() bool { return h.s.Stats().Conns == 2 })
	h.clk.Advance(6 * time.Second)
	if !silent.closed() {
		t.Fatal("connection without hello was not closed")
	}
	if !a.isOpen() {
		t.Fatal("logged-in connection closed by the handshake timeout")
	}
	// A ping resets the idle timer.
	h.clk.Advance(20 * time.Second)
	a.call(protocol.Frame{Op: protocol.OpPing})
	h.clk.Advance(20 * time.Second)
	time.Sleep(20 * time.Millisecond)
	if !a.isOpen() {
		t.Fatal("closed although a frame came 20s ago")
	}
	h.advanceUntil("idle close", 5*time.Second, func() bool { return !a.isOpen() })
	in := h.s.OnlineStatus("erin")
	if len(in) != 1 || in[0].State != StateDisconnected {
		t.Fatalf("after idle close: %+v, want one disconnected session", in)
	}
}

func TestLogoutAccountSwitchAndRepeatLogin(t *testing.T) {
	h := newHarness(t)
	a := h.dial(policy.Web, "tab")
	r := a.mustLogin(policy.Web, "frank", h.ticket("frank", time.Hour))
	rep := a.mustLogin(policy.Web, "frank", h.ticket("frank", time.Hour))
	if !rep.RepeatLogin || rep.Seq != r.Seq || rep.ResumeToken != r.ResumeToken {
		t.Fatalf("repeat login: %+v", rep)
	}
	// Account switch: frank is logged out implicitly.
	g := a.mustLogin(policy.Web, "grace", h.ticket("grace", time.Hour))
	if g.RepeatLogin || g.Seq != 1 {
		t.Fatalf("switch login: %+v", g)
	}
	if in := h.s.OnlineStatus("frank"); len(in) != 0 {
		t.Fatalf("frank still online after switch: %+v", in)
	}
	if lo := a.call(protocol.Frame{Op: protocol.OpLogout}); lo.Op != protocol.OpLogoutResult || lo.Code != 0 {
		t.Fatalf("logout: %+v", lo)
	}
	if lo := a.call(protocol.Frame{Op: protocol.OpLogout}); lo.Code != codes.NotLoggedIn {
		t.Fatalf("second logout: %+v, want 6014", lo)
	}
	if in := h.s.OnlineStatus("grace"); len(in) != 0 {
		t.Fatalf("grace still online after logout: %+v", in)
	}
	// Logins after a logout get the next seq.
	if r := a.mustLogin(policy.Web, "grace", h.ticket("grace", time.Hour)); r.Seq != 2 || r.RepeatLogin {
		t.Fatalf("login after logout: %+v", r)
	}
	st := h.s.Stats()
	if st.Logouts != 2 || st.Switches != 1 || st.LoginsOK != 4 || st.RepeatLogins != 1 || st.Kicks != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAdminKickInvalidatesTickets(t *testing.T) {
	h := newHarness(t, withPolicy(policy.MultiPlatform, 1, 1))
	old := h.ticket("henry", time.Hour)
	a := h.dial(policy.Android, "phone")
	b := h.dial(policy.Web, "tab")
	a.mustLogin(policy.Android, "henry", old)
	b.mustLogin(policy.Web, "henry", old)
	h.clk.Advance(time.Second)
	if n := h.s.Kick("henry"); n != 2 {
		t.Fatalf("Kick ended %d sessions, want 2", n)
	}
	for _, c := range []*client{a, b} {
		if f := c.next(); f.Op != protocol.OpKickedOffline || f.Reason != KickAdmin {
			t.Fatalf("%s got %+v, want kicked_offline admin_kick", c.name, f)
		}
		if !c.closed() {
			t.Fatalf("%s still open after admin kick", c.name)
		}
	}
	c := h.dial(policy.Android, "phone")
	if r := c.loginOn(policy.Android, "henry", old); r.Code != codes.SigInvalidated {
		t.Fatalf("old ticket after kick: %+v, want 70052", r)
	}
	h.clk.Advance(time.Second)
	c.mustLogin(policy.Android, "henry", h.ticket("henry", time.Hour))
	if st := h.s.Stats(); st.AdminKicks != 2 || st.LoginsFailed[codes.SigInvalidated] != 1 {
		t.Fatalf("stats %+v", st)
	}
}
