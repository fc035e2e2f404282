package capacity

import (
	"fmt"
	"sync"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/event"
	"github.com/imload/imload/health"
	"github.com/imload/imload/metrics"
)

// Window says which of a step's events its measured window holds: the
// window opens Warmup after the first operation's intended start and lasts
// Length. Under VaryDevices the window's operations are those from the
// first one on, warm-up included: logging the devices in is the step's
// work.
type Window struct {
	Vary           string // VaryRate or VaryDevices
	Warmup, Length time.Duration
}

// Measured is a step's window measured from its events.
type Measured struct {
	// Step has the window's figures: Logins, Throughput, the login
	// latencies, ErrorRate, InFlight, Predicted, Little and Duration.
	Step Step
	// Snapshot is a recorder's over the window's operations (and every
	// session event of the step).
	Snapshot *metrics.Snapshot
	// From and To bound the window's operations: intended in [From, To).
	From, To time.Time
}

// UnansweredReason is the failure reason of a window's operation that the
// step's end cut off unanswered.
const UnansweredReason = "not answered by the step's end"

// Measure measures the window of a step at load from the step's events. An
// operation of the window still unanswered when the step ended counts as
// failed (UnansweredReason, Step.Unanswered): a load that was not served
// does not pass.
func (w Window) Measure(evs []event.Event, load float64) Measured {
	var t0 time.Time
	for i := range evs {
		if e := &evs[i]; e.Kind.IsOp() && (t0.IsZero() || e.Intended.Before(t0)) {
			t0 = e.Intended
		}
	}
	ws := t0.Add(w.Warmup)
	we := ws.Add(w.Length)
	from := ws
	if w.Vary == VaryDevices {
		from = t0
	}
	rec := metrics.NewRecorder(metrics.WithStart(from), metrics.WithClock(clock.NewFake(we)))
	var latSum float64
	var logins int
	var inFlight float64 // login-seconds in flight within [ws, we)
	var unanswered int64
	for i := range evs {
		e := &evs[i]
		if e.Kind == event.Login {
			a, b := later(e.Intended, ws), earlier(e.At, we)
			if b.After(a) {
				inFlight += b.Sub(a).Seconds()
			}
		}
		if e.Kind.IsOp() && (e.Intended.Before(from) || !e.Intended.Before(we)) {
			continue
		}
		if e.Kind.IsOp() && e.Outcome == event.Cancelled {
			// Still unanswered when the step ended, a tail after the
			// window: the load it belongs to was not served, which is no
			// pass (it would otherwise be in no count but its own).
			unanswered++
			c := *e
			c.Outcome, c.Reason = event.Failed, UnansweredReason
			e = &c
		}
		rec.Observe(e)
		if e.Kind == event.Login {
			latSum += e.At.Sub(e.Intended).Seconds()
			logins++
		}
	}
	snap := rec.Snapshot()
	window := w.Length.Seconds()
	lg := snap.Op("login")
	errs, attempts := snap.Errors()
	st := Step{Logins: lg.Count, Throughput: float64(lg.OK) / we.Sub(from).Seconds(), Duration: window, Unanswered: unanswered}
	if lg.OK > 0 {
		st.LoginP50Ns, st.LoginP99Ns, st.LoginMean = int64(lg.Quantile(0.5)), int64(lg.Quantile(0.99)), int64(lg.Mean())
	}
	if attempts > 0 {
		st.ErrorRate = float64(errs) / float64(attempts)
	}
	st.InFlight = inFlight / window
	rate := load
	if w.Vary == VaryDevices {
		rate = float64(logins) / we.Sub(from).Seconds()
	}
	mean := 0.0
	if logins > 0 {
		mean = latSum / float64(logins)
	}
	st.Predicted, st.Little = CheckLittle(st.InFlight, rate, mean)
	if w.Vary == VaryDevices {
		// Logins of a closed model come in a burst as devices arrive: the
		// window's in-flight average says nothing of a steady state.
		st.Predicted, st.Little = 0, ""
	}
	return Measured{Step: st, Snapshot: snap, From: from, To: we}
}

// SetGenerator sets the step's generator figures from the health report
// over its window, and whether imload was the bottleneck.
func (s *Step) SetGenerator(g *health.Report) {
	if g == nil {
		return
	}
	s.LagP99Ns, s.SendLagP99Ns, s.CPU, s.WaitNs = g.LagP99Ns, g.SendLagP99Ns, g.CPU, g.WaitNs
	s.GeneratorBound, s.Reasons = GeneratorBound(g)
}

// LatencyFailure is a failed upper bound on a latency ("login.p99 <
// 100ms"): its expression, its limit and the value measured, in seconds.
type LatencyFailure struct {
	Expr          string
	Limit, Actual float64
}

// JudgeLag decides a step that failed its SLO while its generator lagged.
// A latency counts from the intended start, so imload's own delay adds at
// most its worst send lag (intended to sent) plus its worst scheduler lag
// (an answer read late) to any one latency. A latency bound that failed by
// more than that was missed by the target alone: the step is then no
// longer generator bound but a failure of the target, and
// TargetDespiteLag says why. Anything else (errors, a bound within the
// lag's reach) leaves the step generator bound: imload cannot tell whose
// it was.
func (s *Step) JudgeLag(g *health.Report, failed []LatencyFailure) {
	if !s.GeneratorBound || s.Pass || g == nil {
		return
	}
	lag := time.Duration(g.SendLagMaxNs + g.LagMaxNs)
	for _, f := range failed {
		over := time.Duration((f.Actual - f.Limit) * float64(time.Second))
		if over > lag {
			s.GeneratorBound = false
			s.TargetDespiteLag = fmt.Sprintf("%s: %s over the limit, more than the generator's worst lag could add (%s: send lag max %s + scheduler lag max %s)",
				f.Expr, over.Round(time.Millisecond), lag.Round(time.Millisecond),
				time.Duration(g.SendLagMaxNs).Round(time.Millisecond), time.Duration(g.LagMaxNs).Round(time.Millisecond))
			return
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Events keeps a copy of every event of a step (an event.Sink).
type Events struct {
	mu  sync.Mutex
	evs []event.Event
}

// Observe keeps a copy of e.
func (b *Events) Observe(e *event.Event) {
	b.mu.Lock()
	b.evs = append(b.evs, *e)
	b.mu.Unlock()
}

// Take returns the events kept so far.
func (b *Events) Take() []event.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.evs
}
