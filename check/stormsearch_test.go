package check

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/policy/policyfile"
)

// stormShape is how a login storm of one device on one instance (XMPP
// resource) came out: k logins over k connections, which the target
// processed in connection order, each replacing the one before with an
// anonymous kick (<conflict/>).
type stormShape struct {
	k int
	// answersReversed: the answers arrived in the reverse of the order the
	// target processed the logins (the last processed, the survivor, was
	// answered first).
	answersReversed bool
	// kicksEarly: each kick arrived right after its session's own answer,
	// before the answers of the logins processed after it; otherwise every
	// kick arrived after all answers.
	kicksEarly bool
	// sideSurvives: the survivor was one of the extra connections, dropped
	// (an app kill) once every login had answered; the main connection was
	// kicked. Otherwise the main connection survived and goes on.
	sideSurvives bool
	// Faults.
	kicks   int // kicks the target sent; -1: k-1
	holdFor int // ms the extra connections were held before being dropped
}

// buildStorm writes the storm of device A into b, after B logged in at 0.
// Logins are sent at 100+c ms (connection c); it returns the time the
// storm was over and the kicks it holds.
func buildStorm(b *hb, s stormShape) (over, nkicks int) {
	const A, B = "A-android", "B-iphone"
	b.login(B, 0, 10, 0)
	ok := make([]int, s.k)
	last := 0
	for c := range s.k {
		pos := c
		if s.answersReversed {
			pos = s.k - 1 - c
		}
		ok[c] = 110 + s.k + 3*pos
		last = max(last, ok[c])
	}
	kicks := s.kicks
	if kicks < 0 {
		kicks = s.k - 1
	}
	for c := range s.k {
		b.login(A, 100+c, ok[c], 0)
	}
	end := last
	for c := range kicks {
		at := last + 1 + c
		if s.kicksEarly {
			at = ok[c] + 1
		}
		if c == s.k-1 { // a kick of the survivor too
			at = last + 50
		}
		b.emit(event.Event{Kind: event.Kicked, Device: A, At: tms(at), Note: "conflict"})
		end = max(end, at)
	}
	drop := end + 2 + s.holdFor
	if s.sideSurvives || kicks < s.k-1 {
		// An extra connection still online when dropped.
		b.at(event.AppKill, A, drop)
	}
	return drop, kicks
}

func stormPolicies(t *testing.T) map[string]*policy.Policy {
	custom, err := policyfile.Parse([]byte(`name: one-per-platform-xmpp
per_platform: {default: 1}
replace_same_instance: true
`), "custom.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ej, err := policy.Lookup("ejabberd", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*policy.Policy{"replace_same_instance": custom, "ejabberd": ej}
}

// TestSearchLoginStorms judges, in search mode with anonymous kicks, login
// storms of 2 to 8 logins of one device on one instance: the target
// replaces the older session each time (k logins, k-1 kicks, one
// survivor), the kicks arriving before or after the logins' answers. Any
// kick may end any session of its device that may be online; the search
// decides which.
func TestSearchLoginStorms(t *testing.T) {
	const A, B = "A-android", "B-iphone"
	type tc struct {
		name  string
		shape stormShape
		bad   bool // a fault the oracle must catch
	}
	var cases []tc
	for k := 2; k <= 8; k++ {
		for _, rev := range []bool{false, true} {
			for _, early := range []bool{false, true} {
				for _, side := range []bool{false, true} {
					name := fmt.Sprintf("storm of %d/answers in order", k)
					if rev {
						name = fmt.Sprintf("storm of %d/answers reversed", k)
					}
					if early {
						name += "/kicks before the answers"
					} else {
						name += "/kicks after the answers"
					}
					if side {
						name += "/a side survives"
					} else {
						name += "/the main survives"
					}
					cases = append(cases, tc{name: name, shape: stormShape{k: k, answersReversed: rev, kicksEarly: early, sideSurvives: side, kicks: -1}})
				}
			}
		}
		for _, early := range []bool{false, true} {
			when := "/kicks after the answers"
			if early {
				when = "/kicks before the answers"
			}
			cases = append(cases,
				tc{name: fmt.Sprintf("storm of %d kicks too few, two sessions held on one instance%s", k, when),
					shape: stormShape{k: k, kicksEarly: early, kicks: k - 2, holdFor: 800}, bad: true},
				tc{name: fmt.Sprintf("storm of %d kicks the survivor too%s", k, when),
					shape: stormShape{k: k, kicksEarly: early, kicks: k}, bad: true},
			)
		}
	}
	for pname, pol := range stormPolicies(t) {
		for _, c := range cases {
			t.Run(pname+"/"+c.name, func(t *testing.T) {
				b := newHB(true)
				b.device(A, policy.Android)
				b.device(B, policy.IPhone)
				over, nkicks := buildStorm(b, c.shape)
				opts := testOpts()
				opts.Mode, opts.AnonymousKicks = Search, true
				opts.End = tms(2000)
				listed := []policy.Instance{{ID: B, Platform: policy.IPhone}}
				if !c.shape.sideSurvives && !c.bad {
					listed = append(listed, policy.Instance{ID: A, Platform: policy.Android})
				}
				if !c.bad {
					b.h.SetServerOnline(b.user, listed)
					opts.StatusAt = tms(over + 500)
				}
				r := Check(b.h, pol, opts)
				if r.Checks.SearchUsers != 1 || r.Checks.Logins != int64(c.shape.k+1) || r.Checks.Kicks != int64(nkicks) || r.Checks.UnnamedKicks != 0 {
					t.Fatalf("checks %+v: want one user judged in search mode, %d logins, its %d kicks judged", r.Checks, c.shape.k+1, nkicks)
				}
				if n := r.Count(Undecided); n != 0 {
					dump(t, r)
					t.Fatalf("%d undecided", n)
				}
				got := countsOf(r)
				if c.bad {
					if r.Violations() == 0 || got[NoOrder]+got[OverLimit] == 0 {
						dump(t, r)
						t.Fatalf("verdicts %s, want no_order or over_limit", got)
					}
					t.Logf("caught: %s", got)
					return
				}
				if r.Violations() != 0 {
					dump(t, r)
					t.Fatalf("verdicts %s on a correct storm, want none", got)
				}
			})
		}
	}
}

// TestSearchLoginStormBudget: a storm far beyond what devices do is still
// judged, and what the search cannot decide within its budget is counted
// undecided with its reason, never a violation.
func TestSearchLoginStormBudget(t *testing.T) {
	const A, B = "A-android", "B-iphone"
	pol, err := policy.Lookup("ejabberd", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	run := func(s stormShape, budget time.Duration) *Report {
		b := newHB(true)
		b.device(A, policy.Android)
		b.device(B, policy.IPhone)
		_, nkicks := buildStorm(b, s)
		opts := testOpts()
		opts.Mode, opts.AnonymousKicks, opts.End, opts.SearchBudget = Search, true, tms(2000), budget
		r := Check(b.h, pol, opts)
		if r.Checks.Logins != int64(s.k+1) || r.Checks.Kicks != int64(nkicks) {
			t.Fatalf("checks %+v, want %d logins and %d kicks judged", r.Checks, s.k+1, nkicks)
		}
		return r
	}
	t.Run("a correct storm of 60", func(t *testing.T) {
		for _, side := range []bool{false, true} {
			r := run(stormShape{k: 60, kicks: -1, sideSurvives: side, answersReversed: side}, 10*time.Second)
			if r.Violations() != 0 || r.Count(Undecided) != 0 {
				dump(t, r)
				t.Fatalf("side survives %v: verdicts %s, want none", side, countsOf(r))
			}
		}
	})
	t.Run("a faulty storm of 24 on a budget of 20ms", func(t *testing.T) {
		r := run(stormShape{k: 24, kicks: 24}, 20*time.Millisecond)
		got := countsOf(r)
		switch {
		case got[Undecided] == 1 && r.Violations() == 0:
			if ex := r.Verdicts[Undecided].Examples; len(ex) == 0 || !strings.Contains(ex[0].Text, "budget") {
				t.Fatalf("undecided without its reason: %+v", ex)
			}
		case got[NoOrder] == 1 && got[Undecided] == 0 && r.Violations() == 1:
			// Decided within the budget after all: the fault is caught.
		default:
			dump(t, r)
			t.Fatalf("verdicts %s, want undecided or no_order", got)
		}
	})
}
