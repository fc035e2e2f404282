package xmpp

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/imload/imload/driver"
	"github.com/imload/imload/driver/netem"
)

// Storms on XMPP: netem's drop and partition act on the client side, so
// they work over this driver as over any.

func netemLogin(t *testing.T, f *fakeServer) (*netem.Driver, driver.Conn) {
	t.Helper()
	f.addUser("alice", "pw")
	n := netem.Wrap(newTestDriver(t, f, nil), nil)
	c, err := n.Connect(testCtx(t), driver.Device{Platform: "Android", Instance: "a1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if res, err := c.Login(testCtx(t), driver.LoginRequest{UserID: "alice", UserSig: "pw"}); err != nil || res.Code != 0 {
		t.Fatalf("login: %+v, %v", res, err)
	}
	return n, c
}

func TestNetemDropOverXMPP(t *testing.T) {
	f := newFakeServer(t, nil)
	n, c := netemLogin(t, f)
	if got := n.Drop(func(inst string) bool { return inst == "a1" }); len(got) != 1 {
		t.Fatalf("dropped %v", got)
	}
	select {
	case p := <-c.Pushes():
		if p.Kind != driver.PushClosed || p.Reason != "network drop" {
			t.Errorf("push %+v, want PushClosed network drop", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no PushClosed after the drop")
	}
	if err := c.Ping(testCtx(t)); !errors.Is(err, driver.ErrClosed) {
		t.Errorf("ping after the drop: %v", err)
	}
	// The server sees the transport go, with no </close>: the session ends.
	for deadline := time.Now().Add(5 * time.Second); len(f.online("alice")) != 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server still holds the session after the drop")
		}
	}
}

func TestNetemPartitionOverXMPP(t *testing.T) {
	f := newFakeServer(t, nil)
	n, c := netemLogin(t, f)
	heal := 300 * time.Millisecond
	if got := n.Partition(func(string) bool { return true }, heal); len(got) != 1 {
		t.Fatalf("partitioned %v", got)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := c.Ping(ctx)
	cancel()
	if !errors.Is(err, driver.ErrTimeout) {
		t.Fatalf("ping in the partition: %v, want a timeout", err)
	}
	f.mu.Lock()
	pings := f.pings
	f.mu.Unlock()
	if pings != 0 {
		t.Errorf("the server saw %d pings through the partition", pings)
	}
	// A new connect of the device waits for the heal.
	c2, err := n.Connect(testCtx(t), driver.Device{Platform: "Android", Instance: "a1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if since := time.Since(start); since < heal {
		t.Errorf("connect went through %v after the partition began, before it healed (%v)", since, heal)
	}
	// Healed: the old connection carries traffic again.
	if err := c.Ping(testCtx(t)); err != nil {
		t.Errorf("ping after the heal: %v", err)
	}
}
