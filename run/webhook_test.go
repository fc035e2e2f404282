package run

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/check"
	"github.com/imload/imload/clock"
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

func TestWebhookListener(t *testing.T) {
	clk := clock.NewFake(time.Date(2024, 3, 10, 9, 0, 0, 0, time.UTC))
	l, err := ListenWebhooks("", 1400000001, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	post := func(method, query, body string) (int, server.CallbackReply) {
		t.Helper()
		req, err := http.NewRequest(method, l.URL()+"?"+query, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r server.CallbackReply
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatalf("%s %s: reply is not JSON: %v", method, query, err)
		}
		return resp.StatusCode, r
	}
	good := "SdkAppid=1400000001&CallbackCommand=State.StateChange&contenttype=json&ClientIP=127.0.0.1&OptPlatform=iOS"
	login := `{"CallbackCommand":"State.StateChange","EventTime":1710061200123,"Info":{"Action":"Login","To_Account":"alice","Reason":"Register"},"KickedDevice":[{"Platform":"iOS"},{"Platform":"Web"}]}`
	fine := `{"CallbackCommand":"State.StateChange","EventTime":1710061200124,"ImloadEventTimeNs":1710061200124567890,"ImloadSeq":7,"Info":{"Action":"Login","To_Account":"bob","Reason":"Register"},"KickedDevice":[{"Platform":"Android","ImloadSeq":5}]}`
	cases := []struct {
		name   string
		method string
		query  string
		body   string
		status int
		ok     bool
	}{
		{"login", http.MethodPost, good, login, http.StatusOK, true},
		{"logout without EventTime", http.MethodPost, good, `{"CallbackCommand":"State.StateChange","Info":{"Action":"Logout","To_Account":"alice","Reason":"Unregister"}}`, http.StatusOK, true},
		{"login in nanoseconds", http.MethodPost, good, fine, http.StatusOK, true},
		{"the same again", http.MethodPost, good, fine, http.StatusOK, true},
		{"another command", http.MethodPost, "SdkAppid=1400000001&CallbackCommand=C2C.CallbackAfterSendMsg", `{"CallbackCommand":"C2C.CallbackAfterSendMsg"}`, http.StatusOK, true},
		{"GET", http.MethodGet, good, "", http.StatusMethodNotAllowed, false},
		{"another app", http.MethodPost, strings.Replace(good, "1400000001", "1400000002", 1), login, http.StatusForbidden, false},
		{"not JSON", http.MethodPost, good, `{"Info":`, http.StatusBadRequest, false},
		{"no account", http.MethodPost, good, `{"CallbackCommand":"State.StateChange","Info":{"Action":"Login"}}`, http.StatusBadRequest, false},
		{"too large", http.MethodPost, good, `{"x":"` + strings.Repeat("a", maxCallbackBody) + `"}`, http.StatusRequestEntityTooLarge, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, r := post(tc.method, tc.query, tc.body)
			if status != tc.status || (r.ActionStatus == "OK") != tc.ok || (r.ErrorCode == 0) != tc.ok {
				t.Fatalf("HTTP %d %+v, want %d ok=%v", status, r, tc.status, tc.ok)
			}
		})
	}
	if l.Received() != 3 || l.Duplicates() != 1 || l.Ignored() != 1 || l.Rejected() != 5 {
		t.Fatalf("received %d duplicates %d ignored %d rejected %d, want 3 1 1 5", l.Received(), l.Duplicates(), l.Ignored(), l.Rejected())
	}
	held := append([]check.Callback(nil), l.held...)
	if len(held) != 3 || held[0].UserID != "alice" || held[0].Action != check.ActionLogin ||
		fmt.Sprint(held[0].Kicked) != "[{iPhone 0} {Web 0}]" || held[0].At.UnixMilli() != 1710061200123 || held[0].Seq != 0 ||
		held[1].Action != check.ActionLogout || !held[1].At.Equal(clk.Now()) ||
		held[2].UserID != "bob" || held[2].At.UnixNano() != 1710061200124567890 ||
		held[2].Seq != 7 || fmt.Sprint(held[2].Kicked) != "[{Android 5}]" {
		t.Fatalf("held %+v", held)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := check.NewHistory()
	if n := l.Commit(h); n != 3 || h.Users() != 2 {
		t.Fatalf("Commit added %d callbacks for %d users, want 3 for 2", n, h.Users())
	}
	if n := l.Commit(h); n != 0 {
		t.Fatalf("second Commit added %d", n)
	}
}

// FuzzWebhookListener feeds any body to the listener: it answers JSON,
// keeps only well-formed State.StateChange callbacks, and never panics.
func FuzzWebhookListener(f *testing.F) {
	for _, seed := range []string{`{"CallbackCommand":"State.StateChange","EventTime":1,"Info":{"Action":"Login","To_Account":"a","Reason":"Register"},"KickedDevice":[{"Platform":"iOS"}]}`,
		`{"CallbackCommand":"State.StateChange","ImloadEventTimeNs":-5,"Info":{"Action":"Logout","To_Account":"a"}}`,
		`{"KickedDevice":[{"Platform":null}]}`, `[]`, `{`, ``} {
		f.Add([]byte(seed))
	}
	l, err := ListenWebhooks("", 0, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	defer l.Close(context.Background())
	f.Fuzz(func(t *testing.T, body []byte) {
		before := l.Received() + l.Rejected() + l.Ignored() + l.Duplicates()
		rec := httptest.NewRecorder()
		l.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/?CallbackCommand=State.StateChange", bytes.NewReader(body)))
		var r server.CallbackReply
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatalf("reply %q is not JSON", rec.Body.Bytes())
		}
		if (r.ActionStatus == "OK") != (r.ErrorCode == 0) {
			t.Fatalf("reply %+v", r)
		}
		if after := l.Received() + l.Rejected() + l.Ignored() + l.Duplicates(); after != before+1 {
			t.Fatalf("counted %d outcomes for one request", after-before)
		}
	})
}
