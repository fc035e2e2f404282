package metrics

import (
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

func TestObserveOneOperation(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name     string
		events   []event.Event
		ok       int64
		failed   int64
		timedOut int64
		codes    map[int]int64
		p50, max time.Duration
	}{
		{
			name: "all ok",
			events: []event.Event{
				{Kind: event.Login, Outcome: event.OK, Latency: 10 * ms},
				{Kind: event.Login, Outcome: event.OK, Latency: 20 * ms},
				{Kind: event.Login, Outcome: event.OK, Latency: 30 * ms},
			},
			ok: 3, p50: 20 * ms, max: 30 * ms,
		},
		{
			name: "failures by code and timeouts: counted, not in the latency",
			events: []event.Event{
				{Kind: event.Login, Outcome: event.OK, Latency: ms},
				{Kind: event.Login, Outcome: event.Failed, Code: 70001, Latency: 2 * ms},
				{Kind: event.Login, Outcome: event.Failed, Code: 70001, Latency: 2 * ms},
				{Kind: event.Login, Outcome: event.Failed, Latency: 3 * ms},
				{Kind: event.Login, Outcome: event.TimedOut, Latency: 5 * time.Second},
			},
			ok: 1, failed: 3, timedOut: 1, codes: map[int]int64{70001: 2, 0: 1},
			p50: ms, max: ms, // the one success
		},
		{
			name: "missing outcome counts as failed",
			events: []event.Event{
				{Kind: event.Login, Latency: ms},
			},
			failed: 1, codes: map[int]int64{0: 1}, p50: 0, max: 0, // no success: no latency
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRecorder(WithStart(t0), WithClock(clock.NewFake(t0.Add(10*time.Second))))
			for i := range tc.events {
				e := tc.events[i]
				e.UserID, e.Device, e.Platform, e.At = "u", "d", policy.Android, t0.Add(time.Second)
				r.Observe(&e)
			}
			o := r.Snapshot().Op("login")
			if o.OK != tc.ok || o.Failed != tc.failed || o.TimedOut != tc.timedOut || o.Count != tc.ok+tc.failed+tc.timedOut {
				t.Errorf("counts: got ok %d failed %d timed out %d count %d", o.OK, o.Failed, o.TimedOut, o.Count)
			}
			if !maps.Equal(o.Codes, tc.codes) {
				t.Errorf("codes: got %v, want %v", o.Codes, tc.codes)
			}
			if o.Samples() != o.OK {
				t.Errorf("histogram holds %d values for %d successes", o.Samples(), o.OK)
			}
			if !close3(o.Quantile(0.5), tc.p50) || !close3(o.Max(), tc.max) {
				t.Errorf("p50 %v max %v, want %v and %v", o.Quantile(0.5), o.Max(), tc.p50, tc.max)
			}
			if got := o.Rate(); got != float64(o.Count)/10 {
				t.Errorf("rate %v over 10 s for %d attempts", got, o.Count)
			}
		})
	}
}

// close3 reports whether a histogram value is within the precision of three
// significant digits of want.
func close3(got, want time.Duration) bool {
	d := got - want
	if d < 0 {
		d = -d
	}
	return d <= want/500+time.Microsecond
}

func TestKicksAndOtherEvents(t *testing.T) {
	r := NewRecorder(WithStart(t0), WithClock(clock.NewFake(t0.Add(4*time.Second))))
	obs := func(k event.Kind, p policy.Platform, lat time.Duration) {
		r.Observe(&event.Event{Kind: k, UserID: "u", Device: "d", Platform: p, At: t0, Latency: lat})
	}
	obs(event.Kicked, policy.Android, 40*time.Millisecond)
	obs(event.Kicked, policy.Android, 0) // delay unknown: counted, not in the histogram
	obs(event.Kicked, policy.Web, 10*time.Millisecond)
	obs(event.Disconnect, policy.Web, 0)
	obs(event.SigExpired, policy.Mac, 0)
	obs(event.Misbehaving, "", 0)
	s := r.Snapshot()
	if got := s.EventCount("kicked", ""); got != 3 {
		t.Errorf("kicks: %d, want 3", got)
	}
	if got := s.EventCount("kicked", policy.Android); got != 2 {
		t.Errorf("Android kicks: %d, want 2", got)
	}
	if got := s.EventCount("misbehaving", UnknownPlatform); got != 1 {
		t.Errorf("misbehaving without platform: %d, want 1 under %q", got, UnknownPlatform)
	}
	d := s.KickDelay("")
	if d.Samples() != 2 || !close3(d.Max(), 40*time.Millisecond) || !close3(d.Min(), 10*time.Millisecond) {
		t.Errorf("kick notice: %d samples, min %v max %v", d.Samples(), d.Min(), d.Max())
	}
	if got := s.Platforms("kicked"); !slices.Equal(got, []policy.Platform{policy.Android, policy.Web}) {
		t.Errorf("kick platforms %v", got)
	}
	if got := s.Series.Events["kicked"]; len(got) != 4 || got[0] != 3 {
		t.Errorf("kicked series %v, want 3 in second 0 of 4", got)
	}
}

func TestClampedLatencies(t *testing.T) {
	r := NewRecorder(WithStart(t0), WithRange(time.Microsecond, time.Second, 3))
	r.Observe(&event.Event{Kind: event.Connect, Outcome: event.OK, Device: "d", At: t0, Latency: time.Minute})
	r.Observe(&event.Event{Kind: event.Connect, Outcome: event.OK, Device: "d", At: t0, Latency: -time.Second})
	s := r.Snapshot()
	o := s.Op("connect")
	if s.Clamped != 2 || o.Count != 2 || !close3(o.Max(), time.Second) || o.Min() != 0 {
		t.Errorf("clamped %d count %d min %v max %v", s.Clamped, o.Count, o.Min(), o.Max())
	}
	// The series keeps the exact max.
	if got := s.Series.Ops["connect"].MaxNs[0]; got != int64(time.Minute) {
		t.Errorf("series max %d, want one minute", got)
	}
}

func TestOnlineSeries(t *testing.T) {
	at := func(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }
	evs := []event.Event{
		{Kind: event.Login, Outcome: event.OK, UserID: "a", Device: "a1", At: at(0.1)},
		{Kind: event.Login, Outcome: event.OK, UserID: "a", Device: "a2", At: at(0.2)},
		{Kind: event.Login, Outcome: event.OK, UserID: "b", Device: "b1", At: at(0.3)},
		{Kind: event.Login, Outcome: event.OK, UserID: "b", Device: "b1", At: at(0.4), Repeat: true}, // already online
		{Kind: event.Login, Outcome: event.Failed, UserID: "c", Device: "c1", At: at(0.5)},           // not online
		{Kind: event.Kicked, UserID: "a", Device: "a1", At: at(1.5)},
		{Kind: event.Disconnect, UserID: "a", Device: "a1", At: at(1.6)}, // already offline
		// second 2: nothing
		{Kind: event.Disconnect, UserID: "b", Device: "b1", At: at(3.1)},
		{Kind: event.Resume, Outcome: event.OK, UserID: "b", Device: "b1", At: at(3.2)},
		{Kind: event.SwitchUser, UserID: "a", Device: "a2", At: at(4.0)},
		{Kind: event.Login, Outcome: event.OK, UserID: "c", Device: "a2", At: at(4.1)},
		{Kind: event.AppKill, UserID: "c", Device: "a2", At: at(5.5)},
		{Kind: event.Logout, Outcome: event.OK, UserID: "b", Device: "b1", At: at(5.6)},
	}
	r := NewRecorder(WithStart(t0), WithClock(clock.NewFake(at(7))))
	for i := range evs {
		r.Observe(&evs[i])
	}
	se := r.Snapshot().Series
	wantMax := []int64{3, 3, 2, 2, 2, 2, 0}
	wantEnd := []int64{3, 2, 2, 2, 2, 0, 0}
	if !slices.Equal(se.OnlineMax, wantMax) || !slices.Equal(se.OnlineEnd, wantEnd) {
		t.Errorf("online max %v end %v, want %v and %v", se.OnlineMax, se.OnlineEnd, wantMax, wantEnd)
	}
}

func TestSeriesHistograms(t *testing.T) {
	r := NewRecorder(WithStart(t0), WithSeriesHistograms(event.Login, event.Resume))
	for i := range 100 {
		lat := time.Duration(i+1) * time.Millisecond
		r.Observe(&event.Event{Kind: event.Login, Outcome: event.OK, Device: "d", At: t0.Add(time.Second + time.Duration(i)*time.Millisecond), Latency: lat})
		r.Observe(&event.Event{Kind: event.Connect, Outcome: event.OK, Device: "d", At: t0, Latency: lat})
	}
	s := r.Snapshot()
	lg := s.Series.Ops["login"]
	if lg.Latency[0] != nil || lg.Latency[1] == nil || lg.Latency[1].Count() != 100 {
		t.Fatalf("login per-second histograms: %v", lg.Latency)
	}
	p99 := Dist{h: lg.Latency[1].p, unit: s.Histogram.Unit()}.Quantile(0.99)
	if d := p99 - 99*time.Millisecond; d < 0 || d > time.Millisecond {
		t.Errorf("per-second p99 %v, want 99ms at two digits", p99)
	}
	if lg.MaxNs[1] != int64(100*time.Millisecond) || lg.SumNs[1] != int64(5050*time.Millisecond) {
		t.Errorf("per-second max %d sum %d", lg.MaxNs[1], lg.SumNs[1])
	}
	if s.Series.Ops["connect"].Latency != nil {
		t.Error("connect has per-second histograms without asking")
	}
}

func TestSeriesDropped(t *testing.T) {
	r := NewRecorder(WithStart(t0), WithMaxSeconds(10))
	r.Observe(&event.Event{Kind: event.Heartbeat, Outcome: event.OK, Device: "d"})                         // no time
	r.Observe(&event.Event{Kind: event.Heartbeat, Outcome: event.OK, Device: "d", At: t0.Add(time.Hour)})  // past the cap
	r.Observe(&event.Event{Kind: event.Heartbeat, Outcome: event.OK, Device: "d", At: t0.Add(-time.Hour)}) // before: second 0
	r.Observe(&event.Event{Kind: event.Heartbeat, Outcome: event.OK, Device: "d", At: t0.Add(9500 * time.Millisecond)})
	s := r.Snapshot()
	hb := s.Series.Ops["heartbeat"]
	if s.Series.Dropped != 2 || s.Op("heartbeat").Count != 4 || hb.OK[0] != 1 || hb.OK[9] != 1 || s.Series.Seconds != 10 {
		t.Errorf("dropped %d count %d series %v", s.Series.Dropped, s.Op("heartbeat").Count, hb.OK)
	}
}

// TestAccountingConcurrent feeds events from many goroutines and checks that
// nothing is lost and that attempts = ok + failed + timed out everywhere.
func TestAccountingConcurrent(t *testing.T) {
	const workers = 8
	evs := genEvents(1, 40000, t0, 20*time.Second)
	x := count(evs)
	r := NewRecorder(WithStart(t0), WithClock(clock.NewFake(t0.Add(20*time.Second))), WithShards(8))
	var wg sync.WaitGroup
	snaps := make(chan *Snapshot, 1)
	wg.Add(workers + 1)
	for w := range workers {
		go func() {
			defer wg.Done()
			for i := w; i < len(evs); i += workers {
				r.Observe(&evs[i])
			}
		}()
	}
	go func() { // snapshots taken while events arrive must be consistent too
		defer wg.Done()
		var last *Snapshot
		for range 20 {
			last = r.Snapshot()
			checkAccounting(t, last)
		}
		snaps <- last
	}()
	wg.Wait()
	<-snaps
	s := r.Snapshot()
	checkAccounting(t, s)
	for _, op := range []string{"connect", "login", "logout", "resume", "heartbeat"} {
		o := s.Op(op)
		if o.OK != x.ok[op] || o.Failed != x.failed[op] || o.TimedOut != x.timedOut[op] {
			t.Errorf("%s: got %d/%d/%d, want %d/%d/%d", op, o.OK, o.Failed, o.TimedOut, x.ok[op], x.failed[op], x.timedOut[op])
		}
		if !maps.Equal(o.Codes, x.codes[op]) {
			t.Errorf("%s codes %v, want %v", op, o.Codes, x.codes[op])
		}
	}
	for name, n := range x.others {
		if got := s.EventCount(name, ""); got != n {
			t.Errorf("%s: %d, want %d", name, got, n)
		}
	}
	if s.UnknownEvents != x.unknown {
		t.Errorf("unknown events %d, want %d", s.UnknownEvents, x.unknown)
	}
}

// checkAccounting checks the invariants of a snapshot: per operation and
// platform the histogram holds every attempt, and the series add up to the
// totals.
func checkAccounting(t *testing.T, s *Snapshot) {
	t.Helper()
	for op, byPlat := range s.Ops {
		var ok, failed, timedOut int64
		for p, c := range byPlat {
			if c.Latency.Count() != c.OK {
				t.Errorf("%s/%s: histogram %d, successes %d", op, p, c.Latency.Count(), c.OK)
			}
			ok, failed, timedOut = ok+c.OK, failed+c.Failed, timedOut+c.TimedOut
		}
		os := s.Series.Ops[op]
		var sok, sfailed, stimedOut int64
		for i := range s.Series.Seconds {
			sok, sfailed, stimedOut = sok+os.OK[i], sfailed+os.Failed[i], stimedOut+os.TimedOut[i]
		}
		if sok != ok || sfailed != failed || stimedOut != timedOut {
			t.Errorf("%s: series %d/%d/%d, totals %d/%d/%d", op, sok, sfailed, stimedOut, ok, failed, timedOut)
		}
	}
}

func TestShardsRoundUp(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{1, 1}, {2, 2}, {3, 4}, {8, 8}, {9, 16}} {
		if got := len(NewRecorder(WithShards(tc.in)).shards); got != tc.want {
			t.Errorf("WithShards(%d): %d shards, want %d", tc.in, got, tc.want)
		}
	}
}
