package capacity

import (
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imload/imload/event"
	"github.com/imload/imload/health"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func sec(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// op is an operation intended at from seconds after t0 and answered at to.
func op(k event.Kind, o event.Outcome, from, to float64) event.Event {
	return event.Event{Kind: k, Outcome: o, Device: "d", Platform: "iOS",
		Intended: sec(from), Start: sec(from), At: sec(to), Latency: sec(to).Sub(sec(from))}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// A step at 2.5 logins/s with a warm-up of 1s and a window of 2s: the
// window's operations are those intended in [1s, 3s) after the first
// operation; logins in flight count only within the window, whenever they
// were intended; the latency mean is of the window's logins.
func TestWindowOfAnOpenStep(t *testing.T) {
	evs := []event.Event{
		op(event.Login, event.OK, 0, 0.1),       // warm-up: not measured
		op(event.Login, event.OK, 0.9, 1.4),     // warm-up, but 0.4s in flight within the window
		op(event.Login, event.OK, 1.0, 1.1),     // the window's
		op(event.Login, event.OK, 1.5, 1.6),     //
		op(event.Login, event.OK, 2.0, 2.1),     //
		op(event.Login, event.OK, 2.5, 2.6),     //
		op(event.Login, event.Failed, 2.8, 3.3), // 0.2s in flight within the window
		op(event.Heartbeat, event.TimedOut, 1.2, 2.2),
		op(event.Login, event.OK, 3.0, 3.1), // the tail's: not measured
		{Kind: event.Kicked, Device: "d", Platform: "iOS", At: sec(0.5)},
	}
	w := Window{Vary: VaryRate, Warmup: time.Second, Length: 2 * time.Second}
	m := w.Measure(evs, 2.5)
	if !m.From.Equal(sec(1)) || !m.To.Equal(sec(3)) {
		t.Fatalf("window [%v, %v), want [1s, 3s)", m.From.Sub(t0), m.To.Sub(t0))
	}
	st := m.Step
	if st.Logins != 5 || !near(st.Throughput, 4.0/2) || st.Duration != 2 {
		t.Fatalf("logins %d throughput %v duration %v: want 5 logins, 4 ok over 2s", st.Logins, st.Throughput, st.Duration)
	}
	if !near(st.ErrorRate, 2.0/6) {
		t.Errorf("error rate %v, want 2 of 6 (a failed login, a timed-out heartbeat)", st.ErrorRate)
	}
	if d := time.Duration(st.LoginP50Ns); d < 99*time.Millisecond || d > 101*time.Millisecond {
		t.Errorf("login p50 %v, want 100ms", d)
	}
	if !near(st.InFlight, (0.4+4*0.1+0.2)/2) {
		t.Errorf("in flight %v, want 1 login-second over 2s", st.InFlight)
	}
	if mean := (4*0.1 + 0.5) / 5; !near(st.Predicted, 2.5*mean) || st.Little != "" {
		t.Errorf("predicted %v %q, want 2.5/s × %vs and no flag (less than a login apart)", st.Predicted, st.Little, mean)
	}
	if got := m.Snapshot.Op("login").Count; got != 5 {
		t.Errorf("snapshot holds %d logins, want the window's 5", got)
	}
	if k := m.Snapshot.EventCount("kicked", ""); k != 1 {
		t.Errorf("snapshot kicks %d: session events of the whole step are kept", k)
	}
}

// Logins that queue past the window are in flight all through it: more
// than rate × the latency of the answered ones says so.
func TestWindowFlagsAHiddenQueue(t *testing.T) {
	evs := []event.Event{op(event.Login, event.OK, 0, 0.01)}
	for range 20 {
		evs = append(evs, op(event.Login, event.OK, 1.0, 3.5))
	}
	m := Window{Vary: VaryRate, Warmup: time.Second, Length: 2 * time.Second}.Measure(evs, 1)
	if !near(m.Step.InFlight, 20) || !near(m.Step.Predicted, 2.5) || m.Step.Little == "" {
		t.Fatalf("in flight %v predicted %v flag %q: want 20 in flight, 2.5 predicted, a hidden queue", m.Step.InFlight, m.Step.Predicted, m.Step.Little)
	}
}

// A closed model's window counts the warm-up's logins (logging the
// devices in is the step's work) and makes no Little's-law claim.
func TestWindowOfADevicesStep(t *testing.T) {
	evs := []event.Event{
		op(event.Login, event.OK, 0, 0.1),
		op(event.Login, event.OK, 0.5, 0.6),
		op(event.Login, event.OK, 1.5, 1.6),
		op(event.Login, event.OK, 3.2, 3.3), // the tail's
	}
	m := Window{Vary: VaryDevices, Warmup: time.Second, Length: 2 * time.Second}.Measure(evs, 3)
	if !m.From.Equal(t0) || !m.To.Equal(sec(3)) {
		t.Fatalf("window [%v, %v), want [0, 3s)", m.From.Sub(t0), m.To.Sub(t0))
	}
	if st := m.Step; st.Logins != 3 || !near(st.Throughput, 1) || st.Predicted != 0 || st.Little != "" {
		t.Fatalf("%+v: want 3 logins over 3s and no Little's-law figures", st)
	}
}

func TestSetGenerator(t *testing.T) {
	var st Step
	st.SetGenerator(nil)
	if st.GeneratorBound {
		t.Fatal("no report, yet generator bound")
	}
	st.SetGenerator(&health.Report{LagP99Ns: 7e6, SendLagP99Ns: 9e6, CPU: 0.93, WaitNs: 1e5, Lagged: true, Reasons: []string{"cpu 93% > 90%"}})
	if st.LagP99Ns != 7e6 || st.SendLagP99Ns != 9e6 || st.CPU != 0.93 || st.WaitNs != 1e5 || !st.GeneratorBound || len(st.Reasons) != 1 {
		t.Fatalf("%+v", st)
	}
}

// Events keeps every event observed, from any goroutine, as it was then.
func TestEventsKeepsCopies(t *testing.T) {
	var b Events
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			e := op(event.Login, event.OK, float64(g), float64(g)+0.1)
			for range 100 {
				b.Observe(&e)
				e.Code++ // the sender reuses its event
			}
		})
	}
	wg.Wait()
	evs := b.Take()
	if len(evs) != 400 {
		t.Fatalf("%d events, want 400", len(evs))
	}
	codes := map[int]int{}
	for _, e := range evs {
		codes[e.Code]++
	}
	if len(codes) != 100 || codes[0] != 4 || codes[99] != 4 {
		t.Fatalf("codes %v: the copies changed with the sender's event", codes)
	}
}

// TestJudgeLag: a latency bound missed by more than the generator's worst
// lag could add is the target's failure; one within its reach, or an error
// bound, stays generator bound.
func TestJudgeLag(t *testing.T) {
	g := &health.Report{SendLagMaxNs: 300e6, LagMaxNs: 60e6, Lagged: true, Reasons: []string{"send lag p99 185ms > 50ms"}}
	lagged := func() Step {
		var st Step
		st.SetGenerator(g)
		st.Failed = []string{"login.p99 < 100ms"}
		return st
	}
	// Overloaded target: p99 4.79 s against 100 ms, 4.69 s over; the lag adds at most 360 ms.
	st := lagged()
	st.JudgeLag(g, []LatencyFailure{{Expr: "login.p99 < 100ms", Limit: 0.1, Actual: 4.79}})
	if st.GeneratorBound || st.TargetDespiteLag == "" || !strings.Contains(st.TargetDespiteLag, "login.p99 < 100ms") {
		t.Fatalf("a bound missed by 4.69 s with 360 ms of lag: %+v", st)
	}
	// Within the lag's reach: 139 ms against 100 ms (39 ms over).
	st = lagged()
	st.JudgeLag(g, []LatencyFailure{{Expr: "login.p99 < 100ms", Limit: 0.1, Actual: 0.139}})
	if !st.GeneratorBound || st.TargetDespiteLag != "" {
		t.Fatalf("a bound missed by 39 ms with 360 ms of lag must stay generator bound: %+v", st)
	}
	// Exactly at the lag's reach: still the generator's.
	st = lagged()
	st.JudgeLag(g, []LatencyFailure{{Expr: "login.p99 < 100ms", Limit: 0.1, Actual: 0.46}})
	if !st.GeneratorBound {
		t.Fatalf("a bound missed by exactly the lag must stay generator bound: %+v", st)
	}
	// No latency failure (errors only), or a passing step: unchanged.
	st = lagged()
	st.JudgeLag(g, nil)
	if !st.GeneratorBound {
		t.Fatal("no latency failure, yet not generator bound")
	}
	st = lagged()
	st.Pass = true
	st.JudgeLag(g, []LatencyFailure{{Expr: "x", Limit: 0, Actual: 9}})
	if !st.GeneratorBound {
		t.Fatal("a passing step was changed")
	}
}

// An operation of the window that the step's end cut off unanswered fails
// in the window's figures: a load not served does not pass. One of the
// tail's (intended after the window) is not measured at all.
func TestWindowCountsUnansweredAsFailed(t *testing.T) {
	evs := []event.Event{
		op(event.Connect, event.OK, 0, 0.01), // warm-up: the window is [1s, 3s)
		op(event.Connect, event.OK, 1.0, 1.01),
		op(event.Login, event.OK, 1.01, 1.05),
		op(event.Connect, event.Cancelled, 1.5, 4.0), // still connecting at the step's end
		op(event.Connect, event.OK, 2.0, 2.01),
		op(event.Login, event.Cancelled, 2.01, 4.0),  // still logging in
		op(event.Connect, event.Cancelled, 3.5, 4.0), // the tail's
	}
	w := Window{Vary: VaryRate, Warmup: time.Second, Length: 2 * time.Second}
	m := w.Measure(evs, 1.5)
	st := m.Step
	if st.Unanswered != 2 {
		t.Fatalf("unanswered %d, want 2 (a connect and a login of the window)", st.Unanswered)
	}
	if !near(st.ErrorRate, 2.0/5) {
		t.Errorf("error rate %v, want 2 of the window's 5 operations", st.ErrorRate)
	}
	lg := m.Snapshot.Op("login")
	if lg.Failed != 1 || lg.Cancelled != 0 || lg.OK != 1 {
		t.Errorf("login ok %d failed %d cancelled %d, want 1, 1, 0", lg.OK, lg.Failed, lg.Cancelled)
	}
	if st.Throughput != 0.5 {
		t.Errorf("throughput %v, want 1 ok login over 2s", st.Throughput)
	}
}
