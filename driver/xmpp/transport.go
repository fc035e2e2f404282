package xmpp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imload/imload/driver"
	"github.com/imload/imload/internal/freshstack"
)

// transport is one WebSocket with one XMPP stream (and its restart after
// authentication) and the goroutine that reads it. A Conn has one at a time:
// a logout ends it, and the next login opens another.
type transport struct {
	ws       *websocket.Conn
	c        *Conn
	domain   string
	features features // before authentication

	wmu sync.Mutex // gorilla allows one writer at a time

	// inbox carries the messages a call waits for (SASL, features, IQ
	// results) while waiting is set; others are dropped.
	inbox   chan *node
	waiting atomic.Bool
	// local: the client ends the transport (logout, Close, an abandoned
	// login), so its end is not reported as a push.
	local atomic.Bool

	// Set by the reader before done is closed.
	endErr    error
	streamErr *StreamError
	gotClose  bool

	done   chan struct{} // the read loop has ended and the socket is closed
	exited chan struct{} // the reader goroutine has returned
}

func newTransport(wsc *websocket.Conn, c *Conn) *transport {
	t := &transport{
		ws:     wsc,
		c:      c,
		inbox:  make(chan *node, 8),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	wsc.SetPingHandler(t.pong)
	return t
}

// StreamError is a <stream:error/> the server sent before it closed the
// stream. It wraps driver.ErrClosed.
type StreamError struct {
	Condition string // e.g. "conflict", "policy-violation", "system-shutdown"
	Text      string
}

func (e *StreamError) Error() string {
	if e.Text == "" {
		return "stream error " + e.Condition
	}
	return "stream error " + e.Condition + ": " + e.Text
}

// Unwrap makes errors.Is(err, driver.ErrClosed) hold.
func (e *StreamError) Unwrap() error { return driver.ErrClosed }

// kickConditions are the stream errors that mean the session was taken
// away rather than the server or network ending: a login that replaced it
// (conflict: a resource conflict or max_user_sessions), an administrative
// kick (policy-violation, as ejabberd's kick_session sends), or revoked
// credentials (not-authorized).
func isKick(condition string) bool {
	switch condition {
	case "conflict", "policy-violation", "not-authorized":
		return true
	}
	return false
}

// read is the transport's one reader goroutine. It lives as long as the
// transport, parked in the socket read; each message is read, parsed and
// handled through freshstack.Call, so that the XML decoder's deep calls do
// not leave the parked reader with a large stack.
func (t *transport) read() {
	defer close(t.exited)
	for {
		mt, r, err := t.ws.NextReader()
		if err != nil {
			t.endErr = err
			break
		}
		var stop bool
		freshstack.Call(func() { stop = t.handle(mt, r) })
		if stop {
			break
		}
	}
	freshstack.Call(t.finish)
}

// handle reads one message and dispatches it; true ends the read loop.
func (t *transport) handle(mt int, r io.Reader) bool {
	b, err := io.ReadAll(r)
	if err != nil {
		t.endErr = err
		return true
	}
	if mt != websocket.TextMessage {
		return false // RFC 7395 section 3.2: XMPP travels in text frames only
	}
	n, err := parse(b)
	if err != nil {
		return false // not one XML element; a conforming server sends none
	}
	return t.dispatch(n)
}

// finish closes the socket after the reader's last message and reports an
// end the client did not cause.
func (t *transport) finish() {
	t.ws.Close()
	close(t.done)
	if !t.local.Load() {
		t.c.lost(t)
	}
}

// pong answers a WebSocket ping (ejabberd sends one a minute) as gorilla's
// default handler does, off the parked reader's stack.
func (t *transport) pong(data string) error {
	var err error
	freshstack.Call(func() {
		err = t.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		if errors.Is(err, websocket.ErrCloseSent) || isTimeout(err) {
			err = nil
		}
	})
	return err
}

// dispatch handles one message; true ends the read loop.
func (t *transport) dispatch(n *node) bool {
	switch {
	case n.is(nsStream, "error"):
		t.streamErr = &StreamError{Condition: n.condition(nsStreams), Text: n.errText(nsStreams)}
		if t.streamErr.Condition == "" {
			t.streamErr.Condition = "undefined-condition"
		}
		if isKick(t.streamErr.Condition) && !t.local.Load() {
			// Told now: the server may take a while to close the socket.
			t.c.push(driver.Push{Kind: driver.PushKicked, At: t.c.d.cfg.Clock.Now(), Reason: t.streamErr.Condition})
		}
	case n.is(nsFraming, "close"):
		t.gotClose = true
		if t.local.Load() {
			return false // our logout: read on until the server closes the socket
		}
		// The server closes: answer in kind (RFC 7395 section 3.6) and go.
		_ = t.write(context.Background(), closeMsg(), time.Second)
		return true
	case n.is(nsClient, "iq") && n.attr("type") == "get" && n.child(nsPing, "ping") != nil:
		_ = t.write(context.Background(), pongMsg(n.attr("id"), n.attr("from")), time.Second)
	case n.is(nsClient, "message"), n.is(nsClient, "presence"):
		// A device of imload neither chats nor keeps presence.
	default:
		if t.waiting.Load() {
			select {
			case t.inbox <- n:
			default: // a call has more unread answers than it can use
			}
		}
	}
	return false
}

// write sends one message with a deadline: the earlier of ctx's and d.
func (t *transport) write(ctx context.Context, b []byte, d time.Duration) error {
	t.wmu.Lock()
	t.ws.SetWriteDeadline(untilDeadline(ctx, d))
	err := t.ws.WriteMessage(websocket.TextMessage, b)
	t.wmu.Unlock()
	return err
}

// send writes a message for a call. A failed write leaves the WebSocket
// unusable, so it ends the transport.
func (t *transport) send(ctx context.Context, what string, b []byte) error {
	err := t.write(ctx, b, t.c.d.cfg.WriteTimeout)
	if err == nil {
		return nil
	}
	t.ws.Close()
	if isTimeout(err) {
		if ctx.Err() != nil {
			return fmt.Errorf("send %s: %w", what, ctxReason(ctx.Err()))
		}
		return fmt.Errorf("send %s: no progress in %s: %w", what, t.c.d.cfg.WriteTimeout, driver.ErrTimeout)
	}
	return fmt.Errorf("send %s: %w (%w)", what, driver.ErrClosed, err)
}

// begin starts a call: answers are collected from now on, stale ones
// dropped. end stops collecting.
func (t *transport) begin() {
drain:
	for {
		select {
		case <-t.inbox:
		default:
			break drain
		}
	}
	t.waiting.Store(true)
}

func (t *transport) end() { t.waiting.Store(false) }

// expect waits for the next message that match accepts, skipping others.
func (t *transport) expect(ctx context.Context, what string, match func(*node) bool) (*node, error) {
	for {
		var n *node
		select {
		case n = <-t.inbox:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for %s: %w", what, ctxReason(ctx.Err()))
		case <-t.done:
			select {
			case n = <-t.inbox:
			default:
				return nil, fmt.Errorf("wait for %s: %w", what, t.endError())
			}
		}
		if match(n) {
			return n, nil
		}
	}
}

// endError says why the transport ended; it wraps driver.ErrClosed.
func (t *transport) endError() error {
	if t.streamErr != nil {
		return t.streamErr
	}
	if t.endErr == nil || t.gotClose {
		return fmt.Errorf("the server closed the stream: %w", driver.ErrClosed)
	}
	return fmt.Errorf("%w: %v", driver.ErrClosed, t.endErr)
}

// drop ends the transport from the client side at once (no <close/>) and
// waits for its reader.
func (t *transport) drop() {
	t.local.Store(true)
	t.ws.Close()
	<-t.exited
}

// openStream opens (or restarts) the stream to domain and returns the
// server's features.
func (t *transport) openStream(ctx context.Context, domain string) (features, error) {
	t.begin()
	defer t.end()
	t.domain = domain
	if err := t.send(ctx, "open", openMsg(domain)); err != nil {
		return features{}, err
	}
	open, err := t.expect(ctx, "<open/>", func(n *node) bool {
		return n.is(nsFraming, "open") || n.is(nsStream, "features")
	})
	if err != nil {
		return features{}, err
	}
	if open.is(nsFraming, "open") {
		if v := open.attr("version"); v != "" && v[0] != '1' {
			return features{}, fmt.Errorf("server opened a stream of version %q, want 1.x", v)
		}
		if open, err = t.expect(ctx, "<stream:features/>", func(n *node) bool { return n.is(nsStream, "features") }); err != nil {
			return features{}, err
		}
	}
	return parseFeatures(open), nil
}

var errNoMechanism = errors.New("no common SASL mechanism")
