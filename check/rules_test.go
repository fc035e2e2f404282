package check

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// hb builds one user's history by hand; times are ms from simBase.
type hb struct {
	h     *History
	user  string
	noSeq bool
	plats map[string]policy.Platform
}

func newHB(noSeq bool) *hb {
	return &hb{h: NewHistory(), user: "alice", noSeq: noSeq, plats: map[string]policy.Platform{}}
}

func tms(v int) time.Time { return simBase.Add(time.Duration(v) * time.Millisecond) }

func (b *hb) emit(e event.Event) {
	e.UserID = b.user
	if e.Platform == "" {
		e.Platform = b.plats[e.Device]
	}
	if b.noSeq {
		e.Seq, e.BySeq = 0, 0
	}
	b.h.Observe(&e)
}

func (b *hb) device(id string, p policy.Platform) { b.plats[id] = p }

// login is a successful login; the target accepted it at its ok time
// (server time), unless the history is of a target without sequence
// numbers (seq 0), which gives no server time either.
func (b *hb) login(dev string, sent, ok int, seq uint64) {
	e := event.Event{Kind: event.Login, Outcome: event.OK, Device: dev, Start: tms(sent), At: tms(ok), Seq: seq}
	if seq > 0 {
		e.ServerTime = tms(ok)
	}
	b.emit(e)
}

func (b *hb) loginTimedOut(dev string, sent, at int) {
	b.emit(event.Event{Kind: event.Login, Outcome: event.TimedOut, Device: dev, Start: tms(sent), At: tms(at)})
}

func (b *hb) kicked(dev string, at int, seq, bySeq uint64, by string) {
	e := event.Event{Kind: event.Kicked, Device: dev, At: tms(at), Seq: seq, BySeq: bySeq}
	if by != "" {
		e.ByInstance, e.ByPlatform = by, b.plats[by]
	}
	b.emit(e)
}

func (b *hb) op(kind event.Kind, out event.Outcome, dev string, sent, at int) {
	b.emit(event.Event{Kind: kind, Outcome: out, Device: dev, Start: tms(sent), At: tms(at)})
}

func (b *hb) at(kind event.Kind, dev string, at int) {
	b.emit(event.Event{Kind: kind, Device: dev, At: tms(at)})
}

type verdictCounts map[Class]int64

func (w verdictCounts) String() string {
	var parts []string
	for c := Class(0); c < NumClasses; c++ {
		if w[c] != 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", c, w[c]))
		}
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func countsOf(r *Report) verdictCounts {
	out := verdictCounts{}
	for c := Class(0); c < NumClasses; c++ {
		if n := r.Count(c); n != 0 {
			out[c] = n
		}
	}
	return out
}

// TestRules pins the oracle's documented rules on small hand-built
// histories, in both modes (sequence numbers stripped for search).
func TestRules(t *testing.T) {
	A, B, W := "A-android", "B-iphone", "W-web"
	setup := func(b *hb) {
		b.device(A, policy.Android)
		b.device(B, policy.IPhone)
		b.device(W, policy.Web)
	}
	cases := []struct {
		name      string
		build     func(b *hb)
		seq, srch verdictCounts
		check     func(t *testing.T, r *Report)
	}{
		{
			name: "kick in time",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.login(B, 100, 108, 2)
				b.kicked(A, 112, 1, 2, B)
			},
			seq: verdictCounts{}, srch: verdictCounts{},
			check: func(t *testing.T, r *Report) {
				if r.KickLatency.Count() != 1 || r.KickLatency.Max() < 3*time.Millisecond || r.KickLatency.Max() > 5*time.Millisecond {
					t.Fatalf("latency: n=%d max=%s, want one value of 4ms", r.KickLatency.Count(), r.KickLatency.Max())
				}
			},
		},
		{
			name: "logout racing the displacing login needs no kick",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.op(event.Logout, event.OK, A, 100, 106)
				b.login(B, 102, 108, 2)
			},
			seq: verdictCounts{}, srch: verdictCounts{},
		},
		{
			name: "logout well after the login does not excuse the kick",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.login(B, 100, 108, 2)
				b.op(event.Logout, event.OK, A, 500, 506)
			},
			seq:  verdictCounts{MissingKick: 1, OverLimit: 1},
			srch: verdictCounts{NoOrder: 1, OverLimit: 1},
		},
		{
			name: "victim disconnected and failed to resume is excused",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.at(event.Disconnect, A, 50)
				b.login(B, 100, 108, 2)
				b.op(event.Resume, event.Failed, A, 300, 305)
			},
			seq: verdictCounts{}, srch: verdictCounts{},
		},
		{
			name: "victim deaf from before the displacement (a heartbeat found it dead) is excused",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.login(B, 100, 108, 2)
				// A partition from +60: the heartbeat that found it came
				// back unanswered at +1500; the connection last answered
				// at +60, so the kick sent at +108 may never have come.
				b.emit(event.Event{Kind: event.Disconnect, Device: A, Start: tms(60), At: tms(1500)})
				b.op(event.Resume, event.Failed, A, 1600, 1605)
			},
			seq: verdictCounts{}, srch: verdictCounts{},
		},
		{
			name: "victim that noticed its drop only later, with no deafness known, is missing",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.login(B, 100, 108, 2)
				b.at(event.Disconnect, A, 1500)
				b.op(event.Resume, event.Failed, A, 1600, 1605)
			},
			seq:  verdictCounts{MissingKick: 1, OverLimit: 1},
			srch: verdictCounts{NoOrder: 1, OverLimit: 1},
		},
		{
			name: "victim that resumed and was never told is missing",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.at(event.Disconnect, A, 50)
				b.login(B, 100, 108, 2)
				b.op(event.Resume, event.OK, A, 300, 305)
				b.op(event.Logout, event.OK, A, 900, 905)
			},
			seq:  verdictCounts{MissingKick: 1, OverLimit: 1},
			srch: verdictCounts{NoOrder: 1, OverLimit: 1},
		},
		{
			name: "killed app is excused",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.at(event.AppKill, A, 50)
				b.login(B, 100, 108, 2)
			},
			seq: verdictCounts{}, srch: verdictCounts{},
		},
		{
			name: "a killed app's own next login replaces it",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.at(event.AppKill, A, 50)
				b.login(A, 100, 108, 2)
				b.login(W, 200, 208, 3)
			},
			seq: verdictCounts{}, srch: verdictCounts{},
		},
		{
			name: "admin kick is counted, not judged",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.kicked(A, 200, 1, 0, "")
				b.login(B, 300, 308, 2)
			},
			seq: verdictCounts{}, srch: verdictCounts{},
			check: func(t *testing.T, r *Report) {
				if r.Checks.UnnamedKicks != 1 || r.Checks.Kicks != 0 {
					t.Fatalf("checks %+v, want one admin kick", r.Checks)
				}
			},
		},
		{
			name: "login that timed out on its device but displaced is inferred",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.loginTimedOut(B, 100, 5100)
				b.kicked(A, 110, 1, 2, B)
			},
			seq: verdictCounts{}, srch: verdictCounts{},
			check: func(t *testing.T, r *Report) {
				if r.Checks.InferredLogins != 1 {
					t.Fatalf("checks %+v, want one inferred login", r.Checks)
				}
			},
		},
		{
			name: "kick naming a login nobody made is spurious",
			build: func(b *hb) {
				b.device("Z", policy.Mac)
				b.login(A, 0, 10, 1)
				b.kicked(A, 200, 1, 7, "Z")
			},
			seq:  verdictCounts{SpuriousKick: 1},
			srch: verdictCounts{SpuriousKick: 1},
		},
		{
			name: "web does not conflict with native under dual-platform",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.login(W, 100, 108, 2)
				b.kicked(A, 112, 1, 2, W)
			},
			seq:  verdictCounts{SpuriousKick: 1},
			srch: verdictCounts{NoOrder: 1},
		},
		{
			name: "kick within grace but after LateAfter",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.login(B, 100, 108, 2)
				b.kicked(A, 108+150, 1, 2, B)
			},
			seq:  verdictCounts{LateKick: 1},
			srch: verdictCounts{LateKick: 1},
		},
		{
			name: "kick past grace",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.login(B, 100, 108, 2)
				b.kicked(A, 108+250, 1, 2, B)
			},
			seq:  verdictCounts{LateKick: 1, OverLimit: 1},
			srch: verdictCounts{LateKick: 1, OverLimit: 1},
		},
		{
			name: "duplicate notice is not spurious",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.login(B, 100, 108, 2)
				b.kicked(A, 110, 1, 2, B)
				b.kicked(A, 111, 1, 2, B)
			},
			seq: verdictCounts{}, srch: verdictCounts{},
		},
		{
			name: "repeat login of an online instance displaces nothing",
			build: func(b *hb) {
				b.login(W, 0, 10, 1)
				b.emit(event.Event{Kind: event.Login, Outcome: event.OK, Device: W, Start: tms(100), At: tms(105), Seq: 1, Repeat: true})
				b.login(A, 200, 208, 2)
			},
			seq: verdictCounts{}, srch: verdictCounts{},
		},
		{
			name: "switched account goes offline",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.at(event.SwitchUser, A, 50)
				b.login(B, 100, 108, 2)
			},
			seq: verdictCounts{}, srch: verdictCounts{},
		},
	}
	for _, tc := range cases {
		for _, noSeq := range []bool{false, true} {
			mode, want := "sequence", tc.seq
			if noSeq {
				mode, want = "search", tc.srch
			}
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				b := newHB(noSeq)
				setup(b)
				tc.build(b)
				pol := mustTencent(t, policy.DualPlatform, 1, 1)
				opts := testOpts()
				opts.LateAfter = 100 * time.Millisecond
				r := Check(b.h, pol, opts)
				if got := countsOf(r); got.String() != want.String() {
					dump(t, r)
					t.Fatalf("verdicts %s, want %s", got, want)
				}
				if r.Mode != mode {
					t.Fatalf("mode %q, want %q", r.Mode, mode)
				}
				if tc.check != nil {
					tc.check(t, r)
				}
			})
		}
	}
}

// The target's online status is compared with the devices' view at the
// time it was taken.
func TestStatusAt(t *testing.T) {
	A, B, W := "A-android", "B-iphone", "W-web"
	build := func() *hb {
		b := newHB(false)
		b.device(A, policy.Android)
		b.device(B, policy.IPhone)
		b.device(W, policy.Web)
		b.login(A, 0, 10, 1)
		b.login(W, 20, 30, 2)
		b.login(B, 40, 50, 3)
		b.op(event.Logout, event.OK, B, 200, 205)
		b.at(event.AppKill, A, 1000) // the run ended
		b.at(event.AppKill, W, 1000)
		return b
	}
	pol := mustTencent(t, policy.MultiPlatform, 1, 1)
	cases := []struct {
		name     string
		statusAt int
		listed   []string
		want     verdictCounts
	}{
		{"all as devices hold", 500, []string{A, W}, verdictCounts{}},
		{"lost before the devices stopped", 500, []string{A}, verdictCounts{LostSession: 1}},
		{"ghost of a logged out device", 500, []string{A, W, B}, verdictCounts{GhostSession: 1}},
		{"logout in flight is not judged", 202, []string{A, W, B}, verdictCounts{}},
		{"killed apps are not judged", 0, []string{}, verdictCounts{}},
		{"ghosts are judged after the end", 0, []string{B}, verdictCounts{GhostSession: 1}},
		{"an older login of an online device", 500, []string{A, W, "A-android#0"}, verdictCounts{GhostSession: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := build()
			var insts []policy.Instance
			for _, id := range tc.listed {
				seq := map[string]uint64{A: 1, W: 2, B: 3}[id]
				if id == "A-android#0" {
					id, seq = A, 7 // not the login the device holds
				}
				insts = append(insts, policy.Instance{ID: id, Platform: b.plats[id], Seq: seq})
			}
			b.h.SetServerOnline(b.user, insts)
			opts := testOpts()
			if tc.statusAt > 0 {
				opts.StatusAt = tms(tc.statusAt)
			}
			r := Check(b.h, pol, opts)
			if got := countsOf(r); got.String() != tc.want.String() {
				dump(t, r)
				t.Fatalf("verdicts %s, want %s", got, tc.want)
			}
			if r.Checks.StatusUsers != 1 {
				t.Fatalf("status users %d", r.Checks.StatusUsers)
			}
		})
	}
}

// Search mode: concurrent logins may be ordered either way; the oracle
// accepts a history when some order explains it and rejects it when none
// does.
func TestSearchOrdersConcurrentLogins(t *testing.T) {
	A, B, C := "A-android", "B-iphone", "C-windows"
	cases := []struct {
		name   string
		build  func(b *hb)
		accept bool
	}{
		{"B then C", func(b *hb) {
			b.login(B, 100, 150, 0)
			b.login(C, 110, 140, 0)
			b.kicked(A, 145, 0, 0, B)
			b.kicked(B, 160, 0, 0, C)
		}, true},
		{"C then B", func(b *hb) {
			b.login(B, 100, 150, 0)
			b.login(C, 110, 140, 0)
			b.kicked(A, 145, 0, 0, C)
			b.kicked(C, 160, 0, 0, B)
		}, true},
		{"C kicks both: no order", func(b *hb) {
			b.login(B, 100, 150, 0)
			b.login(C, 110, 140, 0)
			b.kicked(A, 145, 0, 0, C)
			b.kicked(B, 160, 0, 0, C)
		}, false},
		{"real time forbids B before C", func(b *hb) {
			b.login(C, 110, 120, 0)
			b.login(B, 130, 150, 0)
			b.kicked(A, 145, 0, 0, B)
			b.kicked(B, 160, 0, 0, C)
		}, false},
		{"nobody told A", func(b *hb) {
			b.login(B, 100, 150, 0)
			b.login(C, 110, 140, 0)
			b.kicked(B, 160, 0, 0, C)
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newHB(true)
			b.device(A, policy.Android)
			b.device(B, policy.IPhone)
			b.device(C, policy.Windows)
			b.login(A, 0, 10, 0)
			tc.build(b)
			b.op(event.Logout, event.OK, C, 170, 175) // end the run with every device told
			b.op(event.Logout, event.OK, B, 170, 175)
			b.op(event.Logout, event.OK, A, 1000, 1005) // past every kick's deadline
			pol := mustTencent(t, policy.SinglePlatform, 1, 1)
			opts := testOpts()
			opts.Grace = time.Second // judge the order, not the overlap
			r := Check(b.h, pol, opts)
			if r.Checks.SearchUsers != 1 || r.Count(Undecided) != 0 {
				t.Fatalf("checks %+v, undecided %d", r.Checks, r.Count(Undecided))
			}
			if got := r.Count(NoOrder); (got == 0) != tc.accept {
				dump(t, r)
				t.Fatalf("no_order %d, accept %v", got, tc.accept)
			}
			if !tc.accept && !strings.Contains(r.Verdicts[NoOrder].Examples[0].Text, "longest explained prefix: login A-android") {
				t.Fatalf("example lacks the explained prefix:\n%s", r.Verdicts[NoOrder].Examples[0].Text)
			}
			// The same history in sequence mode cannot be ordered by Seq,
			// so Sequence falls back to login ok order.
			opts.Mode = Sequence
			if rs := Check(b.h, pol, opts); rs.Checks.SequenceUsers != 1 {
				t.Fatalf("forced sequence mode checked %+v", rs.Checks)
			}
		})
	}
}

// A search that cannot finish within its budget is undecided, not a
// violation.
func TestSearchBudgetGivesUndecided(t *testing.T) {
	b := newHB(true)
	pol := mustTencent(t, policy.MultiPlatform, 1, 10)
	// 14 Web instances log in at once and nobody is kicked: the 11th must
	// displace someone, so no order exists, and proving it means trying
	// the orders of up to ten instances.
	for i := 0; i < 14; i++ {
		d := fmt.Sprintf("web%02d", i)
		b.device(d, policy.Web)
		b.login(d, 0, 1000, 0)
	}
	opts := testOpts()
	opts.SearchBudget = 5 * time.Millisecond
	opts.End = tms(10_000) // past the kicks' deadline: nobody is excused
	r := Check(b.h, pol, opts)
	if r.Count(Undecided) != 1 || r.Count(NoOrder) != 0 {
		dump(t, r)
		t.Fatalf("undecided %d, no_order %d; want 1, 0", r.Count(Undecided), r.Count(NoOrder))
	}
	if r.Verdicts[Undecided].Examples[0].User != "alice" {
		t.Fatal("undecided example names the wrong user")
	}
}

// A session the policy displaced just before the status read, whose kick had
// not reached its device when the run ended, is not a lost session: the
// target dropping it is what the policy demands, and the kick may still have
// been on its way (the missing-kick rule judges the notice).
func TestStatusAfterDisplacementInFlight(t *testing.T) {
	A, W := "A-android", "W-web"
	b := newHB(false)
	b.device(A, policy.Android)
	b.device(W, policy.Web)
	b.login(A, 0, 10, 1)
	b.login(W, 400, 405, 2) // single-platform: displaces A
	b.at(event.AppKill, A, 550)
	b.at(event.AppKill, W, 550)
	b.h.SetServerOnline(b.user, []policy.Instance{{ID: W, Platform: policy.Web, Seq: 2}})
	opts := testOpts()
	opts.StatusAt = tms(500)
	r := Check(b.h, mustTencent(t, policy.SinglePlatform, 1, 1), opts)
	if got := countsOf(r); got.String() != (verdictCounts{}).String() {
		dump(t, r)
		t.Fatalf("verdicts %s, want none", got)
	}
	// The same read long after the displacement, with the device still
	// listening and never told, is a missing kick (and the devices held two
	// platforms online past the grace: over limit), and the status agrees
	// with the policy: still no lost session.
	b = newHB(false)
	b.device(A, policy.Android)
	b.device(W, policy.Web)
	b.login(A, 0, 10, 1)
	b.login(W, 400, 405, 2)
	b.at(event.AppKill, A, 2000)
	b.at(event.AppKill, W, 2000)
	b.h.SetServerOnline(b.user, []policy.Instance{{ID: W, Platform: policy.Web, Seq: 2}})
	opts.StatusAt = tms(1500)
	r = Check(b.h, mustTencent(t, policy.SinglePlatform, 1, 1), opts)
	if got := countsOf(r); got.String() != (verdictCounts{MissingKick: 1, OverLimit: 1}).String() {
		dump(t, r)
		t.Fatalf("verdicts %s, want one missing kick and one over limit", got)
	}
}
