package xmpp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imload/imload/driver"
	"github.com/imload/imload/driver/internal/wsdial"
)

// Driver connects devices to one XMPP server over WebSocket. It is safe for
// concurrent use.
type Driver struct {
	cfg    Config
	url    string
	domain string
	dialer websocket.Dialer
	salts  *saltCache
	reg    *registrar
	closed atomic.Bool
}

var _ driver.Driver = (*Driver)(nil)

// New checks cfg and returns a driver for its server. It does not dial.
func New(cfg Config) (*Driver, error) {
	cfg = cfg.withDefaults()
	u, domain, err := target(cfg.URL, cfg.Domain)
	if err != nil {
		return nil, err
	}
	for i, m := range cfg.Mechanisms {
		if m != MechPlain && scramHash(m) == nil {
			return nil, fmt.Errorf("xmpp: Config.Mechanisms[%d] = %q: allowed are %s, %s and %s", i, m, MechSCRAMSHA1, MechSCRAMSHA256, MechPlain)
		}
	}
	d := &Driver{cfg: cfg, url: u, domain: domain, salts: newSaltCache(cfg.SaltCache), reg: newRegistrar(1 << 20)}
	d.dialer = websocket.Dialer{
		NetDialContext: (&net.Dialer{Timeout: cfg.DialTimeout}).DialContext,
		Subprotocols:   []string{Subprotocol},
		// Messages are read whole through the read buffer, which an idle
		// connection keeps: 512 B holds a frame header and the short
		// stanzas of a session, and a longer message is read through it in
		// parts.
		ReadBufferSize:  512,
		WriteBufferSize: 1024,
		// One pool of write buffers for all Conns: an idle connection holds
		// none.
		WriteBufferPool: &sync.Pool{},
	}
	return d, nil
}

// Name is "xmpp".
func (d *Driver) Name() string { return "xmpp" }

// Domain is the XMPP domain of UserIDs without one.
func (d *Driver) Domain() string { return d.domain }

// Close makes later Connect calls fail. Open Conns are not touched.
func (d *Driver) Close() error {
	d.closed.Store(true)
	return nil
}

// Connect opens a WebSocket with subprotocol xmpp, opens the stream and
// reads the server's features: the device is connected, not yet logged in.
func (d *Driver) Connect(ctx context.Context, dev driver.Device) (driver.Conn, error) {
	return d.Dial(ctx, dev)
}

// Dial is Connect with the concrete type.
func (d *Driver) Dial(ctx context.Context, dev driver.Device) (*Conn, error) {
	c := newConn(d, dev)
	t, err := d.open(ctx, c, d.domain)
	if err != nil {
		return nil, err
	}
	c.t = t
	return c, nil
}

// open dials a transport for c, opens a stream to domain and reads the
// pre-authentication features.
func (d *Driver) open(ctx context.Context, c *Conn, domain string) (*transport, error) {
	if d.closed.Load() {
		return nil, fmt.Errorf("xmpp: connect to %s: %w (driver closed)", d.url, driver.ErrClosed)
	}
	hctx, cancel := context.WithTimeout(ctx, d.cfg.HandshakeTimeout)
	defer cancel()
	wsc, err := wsdial.Dial(hctx, &d.dialer, "xmpp", d.url, Subprotocol)
	if err != nil {
		return nil, err
	}
	wsc.SetReadLimit(d.cfg.ReadLimit)
	t := newTransport(wsc, c)
	go t.read()
	f, err := t.openStream(hctx, domain)
	if err != nil {
		t.drop()
		return nil, fmt.Errorf("xmpp: connect to %s: %w", d.url, err)
	}
	t.features = f
	return t, nil
}

// nonce returns a fresh SCRAM client nonce.
func nonce() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return base64.RawStdEncoding.EncodeToString(b[:])
}

// isTimeout reports a socket deadline error.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// ctxReason turns a context error into the driver's: an expired deadline
// wraps driver.ErrTimeout (and the context error), a cancellation stays
// itself.
func ctxReason(err error) error { return wsdial.CtxReason(err) }

// untilDeadline is the earlier of ctx's deadline and now+d.
func untilDeadline(ctx context.Context, d time.Duration) time.Time {
	dl := time.Now().Add(d)
	if c, ok := ctx.Deadline(); ok && c.Before(dl) {
		return c
	}
	return dl
}
