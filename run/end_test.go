package run

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/event"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/scenario"
)

// loopScenario is a closed loop of devices that connect, log in, hold and
// log out (never an app kill), against the embedded server over driver.
func loopScenario(t *testing.T, driver string, devices int, length, hold string, extra string) *scenario.Scenario {
	t.Helper()
	text := fmt.Sprintf(`name: loop
seed: 3
target: {driver: %s, policy: multi-platform}
population: {users: %d}
phases: [{model: closed, duration: %s, devices: %d}]
behaviour:
  hold: %s
  think: {dist: constant, value: 0s}
  logout_ratio: 1
%sthresholds: ["kickout.violations == 0"]
`, driver, devices, length, devices, hold, extra)
	sc, err := scenario.Parse([]byte(text), "loop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// failures lists the operations that failed or timed out, with their
// reasons.
func failures(s *metrics.Snapshot) string {
	var parts []string
	for _, op := range s.OpNames() {
		o := s.Op(op)
		if o.Failed+o.TimedOut == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s failed %d timed out %d", op, o.Failed, o.TimedOut))
		for code, r := range o.Reasons {
			for _, x := range r.Top {
				parts = append(parts, fmt.Sprintf("  code %d x%d: %s", code, x.Count, x.Message))
			}
		}
	}
	return strings.Join(parts, "\n")
}

// A clean run against the embedded server has no failed operation: what
// the run's end cuts off is cancelled, in no error rate.
func TestCleanRunHasNoFailures(t *testing.T) {
	defer burnCPU()()
	sc := loopScenario(t, scenario.DriverWS, 64, "2s", "{dist: constant, value: 0s}", "")
	sc.Thresholds = append(sc.Thresholds, "errors.rate == 0%", "errors.count == 0")
	if err := sc.Prepare(); err != nil {
		t.Fatal(err)
	}
	log := newActionLog()
	out, err := Execute(t.Context(), Options{Scenario: sc, Sink: log})
	if err != nil {
		t.Fatal(err)
	}
	s := out.File.Metrics
	if f := failures(s); f != "" {
		t.Errorf("a clean run has failures:\n%s", f)
	}
	if s.Op("login").OK <= 64 {
		t.Errorf("only %d logins for 64 devices: the loop did not run", s.Op("login").OK)
	}
	if n := s.EventCount("app_kill", ""); n != 0 {
		t.Errorf("%d app kills in a run whose devices always log out", n)
	}
	checkCounts(t, s, log)
	if !out.Passed {
		t.Errorf("thresholds: %+v", out.File.Thresholds)
	}
}

// Each way of ending gives what it says, and the oracle finds nothing
// wrong with any of them.
func TestEndModes(t *testing.T) {
	for _, tc := range []struct{ end, extra string }{
		{scenario.EndCut, ""},
		{scenario.EndLogout, "end: logout\n"},
		{scenario.EndDrain, "end: drain\nend_grace: 20s\n"},
	} {
		t.Run(tc.end, func(t *testing.T) {
			sc := loopScenario(t, scenario.DriverInproc, 40, "1500ms", "{dist: constant, value: 700ms}", tc.extra)
			log := newActionLog()
			out, err := Execute(t.Context(), Options{Scenario: sc, Sink: log})
			if err != nil {
				t.Fatal(err)
			}
			s := out.File.Metrics
			atEnd, kills := s.EventCount("online_at_end", ""), s.EventCount("app_kill", "")
			if kills != 0 {
				t.Errorf("%d app kills, want none (the devices always log out; the end is not an app kill)", kills)
			}
			if f := failures(s); f != "" {
				t.Errorf("failures:\n%s", f)
			}
			lo := s.Op("logout")
			switch tc.end {
			case scenario.EndCut:
				if atEnd == 0 {
					t.Error("no device online at the cut end")
				}
			case scenario.EndLogout:
				if atEnd != 0 {
					t.Errorf("%d devices online at the end, want every one logged out", atEnd)
				}
				endsLoggedIn(t, log)
			case scenario.EndDrain:
				if atEnd != 0 {
					t.Errorf("%d devices online at the end of a drain", atEnd)
				}
				if lo.Cancelled != 0 || s.Op("login").Cancelled != 0 {
					t.Errorf("a drain cancelled %d logouts, %d logins", lo.Cancelled, s.Op("login").Cancelled)
				}
				// Every session played its hold out: no device ends
				// logged in.
				endsLoggedIn(t, log)
				if d := time.Duration(out.File.Duration); d > 1500*time.Millisecond+5*time.Second {
					t.Errorf("run lasted %s: a drain of 700 ms holds should end well within its grace", d)
				}
			}
			if out.Kickout == nil || out.Kickout.Violations() != 0 {
				var b strings.Builder
				if out.Kickout != nil {
					_ = out.Kickout.WriteText(&b)
				}
				t.Errorf("kickout oracle: %s", b.String())
			}
		})
	}
}

// endsLoggedIn fails when a device's last event is a successful login or
// resume: it was still online when the run ended.
func endsLoggedIn(t *testing.T, log *actionLog) {
	t.Helper()
	for dev, evs := range log.by {
		last := evs[len(evs)-1]
		if (last.Kind == event.Login || last.Kind == event.Resume) && last.Outcome == event.OK {
			t.Errorf("%s ends logged in: %+v", dev, last)
			return
		}
	}
}
