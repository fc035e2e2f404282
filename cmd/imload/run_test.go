package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/imload/imload/results"
)

// shortPolicyFile writes scenarios/policy-NAME.yaml, shortened for a test,
// into dir: the in-process driver, phases scaled by scale, and count
// thresholds (sized for the full length) asking for at least one.
func shortPolicyFile(t *testing.T, dir, name string, scale float64) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "scenarios", "policy-"+name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	value := func(m *yaml.Node, key string) *yaml.Node {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				return m.Content[i+1]
			}
		}
		t.Fatalf("policy-%s.yaml: no %s", name, key)
		return nil
	}
	target := value(root, "target")
	target.Content = append(target.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Value: "driver"}, &yaml.Node{Kind: yaml.ScalarNode, Value: "inproc"})
	for _, ph := range value(root, "phases").Content {
		d := value(ph, "duration")
		v, err := time.ParseDuration(d.Value)
		if err != nil {
			t.Fatal(err)
		}
		d.Value = time.Duration(float64(v) * scale).String()
	}
	count := regexp.MustCompile(`^(\S+\.count) >= \d+$`)
	for _, th := range value(root, "thresholds").Content {
		th.Value = count.ReplaceAllString(th.Value, "$1 >= 1")
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "policy-"+name+".yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCmd runs imload with args and returns its output and the exit code
// main would give.
func runCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	var ee *exitError
	switch {
	case err == nil:
		code = exitOK
	case errors.As(err, &ee):
		code = ee.code
	default:
		code = exitBadInput
	}
	return out.String(), errOut.String(), code
}

// verdictCount reads a class's count from the oracle's verdict table.
func verdictCount(t *testing.T, stdout, class string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + class + `\s+(\d+)$`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no %s line in the verdict table:\n%s", class, stdout)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// imload run exits 1 for every fault of the embedded server (and 0 without
// one), with the fault's verdict class in the printed oracle report and the
// results file written.
func TestRunFaultsExitOne(t *testing.T) {
	if testing.Short() {
		t.Skip("runs seven 3-second scenarios")
	}
	cases := []struct {
		fault, scenario string
		classes         []string // at least one has a non-zero count
		failed          string   // a threshold that must fail
	}{
		{"", "single", nil, ""},
		{"wrong-victim", "instances-3", []string{"wrong_victim"}, "kickout.violations == 0"},
		{"kick-not-delivered", "single", []string{"missing_kick"}, "kickout.violations == 0"},
		{"limit-not-enforced", "single", []string{"over_limit", "missing_kick"}, "kickout.violations == 0"},
		{"late-kick", "dual", []string{"late_kick"}, "kickout.violations == 0"},
		{"stale-online-status", "single", []string{"ghost_session"}, "kickout.violations == 0"},
		{"accept-expired", "expiry", nil, "login.code_70001.count >= 1"},
	}
	for _, c := range cases {
		name := c.fault
		if name == "" {
			name = "clean"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			scale := 0.25
			if c.scenario == "expiry" {
				scale = 0.5 // relogins after kicks come 2.5 s or more later
			}
			file := shortPolicyFile(t, dir, c.scenario, scale)
			out := filepath.Join(dir, "results.json")
			args := []string{"run", file, "-o", out, "-q"}
			if c.fault != "" {
				args = append(args, "--fault", c.fault)
			}
			stdout, stderr, code := runCmd(t, args...)
			want := exitFailed
			if c.fault == "" {
				want = exitOK
			}
			if code != want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, stdout, stderr)
			}
			if len(c.classes) > 0 {
				sum := 0
				for _, cl := range c.classes {
					sum += verdictCount(t, stdout, cl)
				}
				if sum == 0 {
					t.Errorf("no %s verdict:\n%s", strings.Join(c.classes, " or "), stdout)
				}
			}
			if c.failed != "" && !strings.Contains(stdout, "FAIL  "+c.failed) {
				t.Errorf("threshold %q did not fail:\n%s", c.failed, stdout)
			}
			f, err := results.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if f.Interrupted || f.Kickout == nil {
				t.Errorf("results: interrupted %v, kickout report %v", f.Interrupted, f.Kickout != nil)
			}
			// The fault is in the header and the results, with its firings.
			if c.fault == "" {
				if len(f.Faults) != 0 || strings.Contains(stdout, "faults  ") {
					t.Errorf("no fault armed, yet %+v", f.Faults)
				}
				return
			}
			if len(f.Faults) != 1 || f.Faults[0].Name != c.fault || f.Faults[0].Fired == 0 || f.Faults[0].Why != "" {
				t.Errorf("results faults %+v, want %s fired", f.Faults, c.fault)
			}
			if !regexp.MustCompile(`(?m)^faults\s+` + c.fault + ` \(fired \d+ times?\)$`).MatchString(stdout) {
				t.Errorf("the header does not list %s with its firings:\n%s", c.fault, stdout)
			}
			if strings.Contains(stdout, "never applicable") {
				t.Errorf("a fault that fired is reported as never applicable:\n%s", stdout)
			}
		})
	}
}

// A fault armed but never fired is the summary's first line, with the
// server's reason, and the run exits 1: it did not exercise the check the
// fault exists to prove. policy-dual allows one instance per class, so
// wrong-victim never has a second candidate to choose. A shard only warns:
// the fault may fire in another shard, and the merge judges.
func TestRunUnfiredFaultWarns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two 3-second scenarios")
	}
	dir := t.TempDir()
	file := shortPolicyFile(t, dir, "dual", 0.25)
	for _, sh := range []string{"", "0/2"} {
		t.Run("shard "+sh, func(t *testing.T) {
			out := filepath.Join(dir, "results"+strings.ReplaceAll(sh, "/", "-")+".json")
			args := []string{"run", file, "-o", out, "-q", "--fault", "wrong-victim"}
			if sh != "" {
				args = append(args, "--shard", sh)
			}
			stdout, stderr, code := runCmd(t, args...)
			first, _, _ := strings.Cut(stdout, "\n")
			want := "WARNING: fault wrong-victim armed but never applicable: no login had a second candidate"
			if !strings.HasPrefix(first, want) {
				t.Fatalf("first line %q, want it to start %q\nstdout:\n%s", first, want, stdout)
			}
			// The thresholds pass: the exit code is the fault's alone.
			if !strings.Contains(stdout, "thresholds: all") {
				t.Fatalf("a threshold failed, so the exit code says nothing of the fault:\n%s\n%s", stdout, stderr)
			}
			wantCode := exitFailed
			if sh != "" {
				wantCode = exitOK
			}
			if code != wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, wantCode, stdout, stderr)
			}
			f, err := results.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Faults) != 1 || f.Faults[0].Fired != 0 || !strings.HasPrefix(f.Faults[0].Why, "no login had a second candidate") {
				t.Errorf("results faults %+v", f.Faults)
			}
		})
	}
}
