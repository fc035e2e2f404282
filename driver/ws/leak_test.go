package ws

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/imload/imload/driver"
	"github.com/imload/imload/policy"
)

// TestNoGoroutineLeak opens connections that end in every way a Conn can
// end (Close by the device, kick, server shutdown) and checks that the
// process is back to its goroutine count afterwards.
func TestNoGoroutineLeak(t *testing.T) {
	before := settledGoroutines()
	func() {
		srv := newFakeServer(t)
		defer srv.Close()
		d, err := New(Config{URL: srv.URL()})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()

		const n = 30
		conns := make([]*Conn, n)
		for i := range conns {
			if conns[i], err = d.Dial(ctx, driver.Device{Platform: policy.Android, Instance: fmt.Sprint("dev-", i)}); err != nil {
				t.Fatal(err)
			}
		}
		// Ten users log in on three Android devices each, one after the
		// other, so each user's first two devices are kicked; users run
		// concurrently.
		var wg sync.WaitGroup
		for u := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range 3 {
					c := conns[u+10*k]
					r, err := c.Login(ctx, driver.LoginRequest{UserID: fmt.Sprint("user-", u), UserSig: "ok"})
					if err != nil || r.Seq != uint64(k+1) {
						t.Errorf("user-%d login %d: %+v, %v", u, k+1, r, err)
					}
				}
				if err := conns[u+20].Ping(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		// Users 0..9 logged in three times each on Android: the first two
		// of each were kicked, and their readers must end on their own.
		kicked := 0
		for _, c := range conns {
			select {
			case <-c.exited:
				kicked++
			case <-time.After(50 * time.Millisecond):
			}
		}
		if kicked != 20 {
			t.Errorf("%d readers ended after kicks, want 20", kicked)
		}
		for _, c := range conns[:n/2] {
			c.Close()
		}
		srv.Shutdown()
		for _, c := range conns {
			<-c.exited
			for range c.Pushes() {
			}
		}
	}()
	after := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if after = runtime.NumGoroutine(); after <= before {
			return
		}
	}
	buf := make([]byte, 1<<16)
	t.Fatalf("%d goroutines before, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
}

func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for range 50 {
		time.Sleep(10 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			return n
		}
		n = m
	}
	return n
}

func TestConcurrentCallsOnOneConn(t *testing.T) {
	srv := newFakeServer(t)
	c := dial(t, newTestDriver(t, srv.URL()), policy.Web, "w")
	login(t, c, "judy", "ok")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Ping(ctxT(t)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c.mu.Lock()
	left := len(c.pending)
	c.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d calls still registered after all returned", left)
	}
}
