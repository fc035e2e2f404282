package server

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
)

// Peer is the transport under a Conn: the WebSocket gateway or an in-process
// driver. The core calls it from any goroutine, sometimes while holding a
// user's lock, so neither method may block.
type Peer interface {
	// Push queues a server push (kicked_offline, user_sig_expired, error)
	// for delivery in order. It reports false when the transport is closed
	// or too slow; the transport then closes itself.
	Push(f *protocol.Frame) bool
	// Hangup closes the transport once the pushes already queued are
	// delivered. It is called at most once per Conn.
	Hangup(reason string)
}

// Reasons a transport ended, as the Status Change webhook names them.
const (
	ReasonLinkClose = "LinkClose" // the client or the network closed it
	ReasonTimeOut   = "TimeOut"   // no frame within the idle or handshake timeout
	ReasonKicked    = "Kicked"    // the server closed it after a kick
	ReasonShutdown  = "Shutdown"  // the server is shutting down
	ReasonReplaced  = "Replaced"  // the session moved to a newer connection
)

// Conn is one client connection as the core sees it: hello state, the
// session it carries, and its Peer. Every transport drives the protocol
// through these methods, so all transports share one implementation of the
// semantics. Login, Logout and Resume are exclusive: one that overlaps
// another on the same Conn is refused with 6015.
type Conn struct {
	s    *Server
	peer Peer
	id   uint64
	ip   string

	// op serialises Login, Logout, Resume, Hello and Detach and guards the
	// fields below it.
	op       sync.Mutex
	sdkappid uint64
	platform string // as hello named it ("" when it did not)
	instance string // as hello named it, or made up when it did not
	anonInst bool   // hello named no instance
	sess     *session

	helloDone atomic.Bool
	closed    atomic.Bool // hung up or detached: no new session may attach
	hung      atomic.Bool
	// hungLost: the reason a server-side hangup gives its Detach; the
	// transport's own end, which the hangup causes, may reach Detach
	// first and must not pass for the client's (LinkClose).
	hungLost atomic.Pointer[string]
	detached atomic.Bool
	last     atomic.Int64 // clock time of the last frame, unix nanoseconds
	attached time.Time

	wmu   sync.Mutex
	watch *task
}

// Attach connects a transport to the core. remoteIP is the client's address
// for the failure limit (any stable string for in-process peers). It fails
// once Shutdown has begun.
func (s *Server) Attach(p Peer, remoteIP string) (*Conn, error) {
	now := s.clk.Now()
	if s.down() {
		return nil, fmt.Errorf("server: restarting, no new connections yet")
	}
	c := &Conn{s: s, peer: p, ip: remoteIP, attached: now}
	c.last.Store(now.UnixNano())
	if !s.conns.add(c) {
		return nil, fmt.Errorf("server: shutting down, no new connections")
	}
	s.ctr.conns.Add(1)
	c.wmu.Lock()
	c.watch = s.sched.at(c.id, now.Add(s.cfg.HandshakeTimeout), c.watchdog)
	c.wmu.Unlock()
	return c, nil
}

// ID is the connection's number, unique within the server.
func (c *Conn) ID() uint64 { return c.id }

// Ready reports whether hello has been accepted.
func (c *Conn) Ready() bool { return c.helloDone.Load() }

// Touch records activity for the idle timeout.
func (c *Conn) Touch() { c.last.Store(c.s.clk.Now().UnixNano()) }

func (c *Conn) errorFrame(id uint64, code int, msg string) protocol.Frame {
	c.s.ctr.frameErr.add(code)
	return protocol.Frame{Op: protocol.OpError, ID: id, Code: code, Message: msg}
}

// BadFrame answers a frame that could not be decoded (codes 1001, 1002,
// 1003), counting it. A transport closes after 1003.
func (c *Conn) BadFrame(code int, msg string) protocol.Frame { return c.errorFrame(0, code, msg) }

// Undecodable answers a frame that protocol.Decode refused: with the
// decode error's code and the frame's id when it could be read, or, before
// hello has been accepted, with 1004 (the first frame must be a valid
// hello). hangup says that the transport must close after writing it: after
// 1003 and 1004.
func (c *Conn) Undecodable(err error) (reply protocol.Frame, hangup bool) {
	c.Touch()
	code, msg, id := codes.BadFrame, err.Error(), uint64(0)
	var de *protocol.DecodeError
	if errors.As(err, &de) {
		code, msg, id = de.Code, de.Msg, de.ID
	}
	switch {
	case code == codes.FrameTooBig:
		return c.errorFrame(0, code, msg), true
	case !c.helloDone.Load():
		return c.errorFrame(id, codes.NoHello, "first frame must be a valid hello: "+msg), true
	}
	return c.errorFrame(id, code, msg), false
}

// wirePlatform reads the platform of a hello or login: exactly one of the
// seven names as written (docs/PROTOCOL.md section 2). Scenario files may
// spell platforms in any case (policy.ParsePlatform); the wire may not.
func wirePlatform(s string) (policy.Platform, error) {
	p := policy.Platform(s)
	if policy.Index(p) < 0 {
		names := make([]string, len(policy.Platforms))
		for i, q := range policy.Platforms {
			names[i] = string(q)
		}
		return "", fmt.Errorf("unknown platform %q (allowed, case as written: %s)", s, strings.Join(names, ", "))
	}
	return p, nil
}

// Handle runs one decoded client frame and returns the answer; hangup says
// that the transport must close after writing it.
func (c *Conn) Handle(f *protocol.Frame) (reply protocol.Frame, hangup bool) {
	c.Touch()
	if f.Op == protocol.OpHello {
		r, ok := c.Hello(f)
		return r, !ok
	}
	if !c.helloDone.Load() {
		return c.errorFrame(f.ID, codes.NoHello, fmt.Sprintf("first frame must be hello, got %q", f.Op)), true
	}
	switch f.Op {
	case protocol.OpLogin:
		return c.Login(f), false
	case protocol.OpLogout:
		return c.Logout(f), false
	case protocol.OpResume:
		return c.Resume(f), false
	case protocol.OpPing:
		return c.Ping(f), false
	}
	return c.errorFrame(f.ID, codes.UnknownOp, fmt.Sprintf("op %q is not a client op (allowed: hello, login, logout, resume, ping)", f.Op)), false
}

// Hello accepts the first frame: protocol version, SDKAppID, platform and
// instance of the client. ok false means the transport must close after
// the reply.
func (c *Conn) Hello(f *protocol.Frame) (reply protocol.Frame, ok bool) {
	c.op.Lock()
	defer c.op.Unlock()
	c.Touch()
	if c.helloDone.Load() {
		return c.errorFrame(f.ID, codes.BadFrame, "hello was already received on this connection"), true
	}
	if f.V != protocol.Version {
		return c.errorFrame(f.ID, codes.BadVersion, fmt.Sprintf("protocol version %d is not supported (supported: %d)", f.V, protocol.Version)), false
	}
	if f.Platform != "" {
		if _, err := wirePlatform(f.Platform); err != nil {
			return c.errorFrame(f.ID, codes.InvalidParam, "hello: "+err.Error()), false
		}
	}
	if f.Instance != "" {
		if code, msg := c.s.admitConnect(f.Platform+"/"+f.Instance, c.s.clk.Now()); code != 0 {
			return c.errorFrame(f.ID, code, msg), false
		}
	}
	c.sdkappid = f.SDKAppID
	c.platform = f.Platform
	c.instance = f.Instance
	if c.instance == "" {
		c.instance = fmt.Sprintf("conn-%d", c.id)
		c.anonInst = true
	}
	c.helloDone.Store(true)
	c.rearm(c.s.clk.Now().Add(c.s.cfg.IdleTimeout))
	return protocol.Frame{Op: protocol.OpHelloOK, ID: f.ID, V: protocol.Version, ServerVersion: Version,
		ServerTimeMs: c.s.clk.Now().UnixMilli(), HeartbeatMs: c.s.cfg.Heartbeat.Milliseconds()}, true
}

// Ping answers a heartbeat.
func (c *Conn) Ping(f *protocol.Frame) protocol.Frame {
	c.Touch()
	return protocol.Frame{Op: protocol.OpPong, ID: f.ID, ServerTimeMs: c.s.clk.Now().UnixMilli()}
}

// Detach tells the core that the transport has ended without a logout. A
// logged-in session stays registered for the resume window; reason is
// ReasonLinkClose or ReasonTimeOut. Detach waits for an operation in
// progress on the Conn and is idempotent.
func (c *Conn) Detach(reason string) {
	if lost := c.hungLost.Load(); lost != nil {
		reason = *lost
	}
	c.op.Lock()
	defer c.op.Unlock()
	c.closed.Store(true)
	if !c.detached.CompareAndSwap(false, true) {
		return
	}
	s := c.s
	c.wmu.Lock()
	c.watch.cancel()
	c.watch = nil
	c.wmu.Unlock()
	s.conns.remove(c)
	s.ctr.conns.Add(-1)
	x := c.sess
	if x == nil {
		return
	}
	rec := x.rec
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if x.state != sessOnline || x.conn != c {
		return
	}
	x.conn = nil
	x.lost = reason
	s.setState(x, sessDetached)
	if s.cfg.ResumeWindow < 0 {
		s.expire(x, s.clk.Now())
		return
	}
	x.endTask = s.sched.at(rec.hash, s.clk.Now().Add(s.cfg.ResumeWindow), func() { s.resumeWindowEnded(x) })
}

// hangup closes the transport from the server side (kick, idle, shutdown)
// and detaches the Conn soon after, on the scheduler.
func (c *Conn) hangup(reason, lost string) {
	c.closed.Store(true)
	if !c.hung.CompareAndSwap(false, true) {
		return
	}
	c.hungLost.Store(&lost)
	c.peer.Hangup(reason)
	c.s.sched.at(c.id, c.s.clk.Now(), func() { c.Detach(lost) })
}

// push delivers a frame or, when the transport cannot take it, hangs up.
func (c *Conn) push(f *protocol.Frame) {
	if !c.peer.Push(f) {
		c.hangup("send queue full", ReasonLinkClose)
	}
}

func (c *Conn) rearm(at time.Time) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.detached.Load() {
		return
	}
	c.watch.cancel()
	c.watch = c.s.sched.at(c.id, at, c.watchdog)
}

// watchdog enforces the handshake and idle timeouts. Frames only store a
// timestamp; the check runs once per timeout and re-arms itself.
func (c *Conn) watchdog() {
	if c.detached.Load() {
		return
	}
	s := c.s
	now := s.clk.Now()
	if !c.helloDone.Load() {
		if now.Sub(c.attached) >= s.cfg.HandshakeTimeout {
			c.hangup("no hello within the handshake timeout", ReasonTimeOut)
		}
		return
	}
	last := time.Unix(0, c.last.Load())
	if now.Sub(last) >= s.cfg.IdleTimeout {
		c.hangup("idle timeout", ReasonTimeOut)
		return
	}
	c.rearm(last.Add(s.cfg.IdleTimeout))
}

// connSet tracks attached Conns for Shutdown; sharded by id so that
// connecting takes no global lock.
type connSet struct {
	closing atomic.Bool
	next    atomic.Uint64
	shards  [16]connShard
}

type connShard struct {
	mu sync.Mutex
	m  map[uint64]*Conn
}

func (cs *connSet) add(c *Conn) bool {
	c.id = cs.next.Add(1)
	sh := &cs.shards[c.id%16]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	// close sets closing before it visits the shards, so a Conn added here
	// is either seen by close or refused.
	if cs.closing.Load() {
		return false
	}
	if sh.m == nil {
		sh.m = map[uint64]*Conn{}
	}
	sh.m[c.id] = c
	return true
}

func (cs *connSet) remove(c *Conn) {
	sh := &cs.shards[c.id%16]
	sh.mu.Lock()
	delete(sh.m, c.id)
	sh.mu.Unlock()
}

// close refuses new Conns and returns the attached ones.
func (cs *connSet) close() []*Conn {
	cs.closing.Store(true)
	return cs.list()
}

// list returns the attached Conns.
func (cs *connSet) list() []*Conn {
	var out []*Conn
	for i := range cs.shards {
		sh := &cs.shards[i]
		sh.mu.Lock()
		for _, c := range sh.m {
			out = append(out, c)
		}
		sh.mu.Unlock()
	}
	return out
}

// InProgress answers an operation that overlaps another on the same
// connection with 6015, counting it.
func (c *Conn) InProgress(f *protocol.Frame) protocol.Frame {
	const msg = "a login, logout or resume is already in progress on this connection"
	switch f.Op {
	case protocol.OpLogin:
		return c.s.loginFail(f, codes.InProgress, msg)
	case protocol.OpResume:
		return c.s.resumeFail(f, codes.InProgress, msg)
	}
	return protocol.Frame{Op: protocol.OpLogoutResult, ID: f.ID, Code: codes.InProgress, Message: msg,
		ServerTimeMs: c.s.clk.Now().UnixMilli()}
}

// helloInstance is the instance hello named ("" when it named none).
func (c *Conn) helloInstance() string {
	if c.anonInst {
		return ""
	}
	return c.instance
}
