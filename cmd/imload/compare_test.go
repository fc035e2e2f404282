package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imload/imload/results"
)

// TestCompareCLI runs a short scenario once for a baseline, then checks
// imload compare and imload run --baseline: exit 0 for the same results, 1
// for a run whose every login the server delays by 300ms, 2 for bad usage
// and for runs of different scenarios.
func TestCompareCLI(t *testing.T) {
	dir := t.TempDir()
	sc := writeScenario(t, dir, "short.yaml", shortScenario(""))
	base := filepath.Join(dir, "base.json")
	if stdout, stderr, code := runCmd(t, "run", sc, "-q", "-o", base); code != exitOK {
		t.Fatalf("baseline run: exit %d\n%s\n%s", code, stdout, stderr)
	}

	t.Run("same results", func(t *testing.T) {
		stdout, stderr, code := runCmd(t, "compare", base, base)
		if code != exitOK || !strings.Contains(stdout, "no regression beyond the tolerances") {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		if !strings.Contains(stdout, "login.p99") {
			t.Errorf("no login.p99 row:\n%s", stdout)
		}
	})

	t.Run("json", func(t *testing.T) {
		stdout, _, code := runCmd(t, "compare", "--base", base, "--new", base+","+base, "--compare-json", "-")
		if code != exitOK {
			t.Fatalf("exit %d", code)
		}
		var r struct {
			New     []struct{ Name string }
			Figures []struct {
				Op, Stat, Verdict string
			}
		}
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, stdout)
		}
		if len(r.New) != 2 || len(r.Figures) == 0 {
			t.Errorf("new %d runs, %d figures", len(r.New), len(r.Figures))
		}
	})

	t.Run("different scenarios", func(t *testing.T) {
		f, err := results.ReadFile(base)
		if err != nil {
			t.Fatal(err)
		}
		f.Scenario = "other"
		other := filepath.Join(dir, "other.json")
		if err := results.WriteFile(other, f); err != nil {
			t.Fatal(err)
		}
		_, _, err = execScenarioCmd(t, "compare", base, other)
		if code := exitCode(err); code != exitBadInput || !strings.Contains(err.Error(), "refusing to compare runs of different scenarios") {
			t.Errorf("exit %d, error %v", code, err)
		}
	})

	for _, c := range []struct {
		name string
		args []string
		msg  string
	}{
		{"one file", []string{"compare", base}, "BASE.json NEW.json"},
		{"files and flags", []string{"compare", base, base, "--base", base}, "not both"},
		{"base only", []string{"compare", "--base", base}, "BASE.json NEW.json"},
		{"bad tolerance", []string{"compare", base, base, "--max-regression", "login.p99=10"}, "takes a value like 10%"},
		{"unknown figure", []string{"compare", base, base, "--max-regression", "lgoin.p99=10%"}, "matches no figure"},
		{"missing file", []string{"compare", base, filepath.Join(dir, "nope.json")}, "nope.json"},
		{"bad confidence", []string{"compare", base, base, "--confidence", "95"}, "--confidence"},
		{"run: missing baseline", []string{"run", sc, "-q", "-o", "", "--baseline", filepath.Join(dir, "nope.json")}, "--baseline"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := execScenarioCmd(t, c.args...)
			if code := exitCode(err); code != exitBadInput || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("exit %d, error %v; want %d and %q", code, err, exitBadInput, c.msg)
			}
		})
	}

	t.Run("run --baseline regressed", func(t *testing.T) {
		slow := filepath.Join(dir, "slow.json")
		html := filepath.Join(dir, "cmp.html")
		stdout, stderr, code := runCmd(t, "run", sc, "-q", "-o", slow, "--seed", "5", "--fault", "slow-login=300ms",
			"--baseline", base, "--max-regression", "login.p50=10%", "--compare-html", html)
		if code != exitFailed {
			t.Fatalf("exit %d, want %d\n%s\n%s", code, exitFailed, stdout, stderr)
		}
		if !strings.Contains(stdout, "REGRESSED") || !strings.Contains(stdout, "login.p50") {
			t.Errorf("no regression reported:\n%s", stdout)
		}
		if _, err := os.Stat(html); err != nil {
			t.Errorf("--compare-html: %v", err)
		}
		// The same comparison from the files.
		if _, _, code := runCmd(t, "compare", base, slow, "--max-regression", "login.p50=10%"); code != exitFailed {
			t.Errorf("imload compare: exit %d, want %d", code, exitFailed)
		}
		if _, _, code := runCmd(t, "compare", base, slow, "--max-regression", "login.p50=off,p50=off,p90=off,p99=off,p99.9=off,max=off,throughput=off,errors.rate=off"); code != exitOK {
			t.Errorf("every figure off: exit %d, want 0", code)
		}
		// The same tolerances from a scenario's compare section, and the
		// command line winning over it for one figure.
		off := writeScenario(t, dir, "off.yaml", shortScenario("")+
			"compare:\n  max_regression: [\"p50=off,p90=off,p99=off,p99.9=off,max=off\", \"throughput=off\", \"errors.rate=off\"]\n")
		if stdout, stderr, code := runCmd(t, "compare", base, slow, "--scenario", off); code != exitOK {
			t.Errorf("compare --scenario with every figure off: exit %d, want 0\n%s\n%s", code, stdout, stderr)
		}
		if _, _, code := runCmd(t, "compare", base, slow, "--scenario", off, "--max-regression", "login.p50=10%"); code != exitFailed {
			t.Errorf("compare --scenario overridden by --max-regression login.p50=10%%: exit %d, want %d", code, exitFailed)
		}
		if _, _, code := runCmd(t, "run", off, "-q", "-o", "", "--seed", "6", "--fault", "slow-login=300ms", "--baseline", base); code != exitOK {
			t.Errorf("run --baseline of a scenario whose compare section turns every figure off: exit %d, want 0", code)
		}
		bad := writeScenario(t, dir, "bad.yaml", shortScenario("")+"compare:\n  max_regression: [\"errors.rate=5%\"]\n")
		_, _, err := execScenarioCmd(t, "compare", base, slow, "--scenario", bad)
		if code := exitCode(err); code != exitBadInput || !strings.Contains(err.Error(), "compare.max_regression[0]") {
			t.Errorf("a bad compare section: exit %d, error %v", code, err)
		}
	})
}
