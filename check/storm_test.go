package check

import (
	"testing"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// Histories that racing logins of one instance (a login storm over several
// connections) and logins cut short by the end of a run leave behind, as
// the reference server produced them; the server did nothing wrong in any.
func TestStormAndUnansweredLogins(t *testing.T) {
	A, B, W := "A-android", "B-iphone", "W-web"
	S, C, D, E, G := "S-android", "C-android", "D-android", "E-android", "G-android" // more Android instances
	multi2, err := policy.Tencent(policy.MultiPlatform, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	multi3, err := policy.Tencent(policy.MultiPlatform, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	repeat := func(b *hb, dev string, sent, ok int, seq uint64) {
		b.emit(event.Event{Kind: event.Login, Outcome: event.OK, Device: dev, Start: tms(sent), At: tms(ok), Seq: seq, Repeat: true})
	}
	cases := []struct {
		name     string
		pol      *policy.Policy // nil: dual-platform
		build    func(b *hb)
		statusAt int      // ms; 0: no status
		listed   []string // instances the target lists at statusAt
		seqs     map[string]uint64
		want     verdictCounts
	}{
		{
			name: "the repeat answer of a storm arrives before the new login's",
			build: func(b *hb) {
				repeat(b, A, 0, 10, 1)
				b.login(A, 0, 11, 1)
				b.login(B, 100, 108, 2)
				b.kicked(A, 110, 1, 2, B)
			},
			want: verdictCounts{},
		},
		{
			name: "a stale repeat answer after the device's newer session",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.login(B, 40, 48, 2)
				b.kicked(A, 50, 1, 2, B)
				b.login(A, 55, 60, 3)
				b.kicked(B, 62, 2, 3, A)
				repeat(b, A, 0, 65, 1) // answered late on another connection
				b.login(B, 200, 204, 4)
				b.kicked(A, 206, 3, 4, B)
				b.login(W, 900, 905, 5)
			},
			want: verdictCounts{},
		},
		{
			name: "an older session of a storm answered after a newer one",
			build: func(b *hb) {
				b.login(B, 40, 48, 2)
				b.login(A, 30, 55, 3) // the second connection's login
				b.login(A, 0, 57, 1)  // the first connection's, answered late
				b.kicked(A, 58, 1, 2, B)
				b.kicked(B, 59, 2, 3, A)
				b.login(W, 900, 905, 4)
			},
			statusAt: 905,
			listed:   []string{A, W},
			seqs:     map[string]uint64{A: 3, W: 4},
			want:     verdictCounts{},
		},
		{
			name: "a storm's side dropped while holding the session, the main resumed it and logged out",
			pol:  multi2,
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.device(S, policy.Android)
				b.login(S, 20, 25, 2)
				b.at(event.Disconnect, S, 26) // the side's repeat login took the session over
				repeat(b, S, 20, 27, 2)
				b.at(event.AppKill, S, 28) // the side dropped
				b.emit(event.Event{Kind: event.Resume, Outcome: event.OK, Device: S, Start: tms(29), At: tms(30), Seq: 2})
				b.op(event.Logout, event.OK, S, 50, 52)
				b.login(C, 100, 105, 3) // a second Android instance beside A's: allowed
				b.op(event.Logout, event.OK, A, 800, 805)
				b.login(W, 900, 905, 4)
			},
			want: verdictCounts{},
		},
		{
			name: "near the end of the run a later kick shows which way a racing logout went",
			pol:  multi2,
			build: func(b *hb) {
				b.device(S, policy.Android)
				b.device(D, policy.Android)
				b.login(A, 0, 10, 1)
				b.login(C, 15, 20, 2)
				b.login(S, 1000, 1002, 3)
				b.op(event.Logout, event.OK, C, 1001, 1003) // may have gone first: it did
				b.login(D, 1008, 1010, 4)
				b.kicked(A, 1011, 1, 4, D)
			},
			want: verdictCounts{},
		},
		{
			name: "two racing logouts: the one sent first is taken as done first",
			pol:  multi3,
			build: func(b *hb) {
				b.device(S, policy.Android)
				b.device(D, policy.Android)
				b.device(E, policy.Android)
				b.login(A, 0, 10, 1)
				b.login(S, 15, 20, 2)
				b.login(C, 25, 30, 3)
				b.op(event.Logout, event.OK, C, 100, 150) // done before D's login
				b.op(event.Logout, event.OK, S, 120, 400) // slow: done after E's
				b.login(D, 130, 140, 4)
				b.login(E, 200, 210, 5)
				b.kicked(A, 212, 1, 5, E)
				b.login(W, 900, 905, 6)
			},
			want: verdictCounts{},
		},
		{
			name: "as above, the side dropped before the main saw its disconnect",
			pol:  multi2,
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.device(S, policy.Android)
				b.login(S, 20, 25, 2)
				repeat(b, S, 20, 27, 2)
				b.at(event.AppKill, S, 28)
				b.at(event.Disconnect, S, 29)
				b.emit(event.Event{Kind: event.Resume, Outcome: event.OK, Device: S, Start: tms(29), At: tms(30), Seq: 2})
				b.op(event.Logout, event.OK, S, 50, 52)
				b.login(C, 100, 105, 3)
				b.op(event.Logout, event.OK, A, 800, 805)
				b.login(W, 900, 905, 4)
			},
			want: verdictCounts{},
		},
		{
			name: "a session displaced while its device was away is kept registered longest",
			pol:  multi3,
			build: func(b *hb) {
				b.device(S, policy.Android)
				b.device(D, policy.Android)
				b.device(E, policy.Android)
				b.device(G, policy.Android)
				b.login(A, 0, 10, 1)
				b.login(C, 15, 20, 2)
				b.login(S, 80, 90, 3)
				b.at(event.Disconnect, S, 91)             // away
				b.op(event.Logout, event.OK, C, 100, 110) // done before D's login
				b.login(D, 105, 112, 4)
				b.login(E, 150, 155, 5)
				b.kicked(A, 156, 1, 5, E)
				b.login(G, 200, 205, 6) // displaces S, which cannot be told
				b.emit(event.Event{Kind: event.Resume, Outcome: event.Failed, Code: 6208, Device: S, Start: tms(295), At: tms(300)})
				b.emit(event.Event{Kind: event.Kicked, Code: 6208, Device: S, At: tms(300), Seq: 3})
				b.login(W, 900, 905, 7)
			},
			want: verdictCounts{},
		},
		{
			name: "a storm's side reported dropped, then the device logged out",
			pol:  multi2,
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.device(S, policy.Android)
				b.login(S, 20, 25, 2)
				repeat(b, S, 20, 27, 2)
				b.at(event.AppKill, S, 28) // a side that had been replaced already
				b.op(event.Logout, event.OK, S, 50, 52)
				b.login(C, 100, 105, 3)
				b.op(event.Logout, event.OK, A, 800, 805)
				b.login(W, 900, 905, 4)
			},
			want: verdictCounts{},
		},
		{
			name: "a session goes on after a new ticket: a displacement without a kick is missing",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.emit(event.Event{Kind: event.SigExpired, Device: A, At: tms(50), Seq: 1})
				repeat(b, A, 52, 55, 1) // logged in again with a new ticket
				b.login(B, 100, 108, 2) // never kicked A
				b.op(event.Logout, event.OK, A, 900, 905)
			},
			want: verdictCounts{MissingKick: 1, OverLimit: 1},
		},
		{
			name: "the callback of a storm's new login answered after its repeat",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.h.AddWebhook(b.user, ActionLogin, nil, tms(12))
				b.h.AddWebhook(b.user, ActionLogin, nil, tms(22))
				repeat(b, W, 40, 45, 2)                                                                                   // a repeat on a second connection, answered first
				b.emit(event.Event{Kind: event.Login, Outcome: event.OK, Device: W, Start: tms(20), At: tms(46), Seq: 2}) // the new login
			},
			want: verdictCounts{},
		},
		{
			name: "a login cancelled at the end of the run that displaced",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.op(event.Login, event.Failed, B, 100, 150)
				b.kicked(A, 104, 1, 2, B)
			},
			want: verdictCounts{},
		},
		{
			name: "status taken while a login that was then cancelled was in flight",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.login(W, 20, 30, 2)
				b.op(event.Login, event.Failed, B, 100, 150)
			},
			statusAt: 120,
			listed:   []string{B, W},
			seqs:     map[string]uint64{B: 3, W: 2},
			want:     verdictCounts{},
		},
		{
			name: "a device cut at the run's end gets no kick for a login after the cut",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.at(event.OnlineAtEnd, A, 100)
				b.login(B, 105, 120, 2) // displaces A at the target; A listens no more
				b.op(event.Logout, event.OK, B, 4000, 4010)
			},
			want: verdictCounts{},
		},
		{
			name: "a login with the cancelled outcome that displaced",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.op(event.Login, event.Cancelled, B, 100, 150)
				b.kicked(A, 104, 1, 2, B)
			},
			want: verdictCounts{},
		},
		{
			name: "status taken while a login then cancelled (its own outcome) was in flight",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.login(W, 20, 30, 2)
				b.op(event.Login, event.Cancelled, B, 100, 150)
			},
			statusAt: 120,
			listed:   []string{B, W},
			seqs:     map[string]uint64{B: 3, W: 2},
			want:     verdictCounts{},
		},
		{
			name: "a login refused with a code is not in flight",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.login(W, 20, 30, 2)
				b.emit(event.Event{Kind: event.Login, Outcome: event.Failed, Code: 70001, Device: B, Start: tms(100), At: tms(150)})
			},
			statusAt: 120,
			listed:   []string{W},
			seqs:     map[string]uint64{W: 2},
			want:     verdictCounts{LostSession: 1},
		},
		{
			// As the reference server did under a loaded machine: the
			// status is read while a storm's later logins are in flight;
			// the target still holds the session they come after, which
			// another login then displaces before they are processed.
			name: "status read while a storm's next logins were in flight lists the session before them",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				repeat(b, A, 0, 11, 1)
				b.login(B, 100, 300, 2)
				b.kicked(A, 299, 1, 2, B)
				b.login(A, 120, 310, 3) // sent before the status read, answered after
				repeat(b, A, 120, 311, 3)
				b.kicked(B, 305, 2, 3, A)
			},
			statusAt: 200,
			listed:   []string{A},
			seqs:     map[string]uint64{A: 1},
			want:     verdictCounts{},
		},
		{
			name: "as above, the storm's racing login sent before the session's answer",
			build: func(b *hb) {
				b.login(A, 0, 50, 1)
				b.login(B, 100, 300, 2)
				b.kicked(A, 299, 1, 2, B)
				b.login(A, 5, 310, 3) // the other connection's, answered late
				b.kicked(B, 305, 2, 3, A)
			},
			statusAt: 200,
			listed:   []string{A},
			seqs:     map[string]uint64{A: 1},
			want:     verdictCounts{},
		},
		{
			name: "a session listed after the device's next login was answered is a ghost",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				repeat(b, A, 0, 11, 1)
				b.login(B, 100, 300, 2)
				b.kicked(A, 299, 1, 2, B)
				b.login(A, 120, 310, 3)
				b.kicked(B, 305, 2, 3, A)
			},
			statusAt: 320,
			listed:   []string{A},
			seqs:     map[string]uint64{A: 1},
			want:     verdictCounts{GhostSession: 1},
		},
		{
			// The device records a kick queued on its connection when it
			// drops it at the run's end, after its online_at_end.
			name: "status read while a kick was on its way that came after the device's cut",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.login(B, 100, 150, 2)
				b.at(event.OnlineAtEnd, A, 300)
				b.kicked(A, 310, 1, 2, B)
			},
			statusAt: 200,
			listed:   []string{B},
			seqs:     map[string]uint64{B: 2},
			want:     verdictCounts{},
		},
		{
			// A storm cut by the run's end: every login unanswered, two of
			// them processed (seq 2, kicked by B's; seq 4, which kicked B's).
			name: "two logins of a storm cut at the end, one displaced and one displacing",
			pol:  mustTencent(t, policy.SinglePlatform, 1, 1),
			build: func(b *hb) {
				b.login(C, 0, 10, 1)
				b.op(event.Login, event.Cancelled, A, 100, 500)
				b.op(event.Login, event.Cancelled, A, 101, 500)
				b.op(event.Login, event.Cancelled, B, 102, 500)
				b.kicked(C, 103, 1, 2, A)
				b.kicked(A, 400, 2, 3, B)
				b.kicked(B, 401, 3, 4, A)
			},
			want: verdictCounts{},
		},
		{
			// policy-web-10 under contention: a device holding a session
			// sent its next logins, cut unanswered by the run's end; the
			// target had processed one and lists its sequence.
			name: "status lists the sequence of a device's login cut unanswered after the session it holds",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.login(W, 20, 30, 2)
				b.op(event.Login, event.Cancelled, A, 100, 500)
				b.op(event.Login, event.Cancelled, A, 101, 500)
			},
			statusAt: 200,
			listed:   []string{A, W},
			seqs:     map[string]uint64{A: 3, W: 2},
			want:     verdictCounts{},
		},
		{
			name: "without a login in flight, another sequence listed for a device holding a session is a ghost",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.login(W, 20, 30, 2)
				b.op(event.Login, event.Cancelled, A, 300, 500) // sent after the status read
			},
			statusAt: 200,
			listed:   []string{A, W},
			seqs:     map[string]uint64{A: 3, W: 2},
			want:     verdictCounts{GhostSession: 1},
		},
		{
			name: "a stale repeat answer does not hide a missing kick",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.login(B, 40, 48, 2)
				repeat(b, A, 0, 65, 1)
				b.op(event.Logout, event.OK, A, 900, 905)
			},
			want: verdictCounts{MissingKick: 1, OverLimit: 1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newHB(false)
			b.device(A, policy.Android)
			b.device(B, policy.IPhone)
			b.device(W, policy.Web)
			b.device(C, policy.Android)
			tc.build(b)
			opts := testOpts()
			if tc.statusAt > 0 {
				var insts []policy.Instance
				for _, id := range tc.listed {
					seq := tc.seqs[id]
					insts = append(insts, policy.Instance{ID: id, Platform: b.plats[id], Seq: seq})
				}
				b.h.SetServerOnline(b.user, insts)
				opts.StatusAt = tms(tc.statusAt)
			}
			pol := tc.pol
			if pol == nil {
				pol = mustTencent(t, policy.DualPlatform, 1, 1)
			}
			r := Check(b.h, pol, opts)
			if got := countsOf(r); got.String() != tc.want.String() {
				dump(t, r)
				t.Fatalf("verdicts %s, want %s", got, tc.want)
			}
		})
	}
}

// Each user's status is judged when it was read (SetServerOnlineAt), not at
// the time the first user's was: reading many users takes a while as
// devices go on.
func TestStatusReadWindow(t *testing.T) {
	A, B, W := "A-android", "B-iphone", "W-web"
	cases := []struct {
		name     string
		window   bool
		from, to int // ms
		want     verdictCounts
	}{
		{"judged at the run's status time", false, 0, 0, verdictCounts{GhostSession: 2}}, // B: its login not sent yet
		{"judged at the user's own read", true, 105, 106, verdictCounts{GhostSession: 1}},
		{"a read that straddles the kick", true, 105, 115, verdictCounts{GhostSession: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newHB(false)
			b.device(A, policy.Android)
			b.device(B, policy.IPhone)
			b.device(W, policy.Web)
			b.login(A, 0, 10, 1)
			b.login(W, 20, 30, 2)
			b.op(event.Logout, event.OK, W, 50, 52)
			b.login(B, 100, 108, 3)
			b.kicked(A, 110, 1, 3, B)
			b.login(A, 500, 510, 4) // kicks B back
			b.kicked(B, 512, 3, 4, A)
			listed := []policy.Instance{{ID: B, Platform: policy.IPhone, Seq: 3}, {ID: W, Platform: policy.Web, Seq: 2}} // W: a ghost
			opts := testOpts()
			opts.StatusAt = tms(60) // when the first user's status was read
			if tc.window {
				b.h.SetServerOnlineAt(b.user, listed, tms(tc.to), tms(tc.from)) // either order
			} else {
				b.h.SetServerOnline(b.user, listed)
			}
			r := Check(b.h, mustTencent(t, policy.DualPlatform, 1, 1), opts)
			if got := countsOf(r); got.String() != tc.want.String() {
				dump(t, r)
				t.Fatalf("verdicts %s, want %s", got, tc.want)
			}
		})
	}
}
