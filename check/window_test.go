package check

import (
	"testing"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// The report counts, per window of the run, the kicks judged in it (by
// their notice's arrival) and the verdicts about a time in it: a clean kick
// counts in the first window only, the missing kick of a later login in
// the second only, a window that holds neither counts nothing, and the
// counts of shards add.
func TestWindowCounts(t *testing.T) {
	A, W := "A-android", "W-web"
	build := func() *hb {
		b := newHB(false)
		b.device(A, policy.Android)
		b.device(W, policy.Web)
		b.login(A, 0, 10, 1)
		b.login(W, 400, 405, 2)
		b.kicked(A, 410, 1, 2, W) // judged: W's login displaces A
		b.login(A, 3000, 3005, 3) // displaces W, which is never told
		b.at(event.AppKill, A, 8000)
		b.at(event.AppKill, W, 8000)
		return b
	}
	opts := testOpts()
	opts.Windows = []Window{{tms(300), tms(1000)}, {tms(2900), tms(7000)}, {tms(7100), tms(7200)}}
	r := Check(build().h, mustTencent(t, policy.SinglePlatform, 1, 1), opts)
	if r.Count(MissingKick) != 1 {
		dump(t, r)
		t.Fatalf("verdicts %s, want a missing kick", countsOf(r))
	}
	if len(r.Windows) != 3 {
		t.Fatalf("windows %+v", r.Windows)
	}
	if w := r.Windows[0]; w != (WindowCounts{Kicks: 1}) {
		t.Errorf("first window %+v, want the one clean kick", w)
	}
	if w := r.Windows[1]; w.Kicks != 0 || w.Violations != r.Violations() || w.Violations < 1 || w.Undecided != 0 {
		t.Errorf("second window %+v, want the run's %d violations and no kick", w, r.Violations())
	}
	if w := r.Windows[2]; w != (WindowCounts{}) {
		t.Errorf("empty window %+v", w)
	}
	// Without windows the report holds none.
	if r := Check(build().h, mustTencent(t, policy.SinglePlatform, 1, 1), testOpts()); len(r.Windows) != 0 {
		t.Errorf("windows without Options.Windows: %+v", r.Windows)
	}
	// Shards' counts add, window by window.
	m := &Report{}
	m.Merge(r)
	m.Merge(r)
	if m.Windows[0].Kicks != 2 || m.Windows[1].Violations != 2*r.Windows[1].Violations {
		t.Errorf("merged windows %+v", m.Windows)
	}
}
