package run

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imload/imload/check"
	"github.com/imload/imload/codes"
	"github.com/imload/imload/event"
	"github.com/imload/imload/judge/eval"
	"github.com/imload/imload/results"
	"github.com/imload/imload/scenario"
)

// The policy validation scenarios of scenarios/, by the name after
// "policy-": one per Tencent policy, one per instance-limit setting, and the
// ticket-expiry one.
func policyNames() []string {
	return []string{"single", "dual", "triple", "multi", "instances-3", "web-10", "instances-combined", "expiry"}
}

// policyScenario loads scenarios/policy-NAME.yaml for a quick run in
// process: the in-process driver (sockets are not the point here), every
// phase scaled by scale, the given seed, and the oracle's threshold alone
// (the file's count thresholds are sized for its full length).
func policyScenario(t testing.TB, name string, seed int64, scale float64) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load(filepath.Join("..", "scenarios", "policy-"+name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc.Seed = seed
	sc.Target.Driver = "inproc"
	for i := range sc.Phases {
		sc.Phases[i].Duration = scenario.Duration(float64(sc.Phases[i].Duration) * scale)
	}
	sc.Thresholds = []string{"kickout.violations == 0"}
	return sc
}

// shortScale shortens a policy scenario to two or three seconds; the expiry
// scenario needs longer, as a kicked device thinks 2.5 s or more before it
// logs in again.
func shortScale(name string) float64 {
	if name == "expiry" {
		return 0.45
	}
	return 0.2
}

// reloginSink watches the first login of each device after it was kicked.
// In the expiry scenario that login carries a ticket that expired before,
// so the target must refuse it with 70001.
type reloginSink struct {
	mu       sync.Mutex
	kicked   map[string]bool // device and user: kicked, no login since
	refused  int             // first logins after a kick answered 70001
	accepted int             // first logins after a kick that succeeded
}

func (s *reloginSink) Observe(e *event.Event) {
	key := e.Device + "\x00" + e.UserID
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e.Kind {
	case event.Kicked:
		if s.kicked == nil {
			s.kicked = map[string]bool{}
		}
		s.kicked[key] = true
	case event.Login:
		if !s.kicked[key] {
			return
		}
		delete(s.kicked, key)
		switch {
		case e.Outcome == event.Failed && e.Code == codes.SigExpired:
			s.refused++
		case e.Outcome == event.OK:
			s.accepted++
		}
	}
}

func (s *reloginSink) counts() (refused, accepted int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused, s.accepted
}

// verdictLine lists the non-zero verdict classes of r.
func verdictLine(r *check.Report) string {
	var parts []string
	for c := check.Class(0); c < check.NumClasses; c++ {
		if n := r.Count(c); n != 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", c, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

type policyRun struct {
	name   string
	seed   int64
	driver string // "" : inproc
	out    *Outcome
	err    error
	relog  *reloginSink
	faults []string
}

// runPolicies runs the given (scenario, seed, faults) runs, at most par at
// a time, beside a goroutine that keeps one CPU busy until they end: the
// oracle's verdicts must hold on a contended machine, not only on an idle
// one. Each run mostly waits on its phases' wall time, but a starved
// scheduler delays kick notices past the oracle's late_after (1 s), so par
// stays low enough for two cores with the race detector.
func runPolicies(t *testing.T, runs []*policyRun, par int) {
	t.Helper()
	defer burnCPU()()
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for _, r := range runs {
		sc := policyScenario(t, r.name, r.seed, shortScale(r.name))
		if r.driver != "" {
			sc.Target.Driver = r.driver
		}
		r.relog = &reloginSink{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r.out, r.err = Execute(t.Context(), Options{Scenario: sc, Faults: r.faults, Sink: r.relog})
		}()
	}
	wg.Wait()
}

// burnCPU keeps one goroutine spinning until the returned stop is called.
func burnCPU() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		x := uint64(1)
		for {
			for i := 0; i < 1<<16; i++ {
				x = x*6364136223846793005 + 1442695040888963407
			}
			select {
			case <-done:
				burnSink.Store(x)
				return
			default:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

var burnSink atomic.Uint64

// Against the clean embedded server every policy scenario gives zero
// violations over five seeds, with thousands of kicks checked.
func TestPolicyScenariosClean(t *testing.T) {
	if testing.Short() {
		t.Skip("runs forty short scenarios")
	}
	var runs []*policyRun
	for _, name := range policyNames() {
		for seed := int64(1); seed <= 5; seed++ {
			r := &policyRun{name: name, seed: seed}
			// As a user runs them, over loopback WebSocket (not under the
			// race detector, which slows the sockets' goroutines so much on
			// two cores that the run's end cuts notices and callbacks off;
			// scripts/policy-stress runs every scenario so at full length).
			if seed > 3 && !raceEnabled {
				r.driver = scenario.DriverWS
			}
			runs = append(runs, r)
		}
	}
	// The longest runs first, so that the short ones fill in after them.
	sort.SliceStable(runs, func(i, j int) bool { return shortScale(runs[i].name) > shortScale(runs[j].name) })
	runPolicies(t, runs, 4)
	var kicks, logins, displacements int64
	perPolicy := map[string]int64{}
	for _, r := range runs {
		t.Run(fmt.Sprintf("%s/seed%d%s", r.name, r.seed, map[bool]string{true: "/ws"}[r.driver != ""]), func(t *testing.T) {
			if r.err != nil {
				t.Fatal(r.err)
			}
			rep := r.out.Kickout
			if rep == nil {
				t.Fatal("no kickout report")
			}
			if v := rep.Violations(); v != 0 {
				var b strings.Builder
				_ = rep.WriteText(&b)
				t.Fatalf("%d violations (%s) against the clean server:\n%s", v, verdictLine(rep), b.String())
			}
			// Undecided is no violation (each comes with its reason: a
			// login cut off unseen, imload's own starvation); on a loaded
			// machine a few users are, not many.
			if u := rep.Count(check.Undecided); u > 0 {
				for _, ex := range rep.Verdicts[check.Undecided].Examples {
					t.Logf("undecided %s: %s", ex.User, strings.SplitN(ex.Text, "\n", 2)[0])
				}
				if u*10 > rep.Checks.Users {
					t.Errorf("%d of %d users undecided", u, rep.Checks.Users)
				}
			}
			if rep.Checks.SequenceUsers != rep.Checks.Users || rep.Checks.StatusUsers == 0 {
				t.Errorf("checks %+v: want every user by sequence and online statuses read", rep.Checks)
			}
			if rep.Checks.Kicks == 0 {
				t.Error("no kick checked")
			}
			if !r.out.Passed {
				t.Errorf("thresholds failed: %+v", r.out.File.Thresholds)
			}
			if r.name == "expiry" {
				refused, accepted := r.relog.counts()
				if accepted != 0 || refused == 0 {
					t.Errorf("first logins after a kick: %d refused with 70001, %d accepted; want all refused", refused, accepted)
				}
			}
			kicks += rep.Checks.Kicks
			logins += rep.Checks.Logins
			displacements += rep.Checks.Displacements
			perPolicy[r.name] += rep.Checks.Kicks
		})
	}
	names := make([]string, 0, len(perPolicy))
	for n := range perPolicy {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d", n, perPolicy[n]))
	}
	t.Logf("checked %d kicks (%d displacements, %d logins) over %d runs: %s", kicks, displacements, logins, len(runs), strings.Join(parts, ", "))
	if kicks < 1000 {
		t.Errorf("only %d kicks checked over all runs, want thousands", kicks)
	}
}

// Every fault of the embedded server is caught: the oracle reports the
// fault's verdict class (accept-expired, which is not a kickout fault, is
// caught by the refused-ticket count and the relogin watch) and the run
// fails its thresholds.
func TestPolicyFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs six short scenarios")
	}
	cases := []struct {
		fault    string
		scenario string
		// anyOf: at least one of these classes has a non-zero count.
		anyOf []check.Class
	}{
		// The newest instance of the victim's platform goes instead of
		// the earliest: visible where a platform holds several.
		{"wrong-victim", "instances-3", []check.Class{check.WrongVictim}},
		{"kick-not-delivered", "single", []check.Class{check.MissingKick}},
		{"limit-not-enforced", "single", []check.Class{check.OverLimit, check.MissingKick}},
		{"late-kick", "dual", []check.Class{check.LateKick}},
		{"stale-online-status", "single", []check.Class{check.GhostSession}},
		{"accept-expired", "expiry", nil},
		// The newcomer is refused (1008) instead of the earliest kicked.
		{"refuse-new-login", "instances-3", []check.Class{check.WrongRefusal}},
	}
	runs := make([]*policyRun, len(cases))
	for i, c := range cases {
		runs[i] = &policyRun{name: c.scenario, seed: 1, faults: []string{c.fault}}
	}
	runPolicies(t, runs, len(runs))
	for i, c := range cases {
		r := runs[i]
		t.Run(c.fault, func(t *testing.T) {
			if r.err != nil {
				t.Fatal(r.err)
			}
			rep := r.out.Kickout
			t.Logf("%s on policy-%s: %s (%d kicks checked)", c.fault, c.scenario, verdictLine(rep), rep.Checks.Kicks)
			found := len(c.anyOf) == 0
			for _, cl := range c.anyOf {
				if rep.Count(cl) > 0 {
					found = true
				}
			}
			if !found {
				t.Errorf("no verdict of %v", c.anyOf)
			}
			if c.fault == "accept-expired" {
				refused, accepted := r.relog.counts()
				t.Logf("first logins after a kick: %d refused with 70001, %d accepted", refused, accepted)
				if accepted == 0 || refused != 0 {
					t.Errorf("expired tickets: %d refused, %d accepted; want all accepted under the fault", refused, accepted)
				}
				code, err := eval.Metric("login.code_70001.count", eval.Inputs{Metrics: r.out.File.Metrics})
				if err != nil || code != 0 {
					t.Errorf("login.code_70001.count = %v (%v), want 0", code, err)
				}
				th, err := scenario.ParseThreshold("login.code_70001.count >= 1")
				if err != nil {
					t.Fatal(err)
				}
				if evalThresholds([]scenario.Threshold{th}, r.out.File.Metrics, rep)[0].Pass {
					t.Error("the expiry scenario's threshold passes under accept-expired")
				}
				return
			}
			if r.out.Passed {
				t.Errorf("thresholds passed under %s: %+v", c.fault, r.out.File.Thresholds)
			}
		})
	}
}

// opCounter counts the operations devices emitted, by kind and outcome.
type opCounter struct {
	mu sync.Mutex
	n  map[string]map[event.Outcome]int64
}

func (c *opCounter) Observe(e *event.Event) {
	if !e.Kind.IsOp() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]map[event.Outcome]int64{}
	}
	if c.n[e.Kind.String()] == nil {
		c.n[e.Kind.String()] = map[event.Outcome]int64{}
	}
	c.n[e.Kind.String()][e.Outcome]++
}

// A run whose context ends in the middle still writes its results, marked
// interrupted; every operation a device emitted is in them (attempts =
// ok + failed + timed out, op by op, in the totals and in the per-second
// series), and the oracle still judges what happened, with no violation
// from the clean server.
func TestPolicyRunInterrupted(t *testing.T) {
	sc := policyScenario(t, "single", 3, 1) // 12 s if not interrupted
	out := filepath.Join(t.TempDir(), "results.json")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ops := &opCounter{}
	timer := time.AfterFunc(2*time.Second, cancel)
	defer timer.Stop()
	start := time.Now()
	res, err := Execute(ctx, Options{Scenario: sc, Out: out, Sink: ops})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("the interrupted run took %s", d)
	}
	f, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Interrupted || !res.File.Interrupted {
		t.Fatal("not marked interrupted")
	}
	snap := f.Metrics
	ops.mu.Lock()
	defer ops.mu.Unlock()
	if len(ops.n) == 0 || snap.Op("login").Count == 0 {
		t.Fatal("no operations before the interruption")
	}
	for _, name := range snap.OpNames() {
		o := snap.Op(name)
		emitted := ops.n[name]
		if o.Count != o.OK+o.Failed+o.TimedOut+o.Cancelled ||
			o.OK != emitted[event.OK] || o.Failed != emitted[event.Failed] || o.TimedOut != emitted[event.TimedOut] ||
			o.Cancelled != emitted[event.Cancelled] {
			t.Errorf("%s: results %d attempted = %d ok + %d failed + %d timed out + %d cancelled; devices emitted %v",
				name, o.Count, o.OK, o.Failed, o.TimedOut, o.Cancelled, emitted)
		}
		s := snap.Series.Ops[name]
		if s == nil {
			t.Errorf("%s: no per-second series", name)
			continue
		}
		var ok, failed, timedOut int64
		for i := range s.OK {
			ok, failed, timedOut = ok+s.OK[i], failed+s.Failed[i], timedOut+s.TimedOut[i]
		}
		if snap.Series.Dropped == 0 && (ok != o.OK || failed != o.Failed || timedOut != o.TimedOut) {
			t.Errorf("%s: series sum to %d/%d/%d, totals are %d/%d/%d", name, ok, failed, timedOut, o.OK, o.Failed, o.TimedOut)
		}
	}
	for name := range ops.n {
		if snap.Op(name).Count == 0 {
			t.Errorf("devices emitted %s, the results hold none", name)
		}
	}
	rep := res.Kickout
	if rep == nil || f.Kickout == nil {
		t.Fatal("no kickout report in an interrupted run")
	}
	if rep.Checks.Logins == 0 || rep.Checks.Logins > snap.Op("login").OK {
		t.Errorf("oracle checked %d logins, results hold %d successful", rep.Checks.Logins, snap.Op("login").OK)
	}
	if v := rep.Violations(); v != 0 {
		var b strings.Builder
		_ = rep.WriteText(&b)
		t.Errorf("%d violations in an interrupted clean run:\n%s", v, b.String())
	}
}
