package run

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/results"
	"github.com/imload/imload/scenario"
)

func parseScenario(t *testing.T, text string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Parse([]byte(text), filepath.Join(t.TempDir(), "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// longInproc is a 30 s run in process at 50 arrivals per second with the
// given thresholds.
func longInproc(thresholds ...string) string {
	s := `name: long
seed: 3
target:
  driver: inproc
population:
  users: 3000
phases:
  - model: open
    duration: 30s
    rate: 50
behaviour:
  hold: 300ms
thresholds:
`
	for _, th := range thresholds {
		s += "  - \"" + th + "\"\n"
	}
	return s
}

func verdictOf(t *testing.T, f *results.File, expr string) results.Threshold {
	t.Helper()
	for _, th := range f.Thresholds {
		if th.Expr == expr {
			return th
		}
	}
	t.Fatalf("no verdict for %q in %+v", expr, f.Thresholds)
	return results.Threshold{}
}

// TestAbortOnFail: a count bounded from above with abort_on_fail ends a
// 30 s run as soon as it crosses, with the results marked aborted: that
// threshold FAILs, a count that part of the run cannot decide is not
// judged, and a count already reached passes.
func TestAbortOnFail(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a scenario")
	}
	sc := parseScenario(t, longInproc("login.count < 30 abort_on_fail", "logout.count >= 1000000", "connect.count >= 1"))
	start := time.Now()
	out, err := Execute(t.Context(), Options{Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if took > 15*time.Second {
		t.Errorf("took %v, want the run ended soon after 30 logins", took)
	}
	var tf *ThresholdFailed
	if !errors.As(out.Aborted, &tf) || tf.Expr != "login.count < 30 abort_on_fail" {
		t.Fatalf("aborted %v, want by login.count < 30", out.Aborted)
	}
	f := out.File
	if f.Interrupted || !strings.Contains(f.Aborted, "threshold login.count < 30 abort_on_fail failed") {
		t.Errorf("file: interrupted %v aborted %q", f.Interrupted, f.Aborted)
	}
	if th := verdictOf(t, f, "login.count < 30 abort_on_fail"); th.Pass || th.NotJudged != "" || th.Actual < 30 {
		t.Errorf("abort threshold: %+v, want FAIL", th)
	}
	if th := verdictOf(t, f, "logout.count >= 1000000"); th.NotJudged != "aborted" {
		t.Errorf("undecided count: %+v, want not judged (aborted)", th)
	}
	if th := verdictOf(t, f, "connect.count >= 1"); !th.Pass || th.NotJudged != "" {
		t.Errorf("reached count: %+v, want PASS", th)
	}
	if out.Passed {
		t.Error("an aborted run passed")
	}
}

// TestInterruptedCountsNotJudged: an interrupted run leaves the counts it
// cannot decide not judged (interrupted), instead of failing them.
func TestInterruptedCountsNotJudged(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a scenario")
	}
	sc := parseScenario(t, longInproc("login.count >= 1000000", "errors.count < 1000000", "login.count < 1"))
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	out, err := Execute(ctx, Options{Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	if !out.File.Interrupted || out.Aborted != nil {
		t.Fatalf("interrupted %v aborted %v", out.File.Interrupted, out.Aborted)
	}
	for _, expr := range []string{"login.count >= 1000000", "errors.count < 1000000"} {
		if th := verdictOf(t, out.File, expr); th.NotJudged != "interrupted" || th.Pass {
			t.Errorf("%s: %+v, want not judged (interrupted)", expr, th)
		}
	}
	if th := verdictOf(t, out.File, "login.count < 1"); th.NotJudged != "" || th.Pass {
		t.Errorf("login.count < 1 with logins made: %+v, want FAIL", th)
	}
	var b strings.Builder
	if err := results.WriteSummary(&b, out.File); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "not judged (interrupted): actual ") || !strings.Contains(b.String(), "thresholds: 2 of 3 not judged") {
		t.Errorf("summary:\n%s", b.String())
	}
}
