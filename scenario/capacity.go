package scenario

import (
	"github.com/imload/imload/judge"
	"maps"
	"math"
	"time"
)

// Service is the embedded reference server's service model (target.service;
// off by default): each login holds one of Workers for LoginCost, so
// Workers/LoginCost logins per second is the exact ceiling, and logins
// beyond MaxSessions sessions are refused with code 1009. It gives a
// capacity search a ground truth.
type Service struct {
	Workers     int      `yaml:"workers,omitempty" json:"workers,omitempty"`
	LoginCost   Duration `yaml:"login_cost,omitempty" json:"login_cost,omitempty"`
	MaxSessions int      `yaml:"max_sessions,omitempty" json:"max_sessions,omitempty"`
}

// What a capacity search varies.
const (
	VaryRate    = "rate"    // open-model arrivals per second
	VaryDevices = "devices" // closed-model devices held logged in
)

// Defaults of the capacity section.
const (
	DefaultCapacityStep      = Duration(10 * time.Second)
	DefaultCapacityWarmup    = Duration(5 * time.Second)
	DefaultCapacityPrecision = 0.05
	DefaultCapacityRepeats   = 1
	DefaultCapacityMaxSteps  = 12
	DefaultCapacityGrowth    = 2.0
)

// Capacity is the capacity section: instead of its phases, the run searches
// the largest load at which the scenario's thresholds (its SLO) hold,
// growing the load by Growth from From until a step fails (or Max), then
// bisecting down to Precision. Each step is a fresh run of Warmup at the
// step's load and a measured window of Step; behaviour, platforms, policy
// and target come from the rest of the scenario.
type Capacity struct {
	Vary      string   `yaml:"vary" json:"vary"`
	From      float64  `yaml:"from" json:"from"`
	Max       float64  `yaml:"max" json:"max"`
	Step      Duration `yaml:"step" json:"step"`
	Warmup    Duration `yaml:"warmup" json:"warmup"`
	Precision float64  `yaml:"precision" json:"precision"`
	Growth    float64  `yaml:"growth" json:"growth"`
	Repeats   int      `yaml:"repeats" json:"repeats"`
	MaxSteps  int      `yaml:"max_steps" json:"max_steps"`
	// Require is the CI gate: a sustained capacity below it fails the run
	// (exit 1); 0: no gate.
	Require float64 `yaml:"require,omitempty" json:"require,omitempty"`
}

// fieldDocs is the documentation of every YAML field: the core table
// (schema.go) and the service model and capacity section's.
func fieldDocs() map[string]fieldDoc {
	d := coreFieldDocs()
	maps.Copy(d, capacityDocs())
	maps.Copy(d, compareDocs())
	return d
}

func capacityDocs() map[string]fieldDoc {
	return map[string]fieldDoc{
		"target.service":              {desc: "Embedded server only: its service model, off by default, a ground truth for capacity searches. Each login holds one of workers for login_cost (workers/login_cost logins per second is the exact ceiling; latency climbs near it); logins beyond max_sessions sessions are refused with code 1009."},
		"target.service.workers":      {desc: "Logins served at once (>= 1 with login_cost).", extra: nonNegative},
		"target.service.login_cost":   {desc: "How long each login holds a worker (0: no cost)."},
		"target.service.max_sessions": {desc: "Most sessions the server holds (logged in or detached); 0: no bound.", extra: nonNegative},

		"capacity":           {desc: "Capacity search instead of phases: the largest load (vary) at which the thresholds hold, by exponential growth from `from` to the first failing step, then bisection to `precision`. Every step is a fresh run: warmup, then a measured window of `step`. A step where imload itself was the bottleneck (its scheduler lag, send lag or CPU) is generator_bound and the answer says so instead of naming a target capacity."},
		"capacity.vary":      {desc: "rate: open-model arrivals per second; devices: closed-model devices held logged in. Required.", extra: map[string]any{"enum": []string{VaryRate, VaryDevices}}},
		"capacity.from":      {desc: "The first step's load (> 0). Required.", extra: positive},
		"capacity.max":       {desc: "The largest load tried (>= from). Required.", extra: positive},
		"capacity.step":      {desc: "Measured window of each step (> 0).", def: DefaultCapacityStep.String()},
		"capacity.warmup":    {desc: "Warm-up of each step at the step's load before its window (>= 0); not measured.", def: DefaultCapacityWarmup.String()},
		"capacity.precision": {desc: "Bisection stops when the failing and passing loads differ by at most this fraction of the passing one (0.05: 5%).", def: DefaultCapacityPrecision, extra: map[string]any{"exclusiveMinimum": 0, "maximum": 1}},
		"capacity.growth":    {desc: "Factor by which the load grows step to step until a step fails (> 1).", def: DefaultCapacityGrowth, extra: map[string]any{"exclusiveMinimum": 1}},
		"capacity.repeats":   {desc: "Searches run one after another (seed, seed+1, ...); more than one gives a confidence interval of the sustained capacity.", def: DefaultCapacityRepeats, extra: map[string]any{"minimum": 1}},
		"capacity.max_steps": {desc: "Bound on the steps of one search.", def: DefaultCapacityMaxSteps, extra: map[string]any{"minimum": 1}},
		"capacity.require":   {desc: "CI gate: the run fails (exit 1) when the sustained capacity is below this load (0: no gate).", extra: nonNegative},
	}
}

func (v *validator) service() {
	sv := v.s.Target.Service
	if sv == nil {
		return
	}
	if v.s.Target.URL != "" {
		v.keyErrf("target.service", "the service model is the embedded server's; remove target.url or target.service")
	}
	if sv.Workers < 0 {
		v.errf("target.service.workers", "must be >= 0, got %d", sv.Workers)
	}
	if sv.LoginCost < 0 {
		v.errf("target.service.login_cost", "must be >= 0, got %s", sv.LoginCost)
	}
	if sv.LoginCost > 0 && sv.Workers == 0 {
		v.keyErrf("target.service.login_cost", "needs target.service.workers >= 1 (logins served at once)")
	}
	if sv.MaxSessions < 0 {
		v.errf("target.service.max_sessions", "must be >= 0, got %d", sv.MaxSessions)
	}
}

func (v *validator) capacity() {
	c := v.s.Capacity
	if c == nil {
		return
	}
	if v.s.MAU != nil {
		v.keyErrf("capacity", "a scenario has a mau section or a capacity section, not both")
	}
	switch c.Vary {
	case VaryRate, VaryDevices:
	case "":
		v.errf("capacity.vary", "required (allowed: %s, %s)", VaryRate, VaryDevices)
	default:
		v.errf("capacity.vary", "unknown value %q (allowed: %s, %s)", c.Vary, VaryRate, VaryDevices)
	}
	bad := func(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }
	need := func(path, what string, x float64) bool {
		switch {
		case !v.given(path, x != 0):
			v.errf(path, "required: %s, > 0", what)
		case x <= 0 || bad(x):
			v.errf(path, "must be > 0 (%s), got %g", what, x)
		default:
			return true
		}
		return false
	}
	fromOK := need("capacity.from", "the first step's load", c.From)
	maxOK := need("capacity.max", "the largest load tried", c.Max)
	if fromOK && maxOK && c.Max < c.From {
		v.errf("capacity.max", "must be >= from (%g), got %g", c.From, c.Max)
	}
	if v.given("capacity.step", c.Step != 0) && c.Step <= 0 {
		v.errf("capacity.step", "must be > 0, got %s", c.Step)
	}
	if c.Warmup < 0 {
		v.errf("capacity.warmup", "must be >= 0, got %s", c.Warmup)
	}
	if v.given("capacity.precision", c.Precision != 0) && (c.Precision <= 0 || c.Precision > 1 || bad(c.Precision)) {
		v.errf("capacity.precision", "must be a fraction in (0, 1], e.g. 0.05 for 5%%, got %g", c.Precision)
	}
	if v.given("capacity.growth", c.Growth != 0) && (c.Growth <= 1 || bad(c.Growth)) {
		v.errf("capacity.growth", "must be > 1, got %g", c.Growth)
	}
	if v.given("capacity.repeats", c.Repeats != 0) && c.Repeats < 1 {
		v.errf("capacity.repeats", "must be >= 1, got %d", c.Repeats)
	}
	if v.given("capacity.max_steps", c.MaxSteps != 0) && c.MaxSteps < 1 {
		v.errf("capacity.max_steps", "must be >= 1, got %d", c.MaxSteps)
	}
	if c.Require < 0 || bad(c.Require) {
		v.errf("capacity.require", "must be >= 0, got %g", c.Require)
	}
	if c.Vary == VaryDevices && (c.From != math.Trunc(c.From) || c.Max != math.Trunc(c.Max)) {
		v.errf("capacity.from", "vary: devices counts whole devices: from and max must be whole numbers")
	}
	slo := 0
	for _, th := range v.s.ParsedThresholds {
		if th.Ref.Metric.Source != judge.FromCapacity {
			slo++
		}
	}
	if slo == 0 && len(v.s.ParsedThresholds) == len(v.s.Thresholds) {
		v.keyErrf("capacity", "a capacity search needs thresholds (its SLO), e.g. [\"login.p99 < 100ms\", \"errors.rate < 1%%\"]")
	}
}

// capacityDefaults fills the settings of the capacity section not given.
func capacityDefaults(s *Scenario, given func(path string, nonZero bool) bool) {
	c := s.Capacity
	if c == nil {
		return
	}
	if !given("capacity.step", c.Step != 0) {
		c.Step = DefaultCapacityStep
	}
	if !given("capacity.warmup", c.Warmup != 0) {
		c.Warmup = DefaultCapacityWarmup
	}
	if !given("capacity.precision", c.Precision != 0) {
		c.Precision = DefaultCapacityPrecision
	}
	if !given("capacity.growth", c.Growth != 0) {
		c.Growth = DefaultCapacityGrowth
	}
	if !given("capacity.repeats", c.Repeats != 0) {
		c.Repeats = DefaultCapacityRepeats
	}
	if !given("capacity.max_steps", c.MaxSteps != 0) {
		c.MaxSteps = DefaultCapacityMaxSteps
	}
}
