package check

import (
	"testing"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// A login whose answer never reached its device (timed out, or cut by the
// run's end) may have been accepted and have taken a sequence number that
// no device saw. The login after such a gap may then find fewer sessions
// registered than the devices' view shows: a kick it sent to a later
// session than the policy's earliest is explained by the unseen login
// having displaced the earliest, and is no violation. Without a login that
// could fill the gap, the same kick is still a violation.
func TestSequenceGapFromAnUnansweredLogin(t *testing.T) {
	const W1, W2, W3, W4 = "W1", "W2", "W3", "W4"
	for _, tc := range []struct {
		name       string
		unanswered bool // W3's login timed out (else W3 never logged in)
		want       verdictCounts
	}{
		{name: "gap filled by a timed-out login", unanswered: true, want: verdictCounts{Undecided: 1}},
		{name: "gap with no login to fill it", unanswered: false, want: verdictCounts{WrongVictim: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newHB(false)
			for _, d := range []string{W1, W2, W3, W4} {
				b.device(d, policy.Windows)
			}
			b.login(W1, 0, 10, 1)
			b.login(W2, 20, 30, 2)
			if tc.unanswered {
				b.loginTimedOut(W3, 100, 400)
			}
			b.login(W4, 150, 200, 4)
			b.kicked(W2, 205, 2, 4, W4)
			pol := mustTencent(t, policy.TriplePlatform, 2, 1)
			opts := testOpts()
			opts.End = tms(410) // the run ended before W1 could hear of its kick
			r := Check(b.h, pol, opts)
			if got := countsOf(r); got.String() != tc.want.String() {
				dump(t, r)
				t.Fatalf("verdicts %s, want %s", got, tc.want)
			}
		})
	}
}

// A login storm leaves a device with two sessions: the main connection's
// login (sent last) was answered first and then kicked; an extra
// connection's login, sent earlier and answered later, made the session
// the target still lists when the extra connection is dropped. The status
// is judged against the session the target lists, not the device's last
// login sent.
func TestStatusOfAStormDeviceJudgesTheListedSession(t *testing.T) {
	const D, E = "D", "E"
	b := newHB(false)
	b.device(D, policy.Web)
	b.device(E, policy.Web)
	b.login(D, 101, 110, 1)     // main connection
	b.login(E, 115, 122, 2)     // displaces D's seq 1
	b.kicked(D, 121, 1, 2, E)   //
	b.login(D, 100, 130, 3)     // the storm's extra connection: a new session
	b.kicked(E, 135, 2, 3, D)   //
	b.at(event.AppKill, D, 140) // the extra connection dropped
	b.h.SetServerOnline(b.user, []policy.Instance{{ID: D, Platform: policy.Web, Seq: 3}})
	pol := mustTencent(t, policy.DualPlatform, 1, 1)
	opts := testOpts()
	opts.StatusAt = tms(200)
	r := Check(b.h, pol, opts)
	if got := countsOf(r); got.String() != (verdictCounts{}).String() {
		dump(t, r)
		t.Fatalf("verdicts %s, want none", got)
	}
}

// Two sessions log out around the same login, and which of the two
// removals the target processed first shows only at a later login, when one
// of them is certainly gone. The replay must not commit to the first
// explanation it found at the earlier login: one history explains every
// login (Y removed before W4's login, X still registered when W5's login
// displaced A), so nothing is a violation.
func TestReplayKeepsRacingRemovalsOpen(t *testing.T) {
	const A, X, Y, W4, W5 = "A", "X", "Y", "W4", "W5"
	b := newHB(false)
	for _, d := range []string{A, X, Y, W4, W5} {
		b.device(d, policy.Web)
	}
	b.login(A, 0, 20, 1)
	b.login(X, 0, 30, 2)
	b.login(Y, 0, 40, 3)
	b.login(W4, 110, 130, 4) // one of X, Y was gone already: no kick
	b.op(event.Logout, event.OK, Y, 101, 175)
	b.kicked(A, 195, 1, 5, W5)
	b.login(W5, 180, 200, 5) // A displaced: X was still registered
	b.op(event.Logout, event.OK, X, 100, 300)
	pol := mustTencent(t, policy.MultiPlatform, 1, 3)
	opts := testOpts()
	opts.End = tms(400)
	r := Check(b.h, pol, opts)
	if got := countsOf(r); got.String() != (verdictCounts{}).String() {
		dump(t, r)
		t.Fatalf("verdicts %s, want none", got)
	}
}

// A login no assignment explains, while a session whose removal may precede
// it was kicked by a later login (so it cannot be taken as removed): the
// replay judges it with one consistent set of registered sessions (it once
// judged with the sessions of one try and the instances of another, and
// panicked).
func TestReplayUnexplainedLoginWithAKickedAmbiguousSession(t *testing.T) {
	const A, X, Y, Z, W5, W6 = "A", "X", "Y", "Z", "W5", "W6"
	b := newHB(false)
	for _, d := range []string{A, X, Y, W5, W6} {
		b.device(d, policy.Web)
	}
	b.device(Z, policy.Android)
	b.login(A, 0, 10, 1)
	b.login(X, 0, 20, 2)
	b.login(Y, 0, 30, 3)
	b.login(Z, 0, 40, 4)
	b.at(event.SwitchUser, X, 100) // X's session may be gone from 100 to 100 + Grace
	b.kicked(Z, 125, 4, 5, W5)     // multi-platform: a Web login displaces no Android
	b.login(W5, 110, 130, 5)
	b.kicked(X, 195, 2, 6, W6) // it was not gone yet
	b.login(W6, 180, 200, 6)
	b.op(event.Logout, event.OK, Y, 101, 300)
	opts := testOpts()
	opts.End = tms(400)
	r := Check(b.h, mustTencent(t, policy.MultiPlatform, 1, 3), opts)
	if r.Count(SpuriousKick) == 0 {
		dump(t, r)
		t.Fatal("the kick of Z, which no login displaces, is not a spurious kick")
	}
}
