package agent

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/imload/imload/event"
)

// An operation that the run's end cuts off is cancelled, not failed: the
// device's context ended, not the operation's own timeout.
func TestRunEndCancelsOperations(t *testing.T) {
	f, r := newFake(), newRecorder()
	f.hang["login"] = true
	cfg := testConfig(f, r)
	cfg.Timeout = time.Hour // only the run's end can end the login
	ctx, cancel := context.WithCancel(context.Background())
	done := goRun(ctx, NewDevice(cfg, basePlan()))
	deadline := time.Now().Add(10 * time.Second)
	for f.count("login#") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the login was never sent")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := wait(t, done); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
	logins := r.of(event.Login)
	if len(logins) != 1 || logins[0].Outcome != event.Cancelled || logins[0].Reason != ReasonRunEnded || logins[0].Code != 0 {
		t.Fatalf("logins %+v, want one cancelled with reason %q", logins, ReasonRunEnded)
	}
	if n := len(r.of(event.OnlineAtEnd)) + len(r.of(event.AppKill)); n != 0 {
		t.Errorf("%d end events for a device that never got online", n)
	}
}

// A logout that a kick overtook is no logout: the target ignored it, and
// the device records the kick it then reads.
func TestLogoutOvertakenByKick(t *testing.T) {
	f, r := newFake(), newRecorder()
	f.logoutKicked = true
	if err := run(t, testConfig(f, r), basePlan()); err != nil {
		t.Fatal(err)
	}
	if lo := r.of(event.Logout); len(lo) != 0 {
		t.Errorf("logouts %+v, want none recorded", lo)
	}
	k := r.of(event.Kicked)
	if len(k) != 1 || k[0].UserID != "alice" || k[0].BySeq != 9 || k[0].ByInstance != "dev9" {
		t.Errorf("kicks %+v, want the one the connection queued", k)
	}
}

// A failure's reason leaves out what differs between devices, so that one
// cause counts once.
func TestReasonOf(t *testing.T) {
	for _, tc := range []struct{ msg, want string }{
		{"ws: logout id 17: driver: connection closed", "ws: logout: driver: connection closed"},
		{"ws: connect to ws://127.0.0.1:9000/v1/ws: dial tcp 127.0.3.4:40312->127.0.0.1:9000: connect: connection refused",
			"ws: connect to ws://127.0.0.1:9000/v1/ws: dial tcp 127.0.0.1:9000: connect: connection refused"},
		{"xmpp: login user_000042: bind refused", "xmpp: login <user>: bind refused"},
		{"ws: connect to ws://h/v1/ws: upgrade refused with HTTP 404: websocket: bad handshake", "ws: connect to ws://h/v1/ws: upgrade refused with HTTP 404: websocket: bad handshake"},
		{"dial [::1]:5555->[::1]:9000 refused by dev-7", "dial [::1]:9000 refused by <instance>"},
	} {
		if got := reasonOf(tc.msg, "user_000042", "dev-7"); got != tc.want {
			t.Errorf("reasonOf(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}
