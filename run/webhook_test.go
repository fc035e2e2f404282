package run

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/imload/imload/check"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/server"
)

// webhookScenario is a short run with many kicks: few users, devices on
// several platforms, a policy that displaces across them.
func webhookScenario(t *testing.T, driver string, extra string) *scenario.Scenario {
	t.Helper()
	src := fmt.Sprintf(`
name: webhooks
seed: 11
target:
  policy: dual-platform
  driver: %s
%s
population:
  users: 60
platforms:
  Android: 40
  iPhone: 30
  Web: 20
  Windows: 10
phases:
  - model: open
    duration: 1500ms
    rate: 120
behaviour:
  hold: {dist: exponential, mean: 500ms}
  logout_ratio: 0.8
  switch_account: 0.05
thresholds:
  - "kickout.violations == 0"
`, driver, extra)
	sc, err := scenario.Parse([]byte(src), "webhooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestRunChecksWebhooks: a run against the embedded server receives its
// callbacks and finds them all consistent with the kicks devices saw.
func TestRunChecksWebhooks(t *testing.T) {
	for _, driver := range []string{scenario.DriverWS, scenario.DriverInproc} {
		t.Run(driver, func(t *testing.T) {
			var log syncBuffer
			out, err := Execute(context.Background(), Options{Scenario: webhookScenario(t, driver, ""), Log: &log})
			if err != nil {
				t.Fatal(err)
			}
			rep := out.Kickout
			if rep == nil {
				t.Fatal("no kickout report")
			}
			if rep.Checks.Webhooks < rep.Checks.Logins || rep.Checks.Kicks == 0 {
				t.Fatalf("checked %d callbacks for %d logins and %d kicks; log:\n%s", rep.Checks.Webhooks, rep.Checks.Logins, rep.Checks.Kicks, log.String())
			}
			if n := rep.Count(check.WebhookMismatch); n != 0 || rep.Violations() != 0 || !out.Passed {
				var b strings.Builder
				_ = rep.WriteText(&b)
				t.Fatalf("webhook mismatches %d, violations %d:\n%s", n, rep.Violations(), b.String())
			}
			if !strings.Contains(log.String(), fmt.Sprintf("webhooks: %d State.StateChange callbacks checked", rep.Checks.Webhooks)) {
				t.Errorf("log does not say how many callbacks were checked:\n%s", log.String())
			}
		})
	}
}

// dropKicked plays a target whose Login callbacks never list KickedDevice.
func dropKicked(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var cb server.StateChangeCallback
		if json.Unmarshal(b, &cb) == nil {
			cb.KickedDevice = nil
			b, _ = json.Marshal(cb)
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		next.ServeHTTP(w, r)
	})
}

// TestRunWebhookMismatch: a target whose callbacks leave out the kicked
// devices is caught, and the run fails its threshold.
func TestRunWebhookMismatch(t *testing.T) {
	out, err := Execute(context.Background(), Options{Scenario: webhookScenario(t, scenario.DriverInproc, ""), webhookWrap: dropKicked})
	if err != nil {
		t.Fatal(err)
	}
	rep := out.Kickout
	if rep.Checks.Kicks == 0 {
		t.Fatal("the run had no kicks to misreport")
	}
	if n := rep.Count(check.WebhookMismatch); n == 0 || out.Passed {
		t.Fatalf("webhook mismatches %d (passed %v) for a target that drops KickedDevice", n, out.Passed)
	}
	for c := check.Class(0); c < check.NumClasses; c++ {
		if c != check.WebhookMismatch && rep.Count(c) != 0 {
			t.Errorf("%s: %d, want only webhook mismatches", c, rep.Count(c))
		}
	}
}

// TestRunWebhookListenExternal: for a target URL, target.webhook_listen
// receives the callbacks of a server the user pointed there.
func TestRunWebhookListenExternal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // free for the run's listener
	const key = "webhook-external-key"
	t.Setenv("IMLOAD_WEBHOOK_TEST_KEY", key)
	pol, err := policy.Lookup(policy.DualPlatform, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{SDKAppID: scenario.DefaultSDKAppID, Key: []byte(key), Policy: pol,
		WebhookURL: "http://" + addr + "/callback"})
	if err != nil {
		t.Fatal(err)
	}
	at, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	extra := fmt.Sprintf("  url: ws://%s%s\n  key_env: IMLOAD_WEBHOOK_TEST_KEY\n  webhook_listen: %s", at, server.WSPath, addr)
	sc := webhookScenario(t, scenario.DriverWS, extra)
	var log syncBuffer
	out, err := Execute(context.Background(), Options{Scenario: sc, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "point the target's State.StateChange callback at http://"+addr) {
		t.Errorf("log does not say where to send callbacks:\n%s", log.String())
	}
	rep := out.Kickout
	st := srv.WebhookStats()
	if rep.Checks.Webhooks == 0 || rep.Checks.Webhooks > int64(st.Sent) || rep.Count(check.WebhookMismatch) != 0 {
		t.Fatalf("checked %d callbacks (server sent %+v), mismatches %d; log:\n%s", rep.Checks.Webhooks, st, rep.Count(check.WebhookMismatch), log.String())
	}
}
