package ws

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
)

// fakeServer is a small server that follows docs/PROTOCOL.md closely enough
// to exercise the driver: hello, login with a per-user sequence and resume
// token, one instance per platform (the newest login kicks the older one),
// repeat login, account switch, logout, resume, ping, and pushes on demand.
// Tickets are not verified: a user_sig of the form "code:N" is answered with
// code N, "exp:MS" gives sig_expire_at_ms MS, anything else is valid.
type fakeServer struct {
	t   testing.TB
	srv *httptest.Server

	// Behaviour switches, set before the first connection.
	silent       bool // read requests, never answer them
	noHelloOK    bool // never answer hello
	noSubproto   bool // do not select the subprotocol
	errorOnLogin int  // answer login with an error frame of this code

	wg sync.WaitGroup

	mu      sync.Mutex
	conns   map[*fakeConn]bool
	seq     map[string]uint64
	online  map[string][]*fakeSession
	tokens  map[string]*fakeSession
	remotes []string
}

type fakeConn struct {
	ws       *websocket.Conn
	wmu      sync.Mutex
	platform string
	instance string
	sess     *fakeSession // guarded by fakeServer.mu
}

type fakeSession struct {
	user, token        string
	platform, instance string
	seq                uint64
	conn               *fakeConn // nil while detached
	kicked             bool
}

func newFakeServer(t testing.TB, opts ...func(*fakeServer)) *fakeServer {
	t.Helper()
	s := &fakeServer{
		t:      t,
		conns:  map[*fakeConn]bool{},
		seq:    map[string]uint64{},
		online: map[string][]*fakeSession{},
		tokens: map[string]*fakeSession{},
	}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc(DefaultPath, s.serveWS)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// URL is the ws:// address of the endpoint.
func (s *fakeServer) URL() string {
	return "ws" + strings.TrimPrefix(s.srv.URL, "http") + DefaultPath
}

// Close drops every connection and waits for their handlers.
func (s *fakeServer) Close() {
	s.mu.Lock()
	for c := range s.conns {
		c.ws.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.srv.Close()
}

func (s *fakeServer) serveWS(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{Subprotocols: []string{protocol.Subprotocol}}
	if s.noSubproto {
		up.Subprotocols = nil
	}
	wsc, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.wg.Add(1)
	defer s.wg.Done()
	c := &fakeConn{ws: wsc}
	s.mu.Lock()
	s.remotes = append(s.remotes, r.RemoteAddr)
	s.conns[c] = true
	s.mu.Unlock()
	defer func() {
		wsc.Close()
		s.mu.Lock()
		delete(s.conns, c)
		if c.sess != nil && c.sess.conn == c {
			c.sess.conn = nil // detached: resumable
		}
		s.mu.Unlock()
	}()
	wsc.SetReadLimit(protocol.MaxFrameBytes)

	if !s.hello(c) {
		return
	}
	for {
		_, b, err := wsc.ReadMessage()
		if err != nil {
			return
		}
		f, err := protocol.Decode(b)
		if err != nil {
			de := err.(*protocol.DecodeError)
			s.send(c, protocol.Frame{Op: protocol.OpError, Code: de.Code, Message: de.Msg})
			continue
		}
		if s.silent {
			continue
		}
		switch f.Op {
		case protocol.OpLogin:
			s.login(c, f)
		case protocol.OpLogout:
			s.logout(c, f)
		case protocol.OpResume:
			s.resume(c, f)
		case protocol.OpPing:
			s.send(c, protocol.Frame{Op: protocol.OpPong, ID: f.ID})
		case protocol.OpHello:
			s.send(c, protocol.Frame{Op: protocol.OpError, ID: f.ID, Code: codes.BadFrame, Message: "hello already done"})
		default:
			s.send(c, protocol.Frame{Op: protocol.OpError, ID: f.ID, Code: codes.UnknownOp, Message: "not a client op: " + f.Op})
		}
	}
}

func (s *fakeServer) hello(c *fakeConn) bool {
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		return false
	}
	f, err := protocol.Decode(b)
	switch {
	case err != nil || f.Op != protocol.OpHello:
		s.refuse(c, codes.NoHello, "first frame must be hello")
		return false
	case f.V != protocol.Version:
		s.refuse(c, codes.BadVersion, "version "+strconv.Itoa(f.V)+" not supported; this server speaks 1")
		return false
	}
	if !isPlatform(f.Platform) || f.Instance == "" {
		s.refuse(c, codes.InvalidParam, "hello needs a known platform and an instance")
		return false
	}
	if s.noHelloOK {
		for { // swallow everything until the client gives up
			if _, _, err := c.ws.ReadMessage(); err != nil {
				return false
			}
		}
	}
	c.platform, c.instance = f.Platform, f.Instance
	s.send(c, protocol.Frame{Op: protocol.OpHelloOK, ServerVersion: "fake", ServerTimeMs: time.Now().UnixMilli(), HeartbeatMs: 120000})
	return true
}

func isPlatform(p string) bool {
	for _, q := range policy.Platforms {
		if string(q) == p {
			return true
		}
	}
	return false
}

func (s *fakeServer) refuse(c *fakeConn, code int, msg string) {
	s.send(c, protocol.Frame{Op: protocol.OpError, Code: code, Message: msg})
	s.closeConn(c, websocket.ClosePolicyViolation, msg)
}

func (s *fakeServer) send(c *fakeConn, f protocol.Frame) {
	b, err := protocol.Encode(f)
	if err != nil {
		s.t.Errorf("fake server: encode %+v: %v", f, err)
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = c.ws.WriteMessage(websocket.TextMessage, b) // a gone client is not an error here
}

func (s *fakeServer) closeConn(c *fakeConn, code int, text string) {
	c.wmu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	c.wmu.Unlock()
	c.ws.Close()
}

func (s *fakeServer) login(c *fakeConn, f protocol.Frame) {
	if s.errorOnLogin != 0 {
		s.send(c, protocol.Frame{Op: protocol.OpError, ID: f.ID, Code: s.errorOnLogin, Message: "refused by test"})
		return
	}
	res := protocol.Frame{Op: protocol.OpLoginResult, ID: f.ID, ServerTimeMs: time.Now().UnixMilli()}
	if code, ok := strings.CutPrefix(f.UserSig, "code:"); ok {
		res.Code, _ = strconv.Atoi(code)
		res.Message = "refused by test"
		s.send(c, res)
		return
	}
	if f.UserSig == "" {
		res.Code, res.Message = codes.SigEmpty, "user_sig is empty"
		s.send(c, res)
		return
	}
	if ms, ok := strings.CutPrefix(f.UserSig, "exp:"); ok {
		res.SigExpireAtMs, _ = strconv.ParseInt(ms, 10, 64)
	}
	s.mu.Lock()
	if old := c.sess; old != nil {
		if old.user == f.UserID {
			res.Seq, res.ResumeToken, res.RepeatLogin = old.seq, old.token, true
			s.mu.Unlock()
			s.send(c, res)
			return
		}
		s.dropLocked(old) // account switch: implicit logout
		c.sess = nil
	}
	s.seq[f.UserID]++
	sess := &fakeSession{user: f.UserID, seq: s.seq[f.UserID], platform: c.platform, instance: c.instance, conn: c,
		token: f.UserID + "/" + strconv.FormatUint(s.seq[f.UserID], 10)}
	var victims []*fakeSession
	keep := s.online[f.UserID][:0]
	for _, o := range s.online[f.UserID] {
		if o.platform == sess.platform {
			o.kicked = true
			victims = append(victims, o)
			continue
		}
		keep = append(keep, o)
	}
	s.online[f.UserID] = append(keep, sess)
	s.tokens[sess.token] = sess
	c.sess = sess
	// The victims' connections, read under the lock (a connection's end
	// detaches its session under it).
	victimConns := make([]*fakeConn, len(victims))
	for i, v := range victims {
		victimConns[i] = v.conn
	}
	s.mu.Unlock()
	for i, v := range victims { // kicks go out before the displacing result
		if vc := victimConns[i]; vc != nil {
			s.send(vc, protocol.Frame{Op: protocol.OpKickedOffline, ByPlatform: sess.platform, ByInstance: sess.instance,
				BySeq: sess.seq, Seq: v.seq, Reason: "multi_device"})
			s.closeConn(vc, websocket.CloseNormalClosure, "kicked")
		}
	}
	res.Seq, res.ResumeToken = sess.seq, sess.token
	s.send(c, res)
}

// dropLocked ends a session (logout); the caller holds s.mu.
func (s *fakeServer) dropLocked(sess *fakeSession) {
	list := s.online[sess.user]
	for i, o := range list {
		if o == sess {
			s.online[sess.user] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	delete(s.tokens, sess.token)
}

func (s *fakeServer) logout(c *fakeConn, f protocol.Frame) {
	s.mu.Lock()
	sess := c.sess
	c.sess = nil
	if sess != nil {
		s.dropLocked(sess)
	}
	s.mu.Unlock()
	code := codes.OK
	if sess == nil {
		code = codes.NotLoggedIn
	}
	s.send(c, protocol.Frame{Op: protocol.OpLogoutResult, ID: f.ID, Code: code})
}

func (s *fakeServer) resume(c *fakeConn, f protocol.Frame) {
	res := protocol.Frame{Op: protocol.OpResumeResult, ID: f.ID, ServerTimeMs: time.Now().UnixMilli()}
	s.mu.Lock()
	sess := s.tokens[f.ResumeToken]
	switch {
	case c.sess != nil:
		res.Code = codes.InvalidParam
	case sess == nil:
		res.Code = codes.ResumeFailed
	case sess.kicked:
		res.Code = codes.KickedWhileOff
	default:
		sess.conn, c.sess = c, sess
		res.Seq = sess.seq
	}
	s.mu.Unlock()
	s.send(c, res)
}

// ExpireSig pushes user_sig_expired to every attached session of user.
func (s *fakeServer) ExpireSig(user string) {
	for _, c := range s.attached(user) {
		s.send(c, protocol.Frame{Op: protocol.OpUserSigExpired})
	}
}

// AdminKick ends every session of user with an admin_kick notice.
func (s *fakeServer) AdminKick(user string) {
	type victim struct {
		c   *fakeConn
		seq uint64
	}
	var vs []victim
	s.mu.Lock()
	for _, o := range s.online[user] {
		o.kicked = true
		if o.conn != nil {
			vs = append(vs, victim{o.conn, o.seq})
		}
	}
	s.mu.Unlock()
	for _, v := range vs {
		s.send(v.c, protocol.Frame{Op: protocol.OpKickedOffline, Seq: v.seq, Reason: "admin_kick"})
		s.closeConn(v.c, websocket.CloseNormalClosure, "kicked")
	}
}

// Shutdown sends error 1007 to every connection and closes it.
func (s *fakeServer) Shutdown() {
	s.mu.Lock()
	var all []*fakeConn
	for c := range s.conns {
		all = append(all, c)
	}
	s.mu.Unlock()
	for _, c := range all {
		s.send(c, protocol.Frame{Op: protocol.OpError, Code: codes.ServerClosed, Message: "server shutting down"})
		s.closeConn(c, websocket.CloseGoingAway, "shutdown")
	}
}

func (s *fakeServer) attached(user string) []*fakeConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*fakeConn
	for _, o := range s.online[user] {
		if o.conn != nil {
			out = append(out, o.conn)
		}
	}
	return out
}

// Remotes returns the RemoteAddr of every accepted connection.
func (s *fakeServer) Remotes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.remotes...)
}

// SendAll sends f to every connection.
func (s *fakeServer) SendAll(f protocol.Frame) {
	s.mu.Lock()
	var all []*fakeConn
	for c := range s.conns {
		all = append(all, c)
	}
	s.mu.Unlock()
	for _, c := range all {
		s.send(c, f)
	}
}
