package ws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/codes"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/internal/freshstack"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
)

// Conn is one device's connection. Its calls may be made concurrently (the
// server answers 6015 to a second login in progress); results are routed by
// request id. One reader goroutine per Conn ends when the transport ends.
type Conn struct {
	ws           *websocket.Conn
	clock        clock.Clock
	writeTimeout time.Duration
	dev          driver.Device
	helloOK      protocol.Frame

	nextID atomic.Uint64
	wmu    sync.Mutex // gorilla allows one writer at a time

	mu      sync.Mutex
	pending map[uint64]chan protocol.Frame
	ended   bool
	kicked  bool // a kicked_offline came: calls the close then cuts off get ErrKicked
	// connErr is the last error frame without a request id whose code
	// closes the connection, reported as the Code of PushClosed.
	connErr *ServerError

	pushes chan *driver.Push
	driver.Notify
	closing   chan struct{} // closed by Close
	closeOnce sync.Once
	done      chan struct{} // closed when the transport has ended
	exited    chan struct{} // closed when the reader goroutine has returned
}

var _ driver.Conn = (*Conn)(nil)

func newConn(wsc *websocket.Conn, cfg Config, dev driver.Device, helloOK protocol.Frame) *Conn {
	return &Conn{
		ws:           wsc,
		dev:          dev,
		clock:        cfg.Clock,
		writeTimeout: cfg.WriteTimeout,
		helloOK:      helloOK,
		pending:      make(map[uint64]chan protocol.Frame, 2),
		pushes:       make(chan *driver.Push, cfg.PushBuffer),
		closing:      make(chan struct{}),
		done:         make(chan struct{}),
		exited:       make(chan struct{}),
	}
}

// Heartbeat is the ping interval the server asked for in hello_ok (0 when
// it named none).
func (c *Conn) Heartbeat() time.Duration {
	return time.Duration(c.helloOK.HeartbeatMs) * time.Millisecond
}

// ServerVersion is the server_version of hello_ok.
func (c *Conn) ServerVersion() string { return c.helloOK.ServerVersion }

// ServerTime is the server_time_ms of hello_ok.
func (c *Conn) ServerTime() time.Time { return msTime(c.helloOK.ServerTimeMs) }

// LocalAddr is the source address of the transport.
func (c *Conn) LocalAddr() string { return c.ws.LocalAddr().String() }

// Login sends login and waits for login_result. A UserID that is empty is
// refused locally with code 7003, as the SDK does; anything else goes to the
// server unchanged (the target judges UserIDs and tickets).
func (c *Conn) Login(ctx context.Context, req driver.LoginRequest) (driver.LoginResult, error) {
	if req.UserID == "" {
		return driver.LoginResult{Code: codes.InvalidUserID, Message: "empty UserID refused by the client"}, nil
	}
	f, err := c.call(ctx, protocol.Frame{Op: protocol.OpLogin, UserID: req.UserID, UserSig: req.UserSig,
		Platform: c.helloPlatform(), Instance: c.helloInstance()}, protocol.OpLoginResult)
	if err != nil {
		return driver.LoginResult{}, err
	}
	return driver.LoginResult{
		Code:        f.Code,
		Message:     f.Message,
		Seq:         f.Seq,
		ResumeToken: f.ResumeToken,
		RepeatLogin: f.RepeatLogin,
		ServerTime:  msTime(f.ServerTimeMs),
		SigExpireAt: msTime(f.SigExpireAtMs),
	}, nil
}

// Logout sends logout and returns the code of logout_result.
func (c *Conn) Logout(ctx context.Context) (int, error) {
	f, err := c.call(ctx, protocol.Frame{Op: protocol.OpLogout}, protocol.OpLogoutResult)
	if err != nil {
		return 0, err
	}
	return f.Code, nil
}

// Resume re-attaches a session by its token and returns resume_result.
func (c *Conn) Resume(ctx context.Context, token string) (driver.ResumeResult, error) {
	if token == "" {
		return driver.ResumeResult{}, fmt.Errorf("ws: resume: empty token; use the resume_token of a successful login")
	}
	f, err := c.call(ctx, protocol.Frame{Op: protocol.OpResume, ResumeToken: token}, protocol.OpResumeResult)
	if err != nil {
		return driver.ResumeResult{}, err
	}
	return driver.ResumeResult{Code: f.Code, Message: f.Message, Seq: f.Seq}, nil
}

// Ping sends ping and waits for pong.
func (c *Conn) Ping(ctx context.Context) error {
	_, err := c.call(ctx, protocol.Frame{Op: protocol.OpPing}, protocol.OpPong)
	return err
}

// Pushes delivers kicked_offline and user_sig_expired as they arrive, then
// one PushClosed when the transport ends, then is closed.
func (c *Conn) Pushes() <-chan *driver.Push { return c.pushes }

// Done is closed when the transport has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close drops the transport at once, without logout and without a close
// handshake (network loss or app kill), and waits for the reader goroutine,
// which returns promptly. Pending calls fail with driver.ErrClosed. Close is
// idempotent.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closing)
		c.ws.Close() // closes the socket; the reader's read fails at once
	})
	<-c.exited
	return nil
}

// The login frame repeats hello's platform and instance (docs/PROTOCOL.md,
// login).
func (c *Conn) helloPlatform() string { return string(c.dev.Platform) }
func (c *Conn) helloInstance() string { return c.dev.Instance }

// call sends a request and waits for the frame with its id.
func (c *Conn) call(ctx context.Context, req protocol.Frame, want string) (protocol.Frame, error) {
	if err := ctx.Err(); err != nil {
		return protocol.Frame{}, ctxError(req.Op, 0, err)
	}
	id := c.nextID.Add(1)
	req.ID = id
	ch := make(chan protocol.Frame, 1)
	c.mu.Lock()
	if c.ended {
		err := c.endedErr()
		c.mu.Unlock()
		return protocol.Frame{}, fmt.Errorf("ws: %s: %w", req.Op, err)
	}
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()

	if err := c.write(ctx, req); err != nil {
		return protocol.Frame{}, err
	}
	var f protocol.Frame
	select {
	case f = <-ch:
	case <-ctx.Done():
		return protocol.Frame{}, ctxError(req.Op, id, ctx.Err())
	case <-c.done:
		select { // an answer may have come just before the end
		case f = <-ch:
		default:
			c.mu.Lock()
			err := c.endedErr()
			c.mu.Unlock()
			return protocol.Frame{}, fmt.Errorf("ws: %s id %d: %w", req.Op, id, err)
		}
	}
	switch f.Op {
	case want:
		return f, nil
	case protocol.OpError:
		return protocol.Frame{}, fmt.Errorf("ws: %s id %d: %w", req.Op, id, &ServerError{Op: req.Op, Code: f.Code, Message: f.Message})
	}
	return protocol.Frame{}, fmt.Errorf("ws: %s id %d: server answered with op %q, want %q", req.Op, id, f.Op, want)
}

// endedErr is the error of a call cut off by the end of the transport:
// ErrKicked after a kick, ErrClosed otherwise. c.mu is held.
func (c *Conn) endedErr() error {
	if c.kicked {
		return driver.ErrKicked
	}
	return driver.ErrClosed
}

// write sends one frame; its deadline is the earlier of ctx's and
// WriteTimeout. A failed write leaves the WebSocket unusable, so it drops the
// transport.
func (c *Conn) write(ctx context.Context, f protocol.Frame) error {
	b, err := protocol.Encode(f)
	if err != nil {
		return fmt.Errorf("ws: encode %s: %w", f.Op, err)
	}
	dl := time.Now().Add(c.writeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	c.wmu.Lock()
	c.ws.SetWriteDeadline(dl)
	err = c.ws.WriteMessage(websocket.TextMessage, b)
	c.wmu.Unlock()
	if err == nil {
		return nil
	}
	c.ws.Close()
	if isTimeout(err) {
		if ctx.Err() != nil {
			return ctxError(f.Op, f.ID, ctx.Err())
		}
		return fmt.Errorf("ws: send %s id %d: no progress in %s: %w", f.Op, f.ID, c.writeTimeout, driver.ErrTimeout)
	}
	return fmt.Errorf("ws: send %s id %d: %w (%w)", f.Op, f.ID, driver.ErrClosed, err)
}

func ctxError(op string, id uint64, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("ws: %s id %d: no answer before the deadline: %w", op, id, ctxReason(err))
	}
	return fmt.Errorf("ws: %s id %d: %w", op, id, err)
}

// read is the Conn's one reader goroutine; it returns when the transport
// ends and Pushes is closed. It lives as long as the connection, parked in
// the socket read; each frame is handled through freshstack.Call, so that
// decoding does not leave the parked reader with a large stack.
func (c *Conn) read() {
	defer close(c.exited)
	var endErr error
	for endErr == nil {
		mt, r, err := c.ws.NextReader()
		if err != nil {
			endErr = err
			break
		}
		// The message is read, like it is handled, off the parked stack.
		freshstack.Call(func() {
			b, err := io.ReadAll(r)
			switch {
			case err != nil:
				endErr = err
			case mt == websocket.TextMessage: // the protocol has only text frames; a binary one is ignored
				c.dispatch(b, c.clock.Now())
			}
		})
	}
	freshstack.Call(func() { c.end(endErr) })
}

// end closes the transport and Pushes after the reader's last frame.
func (c *Conn) end(endErr error) {
	c.ws.Close()
	c.mu.Lock()
	c.ended = true
	connErr := c.connErr
	c.mu.Unlock()
	close(c.done)

	p := driver.Push{Kind: driver.PushClosed, At: c.clock.Now(), Reason: closeReason(endErr, c.isClosing())}
	if connErr != nil {
		p.Code = connErr.Code
		p.Reason = fmt.Sprintf("%s after error %d: %s", p.Reason, connErr.Code, connErr.Message)
	}
	c.push(p)
	close(c.pushes)
	c.Pushed()
}

// dispatch handles one frame from the server.
func (c *Conn) dispatch(b []byte, at time.Time) {
	f, err := protocol.Decode(b)
	if err != nil {
		return // not a frame of this protocol; a strict server never sends one
	}
	switch f.Op {
	case protocol.OpLoginResult, protocol.OpLogoutResult, protocol.OpResumeResult, protocol.OpPong:
		c.route(f)
	case protocol.OpError:
		if f.ID != 0 {
			c.route(f)
			return
		}
		// A connection-level error: every waiting call gets it, and one
		// that precedes the server's close is reported with PushClosed.
		c.mu.Lock()
		if closesConn(f.Code) {
			c.connErr = &ServerError{Code: f.Code, Message: f.Message}
		}
		for _, ch := range c.pending {
			select {
			case ch <- f:
			default:
			}
		}
		c.mu.Unlock()
	case protocol.OpKickedOffline:
		defer func() { // after the push: a call cut off by the close finds it queued
			c.mu.Lock()
			c.kicked = true
			c.mu.Unlock()
		}()
		c.push(driver.Push{
			Kind:       driver.PushKicked,
			At:         at,
			ServerTime: msTime(f.ServerTimeMs),
			ByPlatform: policy.Platform(f.ByPlatform),
			ByInstance: f.ByInstance,
			BySeq:      f.BySeq,
			Seq:        f.Seq,
			Code:       f.Code,
			Reason:     f.Reason,
		})
	case protocol.OpUserSigExpired:
		c.push(driver.Push{Kind: driver.PushSigExpired, At: at, Code: f.Code, Reason: f.Reason})
	}
}

// route hands a result to the call waiting for its id; late results (after
// the call gave up) are dropped.
func (c *Conn) route(f protocol.Frame) {
	c.mu.Lock()
	ch := c.pending[f.ID]
	c.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- f:
	default: // already answered (e.g. by a connection-level error)
	}
}

// push delivers p, blocking while the device has not read earlier pushes;
// once Close is called it delivers only if there is room.
func (c *Conn) push(p driver.Push) {
	select {
	case c.pushes <- &p:
	case <-c.closing:
		select {
		case c.pushes <- &p:
		default:
			return
		}
	}
	c.Pushed()
}

func (c *Conn) isClosing() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

func closeReason(err error, local bool) string {
	if local {
		return "closed by client"
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		if ce.Text != "" {
			return fmt.Sprintf("server closed (%d %s)", ce.Code, ce.Text)
		}
		return fmt.Sprintf("server closed (%d)", ce.Code)
	}
	if err == nil {
		return "transport ended"
	}
	return "transport lost: " + err.Error()
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// closesConn reports the error codes after which the server closes the
// connection (docs/PROTOCOL.md, section 5).
func closesConn(code int) bool {
	switch code {
	case codes.FrameTooBig, codes.NoHello, codes.BadVersion, codes.ServerClosed:
		return true
	}
	return false
}
