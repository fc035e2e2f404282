package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imload/imload/report"
	"github.com/imload/imload/results"
)

// imload run takes a scenario with a capacity section through the search
// (package caprun): each step is logged, results.json holds the answer and
// its steps, and the require gate, far above what a step can do, fails the
// run with exit 1.
func TestRunCapacityScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two short steps")
	}
	dir := t.TempDir()
	sc := filepath.Join(dir, "capacity.yaml")
	if err := os.WriteFile(sc, []byte(`name: capacity-cli
target:
  driver: inproc
  service: {workers: 4, login_cost: 5ms}
population: {users: 2000}
behaviour:
  hold: {dist: constant, value: 100ms}
  logout_ratio: 1
checks: {kickout: {enabled: false}}
thresholds: ["login.p99 < 100ms"]
capacity: {vary: rate, from: 50, max: 800, step: 500ms, warmup: 200ms, max_steps: 2, require: 1000000}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "results.json")
	stdout, stderr, code := runCmd(t, "run", "-q", "-o", out, sc)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d (the gate of 1e6/s)\n%s\n%s", code, exitFailed, stdout, stderr)
	}
	if !strings.Contains(stderr, "capacity: repeat 1 step 1: rate 50: ") {
		t.Errorf("no step line in the log:\n%s", stderr)
	}
	f, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if f.Capacity == nil || len(f.Capacity.Steps) == 0 || f.Capacity.Steps[0].Load != 50 || f.Capacity.Steps[0].Logins == 0 {
		t.Fatalf("capacity section %+v", f.Capacity)
	}
	if len(f.Thresholds) != 1 || f.Thresholds[0].Expr != "capacity.sustained >= 1000000" || f.Thresholds[0].Pass {
		t.Errorf("thresholds %+v: want the gate, failed", f.Thresholds)
	}
	if !strings.Contains(stdout, report.CapacityAnswer(f.Capacity)) {
		t.Errorf("the terminal report lacks the answer %q:\n%s", report.CapacityAnswer(f.Capacity), stdout)
	}
}
