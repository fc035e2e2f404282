package xmpp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/policy"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newTestDriver(t *testing.T, f *fakeServer, configure func(*Config)) *Driver {
	cfg := Config{URL: f.URL(), Domain: "localhost"}
	if configure != nil {
		configure(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func dial(t *testing.T, d *Driver, platform policy.Platform, instance string) *Conn {
	c, err := d.Dial(testCtx(t), driver.Device{Platform: platform, Instance: instance})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// nextPush waits for a push, failing the test after a while.
func nextPush(t *testing.T, c *Conn) (driver.Push, bool) {
	t.Helper()
	select {
	case p, ok := <-c.Pushes():
		if !ok {
			return driver.Push{}, false
		}
		return *p, true
	case <-time.After(5 * time.Second):
		t.Fatal("no push within 5 s")
	}
	return driver.Push{}, false
}

func noPush(t *testing.T, c *Conn) {
	t.Helper()
	select {
	case p, ok := <-c.Pushes():
		t.Fatalf("unexpected push %+v (open %v)", p, ok)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestLoginMechanisms logs in with each mechanism a server may offer and
// checks the bound JID and the session step.
func TestLoginMechanisms(t *testing.T) {
	cases := []struct {
		name    string
		offered []string
		prefer  []string
		session bool
		final   bool
	}{
		{"SCRAM-SHA-1 preferred over PLAIN", []string{MechPlain, MechSCRAMSHA1}, nil, false, false},
		{"PLAIN when it is all", []string{MechPlain}, nil, false, false},
		{"SCRAM-SHA-256", []string{MechSCRAMSHA256, MechPlain}, nil, true, false},
		{"PLAIN forced by config", []string{MechSCRAMSHA1, MechPlain}, []string{MechPlain}, false, false},
		{"server-final as a challenge", []string{MechSCRAMSHA1}, nil, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, func(f *fakeServer) {
				f.mechs, f.sessionRequired, f.serverFinalAsChallenge = tc.offered, tc.session, tc.final
			})
			f.addUser("alice", "pw")
			d := newTestDriver(t, f, func(c *Config) { c.Mechanisms = tc.prefer })
			c := dial(t, d, policy.IPhone, "dev1")
			res, err := c.Login(testCtx(t), driver.LoginRequest{UserID: "alice", UserSig: "pw"})
			if err != nil || res.Code != 0 {
				t.Fatalf("login: %+v, %v", res, err)
			}
			if c.JID() != "alice@localhost/iPhone-dev1" {
				t.Errorf("JID %q, want alice@localhost/iPhone-dev1", c.JID())
			}
			if got := f.online("alice"); len(got) != 1 || got[0] != "iPhone-dev1" {
				t.Errorf("server holds %v", got)
			}
			if res.Seq != 0 || res.ResumeToken != "" {
				t.Errorf("XMPP has no sequence or resume token: %+v", res)
			}
		})
	}
}

// TestLoginCodes maps refusals to login codes.
func TestLoginCodes(t *testing.T) {
	cases := []struct {
		name     string
		failWith string
		user, pw string
		code     int
		msg      string
	}{
		{"wrong password", "", "alice", "nope", codes.SigBadSignature, "not-authorized"},
		{"unknown user", "", "bob", "pw", codes.SigBadSignature, "not-authorized"},
		{"account disabled", "account-disabled", "alice", "pw", codes.Blacklisted, "account-disabled"},
		{"credentials expired", "credentials-expired", "alice", "pw", codes.SigExpired, "credentials-expired"},
		{"temporary failure", "temporary-auth-failure", "alice", "pw", codes.SigRateLimited, "temporary-auth-failure"},
		{"malformed", "malformed-request", "alice", "pw", codes.SigUndecodable, "malformed-request"},
		{"invalid localpart", "", "a/b", "pw", codes.InvalidUserID, "not allowed"},
		{"empty user", "", "", "pw", codes.InvalidUserID, "empty"},
		{"empty password", "", "alice", "", codes.SigEmpty, "empty password"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, func(f *fakeServer) { f.failCondition = tc.failWith })
			f.addUser("alice", "pw")
			c := dial(t, newTestDriver(t, f, nil), policy.Android, "d")
			res, err := c.Login(testCtx(t), driver.LoginRequest{UserID: tc.user, UserSig: tc.pw})
			if err != nil || res.Code != tc.code || !strings.Contains(res.Message, tc.msg) {
				t.Fatalf("login: %+v, %v; want code %d with %q", res, err, tc.code, tc.msg)
			}
			// A refused login leaves the stream usable for another try.
			f.failCondition = ""
			if tc.failWith == "" {
				res, err = c.Login(testCtx(t), driver.LoginRequest{UserID: "alice", UserSig: "pw"})
				if err != nil || res.Code != 0 {
					t.Errorf("login after a refusal: %+v, %v", res, err)
				}
			}
		})
	}
}

// TestRegister creates users by in-band registration.
func TestRegister(t *testing.T) {
	cases := []struct {
		name      string
		offer     bool
		register  bool
		existing  string // password the user already has ("": none)
		code      int
		msg       string
		registers bool
	}{
		{"new user registered", true, true, "", 0, "", true},
		{"registration off in the driver", true, false, "", codes.SigBadSignature, "not-authorized", false},
		{"server offers none", false, true, "", codes.SigBadSignature, "not-authorized", false},
		{"user exists with another password", true, true, "other", codes.SigBadSignature, "exists with another password", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, func(f *fakeServer) { f.register = tc.offer })
			if tc.existing != "" {
				f.addUser("carol", tc.existing)
			}
			c := dial(t, newTestDriver(t, f, func(c *Config) { c.Register = tc.register }), policy.Web, "w")
			res, err := c.Login(testCtx(t), driver.LoginRequest{UserID: "carol", UserSig: "pw"})
			if err != nil || res.Code != tc.code || !strings.Contains(res.Message, tc.msg) {
				t.Fatalf("login: %+v, %v; want code %d with %q", res, err, tc.code, tc.msg)
			}
			f.mu.Lock()
			pw, ok := f.users["carol"]
			f.mu.Unlock()
			if registered := ok && pw == "pw"; registered != tc.registers {
				t.Errorf("registered: %v, want %v", registered, tc.registers)
			}
		})
	}
}

// TestKickOverSessionCap: with a cap of two sessions, a user's third login
// kicks the oldest with <conflict/>, which the driver reports as PushKicked
// then PushClosed, then closes Pushes.
func TestKickOverSessionCap(t *testing.T) {
	f := newFakeServer(t, func(f *fakeServer) { f.maxSessions = 2 })
	f.addUser("alice", "pw")
	d := newTestDriver(t, f, nil)
	var conns []*Conn
	for i, p := range []policy.Platform{policy.Android, policy.Windows, policy.Web} {
		c := dial(t, d, p, fmt.Sprint("dev", i))
		if res, err := c.Login(testCtx(t), driver.LoginRequest{UserID: "alice", UserSig: "pw"}); err != nil || res.Code != 0 {
			t.Fatalf("login %d: %+v, %v", i, res, err)
		}
		conns = append(conns, c)
	}
	p, ok := nextPush(t, conns[0])
	if !ok || p.Kind != driver.PushKicked || p.Reason != "conflict" || p.At.IsZero() {
		t.Fatalf("first push %+v (open %v), want PushKicked conflict", p, ok)
	}
	if p.ByInstance != "" || p.BySeq != 0 || p.ByPlatform != "" {
		t.Errorf("XMPP names no displacer, the push does: %+v", p)
	}
	p, ok = nextPush(t, conns[0])
	if !ok || p.Kind != driver.PushClosed || !strings.Contains(p.Reason, "Replaced by new connection") {
		t.Fatalf("second push %+v (open %v), want PushClosed with the server's text", p, ok)
	}
	if _, ok := nextPush(t, conns[0]); ok {
		t.Fatal("Pushes still open after PushClosed")
	}
	if _, err := conns[0].Login(testCtx(t), driver.LoginRequest{UserID: "alice", UserSig: "pw"}); !errors.Is(err, driver.ErrClosed) {
		t.Errorf("login on a kicked Conn: %v, want driver.ErrClosed", err)
	}
	noPush(t, conns[1])
	noPush(t, conns[2])
}

// TestResourceConflict: a second login with the same device (resource)
// replaces the first.
func TestResourceConflict(t *testing.T) {
	f := newFakeServer(t, nil)
	f.addUser("alice", "pw")
	d := newTestDriver(t, f, nil)
	first := dial(t, d, policy.Mac, "m1")
	second := dial(t, d, policy.Mac, "m1")
	for _, c := range []*Conn{first, second} {
		if res, err := c.Login(testCtx(t), driver.LoginRequest{UserID: "alice", UserSig: "pw"}); err != nil || res.Code != 0 {
			t.Fatalf("login: %+v, %v", res, err)
		}
	}
	if p, _ := nextPush(t, first); p.Kind != driver.PushKicked {
		t.Fatalf("push %+v, want PushKicked", p)
	}
	noPush(t, second)
}

// TestBindRefusal: a server that keeps the session holding a resource, or
// that has reached its session cap, refuses the bind; the login reports the
// protocol's refusal code (1008), and the first session is not kicked.
func TestBindRefusal(t *testing.T) {
	f := newFakeServer(t, func(f *fakeServer) { f.refuseBind, f.maxSessions = true, 2 })
	f.addUser("alice", "pw")
	d := newTestDriver(t, f, nil)
	first := dial(t, d, policy.Mac, "m1")
	if res, err := first.Login(testCtx(t), driver.LoginRequest{UserID: "alice", UserSig: "pw"}); err != nil || res.Code != 0 {
		t.Fatalf("login: %+v, %v", res, err)
	}
	same := dial(t, d, policy.Mac, "m1")
	if res, err := same.Login(testCtx(t), driver.LoginRequest{UserID: "alice", UserSig: "pw"}); err != nil || res.Code != codes.LoginRefused {
		t.Fatalf("login of an online resource: %+v, %v; want code %d", res, err, codes.LoginRefused)
	}
	other := dial(t, d, policy.Android, "a1")
	if res, err := other.Login(testCtx(t), driver.LoginRequest{UserID: "alice", UserSig: "pw"}); err != nil || res.Code != 0 {
		t.Fatalf("second resource: %+v, %v", res, err)
	}
	third := dial(t, d, policy.Web, "w1")
	if res, err := third.Login(testCtx(t), driver.LoginRequest{UserID: "alice", UserSig: "pw"}); err != nil || res.Code != codes.LoginRefused {
		t.Fatalf("login over the cap: %+v, %v; want code %d", res, err, codes.LoginRefused)
	}
	noPush(t, first)
}

// TestAppRestartReplacesItsSession: a device's app is killed (Close, no
// </close>) before the server notices, and the app, restarted on the same
// device (same platform and instance ID, as behaviour.instance per_device
// gives), logs in again: it binds the same resource, so the server replaces
// the device's own stale session instead of holding a second one. A fresh
// instance ID (per_session) binds another resource and the stale session
// stays beside it.
func TestAppRestartReplacesItsSession(t *testing.T) {
	for _, perDevice := range []bool{true, false} {
		t.Run(fmt.Sprintf("per_device=%v", perDevice), func(t *testing.T) {
			f := newFakeServer(t, func(f *fakeServer) { f.keepDropped = true })
			f.addUser("alice", "pw")
			d := newTestDriver(t, f, nil)
			ctx := testCtx(t)
			before := dial(t, d, policy.IPhone, "dev7")
			if res, err := before.Login(ctx, driver.LoginRequest{UserID: "alice", UserSig: "pw"}); err != nil || res.Code != 0 {
				t.Fatalf("login: %+v, %v", res, err)
			}
			if err := before.Close(); err != nil { // the app is killed
				t.Fatal(err)
			}
			instance := "dev7"
			if !perDevice {
				instance = "dev19"
			}
			after := dial(t, d, policy.IPhone, instance)
			if res, err := after.Login(ctx, driver.LoginRequest{UserID: "alice", UserSig: "pw"}); err != nil || res.Code != 0 || res.RepeatLogin {
				t.Fatalf("login after the restart: %+v, %v; want a new session", res, err)
			}
			want := []string{"iPhone-dev7"}
			if !perDevice {
				want = []string{"iPhone-dev7", "iPhone-dev19"}
			}
			if got := f.online("alice"); !slices.Equal(got, want) {
				t.Errorf("server holds %v, want %v", got, want)
			}
			noPush(t, after)
		})
	}
}

// TestLogoutThenLogin: Logout closes the stream without a push, and the
// same Conn logs in again (as another user: an account switch) on a new
// WebSocket.
func TestLogoutThenLogin(t *testing.T) {
	f := newFakeServer(t, nil)
	f.addUser("alice", "pw")
	f.addUser("bob", "pw2")
	c := dial(t, newTestDriver(t, f, nil), policy.Android, "a1")
	ctx := testCtx(t)
	if res, err := c.Login(ctx, driver.LoginRequest{UserID: "alice", UserSig: "pw"}); err != nil || res.Code != 0 {
		t.Fatalf("login: %+v, %v", res, err)
	}
	if res, err := c.Login(ctx, driver.LoginRequest{UserID: "alice", UserSig: "pw"}); err != nil || !res.RepeatLogin {
		t.Errorf("second login as the same user: %+v, %v; want RepeatLogin", res, err)
	}
	if _, err := c.Login(ctx, driver.LoginRequest{UserID: "bob", UserSig: "pw2"}); err == nil {
		t.Error("login as another user while logged in succeeded; want an error asking for a logout")
	}
	code, err := c.Logout(ctx)
	if err != nil || code != 0 {
		t.Fatalf("logout: %d, %v", code, err)
	}
	if got := f.online("alice"); len(got) != 0 {
		t.Errorf("server still holds %v after logout", got)
	}
	noPush(t, c)
	if code, err := c.Logout(ctx); err != nil || code != codes.NotLoggedIn {
		t.Errorf("logout while logged out: %d, %v; want %d", code, err, codes.NotLoggedIn)
	}
	if err := c.Ping(ctx); err == nil {
		t.Error("ping while logged out succeeded")
	}
	if res, err := c.Login(ctx, driver.LoginRequest{UserID: "bob", UserSig: "pw2"}); err != nil || res.Code != 0 {
		t.Fatalf("login after logout: %+v, %v", res, err)
	}
	if c.JID() != "bob@localhost/Android-a1" || len(f.online("bob")) != 1 {
		t.Errorf("JID %q, server holds %v", c.JID(), f.online("bob"))
	}
}

func TestPing(t *testing.T) {
	f := newFakeServer(t, nil)
	f.addUser("alice", "pw")
	c := dial(t, newTestDriver(t, f, nil), policy.Linux, "l")
	ctx := testCtx(t)
	if err := c.Ping(ctx); err == nil {
		t.Error("ping before login succeeded")
	}
	if res, err := c.Login(ctx, driver.LoginRequest{UserID: "alice", UserSig: "pw"}); err != nil || res.Code != 0 {
		t.Fatalf("login: %+v, %v", res, err)
	}
	for range 3 {
		if err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}
	f.mu.Lock()
	pings := f.pings
	f.mu.Unlock()
	if pings != 3 {
		t.Errorf("server saw %d pings, want 3", pings)
	}
}

// TestServerPing: the driver answers the server's XEP-0199 pings itself.
// loginAlice logs alice (password pw) in on a new Conn and returns it with
// her session on the server.
func loginAlice(t *testing.T, f *fakeServer) (*Conn, *fakeSession) {
	t.Helper()
	c := dial(t, newTestDriver(t, f, nil), policy.Linux, "l")
	if res, err := c.Login(testCtx(t), driver.LoginRequest{UserID: "alice", UserSig: "pw"}); err != nil || res.Code != 0 {
		t.Fatalf("login: %+v, %v", res, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return c, f.sessions["alice"][0]
}

func TestServerPing(t *testing.T) {
	f := newFakeServer(t, nil)
	f.addUser("alice", "pw")
	_, s := loginAlice(t, f)
	got := make(chan string, 1)
	f.mu.Lock()
	f.onIQResult = func(id string) { got <- id }
	f.mu.Unlock()
	if err := s.send(`<iq xmlns="jabber:client" type="get" id="srv1" from="localhost"><ping xmlns="urn:xmpp:ping"/></iq>`); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-got:
		if id != "srv1" {
			t.Errorf("answer to %q, want srv1", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the driver did not answer the server's ping")
	}
}

// TestWebSocketPing: the driver answers a WebSocket ping with a pong that
// carries its data, and the stream goes on.
func TestWebSocketPing(t *testing.T) {
	pongs := make(chan string, 4)
	f := newFakeServer(t, func(f *fakeServer) { f.onPong = func(data string) { pongs <- data } })
	f.addUser("alice", "pw")
	c, s := loginAlice(t, f)
	for _, data := range []string{"hb1", "hb2"} {
		if err := s.ping(data); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-pongs:
			if got != data {
				t.Errorf("pong %q, want %q", got, data)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no pong to ping %q", data)
		}
	}
	if err := c.Ping(testCtx(t)); err != nil {
		t.Fatalf("XMPP ping after the WebSocket pings: %v", err)
	}
	noPush(t, c)
}

// TestClose: Close drops the transport without <close/>; Pushes ends with
// PushClosed; later calls fail with driver.ErrClosed; Close is idempotent.
func TestClose(t *testing.T) {
	f := newFakeServer(t, nil)
	f.addUser("alice", "pw")
	c := dial(t, newTestDriver(t, f, nil), policy.Android, "a")
	ctx := testCtx(t)
	if res, err := c.Login(ctx, driver.LoginRequest{UserID: "alice", UserSig: "pw"}); err != nil || res.Code != 0 {
		t.Fatalf("login: %+v, %v", res, err)
	}
	c.Close()
	c.Close()
	p, ok := nextPush(t, c)
	if !ok || p.Kind != driver.PushClosed || p.Reason != "closed by client" {
		t.Errorf("push %+v (open %v), want PushClosed closed by client", p, ok)
	}
	if _, ok := nextPush(t, c); ok {
		t.Error("Pushes open after Close")
	}
	if _, err := c.Login(ctx, driver.LoginRequest{UserID: "alice", UserSig: "pw"}); !errors.Is(err, driver.ErrClosed) {
		t.Errorf("login after Close: %v", err)
	}
	if _, err := c.Logout(ctx); !errors.Is(err, driver.ErrClosed) {
		t.Errorf("logout after Close: %v", err)
	}
	if err := c.Ping(ctx); !errors.Is(err, driver.ErrClosed) {
		t.Errorf("ping after Close: %v", err)
	}
	// The server sees the connection go (no logout): the session ends.
	deadline := time.Now().Add(5 * time.Second)
	for len(f.online("alice")) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("server still holds the session 5 s after Close")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestServerGone: the server ends the connection without a stream error:
// PushClosed only.
func TestServerGone(t *testing.T) {
	f := newFakeServer(t, nil)
	f.addUser("alice", "pw")
	c := dial(t, newTestDriver(t, f, nil), policy.Android, "a")
	if res, err := c.Login(testCtx(t), driver.LoginRequest{UserID: "alice", UserSig: "pw"}); err != nil || res.Code != 0 {
		t.Fatalf("login: %+v, %v", res, err)
	}
	f.Close()
	p, ok := nextPush(t, c)
	if !ok || p.Kind != driver.PushClosed || !strings.Contains(p.Reason, "transport lost") {
		t.Errorf("push %+v (open %v), want PushClosed for a lost transport", p, ok)
	}
}

func TestLoginTimeout(t *testing.T) {
	f := newFakeServer(t, func(f *fakeServer) { f.silentAuth = true })
	f.addUser("alice", "pw")
	c := dial(t, newTestDriver(t, f, nil), policy.Android, "a")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Login(ctx, driver.LoginRequest{UserID: "alice", UserSig: "pw"})
	if !errors.Is(err, driver.ErrTimeout) {
		t.Fatalf("login: %v, want driver.ErrTimeout", err)
	}
	// The stream is given up: the next call fails at once.
	if _, err := c.Login(testCtx(t), driver.LoginRequest{UserID: "alice", UserSig: "pw"}); !errors.Is(err, driver.ErrClosed) {
		t.Errorf("login after a timed-out login: %v, want driver.ErrClosed", err)
	}
}

func TestConnectFailures(t *testing.T) {
	t.Run("no xmpp subprotocol", func(t *testing.T) {
		f := newFakeServer(t, func(f *fakeServer) { f.noSubprotocol = true })
		_, err := newTestDriver(t, f, nil).Dial(testCtx(t), driver.Device{Platform: policy.Web, Instance: "w"})
		if err == nil || !strings.Contains(err.Error(), "subprotocol") {
			t.Errorf("error %v, want one about the subprotocol", err)
		}
	})
	t.Run("no listener", func(t *testing.T) {
		f := newFakeServer(t, nil)
		d := newTestDriver(t, f, nil)
		f.Close()
		if _, err := d.Dial(testCtx(t), driver.Device{Platform: policy.Web, Instance: "w"}); err == nil {
			t.Error("dial to a closed server succeeded")
		}
	})
	t.Run("driver closed", func(t *testing.T) {
		f := newFakeServer(t, nil)
		d := newTestDriver(t, f, nil)
		d.Close()
		if _, err := d.Dial(testCtx(t), driver.Device{Platform: policy.Web, Instance: "w"}); !errors.Is(err, driver.ErrClosed) {
			t.Errorf("dial after Close: %v", err)
		}
	})
	t.Run("no common mechanism", func(t *testing.T) {
		f := newFakeServer(t, func(f *fakeServer) { f.mechs = []string{"X-OAUTH2"} })
		c := dial(t, newTestDriver(t, f, nil), policy.Web, "w")
		if _, err := c.Login(testCtx(t), driver.LoginRequest{UserID: "alice", UserSig: "pw"}); !errors.Is(err, errNoMechanism) {
			t.Errorf("login: %v, want no common mechanism", err)
		}
	})
}

func TestNewRejects(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{URL: "http://127.0.0.1/ws"},
		{URL: "ws://127.0.0.1/ws", Mechanisms: []string{"DIGEST-MD5"}},
		{URL: "ws://127.0.0.1/ws", Domain: "a b"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestCustomResource(t *testing.T) {
	f := newFakeServer(t, nil)
	f.addUser("alice", "pw")
	d := newTestDriver(t, f, func(c *Config) {
		c.Resource = func(dev driver.Device) string { return "imload/" + dev.Instance }
	})
	c := dial(t, d, policy.IPad, "pad")
	if res, err := c.Login(testCtx(t), driver.LoginRequest{UserID: "alice", UserSig: "pw"}); err != nil || res.Code != 0 {
		t.Fatalf("login: %+v, %v", res, err)
	}
	if c.Resource() != "imload/pad" || c.JID() != "alice@localhost/imload/pad" {
		t.Errorf("resource %q, JID %q", c.Resource(), c.JID())
	}
}

// TestRegisterOnce: devices of one new user that log in together register
// it once; the others wait and authenticate again. A later refusal of the
// same user does not register again.
func TestRegisterOnce(t *testing.T) {
	f := newFakeServer(t, func(f *fakeServer) { f.register = true })
	d := newTestDriver(t, f, func(c *Config) { c.Register = true })
	const n = 6
	conns := make([]*Conn, n)
	for i := range conns {
		conns[i] = dial(t, d, policy.Android, fmt.Sprint("d", i))
	}
	errs := make(chan error, n)
	for _, c := range conns {
		go func() {
			res, err := c.Login(testCtx(t), driver.LoginRequest{UserID: "dave", UserSig: "pw"})
			if err == nil && res.Code != 0 {
				err = fmt.Errorf("code %d: %s", res.Code, res.Message)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	late := dial(t, d, policy.Web, "late")
	res, err := late.Login(testCtx(t), driver.LoginRequest{UserID: "dave", UserSig: "wrong"})
	if err != nil || res.Code != codes.SigBadSignature || !strings.Contains(res.Message, "another password") {
		t.Errorf("wrong password after registration: %+v, %v", res, err)
	}
	f.mu.Lock()
	regs := f.regs
	f.mu.Unlock()
	if regs != 1 {
		t.Errorf("%d registrations of one user, want 1", regs)
	}
}
