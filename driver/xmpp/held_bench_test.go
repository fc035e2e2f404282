package xmpp

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imload/imload/agent"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/event"
	"github.com/imload/imload/internal/memstat"
	"github.com/imload/imload/policy"
)

// heldUser is the user of held session i: the same users in every run, so
// that only the first run against a spool registers them.
func heldUser(i int) string { return "held" + strconv.Itoa(i) }

// heldCounts are the session counts of BenchmarkEjabberdHeld:
// IMLOAD_XMPP_HELD (e.g. "2000,5000"), default 2,000 and 5,000.
func heldCounts(b *testing.B) []int {
	s := os.Getenv("IMLOAD_XMPP_HELD")
	if s == "" {
		return []int{2000, 5000}
	}
	var ns []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("IMLOAD_XMPP_HELD=%q: want session counts >= 1, comma-separated", s)
		}
		ns = append(ns, n)
	}
	return ns
}

// holder logs n sessions in, at most inFlight at once, each its own user,
// and keeps them; release ends them all and waits until they are gone.
type holder func(ctx context.Context, d *Driver, tickets PasswordTickets, n, inFlight int) (release func(), err error)

// BenchmarkEjabberdHeld measures what a held XMPP session costs the client
// against the ejabberd of IMLOAD_EJABBERD_URL: n sessions (each its own
// user, registered at its first login) are logged in and held, and the
// process's memory after a GC, less the memory before, is divided by n.
// "device" holds them as a run does (agent.Device over the driver, hold
// 24 h, no heartbeat), "conn" as bare Conns (Dial and Login, nothing
// reading them). base-RSS-MiB is the process's resident set before the
// sessions. Run it with -benchtime 1x, one case per process (earlier cases
// leave the process larger); ejabberd's open-files limit must allow n
// sessions. IMLOAD_XMPP_HELD_FOR (e.g. 70s) holds the sessions that long
// before measuring, past ejabberd's WebSocket ping of every minute. IMLOAD_XMPP_HELD_PROFILE names a file for the heap profile
// taken while the sessions are held.
func BenchmarkEjabberdHeld(b *testing.B) {
	url := os.Getenv("IMLOAD_EJABBERD_URL")
	if url == "" {
		b.Skip("IMLOAD_EJABBERD_URL is not set: start ejabberd with scripts/ejabberd/start")
	}
	tickets := PasswordTickets{Secret: []byte("imload-held")}
	var hold time.Duration
	if s := os.Getenv("IMLOAD_XMPP_HELD_FOR"); s != "" {
		var err error
		if hold, err = time.ParseDuration(s); err != nil {
			b.Fatalf("IMLOAD_XMPP_HELD_FOR=%q: %v", s, err)
		}
	}
	for _, n := range heldCounts(b) {
		for _, c := range []struct {
			name string
			hold holder
		}{{"device", holdDevices}, {"conn", holdConns}} {
			b.Run(fmt.Sprintf("%s/n=%d", c.name, n), func(b *testing.B) {
				var rss, heap, stack, gor, base float64
				for range b.N {
					// Generous timeouts: the machine may be busy, and a slow login
					// costs nothing held.
					d, err := New(Config{URL: url, Register: true, DialTimeout: 30 * time.Second, HandshakeTimeout: 30 * time.Second})
					if err != nil {
						b.Fatal(err)
					}
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute+hold)
					before := memstat.Read()
					release, err := c.hold(ctx, d, tickets, n, 64)
					if err != nil {
						cancel()
						b.Fatal(err)
					}
					if hold > 0 {
						time.Sleep(hold)
					}
					after := memstat.Read()
					if path := os.Getenv("IMLOAD_XMPP_HELD_PROFILE"); path != "" {
						writeHeapProfile(b, path)
					}
					release()
					cancel()
					d.Close()
					per := memstat.Between(before, after, n)
					rss += per.RSSKiB
					heap += per.HeapKiB
					stack += per.StackKiB
					gor += per.Goroutines
					base += float64(before.RSS) / (1 << 20)
				}
				k := float64(b.N)
				b.ReportMetric(rss/k, "RSS-KiB/session")
				b.ReportMetric(heap/k, "heap-KiB/session")
				b.ReportMetric(stack/k, "stack-KiB/session")
				b.ReportMetric(gor/k, "goroutines/session")
				b.ReportMetric(base/k, "base-RSS-MiB")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// writeHeapProfile writes the heap profile while the sessions are held
// (-memprofile writes its profile after they are released).
func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

// holdDevices holds the sessions as agent.Devices, as a run makes them.
func holdDevices(ctx context.Context, d *Driver, tickets PasswordTickets, n, inFlight int) (func(), error) {
	dctx, cancel := context.WithCancel(ctx)
	var devices sync.WaitGroup
	release := func() {
		cancel()
		devices.Wait()
	}
	results := make(chan error, n)
	sink := heldSink(func(e *event.Event) {
		switch {
		case e.Kind == event.Login && e.Outcome == event.OK:
			results <- nil
		case e.Kind == event.Login, e.Kind == event.Connect && e.Outcome != event.OK:
			results <- fmt.Errorf("%s of %s: %s %s", e.Kind, e.UserID, e.Outcome, e.Note)
		}
	})
	cfg := agent.Config{Driver: d, Tickets: tickets, Sink: sink, Timeout: 30 * time.Second}
	inflight := 0
	wait := func() error {
		select {
		case err := <-results:
			inflight--
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for i := range n {
		for inflight == inFlight {
			if err := wait(); err != nil {
				release()
				return nil, err
			}
		}
		inflight++
		plan := agent.Plan{Index: i, Instance: "xd" + strconv.Itoa(i), Platform: policy.Android,
			User: heldUser(i), Hold: 24 * time.Hour, Leave: agent.LeaveKill}
		devices.Go(func() { agent.NewDevice(cfg, plan).Run(dctx, time.Now()) })
	}
	for inflight > 0 {
		if err := wait(); err != nil {
			release()
			return nil, err
		}
	}
	return release, nil
}

// heldSink is a function as an event.Sink.
type heldSink func(e *event.Event)

func (s heldSink) Observe(e *event.Event) { s(e) }

// holdConns holds the sessions as bare Conns.
func holdConns(ctx context.Context, d *Driver, tickets PasswordTickets, n, inFlight int) (func(), error) {
	conns := make([]*Conn, n)
	release := func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}
	login := func(i int) error {
		c, err := d.Dial(ctx, driver.Device{Platform: policy.Android, Instance: "xc" + strconv.Itoa(i)})
		if err != nil {
			return err
		}
		conns[i] = c
		pw, _ := tickets.Ticket(heldUser(i), time.Time{})
		res, err := c.Login(ctx, driver.LoginRequest{UserID: heldUser(i), UserSig: pw})
		if err == nil && res.Code != 0 {
			err = fmt.Errorf("login of %s: code %d: %s", heldUser(i), res.Code, res.Message)
		}
		return err
	}
	sem := make(chan struct{}, inFlight) // a place per login in progress
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for i := 0; i < n && failed.Load() == nil; i++ {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := login(i); err != nil {
				failed.CompareAndSwap(nil, &err)
			}
		})
	}
	wg.Wait()
	if p := failed.Load(); p != nil {
		release()
		return nil, *p
	}
	return release, nil
}
