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
	url := os.Getenv("IMLOAD_EJABBERD_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ejabberd is required in CI and IMLOAD_EJABBERD_URL is not set (scripts/test starts it with scripts/ejabberd/start)")
		}
		t.Skip("ejabberd is not available: run scripts/ejabberd/start and set IMLOAD_EJABBERD_URL (scripts/test does both)")
	}
	max := os.Getenv("IMLOAD_EJABBERD_MAX_SESSIONS")
	if max == "" {
		max = "3"
	}
	t.Setenv("IMLOAD_TEST_XMPP_SECRET", "run-test-secret")
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
