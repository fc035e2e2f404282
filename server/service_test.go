package server

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/codes"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
)

// The workers' completions lie on their own timelines: a backlog booked at
// once completes at exact multiples of the cost, and a login booked late
// (a timer that woke late) starts from its own now without shifting the
// others.
func TestWorkersTimeline(t *testing.T) {
	clk := clock.NewFake(t0())
	w := newWorkers(clk, Service{Workers: 2, LoginCost: 10 * time.Millisecond})
	var got []time.Duration
	for range 6 {
		got = append(got, w.reserve(t0()).Sub(t0()))
	}
	want := []time.Duration{10, 10, 20, 20, 30, 30}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("completions %v, want %v ms", got, want)
		}
	}
	// Booked 3 ms late (slack), while both workers are busy until 30 ms:
	// the next completion is still at 40 ms, not 43.
	if d := w.reserve(t0().Add(3 * time.Millisecond)).Sub(t0()); d != 40*time.Millisecond {
		t.Fatalf("late booking completes at %v, want 40ms", d)
	}
	// An idle worker starts from now.
	if d := w.reserve(t0().Add(time.Second)).Sub(t0()); d != time.Second+10*time.Millisecond {
		t.Fatalf("idle booking completes at %v, want 1.01s", d)
	}
}

// The ceiling is exact: arrivals at exactly W/D per second each wait D and
// no more (the ceiling is not lowered: nothing queues), and a backlog of n
// completes at n·D/W (nor raised). Workers are freed by their timelines,
// not by timers, so how late a waiting login wakes changes neither.
func TestWorkersCeilingIsExact(t *testing.T) {
	clk := clock.NewFake(t0())
	sv := Service{Workers: 4, LoginCost: 5 * time.Millisecond}
	if c := sv.Ceiling(); c != 800 {
		t.Fatalf("ceiling %v, want 800", c)
	}
	w := newWorkers(clk, sv)
	gap := time.Second / 800
	for k := range 4000 {
		at := t0().Add(time.Duration(k) * gap)
		if lat := w.reserve(at).Sub(at); lat != sv.LoginCost {
			t.Fatalf("arrival %d at the ceiling waited %v, want %v", k, lat, sv.LoginCost)
		}
	}
	w2 := newWorkers(clk, sv)
	var end time.Time
	const n = 4000
	for range n {
		end = w2.reserve(t0())
	}
	if got, want := end.Sub(t0()), time.Duration(n/4)*sv.LoginCost; got != want {
		t.Fatalf("backlog of %d done after %v, want %v", n, got, want)
	}
}

// Through Login: with 2 workers of 10 ms, 4 logins sent at once answer two
// at 10 ms and two at 20 ms of the fake clock.
func TestLoginHoldsAWorker(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Service = Service{Workers: 2, LoginCost: 10 * time.Millisecond} })
	var answered atomic.Int32
	results := make(chan protocol.Frame, 4)
	for i := range 4 {
		u := fmt.Sprintf("u%d", i)
		c := h.attach("192.0.2.1", policy.Android, "a"+u)
		sig := h.ticket(u, time.Hour)
		go func() {
			r := c.Login(&protocol.Frame{Op: protocol.OpLogin, ID: 1, UserID: u, UserSig: sig, Platform: "Android", Instance: "a" + u})
			answered.Add(1)
			results <- r
		}()
	}
	eventually(t, "4 logins booked", func() bool {
		h.s.workers.mu.Lock()
		defer h.s.workers.mu.Unlock()
		n := 0
		for _, f := range h.s.workers.free {
			n += int(f.Sub(t0()) / (10 * time.Millisecond))
		}
		return n == 4
	})
	if n := answered.Load(); n != 0 {
		t.Fatalf("%d logins answered before any work was done", n)
	}
	h.clk.Advance(10 * time.Millisecond)
	for range 2 {
		if r := <-results; r.Code != 0 {
			t.Fatalf("login: %+v", r)
		}
	}
	if n := answered.Load(); n != 2 {
		t.Fatalf("%d logins answered at 10ms, want 2", n)
	}
	h.clk.Advance(10 * time.Millisecond)
	for range 2 {
		if r := <-results; r.Code != 0 {
			t.Fatalf("login: %+v", r)
		}
	}
}

// MaxSessions refuses the login that would add a session beyond it with
// ServerFull, takes one again once a session ended, and never refuses a
// login that displaces a session of its own user.
func TestMaxSessions(t *testing.T) {
	h := newHarness(t, withPolicy(policy.SinglePlatform, 1, 1), func(c *Config) { c.Service.MaxSessions = 3 })
	login := func(u, inst string) (*Conn, protocol.Frame) {
		c := h.attach("192.0.2.1", policy.Android, inst)
		return c, c.Login(&protocol.Frame{Op: protocol.OpLogin, ID: 1, UserID: u, UserSig: h.ticket(u, time.Hour), Platform: "Android", Instance: inst})
	}
	var first *Conn
	for i := range 3 {
		c, r := login(fmt.Sprintf("u%d", i), "a")
		if r.Code != 0 {
			t.Fatalf("login %d: %+v", i, r)
		}
		if i == 0 {
			first = c
		}
	}
	if _, r := login("u3", "a"); r.Code != codes.ServerFull {
		t.Fatalf("4th session: code %d, want %d (ServerFull)", r.Code, codes.ServerFull)
	}
	// A login of u1 on another instance displaces u1's session: it takes
	// that session's place.
	if _, r := login("u1", "b"); r.Code != 0 {
		t.Fatalf("displacing login refused: %+v", r)
	}
	if st := h.s.Stats(); st.Online != 3 {
		t.Fatalf("online %d, want 3", st.Online)
	}
	if r := first.Logout(&protocol.Frame{Op: protocol.OpLogout, ID: 2}); r.Code != 0 {
		t.Fatalf("logout: %+v", r)
	}
	if _, r := login("u3", "a"); r.Code != 0 {
		t.Fatalf("login after a logout: %+v", r)
	}
	if _, r := login("u4", "a"); r.Code != codes.ServerFull {
		t.Fatalf("over the bound again: code %d", r.Code)
	}
}

func TestServiceConfigChecked(t *testing.T) {
	for _, sv := range []Service{{LoginCost: time.Millisecond}, {Workers: -1}, {MaxSessions: -2}} {
		if _, err := New(Config{SDKAppID: testApp, Key: testKey, Service: sv}); err == nil {
			t.Errorf("%+v accepted", sv)
		}
	}
}
