package check

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// item is one thing a history holds, as it reached the oracle: a device's
// event or a callback, visible from at.
type item struct {
	at   int64
	n    int
	ev   *event.Event
	hook *Callback
}

// itemsOf takes a history apart into the events and callbacks that made it,
// in the order they reached the oracle, and the users' online statuses.
func itemsOf(h *History) ([]item, map[string][]policy.Instance) {
	var items []item
	status := map[string][]policy.Instance{}
	for i := range h.shards {
		for id, u := range h.shards[i].users {
			plat := func(p uint8) policy.Platform {
				if p == 0 || int(p) > len(u.plats) {
					return ""
				}
				return u.plats[p-1]
			}
			for k := range u.recs {
				r := &u.recs[k]
				e := &event.Event{Kind: r.kind, Outcome: r.out, UserID: id, Device: u.devs[r.dev], Platform: plat(r.plat),
					Seq: r.seq, Code: int(r.code), Repeat: r.flags&flagRepeat != 0, ByPlatform: plat(r.byPlat), At: time.Unix(0, r.at)}
				if r.start != 0 && r.kind != event.Kicked {
					e.Start = time.Unix(0, r.start)
				}
				switch {
				case r.kind == event.Kicked:
					e.BySeq = r.bySeq
					if r.start != 0 {
						e.Latency = time.Duration(r.at - r.start)
					}
				case r.kind == event.Login && r.bySeq != 0:
					e.ServerTime = time.Unix(0, int64(r.bySeq))
				}
				if r.byDev > 0 {
					e.ByInstance = u.devs[r.byDev-1]
				}
				items = append(items, item{at: r.at, ev: e})
			}
			for k := range u.hooks {
				w := &u.hooks[k]
				c := &Callback{UserID: id, Action: w.action, Seq: w.seq, At: time.Unix(0, w.at)}
				for j, p := range w.kicked {
					e := KickedEntry{Platform: plat(p)}
					if w.kickedSeq != nil {
						e.Seq = w.kickedSeq[j]
					}
					c.Kicked = append(c.Kicked, e)
				}
				items = append(items, item{at: w.at, hook: c})
			}
			if u.hasStatus {
				in := []policy.Instance{}
				for _, s := range u.online {
					in = append(in, policy.Instance{ID: u.devs[s.dev], Platform: plat(s.plat), Seq: s.seq})
				}
				status[id] = in
			}
		}
	}
	for i := range items {
		items[i].n = i
	}
	slices.SortFunc(items, func(x, y item) int {
		if c := cmp.Compare(x.at, y.at); c != 0 {
			return c
		}
		return cmp.Compare(x.n, y.n)
	})
	return items, status
}

// replayed feeds items and statuses into a new history in the order they
// came, calling Settle every step of their time (step 0: never), and
// returns the history and what the Settle calls dropped.
func replayed(items []item, status map[string][]policy.Instance, pol *policy.Policy, opts Options, so SettleOptions, step time.Duration) (*History, SettleStats) {
	h := NewHistory()
	var st SettleStats
	var next int64
	for _, it := range items {
		if step > 0 && it.at >= next {
			if next != 0 {
				s := h.Settle(time.Unix(0, it.at), pol, opts, so)
				st.Users += s.Users
				st.Events += s.Events
				st.Hooks += s.Hooks
			}
			next = it.at + int64(step)
		}
		if it.ev != nil {
			h.Observe(it.ev)
		} else {
			h.AddCallback(*it.hook)
		}
	}
	for id, in := range status {
		h.SetServerOnline(id, in)
	}
	return h, st
}

func failDiff(t *testing.T, want, got *Report) {
	t.Helper()
	if d := Diff(want, got); d != nil {
		dump(t, want)
		dump(t, got)
		t.Fatalf("the report with settling differs from the end-of-run one:\n%s", strings.Join(d, "\n"))
	}
}

// Simulated runs, correct and faulted, fed to the oracle in the order they
// happened with Settle every 100 ms: the report equals the one of the
// whole history judged at the end, and settling dropped history.
func TestSettleGivesTheEndOfRunReport(t *testing.T) {
	faults := []simFault{faultNone, faultWrongVictim, faultDropKick, faultExtraKick, faultLateKick,
		faultNoEnforce, faultGhost, faultLost, faultWebhook}
	settled := 0
	for i, f := range faults {
		for _, devices := range []int{1, 2, 3} {
			pol := mustTencent(t, tencentNames[(i+devices)%len(tencentNames)], 1+devices%2, 1)
			cfg := simConfig{pol: pol, users: 30, devices: devices, acts: 40, platforms: mixPlatforms,
				seed: uint64(100*i + devices), fault: f, webhooks: i%2 == 0 || f == faultWebhook, hookSeq: i%3 != 0,
				status: true, churn: true}
			whole, _ := simulate(cfg)
			opts := testOpts()
			opts.Examples = 3
			opts.End = time.Unix(0, whole.end())
			items, status := itemsOf(whole)
			want := Check(whole, pol, opts)
			plain, _ := replayed(items, status, pol, opts, SettleOptions{}, 0)
			failDiff(t, want, Check(plain, pol, opts)) // the replay itself loses nothing
			// Quiet: past the late-kick fault's 3 s, as a run's quiet is
			// past its faults' delays.
			so := SettleOptions{Quiet: time.Second, Webhooks: cfg.webhooks}
			if f == faultLateKick {
				so.Quiet = 4 * time.Second
			}
			h, st := replayed(items, status, pol, opts, so, 100*time.Millisecond)
			got := Check(h, pol, opts)
			t.Logf("%s, %d devices: %d segments (%d events) settled, %d violations", f, devices, st.Users, st.Events, got.Violations())
			failDiff(t, want, got)
			if got.Checks.SettleCrossings != 0 {
				t.Fatalf("%s: %d crossings", f, got.Checks.SettleCrossings)
			}
			settled += st.Users
		}
	}
	if settled < 50 {
		t.Fatalf("only %d segments settled: the test does not exercise settling", settled)
	}
}

// twin builds one user's history twice, as it happens: into s, which
// Settle judges as it goes, and into e, judged only at the end.
type twin struct {
	t    *testing.T
	s, e *hb
	pol  *policy.Policy
	opts Options
	so   SettleOptions
}

func newTwin(t *testing.T, quiet time.Duration, webhooks bool) *twin {
	w := &twin{t: t, s: newHB(false), e: newHB(false), pol: mustTencent(t, policy.DualPlatform, 1, 1), opts: testOpts(),
		so: SettleOptions{Quiet: quiet, Webhooks: webhooks}}
	for _, b := range []*hb{w.s, w.e} {
		b.device("A", policy.Android)
		b.device("B", policy.Android)
	}
	return w
}

func (w *twin) login(dev string, sent, ok int, seq uint64) {
	w.s.login(dev, sent, ok, seq)
	w.e.login(dev, sent, ok, seq)
}
func (w *twin) logout(dev string, sent, ok int) {
	w.s.op(event.Logout, event.OK, dev, sent, ok)
	w.e.op(event.Logout, event.OK, dev, sent, ok)
}
func (w *twin) kicked(dev string, at int, seq, bySeq uint64, by string) {
	w.s.kicked(dev, at, seq, bySeq, by)
	w.e.kicked(dev, at, seq, bySeq, by)
}
func (w *twin) callback(at int, seq uint64) {
	hooks{b: w.s}.login(at, seq)
	hooks{b: w.e}.login(at, seq)
}

// bothLogOut: B's login displaces A, then both log out before B's kick
// reaches A.
func (w *twin) bothLogOut() {
	w.login("A", 0, 10, 1)
	w.login("B", 100, 110, 2)
	w.logout("A", 115, 120)
	w.logout("B", 130, 140)
}

// settle calls Settle at ms and checks whether it cut the user's history.
func (w *twin) settle(ms int, wantCut bool) {
	w.t.Helper()
	st := w.s.h.Settle(tms(ms), w.pol, w.opts, w.so)
	if got := st.Users == 1; got != wantCut {
		w.t.Fatalf("Settle at %d ms: cut %v, want %v", ms, got, wantCut)
	}
}

// check judges both histories at end ms; the reports must be the same,
// crossings apart, which are returned.
func (w *twin) check(end int) (*Report, int64) {
	w.t.Helper()
	opts := w.opts
	opts.End = tms(end)
	want, got := Check(w.e.h, w.pol, opts), Check(w.s.h, w.pol, opts)
	crossings := got.Checks.SettleCrossings
	got.Checks.SettleCrossings = 0
	failDiff(w.t, want, got)
	return want, crossings
}

// A kick that reaches a device after it logged out, within LateAfter of its
// login: the history is not cut before the kick is due.
func TestSettleWaitsForAKickAfterALogout(t *testing.T) {
	w := newTwin(t, 50*time.Millisecond, false)
	w.bothLogOut()
	w.settle(300, false) // B's kick to A may still come until 310
	w.kicked("A", 305, 1, 2, "B")
	w.settle(600, true)
	rep, crossings := w.check(700)
	if rep.Violations() != 0 || crossings != 0 || rep.Checks.Kicks != 1 {
		t.Fatalf("violations %d, crossings %d, kicks %d; want 0, 0, 1", rep.Violations(), crossings, rep.Checks.Kicks)
	}
}

// A late kick (past LateAfter) that comes within the quiet time: the
// history waits, and the late kick is judged with its example. With a quiet
// time shorter than the kick's lateness the history is cut first, and the
// kick that names the dropped login counts as a crossing.
func TestSettleLateKickWithinQuiet(t *testing.T) {
	w := newTwin(t, 300*time.Millisecond, false)
	w.bothLogOut()
	w.settle(400, false)
	w.kicked("A", 500, 1, 2, "B") // 390 ms after B's ok: late
	w.settle(1000, false)         // a verdict: the history stays
	rep, crossings := w.check(1100)
	if rep.Count(LateKick) != 1 || len(rep.Verdicts[LateKick].Examples) != 1 || crossings != 0 {
		t.Fatalf("late kicks %d (examples %d), crossings %d; want 1 (1), 0", rep.Count(LateKick), len(rep.Verdicts[LateKick].Examples), crossings)
	}

	short := newTwin(t, 50*time.Millisecond, false)
	short.bothLogOut()
	short.settle(400, true)
	short.kicked("A", 500, 1, 2, "B")
	got := Check(short.s.h, short.pol, Options{Grace: short.opts.Grace, LateAfter: short.opts.LateAfter, End: tms(1100)})
	if got.Checks.SettleCrossings != 1 {
		t.Fatalf("crossings %d, want 1: a kick naming a dropped login must show", got.Checks.SettleCrossings)
	}
	// Judged without the dropped part, the history proves nothing: what
	// would be a violation is undecided.
	if got.Violations() != 0 || got.Count(Undecided) == 0 {
		t.Fatalf("violations %d, undecided %d; want 0 and at least 1 for a history that crossed a cut", got.Violations(), got.Count(Undecided))
	}
	if ex := got.Verdicts[Undecided].Examples; len(ex) == 0 || !strings.Contains(ex[0].Text, "crossed a settled cut") {
		t.Fatalf("the undecided example does not say the history crossed a cut: %+v", ex)
	}
}

// A login sent while the user looked settled and answered after the
// Settle call: a quiet time as long as an operation's timeout keeps the
// history until it is answered.
func TestSettleWaitsForALoginInFlight(t *testing.T) {
	w := newTwin(t, 2500*time.Millisecond, false)
	w.login("A", 0, 10, 1)
	w.logout("A", 50, 60)
	w.settle(1000, false) // B's login, sent at 40, is in flight
	w.login("B", 40, 2000, 2)
	w.settle(2100, false) // B is online
	w.logout("B", 2100, 2110)
	w.settle(4000, false) // not quiet for 2.5 s yet
	w.settle(5000, true)
	if rep, crossings := w.check(5100); rep.Violations() != 0 || crossings != 0 {
		t.Fatalf("violations %d, crossings %d", rep.Violations(), crossings)
	}

	short := newTwin(t, 300*time.Millisecond, false)
	short.login("A", 0, 10, 1)
	short.logout("A", 50, 60)
	short.settle(1000, true)
	short.login("B", 40, 2000, 2)
	short.logout("B", 2100, 2110)
	got := Check(short.s.h, short.pol, Options{Grace: short.opts.Grace, LateAfter: short.opts.LateAfter, End: tms(2200)})
	if got.Checks.SettleCrossings != 1 || got.Checks.Users != 1 {
		t.Fatalf("crossings %d, users %d; want 1, 1", got.Checks.SettleCrossings, got.Checks.Users)
	}
}

// A login whose callback comes late: while callbacks are expected the
// history waits for it; a callback that never comes is a mismatch judged
// on the whole history at the end.
func TestSettleWaitsForALateCallback(t *testing.T) {
	w := newTwin(t, 100*time.Millisecond, true)
	w.login("A", 0, 10, 1)
	w.logout("A", 50, 60)
	w.settle(700, false)
	w.callback(5, 1) // its time is the target's: before the quiet began
	w.settle(900, true)
	if rep, crossings := w.check(1000); rep.Violations() != 0 || crossings != 0 || rep.Checks.Webhooks != 1 {
		t.Fatalf("violations %d, crossings %d, callbacks %d", rep.Violations(), crossings, rep.Checks.Webhooks)
	}

	never := newTwin(t, 100*time.Millisecond, true)
	never.callback(0, 0) // callbacks are flowing (another login's)
	never.login("A", 0, 10, 1)
	never.login("B", 20, 30, 2)
	never.kicked("A", 40, 1, 2, "B")
	never.callback(25, 2)
	never.logout("B", 50, 60)
	never.settle(700, false)
	never.settle(900, false)
	if rep, _ := never.check(1000); rep.Count(WebhookMismatch) == 0 {
		t.Fatal("the login without a callback is no mismatch")
	}
}

// Callbacks judged while the run went on and discarded at its end (the
// target lost some) leave no trace in the report.
func TestSettleDiscardedCallbacks(t *testing.T) {
	w := newTwin(t, 100*time.Millisecond, true)
	w.login("A", 0, 10, 1)
	w.callback(5, 1)
	w.logout("A", 50, 60)
	w.settle(900, true)
	w.login("B", 1000, 1010, 2)
	w.callback(1005, 2)
	w.logout("B", 1050, 1060)
	w.s.h.DiscardCallbacks()
	w.e.h.DiscardCallbacks()
	rep, crossings := w.check(2000)
	if rep.Checks.Webhooks != 0 || crossings != 0 || rep.Checks.Users != 1 || rep.Checks.Logins != 2 {
		t.Fatalf("checks %+v, crossings %d", rep.Checks, crossings)
	}
}

// An online status that lists a session of a dropped segment, beside the
// device's session kept: judged as the end-of-run check judges it, from
// what the residue remembers of the cut sessions.
func TestSettleStatusListsACutSession(t *testing.T) {
	for _, tc := range []struct {
		name   string
		listed []uint64 // sequences of A the target lists
	}{
		{"the stale session first", []uint64{1, 2}},
		{"the stale session last", []uint64{2, 1}},
		{"the stale session alone", []uint64{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newTwin(t, 100*time.Millisecond, false)
			w.login("A", 0, 10, 1)
			w.logout("A", 50, 60)
			w.settle(2000, true)
			w.login("A", 3000, 3010, 2)
			var in []policy.Instance
			for _, q := range tc.listed {
				in = append(in, policy.Instance{ID: "A", Platform: policy.Android, Seq: q})
			}
			w.s.h.SetServerOnline(w.s.user, in)
			w.e.h.SetServerOnline(w.e.user, in)
			rep, crossings := w.check(4000)
			t.Logf("ghosts %d", rep.Count(GhostSession))
			if crossings != 0 || rep.Checks.StatusUsers != 1 {
				t.Fatalf("crossings %d, statuses %d", crossings, rep.Checks.StatusUsers)
			}
		})
	}
}
