package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imload/imload/metrics"
	"github.com/imload/imload/results"
)

// writeScenario writes a scenario file into dir and returns its path.
func writeScenario(t *testing.T, dir, name, src string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// shortScenario is a two-second run in process with the given extra lines
// (thresholds, misbehaviour): 20 devices in the first second, one in the
// second, which leaves time for every session (200 ms) to end before the
// run does, even on a busy machine.
func shortScenario(extra string) string {
	return `name: short
seed: 4
target:
  driver: inproc
population:
  users: 5000
phases:
  - model: open
    duration: 1s
    rate: 20
  - model: open
    duration: 1s
    rate: 1
behaviour:
  hold: 200ms
` + extra
}

// TestRunBrokenScenario: a broken scenario is reported as file:line:col:
// field: what is wrong, every problem of the file, with exit 2 and no
// results file.
func TestRunBrokenScenario(t *testing.T) {
	dir := t.TempDir()
	path := writeScenario(t, dir, "broken.yaml", `name: broken
population:
  users: many
phases:
  - model: open
    duration: 1s
    rate: -5
behavior:
  hold: 1s
`)
	out := filepath.Join(dir, "results.json")
	stdout, _, err := execScenarioCmd(t, "run", path, "-o", out, "-q")
	if code := exitCode(err); code != exitBadInput {
		t.Fatalf("exit %d (%v), want %d", code, err, exitBadInput)
	}
	for _, want := range []string{
		path + ":3:10: population.users: expected a whole number, got \"many\"",
		path + ":7:11: phases[0].rate: must be >= 0, got -5",
		path + ":8:1: behavior: unknown key (allowed: ",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("results file after a broken scenario: %v", err)
	}
}

// TestRunExitCodes: a short scenario runs to its end, prints the summary and
// writes the results file; its thresholds decide the exit code; a run with
// misbehaving clients says so first.
func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		extra      string
		code       int
		passed     int // thresholds passed
		failed     int
		misbehaves string // start of the first line, "" when there is none
	}{
		{name: "thresholds pass", code: exitOK, passed: 2,
			extra: "thresholds:\n  - \"errors.rate < 1%\"\n  - \"login.count >= 20\"\n"},
		{name: "a threshold fails", code: exitFailed, passed: 1, failed: 1,
			extra: "thresholds:\n  - \"errors.rate < 1%\"\n  - \"login.p99 < 1ns\"\n"},
		{name: "misbehaving clients", code: exitOK, passed: 1,
			extra:      "  misbehave:\n    retry_any_error: 0.5\n    login_storm: 0.25\nthresholds:\n  - \"login.count >= 20\"\n",
			misbehaves: "this run used misbehaving clients: login_storm 25%, retry_any_error 50% of the devices ("},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := writeScenario(t, dir, "short.yaml", shortScenario(tc.extra))
			out := filepath.Join(dir, "results.json")
			stdout, stderr, err := execScenarioCmd(t, "run", path, "-o", out)
			if code := exitCode(err); code != tc.code {
				t.Fatalf("exit %d (%v), want %d; stdout:\n%s\nstderr:\n%s", code, err, tc.code, stdout, stderr)
			}
			f, rerr := results.ReadFile(out)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if f.Interrupted || f.Scenario != "short" || f.Seed != 4 {
				t.Errorf("results: scenario %q seed %d interrupted %v", f.Scenario, f.Seed, f.Interrupted)
			}
			passed, failed := 0, 0
			for _, th := range f.Thresholds {
				if th.Pass {
					passed++
				} else {
					failed++
				}
			}
			if passed != tc.passed || failed != tc.failed {
				t.Errorf("thresholds %d passed, %d failed; want %d, %d: %+v", passed, failed, tc.passed, tc.failed, f.Thresholds)
			}
			checkFileCounts(t, f.Metrics)
			first, _, _ := strings.Cut(stdout, "\n")
			switch {
			case tc.misbehaves == "" && strings.Contains(stdout, "misbehaving clients"):
				t.Errorf("a run without misbehaving clients mentions them:\n%s", stdout)
			case tc.misbehaves != "" && !strings.HasPrefix(first, tc.misbehaves):
				t.Errorf("first line %q, want it to start %q", first, tc.misbehaves)
			}
			for _, want := range []string{"scenario  short (" + path + "), seed 4", "login", "results: " + out} {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
		})
	}
}

// checkFileCounts checks that every operation of a results file adds up:
// the latency histogram holds every attempt (ok + failed + timed out), and
// the per-second series add up to the totals.
func checkFileCounts(t *testing.T, s *metrics.Snapshot) {
	t.Helper()
	if s == nil {
		t.Fatal("results without metrics")
	}
	if len(s.OpNames()) == 0 {
		t.Error("no operations in the results")
	}
	for _, op := range s.OpNames() {
		o := s.Op(op)
		if o.Count != o.OK+o.Failed+o.TimedOut+o.Cancelled || o.Samples() != o.OK {
			t.Errorf("%s: attempted %d, ok %d + failed %d + timed out %d, %d latency samples (one per success)", op, o.Count, o.OK, o.Failed, o.TimedOut, o.Samples())
		}
		se := s.Series.Ops[op]
		if se == nil {
			t.Errorf("%s: no per-second series", op)
			continue
		}
		var n int64
		for i := range s.Series.Seconds {
			n += se.Attempted(i)
		}
		if n != o.Count {
			t.Errorf("%s: seconds add up to %d attempts, total %d", op, n, o.Count)
		}
	}
}

// TestRunInterrupt: Ctrl-C (SIGINT) stops a 30 s run within two seconds with
// exit 130, and the results file is still written, marked interrupted, with
// counts that add up.
func TestRunInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the imload binary")
	}
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "imload")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	path := writeScenario(t, dir, "long.yaml", `name: long
seed: 9
population:
  users: 2000
phases:
  - model: open
    duration: 30s
    rate: 60
behaviour:
  hold: {dist: uniform, min: 1s, max: 4s}
  flap: 0.2
  switch_account: 0.2
thresholds:
  - "errors.rate < 1%"
`)
	out := filepath.Join(dir, "results.json")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "run", path, "-o", out, "-q")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("exited before the signal: %v\n%s", err, stderr.String())
	case <-time.After(2 * time.Second):
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("still running 10 s after SIGINT; stderr:\n%s", stderr.String())
	}
	took := time.Since(sent)
	t.Logf("exited %v after SIGINT", took)
	if took > 2*time.Second {
		t.Errorf("exited %v after SIGINT, want within 2s", took)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupt {
		t.Fatalf("exit %v, want code %d; stderr:\n%s", err, exitInterrupt, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted; partial results written") {
		t.Errorf("stderr does not say the run was interrupted:\n%s", stderr.String())
	}
	f, rerr := results.ReadFile(out)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if !f.Interrupted {
		t.Error("results not marked interrupted")
	}
	if d := time.Duration(f.Duration); d < time.Second || d > 10*time.Second {
		t.Errorf("results cover %v, want about 2s", d)
	}
	if !strings.Contains(stdout.String(), ", interrupted") {
		t.Errorf("summary does not say interrupted:\n%s", stdout.String())
	}
	checkFileCounts(t, f.Metrics)
}
