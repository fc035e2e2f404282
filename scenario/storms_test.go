package scenario

import (
	"strings"
	"testing"
	"time"
)

const stormBase = `population: {users: 10}
phases: [{duration: 30s, model: open, rate: 1}]
`

func TestReconnectPresetAndOverrides(t *testing.T) {
	s, err := Parse([]byte(stormBase+"behaviour:\n  reconnect: {preset: hivemq, max: 10s}\n"), "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := s.Behaviour.Reconnect
	if r.Backoff != BackoffExponential || r.Base.D() != time.Second || r.Max.D() != 10*time.Second || r.Jitter != 0.25 {
		t.Errorf("hivemq with max 10s: %+v", r)
	}
	s, err = Parse([]byte(stormBase+"behaviour:\n  reconnect: {backoff: full_jitter}\n"), "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Behaviour.Reconnect; r.Base.D() != DefaultReconnectBase || r.Max.D() != DefaultReconnectMax {
		t.Errorf("defaults: %+v", r)
	}
	for _, name := range ReconnectPresetNames() {
		if _, err := Parse([]byte(stormBase+"behaviour:\n  reconnect: {preset: "+name+"}\n"), "r.yaml"); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
}

// Bad storm settings are reported at file:line:col with their field.
func TestStormErrorsArePositioned(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"behaviour:\n  reconnect: {backoff: linear}\n", `s.yaml:4:24: behaviour.reconnect.backoff: unknown backoff "linear" (allowed: fixed, exponential, full_jitter, decorrelated_jitter)`},
		{"behaviour:\n  reconnect: {preset: paho2}\n", `s.yaml:4:23: behaviour.reconnect.preset: unknown preset "paho2"`},
		{"behaviour:\n  reconnect: {base: 2s, max: 1s}\n", `s.yaml:4:30: behaviour.reconnect.max: must be >= base (2s), got 1s`},
		{"behaviour:\n  reconnect: {jitter: 1.5}\n", `s.yaml:4:23: behaviour.reconnect.jitter: must be a fraction from 0 to 1, got 1.5`},
		{"events:\n  - {at: 5s, action: reboot}\n", `s.yaml:4:22: events[0].action: unknown action "reboot"`},
		{"events:\n  - {at: 40s, action: restart_server}\n", `s.yaml:4:10: events[0].at: must fall within the phases (they last 30s), got 40s`},
		{"events:\n  - {at: 5s, action: drop_connections}\n", `events[0].share: drop_connections needs a share of the devices in (0, 1], got 0`},
		{"events:\n  - {at: 5s, action: partition, share: 0.5}\n", `events[0].for: partition needs a duration > 0 (for: 10s), got 0s`},
		{"events:\n  - {at: 5s, action: surge, for: 5s}\n", `events[0].rate: surge needs a rate of arrivals per second > 0, got 0`},
		{"events:\n  - {at: 5s, action: restart_server, share: 0.5}\n", `s.yaml:4:38: events[0].share: restart_server takes no share`},
		{"events:\n  - {at: 5s, action: restart_server, sessions: gone}\n", `events[0].sessions: unknown value "gone" (allowed: resumable, lost)`},
		{"target:\n  protect: {login_rate: {rate: 0}}\n", `s.yaml:4:32: target.protect.login_rate.rate: must be > 0 logins per second, got 0`},
		{"target:\n  protect: {login_buckets: {buckets: 0}}\n", `target.protect.login_buckets.buckets: must be >= 1, got 0`},
		{"target:\n  protect: {flapping: {connects: 1}}\n", `target.protect.flapping.connects: must be >= 2, got 1`},
	}
	for _, c := range cases {
		_, err := Parse([]byte(stormBase+c.yaml), "s.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s", c.yaml, err, c.want)
		}
	}
}

func TestStormDefaults(t *testing.T) {
	s, err := Parse([]byte(stormBase+`target:
  protect: {login_rate: {rate: 2.5}, login_buckets: {buckets: 4}, flapping: {}}
events:
  - {at: 5s, action: restart_server}
  - {at: 6s, action: surge, rate: 10, for: 2s}
`), "d.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := s.Target.Protect
	if p.LoginRate.Burst != 3 || p.LoginBuckets.Every.D() != DefaultBucketEvery || p.Flapping.Connects != 15 || p.Flapping.Ban.D() != DefaultFlapBan {
		t.Errorf("protect defaults: %+v %+v %+v", p.LoginRate, p.LoginBuckets, p.Flapping)
	}
	if s.Events[0].Sessions != SessionsResumable {
		t.Errorf("restart sessions default %q", s.Events[0].Sessions)
	}
}
