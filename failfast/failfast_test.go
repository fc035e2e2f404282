package failfast

import (
	"strings"
	"testing"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/event"
	"github.com/imload/imload/scenario"
)

// TestSink: the first After logins failing with a code that
// names a setting end the run with a diagnosis naming it; a success, a
// refusal the scenario may mean, or mixed failures do not.
func TestSink(t *testing.T) {
	type ev struct {
		kind    event.Kind
		outcome event.Outcome
		code    int
	}
	repeat := func(n int, e ev) []ev {
		out := make([]ev, n)
		for i := range out {
			out[i] = e
		}
		return out
	}
	appNotFound := ev{event.Login, event.Failed, codes.AppNotFound}
	for _, c := range []struct {
		name   string
		events []ev
		want   string // "": no abort
	}{
		{"every login 70020", append([]ev{{event.Connect, event.OK, 0}}, repeat(After, appNotFound)...),
			"the first 20 logins all failed: target.sdkappid is 1400000007; the server answers 70020 SDKAppID not found"},
		{"one too few", repeat(After-1, appNotFound), ""},
		{"a login succeeded first", append([]ev{{event.Login, event.OK, 0}}, repeat(After, appNotFound)...), ""},
		{"expired tickets are the scenario's", repeat(After, ev{event.Login, event.Failed, codes.SigExpired}), ""},
		{"mixed failures", append(repeat(After/2, appNotFound), repeat(After, ev{event.Connect, event.Failed, 0})...), ""},
		{"every connect fails", repeat(After, ev{event.Connect, event.Failed, 0}), "the first 20 connects all failed at ws://h/v1/ws (transport errors)"},
		{"bad key", repeat(After, ev{event.Login, event.Failed, codes.SigBadSignature}), "the key of target.key_env K is not the server's"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []error
			f := New(&scenario.Target{URL: "ws://h/v1/ws", SDKAppID: 1400000007, KeyEnv: "K"}, func(err error) { got = append(got, err) })
			for _, e := range c.events {
				f.Observe(&event.Event{Kind: e.kind, Outcome: e.outcome, Code: e.code})
			}
			if c.want != "" {
				f.Observe(&event.Event{Kind: event.Login, Outcome: event.Failed, Code: codes.AppNotFound}) // after the verdict: ignored
			}
			switch {
			case c.want == "" && len(got) > 0:
				t.Fatalf("aborted: %v", got)
			case c.want != "" && len(got) != 1:
				t.Fatalf("aborted %d times, want once", len(got))
			case c.want != "" && !strings.Contains(got[0].Error(), c.want):
				t.Fatalf("diagnosis %q lacks %q", got[0], c.want)
			}
		})
	}
}
