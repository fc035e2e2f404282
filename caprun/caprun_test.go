package caprun

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imload/imload/capacity"
	"github.com/imload/imload/report"
	"github.com/imload/imload/results"
	"github.com/imload/imload/run"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/shard"
)

func capacityScenario(t *testing.T, extra string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Parse([]byte(`
name: capacity-e2e
seed: 3
target:
  driver: inproc
  service: {workers: 4, login_cost: 5ms}
population: {users: 5000}
behaviour:
  hold: {dist: constant, value: 200ms}
  logout_ratio: 1
checks: {kickout: {enabled: false}}
thresholds: ["login.p99 < 100ms", "errors.rate < 1%"]
capacity:
  vary: rate
  from: 200
  max: 3200
  step: 1s
  warmup: 300ms
  precision: 0.25
  max_steps: 5
`+extra), "capacity-e2e.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// End to end through the embedded server's core: a short search against the
// service model's 800 logins/s. Whatever the machine's load, the answer is
// never above the ceiling; every step is kept with its figures, the file
// holds the section, and the report explains it.
func TestCapacityEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a few one-second steps")
	}
	out := filepath.Join(t.TempDir(), "results.json")
	sc := capacityScenario(t, "  require: 1000000\n")
	// A threshold on the answer: judged once, on the search's answer, never
	// on a step (where it has no value and would fail every step).
	ceiling, err := scenario.ParseThreshold("capacity.sustained <= 800")
	if err != nil {
		t.Fatal(err)
	}
	sc.Thresholds = append(sc.Thresholds, ceiling.String())
	sc.ParsedThresholds = append(sc.ParsedThresholds, ceiling)
	res, err := Execute(t.Context(), run.Options{Scenario: sc, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	c := res.File.Capacity
	ths := res.File.Thresholds
	if len(ths) != 2 || ths[0].Expr != "capacity.sustained >= 1000000" || ths[0].Pass ||
		ths[1].Expr != "capacity.sustained <= 800" || ths[1].Actual != c.Sustained || !ths[1].Pass {
		t.Fatalf("thresholds on the answer: %+v (sustained %v)", ths, c.Sustained)
	}
	if c == nil || len(c.Steps) == 0 || len(c.Steps) > 5 {
		t.Fatalf("capacity %+v", c)
	}
	if c.Sustained > 800 {
		t.Fatalf("sustained %v above the ceiling of 800/s (steps %+v)", c.Sustained, c.Steps)
	}
	switch c.Bound {
	case capacity.BoundTarget:
		if c.Repeats[0].FailedAt == 0 {
			t.Fatalf("bound target without a failing step: %+v\n%+v", c.Repeats[0], c.Steps)
		}
	case capacity.BoundGenerator:
		if !c.Steps[len(c.Steps)-1].GeneratorBound {
			t.Fatalf("bound generator, but the last step was not: %+v", c.Steps)
		}
	case capacity.BoundMax:
		if !c.Repeats[0].OutOfSteps {
			t.Fatalf("bound max below max: %+v", c.Repeats[0])
		}
	default:
		t.Fatalf("bound %q", c.Bound)
	}
	for _, s := range c.Steps {
		if strings.Contains(strings.Join(s.Failed, " "), "capacity.") {
			t.Fatalf("a step was judged by a threshold on the answer: %+v", s)
		}
		if s.Logins == 0 || s.Duration != 1 {
			t.Fatalf("step without figures: %+v", s)
		}
		if !s.GeneratorBound && s.Load >= 1600 && s.Pass {
			t.Fatalf("a step at twice the ceiling passed: %+v", s)
		}
	}
	if res.Passed {
		t.Fatal("the gate of 1e6 logins/s passed")
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var f results.File
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if f.Capacity == nil || len(f.Capacity.Steps) != len(c.Steps) {
		t.Fatalf("results.json capacity section: %+v", f.Capacity)
	}
	var txt bytes.Buffer
	if err := report.WriteText(&txt, &f); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt.String(), report.CapacityAnswer(c)) || !strings.Contains(txt.String(), "generator_bound") && !strings.Contains(txt.String(), "FAIL") {
		t.Fatalf("report:\n%s", txt.String())
	}
}

func TestStepScenario(t *testing.T) {
	sc := capacityScenario(t, "")
	gate, err := scenario.ParseThreshold("capacity.sustained >= 700")
	if err != nil {
		t.Fatal(err)
	}
	sc.Thresholds, sc.ParsedThresholds = append(sc.Thresholds, gate.String()), append(sc.ParsedThresholds, gate)
	st := stepScenario(sc, 400, 2)
	if st.Capacity != nil || st.Seed != sc.Seed+2 || len(st.Phases) != 3 {
		t.Fatalf("%+v", st)
	}
	if want := []string{"login.p99 < 100ms", "errors.rate < 1%"}; strings.Join(st.Thresholds, ";") != strings.Join(want, ";") || len(st.ParsedThresholds) != 2 {
		t.Fatalf("a step's thresholds are its SLO %q, got %q", want, st.Thresholds)
	}
	for _, p := range st.Phases {
		if p.Model != scenario.Open || p.Rate != 400 {
			t.Fatalf("phase %+v", p)
		}
	}
	sc.Capacity.Vary = scenario.VaryDevices
	st = stepScenario(sc, 500, 0)
	if w := st.Phases[0]; w.Model != scenario.Closed || w.Devices != 0 || w.ToDevices != 500 {
		t.Fatalf("warm-up %+v", w)
	}
	if m := st.Phases[1]; m.Devices != 500 || m.Name != "measure" {
		t.Fatalf("window %+v", m)
	}
}

// A capacity search cannot be split over shards (each step's verdict needs
// the whole load's latencies): --shard is refused, naming the flag.
func TestCapacityRefusesShards(t *testing.T) {
	_, err := Execute(t.Context(), run.Options{Scenario: capacityScenario(t, ""), Shard: shard.Shard{Index: 0, Count: 2}})
	if err == nil || !strings.Contains(err.Error(), "drop --shard") {
		t.Fatalf("got %v, want the --shard refusal", err)
	}
}

// run.Execute runs phases only: a scenario with a capacity section given to
// it is refused, naming what runs a search.
func TestRunRefusesASearch(t *testing.T) {
	_, err := run.Execute(t.Context(), run.Options{Scenario: capacityScenario(t, "")})
	if err == nil || !strings.Contains(err.Error(), "caprun.Execute") {
		t.Fatalf("got %v, want a refusal naming caprun.Execute", err)
	}
}
