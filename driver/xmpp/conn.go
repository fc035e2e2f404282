package xmpp

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/driver"
)

// Conn is one device's connection: a WebSocket carrying one XMPP stream.
// Login authenticates the stream, restarts it and binds the device's
// resource; Logout closes the stream (</close>), after which the next Login
// opens a new WebSocket. Calls on one Conn must not be concurrent with each
// other; Close may be called at any time.
type Conn struct {
	d        *Driver
	dev      driver.Device
	resource string

	mu       sync.Mutex
	t        *transport // nil after a logout
	dead     bool       // the server or the network ended the transport
	closed   bool       // Close was called
	loggedIn bool
	user     string
	jid      string
	nextID   uint64

	pmu    sync.Mutex // guards sends on pushes against its close
	pushes chan *driver.Push
	driver.Notify
	finished  bool
	closing   chan struct{}
	closeOnce sync.Once
}

var _ driver.Conn = (*Conn)(nil)

func newConn(d *Driver, dev driver.Device) *Conn {
	return &Conn{
		d:        d,
		dev:      dev,
		resource: d.cfg.Resource(dev),
		pushes:   make(chan *driver.Push, d.cfg.PushBuffer),
		closing:  make(chan struct{}),
	}
}

// Resource is the XMPP resource the device binds.
func (c *Conn) Resource() string { return c.resource }

// JID is the full JID the server bound at the last login ("" before one).
func (c *Conn) JID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.jid
}

func (c *Conn) id(prefix string) string {
	c.mu.Lock()
	c.nextID++
	n := c.nextID
	c.mu.Unlock()
	return prefix + strconv.FormatUint(n, 36)
}

// current returns the transport for a call, or why there is none.
func (c *Conn) current(op string) (*transport, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.dead {
		return nil, fmt.Errorf("xmpp: %s: %w", op, driver.ErrClosed)
	}
	return c.t, nil
}

// Login authenticates req.UserID with req.UserSig as the password (SASL:
// the first of Config.Mechanisms the server offers), registers the user
// first when Config.Register is set and the server does not know it,
// restarts the stream, binds the device's resource and establishes the
// session when the server requires it. A refusal is a Code (see the package
// documentation); transport failures and timeouts are errors.
func (c *Conn) Login(ctx context.Context, req driver.LoginRequest) (driver.LoginResult, error) {
	local, domain, err := splitUser(req.UserID, c.d.domain)
	if err != nil {
		return driver.LoginResult{Code: codes.InvalidUserID, Message: err.Error()}, nil
	}
	if req.UserSig == "" {
		return driver.LoginResult{Code: codes.SigEmpty, Message: "empty password (UserSig)"}, nil
	}
	t, err := c.current("login")
	if err != nil {
		return driver.LoginResult{}, err
	}
	c.mu.Lock()
	in, user := c.loggedIn, c.user
	c.mu.Unlock()
	if in {
		if user == req.UserID {
			return driver.LoginResult{RepeatLogin: true}, nil
		}
		return driver.LoginResult{}, fmt.Errorf("xmpp: login %s: the stream is logged in as %s; log out first", req.UserID, user)
	}
	if t != nil && t.domain != domain {
		c.forget(t)
		t = nil
	}
	if t == nil {
		if t, err = c.reopen(ctx, domain); err != nil {
			return driver.LoginResult{}, err
		}
	}
	res, err := c.login(ctx, t, local, domain, req.UserSig)
	if err != nil {
		// The stream is in an unknown state: give it up.
		c.forget(t)
		c.mu.Lock()
		c.dead = true
		c.mu.Unlock()
		return driver.LoginResult{}, fmt.Errorf("xmpp: login %s: %w", req.UserID, err)
	}
	if res.Code == 0 {
		c.mu.Lock()
		c.loggedIn, c.user = true, req.UserID
		c.mu.Unlock()
	}
	return res, nil
}

// reopen opens a new transport after a logout.
func (c *Conn) reopen(ctx context.Context, domain string) (*transport, error) {
	t, err := c.d.open(ctx, c, domain)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.closed || c.dead {
		c.mu.Unlock()
		t.drop()
		return nil, fmt.Errorf("xmpp: login: %w", driver.ErrClosed)
	}
	c.t = t
	c.mu.Unlock()
	return t, nil
}

// forget ends t from the client side and detaches it.
func (c *Conn) forget(t *transport) {
	t.drop()
	c.mu.Lock()
	if c.t == t {
		c.t = nil
	}
	c.mu.Unlock()
}

func (c *Conn) login(ctx context.Context, t *transport, local, domain, password string) (driver.LoginResult, error) {
	t.begin()
	defer t.end()
	code, msg, err := c.authenticate(ctx, t, local, password)
	if err != nil || code != 0 {
		return driver.LoginResult{Code: code, Message: msg}, err
	}
	t.end()
	f, err := t.openStream(ctx, domain) // the restart after SASL success
	if err != nil {
		return driver.LoginResult{}, fmt.Errorf("stream restart: %w", err)
	}
	t.begin()
	if !f.bind {
		return driver.LoginResult{}, errors.New("the server offers no resource binding after authentication")
	}
	id := c.id("b")
	if err := t.send(ctx, "bind", bindMsg(id, c.resource)); err != nil {
		return driver.LoginResult{}, err
	}
	n, err := t.expect(ctx, "bind result", iqAnswer(id))
	if err != nil {
		return driver.LoginResult{}, err
	}
	if n.attr("type") == "error" {
		e := n.child("", "error")
		code, msg := codes.InvalidParam, "bind refused"
		if e != nil {
			msg += ": " + e.errMessage(nsStanzas)
			switch e.condition(nsStanzas) {
			case "conflict", "resource-constraint":
				// RFC 6120 7.6.2: the resource is in use and the server
				// keeps the session that has it, or the account has
				// reached its limit of connected resources. The login is
				// refused for a conflict, not for a bad request.
				code = codes.LoginRefused
			}
		}
		return driver.LoginResult{Code: code, Message: msg}, nil
	}
	jid := ""
	if b := n.child(nsBind, "bind"); b != nil {
		if j := b.child("", "jid"); j != nil {
			jid = strings.TrimSpace(j.text)
		}
	}
	if f.session {
		id := c.id("s")
		if err := t.send(ctx, "session", sessionMsg(id)); err != nil {
			return driver.LoginResult{}, err
		}
		n, err := t.expect(ctx, "session result", iqAnswer(id))
		if err != nil {
			return driver.LoginResult{}, err
		}
		if n.attr("type") == "error" {
			return driver.LoginResult{Code: codes.InvalidParam, Message: "session refused"}, nil
		}
	}
	c.mu.Lock()
	c.jid = jid
	c.mu.Unlock()
	return driver.LoginResult{}, nil
}

// iqAnswer matches the result or error of the IQ with id.
func iqAnswer(id string) func(*node) bool {
	return func(n *node) bool {
		if !n.is(nsClient, "iq") || n.attr("id") != id {
			return false
		}
		typ := n.attr("type")
		return typ == "result" || typ == "error"
	}
}

func isSASL(n *node) bool { return n.name.Space == nsSASL }

// authenticate runs SASL, registering the user once when allowed. It
// returns a login code for a refusal, an error for a broken exchange.
func (c *Conn) authenticate(ctx context.Context, t *transport, local, password string) (int, string, error) {
	mech := ""
	for _, m := range c.d.cfg.Mechanisms {
		if t.features.offers(m) {
			mech = m
			break
		}
	}
	if mech == "" {
		return 0, "", fmt.Errorf("%w: the server offers %v, the driver uses %v", errNoMechanism, t.features.mechanisms, c.d.cfg.Mechanisms)
	}
	cond, text, err := c.sasl(ctx, t, mech, local, password)
	if err != nil {
		return 0, "", err
	}
	if cond == "not-authorized" && c.d.cfg.Register && t.features.register {
		code, msg, exists, err := c.d.reg.ensure(ctx, local+"@"+t.domain, func() (int, string, bool, error) {
			return c.register(ctx, t, local, password)
		})
		if err != nil || code != 0 {
			return code, msg, err
		}
		if cond, text, err = c.sasl(ctx, t, mech, local, password); err != nil {
			return 0, "", err
		}
		if cond == "not-authorized" && exists {
			text = "the user exists with another password"
		}
	}
	if cond == "" {
		return 0, "", nil
	}
	msg := "SASL " + mech + " failed: " + cond
	if text != "" {
		msg += ": " + text
	}
	return saslCode(cond), msg, nil
}

// saslCode maps a SASL failure condition (RFC 6120 section 6.5) to a login
// code of SPEC.md section 5.
func saslCode(cond string) int {
	switch cond {
	case "account-disabled":
		return codes.Blacklisted
	case "credentials-expired":
		return codes.SigExpired
	case "temporary-auth-failure":
		return codes.SigRateLimited
	case "malformed-request", "incorrect-encoding", "invalid-authzid":
		return codes.SigUndecodable
	}
	return codes.SigBadSignature // not-authorized and the rest
}

// sasl runs one authentication exchange; it returns the failure condition
// ("" on success).
func (c *Conn) sasl(ctx context.Context, t *transport, mech, local, password string) (cond, text string, err error) {
	enc := base64.StdEncoding
	if mech == MechPlain {
		if err := t.send(ctx, "auth", authMsg(mech, enc.EncodeToString([]byte("\x00"+local+"\x00"+password)))); err != nil {
			return "", "", err
		}
		n, err := t.expect(ctx, "SASL outcome", isSASL)
		if err != nil {
			return "", "", err
		}
		return saslOutcome(n)
	}
	s := &scram{h: scramHash(mech), user: local, password: password, nonce: nonce(), cache: c.d.salts}
	if err := t.send(ctx, "auth", authMsg(mech, enc.EncodeToString([]byte(s.first())))); err != nil {
		return "", "", err
	}
	n, err := t.expect(ctx, "SCRAM server-first-message", isSASL)
	if err != nil {
		return "", "", err
	}
	if !n.is(nsSASL, "challenge") {
		return saslOutcome(n)
	}
	serverFirst, err := enc.DecodeString(strings.TrimSpace(n.text))
	if err != nil {
		return "", "", fmt.Errorf("SCRAM server-first-message is not base64: %w", err)
	}
	final, err := s.final(string(serverFirst))
	if err != nil {
		return "", "", err
	}
	if err := t.send(ctx, "response", responseMsg(enc.EncodeToString([]byte(final)))); err != nil {
		return "", "", err
	}
	for {
		n, err = t.expect(ctx, "SASL outcome", isSASL)
		if err != nil {
			return "", "", err
		}
		if !n.is(nsSASL, "challenge") {
			break
		}
		// Some servers send the server-final-message as a challenge and
		// wait for an empty response before <success/>.
		if err := c.verifyFinal(s, n.text); err != nil {
			return "", "", err
		}
		s.serverSig = nil // verified
		if err := t.send(ctx, "response", responseMsg("")); err != nil {
			return "", "", err
		}
	}
	if n.is(nsSASL, "success") && s.serverSig != nil {
		if err := c.verifyFinal(s, n.text); err != nil {
			return "", "", err
		}
	}
	return saslOutcome(n)
}

func (c *Conn) verifyFinal(s *scram, data string) error {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(data))
	if err != nil {
		return fmt.Errorf("SCRAM server-final-message is not base64: %w", err)
	}
	return s.verify(string(b))
}

// saslOutcome reads <success/> or <failure/>.
func saslOutcome(n *node) (string, string, error) {
	switch {
	case n.is(nsSASL, "success"):
		return "", "", nil
	case n.is(nsSASL, "failure"):
		cond := n.condition(nsSASL)
		if cond == "" {
			cond = "not-authorized"
		}
		return cond, n.errText(nsSASL), nil
	}
	return "", "", fmt.Errorf("unexpected SASL element <%s/>", n.name.Local)
}

// register creates the user by in-band registration (XEP-0077). A user
// that exists already (conflict) is not an error: exists says so, and the
// caller authenticates again.
func (c *Conn) register(ctx context.Context, t *transport, local, password string) (code int, msg string, exists bool, err error) {
	id := c.id("r")
	if err := t.send(ctx, "register", registerMsg(id, local, password)); err != nil {
		return 0, "", false, err
	}
	n, err := t.expect(ctx, "registration result", iqAnswer(id))
	if err != nil {
		return 0, "", false, err
	}
	if n.attr("type") == "result" {
		return 0, "", false, nil
	}
	msg = "not-authorized, and registration failed"
	if e := n.child("", "error"); e != nil {
		if e.condition(nsStanzas) == "conflict" {
			return 0, "", true, nil
		}
		msg += ": " + e.errMessage(nsStanzas)
	}
	return codes.SigBadSignature, msg, false, nil
}

// Logout closes the stream (RFC 7395 <close/>) and waits until the server
// has closed the WebSocket, by which time it has ended the session.
func (c *Conn) Logout(ctx context.Context) (int, error) {
	t, err := c.current("logout")
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	in := c.loggedIn
	c.mu.Unlock()
	if !in || t == nil {
		return codes.NotLoggedIn, nil
	}
	t.local.Store(true)
	c.mu.Lock()
	c.loggedIn, c.user = false, ""
	c.mu.Unlock()
	err = t.send(ctx, "close", closeMsg())
	if err == nil {
		select {
		case <-t.done:
		case <-ctx.Done():
			err = fmt.Errorf("wait for the server to close: %w", ctxReason(ctx.Err()))
		}
	}
	c.forget(t)
	if err != nil {
		return 0, fmt.Errorf("xmpp: logout: %w", err)
	}
	return 0, nil
}

// Resume is not available: the driver does not use stream management
// (XEP-0198), so a dropped device logs in again. It answers 1006, which
// devices take as "log in again".
func (c *Conn) Resume(ctx context.Context, token string) (driver.ResumeResult, error) {
	return driver.ResumeResult{Code: codes.ResumeFailed, Message: "xmpp: no stream resumption; log in again"}, nil
}

// Ping sends an XEP-0199 ping to the server and waits for its answer (an
// error answer counts: the server is there).
func (c *Conn) Ping(ctx context.Context) error {
	t, err := c.current("ping")
	if err != nil {
		return err
	}
	c.mu.Lock()
	in := c.loggedIn
	c.mu.Unlock()
	if !in || t == nil {
		return errors.New("xmpp: ping: not logged in")
	}
	t.begin()
	defer t.end()
	id := c.id("p")
	if err := t.send(ctx, "ping", pingMsg(id, t.domain)); err != nil {
		return fmt.Errorf("xmpp: ping: %w", err)
	}
	if _, err := t.expect(ctx, "ping result", iqAnswer(id)); err != nil {
		return fmt.Errorf("xmpp: ping: %w", err)
	}
	return nil
}

// Pushes delivers PushKicked when the server ends the stream with a
// conflict (another session replaced this one), policy-violation or
// not-authorized stream error, then PushClosed when the transport ends
// other than by Logout, then is closed.
func (c *Conn) Pushes() <-chan *driver.Push { return c.pushes }

// Close drops the transport at once, without </close> (network loss or app
// kill), and waits for its reader. Close is idempotent.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closing)
		c.mu.Lock()
		c.closed = true
		t := c.t
		c.t = nil
		c.mu.Unlock()
		if t != nil {
			t.drop()
		}
		c.finish(driver.Push{Kind: driver.PushClosed, At: c.d.cfg.Clock.Now(), Reason: "closed by client"})
	})
	return nil
}

// lost reports the end of a transport that the client did not end.
func (c *Conn) lost(t *transport) {
	c.mu.Lock()
	c.dead = true
	c.loggedIn = false
	c.mu.Unlock()
	at := c.d.cfg.Clock.Now()
	reason := "server closed the stream"
	if se := t.streamErr; se != nil {
		reason = se.Error() // a kick was pushed when the error came
	} else if !t.gotClose && t.endErr != nil {
		reason = "transport lost: " + t.endErr.Error()
	}
	c.finish(driver.Push{Kind: driver.PushClosed, At: at, Reason: reason})
}

// push delivers p, blocking while the device has not read earlier pushes;
// once Close is called it delivers only if there is room.
func (c *Conn) push(p driver.Push) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if c.finished {
		return
	}
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

// finish delivers the last push and closes the channel, once.
func (c *Conn) finish(last driver.Push) {
	c.push(last)
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if !c.finished {
		c.finished = true
		close(c.pushes)
		c.Pushed()
	}
}
