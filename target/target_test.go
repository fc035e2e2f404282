package target

import (
	"slices"
	"strings"
	"testing"

	"github.com/imload/imload/agent"
	"github.com/imload/imload/driver/xmpp"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/scenario"
)

// Validation and the schema read scenario's list of drivers; the run opens
// them from the registry: both must hold the same names.
func TestRegistryIsTheScenariosList(t *testing.T) {
	got, want := Names(), scenario.DriverNames()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("registered drivers %q, scenario's list %q", got, want)
	}
	if _, ok := registry[scenario.DefaultDriver]; !ok {
		t.Errorf("the default driver %q is not registered", scenario.DefaultDriver)
	}
}

func spec(t *testing.T, driver, url string) Spec {
	t.Helper()
	pol, err := policy.Lookup(policy.DualPlatform, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return Spec{
		Target: &scenario.Target{Driver: driver, URL: url, SDKAppID: 1400000000, Admin: "administrator", Timeout: scenario.Duration(2e9)},
		Policy: pol, Key: []byte("k"),
	}
}

func TestOpenEachDriver(t *testing.T) {
	tests := []struct {
		driver, url string
		kind        string
		server      bool
		traits      Traits
	}{
		{"ws", "", "embedded", true, Traits{Sequenced: true, ServerTime: true}},
		{"", "", "embedded", true, Traits{Sequenced: true, ServerTime: true}},
		{"ws", "ws://127.0.0.1:1/v1/ws", "ws", false, Traits{Sequenced: true}},
		{"inproc", "", "inproc", true, Traits{Sequenced: true, ServerTime: true}},
		{"xmpp", "ws://127.0.0.1:1/ws", "xmpp", false, Traits{AnonymousKicks: true}},
	}
	for _, tc := range tests {
		t.Run(tc.driver+" "+tc.url, func(t *testing.T) {
			tg, err := Open(spec(t, tc.driver, tc.url))
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := tg.Close(0); err != nil {
					t.Error(err)
				}
			}()
			tr, want := tg.Traits, tc.traits
			if tg.Kind != tc.kind || (tg.Server != nil) != tc.server || len(tr.RefusalCodes) == 0 ||
				tr.Sequenced != want.Sequenced || tr.AnonymousKicks != want.AnonymousKicks || tr.ServerTime != want.ServerTime {
				t.Errorf("kind %q, server %v, traits %+v; want %q, %v, %+v with refusal codes", tg.Kind, tg.Server != nil, tg.Traits, tc.kind, tc.server, tc.traits)
			}
			if tc.server && tc.kind == "embedded" && !strings.HasPrefix(tg.URL, "ws://127.0.0.1:") {
				t.Errorf("embedded server's URL %q", tg.URL)
			}
			switch tg.Tickets.(type) {
			case xmpp.PasswordTickets:
				if tc.driver != "xmpp" {
					t.Errorf("%s devices get XMPP passwords", tc.driver)
				}
			case *agent.SigTickets:
				if tc.driver == "xmpp" {
					t.Error("XMPP devices get UserSigs, not passwords")
				}
			default:
				t.Errorf("tickets %T", tg.Tickets)
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"unknown driver", func(s *Spec) { s.Target.Driver = "smtp" }, `unknown driver "smtp"`},
		{"inproc at a url", func(s *Spec) { s.Target.Driver, s.Target.URL = "inproc", "ws://127.0.0.1:1/v1/ws" }, "embedded server only"},
		{"xmpp without a url", func(s *Spec) { s.Target.Driver = "xmpp" }, "xmpp needs target.url"},
		{"faults at a url", func(s *Spec) { s.Target.URL, s.Faults = "ws://127.0.0.1:1/v1/ws", []string{"late-kick"} }, "faults apply to the embedded server only"},
		{"unknown fault", func(s *Spec) { s.Faults = []string{"no-such-fault"} }, "no-such-fault"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := spec(t, "ws", "")
			tc.edit(&s)
			tg, err := Open(s)
			if err == nil {
				_ = tg.Close(0)
				t.Fatalf("opened %s", tg.Kind)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
