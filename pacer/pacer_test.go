package pacer

import (
	"context"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/scenario"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func dur(d time.Duration) scenario.Duration { return scenario.Duration(d) }

// collector records arrivals.
type collector struct {
	mu sync.Mutex
	as []Arrival
}

func (c *collector) add(a Arrival) {
	c.mu.Lock()
	c.as = append(c.as, a)
	c.mu.Unlock()
}

func (c *collector) sorted() []Arrival {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]Arrival(nil), c.as...)
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// runFake runs phases on a fake clock, advancing it in steps until Run
// returns.
func runFake(t *testing.T, phases []scenario.Phase, spawn Spawn, opts ...Option) *clock.Fake {
	t.Helper()
	fc := clock.NewFake(t0)
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), phases, spawn, append(opts, WithClock(fc))...) }()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			return fc
		case <-deadline:
			t.Fatal("Run did not return")
		default:
		}
		fc.Advance(5 * time.Millisecond)
		time.Sleep(20 * time.Microsecond)
	}
}

// checkNoLeak waits for the goroutine count to come back to before.
func checkNoLeak(t *testing.T, before int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > before; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("goroutines: %d before, %d after", before, runtime.NumGoroutine())
			return
		}
	}
}

// waitUntil polls cond until it holds; the bound only stops a hung test.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestOpenArrivalCounts(t *testing.T) {
	cases := []struct {
		name       string
		rate, to   float64
		d          time.Duration
		want, slop int
	}{
		{"ramp 0 to 100 over 1s", 0, 100, time.Second, 50, 2},
		{"constant 10/s over 1s", 10, 0, time.Second, 10, 0},
		{"ramp down 100 to 20 over 500ms", 100, 20, 500 * time.Millisecond, 30, 2},
		{"constant 0.5/s over 3s", 0.5, 0, 3 * time.Second, 2, 0},
		{"ramp 20 to 200 over 2s", 20, 200, 2 * time.Second, 220, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c collector
			ph := []scenario.Phase{{Model: scenario.Open, Duration: dur(tc.d), Rate: tc.rate, ToRate: tc.to}}
			runFake(t, ph, func(_ context.Context, a *Arrival) { c.add(*a) })
			got := len(c.sorted())
			if got < tc.want-tc.slop || got > tc.want+tc.slop {
				t.Errorf("arrivals = %d, want %d ± %d", got, tc.want, tc.slop)
			}
		})
	}
}

func TestOpenIntendedTimes(t *testing.T) {
	t.Run("constant rate is exact", func(t *testing.T) {
		var c collector
		ph := []scenario.Phase{{Model: scenario.Open, Duration: dur(time.Second), Rate: 10}}
		runFake(t, ph, func(_ context.Context, a *Arrival) { c.add(*a) })
		as := c.sorted()
		if len(as) != 10 {
			t.Fatalf("arrivals = %d, want 10", len(as))
		}
		base := as[0].Intended // the run's start on the fake clock
		for n, a := range as {
			if want := base.Add(time.Duration(n) * 100 * time.Millisecond); !a.Intended.Equal(want) {
				t.Errorf("arrival %d intended %v, want %v", n, a.Intended.Sub(base), want.Sub(base))
			}
			if a.Index != n || a.Slot != n || a.Phase != 0 || a.Session != 0 {
				t.Errorf("arrival %d = %+v", n, a)
			}
		}
	})
	t.Run("ramp follows the integral of the rate", func(t *testing.T) {
		var c collector
		ph := []scenario.Phase{{Model: scenario.Open, Duration: dur(time.Second), Rate: 0, ToRate: 100}}
		runFake(t, ph, func(_ context.Context, a *Arrival) { c.add(*a) })
		// rate(t) = 100 t, integral 50 t²: arrival n at sqrt(n/50) s.
		as := c.sorted()
		base := as[0].Intended
		for n, a := range as {
			want := time.Duration(math.Sqrt(float64(n)/50) * 1e9)
			if d := a.Intended.Sub(base) - want; d < -time.Microsecond || d > time.Microsecond {
				t.Errorf("arrival %d intended %v, want %v", n, a.Intended.Sub(base), want)
			}
		}
	})
	t.Run("phases in sequence with global indices", func(t *testing.T) {
		var c collector
		ph := []scenario.Phase{
			{Model: scenario.Open, Duration: dur(500 * time.Millisecond), Rate: 10},
			{Model: scenario.Open, Duration: dur(time.Second), Rate: 4},
		}
		runFake(t, ph, func(_ context.Context, a *Arrival) { c.add(*a) })
		as := c.sorted()
		if len(as) != 9 {
			t.Fatalf("arrivals = %d, want 5 + 4", len(as))
		}
		for i, a := range as {
			if a.Index != i {
				t.Errorf("index %d at position %d", a.Index, i)
			}
		}
		base, second := as[0].Intended, as[5]
		if second.Phase != 1 || second.Slot != 0 || !second.Intended.Equal(base.Add(500*time.Millisecond)) {
			t.Errorf("first arrival of phase 1 = %+v", second)
		}
		if !as[8].Intended.Equal(base.Add(1250 * time.Millisecond)) {
			t.Errorf("last arrival intended %v, want 1.25s", as[8].Intended.Sub(base))
		}
	})
}

func TestPaceAndRate(t *testing.T) {
	l := NewLinear(0, 100, time.Second)
	if r := l.Rate(500 * time.Millisecond); math.Abs(r-50) > 1e-9 {
		t.Errorf("Rate(0.5s) = %v, want 50", r)
	}
	wait, stop := l.Pace(0, 2)
	if stop || wait != l.At(2) {
		t.Errorf("Pace(0, 2) = %v, %v; want %v, false", wait, stop, l.At(2))
	}
	if wait, _ := l.Pace(time.Second, 2); wait >= 0 {
		t.Errorf("late arrival should have negative wait, got %v", wait)
	}
	if _, stop := l.Pace(0, uint64(l.Count())); !stop {
		t.Error("Pace past the last arrival did not stop")
	}
}

func TestScheduleErrors(t *testing.T) {
	cases := []struct {
		name string
		ph   []scenario.Phase
	}{
		{"no phases", nil},
		{"zero duration", []scenario.Phase{{Model: scenario.Open, Rate: 1}}},
		{"unknown model", []scenario.Phase{{Model: "poisson", Duration: dur(time.Second)}}},
		{"negative rate", []scenario.Phase{{Model: scenario.Open, Duration: dur(time.Second), Rate: -1}}},
		{"negative devices", []scenario.Phase{{Model: scenario.Closed, Duration: dur(time.Second), Devices: -2}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Schedule(tc.ph); err == nil {
				t.Error("Schedule accepted invalid phases")
			}
		})
	}
}

// inflight counts running sessions and remembers the largest count.
type inflight struct {
	now, peak, total atomic.Int64
}

func (f *inflight) enter() {
	n := f.now.Add(1)
	f.total.Add(1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (f *inflight) leave() { f.now.Add(-1) }

func TestClosedKeepsNInFlight(t *testing.T) {
	before := runtime.NumGoroutine()
	const n = 8
	var f inflight
	var sessions sync.Map // index → struct{}
	var dup atomic.Int64
	ph := []scenario.Phase{{Model: scenario.Closed, Duration: dur(300 * time.Millisecond), Devices: n}}
	// The clock stands still while sessions end one at a time on the
	// test's word, so every slot restarts without waiting on any timer and
	// the run ends only when the test moves the clock past the phase.
	fc := clock.NewFake(t0)
	end := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), ph, func(ctx context.Context, a *Arrival) {
			if _, loaded := sessions.LoadOrStore(a.Index, struct{}{}); loaded {
				dup.Add(1)
			}
			f.enter()
			defer f.leave()
			select {
			case <-ctx.Done():
			case <-end:
			}
		}, WithClock(fc))
	}()
	waitUntil(t, "all slots busy", func() bool { return f.now.Load() == n })
	// A slot restarts as soon as its session ends: after each end the
	// level comes back to n, never above.
	for i := int64(1); i <= 4*n; i++ {
		select {
		case end <- struct{}{}:
		case <-time.After(10 * time.Second):
			t.Fatalf("no session took end %d", i)
		}
		waitUntil(t, "the slot to restart", func() bool { return f.total.Load() == n+i && f.now.Load() == n })
	}
	fc.Advance(300 * time.Millisecond)
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the phase")
	}
	if err != nil {
		t.Fatal(err)
	}
	if p := f.peak.Load(); p != n {
		t.Errorf("peak in flight = %d, want %d", p, n)
	}
	if f.total.Load() < 4*n {
		t.Errorf("only %d sessions: slots did not restart", f.total.Load())
	}
	if dup.Load() != 0 {
		t.Errorf("%d duplicate arrival indices", dup.Load())
	}
	checkNoLeak(t, before)
}

func TestClosedRampAndLongSessions(t *testing.T) {
	before := runtime.NumGoroutine()
	var f inflight
	var c collector
	// 0 → 10 over 200ms, then 10 for 100ms; sessions last until the run
	// ends, so in flight equals the wanted level.
	ph := []scenario.Phase{
		{Model: scenario.Closed, Duration: dur(200 * time.Millisecond), Devices: 0, ToDevices: 10},
		{Model: scenario.Closed, Duration: dur(100 * time.Millisecond), Devices: 10},
	}
	start := time.Now()
	err := Run(context.Background(), ph, func(ctx context.Context, a *Arrival) {
		c.add(*a)
		f.enter()
		defer f.leave()
		<-ctx.Done()
	})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 300*time.Millisecond || el > 2*time.Second {
		t.Errorf("run took %v, want about 300ms", el)
	}
	as := c.sorted()
	if len(as) != 10 || f.peak.Load() != 10 {
		t.Fatalf("sessions = %d, peak = %d; want 10 and 10", len(as), f.peak.Load())
	}
	for _, a := range as {
		if a.Session != 0 || a.Index != a.Slot {
			t.Errorf("arrival %+v: want first session of its slot", a)
		}
		// Slot s is wanted from (s+1)/10 of the ramp: 20ms·(s+1); the last
		// slot reaches its level at the phase boundary.
		want := time.Duration(a.Slot+1) * 20 * time.Millisecond
		if got := a.Intended.Sub(start); got < want-5*time.Millisecond || got > want+5*time.Millisecond {
			t.Errorf("slot %d intended at %v, want about %v", a.Slot, got, want)
		}
		if wantPhase := map[bool]int{true: 1, false: 0}[a.Slot == 9]; a.Phase != wantPhase {
			t.Errorf("slot %d phase %d, want %d", a.Slot, a.Phase, wantPhase)
		}
	}
	checkNoLeak(t, before)
}

func TestClosedRampDownIsGraceful(t *testing.T) {
	var c collector
	// 4 → 2 over 200ms: slots 2 and 3 stop restarting once the level drops
	// below them (at 100ms and 0ms), slots 0 and 1 keep going.
	ph := []scenario.Phase{{Model: scenario.Closed, Duration: dur(200 * time.Millisecond), Devices: 4, ToDevices: 2}}
	err := Run(context.Background(), ph, func(ctx context.Context, a *Arrival) {
		c.add(*a)
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	per := map[int]int{}
	for _, a := range c.sorted() {
		per[a.Slot]++
	}
	if per[3] != 1 || per[2] < 3 || per[2] > 7 || per[0] < 7 || per[1] < 7 {
		t.Errorf("sessions per slot = %v; want slot 3 once, slot 2 about 5, slots 0 and 1 about 10", per)
	}
}

func TestMaxInFlight(t *testing.T) {
	var f inflight
	ph := []scenario.Phase{{Model: scenario.Open, Duration: dur(200 * time.Millisecond), Rate: 200}}
	err := Run(context.Background(), ph, func(ctx context.Context, a *Arrival) {
		f.enter()
		defer f.leave()
		select {
		case <-ctx.Done():
		case <-time.After(30 * time.Millisecond):
		}
	}, WithMaxInFlight(3))
	if err != nil {
		t.Fatal(err)
	}
	if p := f.peak.Load(); p != 3 {
		t.Errorf("peak in flight = %d, want the cap 3", p)
	}
}

// TestCancelStopsPromptly: cancelling ctx ends the run and its sessions
// without waiting on any timer: the clock stands still from the cancel on,
// yet Run returns.
func TestCancelStopsPromptly(t *testing.T) {
	for _, model := range []string{scenario.Open, scenario.Closed} {
		t.Run(model, func(t *testing.T) {
			before := runtime.NumGoroutine()
			ph := []scenario.Phase{{Model: model, Duration: dur(10 * time.Second), Rate: 100, Devices: 50}}
			var f inflight
			fc := clock.NewFake(t0)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, ph, func(ctx context.Context, a *Arrival) {
					f.enter()
					defer f.leave()
					<-ctx.Done()
				}, WithClock(fc))
			}()
			waitUntil(t, "sessions to start", func() bool {
				if f.total.Load() >= 5 {
					return true
				}
				fc.Advance(10 * time.Millisecond)
				return false
			})
			cancel()
			select {
			case err := <-done:
				if err != context.Canceled {
					t.Errorf("Run = %v, want context.Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after cancel with the clock standing still")
			}
			if f.now.Load() != 0 {
				t.Errorf("%d sessions still running after Run returned", f.now.Load())
			}
			if f.total.Load() == 0 {
				t.Error("no session started")
			}
			checkNoLeak(t, before)
		})
	}
}

func TestIndicesAreDeterministic(t *testing.T) {
	ph := []scenario.Phase{
		{Model: scenario.Open, Duration: dur(100 * time.Millisecond), Rate: 50},
		{Model: scenario.Closed, Duration: dur(50 * time.Millisecond), Devices: 3},
		{Model: scenario.Open, Duration: dur(100 * time.Millisecond), Rate: 30},
	}
	run := func() []Arrival {
		var c collector
		runFake(t, ph, func(ctx context.Context, a *Arrival) {
			c.add(*a)
			<-ctx.Done()
		}, WithSessionCap(4))
		return c.sorted()
	}
	a, b := run(), run()
	if len(a) != 5+3+3 || len(a) != len(b) {
		t.Fatalf("arrivals %d and %d, want 11", len(a), len(b))
	}
	// The fake clock may have moved before each run read it: compare
	// offsets from each run's first arrival.
	for i := range a {
		if a[i].Index != b[i].Index || a[i].Intended.Sub(a[0].Intended) != b[i].Intended.Sub(b[0].Intended) {
			t.Errorf("run 1 %+v, run 2 %+v", a[i], b[i])
		}
	}
	// open 5 (0-4), closed block 3 slots × 4 sessions (5-16), open from 17.
	if a[5].Index != 5 || a[8].Index != 17 || a[10].Index != 19 {
		t.Errorf("indices %d %d %d, want 5 17 19", a[5].Index, a[8].Index, a[10].Index)
	}
}

// TestDeviceOfArrival: an open-model arrival is its own device; the sessions
// of a closed-model slot share the device index of the slot's first session.
func TestDeviceOfArrival(t *testing.T) {
	ph := []scenario.Phase{
		{Model: scenario.Open, Duration: dur(100 * time.Millisecond), Rate: 50},
		{Model: scenario.Closed, Duration: dur(50 * time.Millisecond), Devices: 3},
	}
	var c collector
	// Sessions end at once, so each slot runs all its sessions.
	runFake(t, ph, func(ctx context.Context, a *Arrival) { c.add(*a) }, WithSessionCap(4))
	as := c.sorted()
	if len(as) != 5+3*4 {
		t.Fatalf("%d arrivals, want 5 open and 3 slots × 4 sessions", len(as))
	}
	for _, a := range as {
		want := a.Index // open
		if a.Phase == 1 {
			want = 5 + a.Slot
			if a.Index != want+3*a.Session {
				t.Errorf("closed arrival %+v: index is not device + session × slots", a)
			}
		}
		if a.Device != want {
			t.Errorf("arrival %+v: device %d, want %d", a, a.Device, want)
		}
	}
}

func BenchmarkOpenArrivals(b *testing.B) {
	// Arrivals the pacer can start per second with an empty session.
	ph := []scenario.Phase{{Model: scenario.Open, Duration: dur(time.Second), Rate: float64(b.N)}}
	fc := clock.NewFake(t0)
	b.ResetTimer()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), ph, func(context.Context, *Arrival) {}, WithClock(fc)) }()
	for {
		select {
		case <-done:
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "arrivals/s")
			return
		default:
			fc.Advance(time.Second)
			time.Sleep(100 * time.Microsecond)
		}
	}
}

func TestBeforeStopRunsOnceBeforeSessionsAreCancelled(t *testing.T) {
	phases := []scenario.Phase{{Model: scenario.Closed, Devices: 2, Duration: scenario.Duration(50 * time.Millisecond)}}
	var calls, liveAtStop atomic.Int32
	var live atomic.Int32
	spawn := func(ctx context.Context, a *Arrival) {
		live.Add(1)
		defer live.Add(-1)
		<-ctx.Done()
	}
	err := Run(context.Background(), phases, spawn, WithBeforeStop(func() {
		calls.Add(1)
		liveAtStop.Store(live.Load())
	}))
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Fatalf("before-stop hook ran %d times, want 1", calls.Load())
	}
	if liveAtStop.Load() != 2 {
		t.Fatalf("sessions alive at the hook: %d, want 2 (they must not be cancelled yet)", liveAtStop.Load())
	}
	if live.Load() != 0 {
		t.Fatalf("sessions still alive after Run: %d", live.Load())
	}
}

// TestSendLag: an arrival handed to spawn late (here it waits for the
// in-flight cap) reports its lateness, actual minus intended, on the
// pacer's clock.
func TestSendLag(t *testing.T) {
	fc := clock.NewFake(t0)
	lags := make(chan time.Duration, 20)
	release := make(chan struct{})
	ph := []scenario.Phase{{Model: scenario.Open, Duration: dur(time.Second), Rate: 10}}
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), ph, func(_ context.Context, a *Arrival) {
			if a.Index == 0 {
				<-release
			}
		}, WithClock(fc), WithMaxInFlight(1), WithSendLag(func(d time.Duration) { lags <- d }))
	}()
	if d := <-lags; d != 0 {
		t.Fatalf("first arrival %v late, want 0", d)
	}
	// The pacer sleeps until arrival 1 is due: advancing before its timer
	// waits on the clock would set that timer from the advanced time.
	for deadline := time.Now().Add(10 * time.Second); fc.Timers() == 0; time.Sleep(100 * time.Microsecond) {
		if time.Now().After(deadline) {
			t.Fatal("the pacer never waited for arrival 1")
		}
	}
	fc.Advance(350 * time.Millisecond) // arrival 1 was due at 100ms
	close(release)
	if d := <-lags; d != 250*time.Millisecond {
		t.Fatalf("arrival 1 %v late, want 250ms", d)
	}
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		case <-lags:
		default:
			fc.Advance(50 * time.Millisecond)
			time.Sleep(100 * time.Microsecond)
		}
	}
}
