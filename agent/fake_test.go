package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imload/imload/driver"
	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// fakeDriver is an in-memory target: it records every call on every
// connection, answers logins and resumes as the test says, and lets the test
// push to a connection.
type fakeDriver struct {
	mu    sync.Mutex
	calls []string
	conns []*fakeConn
	seq   uint64
	nLog  int // logins so far
	// login answers login number n (0-based); nil: success.
	login func(n int, req driver.LoginRequest) (driver.LoginResult, error)
	// resume answers a resume; nil: success with the token's seq.
	resume func(token string) (driver.ResumeResult, error)
	// hang makes these ops never answer (until their context ends).
	hang map[string]bool
	// hangEvery > 0 makes every hangEvery-th login never answer.
	hangEvery int
	// loginDelay holds every login this long before answering.
	loginDelay time.Duration
	connectErr error
	// rejectConcurrent answers 6015 to a login that arrives while another
	// is pending, as a server that tracks LOGINING would.
	rejectConcurrent bool
	pending          int
	// gate, when set, holds every login until it is closed.
	gate chan struct{}
	// logoutKicked: a logout finds the connection kicked (the kick's push
	// queued, then driver.ErrKicked), as when a kick overtakes it.
	logoutKicked bool
}

func newFake() *fakeDriver { return &fakeDriver{hang: map[string]bool{}} }

func (f *fakeDriver) Name() string { return "fake" }
func (f *fakeDriver) Close() error { return nil }

func (f *fakeDriver) Connect(ctx context.Context, dev driver.Device) (driver.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "connect "+dev.Instance)
	if f.connectErr != nil {
		return nil, f.connectErr
	}
	c := &fakeConn{f: f, id: len(f.conns), dev: dev, pushes: make(chan *driver.Push, 8), closed: make(chan struct{})}
	f.conns = append(f.conns, c)
	if parkedConns {
		return parkedConn{c}, nil
	}
	return c, nil
}

// parkedConns makes the fake's connections unable to announce their pushes
// (not driver.PushNotifier), so that sessions wait on a parked goroutine.
var parkedConns bool

// parkedConn hides the connection's NotifyPushes.
type parkedConn struct{ driver.Conn }

func (f *fakeDriver) record(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

// Calls returns the calls so far.
func (f *fakeDriver) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// count returns how many calls start with prefix.
func (f *fakeDriver) count(prefix string) int {
	n := 0
	for _, c := range f.Calls() {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

// conn returns connection i, waiting for it to exist.
func (f *fakeDriver) conn(t *testing.T, i int) *fakeConn {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		f.mu.Lock()
		if i < len(f.conns) {
			c := f.conns[i]
			f.mu.Unlock()
			return c
		}
		f.mu.Unlock()
	}
	t.Fatalf("connection %d never made", i)
	return nil
}

type fakeConn struct {
	f      *fakeDriver
	id     int
	dev    driver.Device
	pushes chan *driver.Push
	closed chan struct{}
	once   sync.Once
	driver.Notify
}

func (c *fakeConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// wait blocks until ctx ends when op hangs, or for d.
func (c *fakeConn) wait(ctx context.Context, op string, d time.Duration) error {
	c.f.mu.Lock()
	hang := c.f.hang[op]
	c.f.mu.Unlock()
	return c.waitFor(ctx, op, d, hang)
}

func (c *fakeConn) waitFor(ctx context.Context, op string, d time.Duration, hang bool) error {
	if !hang && d <= 0 {
		return nil
	}
	var after <-chan time.Time
	if !hang {
		after = time.After(d)
	}
	select {
	case <-ctx.Done():
		return fmt.Errorf("fake %s: %w (%w)", op, driver.ErrTimeout, ctx.Err())
	case <-c.closed:
		return fmt.Errorf("fake %s: %w", op, driver.ErrClosed)
	case <-after:
		return nil
	}
}

func (c *fakeConn) Login(ctx context.Context, req driver.LoginRequest) (driver.LoginResult, error) {
	c.f.record(fmt.Sprintf("login#%d %s %s", c.id, req.UserID, req.UserSig))
	if c.isClosed() {
		return driver.LoginResult{}, driver.ErrClosed
	}
	c.f.mu.Lock()
	n := c.f.nLog
	c.f.nLog++
	fn, delay := c.f.login, c.f.loginDelay
	busy := c.f.rejectConcurrent && c.f.pending > 0
	hang := c.f.hang["login"] || c.f.hangEvery > 0 && n%c.f.hangEvery == c.f.hangEvery-1
	c.f.pending++
	c.f.mu.Unlock()
	err := c.waitFor(ctx, "login", delay, hang)
	if gate := c.f.gate; gate != nil && err == nil {
		select {
		case <-gate:
		case <-ctx.Done():
			err = fmt.Errorf("fake login: %w (%w)", driver.ErrTimeout, ctx.Err())
		}
	}
	c.f.mu.Lock()
	c.f.pending--
	c.f.mu.Unlock()
	if err != nil {
		return driver.LoginResult{}, err
	}
	if busy {
		return driver.LoginResult{Code: 6015}, nil
	}
	if fn != nil {
		res, err := fn(n, req)
		if err != nil || res.Code != 0 || res.Seq != 0 {
			return res, err // a failure, or a success the test numbered itself
		}
	}
	c.f.mu.Lock()
	c.f.seq++
	seq := c.f.seq
	c.f.mu.Unlock()
	return driver.LoginResult{Seq: seq, ResumeToken: fmt.Sprintf("tok%d", seq), ServerTime: time.Now()}, nil
}

func (c *fakeConn) Logout(ctx context.Context) (int, error) {
	c.f.record(fmt.Sprintf("logout#%d", c.id))
	if c.isClosed() {
		return 0, driver.ErrClosed
	}
	if c.f.logoutKicked {
		c.push(driver.Push{Kind: driver.PushKicked, BySeq: 9, ByPlatform: policy.IPhone, ByInstance: "dev9", Reason: "kicked"})
		return 0, fmt.Errorf("fake logout: %w", driver.ErrKicked)
	}
	if err := c.wait(ctx, "logout", 0); err != nil {
		return 0, err
	}
	return 0, nil
}

func (c *fakeConn) Resume(ctx context.Context, token string) (driver.ResumeResult, error) {
	c.f.record(fmt.Sprintf("resume#%d %s", c.id, token))
	if err := c.wait(ctx, "resume", 0); err != nil {
		return driver.ResumeResult{}, err
	}
	c.f.mu.Lock()
	fn := c.f.resume
	c.f.mu.Unlock()
	if fn != nil {
		return fn(token)
	}
	var seq uint64
	fmt.Sscanf(token, "tok%d", &seq)
	return driver.ResumeResult{Seq: seq}, nil
}

func (c *fakeConn) Ping(ctx context.Context) error {
	c.f.record(fmt.Sprintf("ping#%d", c.id))
	return c.wait(ctx, "ping", 0)
}

func (c *fakeConn) Pushes() <-chan *driver.Push { return c.pushes }

// push delivers p to the device, as a target would.
func (c *fakeConn) push(p driver.Push) {
	if p.At.IsZero() {
		p.At = time.Now()
	}
	c.pushes <- &p
	c.Pushed()
}

func (c *fakeConn) Close() error {
	c.once.Do(func() {
		c.f.record(fmt.Sprintf("close#%d", c.id))
		close(c.closed)
	})
	return nil
}

// fakeTickets numbers the tickets it makes.
type fakeTickets struct {
	mu sync.Mutex
	n  int
}

func (ft *fakeTickets) Ticket(user string, _ time.Time) (string, error) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.n++
	return fmt.Sprintf("t%d", ft.n), nil
}

// recorder is a Sink that keeps every event and lets a test wait for one.
type recorder struct {
	mu     sync.Mutex
	evs    []event.Event
	notify chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

func (r *recorder) Observe(e *event.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, *e)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *recorder) events() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.evs...)
}

// of returns the events of kind k.
func (r *recorder) of(k event.Kind) []event.Event {
	var out []event.Event
	for _, e := range r.events() {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// waitFor waits until n events of kind k have arrived.
func (r *recorder) waitFor(t *testing.T, k event.Kind, n int) {
	t.Helper()
	timeout := time.After(3 * time.Second)
	for len(r.of(k)) < n {
		select {
		case <-r.notify:
		case <-time.After(5 * time.Millisecond):
		case <-timeout:
			t.Fatalf("waited for %d %s events, have %d: %v", n, k, len(r.of(k)), r.events())
		}
	}
}
