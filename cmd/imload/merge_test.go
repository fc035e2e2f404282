package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imload/imload/results"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/shard"
)

func TestDistFlagsApply(t *testing.T) {
	tests := []struct {
		name      string
		flags     distFlags
		env       string // JOB_COMPLETION_INDEX; "-" unset
		driver    string
		want      shard.Shard
		wantURL   string
		wantKey   string
		wantError string
	}{
		{name: "whole run", env: "-"},
		{name: "shard flag", flags: distFlags{shard: "2/4"}, env: "-", want: shard.Shard{Index: 2, Count: 4}},
		{name: "indexed job", flags: distFlags{shards: 8}, env: "5", want: shard.Shard{Index: 5, Count: 8}},
		{name: "indexed job without index", flags: distFlags{shards: 8}, env: "-", wantError: "JOB_COMPLETION_INDEX"},
		{name: "index out of range", flags: distFlags{shards: 8}, env: "8", wantError: "from 0 to 7"},
		{name: "index not a number", flags: distFlags{shards: 8}, env: "x", wantError: "whole number"},
		{name: "both", flags: distFlags{shard: "0/2", shards: 2}, env: "-", wantError: "both given"},
		{name: "bad shard", flags: distFlags{shard: "2/2"}, env: "-", wantError: "--shard"},
		{name: "target and key", flags: distFlags{target: "ws://127.0.0.1:9000/v1/ws", keyEnv: "K"}, env: "-",
			wantURL: "ws://127.0.0.1:9000/v1/ws", wantKey: "K"},
		{name: "target not ws", flags: distFlags{target: "http://127.0.0.1:9000"}, env: "-", wantError: "WebSocket URL"},
		{name: "target with inproc", flags: distFlags{target: "ws://127.0.0.1:9000/v1/ws"}, env: "-", driver: "inproc", wantError: "inproc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "-" {
				t.Setenv(jobIndexEnv, tc.env)
			} else {
				t.Setenv(jobIndexEnv, "")
			}
			sc := &scenario.Scenario{Target: scenario.Target{Driver: tc.driver}}
			got, err := tc.flags.apply(sc)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("apply = %v, %v; want an error containing %q", got, err, tc.wantError)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("apply = %v, %v; want %v", got, err, tc.want)
			}
			if sc.Target.URL != tc.wantURL || sc.Target.KeyEnv != tc.wantKey {
				t.Fatalf("target %q key_env %q; want %q, %q", sc.Target.URL, sc.Target.KeyEnv, tc.wantURL, tc.wantKey)
			}
		})
	}
}

// Two shards run through the CLI, merged to a file and to standard output.
func TestMergeCmd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two 1 s shards")
	}
	dir := t.TempDir()
	shard := func(i int) string { return filepath.Join(dir, fmt.Sprintf("shard-%d.json", i)) }
	for i := range 2 {
		_, stderr, err := execScenarioCmd(t, "run", "testdata/shard-inproc.yaml", "--shard", fmt.Sprintf("%d/2", i), "-o", shard(i), "-q")
		if err != nil {
			t.Fatalf("shard %d: %v\n%s", i, err, stderr)
		}
	}
	a, err := results.ReadFile(shard(0))
	if err != nil {
		t.Fatal(err)
	}
	b, err := results.ReadFile(shard(1))
	if err != nil {
		t.Fatal(err)
	}
	if a.Shard != "0/2" || b.Shard != "1/2" {
		t.Fatalf("shards wrote %q and %q", a.Shard, b.Shard)
	}

	all := filepath.Join(dir, "all.json")
	stdout, stderr, err := execScenarioCmd(t, "merge", shard(1), shard(0), "-o", all)
	if err != nil {
		t.Fatalf("merge: %v\n%s", err, stderr)
	}
	m, err := results.ReadFile(all)
	if err != nil {
		t.Fatal(err)
	}
	if m.MergedFrom != 2 || m.Shard != "" {
		t.Errorf("merged file: merged_from %d, shard %q", m.MergedFrom, m.Shard)
	}
	if got, want := m.Metrics.Op("login").Count, a.Metrics.Op("login").Count+b.Metrics.Op("login").Count; got != want || got == 0 {
		t.Errorf("merged logins %d, shards add up to %d", got, want)
	}
	if len(m.Thresholds) != 1 || !m.Thresholds[0].Pass || m.Kickout == nil {
		t.Errorf("merged thresholds %+v, kickout %v", m.Thresholds, m.Kickout != nil)
	}
	if !strings.Contains(stdout, "merged 2 shard files") || !strings.Contains(stdout, "kickout oracle") {
		t.Errorf("summary:\n%s", stdout)
	}

	// To standard output: the same file.
	stdout, _, err = execScenarioCmd(t, "merge", shard(0), shard(1), "-q")
	if err != nil {
		t.Fatal(err)
	}
	var viaStdout results.File
	if err := json.Unmarshal([]byte(stdout), &viaStdout); err != nil {
		t.Fatalf("stdout is not a results file: %v", err)
	}
	if viaStdout.Metrics.Op("login").Count != m.Metrics.Op("login").Count {
		t.Error("stdout and -o merges differ")
	}

	// One shard of two: merged, with a warning.
	_, stderr, err = execScenarioCmd(t, "merge", shard(0), "-q")
	if err != nil || !strings.Contains(stderr, "shards 1 of 2 are missing") {
		t.Errorf("merge of one shard: err %v, stderr %q", err, stderr)
	}
	// The same shard twice does not merge.
	_, _, err = execScenarioCmd(t, "merge", shard(0), shard(0), "-q")
	if exitCode(err) != exitBadInput || !strings.Contains(err.Error(), "both shard 0/2") {
		t.Errorf("same shard twice: %v (exit %d)", err, exitCode(err))
	}
}

// The summary of merged month-simulation shards shows the merged MAU
// accounting, as the summary of a whole run does.
func TestMergeCmdShowsTheMAUSection(t *testing.T) {
	dir := t.TempDir()
	var shards []string
	for i := range 2 {
		p := filepath.Join(dir, fmt.Sprintf("shard-%d.json", i))
		if _, stderr, err := execScenarioCmd(t, "run", "testdata/mau-shard.yaml", "--shard", fmt.Sprintf("%d/2", i), "-o", p, "-q"); err != nil {
			t.Fatalf("shard %d: %v\n%s", i, err, stderr)
		}
		shards = append(shards, p)
	}
	stdout, stderr, err := execScenarioCmd(t, "merge", shards[0], shards[1], "-o", filepath.Join(dir, "all.json"))
	if err != nil {
		t.Fatalf("merge: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "MAU simulation 2026-11-25") || !strings.Contains(stdout, "2 of 2 shards") || !strings.Contains(stdout, "PASS  mau.mismatches == 0") {
		t.Errorf("merge summary lacks the merged MAU section:\n%s", stdout)
	}
}
