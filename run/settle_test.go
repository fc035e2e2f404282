package run

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imload/imload/check"
	"github.com/imload/imload/scenario"
)

// settleCase is one run judged twice: settled every second while it goes on
// (the run's report) and at its end only (the twin's).
type settleCase struct {
	name   string
	sc     *scenario.Scenario
	faults []string
	out    *Outcome
	err    error
}

// soakScenario is scenarios/open-soak.yaml cut to eight seconds at a
// fifth of its rate, over fewer users so that they come back.
func soakScenario(t *testing.T) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load(filepath.Join("..", "scenarios", "open-soak.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc.Phases[0].Duration = scenario.Duration(8 * time.Second)
	sc.Phases[0].Rate = 300
	sc.Population.Users = 3000
	return sc
}

// Settling while the run goes on gives the report the end-of-run check
// gives (verdict counts, checks, examples, kick latency), on fixed seeds,
// for every policy scenario shortened in process, for each fault of the
// reference server that TestPolicyFaults injects, and for a shortened
// open soak. The quiet time is cut to 1.5 s (past an in-process
// operation, grace and late_after) so that users settle in runs this
// short; the runs together must settle some thousands of users.
func TestSettlingGivesTheEndOfRunReport(t *testing.T) {
	if testing.Short() {
		t.Skip("runs twenty-four short scenarios")
	}
	var cases []*settleCase
	for _, name := range policyNames() {
		cases = append(cases, &settleCase{name: name, sc: policyScenario(t, name, 1, shortScale(name))})
	}
	for _, f := range []struct{ fault, scenario string }{{"wrong-victim", "instances-3"}, {"kick-not-delivered", "single"},
		{"limit-not-enforced", "single"}, {"late-kick", "dual"}, {"stale-online-status", "single"},
		{"accept-expired", "expiry"}, {"refuse-new-login", "instances-3"}} {
		cases = append(cases, &settleCase{name: f.scenario + "/" + f.fault, sc: policyScenario(t, f.scenario, 1, shortScale(f.scenario)), faults: []string{f.fault}})
		// The policy scenarios' 40 users are never all offline for long:
		// spread over twenty times as many, and run longer, users settle.
		spread := policyScenario(t, f.scenario, 2, 2.5*shortScale(f.scenario))
		spread.Population.Users *= 20
		cases = append(cases, &settleCase{name: f.scenario + "/" + f.fault + "/spread", sc: spread, faults: []string{f.fault}})
	}
	soak := soakScenario(t)
	cases = append(cases, &settleCase{name: "open-soak", sc: soak}, &settleCase{name: "open-soak/late-kick", sc: soakScenario(t), faults: []string{"late-kick"}})
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c.out, c.err = Execute(t.Context(), Options{Scenario: c.sc, Faults: c.faults, settleTwin: true, settleQuiet: 1500 * time.Millisecond})
		}()
	}
	wg.Wait()
	var settled int
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.err != nil {
				t.Fatal(c.err)
			}
			got, want := c.out.Kickout, c.out.unsettled
			if got == nil || want == nil {
				t.Fatal("no kickout report")
			}
			st := c.out.settled
			settled += st.Users
			t.Logf("%d users settled (%d events, %d callbacks dropped); %s", st.Users, st.Events, st.Hooks, verdictLine(got))
			if d := check.Diff(want, got); d != nil {
				var a, b strings.Builder
				_ = want.WriteText(&a)
				_ = got.WriteText(&b)
				t.Fatalf("settled report differs:\n%s\n\nend of run only:\n%s\nsettled:\n%s", strings.Join(d, "\n"), a.String(), b.String())
			}
			if got.Checks.SettleCrossings != 0 {
				t.Errorf("%d users crossed a settled cut", got.Checks.SettleCrossings)
			}
		})
	}
	if settled < 1000 {
		t.Fatalf("%d users settled in all: the runs do not exercise settling", settled)
	}
}
