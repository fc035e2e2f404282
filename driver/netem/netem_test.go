package netem_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/driver/inproc"
	"github.com/imload/imload/driver/netem"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/server"
	"github.com/imload/imload/usersig"
)

const app = 1400000003

var key = []byte("netem-test-key")

func setup(t *testing.T) (*server.Server, *netem.Driver, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	pol, _ := policy.Tencent(policy.SinglePlatform, 1, 1)
	s, err := server.New(server.Config{SDKAppID: app, Key: key, Clock: clk, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s, netem.Wrap(inproc.New(s), clk), clk
}

func login(t *testing.T, n *netem.Driver, clk clock.Clock, inst, user string) driver.Conn {
	t.Helper()
	c, err := n.Connect(context.Background(), driver.Device{SDKAppID: app, Platform: policy.Android, Instance: inst})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sig, _ := usersig.Gen(app, key, user, time.Hour, clk.Now(), nil)
	if res, err := c.Login(context.Background(), driver.LoginRequest{UserID: user, UserSig: sig}); err != nil || res.Code != 0 {
		t.Fatalf("login: %+v %v", res, err)
	}
	return c
}

func push(t *testing.T, c driver.Conn, within time.Duration) (driver.Push, bool) {
	t.Helper()
	select {
	case p, ok := <-c.Pushes():
		if !ok {
			return driver.Push{}, false
		}
		return *p, true
	case <-time.After(within):
		return driver.Push{}, false
	}
}

// A drop ends the device's connection with its own PushClosed, and the
// server keeps the session resumable (a transport gone, no logout).
func TestDrop(t *testing.T) {
	s, n, clk := setup(t)
	a := login(t, n, clk, "a", "alice")
	b := login(t, n, clk, "b", "bob")
	got := n.Drop(func(inst string) bool { return inst == "a" })
	if len(got) != 1 || got[0] != "a" {
		t.Fatalf("dropped %v", got)
	}
	if p, _ := push(t, a, 5*time.Second); p.Kind != driver.PushClosed || p.Reason != "network drop" {
		t.Fatalf("push %+v", p)
	}
	if _, ok := push(t, b, 30*time.Millisecond); ok {
		t.Error("the device not dropped got a push")
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		st := s.OnlineStatus("alice")
		if len(st) == 1 && st[0].State == server.StateDisconnected {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice at the server: %+v, want one disconnected session", st)
		}
	}
	if len(n.Live(func(string) bool { return true })) != 1 {
		t.Error("the dropped connection is still listed live")
	}
}

// A partition holds pushes and calls until it heals.
func TestPartitionHoldsPushes(t *testing.T) {
	_, n, clk := setup(t)
	a := login(t, n, clk, "a", "alice")
	n.Partition(func(inst string) bool { return inst == "a" }, 10*time.Second)
	// Another Android login of alice kicks a; the kick is held.
	login(t, n, clk, "a2", "alice")
	if p, ok := push(t, a, 50*time.Millisecond); ok {
		t.Fatalf("push %+v went through the partition", p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	if err := a.Ping(ctx); !errors.Is(err, driver.ErrTimeout) {
		t.Errorf("ping in the partition: %v", err)
	}
	cancel()
	clk.Advance(10 * time.Second)
	if p, _ := push(t, a, 5*time.Second); p.Kind != driver.PushKicked {
		t.Fatalf("after the heal: push %+v, want the held kick", p)
	}
}

// Close returns while a push is held in a partition.
func TestCloseInPartition(t *testing.T) {
	_, n, clk := setup(t)
	a := login(t, n, clk, "a", "alice")
	n.Partition(func(string) bool { return true }, time.Hour)
	login(t, n, clk, "a2", "alice") // a partitioned connect waits: a2 is new, not partitioned
	done := make(chan struct{})
	go func() { a.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung in the partition")
	}
}
