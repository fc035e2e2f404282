package check

import (
	"testing"
	"time"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// TestAnonymousKicks judges histories whose kicks name no displacer, as an
// XMPP server's <conflict/> does, with and without Options.AnonymousKicks.
func TestAnonymousKicks(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	login := func(dev string, at int) *event.Event {
		return &event.Event{Kind: event.Login, Outcome: event.OK, UserID: "u", Device: dev, Platform: policy.Android,
			Intended: ms(at), Start: ms(at), At: ms(at + 10)}
	}
	kick := func(dev string, at int) *event.Event {
		return &event.Event{Kind: event.Kicked, UserID: "u", Device: dev, Platform: policy.Android, At: ms(at), Note: "conflict"}
	}
	logout := func(dev string, at int) *event.Event {
		return &event.Event{Kind: event.Logout, Outcome: event.OK, UserID: "u", Device: dev, Platform: policy.Android,
			Intended: ms(at), Start: ms(at), At: ms(at + 5)}
	}
	// Four devices log in 100 ms apart.
	four := []*event.Event{login("a", 0), login("b", 100), login("c", 200), login("d", 300)}
	with := func(evs ...*event.Event) []*event.Event { return append(append([]*event.Event(nil), four...), evs...) }

	cases := []struct {
		name string
		evs  []*event.Event
		max  int  // the policy's max_user_sessions
		anon bool // Options.AnonymousKicks
		want bool // violations expected
	}{
		{"oldest kicked at the cap", with(kick("a", 312)), 3, true, false},
		{"kick the policy does not make", with(kick("a", 312)), 4, true, true},
		{"unnamed kicks not judged without the option", with(kick("a", 312)), 4, false, false},
		{"wrong victim", with(kick("b", 312)), 3, true, true},
		{"missing kick", four, 3, true, true},
		{"two kicks by two logins", append(with(kick("a", 312)), login("e", 400), kick("b", 411)), 3, true, false},
		{"a logout makes room, no kick due", append([]*event.Event{login("a", 0), login("b", 100), login("c", 200)},
			logout("a", 250), login("d", 300)), 3, true, false},
		{"kick after a logout made room", append([]*event.Event{login("a", 0), login("b", 100), login("c", 200)},
			logout("a", 250), login("d", 300), kick("b", 312)), 3, true, true},
		{"kick before any displacing login", []*event.Event{login("a", 0), kick("a", 50), login("b", 100)}, 1, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHistory()
			for _, e := range tc.evs {
				h.Observe(e)
			}
			pol, err := policy.Lookup("ejabberd", tc.max, 0)
			if err != nil {
				t.Fatal(err)
			}
			rep := Check(h, pol, Options{End: ms(2000), AnonymousKicks: tc.anon, Mode: Search})
			if got := rep.Violations() > 0; got != tc.want {
				t.Errorf("violations = %d, want any: %v; checks %+v", rep.Violations(), tc.want, rep.Checks)
			}
			if tc.anon && rep.Checks.UnnamedKicks != 0 {
				t.Errorf("UnnamedKicks = %d with AnonymousKicks; such kicks are judged", rep.Checks.UnnamedKicks)
			}
		})
	}
}
