package agent

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/imload/imload/driver"
	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
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

// A kick that reached the main connection while the device was busy (here
// in an account switch whose logout hangs) is recorded when the run's end
// cuts the device off, at the time it arrived: the session ended there,
// and the device was not online at the end.
func TestRunEndRecordsQueuedKick(t *testing.T) {
	f, r := newFake(), newRecorder()
	f.hang["logout"] = true
	cfg := testConfig(f, r)
	cfg.Timeout = time.Hour // only the run's end can end the logout
	plan := basePlan()
	plan.Hold = time.Hour
	plan.Switch, plan.SwitchAt, plan.SwitchTo = true, 10*time.Millisecond, "bob"
	ctx, cancel := context.WithCancel(context.Background())
	done := goRun(ctx, NewDevice(cfg, plan))
	deadline := time.Now().Add(10 * time.Second)
	for f.count("logout#") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the switch's logout was never sent")
		}
		time.Sleep(time.Millisecond)
	}
	arrived := time.Now()
	f.conn(t, 0).push(driver.Push{Kind: driver.PushKicked, At: arrived, Seq: 1, BySeq: 2, ByPlatform: policy.IPhone, ByInstance: "dev2", Reason: "multi_device"})
	cancel()
	if err := wait(t, done); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
	k := r.of(event.Kicked)
	if len(k) != 1 || k[0].UserID != "alice" || k[0].Seq != 1 || k[0].BySeq != 2 || !k[0].At.Equal(arrived) {
		t.Fatalf("kicks %+v, want alice's seq 1 by seq 2 at %v", k, arrived)
	}
	for _, e := range r.of(event.OnlineAtEnd) {
		if e.UserID == "alice" {
			t.Errorf("alice online at the end although kicked before it: %+v", e)
		}
	}
}

// Dropping the connection (an app kill, the end of the run) first records
// the kicks it had queued unread.
func TestCloseRecordsQueuedKick(t *testing.T) {
	f, r := newFake(), newRecorder()
	d := NewDevice(testConfig(f, r), basePlan())
	ctx := context.Background()
	if err := d.Connect(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Login(ctx, "alice", time.Now()); err != nil {
		t.Fatal(err)
	}
	arrived := time.Now()
	f.conn(t, 0).push(driver.Push{Kind: driver.PushKicked, At: arrived, Seq: 1, BySeq: 2, ByPlatform: policy.IPhone, ByInstance: "dev2"})
	d.Close()
	k := r.of(event.Kicked)
	if len(k) != 1 || k[0].UserID != "alice" || k[0].BySeq != 2 || !k[0].At.Equal(arrived) {
		t.Fatalf("kicks %+v, want the queued one at %v", k, arrived)
	}
	if st, _ := d.Status(); st != StatusLogout {
		t.Errorf("status %s after close", st)
	}
}
