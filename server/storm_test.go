package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
)

func TestLoginRateLimit(t *testing.T) {
	h := newHarness(t, withPolicy(policy.MultiPlatform, 1, 1), func(c *Config) {
		c.Protect = Protect{LoginRate: 2, LoginBurst: 3}
	})
	c := h.dial(policy.Android, "a")
	codesSeen := func() []int {
		var out []int
		for i := range 5 {
			r := c.loginOn(policy.Android, fmt.Sprintf("u%d", i), h.ticket(fmt.Sprintf("u%d", i), time.Hour))
			out = append(out, r.Code)
		}
		return out
	}
	// A burst of 3, then 1010 until tokens come back (2 per second).
	if got := fmt.Sprint(codesSeen()); got != "[0 0 0 1010 1010]" {
		t.Fatalf("codes %s, want the burst then 1010", got)
	}
	h.clk.Advance(time.Second)
	if got := fmt.Sprint(codesSeen()); got != "[0 0 1010 1010 1010]" {
		t.Fatalf("a second later: codes %s, want two more", got)
	}
	if st := h.s.Stats(); st.Protect.RateLimited != 5 || st.LoginsFailed[codes.LoginTooFrequent] != 5 {
		t.Errorf("stats %+v, failed %v", st.Protect, st.LoginsFailed)
	}
}

func TestLoginBuckets(t *testing.T) {
	h := newHarness(t, withPolicy(policy.MultiPlatform, 1, 1), func(c *Config) {
		c.Protect = Protect{LoginBuckets: 1, BucketEvery: 5 * time.Second}
	})
	c := h.dial(policy.Android, "a")
	login := func(u string) int { return c.loginOn(policy.Android, u, h.ticket(u, time.Hour)).Code }
	if a, b := login("u1"), login("u2"); a != 0 || b != codes.LoginBucketBusy {
		t.Fatalf("one bucket: %d then %d, want 0 then 1011", a, b)
	}
	h.clk.Advance(4 * time.Second)
	if got := login("u2"); got != codes.LoginBucketBusy {
		t.Fatalf("4s later: %d, want 1011", got)
	}
	h.clk.Advance(time.Second)
	if got := login("u2"); got != 0 {
		t.Fatalf("5s later: %d, want the bucket free", got)
	}
	if st := h.s.Stats(); st.Protect.BucketBusy != 2 {
		t.Errorf("bucket refusals %d, want 2", st.Protect.BucketBusy)
	}
}

func TestFlappingBan(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Protect = Protect{FlapConnects: 3, FlapWindow: time.Minute, FlapBan: time.Minute}
	})
	hello := func(inst string) protocol.Frame {
		c := h.dialRaw(inst)
		c.send(protocol.Frame{Op: protocol.OpHello, V: protocol.Version, SDKAppID: testApp, Platform: "Android", Instance: inst})
		return c.next()
	}
	for i := range 3 {
		if f := hello("f"); f.Op != protocol.OpHelloOK {
			t.Fatalf("connect %d: %+v", i, f)
		}
	}
	if f := hello("f"); f.Op != protocol.OpError || f.Code != codes.FlappingBanned {
		t.Fatalf("fourth connect within the window: %+v, want 1012", f)
	}
	if f := hello("other"); f.Op != protocol.OpHelloOK {
		t.Fatalf("another device: %+v", f)
	}
	h.clk.Advance(time.Minute)
	if f := hello("f"); f.Op != protocol.OpHelloOK {
		t.Fatalf("after the ban: %+v", f)
	}
	if st := h.s.Stats(); st.Protect.FlapBanned != 1 {
		t.Errorf("flap refusals %d", st.Protect.FlapBanned)
	}
}

// Off by default: a thousand logins at once go through.
func TestProtectionsOffByDefault(t *testing.T) {
	h := newHarness(t, withPolicy(policy.MultiPlatform, 1, 1))
	c := h.dial(policy.Android, "a")
	for i := range 50 {
		if r := c.loginOn(policy.Android, fmt.Sprintf("u%d", i), h.ticket(fmt.Sprintf("u%d", i), time.Hour)); r.Code != 0 {
			t.Fatalf("login %d: %+v", i, r)
		}
	}
	for range 20 {
		c := h.dialRaw("x")
		c.send(protocol.Frame{Op: protocol.OpHello, V: protocol.Version, SDKAppID: testApp, Platform: "Android", Instance: "x"})
		if f := c.next(); f.Op != protocol.OpHelloOK {
			t.Fatalf("hello: %+v", f)
		}
	}
}

// A restart drops every connection; sessions stay resumable, or are lost,
// or (the fault) vanish without a word.
func TestRestart(t *testing.T) {
	for _, mode := range []string{"resumable", "lost", "fault"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				c.Faults.LoseSessionOnRestart = mode == "fault"
			})
			c := h.dial(policy.Android, "a")
			r := c.mustLogin(policy.Android, "alice", h.ticket("alice", time.Hour))
			if n := h.s.Restart(RestartOptions{LoseSessions: mode == "lost", Down: time.Second}); n != 1 {
				t.Fatalf("restart dropped %d connections", n)
			}
			eventually(t, "the connection closed", c.closed)
			// Down: a new connection is refused with 1007.
			d := h.dialRaw("b")
			if f := d.next(); f.Op != protocol.OpError || f.Code != codes.ServerClosed {
				t.Fatalf("while down: %+v", f)
			}
			h.clk.Advance(time.Second)
			c2 := h.dial(policy.Android, "a")
			res := c2.call(protocol.Frame{Op: protocol.OpResume, ResumeToken: r.ResumeToken})
			want := 0
			if mode != "resumable" {
				want = codes.ResumeFailed
			}
			if res.Code != want {
				t.Fatalf("resume after the restart: %+v, want code %d", res, want)
			}
		})
	}
}

func TestExpireTickets(t *testing.T) {
	h := newHarness(t, withPolicy(policy.MultiPlatform, 1, 1))
	a := h.dial(policy.Android, "a")
	b := h.dial(policy.Android, "b")
	a.mustLogin(policy.Android, "alice", h.ticket("alice", time.Hour))
	b.mustLogin(policy.Android, "bob", h.ticket("bob", time.Hour))
	got := h.s.ExpireTickets(func(si SessionInfo) bool { return si.UserID == "alice" })
	if len(got) != 1 || got[0].UserID != "alice" {
		t.Fatalf("expired %+v", got)
	}
	if f := a.next(); f.Op != protocol.OpUserSigExpired {
		t.Fatalf("alice got %+v", f)
	}
	if !b.quiet(50 * time.Millisecond) {
		t.Error("bob was told too")
	}
	// A new ticket logs in again as the same session.
	r := a.loginOn(policy.Android, "alice", h.ticket("alice", time.Hour))
	if r.Code != 0 || !r.RepeatLogin || r.Seq != 1 {
		t.Errorf("refresh: %+v", r)
	}
}
