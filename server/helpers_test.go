package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
	"github.com/imload/imload/usersig"
)

const (
	testApp = 1400000001
	waitFor = 3 * time.Second // bound of every wait for the server
)

var testKey = []byte("imload-test-key-0123456789abcdef")

// harness is a server on a loopback port with a fake clock.
type harness struct {
	t   *testing.T
	s   *Server
	clk *clock.Fake
	url string
}

func t0() time.Time { return time.Date(2024, 3, 10, 9, 0, 0, 0, time.UTC) }

func newHarness(t *testing.T, mods ...func(*Config)) *harness {
	t.Helper()
	clk := clock.NewFake(t0())
	cfg := Config{SDKAppID: testApp, Key: testKey, Clock: clk}
	for _, m := range mods {
		m(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, s: s, clk: clk, url: "ws://" + addr.String() + WSPath}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return h
}

func withPolicy(name string, inst, web int) func(*Config) {
	return func(c *Config) {
		pol, err := policy.Tencent(name, inst, web)
		if err != nil {
			panic(err)
		}
		c.Policy = pol
	}
}

// ticket makes a valid ticket for user issued now, valid for life.
func (h *harness) ticket(user string, life time.Duration) string {
	h.t.Helper()
	sig, err := usersig.Gen(testApp, testKey, user, life, h.clk.Now(), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return sig
}

// client is a test WebSocket client: a reader goroutine puts every frame in
// order on frames and closes done when the connection ends.
type client struct {
	t      *testing.T
	ws     *websocket.Conn
	frames chan protocol.Frame
	done   chan struct{}
	wmu    sync.Mutex
	id     uint64
	name   string
}

func (h *harness) dialRaw(name string) *client {
	h.t.Helper()
	d := websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}, HandshakeTimeout: waitFor}
	ws, resp, err := d.Dial(h.url, http.Header{})
	if err != nil {
		h.t.Fatalf("dial %s: %v", name, err)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != protocol.Subprotocol {
		h.t.Fatalf("subprotocol %q, want %q", got, protocol.Subprotocol)
	}
	c := &client{t: h.t, ws: ws, frames: make(chan protocol.Frame, 256), done: make(chan struct{}), name: name}
	go func() {
		defer close(c.done)
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var f protocol.Frame
			if err := json.Unmarshal(b, &f); err != nil {
				h.t.Errorf("%s: server sent bad JSON %q: %v", name, b, err)
				return
			}
			c.frames <- f
		}
	}()
	h.t.Cleanup(func() {
		ws.Close()
		<-c.done
	})
	return c
}

// dial connects and says hello as platform/instance.
func (h *harness) dial(plat policy.Platform, instance string) *client {
	h.t.Helper()
	c := h.dialRaw(instance)
	c.send(protocol.Frame{Op: protocol.OpHello, V: protocol.Version, SDKAppID: testApp, Platform: string(plat), Instance: instance})
	f := c.next()
	if f.Op != protocol.OpHelloOK || f.ServerVersion == "" || f.HeartbeatMs <= 0 {
		h.t.Fatalf("%s: hello answered %+v", instance, f)
	}
	return c
}

func (c *client) send(f protocol.Frame) {
	c.t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(b)
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("%s: write: %v", c.name, err)
	}
}

// next returns the next frame; it fails the test when none comes in time.
func (c *client) next() protocol.Frame {
	c.t.Helper()
	select {
	case f := <-c.frames:
		return f
	case <-c.done:
		select {
		case f := <-c.frames:
			return f
		default:
		}
		c.t.Fatalf("%s: connection closed while waiting for a frame", c.name)
	case <-time.After(waitFor):
		c.t.Fatalf("%s: no frame within %s", c.name, waitFor)
	}
	return protocol.Frame{}
}

// quiet reports whether no frame arrives within d.
func (c *client) quiet(d time.Duration) bool {
	select {
	case f := <-c.frames:
		c.t.Errorf("%s: unexpected frame %+v", c.name, f)
		return false
	case <-time.After(d):
		return true
	}
}

// closed waits for the connection to end, after any frames left.
func (c *client) closed() bool {
	select {
	case <-c.done:
		return true
	case <-time.After(waitFor):
		return false
	}
}

func (c *client) isOpen() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// call sends a request and returns its result, checking the id.
func (c *client) call(f protocol.Frame) protocol.Frame {
	c.t.Helper()
	c.id++
	f.ID = c.id
	c.send(f)
	r := c.next()
	if r.ID != f.ID {
		c.t.Fatalf("%s: %s answered %+v with id %d, want %d", c.name, f.Op, r, r.ID, f.ID)
	}
	return r
}

func (c *client) login(user, sig string) protocol.Frame {
	c.t.Helper()
	return c.call(protocol.Frame{Op: protocol.OpLogin, UserID: user, UserSig: sig, Platform: "", Instance: ""})
}

// loginAs logs in with the platform from hello; the frame repeats it since
// the protocol requires it on login.
func (c *client) loginOn(plat policy.Platform, user, sig string) protocol.Frame {
	c.t.Helper()
	return c.call(protocol.Frame{Op: protocol.OpLogin, UserID: user, UserSig: sig, Platform: string(plat)})
}

func (c *client) mustLogin(plat policy.Platform, user, sig string) protocol.Frame {
	c.t.Helper()
	r := c.loginOn(plat, user, sig)
	if r.Op != protocol.OpLoginResult || r.Code != 0 || r.Seq == 0 || r.ResumeToken == "" {
		c.t.Fatalf("%s: login answered %+v", c.name, r)
	}
	return r
}

// eventually polls cond until it holds or the wait bound passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// advanceUntil moves the fake clock in steps until cond holds.
func (h *harness) advanceUntil(what string, step time.Duration, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out (clock at %s) waiting for %s", h.clk.Now().Sub(t0()), what)
		}
		h.clk.Advance(step)
		time.Sleep(2 * time.Millisecond)
	}
}

func instances(infos []SessionInfo) string {
	var out []string
	for _, in := range infos {
		out = append(out, fmt.Sprintf("%s/%s", in.Instance, in.State))
	}
	return strings.Join(out, ",")
}
