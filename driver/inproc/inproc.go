package inproc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
	"github.com/imload/imload/server"
)

// DefaultPushBuffer is how many pushes a device may leave unread before the
// server treats it as too slow and closes it (PushClosed always fits).
const DefaultPushBuffer = 4

// Driver connects devices to a server in the same process.
type Driver struct {
	s          *server.Server
	addr       string
	pushBuffer int
}

// Option configures a Driver.
type Option func(*Driver)

// WithRemoteIP sets the source address the server sees (default
// "127.0.0.1"); the ticket-failure limit counts per address.
func WithRemoteIP(ip string) Option { return func(d *Driver) { d.addr = ip } }

// WithPushBuffer sets how many unread pushes a device may have (minimum 2).
func WithPushBuffer(n int) Option {
	return func(d *Driver) {
		if n >= 2 {
			d.pushBuffer = n
		}
	}
}

// New returns a driver for s.
func New(s *server.Server, opts ...Option) *Driver {
	d := &Driver{s: s, addr: "127.0.0.1", pushBuffer: DefaultPushBuffer}
	for _, o := range opts {
		o(d)
	}
	return d
}

var _ driver.Driver = (*Driver)(nil)

// Name is "inproc".
func (d *Driver) Name() string { return "inproc" }

// Close releases nothing: the server belongs to the caller.
func (d *Driver) Close() error { return nil }

// Connect attaches a device and says hello.
func (d *Driver) Connect(ctx context.Context, dev driver.Device) (driver.Conn, error) {
	if err := ctxErr(ctx, "connect"); err != nil {
		return nil, err
	}
	c := &Conn{d: d, dev: dev, pushes: make(chan *driver.Push, d.pushBuffer)}
	core, err := d.s.Attach(c, d.addr)
	if err != nil {
		return nil, fmt.Errorf("inproc: connect: %w (%w)", driver.ErrClosed, err)
	}
	c.core = core
	r, ok := core.Hello(&protocol.Frame{Op: protocol.OpHello, V: protocol.Version, SDKAppID: dev.SDKAppID,
		Platform: string(dev.Platform), Instance: dev.Instance})
	if !ok || r.Op != protocol.OpHelloOK {
		c.Close()
		return nil, &HelloError{Code: r.Code, Message: r.Message}
	}
	c.heartbeat = time.Duration(r.HeartbeatMs) * time.Millisecond
	return c, nil
}

// HelloError is a hello the server answered with an error (a flapping
// ban, a bad platform); ErrorCode gives its code, as ws.ServerError does.
type HelloError struct {
	Code    int
	Message string
}

func (e *HelloError) Error() string {
	return fmt.Sprintf("inproc: hello refused with %d: %s", e.Code, e.Message)
}

// ErrorCode is the server's code.
func (e *HelloError) ErrorCode() int { return e.Code }

// Conn is one device's in-process connection. Its calls may overlap, as on
// the wire: the server answers 6015 to a second operation in progress.
type Conn struct {
	d         *Driver
	core      *server.Conn
	dev       driver.Device
	heartbeat time.Duration
	nextID    atomic.Uint64

	mu     sync.Mutex // guards the fields below
	pushes chan *driver.Push
	driver.Notify
	ended     bool
	kicked    bool // a kicked_offline came: later calls get driver.ErrKicked (the server ignores them)
	closeCode int  // code of an error push that preceded the end (1007)
}

var _ driver.Conn = (*Conn)(nil)
var _ server.Peer = (*Conn)(nil)

// Heartbeat is the ping interval the server asked for.
func (c *Conn) Heartbeat() time.Duration { return c.heartbeat }

// Core is the server-side connection (for tests and diagnostics).
func (c *Conn) Core() *server.Conn { return c.core }

func ctxErr(ctx context.Context, op string) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("inproc: %s: %w (%w)", op, driver.ErrTimeout, err)
	}
	return fmt.Errorf("inproc: %s: %w", op, err)
}

func (c *Conn) isEnded() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended
}

// call runs one request on the core unless the connection has ended.
func (c *Conn) call(ctx context.Context, f protocol.Frame) (protocol.Frame, error) {
	if err := ctxErr(ctx, f.Op); err != nil {
		return protocol.Frame{}, err
	}
	c.mu.Lock()
	ended, kicked := c.ended, c.kicked
	c.mu.Unlock()
	if ended || kicked {
		err := driver.ErrClosed
		if kicked {
			err = driver.ErrKicked
		}
		return protocol.Frame{}, fmt.Errorf("inproc: %s: %w", f.Op, err)
	}
	f.ID = c.nextID.Add(1)
	r, _ := c.core.Handle(&f)
	if r.Op == protocol.OpError {
		return r, fmt.Errorf("inproc: %s: error %d: %s", f.Op, r.Code, r.Message)
	}
	return r, nil
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// Login logs in. An empty UserID is refused locally with 7003, as the SDK
// and the ws driver do.
func (c *Conn) Login(ctx context.Context, req driver.LoginRequest) (driver.LoginResult, error) {
	if req.UserID == "" {
		return driver.LoginResult{Code: codes.InvalidUserID, Message: "empty UserID refused by the client"}, nil
	}
	f, err := c.call(ctx, protocol.Frame{Op: protocol.OpLogin, UserID: req.UserID, UserSig: req.UserSig,
		Platform: string(c.dev.Platform), Instance: c.dev.Instance})
	if err != nil {
		return driver.LoginResult{}, err
	}
	return driver.LoginResult{Code: f.Code, Message: f.Message, Seq: f.Seq, ResumeToken: f.ResumeToken,
		RepeatLogin: f.RepeatLogin, ServerTime: msTime(f.ServerTimeMs), SigExpireAt: msTime(f.SigExpireAtMs)}, nil
}

// Logout logs out and returns the server's code.
func (c *Conn) Logout(ctx context.Context) (int, error) {
	f, err := c.call(ctx, protocol.Frame{Op: protocol.OpLogout})
	if err != nil {
		return 0, err
	}
	return f.Code, nil
}

// Resume re-attaches a session by its token.
func (c *Conn) Resume(ctx context.Context, token string) (driver.ResumeResult, error) {
	if token == "" {
		return driver.ResumeResult{}, errors.New("inproc: resume: empty token; use the resume_token of a successful login")
	}
	f, err := c.call(ctx, protocol.Frame{Op: protocol.OpResume, ResumeToken: token})
	if err != nil {
		return driver.ResumeResult{}, err
	}
	return driver.ResumeResult{Code: f.Code, Message: f.Message, Seq: f.Seq}, nil
}

// Ping is a heartbeat.
func (c *Conn) Ping(ctx context.Context) error {
	_, err := c.call(ctx, protocol.Frame{Op: protocol.OpPing})
	return err
}

// Pushes delivers kicked_offline and user_sig_expired, then one PushClosed
// when the connection ends, then is closed.
func (c *Conn) Pushes() <-chan *driver.Push { return c.pushes }

// Close drops the connection without logout (network loss or app kill): the
// session stays resumable for the server's resume window.
func (c *Conn) Close() error {
	c.end("closed by the client")
	c.core.Detach(server.ReasonLinkClose)
	return nil
}

// Push implements server.Peer. It never blocks: with the buffer full but
// for the slot of PushClosed, it refuses and the server closes the device.
func (c *Conn) Push(f *protocol.Frame) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return false
	}
	now := c.d.s.Clock().Now()
	switch f.Op {
	case protocol.OpKickedOffline:
		if len(c.pushes) >= cap(c.pushes)-1 {
			return false
		}
		c.kicked = true
		c.pushes <- &driver.Push{Kind: driver.PushKicked, At: now, ServerTime: msTime(f.ServerTimeMs), ByPlatform: policy.Platform(f.ByPlatform),
			ByInstance: f.ByInstance, BySeq: f.BySeq, Seq: f.Seq, Code: f.Code, Reason: f.Reason}
		c.Pushed()
	case protocol.OpUserSigExpired:
		if len(c.pushes) >= cap(c.pushes)-1 {
			return false
		}
		c.pushes <- &driver.Push{Kind: driver.PushSigExpired, At: now, Seq: f.Seq, Code: f.Code, Reason: f.Reason}
		c.Pushed()
	case protocol.OpError:
		c.closeCode = f.Code // reported with PushClosed
	}
	return true
}

// Hangup implements server.Peer.
func (c *Conn) Hangup(reason string) { c.end(reason) }

// end delivers PushClosed once and closes the channel.
func (c *Conn) end(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	c.ended = true
	c.pushes <- &driver.Push{Kind: driver.PushClosed, At: c.d.s.Clock().Now(), Code: c.closeCode, Reason: reason}
	close(c.pushes)
	c.Pushed()
}
