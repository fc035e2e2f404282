package check

import (
	"slices"
	"strings"
	"testing"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

func (b *hb) loginRefused(dev string, sent, at, code int) {
	b.emit(event.Event{Kind: event.Login, Outcome: event.Failed, Device: dev, Start: tms(sent), At: tms(at), Code: code})
}

// The oracle's default refusal code is the protocol's.
func TestDefaultRefusalCodes(t *testing.T) {
	if !slices.Equal(DefaultRefusalCodes, []int{codes.LoginRefused}) {
		t.Fatalf("DefaultRefusalCodes %v, want [%d] (codes.LoginRefused)", DefaultRefusalCodes, codes.LoginRefused)
	}
}

// TestRefusals pins how refused logins are judged, under dual-platform
// (one native instance plus Web) kicking the old session and refusing the
// new login, in both modes.
func TestRefusals(t *testing.T) {
	A, B, W := "A-android", "B-iphone", "W-web"
	const refused = codes.LoginRefused
	cases := []struct {
		name      string
		refuseNew bool
		build     func(b *hb)
		seq, srch verdictCounts
		text      string // in the wrong_refusal example
	}{
		{
			name: "kick_old: a refusal is always wrong",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.loginRefused(B, 100, 108, refused)
			},
			seq: verdictCounts{WrongRefusal: 1}, srch: verdictCounts{WrongRefusal: 1},
			text: "the newest login always wins",
		},
		{
			name: "kick_old: a refusal for another reason is not judged",
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.loginRefused(B, 100, 108, codes.SigBadSignature)
				b.loginRefused(B, 200, 208, codes.SigRateLimited)
			},
			seq: verdictCounts{}, srch: verdictCounts{},
		},
		{
			name:      "refuse_new: refused while the limit is full",
			refuseNew: true,
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.loginRefused(B, 100, 108, refused)
			},
			seq: verdictCounts{}, srch: verdictCounts{},
		},
		{
			name:      "refuse_new: refused with nobody online",
			refuseNew: true,
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.op(event.Logout, event.OK, A, 50, 56)
				b.loginRefused(B, 100, 108, refused)
			},
			seq: verdictCounts{WrongRefusal: 1}, srch: verdictCounts{WrongRefusal: 1},
			text: "the limit was not full",
		},
		{
			name:      "refuse_new: refused where Web has room",
			refuseNew: true,
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.loginRefused(W, 100, 108, refused)
			},
			seq: verdictCounts{WrongRefusal: 1}, srch: verdictCounts{WrongRefusal: 1},
			text: "A-android (Android)",
		},
		{
			name:      "refuse_new: a logout racing the refused login makes it uncertain",
			refuseNew: true,
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.op(event.Logout, event.OK, A, 100, 106)
				b.loginRefused(B, 102, 108, refused)
			},
			seq: verdictCounts{}, srch: verdictCounts{},
		},
		{
			name:      "refuse_new: a killed app may still hold its session",
			refuseNew: true,
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.at(event.AppKill, A, 50)
				b.loginRefused(B, 100, 108, refused)
			},
			seq: verdictCounts{}, srch: verdictCounts{},
		},
		{
			name:      "refuse_new: a login that timed out may hold a session",
			refuseNew: true,
			build: func(b *hb) {
				b.loginTimedOut(A, 0, 60)
				b.loginRefused(B, 100, 108, refused)
			},
			seq: verdictCounts{}, srch: verdictCounts{},
		},
		{
			name:      "refuse_new: the device's new login supersedes its session",
			refuseNew: true,
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.at(event.AppKill, A, 20)
				b.login(A, 30, 40, 2)
				b.op(event.Logout, event.OK, A, 50, 56)
				b.loginRefused(B, 100, 108, refused)
			},
			seq: verdictCounts{WrongRefusal: 1}, srch: verdictCounts{WrongRefusal: 1},
		},
		{
			name:      "refuse_new: admitted after a killed app's session may have ended",
			refuseNew: true,
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.at(event.AppKill, A, 50)
				b.login(B, 400, 408, 2)
			},
			seq: verdictCounts{}, srch: verdictCounts{},
		},
		{
			name:      "refuse_new: a login that kicks is wrong",
			refuseNew: true,
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.login(B, 100, 108, 2)
				b.kicked(A, 112, 1, 2, B)
			},
			seq: verdictCounts{SpuriousKick: 1}, srch: verdictCounts{NoOrder: 1},
		},
		{
			name:      "refuse_new: admitted although the limit was full",
			refuseNew: true,
			build: func(b *hb) {
				b.login(A, 0, 10, 1)
				b.login(B, 100, 108, 2)
				b.op(event.Logout, event.OK, A, 800, 806)
				b.op(event.Logout, event.OK, B, 810, 816)
			},
			seq: verdictCounts{OverLimit: 1}, srch: verdictCounts{OverLimit: 1, NoOrder: 1},
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
				b.device(A, policy.Android)
				b.device(B, policy.IPhone)
				b.device(W, policy.Web)
				tc.build(b)
				pol := mustTencent(t, policy.DualPlatform, 1, 1)
				if tc.refuseNew {
					pol.OnConflict = policy.RefuseNew
				}
				r := Check(b.h, pol, testOpts())
				if got := countsOf(r); got.String() != want.String() {
					dump(t, r)
					t.Fatalf("verdicts %s, want %s", got, want)
				}
				if tc.text == "" {
					return
				}
				ex := r.Verdicts[WrongRefusal].Examples
				if len(ex) != 1 || !strings.Contains(ex[0].Text, tc.text) {
					dump(t, r)
					t.Fatalf("wrong_refusal example lacks %q", tc.text)
				}
				// The timeline marks the refused login.
				if !strings.Contains(ex[0].Text, "* ") || !strings.Contains(ex[0].Text, "login failed code=1008") {
					t.Fatalf("timeline does not mark the refused login:\n%s", ex[0].Text)
				}
			})
		}
	}
}

// A refusal code the target names is judged; the default one is then not.
func TestRefusalCodesOption(t *testing.T) {
	b := newHB(false)
	b.device("A", policy.Android)
	b.device("B", policy.IPhone)
	b.login("A", 0, 10, 1)
	b.loginRefused("B", 100, 108, 214)
	b.loginRefused("B", 200, 208, codes.LoginRefused)
	pol := mustTencent(t, policy.DualPlatform, 1, 1)
	opts := testOpts()
	if n := Check(b.h, pol, opts).Count(WrongRefusal); n != 1 {
		t.Fatalf("default codes: %d wrong refusals, want 1", n)
	}
	opts.RefusalCodes = []int{214}
	r := Check(b.h, pol, opts)
	if r.Count(WrongRefusal) != 1 || r.Checks.Refusals != 1 || !strings.Contains(r.Verdicts[WrongRefusal].Examples[0].Text, "code 214") {
		dump(t, r)
		t.Fatal("want the 214 refusal alone judged")
	}
}
