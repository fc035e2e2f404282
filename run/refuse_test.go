package run

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imload/imload/check"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/server"
)

// The scenario schema's fault names are the embedded server's.
func TestFaultListsAgree(t *testing.T) {
	if got, want := scenario.Faults(), server.FaultNames(); !slices.Equal(got, want) {
		t.Fatalf("scenario.Faults() = %v, server.FaultNames() = %v", got, want)
	}
}

// A server that refuses the newcomer instead of kicking passes a
// kick-the-oldest policy only if the oracle judges refusals: under
// refuse-new-login policy-instances-3 gives wrong_refusal, with the refused
// login marked in the timeline, and fails its thresholds. The same scenario
// with a policy file saying on_conflict: refuse_new gives no violation: the
// reference server refuses by the policy, and the oracle judges every
// refusal right.
func TestRefuseNew(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two short scenarios")
	}
	polFile := filepath.Join(t.TempDir(), "multi-3-refuse.yaml")
	// Tencent multi-platform with 3 instances per native platform and one
	// Web, as policy-instances-3 uses, refusing instead of kicking.
	if err := os.WriteFile(polFile, []byte("name: multi-3-refuse\nper_platform: {default: 3, Web: 1}\non_conflict: refuse_new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	faulty := policyScenario(t, "instances-3", 1, shortScale("instances-3"))
	refusing := policyScenario(t, "instances-3", 1, shortScale("instances-3"))
	refusing.Target.Policy, refusing.Target.PolicyFile, refusing.Target.Instances = polFile, polFile, 0
	outs := make([]*Outcome, 2)
	errs := make([]error, 2)
	done := make(chan int, 2)
	go func() {
		outs[0], errs[0] = Execute(t.Context(), Options{Scenario: faulty, Faults: []string{string(server.FaultRefuseNewLogin)}})
		done <- 0
	}()
	go func() {
		outs[1], errs[1] = Execute(t.Context(), Options{Scenario: refusing})
		done <- 1
	}()
	<-done
	<-done
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Run("fault", func(t *testing.T) {
		rep := outs[0].Kickout
		t.Logf("refuse-new-login on policy-instances-3: %s (%d refusals judged)", verdictLine(rep), rep.Checks.Refusals)
		if rep.Count(check.WrongRefusal) == 0 {
			t.Fatal("no wrong_refusal verdict")
		}
		ex := rep.Verdicts[check.WrongRefusal].Examples
		if len(ex) == 0 || !strings.Contains(ex[0].Text, "the newest login always wins") {
			t.Fatalf("examples %+v", ex)
		}
		marked := false
		for _, line := range strings.Split(ex[0].Text, "\n") {
			if strings.HasPrefix(line, "*") && strings.Contains(line, "login failed code=1008") {
				marked = true
			}
		}
		if !marked {
			t.Fatalf("the timeline does not mark the refused login:\n%s", ex[0].Text)
		}
		if outs[0].Passed {
			t.Error("thresholds passed under refuse-new-login")
		}
	})
	t.Run("refuse_new policy", func(t *testing.T) {
		rep := outs[1].Kickout
		t.Logf("policy on_conflict refuse_new: %s (%d refusals judged, %d kicks)", verdictLine(rep), rep.Checks.Refusals, rep.Checks.Kicks)
		if v := rep.Violations(); v != 0 {
			var b strings.Builder
			_ = rep.WriteText(&b)
			t.Fatalf("%d violations:\n%s", v, b.String())
		}
		if rep.Checks.Refusals == 0 {
			t.Error("no refusal judged: the scenario did not reach a limit")
		}
		if rep.Checks.Kicks != 0 {
			t.Errorf("%d kicks under a refuse_new policy", rep.Checks.Kicks)
		}
	})
}
