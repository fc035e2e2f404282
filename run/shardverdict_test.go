package run

import (
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/imload/imload/results"
	"github.com/imload/imload/shard"
)

// TestShardsJudgeCountsLikeTheirMerge: the two shards of
// scenarios/account-switch.yaml judge switch_user.count >= 700 at 350 each
// (each makes about half the switches) and so agree with their merge,
// which judges 700 over all; the merged header lists each shard's target
// and host, and counts the CPUs of one host once.
func TestShardsJudgeCountsLikeTheirMerge(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two 20 s shards")
	}
	files := make([]*results.File, 2)
	errs := make([]error, 2)
	done := make(chan struct{}, 2)
	for i := range files {
		go func() {
			defer func() { done <- struct{}{} }()
			out, err := Execute(t.Context(), Options{Scenario: loadScenario(t, "../scenarios/account-switch.yaml"), Shard: shard.Shard{Index: i, Count: 2}})
			if err == nil {
				files[i] = out.File
			}
			errs[i] = err
		}()
	}
	<-done
	<-done
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	merged, err := MergeFiles(files...)
	if err != nil {
		t.Fatal(err)
	}
	const count = "switch_user.count >= 700"
	want := verdictOf(t, merged.File, count)
	if !want.Pass || want.Note != "" {
		t.Fatalf("merge: %+v, want PASS as written", want)
	}
	for i, f := range files {
		got := verdictOf(t, f, count)
		t.Logf("shard %d: %s actual %v pass %v (%s)", i, count, got.Actual, got.Pass, got.Note)
		if got.Pass != want.Pass {
			t.Errorf("shard %d: %s %v with %v switches, merge %v with %v", i, count, got.Pass, got.Actual, want.Pass, want.Actual)
		}
		if !strings.Contains(got.Note, "judged at 350 in shard "+f.Shard+": 1/2 of 700") {
			t.Errorf("shard %d: note %q", i, got.Note)
		}
		// errors.rate is left out: operations cut off by the run's end still count
		// as errors, and a shard has as many of those as the whole run.
		for _, expr := range []string{"kickout.violations == 0"} {
			if s, m := verdictOf(t, f, expr), verdictOf(t, merged.File, expr); s.Pass != m.Pass {
				t.Errorf("shard %d: %s %v, merge %v", i, expr, s.Pass, m.Pass)
			}
		}
	}
	env := merged.File.Environment
	host, _ := os.Hostname()
	if len(env.Shards) != 2 || env.Shards[0].Shard != "0/2" || env.Shards[1].Shard != "1/2" || env.Shards[1].Host != host || env.Shards[1].Target.Kind != "embedded" {
		t.Errorf("merged shards %+v", env.Shards)
	}
	if env.CPUs != runtime.NumCPU() {
		t.Errorf("merged CPUs %d, want %d: two shards on one host", env.CPUs, runtime.NumCPU())
	}
	var b strings.Builder
	if err := results.WriteSummary(&b, merged.File); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"shard 0/2  embedded ", "shard 1/2  embedded ", " on " + host + ", ", " CPUs on 1 host\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("merged header lacks %q:\n%s", want, b.String()[:min(600, b.Len())])
		}
	}
}
