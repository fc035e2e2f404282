package ws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imload/imload/driver"
	"github.com/imload/imload/driver/internal/wsdial"
	"github.com/imload/imload/protocol"
)

// Driver connects devices to one target over docs/PROTOCOL.md. It is safe
// for concurrent use.
type Driver struct {
	cfg    Config
	url    string
	dialer websocket.Dialer
	// next picks the source address of the next loopback dial.
	next   atomic.Uint64
	closed atomic.Bool
}

var _ driver.Driver = (*Driver)(nil)

// New checks cfg and returns a driver for its target. It does not dial.
func New(cfg Config) (*Driver, error) {
	cfg = cfg.withDefaults()
	u, err := targetURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	for i, a := range cfg.LocalAddrs {
		if !a.IsValid() || !a.IsLoopback() {
			return nil, fmt.Errorf("ws: Config.LocalAddrs[%d] = %s: only loopback source addresses are allowed", i, a)
		}
	}
	d := &Driver{cfg: cfg, url: u.String()}
	d.dialer = websocket.Dialer{
		NetDialContext:  d.netDial,
		Subprotocols:    []string{protocol.Subprotocol},
		ReadBufferSize:  512,
		WriteBufferSize: 1024,
		// One pool of write buffers for all Conns: an idle connection holds
		// none, which matters at tens of thousands of connections.
		WriteBufferPool: &sync.Pool{},
	}
	return d, nil
}

// Name is "ws".
func (d *Driver) Name() string { return "ws" }

// Close makes later Connect calls fail. Open Conns are not touched.
func (d *Driver) Close() error {
	d.closed.Store(true)
	return nil
}

// Connect dials the target, performs the WebSocket upgrade with subprotocol
// imload.v1, sends hello and waits for hello_ok. An error frame in place of
// hello_ok is returned as a *ServerError; a ctx deadline or
// Config.HandshakeTimeout as an error wrapping driver.ErrTimeout.
func (d *Driver) Connect(ctx context.Context, dev driver.Device) (driver.Conn, error) {
	return d.Dial(ctx, dev)
}

// Dial is Connect with the concrete type, for callers that want the
// hello_ok facts (Heartbeat, ServerVersion).
func (d *Driver) Dial(ctx context.Context, dev driver.Device) (*Conn, error) {
	if d.closed.Load() {
		return nil, fmt.Errorf("ws: connect to %s: %w (driver closed)", d.url, driver.ErrClosed)
	}
	hctx, cancel := context.WithTimeout(ctx, d.cfg.HandshakeTimeout)
	defer cancel()

	wsc, err := wsdial.Dial(hctx, &d.dialer, "ws", d.url, protocol.Subprotocol)
	if err != nil {
		return nil, err
	}
	wsc.SetReadLimit(protocol.MaxFrameBytes)

	ok, err := d.hello(hctx, wsc, dev)
	if err != nil {
		wsc.Close()
		return nil, err
	}
	c := newConn(wsc, d.cfg, dev, ok)
	go c.read()
	return c, nil
}

// hello sends the hello frame and reads the first server frame.
func (d *Driver) hello(ctx context.Context, wsc *websocket.Conn, dev driver.Device) (protocol.Frame, error) {
	fail := func(what string, err error) (protocol.Frame, error) {
		if ctx.Err() != nil {
			return protocol.Frame{}, fmt.Errorf("ws: %s at %s: %w", what, d.url, ctxReason(ctx.Err()))
		}
		if isTimeout(err) { // the socket deadline is ctx's deadline
			return protocol.Frame{}, fmt.Errorf("ws: %s at %s: %w (%w)", what, d.url, driver.ErrTimeout, err)
		}
		return protocol.Frame{}, fmt.Errorf("ws: %s at %s: %w", what, d.url, err)
	}
	b, err := protocol.Encode(protocol.Frame{
		Op: protocol.OpHello, V: protocol.Version,
		SDKAppID: dev.SDKAppID, Platform: string(dev.Platform), Instance: dev.Instance,
	})
	if err != nil {
		return fail("encode hello", err)
	}
	dl, _ := ctx.Deadline() // hctx always has one
	wsc.SetWriteDeadline(dl)
	wsc.SetReadDeadline(dl)
	// A cancelled (not expired) ctx must also end the wait for hello_ok.
	stop := context.AfterFunc(ctx, func() { wsc.UnderlyingConn().SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := wsc.WriteMessage(websocket.TextMessage, b); err != nil {
		return fail("send hello", err)
	}
	mt, msg, err := wsc.ReadMessage()
	if err != nil {
		return fail("wait for hello_ok", err)
	}
	if !stop() {
		return fail("wait for hello_ok", ctx.Err())
	}
	wsc.SetWriteDeadline(time.Time{})
	wsc.SetReadDeadline(time.Time{})
	if mt != websocket.TextMessage {
		return fail("wait for hello_ok", errors.New("server sent a binary frame"))
	}
	f, err := protocol.Decode(msg)
	if err != nil {
		return fail("wait for hello_ok", err)
	}
	switch f.Op {
	case protocol.OpHelloOK:
		return f, nil
	case protocol.OpError:
		return protocol.Frame{}, fmt.Errorf("ws: hello at %s: %w", d.url, &ServerError{Op: protocol.OpHello, Code: f.Code, Message: f.Message})
	}
	return fail("wait for hello_ok", fmt.Errorf("server answered hello with op %q", f.Op))
}

// netDial opens the TCP connection, binding a source address from
// Config.LocalAddrs when the target is loopback.
func (d *Driver) netDial(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := net.Dialer{Timeout: d.cfg.DialTimeout}
	if target, ok := d.spreadTarget(addr); ok {
		src := d.pickSource(target.Addr().Is4())
		if src.IsValid() {
			nd.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))
			nd.Control = bindNoPort
			addr = target.String()
		}
	}
	return nd.DialContext(ctx, network, addr)
}

// spreadTarget reports whether addr (host:port) is a loopback target that
// source spreading applies to, and its address. "localhost" counts as
// 127.0.0.1 (or ::1 when only IPv6 sources are configured).
func (d *Driver) spreadTarget(addr string) (netip.AddrPort, bool) {
	if len(d.cfg.LocalAddrs) == 0 {
		return netip.AddrPort{}, false
	}
	return loopbackTarget(addr, d.cfg.LocalAddrs[0].Is4())
}

func loopbackTarget(addr string, prefer4 bool) (netip.AddrPort, bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, false
	}
	p, err := netip.ParseAddrPort(net.JoinHostPort("0.0.0.0", port))
	if err != nil {
		return netip.AddrPort{}, false
	}
	var ip netip.Addr
	if host == "localhost" {
		ip = netip.IPv6Loopback()
		if prefer4 {
			ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
	} else if ip, err = netip.ParseAddr(host); err != nil {
		return netip.AddrPort{}, false
	}
	ip = ip.Unmap()
	if !ip.IsLoopback() {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip, p.Port()), true
}

// pickSource returns the next configured source address of the target's
// family, or the zero Addr when none matches.
func (d *Driver) pickSource(is4 bool) netip.Addr {
	n := uint64(len(d.cfg.LocalAddrs))
	for range n {
		a := d.cfg.LocalAddrs[(d.next.Add(1)-1)%n]
		if a.Is4() == is4 {
			return a
		}
	}
	return netip.Addr{}
}

// ServerError is an error frame that the server sent in answer to a request
// (or, with no request id, to the connection as a whole).
type ServerError struct {
	Op      string // the request it answered ("hello", "login", ...; "" for the connection)
	Code    int    // protocol or login error code (docs/PROTOCOL.md, error codes)
	Message string
}

func (e *ServerError) Error() string {
	op := e.Op
	if op == "" {
		op = "connection"
	}
	return fmt.Sprintf("server answered %s with error %d: %s", op, e.Code, e.Message)
}

// ErrorCode returns the server's code, so callers can record it without
// knowing this type.
func (e *ServerError) ErrorCode() int { return e.Code }

// isTimeout reports a socket deadline error; gorilla hides the os error
// behind a net.Error of its own.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// ctxReason turns a context error into the driver's: an expired deadline
// wraps driver.ErrTimeout (and the context error), a cancellation stays
// itself.
func ctxReason(err error) error { return wsdial.CtxReason(err) }
