package compare

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/event"
	"github.com/imload/imload/health"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/results"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// synthSpec describes a synthetic run: per second, perSec logins whose
// latency is lognormal with median median·scale_t, where log scale_t is an
// AR(1) process (phi, sd) so that neighbouring seconds are alike, times
// factor; failShare of them fail.
type synthSpec struct {
	seconds   int
	perSec    int
	median    time.Duration
	sigma     float64
	phi, sd   float64
	factor    float64
	failShare float64
	seed      uint64
	scenario  string
	platforms []policy.Platform
	// stalled seconds: imload itself stalled for stall (its generator
	// lagged, and every login of the second waited for it too).
	stalled []int
	stall   time.Duration
}

func (s synthSpec) withDefaults() synthSpec {
	if s.median == 0 {
		s.median = 20 * time.Millisecond
	}
	if s.sigma == 0 {
		s.sigma = 0.5
	}
	if s.factor == 0 {
		s.factor = 1
	}
	if s.scenario == "" {
		s.scenario = "synth"
	}
	if len(s.platforms) == 0 {
		s.platforms = []policy.Platform{policy.Android}
	}
	return s
}

// synth records a synthetic run with a metrics.Recorder and returns its
// results file.
func synth(s synthSpec) *results.File {
	s = s.withDefaults()
	rng := rand.New(rand.NewPCG(s.seed, 7))
	clk := clock.NewFake(t0)
	rec := metrics.NewRecorder(metrics.WithClock(clk), metrics.WithStart(t0), metrics.WithShards(1))
	level := 0.0
	for t := range s.seconds {
		level = s.phi*level + s.sd*rng.NormFloat64()
		for i := range s.perSec {
			lat := time.Duration(float64(s.median) * math.Exp(level+s.sigma*rng.NormFloat64()) * s.factor)
			if slices.Contains(s.stalled, t) {
				lat += s.stall
			}
			at := t0.Add(time.Duration(t)*time.Second + time.Duration(i)*time.Second/time.Duration(s.perSec+1))
			out := event.OK
			if rng.Float64() < s.failShare {
				out = event.Failed
			}
			rec.Observe(&event.Event{Kind: event.Login, Outcome: out, UserID: "u", Device: "d",
				Platform: s.platforms[i%len(s.platforms)], Intended: at, Start: at, At: at, Latency: lat})
		}
	}
	clk.Set(t0.Add(time.Duration(s.seconds) * time.Second))
	snap := rec.Snapshot()
	gen := &health.Report{Start: t0, Seconds: s.seconds, GOMAXPROCS: 2, LagP99Ns: int64(time.Millisecond)}
	for t := range s.seconds {
		sec := health.Second{LagP99Ns: int64(time.Millisecond), SendP99Ns: int64(time.Millisecond)}
		if slices.Contains(s.stalled, t) {
			sec.LagP99Ns, sec.SendP99Ns = int64(s.stall), int64(s.stall)
			gen.Lagged, gen.Reasons = true, []string{"scheduler lag p99 300ms > 50ms"}
		}
		gen.PerSecond = append(gen.PerSecond, sec)
	}
	return &results.File{Schema: results.Schema, Scenario: s.scenario, Seed: int64(s.seed), Started: t0, Ended: clk.Now(),
		Duration: results.Duration(snap.Duration()), Metrics: snap, Generator: gen,
		Environment: results.Environment{CPUs: 2, Version: "test", Target: results.Target{Kind: "embedded"}}}
}

func find(r *Result, op, plat, stat string) *Figure {
	for i := range r.Figures {
		f := &r.Figures[i]
		if f.Op == op && f.Platform == plat && f.Stat == stat {
			return f
		}
	}
	return nil
}
