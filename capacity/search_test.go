package capacity

import (
	"context"
	"math"
	"slices"
	"testing"
)

func rateConfig() Config {
	return Config{Vary: VaryRate, From: 100, Max: 6400, Precision: 0.05, Growth: 2, Repeats: 1, MaxSteps: 12}
}

func sim() *Simulated {
	return &Simulated{Workers: 4, Cost: 0.005, P99Limit: 0.1, ErrorLimit: 0.01, Window: 10}
}

// The search finds the ceiling of 800/s from below, within the precision,
// in at most 10 steps, bound by the target; growth then bisection.
func TestSearchFindsTheCeiling(t *testing.T) {
	s := sim()
	rep, err := Search(context.Background(), rateConfig(), s.Measure(VaryRate))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bound != BoundTarget {
		t.Fatalf("bound %s, want target", rep.Bound)
	}
	// The simulated SLO of p99 < 100ms holds up to where the queue's wait
	// reaches 100ms: the answer lies at most 10% below the ceiling, never
	// above it.
	if rep.Sustained > 800 || rep.Sustained < 720 {
		t.Fatalf("sustained %v, want in [720, 800]", rep.Sustained)
	}
	if n := len(rep.Steps); n > 10 {
		t.Fatalf("%d steps, want <= 10: %v", n, s.Calls)
	}
	if want := []float64{100, 200, 400, 800, 1600}; !slices.Equal(s.Calls[:5], want) {
		t.Fatalf("grew %v, want %v", s.Calls[:5], want)
	}
	for _, st := range rep.Steps[5:] {
		if st.Stage != "bisect" {
			t.Fatalf("step %d stage %s after the first failure", st.Index, st.Stage)
		}
	}
	rp := rep.Repeats[0]
	if !rp.Converged || rp.FailedAt-rp.Sustained > 0.05*rp.Sustained {
		t.Fatalf("bracket [%v, %v] not within 5%%", rp.Sustained, rp.FailedAt)
	}
	if rep.IntervalKind != "bracket" || rep.Interval != [2]float64{rp.Sustained, rp.FailedAt} {
		t.Fatalf("interval %v %s", rep.Interval, rep.IntervalKind)
	}
	if len(rep.BoundBy) != 1 || rep.BoundBy[0] != "login.p99 < 100ms" {
		t.Fatalf("bound by %v", rep.BoundBy)
	}
}

// The same answers give the same steps: the schedule depends on the
// verdicts only.
func TestSearchIsDeterministic(t *testing.T) {
	a, b := sim(), sim()
	if _, err := Search(context.Background(), rateConfig(), a.Measure(VaryRate)); err != nil {
		t.Fatal(err)
	}
	if _, err := Search(context.Background(), rateConfig(), b.Measure(VaryRate)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Calls, b.Calls) {
		t.Fatalf("steps differ: %v and %v", a.Calls, b.Calls)
	}
}

// A generator that gives out before the target does: the answer is a lower
// bound, bound generator, and no step above the generator's limit is taken
// as the target's.
func TestSearchGeneratorBound(t *testing.T) {
	s := sim()
	s.Workers, s.Cost = 1000, 1e-6 // ceiling 1e9/s
	s.GeneratorLimit = 1000
	rep, err := Search(context.Background(), rateConfig(), s.Measure(VaryRate))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bound != BoundGenerator || rep.Sustained != 800 {
		t.Fatalf("bound %s sustained %v, want generator and 800 (the last step below the limit)", rep.Bound, rep.Sustained)
	}
	// The generator-bound step was measured again once, then the search
	// ended on it.
	if !slices.Equal(s.Calls, []float64{100, 200, 400, 800, 1600, 1600}) {
		t.Fatalf("steps %v", s.Calls)
	}
	if last := rep.Steps[len(rep.Steps)-1]; !last.GeneratorBound || last.Load != 1600 {
		t.Fatalf("last step %+v", last)
	}
	if rep.Interval != [2]float64{} {
		t.Fatalf("a lower bound has no interval, got %v", rep.Interval)
	}
}

// Every step passing up to max: bound max.
func TestSearchMax(t *testing.T) {
	s := sim()
	cfg := rateConfig()
	cfg.Max = 300
	rep, err := Search(context.Background(), cfg, s.Measure(VaryRate))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bound != BoundMax || rep.Sustained != 300 || !slices.Equal(s.Calls, []float64{100, 200, 300}) {
		t.Fatalf("bound %s sustained %v steps %v", rep.Bound, rep.Sustained, s.Calls)
	}
}

// Steps that run out before any fails give a lower bound, never a target
// capacity.
func TestSearchOutOfSteps(t *testing.T) {
	s := sim()
	cfg := rateConfig()
	cfg.MaxSteps = 3
	rep, err := Search(context.Background(), cfg, s.Measure(VaryRate))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bound != BoundMax || !rep.Repeats[0].OutOfSteps || rep.Sustained != 400 {
		t.Fatalf("bound %s %+v", rep.Bound, rep.Repeats[0])
	}
}

// vary: devices finds max_sessions within 2%, in whole devices.
func TestSearchDevices(t *testing.T) {
	s := sim()
	s.Workers, s.Cost, s.MaxSessions = 64, 0.001, 5000
	cfg := Config{Vary: VaryDevices, From: 500, Max: 64000, Precision: 0.01, Growth: 2, Repeats: 1, MaxSteps: 16}
	rep, err := Search(context.Background(), cfg, s.Measure(VaryDevices))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bound != BoundTarget || math.Abs(rep.Sustained-5000)/5000 > 0.02 {
		t.Fatalf("bound %s sustained %v, want 5000 within 2%% (steps %v)", rep.Bound, rep.Sustained, s.Calls)
	}
	for _, l := range s.Calls {
		if l != math.Round(l) {
			t.Fatalf("fractional device count %v", l)
		}
	}
}

// Repeats give a t interval around the mean; the gate compares the mean.
func TestRepeatsInterval(t *testing.T) {
	answers := []float64{780, 800, 790}
	cfg := rateConfig()
	cfg.Repeats, cfg.Require = 3, 795
	m := func(_ context.Context, r, _ int, load float64) (Step, error) {
		return Step{Pass: load <= answers[r], Logins: 1, LoginP99Ns: int64(load)}, nil
	}
	rep, err := Search(context.Background(), cfg, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Repeats) != 3 || rep.IntervalKind != "t95" {
		t.Fatalf("%+v", rep)
	}
	if !(rep.Interval[0] < rep.Sustained && rep.Sustained < rep.Interval[1]) {
		t.Fatalf("interval %v around %v", rep.Interval, rep.Sustained)
	}
	if rep.Met {
		t.Fatalf("require %v met by %v", cfg.Require, rep.Sustained)
	}
}

// A step bound by the generator once, at a busy moment, is measured again
// and the search goes on.
func TestGeneratorRetry(t *testing.T) {
	s := sim()
	busy := true
	inner := s.Measure(VaryRate)
	m := func(ctx context.Context, r, i int, load float64) (Step, error) {
		st, err := inner(ctx, r, i, load)
		if load == 400 && busy {
			busy = false
			st.GeneratorBound = true
		}
		return st, err
	}
	rep, err := Search(context.Background(), rateConfig(), m)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bound != BoundTarget || s.Calls[2] != 400 || s.Calls[3] != 400 || s.Calls[4] != 800 {
		t.Fatalf("bound %s steps %v", rep.Bound, s.Calls)
	}
}

func TestConfigChecked(t *testing.T) {
	for _, c := range []Config{{}, {Vary: "x", From: 1, Max: 2, Precision: .1, Growth: 2, Repeats: 1, MaxSteps: 1}, {Vary: VaryRate, From: 3, Max: 2, Precision: .1, Growth: 2, Repeats: 1, MaxSteps: 1}} {
		if _, err := Search(context.Background(), c, nil); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
