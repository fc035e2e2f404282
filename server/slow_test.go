package server

import (
	"testing"
	"time"

	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
)

// TestSlowConnectionIsDropped stalls a connection's flusher, as a client
// that stopped reading would, and checks that pushes beyond the send queue
// are refused without blocking and that the connection is closed.
func TestSlowConnectionIsDropped(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SendQueue = 2 })
	c := h.dial(policy.Web, "tab")
	c.mustLogin(policy.Web, "uma", h.ticket("uma", time.Hour))
	cs := h.s.conns.list()
	if len(cs) != 1 {
		t.Fatalf("%d conns", len(cs))
	}
	p := cs[0].peer.(*wsPeer)
	p.qmu.Lock()
	p.flushing = true // the flusher is stuck in a write
	p.qmu.Unlock()
	push := &protocol.Frame{Op: protocol.OpUserSigExpired}
	start := time.Now()
	for i, want := range []bool{true, true, false, false} {
		if got := p.Push(push); got != want {
			t.Fatalf("push %d: %v, want %v", i, got, want)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("pushes blocked for %s", d)
	}
	if !c.closed() {
		t.Fatal("slow connection not closed")
	}
	eventually(t, "the session to detach", func() bool {
		in := h.s.OnlineStatus("uma")
		return len(in) == 1 && in[0].State == StateDisconnected
	})
}
