package xmpp

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeServer is a small XMPP-over-WebSocket server for the driver's tests:
// RFC 7395 framing, SASL PLAIN and SCRAM, in-band registration, resource
// binding, ping, a per-user session cap that kicks the oldest session, and
// resource conflicts that replace the session, as ejabberd does. Knobs are
// set before the first connection.
type fakeServer struct {
	t   testing.TB
	srv *httptest.Server

	mechs                  []string // offered mechanisms (default SCRAM-SHA-1, PLAIN)
	register               bool     // offer in-band registration
	sessionRequired        bool     // offer <session/> without <optional/>
	maxSessions            int      // per user (0: no cap)
	refuseBind             bool     // refuse a bind whose resource is online (conflict) or over the cap (resource-constraint) instead of kicking
	failCondition          string   // answer every auth with this failure
	silentAuth             bool     // never answer <auth/>
	noSubprotocol          bool     // do not select "xmpp"
	scramIter              int
	serverFinalAsChallenge bool
	// keepDropped keeps the session of a connection that went without
	// </close> registered, as a server does until it notices a killed
	// app's dead TCP connection (no FIN from a phone that lost power or
	// network); only a new login with its resource replaces it.
	keepDropped bool
	// onPong, when set, hears the data of every WebSocket pong.
	onPong func(data string)

	mu       sync.Mutex
	users    map[string]string
	sessions map[string][]*fakeSession // by user, oldest first
	conns    map[*websocket.Conn]bool
	pings    int
	regs     int // registration requests
	// onIQResult, when set, hears the id of every result the client sends.
	onIQResult func(id string)
	wg         sync.WaitGroup
}

type fakeSession struct {
	ws       *websocket.Conn
	wmu      sync.Mutex
	user     string
	resource string
}

func newFakeServer(t testing.TB, configure func(*fakeServer)) *fakeServer {
	f := &fakeServer{
		t:         t,
		mechs:     []string{MechPlain, MechSCRAMSHA1},
		scramIter: 4096,
		users:     map[string]string{},
		sessions:  map[string][]*fakeSession{},
		conns:     map[*websocket.Conn]bool{},
	}
	if configure != nil {
		configure(f)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) URL() string { return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/ws" }

func (f *fakeServer) addUser(user, password string) {
	f.mu.Lock()
	f.users[user] = password
	f.mu.Unlock()
}

func (f *fakeServer) online(user string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.sessions[user] {
		out = append(out, s.resource)
	}
	return out
}

// Close ends every connection and waits for the handlers.
func (f *fakeServer) Close() {
	f.srv.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (s *fakeSession) send(msg string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.ws.WriteMessage(websocket.TextMessage, []byte(msg))
}

// ping sends a WebSocket ping, as ejabberd does every minute.
func (s *fakeSession) ping(data string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.ws.WriteControl(websocket.PingMessage, []byte(data), time.Now().Add(time.Second))
}

// kick ends s with a stream error, as ejabberd replaces a session.
func (s *fakeSession) kick(condition string) {
	_ = s.send(`<stream:error xmlns:stream="` + nsStream + `"><` + condition + ` xmlns="` + nsStreams + `"/><text xmlns="` + nsStreams + `">Replaced by new connection</text></stream:error>`)
	_ = s.send(`<close xmlns="` + nsFraming + `"/>`)
	s.ws.Close()
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{}
	if !f.noSubprotocol {
		up.Subprotocols = []string{Subprotocol}
	}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	if f.onPong != nil {
		ws.SetPongHandler(func(data string) error { f.onPong(data); return nil })
	}
	f.mu.Lock()
	f.conns[ws] = true
	f.wg.Add(1)
	f.mu.Unlock()
	defer f.wg.Done()
	s := &fakeSession{ws: ws}
	defer func() {
		if !f.keepDropped {
			f.drop(s)
		}
		ws.Close()
		f.mu.Lock()
		delete(f.conns, ws)
		f.mu.Unlock()
	}()
	var (
		authed  bool
		user    string
		scramSt *fakeSCRAM
	)
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			return
		}
		n, err := parse(b)
		if err != nil {
			f.t.Errorf("fake server: client sent a message that does not parse: %v: %q", err, b)
			return
		}
		switch {
		case n.is(nsFraming, "open"):
			if n.attr("to") != "localhost" || n.attr("version") != "1.0" {
				f.t.Errorf("fake server: <open/> with to=%q version=%q", n.attr("to"), n.attr("version"))
			}
			_ = s.send(`<open xmlns="` + nsFraming + `" from="localhost" id="s1" version="1.0" xml:lang="en"/>`)
			_ = s.send(f.features(authed))
		case n.is(nsFraming, "close"):
			f.drop(s)
			_ = s.send(`<close xmlns="` + nsFraming + `"/>`)
			return
		case n.is(nsSASL, "auth"):
			if f.silentAuth {
				continue
			}
			if f.failCondition != "" {
				_ = s.send(`<failure xmlns="` + nsSASL + `"><` + f.failCondition + `/><text>no</text></failure>`)
				continue
			}
			mech := n.attr("mechanism")
			data, _ := base64.StdEncoding.DecodeString(n.text)
			switch mech {
			case MechPlain:
				parts := strings.Split(string(data), "\x00")
				if len(parts) != 3 || !f.checkPassword(parts[1], parts[2]) {
					_ = s.send(`<failure xmlns="` + nsSASL + `"><not-authorized/></failure>`)
					continue
				}
				authed, user = true, parts[1]
				_ = s.send(`<success xmlns="` + nsSASL + `"/>`)
			case MechSCRAMSHA1, MechSCRAMSHA256:
				scramSt = &fakeSCRAM{h: scramHash(mech), iter: f.scramIter}
				first, err := scramSt.first(string(data))
				if err != nil {
					f.t.Errorf("fake server: %v", err)
					return
				}
				_ = s.send(`<challenge xmlns="` + nsSASL + `">` + base64.StdEncoding.EncodeToString([]byte(first)) + `</challenge>`)
			default:
				_ = s.send(`<failure xmlns="` + nsSASL + `"><invalid-mechanism/></failure>`)
			}
		case n.is(nsSASL, "response"):
			if scramSt == nil {
				continue
			}
			if scramSt.done { // the empty response after a server-final challenge
				authed, user = true, scramSt.user
				_ = s.send(`<success xmlns="` + nsSASL + `"/>`)
				continue
			}
			data, _ := base64.StdEncoding.DecodeString(n.text)
			f.mu.Lock()
			pw, ok := f.users[scramSt.user]
			f.mu.Unlock()
			final, err := scramSt.final(string(data), pw)
			if !ok || err != nil {
				_ = s.send(`<failure xmlns="` + nsSASL + `"><not-authorized/></failure>`)
				scramSt = nil
				continue
			}
			out := base64.StdEncoding.EncodeToString([]byte(final))
			if f.serverFinalAsChallenge {
				scramSt.done = true
				_ = s.send(`<challenge xmlns="` + nsSASL + `">` + out + `</challenge>`)
				continue
			}
			authed, user = true, scramSt.user
			_ = s.send(`<success xmlns="` + nsSASL + `">` + out + `</success>`)
		case n.is(nsClient, "iq"):
			f.iq(s, n, authed, user)
		}
	}
}

func (f *fakeServer) features(authed bool) string {
	var b strings.Builder
	b.WriteString(`<stream:features xmlns:stream="` + nsStream + `">`)
	if !authed {
		b.WriteString(`<mechanisms xmlns="` + nsSASL + `">`)
		for _, m := range f.mechs {
			b.WriteString(`<mechanism>` + m + `</mechanism>`)
		}
		b.WriteString(`</mechanisms>`)
		if f.register {
			b.WriteString(`<register xmlns="` + nsRegFeat + `"/>`)
		}
	} else {
		b.WriteString(`<bind xmlns="` + nsBind + `"/>`)
		if f.sessionRequired {
			b.WriteString(`<session xmlns="` + nsSession + `"/>`)
		} else {
			b.WriteString(`<session xmlns="` + nsSession + `"><optional/></session>`)
		}
	}
	b.WriteString(`</stream:features>`)
	return b.String()
}

func (f *fakeServer) checkPassword(user, pw string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	want, ok := f.users[user]
	return ok && want == pw
}

func (f *fakeServer) iq(s *fakeSession, n *node, authed bool, user string) {
	id, typ := n.attr("id"), n.attr("type")
	result := func(inner string) {
		_ = s.send(`<iq xmlns="jabber:client" type="result" id="` + id + `">` + inner + `</iq>`)
	}
	iqError := func(cond string) {
		_ = s.send(`<iq xmlns="jabber:client" type="error" id="` + id + `"><error type="cancel"><` + cond + ` xmlns="` + nsStanzas + `"/></error></iq>`)
	}
	switch {
	case typ == "set" && n.child(nsRegister, "query") != nil && !authed:
		q := n.child(nsRegister, "query")
		u, p := q.child("", "username"), q.child("", "password")
		if !f.register || u == nil || p == nil {
			iqError("not-allowed")
			return
		}
		f.mu.Lock()
		f.regs++
		_, exists := f.users[u.text]
		if !exists {
			f.users[u.text] = p.text
		}
		f.mu.Unlock()
		if exists {
			iqError("conflict")
			return
		}
		result("")
	case typ == "set" && n.child(nsBind, "bind") != nil && authed:
		res := ""
		if r := n.child(nsBind, "bind").child("", "resource"); r != nil {
			res = r.text
		}
		jid := user + "@localhost/" + res
		if cond := f.bindRefusal(user, res); cond != "" {
			iqError(cond)
			return
		}
		s.user, s.resource = user, res
		f.bind(s)
		result(`<bind xmlns="` + nsBind + `"><jid>` + jid + `</jid></bind>`)
	case typ == "set" && n.child(nsSession, "session") != nil && authed:
		result("")
	case typ == "get" && n.child(nsPing, "ping") != nil:
		f.mu.Lock()
		f.pings++
		f.mu.Unlock()
		result("")
	case typ == "result" || typ == "error":
		f.mu.Lock()
		hear := f.onIQResult
		f.mu.Unlock()
		if hear != nil {
			hear(id)
		}
	default:
		iqError("service-unavailable")
	}
}

// bindRefusal is the condition a refuseBind server answers a bind of
// resource with, or "".
func (f *fakeServer) bindRefusal(user, resource string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.refuseBind {
		return ""
	}
	for _, o := range f.sessions[user] {
		if o.resource == resource {
			return "conflict"
		}
	}
	if f.maxSessions > 0 && len(f.sessions[user]) >= f.maxSessions {
		return "resource-constraint"
	}
	return ""
}

// bind registers s, replacing a session with its resource and kicking the
// user's oldest sessions beyond the cap.
func (f *fakeServer) bind(s *fakeSession) {
	f.mu.Lock()
	var kick []*fakeSession
	var keep []*fakeSession
	for _, o := range f.sessions[s.user] {
		if o.resource == s.resource {
			kick = append(kick, o)
			continue
		}
		keep = append(keep, o)
	}
	keep = append(keep, s)
	for f.maxSessions > 0 && len(keep) > f.maxSessions {
		kick = append(kick, keep[0])
		keep = keep[1:]
	}
	f.sessions[s.user] = keep
	f.mu.Unlock()
	for _, o := range kick {
		o.kick("conflict")
	}
}

func (f *fakeServer) drop(s *fakeSession) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ss := f.sessions[s.user]
	for i, o := range ss {
		if o == s {
			f.sessions[s.user] = append(ss[:i:i], ss[i+1:]...)
			return
		}
	}
}

// fakeSCRAM is the server side of SCRAM (RFC 5802).
type fakeSCRAM struct {
	h               func() hash.Hash
	iter            int
	user            string
	clientFirstBare string
	serverFirst     string
	nonce           string
	done            bool
}

func (s *fakeSCRAM) first(clientFirst string) (string, error) {
	bare, ok := strings.CutPrefix(clientFirst, gs2Header)
	if !ok {
		return "", fmt.Errorf("client-first-message %q lacks the gs2 header", clientFirst)
	}
	attrs, err := scramAttrs(bare)
	if err != nil {
		return "", err
	}
	s.user = strings.NewReplacer("=2C", ",", "=3D", "=").Replace(attrs['n'])
	s.clientFirstBare = bare
	s.nonce = attrs['r'] + "fakeServerNonce"
	s.serverFirst = "r=" + s.nonce + ",s=" + base64.StdEncoding.EncodeToString([]byte("salt-"+s.user)) + fmt.Sprintf(",i=%d", s.iter)
	return s.serverFirst, nil
}

func (s *fakeSCRAM) final(clientFinal, password string) (string, error) {
	i := strings.LastIndex(clientFinal, ",p=")
	if i < 0 {
		return "", fmt.Errorf("client-final-message %q has no proof", clientFinal)
	}
	withoutProof := clientFinal[:i]
	attrs, err := scramAttrs(withoutProof)
	if err != nil {
		return "", err
	}
	if attrs['c'] != "biws" || attrs['r'] != s.nonce {
		return "", fmt.Errorf("client-final-message %q: bad channel binding or nonce", clientFinal)
	}
	proof, err := base64.StdEncoding.DecodeString(clientFinal[i+3:])
	if err != nil {
		return "", err
	}
	salted, err := pbkdf2.Key(s.h, password, []byte("salt-"+s.user), s.iter, s.h().Size())
	if err != nil {
		return "", err
	}
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(s.h, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	authMessage := s.clientFirstBare + "," + s.serverFirst + "," + withoutProof
	clientKey := mac(salted, "Client Key")
	hh := s.h()
	hh.Write(clientKey)
	storedKey := hh.Sum(nil)
	sig := mac(storedKey, authMessage)
	if len(proof) != len(sig) {
		return "", fmt.Errorf("proof of %d bytes", len(proof))
	}
	got := make([]byte, len(sig))
	for k := range sig {
		got[k] = proof[k] ^ sig[k]
	}
	hh = s.h()
	hh.Write(got)
	if subtle.ConstantTimeCompare(hh.Sum(nil), storedKey) != 1 {
		return "", fmt.Errorf("wrong password")
	}
	return "v=" + base64.StdEncoding.EncodeToString(mac(mac(salted, "Server Key"), authMessage)), nil
}
