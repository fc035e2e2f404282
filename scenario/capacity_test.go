package scenario

import (
	"strings"
	"testing"
	"time"
)

const capacityBase = `
population: {users: 100}
thresholds: ["login.p99 < 100ms"]
`

func TestCapacitySectionLoads(t *testing.T) {
	s, err := Parse([]byte(capacityBase+`
target:
  service: {workers: 4, login_cost: 5ms, max_sessions: 5000}
capacity: {vary: rate, from: 50, max: 3200, precision: 0.05, repeats: 3, require: 700}
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := s.Capacity
	if c.Vary != VaryRate || c.From != 50 || c.Max != 3200 || c.Repeats != 3 || c.Require != 700 {
		t.Fatalf("capacity %+v", c)
	}
	if c.Step != DefaultCapacityStep || c.Warmup != DefaultCapacityWarmup || c.MaxSteps != DefaultCapacityMaxSteps || c.Growth != DefaultCapacityGrowth {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if sv := s.Target.Service; sv == nil || sv.Workers != 4 || sv.LoginCost.D() != 5*time.Millisecond || sv.MaxSessions != 5000 {
		t.Fatalf("service %+v", s.Target.Service)
	}
}

// Each problem is reported at its node with its field.
func TestCapacitySectionErrors(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"capacity: {vary: load, from: 1, max: 2}", "c.yaml:4:18: capacity.vary: unknown value \"load\""},
		{"capacity: {vary: rate, max: 2}", "capacity.from: required"},
		{"capacity: {vary: rate, from: 0, max: 2}", "c.yaml:4:30: capacity.from: must be > 0 (the first step's load), got 0"},
		{"capacity: {vary: rate, from: 5, max: 2}", "c.yaml:4:38: capacity.max: must be >= from"},
		{"capacity: {vary: rate, from: 1, max: 2, precision: 5}", "capacity.precision: must be a fraction"},
		{"capacity: {vary: rate, from: 1, max: 2, growth: 1}", "capacity.growth: must be > 1"},
		{"capacity: {vary: devices, from: 1.5, max: 2}", "capacity.from: vary: devices counts whole devices"},
		{"capacity: {vary: rate, from: 1, max: 2, repeats: 0}", "capacity.repeats: must be >= 1"},
		{"target: {service: {login_cost: 5ms}}\ncapacity: {vary: rate, from: 1, max: 2}", "target.service.login_cost: needs target.service.workers"},
		{"target: {service: {workers: 1, login_cost: 5ms, max_session: 3}}\ncapacity: {vary: rate, from: 1, max: 2}", "max_session: unknown key"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(capacityBase+c.yaml+"\n"), "c.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %q", c.yaml, err, c.want)
		}
	}
	_, err := Parse([]byte("population: {users: 1}\ncapacity: {vary: rate, from: 1, max: 2}\n"), "c.yaml")
	if err == nil || !strings.Contains(err.Error(), "needs thresholds") {
		t.Errorf("no thresholds: %v", err)
	}
}

// The capacity metrics are thresholds of a capacity section only: there
// they judge the answer (and a misspelt one is refused with its column and
// the closest name); a scenario of phases refuses them; the SLO must still
// hold a threshold of the steps.
func TestCapacityThresholds(t *testing.T) {
	s, err := Parse([]byte(`population: {users: 100}
thresholds: ["login.p99 < 100ms", "capacity.sustained >= 700", "capacity.interval.low > 650"]
capacity: {vary: rate, from: 50, max: 3200}
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ParsedThresholds) != 3 || s.ParsedThresholds[1].Metric != "capacity.sustained" {
		t.Fatalf("parsed %+v", s.ParsedThresholds)
	}
	cases := []struct{ yaml, want string }{
		{`thresholds: ["login.p99 < 100ms", "capacity.sustaned >= 700"]
capacity: {vary: rate, from: 50, max: 3200}`, `c.yaml:2:35: thresholds[1]: col 10: unknown metric "capacity.sustaned"; did you mean capacity.sustained?`},
		{`thresholds: ["capacity.sustained >= 700"]
phases: [{name: p, model: open, rate: 1, duration: 1s}]`, "thresholds[0]: capacity.sustained is a capacity search's answer: it needs a capacity section"},
		{`thresholds: ["capacity.sustained >= 700"]
capacity: {vary: rate, from: 50, max: 3200}`, "needs thresholds (its SLO)"},
	}
	for _, c := range cases {
		_, err := Parse([]byte("population: {users: 100}\n"+c.yaml+"\n"), "c.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %q", c.yaml, err, c.want)
		}
	}
}
