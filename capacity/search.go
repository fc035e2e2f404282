package capacity

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/imload/imload/health"
)

// What a search varies.
const (
	VaryRate    = "rate"
	VaryDevices = "devices"
)

// What bound a search's answer.
const (
	BoundTarget    = "target"    // a step failed the SLO: the target's limit lies below it
	BoundGenerator = "generator" // imload could not push harder: a lower bound only
	BoundMax       = "max"       // every step passed up to Max
)

// Config of a search.
type Config struct {
	Vary      string
	From, Max float64
	// Precision: bisection stops when the first failing load is within
	// this fraction above the last passing one.
	Precision float64
	Growth    float64 // > 1
	Repeats   int
	MaxSteps  int // per search
	Require   float64
}

// Step is one measured step: its load and what the window showed.
type Step struct {
	Repeat int     `json:"repeat"`
	Index  int     `json:"index"`
	Stage  string  `json:"stage"` // grow | bisect
	Load   float64 `json:"load"`
	Pass   bool    `json:"pass"`
	// Failed names the thresholds that failed, with their values.
	Failed []string `json:"failed,omitempty"`
	// GeneratorBound: imload, not the target, was the bottleneck; Reasons
	// say which health figure.
	GeneratorBound bool     `json:"generator_bound"`
	Reasons        []string `json:"generator_reasons,omitempty"`
	// TargetDespiteLag says why a step whose generator lagged still failed
	// the target (see Step.JudgeLag); empty otherwise.
	TargetDespiteLag string `json:"target_despite_lag,omitempty"`

	Logins     int64   `json:"logins"`     // login attempts in the window
	Throughput float64 `json:"throughput"` // successful logins per second
	LoginP50Ns int64   `json:"login_p50_ns"`
	LoginP99Ns int64   `json:"login_p99_ns"`
	LoginMean  int64   `json:"login_mean_ns"`
	ErrorRate  float64 `json:"error_rate"` // of all operations, as errors.rate
	// Unanswered counts the window's operations that the step's end cut
	// off unanswered; each is failed in ErrorRate and the SLO's figures.
	Unanswered int64 `json:"unanswered,omitempty"`
	Online     int64 `json:"online"` // most sessions held at once

	// The generator over the window.
	LagP99Ns     int64   `json:"generator_lag_p99_ns"`
	SendLagP99Ns int64   `json:"generator_send_lag_p99_ns"`
	CPU          float64 `json:"generator_cpu"`
	// WaitNs: the generator's mean run-queue delay (Linux).
	WaitNs int64 `json:"generator_wait_ns"`

	// Little's law: InFlight is the time-average of logins in flight over
	// the window (from intended start to answer); Predicted is the load's
	// rate times the mean login latency.
	InFlight  float64 `json:"in_flight"`
	Predicted float64 `json:"predicted_in_flight"`
	Little    string  `json:"little,omitempty"` // what a deviation means; empty: it holds
	Duration  float64 `json:"seconds"`          // measured window
}

// Measure runs one step at load and returns its figures (Pass,
// GeneratorBound and the rest; Repeat, Index, Stage and Load are set by
// the search).
type Measure func(ctx context.Context, repeat, index int, load float64) (Step, error)

// Repeat is one search's answer.
type Repeat struct {
	Sustained float64 `json:"sustained"`
	// FailedAt is the least failing load (0: none failed).
	FailedAt float64 `json:"failed_at,omitempty"`
	Bound    string  `json:"bound"`
	Steps    int     `json:"steps"`
	// Converged: the bracket reached the precision (bound target).
	Converged bool `json:"converged"`
	// OutOfSteps: max_steps ended the search before it found a failing
	// step (bound max) or reached the precision (bound target).
	OutOfSteps bool `json:"out_of_steps,omitempty"`
}

// GeneratorRetries is how many times a generator-bound step is measured
// again before the search ends on it.
const GeneratorRetries = 1

// Search runs cfg.Repeats searches with m and returns the report, its
// steps in order. A step that errs ends the search with the error.
func Search(ctx context.Context, cfg Config, m Measure) (*Report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	rep := &Report{Vary: cfg.Vary, Require: cfg.Require, Precision: cfg.Precision}
	for r := 0; r < cfg.Repeats; r++ {
		res, steps, err := search(ctx, cfg, r, m)
		rep.Steps = append(rep.Steps, steps...)
		if err != nil {
			return rep, err
		}
		rep.Repeats = append(rep.Repeats, res)
	}
	rep.conclude()
	return rep, nil
}

func (c Config) check() error {
	switch {
	case c.Vary != VaryRate && c.Vary != VaryDevices:
		return fmt.Errorf("capacity: vary %q (allowed: rate, devices)", c.Vary)
	case c.From <= 0 || c.Max < c.From:
		return errors.New("capacity: need 0 < from <= max")
	case c.Precision <= 0 || c.Growth <= 1 || c.Repeats < 1 || c.MaxSteps < 1:
		return errors.New("capacity: need precision > 0, growth > 1, repeats >= 1, max_steps >= 1")
	}
	return nil
}

// round makes a load a whole number of devices (vary: devices).
func (c Config) round(x float64) float64 {
	if c.Vary == VaryDevices {
		return math.Round(x)
	}
	return math.Round(x*1000) / 1000
}

func search(ctx context.Context, cfg Config, r int, m Measure) (Repeat, []Step, error) {
	var steps []Step
	lo, hi := 0.0, math.Inf(1)
	res := Repeat{Bound: BoundTarget}
	measure := func(stage string, load float64) (Step, error) {
		// A generator-bound step is measured once more (a busy moment of
		// the machine passes); bound twice, it ends the search.
		for try := 0; ; try++ {
			s, err := m(ctx, r, len(steps), load)
			s.Repeat, s.Index, s.Stage, s.Load = r, len(steps), stage, load
			if err != nil {
				return s, err
			}
			steps = append(steps, s)
			if !s.GeneratorBound || try >= GeneratorRetries || len(steps) >= cfg.MaxSteps {
				return s, nil
			}
		}
	}
	load := cfg.round(cfg.From)
	// Grow until a step fails, the generator gives out, or max passes.
	for len(steps) < cfg.MaxSteps {
		s, err := measure("grow", load)
		if err != nil {
			return res, steps, err
		}
		if s.GeneratorBound {
			res.Bound = BoundGenerator
			break
		}
		if !s.Pass {
			hi = load
			break
		}
		lo = load
		if load >= cfg.Max {
			res.Bound = BoundMax
			break
		}
		load = cfg.round(min(load*cfg.Growth, cfg.Max))
	}
	if res.Bound == BoundTarget && math.IsInf(hi, 1) {
		// The steps ran out before any failed: a lower bound, as at max.
		res.Bound, res.OutOfSteps = BoundMax, true
	}
	// Bisect the bracket down to the precision.
	for res.Bound == BoundTarget && !math.IsInf(hi, 1) && len(steps) < cfg.MaxSteps {
		if lo > 0 && hi-lo <= cfg.Precision*lo {
			break
		}
		mid := cfg.round((lo + hi) / 2)
		if mid <= lo || mid >= hi {
			break // devices: no whole number between
		}
		s, err := measure("bisect", mid)
		if err != nil {
			return res, steps, err
		}
		if s.GeneratorBound {
			res.Bound = BoundGenerator
			break
		}
		if s.Pass {
			lo = mid
		} else {
			hi = mid
		}
	}
	res.Sustained, res.Steps = lo, len(steps)
	if !math.IsInf(hi, 1) {
		res.FailedAt = hi
	}
	res.Converged = res.Bound == BoundTarget && res.FailedAt > 0 && lo > 0 &&
		(hi-lo <= cfg.Precision*lo || (cfg.Vary == VaryDevices && hi-lo <= 1))
	if res.Bound == BoundTarget && !res.Converged && len(steps) >= cfg.MaxSteps {
		res.OutOfSteps = true
	}
	return res, steps, nil
}

// GeneratorBound judges a step's generator figures against the limits.
func GeneratorBound(r *health.Report) (bool, []string) {
	if r == nil {
		return false, nil
	}
	return r.Lagged, r.Reasons
}
