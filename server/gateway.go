package server

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/protocol"
)

// wsPeer is one WebSocket connection: the Peer of a core Conn. One reader
// goroutine (the HTTP handler's) reads frames, runs them and writes their
// answers under wmu, one frame at a time, in the order they came: a login
// never waits for anything but short locks, so the next frame is read
// when it is done, and the core answers 6015 to an operation that overlaps
// another on the Conn (Detach, or an in-process caller). Pushes from other
// goroutines go through a bounded queue drained by a flusher goroutine that
// exists only while the queue is non-empty.
type wsPeer struct {
	s    *Server
	ws   *websocket.Conn
	core *Conn

	wmu       sync.Mutex // serialises data frames
	finalSent bool       // guarded by wmu: a final frame was written, nothing may follow

	qmu      sync.Mutex // guards the fields below
	drained  sync.Cond  // on qmu: inflight fell to zero, or the peer died
	queue    []*protocol.Frame
	flushing bool
	hung     bool
	reason   string
	dead     bool
	// final is set when a frame after which nothing may follow is queued
	// (kicked_offline, error 1007). Frames read after it are ignored; the
	// answers to requests read before it are written before it.
	final    bool
	inflight int // requests read and not yet answered
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	defer s.wg.Done()
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered with an HTTP error
	}
	p := &wsPeer{s: s, ws: ws}
	p.drained.L = &p.qmu
	c, err := s.Attach(p, remoteIP(r))
	if err != nil {
		s.ctr.frameErr.add(codes.ServerClosed)
		p.send(protocol.Frame{Op: protocol.OpError, Code: codes.ServerClosed, Message: "server shutting down"})
		p.closeWith(websocket.CloseGoingAway, "server shutting down")
		return
	}
	p.core = c
	p.read()
	c.Detach(ReasonLinkClose)
	p.closeWith(websocket.CloseNormalClosure, "")
}

// read is the reader loop; it returns when the transport ends or must close.
// One buffer holds each frame read and then its answer.
func (p *wsPeer) read() {
	c, max := p.core, p.s.cfg.MaxFrameBytes
	buf := make([]byte, 0, 512)
	for {
		_, r, err := p.ws.NextReader()
		if err != nil {
			return
		}
		buf, err = readLimited(r, buf[:0], max+1)
		if err != nil {
			return
		}
		if !p.begin() {
			c.Touch()
			continue // a final frame is queued: the connection is ending
		}
		if len(buf) > max {
			c.Touch()
			p.reply(buf, c.BadFrame(codes.FrameTooBig, fmt.Sprintf("frame exceeds %d bytes", max)))
			p.end()
			p.closeWith(websocket.CloseMessageTooBig, "frame too big")
			return
		}
		f, err := protocol.Decode(buf)
		if err != nil {
			reply, hangup := c.Undecodable(err)
			buf = p.reply(buf, reply)
			p.end()
			switch {
			case reply.Code == codes.FrameTooBig:
				p.closeWith(websocket.CloseMessageTooBig, "frame too big")
				return
			case hangup:
				p.closeWith(websocket.ClosePolicyViolation, reply.Message)
				return
			}
			continue
		}
		reply, hangup := c.Handle(&f) // Handle records the activity
		buf = p.reply(buf, reply)
		p.end()
		if hangup {
			p.closeWith(websocket.ClosePolicyViolation, reply.Message)
			return
		}
	}
}

// begin counts a request read; false when a final frame is queued and the
// request must be ignored.
func (p *wsPeer) begin() bool {
	p.qmu.Lock()
	defer p.qmu.Unlock()
	if p.final || p.dead {
		return false
	}
	p.inflight++
	return true
}

// end counts a request answered.
func (p *wsPeer) end() {
	p.qmu.Lock()
	p.inflight--
	if p.inflight == 0 {
		p.drained.Broadcast()
	}
	p.qmu.Unlock()
}

// readLimited appends from r to buf until EOF or until buf holds limit
// bytes.
func readLimited(r io.Reader, buf []byte, limit int) ([]byte, error) {
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// reply writes the answer to a request, unless a final frame has been
// written. It encodes f into buf, whose contents it overwrites, and
// returns buf for reuse.
func (p *wsPeer) reply(buf []byte, f protocol.Frame) []byte {
	buf = protocol.AppendFrame(buf[:0], &f)
	var err error
	p.wmu.Lock()
	if !p.finalSent {
		err = p.write(buf)
	}
	p.wmu.Unlock()
	if err != nil {
		p.forceClose()
	}
	return buf
}

func (p *wsPeer) write(b []byte) error {
	_ = p.ws.SetWriteDeadline(time.Now().Add(p.s.cfg.WriteTimeout))
	return p.ws.WriteMessage(websocket.TextMessage, b)
}

// send writes one frame now (replies before hello, pushes).
func (p *wsPeer) send(f protocol.Frame) {
	b := protocol.AppendFrame(nil, &f)
	var err error
	final := isFinal(&f)
	p.wmu.Lock()
	if !p.finalSent {
		err = p.write(b)
		p.finalSent = final
	}
	p.wmu.Unlock()
	if err != nil {
		p.forceClose()
	}
}

func isFinal(f *protocol.Frame) bool {
	return f.Op == protocol.OpKickedOffline || (f.Op == protocol.OpError && f.Code == codes.ServerClosed)
}

// Push implements Peer.
func (p *wsPeer) Push(f *protocol.Frame) bool {
	p.qmu.Lock()
	defer p.qmu.Unlock()
	if p.dead || p.hung {
		return false
	}
	if len(p.queue) >= p.s.cfg.SendQueue {
		p.dead = true
		p.drained.Broadcast()
		_ = p.ws.Close() // too slow: drop it; the reader ends and detaches
		return false
	}
	p.queue = append(p.queue, f)
	if isFinal(f) {
		p.final = true
	}
	p.startFlush()
	return true
}

// Hangup implements Peer.
func (p *wsPeer) Hangup(reason string) {
	p.qmu.Lock()
	defer p.qmu.Unlock()
	if p.dead || p.hung {
		return
	}
	p.hung, p.reason = true, reason
	p.startFlush()
}

// startFlush starts the flusher unless it runs. qmu is held.
func (p *wsPeer) startFlush() {
	if p.flushing {
		return
	}
	p.flushing = true
	p.s.wg.Add(1) // the reader's count is held while the peer is not dead
	go p.flush()
}

func (p *wsPeer) flush() {
	defer p.s.wg.Done()
	for {
		p.qmu.Lock()
		q := p.queue
		p.queue = nil
		if len(q) == 0 {
			p.flushing = false
			hung, reason := p.hung, p.reason
			p.qmu.Unlock()
			if hung {
				p.closeWith(websocket.CloseNormalClosure, reason)
			}
			return
		}
		p.qmu.Unlock()
		for _, f := range q {
			if isFinal(f) {
				// Answers to requests read before the final frame go first.
				p.qmu.Lock()
				for p.inflight > 0 && !p.dead {
					p.drained.Wait()
				}
				p.qmu.Unlock()
			}
			p.send(*f)
		}
	}
}

// closeWith sends a close frame and closes the socket.
func (p *wsPeer) closeWith(code int, reason string) {
	p.markDead()
	if len(reason) > 120 {
		reason = reason[:120]
	}
	_ = p.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	_ = p.ws.Close()
}

func (p *wsPeer) forceClose() {
	p.markDead()
	_ = p.ws.Close()
}

func (p *wsPeer) markDead() {
	p.qmu.Lock()
	p.dead = true
	p.drained.Broadcast()
	p.qmu.Unlock()
}
