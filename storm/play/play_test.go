package play

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/codes"
	"github.com/imload/imload/event"
	"github.com/imload/imload/pacer"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/shard"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// calls is what the fakes were asked to do, in order.
type calls struct {
	mu  sync.Mutex
	log []string
	hit map[string][]string // action → the instances it hit
}

func (c *calls) add(action string, hit []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, action)
	if c.hit == nil {
		c.hit = map[string][]string{}
	}
	c.hit[action] = hit
}

func (c *calls) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.log)
}

// fakeNet holds devices dev0..dev(n-1), every one connected.
type fakeNet struct {
	n int
	c *calls
}

func (f fakeNet) pick(p func(string) bool) []string {
	var out []string
	for i := range f.n {
		if d := "dev" + strconv.Itoa(i); p(d) {
			out = append(out, d)
		}
	}
	return out
}

func (f fakeNet) Live(p func(string) bool) []string { return f.pick(p) }
func (f fakeNet) Drop(p func(string) bool) []string { h := f.pick(p); f.c.add("drop", h); return h }
func (f fakeNet) Partition(p func(string) bool, d time.Duration) []string {
	h := f.pick(p)
	f.c.add("partition "+d.String(), h)
	return h
}

type fakeServer struct {
	net fakeNet
	c   *calls
}

func (s fakeServer) Restart(lose bool, down time.Duration) {
	s.c.add(fmt.Sprintf("restart lose=%v down=%v", lose, down), nil)
}
func (s fakeServer) ExpireTickets(hit func(string) bool) { s.c.add("expire", s.net.pick(hit)) }
func (s fakeServer) ResumeWindow() time.Duration         { return 30 * time.Second }

// eventually waits until cond holds (or fails the test after a deadline
// far beyond what a loaded machine needs).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
	}
}

type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func dur(s string) scenario.Duration {
	d, err := scenario.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}

func player(t *testing.T, clk clock.Clock, c *calls, evs ...scenario.Event) *Player {
	t.Helper()
	net := fakeNet{n: 200, c: c}
	p, err := New(Config{Events: evs, Seed: 7, Clock: clk, Net: net, Server: fakeServer{net, c}, Target: "embedded",
		Spawn: func(context.Context, *pacer.Arrival) {}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// Events strike in time order, the file's order for ties, each at its time
// on the run's clock and not before; the tracker holds each mark with the
// event's index in the file.
func TestEventsStrikeInTimeOrder(t *testing.T) {
	clk := clock.NewFake(t0)
	c := &calls{}
	p := player(t, clk, c,
		scenario.Event{At: dur("3s"), Action: scenario.ActionRestartServer, Sessions: scenario.SessionsLost, Down: dur("200ms")},
		scenario.Event{At: dur("1s"), Action: scenario.ActionDropConnections, Share: 0.5},
		scenario.Event{At: dur("1s"), Action: scenario.ActionPartition, Share: 0.25, For: dur("2s")},
		scenario.Event{At: dur("2s"), Action: scenario.ActionExpireTickets, Share: 1},
	)
	p.Start(t.Context())
	clk.Advance(1500 * time.Millisecond)
	eventually(t, "the events at 1s struck", func() bool { return len(c.got()) >= 2 })
	if got := c.got(); strings.Join(got, "|") != "drop|partition 2s" {
		t.Fatalf("at 1.5s: %q, want the drop then the partition (file order for the tie)", got)
	}
	clk.Advance(time.Second)
	eventually(t, "the event at 2s struck", func() bool { return len(c.got()) >= 3 })
	if got := c.got(); len(got) != 3 || got[2] != "expire" {
		t.Fatalf("at 2.5s: %q, want the expiry third and the restart not yet", got)
	}
	clk.Advance(time.Second)
	eventually(t, "the event at 3s struck", func() bool { return len(c.got()) >= 4 })
	if got := c.got(); got[3] != "restart lose=true down=200ms" {
		t.Fatalf("restart %q", got[3])
	}
	if len(c.hit["drop"]) == 0 || len(c.hit["expire"]) != 200 {
		t.Errorf("drop hit %d, expiry hit %d of 200", len(c.hit["drop"]), len(c.hit["expire"]))
	}
	fs := p.Figures(clk.Now())
	var idx []int
	for _, f := range fs {
		idx = append(idx, f.Index)
	}
	if !slices.Equal(idx, []int{1, 2, 3, 0}) || fs[0].Detail != "share 0.5" || fs[1].Detail != "share 0.25 for 2s" ||
		fs[3].Detail != "sessions lost, down 200ms" || fs[0].Affected != len(c.hit["drop"]) {
		t.Errorf("tracker's storms %v: %+v", idx, fs)
	}
}

// A share is picked by a hash of the seed, the event and the device: the
// same seed hits the same devices, another seed or event others, and the
// share is about the fraction asked.
func TestPickIsDeterministicBySeed(t *testing.T) {
	set := func(seed int64, i int, share float64) []string {
		var out []string
		p := pick(seed, i, share)
		for k := range 10000 {
			if d := "dev" + strconv.Itoa(k); p(d) {
				out = append(out, d)
			}
		}
		return out
	}
	a := set(7, 1, 0.3)
	if n := len(a); n < 2700 || n > 3300 {
		t.Fatalf("share 0.3 of 10000 picked %d", n)
	}
	if !slices.Equal(a, set(7, 1, 0.3)) {
		t.Fatal("the same seed picked other devices")
	}
	if slices.Equal(a, set(8, 1, 0.3)) || slices.Equal(a, set(7, 2, 0.3)) {
		t.Fatal("another seed or event picked the same devices")
	}
	if len(set(7, 1, 0)) != 0 || len(set(7, 1, 1)) != 10000 {
		t.Fatal("share 0 or 1 not none or all")
	}
	// A larger share keeps the smaller one's devices.
	big := map[string]bool{}
	for _, d := range set(7, 1, 0.6) {
		big[d] = true
	}
	for _, d := range a {
		if !big[d] {
			t.Fatalf("%s in share 0.3, not in 0.6", d)
		}
	}
}

// A surge of 100/s for 500ms is 50 arrivals, on device numbers apart from
// the phases'; a shard of two plays 25 of them, at half the rate, on
// numbers the other shard does not use.
func TestSurgeCountsPerShard(t *testing.T) {
	arrivals := func(sh shard.Shard) []pacer.Arrival {
		clk := clock.NewFake(t0)
		var mu sync.Mutex
		var got []pacer.Arrival
		p, err := New(Config{Clock: clk, Shard: sh,
			Events: []scenario.Event{{At: 0, Action: scenario.ActionSurge, Rate: 100, For: dur("500ms")}},
			Spawn: func(_ context.Context, a *pacer.Arrival) {
				mu.Lock()
				got = append(got, *a)
				mu.Unlock()
			}})
		if err != nil {
			t.Fatal(err)
		}
		p.Start(t.Context())
		eventually(t, "the surge struck", func() bool { return len(p.Figures(clk.Now())) == 1 })
		clk.Advance(time.Second)
		want := 50 / max(sh.Count, 1)
		eventually(t, "the surge's arrivals", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= want })
		p.Stop()
		if f := p.Figures(clk.Now())[0]; f.Affected != want || f.Detail != "100/s for 500ms" {
			t.Errorf("shard %v: tracker %+v, want %d arrivals", sh, f, want)
		}
		slices.SortFunc(got, func(a, b pacer.Arrival) int { return a.Intended.Compare(b.Intended) })
		return got
	}
	whole := arrivals(shard.Shard{})
	if len(whole) != 50 || whole[1].Intended.Sub(whole[0].Intended) != 10*time.Millisecond || whole[0].Device < surgeBase {
		t.Fatalf("whole run: %d arrivals, first %+v second %+v", len(whole), whole[0], whole[1])
	}
	seen := map[int]bool{}
	for i := range 2 {
		part := arrivals(shard.Shard{Index: i, Count: 2})
		if len(part) != 25 || part[1].Intended.Sub(part[0].Intended) != 20*time.Millisecond {
			t.Fatalf("shard %d: %d arrivals, spaced %v", i, len(part), part[1].Intended.Sub(part[0].Intended))
		}
		for _, a := range part {
			if seen[a.Device] || a.Index != a.Device {
				t.Fatalf("shard %d: device %d numbered twice or index %d", i, a.Device, a.Index)
			}
			seen[a.Device] = true
		}
	}
}

// Stop ends a surge in the middle: its arrivals stop, the devices' context
// is done, and Stop returns once every device has ended.
func TestStopEndsASurge(t *testing.T) {
	clk := clock.NewFake(t0)
	var mu sync.Mutex
	n := 0
	p, err := New(Config{Clock: clk,
		Events: []scenario.Event{{At: 0, Action: scenario.ActionSurge, Rate: 100, For: dur("10s")}},
		Spawn: func(ctx context.Context, _ *pacer.Arrival) {
			mu.Lock()
			n++
			mu.Unlock()
			<-ctx.Done() // a device runs until the run ends
		}})
	if err != nil {
		t.Fatal(err)
	}
	p.Start(t.Context())
	eventually(t, "the surge struck", func() bool { return len(p.Figures(clk.Now())) == 1 })
	clk.Advance(100 * time.Millisecond)
	eventually(t, "the first arrivals", func() bool { mu.Lock(); defer mu.Unlock(); return n >= 10 })
	p.Stop()
	mu.Lock()
	defer mu.Unlock()
	if n > 11 {
		t.Fatalf("%d arrivals by 100ms of a 100/s surge", n)
	}
}

// An external target's restart runs the operator's command, and only with
// AllowExec: a scenario alone never runs one. Ticket expiry needs the
// embedded server.
func TestExternalRestartNeedsAllowExec(t *testing.T) {
	restart := []scenario.Event{{At: 0, Action: scenario.ActionRestartServer, Sessions: scenario.SessionsResumable}}
	for _, cfg := range []Config{{}, {RestartCommand: []string{"true"}}, {AllowExec: true}} {
		cfg.Events, cfg.Clock, cfg.Target = restart, clock.NewFake(t0), "url"
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "--allow-exec") || !strings.Contains(err.Error(), "events[0]: restart_server against url") {
			t.Errorf("%+v: %v, want a refusal naming --allow-exec", cfg, err)
		}
	}
	_, err := New(Config{Clock: clock.NewFake(t0), AllowExec: true, RestartCommand: []string{"true"},
		Events: []scenario.Event{{At: 0, Action: scenario.ActionExpireTickets, Share: 1}}})
	if err == nil || !strings.Contains(err.Error(), "events[0]: expire_tickets needs the embedded server") {
		t.Errorf("expire_tickets on an external target: %v", err)
	}

	mark := filepath.Join(t.TempDir(), "restarted")
	log := &syncLog{}
	clk := clock.NewFake(t0)
	p, err := New(Config{Events: restart, Clock: clk, Target: "url", AllowExec: true, Log: log,
		RestartCommand: []string{"sh", "-c", "echo done > " + mark}})
	if err != nil {
		t.Fatal(err)
	}
	p.Start(t.Context())
	eventually(t, "the restart command's note", func() bool { return log.String() != "" })
	p.Stop()
	if b, err := os.ReadFile(mark); err != nil || strings.TrimSpace(string(b)) != "done" {
		t.Fatalf("the restart command did not run: %q %v", b, err)
	}
	if len(p.Figures(clk.Now())) != 1 || !strings.Contains(log.String(), `events[0]: restart command ["sh" "-c"`) || strings.Contains(log.String(), "failed") {
		t.Errorf("log %q", log.String())
	}
}

// A resumable restart of the embedded server marks the server's resume
// window, so that a resume answered 1006 within it is a lost session; a
// restart that loses the sessions marks none.
func TestRestartMarksTheResumeWindow(t *testing.T) {
	for _, sessions := range []string{scenario.SessionsResumable, scenario.SessionsLost} {
		clk := clock.NewFake(t0)
		c := &calls{}
		p := player(t, clk, c, scenario.Event{At: dur("1s"), Action: scenario.ActionRestartServer, Sessions: sessions})
		tr := p.Tracker()
		tr.Observe(&event.Event{Kind: event.Login, Outcome: event.OK, Device: "dev1", Intended: t0, Start: t0, At: t0})
		p.Start(t.Context())
		clk.Advance(time.Second)
		eventually(t, "the restart struck", func() bool { return len(c.got()) == 1 })
		if got, want := c.got()[0], fmt.Sprintf("restart lose=%v down=0s", sessions == scenario.SessionsLost); got != want {
			t.Fatalf("%q, want %q", got, want)
		}
		at := clk.Now().Add(2 * time.Second)
		tr.Observe(&event.Event{Kind: event.Disconnect, Device: "dev1", At: at})
		tr.Observe(&event.Event{Kind: event.Resume, Outcome: event.Failed, Code: codes.ResumeFailed, Device: "dev1", Intended: at, Start: at, At: at})
		f := p.Figures(at)[0]
		if want := map[string]int{scenario.SessionsResumable: 1, scenario.SessionsLost: 0}[sessions]; f.LostResumable != want || f.Affected != 1 || f.Detail != "sessions "+sessions {
			t.Errorf("%s: %+v, want %d lost resumable of the 1 device online", sessions, f, want)
		}
	}
}
