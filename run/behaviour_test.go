package run

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imload/imload/agent"
	"github.com/imload/imload/event"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/server"
	"github.com/imload/imload/usersig"
)

// The behaviour tests run the scenarios of testdata/behaviour-*.yaml through
// Execute against the embedded server and compare what the devices did
// (every event, kept per device by an actionLog) with what the server
// counted (Outcome.Server) and with what the metrics snapshot holds. Their
// scenarios keep kicks out (multi-platform policy, 100,000 users) and end
// every session before the run ends, so that each server count is one the
// devices' plans call for.

// actionLog is an event sink that keeps each device's events in order.
type actionLog struct {
	mu sync.Mutex
	by map[string][]event.Event
}

func newActionLog() *actionLog { return &actionLog{by: map[string][]event.Event{}} }

func (l *actionLog) Observe(e *event.Event) {
	l.mu.Lock()
	l.by[e.Device] = append(l.by[e.Device], *e)
	l.mu.Unlock()
}

// devices returns the device instance IDs, sorted.
func (l *actionLog) devices() []string {
	return slices.Sorted(maps.Keys(l.by))
}

// count counts the events of kind with outcome (0: any outcome).
func (l *actionLog) count(kind event.Kind, outcome event.Outcome) int {
	n := 0
	for _, evs := range l.by {
		for _, e := range evs {
			if e.Kind == kind && (outcome == 0 || e.Outcome == outcome) {
				n++
			}
		}
	}
	return n
}

// of returns one device's events of kind.
func of(evs []event.Event, kind event.Kind) []event.Event {
	var out []event.Event
	for _, e := range evs {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// ticketLog wraps the run's tickets: it counts the tickets made per user and
// may spoil them (bad: nil hands them out as made).
type ticketLog struct {
	inner *agent.SigTickets
	bad   func(inner *agent.SigTickets, user string, n int, now time.Time) (string, error)

	mu sync.Mutex
	n  map[string]int
}

func (tl *ticketLog) Ticket(user string, now time.Time) (string, error) {
	tl.mu.Lock()
	tl.n[user]++
	n := tl.n[user]
	tl.mu.Unlock()
	if tl.bad != nil {
		return tl.bad(tl.inner, user, n, now)
	}
	return tl.inner.Ticket(user, now)
}

func (tl *ticketLog) made(user string) int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.n[user]
}

// wrap is the run's tickets hook.
func (tl *ticketLog) wrap(t *testing.T) func(agent.Tickets) agent.Tickets {
	return func(inner agent.Tickets) agent.Tickets {
		st, ok := inner.(*agent.SigTickets)
		if !ok {
			t.Errorf("the run's tickets are %T, want *agent.SigTickets", inner)
			return inner
		}
		tl.inner, tl.n = st, map[string]int{}
		return tl
	}
}

// behaviourRun is one run of a behaviour scenario.
type behaviourRun struct {
	sc  *scenario.Scenario
	out *Outcome
	log *actionLog
	st  *server.Stats
}

// plan returns the plan of the device with instance ID dev.
func (r *behaviourRun) plan(t *testing.T, dev string) agent.Plan {
	t.Helper()
	i, err := strconv.Atoi(strings.TrimPrefix(dev, "dev"))
	if err != nil {
		t.Fatalf("device %q: instance ID is not dev<index>", dev)
	}
	p, err := agent.NewPlanner(r.sc.Seed, r.sc, agent.NewPopulation(r.sc.Population))
	if err != nil {
		t.Fatal(err)
	}
	return p.Plan(i)
}

// loadBehaviour loads testdata/behaviour-name.yaml on driver ("": as the
// file says).
func loadBehaviour(t *testing.T, name, driver string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load("testdata/behaviour-" + name + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	if driver != "" {
		sc.Target.Driver = driver
	}
	return sc
}

// runBehaviour executes sc with an action log (and tickets, when set) and
// checks that the counts add up.
func runBehaviour(t *testing.T, sc *scenario.Scenario, tickets *ticketLog) *behaviourRun {
	t.Helper()
	log := newActionLog()
	o := Options{Scenario: sc, Sink: log}
	if tickets != nil {
		o.tickets = tickets.wrap(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := Execute(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if out.File.Interrupted {
		t.Fatal("run interrupted")
	}
	if out.Server == nil {
		t.Fatal("Outcome.Server is nil for the embedded server")
	}
	for _, th := range out.File.Thresholds {
		if !th.Pass {
			t.Errorf("threshold %s: actual %v %s", th.Expr, th.Actual, th.Error)
		}
	}
	if out.Kickout != nil && out.Kickout.Violations() != 0 {
		t.Errorf("kickout oracle: %d violations", out.Kickout.Violations())
	}
	checkCounts(t, out.File.Metrics, log)
	return &behaviourRun{sc: sc, out: out, log: log, st: out.Server}
}

// checkCounts checks that the snapshot accounts for every event the devices
// emitted: per operation, attempted = ok + failed + timed out, each equal to
// the devices' own count, over all platforms, per platform and per second;
// every attempt has a latency sample; every other event kind is counted.
func checkCounts(t *testing.T, s *metrics.Snapshot, log *actionLog) {
	t.Helper()
	if s.Series.Dropped != 0 || s.UnknownEvents != 0 {
		t.Errorf("snapshot dropped %d series events, %d unknown events", s.Series.Dropped, s.UnknownEvents)
	}
	for k := event.Connect; k <= event.LastKind; k++ {
		name := k.String()
		if !k.IsOp() {
			if got, want := s.EventCount(name, ""), int64(log.count(k, 0)); got != want {
				t.Errorf("%s: snapshot counts %d, devices emitted %d", name, got, want)
			}
			continue
		}
		ok, failed, timed := int64(log.count(k, event.OK)), int64(log.count(k, event.Failed)), int64(log.count(k, event.TimedOut))
		o := s.Op(name)
		if o.Count != o.OK+o.Failed+o.TimedOut+o.Cancelled {
			t.Errorf("%s: attempted %d != ok %d + failed %d + timed out %d + cancelled %d", name, o.Count, o.OK, o.Failed, o.TimedOut, o.Cancelled)
		}
		if c := int64(log.count(k, event.Cancelled)); o.Cancelled != c {
			t.Errorf("%s: snapshot counts %d cancelled, devices %d", name, o.Cancelled, c)
		}
		if o.OK != ok || o.Failed != failed || o.TimedOut != timed || o.Count != int64(log.count(k, 0)) {
			t.Errorf("%s: snapshot ok/failed/timed out %d/%d/%d of %d, devices %d/%d/%d of %d",
				name, o.OK, o.Failed, o.TimedOut, o.Count, ok, failed, timed, log.count(k, 0))
		}
		if o.Samples() != o.OK { // latency is of the successes
			t.Errorf("%s: %d latency samples for %d successes", name, o.Samples(), o.OK)
		}
		var sum metrics.OpStats
		for _, p := range s.Platforms(name) {
			c := s.OpPlatform(name, p)
			sum.OK, sum.Failed, sum.TimedOut = sum.OK+c.OK, sum.Failed+c.Failed, sum.TimedOut+c.TimedOut
		}
		if sum.OK != o.OK || sum.Failed != o.Failed || sum.TimedOut != o.TimedOut {
			t.Errorf("%s: platforms add up to %d/%d/%d, all platforms %d/%d/%d", name, sum.OK, sum.Failed, sum.TimedOut, o.OK, o.Failed, o.TimedOut)
		}
		if o.Count == 0 {
			continue
		}
		se := s.Series.Ops[name]
		if se == nil {
			t.Errorf("%s: no per-second series", name)
			continue
		}
		var sOK, sFailed, sTimed int64
		for i := range s.Series.Seconds {
			sOK, sFailed, sTimed = sOK+se.OK[i], sFailed+se.Failed[i], sTimed+se.TimedOut[i]
		}
		if sOK != o.OK || sFailed != o.Failed || sTimed != o.TimedOut {
			t.Errorf("%s: seconds add up to %d/%d/%d, totals %d/%d/%d", name, sOK, sFailed, sTimed, o.OK, o.Failed, o.TimedOut)
		}
	}
}

// TestAccountSwitch: an account switch produces one logout (of the account
// held) and one login (of the new one) on the same device, and nothing else.
func TestAccountSwitch(t *testing.T) {
	t.Parallel() // each run has its own server; they mostly wait
	for _, driver := range []string{scenario.DriverInproc, scenario.DriverWS} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			r := runBehaviour(t, loadBehaviour(t, "switch", driver), nil)
			devs := r.log.devices()
			if len(devs) != 41 {
				t.Fatalf("%d devices, want 41", len(devs))
			}
			leaveByLogout, switchLogouts := 0, 0
			for _, dev := range devs {
				p, evs := r.plan(t, dev), r.log.by[dev]
				if !p.Switch {
					t.Fatalf("%s: plan has no switch with switch_account 1", dev)
				}
				if p.Leave == agent.LeaveLogout {
					leaveByLogout++
				}
				sw := slices.IndexFunc(evs, func(e event.Event) bool { return e.Kind == event.SwitchUser })
				if sw < 0 || len(of(evs, event.SwitchUser)) != 1 {
					t.Fatalf("%s: want one switch_user, got %v", dev, actions(evs))
				}
				// Before: the planned user's login. After: its logout, then
				// the new user's login, on the same device.
				before, after := of(evs[:sw], event.Login), evs[sw+1:]
				if len(before) != 1 || before[0].UserID != p.User || before[0].Outcome != event.OK {
					t.Errorf("%s: logins before the switch %v, want one of %s", dev, actions(before), p.User)
				}
				if evs[sw].UserID != p.SwitchTo {
					t.Errorf("%s: switched to %s, plan says %s", dev, evs[sw].UserID, p.SwitchTo)
				}
				if len(after) < 2 || after[0].Kind != event.Logout || after[0].UserID != p.User || after[0].Outcome != event.OK ||
					after[1].Kind != event.Login || after[1].UserID != p.SwitchTo || after[1].Outcome != event.OK {
					t.Errorf("%s: after the switch %v, want logout of %s then login of %s", dev, actions(after), p.User, p.SwitchTo)
				} else if strings.Contains(after[0].Note, "account switch") {
					switchLogouts++
				}
				if n := len(of(evs, event.Login)); n != 2 {
					t.Errorf("%s: %d logins, want 2 (first, switch)", dev, n)
				}
			}
			st, switches := r.st, r.log.count(event.SwitchUser, 0)
			t.Logf("server: logins %d, logouts %d (switches %d), kicks %d; devices: %d switch_user, %d clean leaves",
				st.LoginsOK, st.Logouts, st.Switches, st.Kicks, switches, leaveByLogout)
			if st.Kicks != 0 || st.RepeatLogins != 0 || len(st.LoginsFailed) != 0 {
				t.Errorf("server kicks %d, repeat logins %d, failed logins %v: want none", st.Kicks, st.RepeatLogins, st.LoginsFailed)
			}
			// Each switch: one more login and one more logout on the server.
			if want := uint64(len(devs) + switches); st.LoginsOK != want || st.LoginsOK != uint64(r.log.count(event.Login, event.OK)) {
				t.Errorf("server logins %d, want %d devices + %d switches", st.LoginsOK, len(devs), switches)
			}
			if want := uint64(leaveByLogout + switches); st.Logouts != want || st.Logouts != uint64(r.log.count(event.Logout, event.OK)) {
				t.Errorf("server logouts %d, want %d clean leaves + %d switches", st.Logouts, leaveByLogout, switches)
			}
			// The device logs the old account out itself (the SDK's implicit
			// logout); a switch the server had to end itself is counted in
			// Switches. Together: one per switch.
			if got := int(st.Switches) + switchLogouts; got != switches {
				t.Errorf("server implicit logouts %d + devices' switch logouts %d != %d switches", st.Switches, switchLogouts, switches)
			}
		})
	}
}

// TestFlapResumes: a network flap produces a resume of the same session and
// no new login.
func TestFlapResumes(t *testing.T) {
	t.Parallel() // each run has its own server; they mostly wait
	for _, driver := range []string{scenario.DriverWS, scenario.DriverInproc} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			r := runBehaviour(t, loadBehaviour(t, "flap", driver), nil)
			devs := r.log.devices()
			if len(devs) != 41 {
				t.Fatalf("%d devices, want 41", len(devs))
			}
			for _, dev := range devs {
				evs := r.log.by[dev]
				logins, resumes, drops := of(evs, event.Login), of(evs, event.Resume), of(evs, event.Disconnect)
				if len(logins) != 1 || logins[0].Outcome != event.OK || len(resumes) != 1 || resumes[0].Outcome != event.OK ||
					len(drops) != 1 || drops[0].Note != "network flap" {
					t.Errorf("%s: %v, want one login, one network flap, one resume", dev, actions(evs))
					continue
				}
				if resumes[0].Seq != logins[0].Seq || resumes[0].Seq == 0 {
					t.Errorf("%s: resumed session %d, logged in as %d", dev, resumes[0].Seq, logins[0].Seq)
				}
				d := slices.IndexFunc(evs, func(e event.Event) bool { return e.Kind == event.Disconnect })
				if tail := actions(evs[d:]); len(tail) < 3 || tail[1] != "connect ok" || tail[2] != "resume ok" {
					t.Errorf("%s: after the flap %v, want connect then resume", dev, tail)
				}
			}
			st, resumes := r.st, r.log.count(event.Resume, event.OK)
			t.Logf("server: logins %d, resumes %d, logouts %d; devices: %d flaps, %d resumes", st.LoginsOK, st.Resumes, st.Logouts,
				r.log.count(event.Disconnect, 0), resumes)
			if st.Resumes != uint64(resumes) || resumes != len(devs) || len(st.ResumeFailed) != 0 {
				t.Errorf("server resumes %d (failed %v), devices resumed %d, flapped %d", st.Resumes, st.ResumeFailed, resumes, len(devs))
			}
			if st.LoginsOK != uint64(len(devs)) || st.LoginsOK != uint64(r.log.count(event.Login, 0)) || st.RepeatLogins != 0 {
				t.Errorf("server logins %d (repeat %d) for %d devices: a flap must not log in", st.LoginsOK, st.RepeatLogins, len(devs))
			}
		})
	}
}

// TestTicketExpiryRefresh: a ticket that expires while its session is online
// gets user_sig_expired from the server, and the device logs in again with a
// new ticket, continuing the same session.
func TestTicketExpiryRefresh(t *testing.T) {
	t.Parallel() // each run has its own server; they mostly wait
	tickets := &ticketLog{}
	r := runBehaviour(t, loadBehaviour(t, "expiry", ""), tickets)
	devs := r.log.devices()
	if len(devs) != 31 {
		t.Fatalf("%d devices, want 31", len(devs))
	}
	for _, dev := range devs {
		evs := r.log.by[dev]
		sig := slices.IndexFunc(evs, func(e event.Event) bool { return e.Kind == event.SigExpired })
		if sig < 0 || len(of(evs, event.SigExpired)) != 1 {
			t.Errorf("%s: %v, want one sig_expired", dev, actions(evs))
			continue
		}
		first, next := of(evs[:sig], event.Login), of(evs[sig:], event.Login)
		if len(first) != 1 || len(next) != 1 || first[0].Outcome != event.OK || next[0].Outcome != event.OK {
			t.Errorf("%s: %v, want a login before and one after the notice", dev, actions(evs))
			continue
		}
		if next[0].Seq != first[0].Seq || !next[0].Repeat {
			t.Errorf("%s: login after the notice has session %d (repeat %v), want session %d continued", dev, next[0].Seq, next[0].Repeat, first[0].Seq)
		}
		if next[0].At.Sub(first[0].At) < time.Second {
			t.Errorf("%s: notice and refresh %v after the login, before the 1 s ticket expired", dev, next[0].At.Sub(first[0].At))
		}
		if n := tickets.made(first[0].UserID); n != 2 {
			t.Errorf("%s: %d tickets made for %s, want 2 (first login, refresh)", dev, n, first[0].UserID)
		}
	}
	st, notices := r.st, r.log.count(event.SigExpired, 0)
	t.Logf("server: logins %d (repeat %d), user_sig_expired %d; devices: %d notices", st.LoginsOK, st.RepeatLogins, st.SigExpired, notices)
	if st.SigExpired != uint64(notices) || notices != len(devs) {
		t.Errorf("server sent %d user_sig_expired, devices saw %d, want %d", st.SigExpired, notices, len(devs))
	}
	if st.LoginsOK != uint64(len(devs)+notices) || st.RepeatLogins != uint64(notices) || len(st.LoginsFailed) != 0 {
		t.Errorf("server logins %d (repeat %d, failed %v), want %d first + %d refreshed", st.LoginsOK, st.RepeatLogins, st.LoginsFailed, len(devs), notices)
	}
}

// TestRefusedLoginRetries: a login refused for a bad ticket is not tried
// again (70003, 70009); an expired one (70001) is, once, with a new ticket;
// a misbehaving device that retries on any error is seen doing so.
func TestRefusedLoginRetries(t *testing.T) {
	t.Parallel() // each run has its own server; they mostly wait
	corrupt := func(in *agent.SigTickets, user string, _ int, now time.Time) (string, error) {
		s, err := in.Ticket(user, now)
		return s[:len(s)/2], err // truncated: cannot be parsed
	}
	cases := []struct {
		name     string
		bad      func(in *agent.SigTickets, user string, n int, now time.Time) (string, error)
		retryAny bool
		code     int
		attempts int // login attempts per device
		made     int // tickets per device
	}{
		{name: "corrupt ticket 70003", bad: corrupt, code: usersig.CodeUndecodable, attempts: 1, made: 1},
		{name: "another app's key 70009", code: usersig.CodeBadSignature, attempts: 1, made: 1,
			bad: func(in *agent.SigTickets, user string, _ int, now time.Time) (string, error) {
				other := *in
				other.Key = []byte("not the key the server holds")
				return other.Ticket(user, now)
			}},
		{name: "expired ticket 70001 refreshed", code: usersig.CodeExpired, attempts: 2, made: 2,
			bad: func(in *agent.SigTickets, user string, n int, now time.Time) (string, error) {
				if n == 1 {
					return usersig.Gen(in.SDKAppID, in.Key, user, time.Hour, now.Add(-2*time.Hour), nil)
				}
				return in.Ticket(user, now)
			}},
		{name: "misbehaving retry on any error", bad: corrupt, retryAny: true, code: usersig.CodeUndecodable, attempts: 4, made: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := loadBehaviour(t, "refused", "")
			if tc.retryAny {
				sc.Behaviour.Misbehave.RetryAnyError = 1
			}
			tickets := &ticketLog{bad: tc.bad}
			r := runBehaviour(t, sc, tickets)
			devs := r.log.devices()
			if len(devs) != 31 {
				t.Fatalf("%d devices, want 31", len(devs))
			}
			wantOK := 0
			for _, dev := range devs {
				evs := r.log.by[dev]
				logins := of(evs, event.Login)
				if len(logins) != tc.attempts {
					t.Errorf("%s: %d login attempts %v, want %d", dev, len(logins), actions(evs), tc.attempts)
					continue
				}
				if logins[0].Code != tc.code {
					t.Errorf("%s: first login answered %d, want %d", dev, logins[0].Code, tc.code)
				}
				if tc.code == usersig.CodeExpired {
					wantOK++
					if logins[1].Outcome != event.OK {
						t.Errorf("%s: login after the refresh %s (code %d)", dev, logins[1].Outcome, logins[1].Code)
					}
				}
				if n := tickets.made(logins[0].UserID); n != tc.made {
					t.Errorf("%s: %d tickets made, want %d", dev, n, tc.made)
				}
				if m := len(of(evs, event.Misbehaving)); tc.retryAny != (m > 0) {
					t.Errorf("%s: %d misbehaving events (retry on any error %v)", dev, m, tc.retryAny)
				}
			}
			st := r.st
			failed := r.log.count(event.Login, event.Failed)
			t.Logf("server: logins ok %d, failed %v; devices: %d attempts, %d failed", st.LoginsOK, st.LoginsFailed, r.log.count(event.Login, 0), failed)
			if want := len(devs)*tc.attempts - wantOK; st.LoginsFailed[tc.code] != uint64(failed) || len(st.LoginsFailed) != 1 || failed != want {
				t.Errorf("server failed logins %v, devices failed %d, want %d", st.LoginsFailed, failed, want)
			}
			if st.LoginsOK != uint64(wantOK) {
				t.Errorf("server logins ok %d, want %d", st.LoginsOK, wantOK)
			}
			if got := r.out.File.Metrics.Op("login").Codes[tc.code]; got != int64(failed) {
				t.Errorf("snapshot counts %d logins with code %d, want %d", got, tc.code, failed)
			}
		})
	}
}

// TestSameSeedSameSchedule: two runs of one scenario and seed give every
// device the same actions, and those are the actions its plan lists.
func TestSameSeedSameSchedule(t *testing.T) {
	t.Parallel() // each run has its own server; they mostly wait
	var runs [2]map[string][]string
	var last *behaviourRun
	for i := range runs {
		last = runBehaviour(t, loadBehaviour(t, "mix", ""), nil)
		runs[i] = map[string][]string{}
		for dev, evs := range last.log.by {
			runs[i][dev] = planned(evs)
		}
	}
	if len(runs[0]) != 61 {
		t.Fatalf("%d devices, want 61", len(runs[0]))
	}
	flaps, switches, kills := 0, 0, 0
	for _, dev := range slices.Sorted(maps.Keys(runs[0])) {
		a, b := runs[0][dev], runs[1][dev]
		if !slices.Equal(a, b) {
			t.Errorf("%s: run 1 %v\n  run 2 %v", dev, a, b)
		}
		p := last.plan(t, dev)
		if want := fromPlan(p); !slices.Equal(a, want) {
			t.Errorf("%s: did %v\n  plan %v", dev, a, want)
		}
		if p.Flap {
			flaps++
		}
		if p.Switch {
			switches++
		}
		if p.Leave == agent.LeaveKill {
			kills++
		}
	}
	if len(runs[1]) != len(runs[0]) {
		t.Errorf("run 2 has %d devices, run 1 %d", len(runs[1]), len(runs[0]))
	}
	t.Logf("%d devices: %d flaps, %d switches, %d app kills", len(runs[0]), flaps, switches, kills)
	if flaps == 0 || switches == 0 || kills == 0 || flaps == len(runs[0]) || switches == len(runs[0]) {
		t.Errorf("the scenario should mix behaviours: %d flaps, %d switches, %d app kills", flaps, switches, kills)
	}
}

// planned lists a device's plan-driven actions: what it did and as whom,
// without times or outcomes, and without what the target alone decides
// (kicks, expiry notices).
func planned(evs []event.Event) []string {
	var out []string
	for _, e := range evs {
		switch e.Kind {
		case event.Kicked, event.SigExpired, event.Heartbeat, event.Misbehaving:
			continue
		}
		out = append(out, e.Kind.String()+" "+e.UserID)
	}
	return out
}

// fromPlan lists the actions a plan calls for, in planned's form, for a
// device that nothing disturbs.
func fromPlan(p agent.Plan) []string {
	out := []string{"connect " + p.User, "login " + p.User}
	user := p.User
	type step struct {
		at   time.Duration
		flap bool
	}
	var steps []step
	if p.Flap {
		steps = append(steps, step{p.FlapAt, true})
	}
	if p.Switch {
		steps = append(steps, step{p.SwitchAt, false})
	}
	// A flap goes first at the same instant, as in agent.Device.Run.
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at < steps[j].at })
	for _, s := range steps {
		if s.flap {
			out = append(out, "disconnect "+user, "connect "+user, "resume "+user)
			continue
		}
		out = append(out, "switch_user "+p.SwitchTo, "logout "+user, "login "+p.SwitchTo)
		user = p.SwitchTo
	}
	if p.Leave == agent.LeaveLogout {
		return append(out, "logout "+user)
	}
	return append(out, "app_kill "+user)
}

// actions renders events for a failure message.
func actions(evs []event.Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		s := e.Kind.String()
		if e.Outcome != 0 {
			s += " " + e.Outcome.String()
		}
		if e.Code != 0 {
			s += fmt.Sprintf(" %d", e.Code)
		}
		out = append(out, s)
	}
	return out
}
