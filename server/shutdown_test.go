package server

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/codes"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
)

// TestShutdownTellsClientsAndLeaksNothing runs a server with logged-in,
// idle, half-open and kicked connections, shuts it down, and checks that
// every connection got error 1007 and was closed, and that the number of
// goroutines returns to where it was.
func TestShutdownTellsClientsAndLeaksNothing(t *testing.T) {
	base := runtime.NumGoroutine()
	func() {
		clk := clock.NewFake(t0())
		s, err := New(Config{SDKAppID: testApp, Key: testKey, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		addr, err := s.Start("")
		if err != nil {
			t.Fatal(err)
		}
		h := &harness{t: t, s: s, clk: clk, url: "ws://" + addr.String() + WSPath}
		var live []*client
		for i := 0; i < 10; i++ {
			c := h.dial(policy.Web, fmt.Sprintf("tab%d", i))
			c.mustLogin(policy.Web, fmt.Sprintf("u%d", i), h.ticket(fmt.Sprintf("u%d", i), time.Hour))
			live = append(live, c)
		}
		live = append(live, h.dial(policy.Android, "idle"))
		silent := h.dialRaw("silent") // no hello yet
		dropped := h.dial(policy.Mac, "dropped")
		dropped.mustLogin(policy.Mac, "u0x", h.ticket("u0x", time.Hour))
		dropped.ws.Close()
		eventually(t, "all attached, the dropped one detached", func() bool {
			st := s.Stats()
			return st.Conns == len(live)+1 && st.Connected == 10
		})

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		for _, c := range append(live, silent) {
			f := c.next()
			if f.Op != protocol.OpError || f.Code != codes.ServerClosed {
				t.Fatalf("%s: got %+v, want error 1007", c.name, f)
			}
			if !c.closed() {
				t.Fatalf("%s: not closed after shutdown", c.name)
			}
		}
		if err := s.Shutdown(ctx); err != nil {
			t.Fatalf("second Shutdown: %v", err)
		}
		if _, err := s.Attach(nil, "x"); err == nil {
			t.Fatal("Attach after Shutdown succeeded")
		}
		if st := s.Stats(); st.Conns != 0 || st.FrameErrors[codes.ServerClosed] != uint64(len(live)+1) {
			t.Fatalf("after shutdown: %+v", st)
		}
		for _, c := range append(live, silent, dropped) {
			c.ws.Close()
			<-c.done
		}
	}()
	deadline := time.Now().Add(waitFor)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines: %d before, %d after shutdown\n%s", base, runtime.NumGoroutine(), buf[:n])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestShutdownWithoutStart covers a server served by someone else's
// http.Server (or only by in-process peers).
func TestShutdownWithoutStart(t *testing.T) {
	s, err := New(Config{SDKAppID: testApp, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, cfg := range []Config{{Key: testKey}, {SDKAppID: 1}, {SDKAppID: 1, Key: testKey, Day: -time.Hour}} {
		if _, err := New(cfg); err == nil {
			t.Fatalf("New(%+v) succeeded", cfg)
		}
	}
}
