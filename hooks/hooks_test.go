package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/check"
	"github.com/imload/imload/clock"
	"github.com/imload/imload/server"
)

func TestWebhookListener(t *testing.T) {
	clk := clock.NewFake(time.Date(2024, 3, 10, 9, 0, 0, 0, time.UTC))
	l, err := Listen("", 1400000001, clk, nil)
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
	l, err := Listen("", 0, nil, nil)
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

// The repeats the listener remembers do not grow with the run: a callback
// is remembered for seenFor after the latest one, then forgotten once
// Commit runs; within that time its repeat is still ignored.
func TestWebhookListenerForgetsOldRepeats(t *testing.T) {
	l, err := Listen("", 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	base := time.Date(2024, 3, 10, 9, 0, 0, 0, time.UTC).UnixNano()
	post := func(user string, at int64) {
		t.Helper()
		body := fmt.Sprintf(`{"CallbackCommand":"State.StateChange","EventTime":%d,"ImloadEventTimeNs":%d,"Info":{"Action":"Logout","To_Account":%q}}`,
			at/int64(time.Millisecond), at, user)
		resp, err := http.Post(l.URL(), "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	h := check.NewHistory()
	// One callback every 10 s for 10 minutes, each sent twice (a sender's
	// retry), committed as a run drains them.
	const n = 60
	for i := 0; i < n; i++ {
		at := base + int64(i)*int64(10*time.Second)
		post(fmt.Sprint("u", i), at)
		post(fmt.Sprint("u", i), at)
		l.Commit(h)
	}
	if l.Received() != n || l.Duplicates() != n {
		t.Fatalf("received %d, duplicates %d; want %d and %d", l.Received(), l.Duplicates(), n, n)
	}
	l.mu.Lock()
	kept := len(l.seen)
	l.mu.Unlock()
	if limit := int(seenFor/(10*time.Second)) + int(seenFor/4/(10*time.Second)) + 1; kept > limit {
		t.Fatalf("%d callbacks remembered after %d, want at most %d", kept, n, limit)
	}
}
