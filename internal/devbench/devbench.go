// Package devbench measures imload's own device path (agent.Device over
// driver/ws) beside a bare anchor client in one run against one server
// process: memory per held logged-in device, the login loop's rate, and the
// pacer's send lag at a fixed rate. The bare client is gorilla/websocket
// alone: dial, hello, login, one reader goroutine per device, nothing else.
package devbench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imload/imload/agent"
	"github.com/imload/imload/driver/ws"
	"github.com/imload/imload/event"
	"github.com/imload/imload/internal/memstat"
	"github.com/imload/imload/pacer"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/usersig"
)

// Config bounds one bench run.
type Config struct {
	URL string // the server (StartServer)
	// Held are the numbers of devices held logged in, one measurement each.
	Held []int
	// Rounds of the login loop per client (alternating, bare first).
	Rounds int
	// Logins per round, InFlight at once (default 64).
	Logins   int
	InFlight int
	// LagRate arrivals per second for LagFor (0: no lag measurement).
	LagRate float64
	LagFor  time.Duration
	// Timeout bounds each step (default 3 min).
	Timeout time.Duration
	// Progress, when set, receives a line per step.
	Progress io.Writer
}

// Memory is what one client's held devices cost, per device.
type Memory struct {
	Devices    int
	RSSKiB     float64 // resident set delta / devices
	HeapKiB    float64 // heap in use delta (after a GC) / devices
	StackKiB   float64 // goroutine stacks delta / devices
	Goroutines float64 // goroutines per device
}

// Lag is the pacer's send lag at a fixed rate.
type Lag struct {
	Arrivals      int
	P50, P99, Max time.Duration
	Failed        int64
}

// Result is a run's figures: each pair is bare then imload.
type Result struct {
	Held                 [][2]Memory
	LoopBare, LoopImload []float64 // logins/s, one per round
	LagBare, LagImload   Lag
}

// Median is the median of xs (0 when empty).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// LoopRatio is imload's median login-loop rate over the bare client's.
func (r *Result) LoopRatio() float64 { return Median(r.LoopImload) / Median(r.LoopBare) }

// client is one of the two sides.
type client interface {
	name() string
	// hold logs n devices in, at most inFlight at a time, and keeps them;
	// release ends them all and waits for their goroutines.
	hold(ctx context.Context, n, inFlight int) (release func(), err error)
	// once is one dial, hello, login, logout and close.
	once(ctx context.Context, i int) error
}

// Run measures both clients against cfg.URL.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.InFlight <= 0 {
		cfg.InFlight = 64
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Minute
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	tickets := newTicketCache()
	src, err := ws.LoopbackRange(netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.254"))
	if err != nil {
		return nil, err
	}
	b := newBare(cfg.URL, tickets, src)
	im, err := newImload(cfg.URL, tickets, src)
	if err != nil {
		return nil, err
	}
	clients := [2]client{b, im}
	res := &Result{}
	for _, n := range cfg.Held {
		var pair [2]Memory
		for k, c := range clients {
			m, err := measureHeld(ctx, c, n, cfg.InFlight, cfg.Timeout)
			if err != nil {
				return res, err
			}
			pair[k] = m
			fmt.Fprintf(progress, "held %d %s: %.1f KiB RSS, %.1f KiB heap, %.1f KiB stacks a device\n", n, c.name(), m.RSSKiB, m.HeapKiB, m.StackKiB)
		}
		res.Held = append(res.Held, pair)
	}
	for r := range cfg.Rounds {
		for k, c := range clients {
			rate, err := loopRound(ctx, c, r*cfg.Logins, cfg.Logins, cfg.InFlight, cfg.Timeout)
			if err != nil {
				return res, err
			}
			if k == 0 {
				res.LoopBare = append(res.LoopBare, rate)
			} else {
				res.LoopImload = append(res.LoopImload, rate)
			}
			fmt.Fprintf(progress, "loop round %d %s: %.0f logins/s\n", r+1, c.name(), rate)
		}
	}
	if cfg.LagRate > 0 && cfg.LagFor > 0 {
		for k, c := range clients {
			l, err := measureLag(ctx, c, cfg.LagRate, cfg.LagFor, cfg.Timeout)
			if err != nil {
				return res, err
			}
			if k == 0 {
				res.LagBare = l
			} else {
				res.LagImload = l
			}
			fmt.Fprintf(progress, "lag %s at %.0f/s: p50 %s p99 %s max %s\n", c.name(), cfg.LagRate, l.P50, l.P99, l.Max)
		}
	}
	return res, nil
}

func measureHeld(ctx context.Context, c client, n, inFlight int, timeout time.Duration) (Memory, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	before := memstat.Read()
	release, err := c.hold(ctx, n, inFlight)
	if err != nil {
		return Memory{}, fmt.Errorf("devbench: %s holding %d devices: %w", c.name(), n, err)
	}
	after := memstat.Read()
	release()
	per := memstat.Between(before, after, n)
	return Memory{Devices: n, RSSKiB: per.RSSKiB, HeapKiB: per.HeapKiB, StackKiB: per.StackKiB, Goroutines: per.Goroutines}, nil
}

// loopRound runs logins iterations of once, inFlight at a time, and returns
// the rate.
func loopRound(ctx context.Context, c client, base, logins, inFlight int, timeout time.Duration) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range inFlight {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= logins || ctx.Err() != nil {
					return
				}
				if err := c.once(ctx, base+i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return 0, fmt.Errorf("devbench: %s login loop: %w", c.name(), firstErr)
	}
	return float64(logins) / time.Since(start).Seconds(), nil
}

// measureLag runs the pacer at rate for d, each arrival one login loop
// iteration, and takes the pacer's send lag of every arrival.
func measureLag(ctx context.Context, c client, rate float64, d, timeout time.Duration) (Lag, error) {
	ctx, cancel := context.WithTimeout(ctx, d+timeout)
	defer cancel()
	var lags []time.Duration // the pacer calls WithSendLag's fn from its one goroutine
	var failed atomic.Int64
	base := 1 << 30
	phases := []scenario.Phase{{Duration: scenario.Duration(d), Model: "open", Rate: rate}}
	err := pacer.Run(ctx, phases, func(ctx context.Context, a *pacer.Arrival) {
		// The pacer cancels the sessions in flight when its phase ends: each
		// arrival finishes on its own deadline instead.
		octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		if c.once(octx, base+a.Index) != nil {
			failed.Add(1)
		}
	}, pacer.WithSendLag(func(l time.Duration) { lags = append(lags, l) }))
	if err != nil && ctx.Err() == nil {
		return Lag{}, fmt.Errorf("devbench: %s lag: %w", c.name(), err)
	}
	if len(lags) == 0 {
		return Lag{}, fmt.Errorf("devbench: %s lag: no arrivals", c.name())
	}
	slices.Sort(lags)
	q := func(p float64) time.Duration { return lags[min(len(lags)-1, int(p*float64(len(lags))))] }
	return Lag{Arrivals: len(lags), P50: q(0.5), P99: q(0.99), Max: lags[len(lags)-1], Failed: failed.Load()}, nil
}

// ticketCache makes one ticket per user, shared by both clients, so that
// neither pays for signatures the other does not.
type ticketCache struct {
	mu sync.Mutex
	m  map[string]string
}

func newTicketCache() *ticketCache { return &ticketCache{m: map[string]string{}} }

func (t *ticketCache) Ticket(user string, now time.Time) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.m[user]; ok {
		return s, nil
	}
	s, err := usersig.Gen(SDKAppID, []byte(key), user, 24*time.Hour, now, nil)
	if err != nil {
		return "", err
	}
	t.m[user] = s
	return s, nil
}

// loopUser is the user of login loop iteration i: a few hundred users, so
// that their tickets are made once.
func loopUser(prefix string, i int) string { return prefix + "loop" + strconv.Itoa(i%512) }

// bare is the anchor: gorilla/websocket with its default buffers.
type bare struct {
	url     string
	tickets *ticketCache
	dialer  websocket.Dialer
	src     []netip.Addr
	next    atomic.Uint64
}

func newBare(url string, tickets *ticketCache, src []netip.Addr) *bare {
	b := &bare{url: url, tickets: tickets, src: src}
	b.dialer = websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}, NetDialContext: b.netDial}
	return b
}

func (b *bare) name() string { return "bare" }

// netDial spreads source addresses as the ws driver does, so that both
// clients have the same ephemeral ports to use.
func (b *bare) netDial(ctx context.Context, network, addr string) (net.Conn, error) {
	src := b.src[(b.next.Add(1)-1)%uint64(len(b.src))]
	nd := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
	return nd.DialContext(ctx, network, addr)
}

// call writes f and reads one frame.
func call(c *websocket.Conn, f protocol.Frame, want string) (protocol.Frame, error) {
	b, _ := protocol.Encode(f)
	if err := c.WriteMessage(websocket.TextMessage, b); err != nil {
		return protocol.Frame{}, err
	}
	_, msg, err := c.ReadMessage()
	if err != nil {
		return protocol.Frame{}, err
	}
	got, err := protocol.Decode(msg)
	if err != nil {
		return got, err
	}
	if got.Op != want || got.Code != 0 {
		return got, fmt.Errorf("%s answered %s code %d: %s", f.Op, got.Op, got.Code, got.Message)
	}
	return got, nil
}

func (b *bare) login(ctx context.Context, user, instance string) (*websocket.Conn, error) {
	c, resp, err := b.dialer.DialContext(ctx, b.url, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		c.SetReadDeadline(dl)
		defer c.SetReadDeadline(time.Time{})
	}
	ticket, err := b.tickets.Ticket(user, time.Now())
	if err == nil {
		_, err = call(c, protocol.Frame{Op: protocol.OpHello, V: protocol.Version, SDKAppID: SDKAppID, Platform: string(policy.Android), Instance: instance}, protocol.OpHelloOK)
	}
	if err == nil {
		_, err = call(c, protocol.Frame{Op: protocol.OpLogin, ID: 1, UserID: user, UserSig: ticket, Platform: string(policy.Android), Instance: instance}, protocol.OpLoginResult)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (b *bare) hold(ctx context.Context, n, inFlight int) (func(), error) {
	conns := make([]*websocket.Conn, n)
	var readers sync.WaitGroup
	err := parallel(n, inFlight, func(i int) error {
		c, err := b.login(ctx, "bh"+strconv.Itoa(i), "bare-held-"+strconv.Itoa(i))
		if err != nil {
			return err
		}
		conns[i] = c
		readers.Go(func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		})
		return nil
	})
	release := func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		readers.Wait()
	}
	if err != nil {
		release()
		return nil, err
	}
	return release, nil
}

func (b *bare) once(ctx context.Context, i int) error {
	c, err := b.login(ctx, loopUser("b", i), "bare-loop-"+strconv.Itoa(i))
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = call(c, protocol.Frame{Op: protocol.OpLogout, ID: 2}, protocol.OpLogoutResult)
	return err
}

// parallel runs fn(0..n-1), at most k at once, and returns the first error.
func parallel(n, k int, fn func(i int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range min(k, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					next.Store(int64(n)) // stop the others
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// imload is agent.Device over driver/ws, as a run makes them.
type imload struct {
	drv     *ws.Driver
	tickets *ticketCache
}

func newImload(url string, tickets *ticketCache, src []netip.Addr) (*imload, error) {
	drv, err := ws.New(ws.Config{URL: url, LocalAddrs: src})
	if err != nil {
		return nil, err
	}
	return &imload{drv: drv, tickets: tickets}, nil
}

func (im *imload) name() string { return "imload" }

func (im *imload) config(sink event.Sink) agent.Config {
	return agent.Config{Driver: im.drv, Tickets: im.tickets, Sink: sink, SDKAppID: SDKAppID, Timeout: 30 * time.Second}
}

// loginSink tells each device's first login (or failed connect) to its
// channel.
type loginSink struct {
	done func(ok bool, e *event.Event)
}

func (s loginSink) Observe(e *event.Event) {
	switch {
	case e.Kind == event.Login:
		s.done(e.Outcome == event.OK, e)
	case e.Kind == event.Connect && e.Outcome != event.OK:
		s.done(false, e)
	}
}

// opSink is a function as an event.Sink.
type opSink func(e *event.Event)

func (s opSink) Observe(e *event.Event) { s(e) }

func (im *imload) hold(ctx context.Context, n, inFlight int) (func(), error) {
	dctx, cancel := context.WithCancel(ctx)
	var devices sync.WaitGroup
	results := make(chan error, n)
	sink := loginSink{done: func(ok bool, e *event.Event) {
		if ok {
			results <- nil
		} else {
			results <- fmt.Errorf("%s of %s: %s %s", e.Kind, e.UserID, e.Outcome, e.Note)
		}
	}}
	cfg := im.config(sink)
	release := func() {
		cancel()
		devices.Wait()
	}
	sem := make(chan struct{}, inFlight) // a place per login in progress
	wait := func() error {
		select {
		case err := <-results:
			<-sem
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for i := range n {
		for len(sem) == cap(sem) {
			if err := wait(); err != nil {
				release()
				return nil, err
			}
		}
		sem <- struct{}{}
		plan := agent.Plan{Index: i, Instance: "imload-held-" + strconv.Itoa(i), Platform: policy.Android,
			User: "ih" + strconv.Itoa(i), Hold: 24 * time.Hour, Leave: agent.LeaveKill}
		devices.Go(func() { agent.NewDevice(cfg, plan).Run(dctx, time.Now()) })
	}
	for len(sem) > 0 {
		if err := wait(); err != nil {
			release()
			return nil, err
		}
	}
	return release, nil
}

func (im *imload) once(ctx context.Context, i int) error {
	var failed error // the device's events come from its own goroutine
	sink := opSink(func(e *event.Event) {
		if failed == nil && e.Outcome != event.OK && (e.Kind == event.Connect || e.Kind == event.Login || e.Kind == event.Logout) {
			failed = fmt.Errorf("%s of %s: %s %s", e.Kind, e.UserID, e.Outcome, e.Note)
		}
	})
	plan := agent.Plan{Index: i, Instance: "imload-loop-" + strconv.Itoa(i), Platform: policy.Android,
		User: loopUser("i", i), Leave: agent.LeaveLogout}
	agent.NewDevice(im.config(sink), plan).Run(ctx, time.Now())
	return failed
}
