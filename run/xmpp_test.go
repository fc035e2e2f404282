package run

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imload/imload/scenario"
)

// TestXMPPTarget runs a short scenario against ejabberd through the xmpp
// driver (target.driver: xmpp): devices register and log in with passwords
// derived from the key, the server's <conflict/> kicks reach them, and the
// oracle judges those kicks, which name no displacer, by order search. It
// needs the ejabberd that scripts/test starts (IMLOAD_EJABBERD_URL); it is
// skipped without one, except in CI.
func TestXMPPTarget(t *testing.T) {
	url, max := ejabberd(t)
	text := `
name: xmpp-run-test
target:
  driver: xmpp
  url: ` + url + `
  key_env: IMLOAD_TEST_XMPP_SECRET
  policy: ejabberd
  instances: ` + max + `
population:
  users: 4
  id_pattern: "runtest` + strings.ReplaceAll(t.Name(), "/", "_") + `_%d"
platforms: {Android: 1, iPhone: 1, Web: 1}
phases:
  - model: closed
    duration: 3s
    devices: 20
behaviour:
  hold: {dist: uniform, min: 200ms, max: 600ms}
  think: {dist: constant, value: 50ms}
  logout_ratio: 1
  heartbeat: 300ms
`
	sc, err := scenario.Parse([]byte(text), filepath.Join(t.TempDir(), "xmpp.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Execute(t.Context(), Options{Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.File.Environment.Target.Kind; got != "xmpp" {
		t.Errorf("target kind %q, want xmpp", got)
	}
	if out.Aborted != nil {
		t.Fatalf("the run against ejabberd ended early: %v", out.Aborted)
	}
	k := out.Kickout
	if k == nil {
		t.Fatal("no kickout report")
	}
	if k.Checks.Logins < 20 || k.Checks.Kicks == 0 || k.Checks.UnnamedKicks != 0 || k.Checks.SearchUsers != 4 {
		t.Errorf("oracle checked %+v; want at least 20 logins, kicks judged by search for 4 users, none left unjudged", k.Checks)
	}
}

// ejabberd returns the URL and max_user_sessions of the ejabberd that
// scripts/test starts, and sets the key the scenarios derive passwords
// from; without one it skips the test, except in CI.
func ejabberd(t *testing.T) (url, maxSessions string) {
	t.Helper()
	url = os.Getenv("IMLOAD_EJABBERD_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ejabberd is required in CI and IMLOAD_EJABBERD_URL is not set (scripts/test starts it with scripts/ejabberd/start)")
		}
		t.Skip("ejabberd is not available: run scripts/ejabberd/start and set IMLOAD_EJABBERD_URL (scripts/test does both)")
	}
	maxSessions = os.Getenv("IMLOAD_EJABBERD_MAX_SESSIONS")
	if maxSessions == "" {
		maxSessions = "3"
	}
	t.Setenv("IMLOAD_TEST_XMPP_SECRET", "run-test-secret")
	return url, maxSessions
}

// Storms act on the client side of any driver: against ejabberd, a network
// drop (transports cut without a close) and a partition (traffic
// blackholed longer than the operation timeout) send the hit devices back
// through their reconnect policy, and they come back with fresh logins
// (the xmpp driver resumes no stream), which the oracle judges like any.
func TestXMPPStorms(t *testing.T) {
	url, max := ejabberd(t)
	for name, ev := range map[string]string{
		"drop":      "{at: 2s, action: drop_connections, share: 0.5}",
		"partition": "{at: 2s, action: partition, share: 0.5, for: 3s}", // longer than timeout + heartbeat
	} {
		t.Run(name, func(t *testing.T) {
			text := `
name: xmpp-storm-test
target:
  driver: xmpp
  url: ` + url + `
  key_env: IMLOAD_TEST_XMPP_SECRET
  policy: ejabberd
  instances: ` + max + `
  timeout: 2s
population:
  users: 400
  id_pattern: "stormtest` + name + `_%d"
phases:
  - {duration: 500ms, model: open, rate: 60}
  - {duration: 8500ms, model: open, rate: 0.001}
behaviour:
  hold: 1h
  heartbeat: 300ms
  reconnect: {backoff: full_jitter, base: 100ms, max: 500ms}
events:
  - ` + ev + `
`
			sc, err := scenario.Parse([]byte(text), filepath.Join(t.TempDir(), "xmpp-storm.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			out, err := Execute(t.Context(), Options{Scenario: sc})
			if err != nil {
				t.Fatal(err)
			}
			if out.Aborted != nil {
				t.Fatalf("the run against ejabberd ended early: %v", out.Aborted)
			}
			if len(out.File.Storms) != 1 {
				t.Fatalf("storms: %+v", out.File.Storms)
			}
			f := out.File.Storms[0]
			if f.Affected < 5 || f.Disrupted < f.Affected*9/10 || f.Recovered < f.Disrupted*95/100 || f.RecoveryP95 == nil {
				t.Fatalf("%s: %d hit, %d disrupted, %d recovered, p95 %v", name, f.Affected, f.Disrupted, f.Recovered, f.RecoveryP95)
			}
			if f.FreshLogins < f.Recovered*9/10 {
				t.Errorf("%s: %d fresh logins of %d recovered: the xmpp driver has no resume", name, f.FreshLogins, f.Recovered)
			}
			if k := out.Kickout; k == nil || k.Violations() != 0 || k.Checks.Logins == 0 {
				t.Errorf("kickout: %+v", k)
			}
		})
	}
}
