package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIRoughEdges: bad input is named plainly, before anything runs,
// with exit 2.
func TestCLIRoughEdges(t *testing.T) {
	dir := t.TempDir()
	sc := writeScenario(t, dir, "s.yaml", shortScenario(""))
	res := filepath.Join(dir, "r.json")
	writeScenario(t, dir, "r.json", `{"schema":"imload/results/v1","scenario":"s","seed":1,"metrics":{}}`)
	for _, c := range []struct {
		name    string
		args    []string
		want    []string
		notWant []string
	}{
		{"unknown fault", []string{"run", sc, "--fault", "nosuch", "-q", "-o", ""}, []string{"--fault: ", "nosuch"}, []string{"running"}},
		{"seed not a number", []string{"run", sc, "--seed", "abc"}, []string{`--seed: "abc" is not a whole number`, "see: imload run --help"}, []string{"strconv", "ParseInt"}},
		{"run without a file", []string{"run"}, []string{"no file given: usage: imload run FILE", "e.g. imload run scenarios/quickstart.yaml"}, nil},
		{"report into a missing directory", []string{"report", res, "--html", "/nonexistent/dir/r.html"}, []string{"--html /nonexistent/dir/r.html: directory /nonexistent/dir does not exist"}, []string{".tmp"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, err := execScenarioCmd(t, c.args...)
			if code := exitCode(err); code != exitBadInput {
				t.Fatalf("exit %d (%v), want %d", code, err, exitBadInput)
			}
			all := stderr + "\n" + err.Error()
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(all, w) {
					t.Errorf("output has %q:\n%s", w, all)
				}
			}
		})
	}
}

// TestVersionStamped: the version comes from -ldflags when the build sets
// it, and a build without VCS stamping says how to stamp one instead of a
// bare "(devel)".
func TestVersionStamped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the imload binary twice")
	}
	dir := t.TempDir()
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"-ldflags", "-X main.version=v9.8.7"}, "imload v9.8.7 ("},
		{[]string{"-buildvcs=false"}, `imload devel (no version stamped: build with -ldflags "-X main.version=...", as scripts/ do)`},
	} {
		bin := filepath.Join(dir, "imload")
		args := append(append([]string{"build"}, c.flags...), "-o", bin, ".")
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		out, err := exec.Command(bin, "version").Output()
		if err != nil || !strings.HasPrefix(string(out), c.want) {
			t.Errorf("%v: version %q (%v), want %q...", c.flags, out, err, c.want)
		}
	}
}
