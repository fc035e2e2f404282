package ws

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/codes"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
)

const testSDKAppID = 1400000001

func newTestDriver(t testing.TB, url string, edit ...func(*Config)) *Driver {
	t.Helper()
	cfg := Config{URL: url, HandshakeTimeout: 5 * time.Second}
	for _, e := range edit {
		e(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func dial(t testing.TB, d *Driver, p policy.Platform, instance string) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := d.Dial(ctx, driver.Device{SDKAppID: testSDKAppID, Platform: p, Instance: instance})
	if err != nil {
		t.Fatalf("Dial %s/%s: %v", p, instance, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func login(t testing.TB, c *Conn, user, sig string) driver.LoginResult {
	t.Helper()
	r, err := c.Login(ctxT(t), driver.LoginRequest{UserID: user, UserSig: sig})
	if err != nil {
		t.Fatalf("Login %s: %v", user, err)
	}
	return r
}

func nextPush(t testing.TB, c *Conn) (driver.Push, bool) {
	t.Helper()
	select {
	case p, ok := <-c.Pushes():
		if !ok {
			return driver.Push{}, false
		}
		return *p, true
	case <-time.After(5 * time.Second):
		t.Fatal("no push within 5s")
	}
	return driver.Push{}, false
}

// expectClosedPush reads PushClosed and then the channel's end.
func expectClosedPush(t testing.TB, c *Conn) driver.Push {
	t.Helper()
	p, ok := nextPush(t, c)
	if !ok || p.Kind != driver.PushClosed {
		t.Fatalf("want PushClosed, got %+v (open=%v)", p, ok)
	}
	if q, ok := nextPush(t, c); ok {
		t.Fatalf("Pushes not closed after PushClosed; got %+v", q)
	}
	return p
}

func TestRoundTrips(t *testing.T) {
	srv := newFakeServer(t)
	d := newTestDriver(t, srv.URL())
	c := dial(t, d, policy.Android, "phone-1")

	if got := c.Heartbeat(); got != 2*time.Minute {
		t.Errorf("Heartbeat = %v, want 2m from hello_ok", got)
	}
	if got := c.ServerVersion(); got != "fake" {
		t.Errorf("ServerVersion = %q, want fake", got)
	}
	if err := c.Ping(ctxT(t)); err != nil {
		t.Fatalf("Ping before login: %v", err)
	}

	r := login(t, c, "alice", "ok")
	if r.Code != 0 || r.Seq != 1 || r.ResumeToken == "" || r.RepeatLogin || r.ServerTime.IsZero() {
		t.Fatalf("first login = %+v, want code 0, seq 1, a token, server time", r)
	}
	r2 := login(t, c, "alice", "ok")
	if !r2.RepeatLogin || r2.Seq != 1 || r2.ResumeToken != r.ResumeToken {
		t.Fatalf("repeat login = %+v, want repeat_login with the session's seq and token", r2)
	}
	if err := c.Ping(ctxT(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if code, err := c.Logout(ctxT(t)); err != nil || code != 0 {
		t.Fatalf("Logout = %d, %v; want 0", code, err)
	}
	if code, err := c.Logout(ctxT(t)); err != nil || code != codes.NotLoggedIn {
		t.Fatalf("second Logout = %d, %v; want %d", code, err, codes.NotLoggedIn)
	}
	if r3 := login(t, c, "alice", "ok"); r3.Code != 0 || r3.Seq != 2 {
		t.Fatalf("login after logout = %+v, want seq 2", r3)
	}
}

func TestLoginCodes(t *testing.T) {
	srv := newFakeServer(t)
	d := newTestDriver(t, srv.URL())
	c := dial(t, d, policy.Web, "tab-1")
	tests := []struct {
		name, user, sig string
		code            int
	}{
		{"expired", "u1", "code:70001", codes.SigExpired},
		{"empty ticket", "u1", "", codes.SigEmpty},
		{"undecodable", "u1", "code:70003", codes.SigUndecodable},
		{"bad signature", "u1", "code:70009", codes.SigBadSignature},
		{"user mismatch", "u1", "code:70013", codes.SigUserMismatch},
		{"app mismatch", "u1", "code:70014", codes.SigAppMismatch},
		{"rate limited", "u1", "code:70050", codes.SigRateLimited},
		{"invalidated", "u1", "code:70052", codes.SigInvalidated},
		{"in progress", "u1", "code:6015", codes.InProgress},
		{"bad user id from server", "x\x01", "code:7003", codes.InvalidUserID},
		{"empty user id refused locally", "", "ok", codes.InvalidUserID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := login(t, c, tt.user, tt.sig)
			if r.Code != tt.code {
				t.Fatalf("code = %d (%q), want %d", r.Code, r.Message, tt.code)
			}
			if r.Seq != 0 || r.ResumeToken != "" {
				t.Fatalf("refused login carries seq %d token %q", r.Seq, r.ResumeToken)
			}
		})
	}
	t.Run("sig expiry is reported", func(t *testing.T) {
		at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		r := login(t, c, "u2", "exp:"+strconv.FormatInt(at.UnixMilli(), 10))
		if r.Code != 0 || !r.SigExpireAt.Equal(at) {
			t.Fatalf("login = %+v, want SigExpireAt %v", r, at)
		}
	})
}

func TestAccountSwitch(t *testing.T) {
	srv := newFakeServer(t)
	d := newTestDriver(t, srv.URL())
	a := dial(t, d, policy.IPhone, "a")
	b := dial(t, d, policy.IPhone, "b")
	login(t, a, "alice", "ok")
	if r := login(t, a, "bob", "ok"); r.Code != 0 || r.RepeatLogin || r.Seq != 1 {
		t.Fatalf("switch to bob = %+v, want a fresh login with seq 1", r)
	}
	// alice was logged out implicitly, so an alice login elsewhere on the
	// same platform displaces nobody.
	if r := login(t, b, "alice", "ok"); r.Code != 0 || r.Seq != 2 {
		t.Fatalf("alice on b = %+v, want seq 2", r)
	}
	if err := a.Ping(ctxT(t)); err != nil {
		t.Fatalf("a after switch: %v", err)
	}
	select {
	case p := <-a.Pushes():
		t.Fatalf("a got push %+v after an account switch", p)
	default:
	}
}

func TestKickedThenClosed(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fc := clock.NewFake(t0)
	srv := newFakeServer(t)
	d := newTestDriver(t, srv.URL(), func(c *Config) { c.Clock = fc })
	a := dial(t, d, policy.Android, "phone-a")
	b := dial(t, d, policy.Android, "phone-b")
	ra := login(t, a, "alice", "ok")
	rb := login(t, b, "alice", "ok")
	if rb.Seq != ra.Seq+1 {
		t.Fatalf("seqs %d then %d, want consecutive", ra.Seq, rb.Seq)
	}
	p, ok := nextPush(t, a)
	want := driver.Push{Kind: driver.PushKicked, At: t0, ByPlatform: policy.Android, ByInstance: "phone-b",
		BySeq: rb.Seq, Seq: ra.Seq, Reason: "multi_device"}
	if !ok || p != want {
		t.Fatalf("push = %+v, want %+v", p, want)
	}
	closed := expectClosedPush(t, a)
	if !strings.Contains(closed.Reason, "kicked") || closed.Code != 0 {
		t.Errorf("PushClosed = %+v, want the server's close reason \"kicked\" and no error code", closed)
	}
	if _, err := a.Login(ctxT(t), driver.LoginRequest{UserID: "alice", UserSig: "ok"}); !errors.Is(err, driver.ErrClosed) {
		t.Fatalf("Login on a kicked conn: %v, want ErrClosed", err)
	}
	// A call the kick's close cut off says so: the target ignored it.
	if _, err := a.Logout(ctxT(t)); !errors.Is(err, driver.ErrKicked) {
		t.Fatalf("Logout on a kicked conn: %v, want ErrKicked", err)
	}
	if err := b.Ping(ctxT(t)); err != nil {
		t.Fatalf("winner's conn: %v", err)
	}
}

func TestAdminKick(t *testing.T) {
	srv := newFakeServer(t)
	d := newTestDriver(t, srv.URL())
	a := dial(t, d, policy.Mac, "mac")
	r := login(t, a, "carol", "ok")
	srv.AdminKick("carol")
	p, ok := nextPush(t, a)
	if !ok || p.Kind != driver.PushKicked || p.Reason != "admin_kick" || p.Seq != r.Seq || p.BySeq != 0 || p.ByPlatform != "" {
		t.Fatalf("push = %+v, want an admin_kick of seq %d", p, r.Seq)
	}
	expectClosedPush(t, a)
}

func TestSigExpiredPush(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fc := clock.NewFake(t0)
	srv := newFakeServer(t)
	d := newTestDriver(t, srv.URL(), func(c *Config) { c.Clock = fc })
	a := dial(t, d, policy.Windows, "pc")
	login(t, a, "dave", "ok")
	fc.Advance(36 * time.Hour)
	srv.ExpireSig("dave")
	p, ok := nextPush(t, a)
	if !ok || p.Kind != driver.PushSigExpired || !p.At.Equal(t0.Add(36*time.Hour)) {
		t.Fatalf("push = %+v, want PushSigExpired stamped by the injected clock at %v", p, t0.Add(36*time.Hour))
	}
	if err := a.Ping(ctxT(t)); err != nil {
		t.Fatalf("session must stay after user_sig_expired: %v", err)
	}
}

func TestResume(t *testing.T) {
	srv := newFakeServer(t)
	d := newTestDriver(t, srv.URL())

	t.Run("after close without logout", func(t *testing.T) {
		a := dial(t, d, policy.Android, "a")
		r := login(t, a, "erin", "ok")
		a.Close()
		b := dial(t, d, policy.Android, "a")
		rr, err := b.Resume(ctxT(t), r.ResumeToken)
		if err != nil || rr.Code != 0 || rr.Seq != r.Seq {
			t.Fatalf("Resume = %+v, %v; want code 0 seq %d", rr, err, r.Seq)
		}
		// Resumed, not logged in anew: the next login of erin elsewhere has
		// seq 2, and a repeat login here keeps seq 1.
		if r2 := login(t, b, "erin", "ok"); !r2.RepeatLogin || r2.Seq != r.Seq {
			t.Fatalf("login after resume = %+v, want repeat_login with seq %d", r2, r.Seq)
		}
		if code, err := b.Logout(ctxT(t)); err != nil || code != 0 {
			t.Fatalf("Logout after resume = %d, %v", code, err)
		}
	})
	t.Run("unknown token", func(t *testing.T) {
		b := dial(t, d, policy.Android, "b")
		rr, err := b.Resume(ctxT(t), "no-such-token")
		if err != nil || rr.Code != codes.ResumeFailed {
			t.Fatalf("Resume = %+v, %v; want code %d", rr, err, codes.ResumeFailed)
		}
	})
	t.Run("kicked while disconnected", func(t *testing.T) {
		a := dial(t, d, policy.IPad, "pad-1")
		r := login(t, a, "frank", "ok")
		a.Close()
		c := dial(t, d, policy.IPad, "pad-2")
		login(t, c, "frank", "ok")
		b := dial(t, d, policy.IPad, "pad-1")
		rr, err := b.Resume(ctxT(t), r.ResumeToken)
		if err != nil || rr.Code != codes.KickedWhileOff {
			t.Fatalf("Resume = %+v, %v; want code %d", rr, err, codes.KickedWhileOff)
		}
	})
	t.Run("on a logged-in connection", func(t *testing.T) {
		a := dial(t, d, policy.Linux, "l")
		r := login(t, a, "gina", "ok")
		rr, err := a.Resume(ctxT(t), r.ResumeToken)
		if err != nil || rr.Code != codes.InvalidParam {
			t.Fatalf("Resume = %+v, %v; want code %d", rr, err, codes.InvalidParam)
		}
	})
	t.Run("empty token is refused locally", func(t *testing.T) {
		a := dial(t, d, policy.Linux, "l2")
		if _, err := a.Resume(ctxT(t), ""); err == nil {
			t.Fatal("Resume with an empty token succeeded")
		}
	})
}

func TestErrorFrames(t *testing.T) {
	t.Run("error frame answering a request", func(t *testing.T) {
		srv := newFakeServer(t, func(s *fakeServer) { s.errorOnLogin = codes.BadFrame })
		c := dial(t, newTestDriver(t, srv.URL()), policy.Web, "w")
		_, err := c.Login(ctxT(t), driver.LoginRequest{UserID: "u", UserSig: "ok"})
		var se *ServerError
		if !errors.As(err, &se) || se.Code != codes.BadFrame || se.Op != protocol.OpLogin {
			t.Fatalf("Login error = %v, want *ServerError 1001 for login", err)
		}
		var coded interface{ ErrorCode() int }
		if !errors.As(err, &coded) || coded.ErrorCode() != codes.BadFrame {
			t.Fatalf("Login error %v does not expose its code through ErrorCode()", err)
		}
		if err := c.Ping(ctxT(t)); err != nil {
			t.Fatalf("connection must stay after an error frame: %v", err)
		}
	})
	t.Run("hello refused", func(t *testing.T) {
		srv := newFakeServer(t)
		d := newTestDriver(t, srv.URL())
		_, err := d.Connect(ctxT(t), driver.Device{SDKAppID: testSDKAppID, Platform: "Toaster", Instance: "x"})
		var se *ServerError
		if !errors.As(err, &se) || se.Code != codes.InvalidParam || se.Op != protocol.OpHello {
			t.Fatalf("Connect error = %v, want *ServerError 6017 for hello", err)
		}
	})
	t.Run("shutdown fails the pending call and closes", func(t *testing.T) {
		srv := newFakeServer(t, func(s *fakeServer) { s.silent = true })
		c := dial(t, newTestDriver(t, srv.URL()), policy.Web, "w")
		errc := make(chan error, 1)
		go func() {
			_, err := c.Login(ctxT(t), driver.LoginRequest{UserID: "u", UserSig: "ok"})
			errc <- err
		}()
		waitPending(t, c, 1)
		srv.Shutdown()
		err := <-errc
		var se *ServerError
		if !errors.As(err, &se) || se.Code != codes.ServerClosed {
			t.Fatalf("pending Login = %v, want *ServerError 1007", err)
		}
		p := expectClosedPush(t, c)
		if p.Code != codes.ServerClosed {
			t.Fatalf("PushClosed = %+v, want Code 1007", p)
		}
		if err := c.Ping(ctxT(t)); !errors.Is(err, driver.ErrClosed) {
			t.Fatalf("Ping after shutdown = %v, want ErrClosed", err)
		}
	})
}

func TestConnectionErrorWithoutClose(t *testing.T) {
	srv := newFakeServer(t, func(s *fakeServer) { s.silent = true })
	c := dial(t, newTestDriver(t, srv.URL()), policy.Web, "w")
	errc := make(chan error, 1)
	go func() {
		_, err := c.Logout(ctxT(t))
		errc <- err
	}()
	waitPending(t, c, 1)
	srv.SendAll(protocol.Frame{Op: protocol.OpError, Code: codes.BadFrame, Message: "could not parse"})
	var se *ServerError
	if err := <-errc; !errors.As(err, &se) || se.Code != codes.BadFrame || se.Op != protocol.OpLogout {
		t.Fatalf("pending Logout = %v, want *ServerError 1001", err)
	}
	srv.Shutdown() // now a closing error follows; only that one is reported
	if p := expectClosedPush(t, c); p.Code != codes.ServerClosed {
		t.Fatalf("PushClosed = %+v, want Code 1007, not the earlier 1001", p)
	}
}

// waitPending waits until n calls wait for an answer on c.
func waitPending(t testing.TB, c *Conn, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		c.mu.Lock()
		got := len(c.pending)
		c.mu.Unlock()
		if got >= n {
			return
		}
	}
	t.Fatalf("fewer than %d calls pending after 5s", n)
}

func TestTimeouts(t *testing.T) {
	t.Run("no answer", func(t *testing.T) {
		srv := newFakeServer(t, func(s *fakeServer) { s.silent = true })
		c := dial(t, newTestDriver(t, srv.URL()), policy.Android, "a")
		const limit = 150 * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		start := time.Now()
		_, err := c.Login(ctx, driver.LoginRequest{UserID: "u", UserSig: "ok"})
		took := time.Since(start)
		if !errors.Is(err, driver.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Login = %v, want ErrTimeout wrapping the deadline", err)
		}
		if took < limit || took > limit+time.Second {
			t.Fatalf("Login gave up after %v, want about %v", took, limit)
		}
		if err := c.Ping(ctx); !errors.Is(err, driver.ErrTimeout) {
			t.Fatalf("Ping with an expired ctx = %v, want ErrTimeout", err)
		}
	})
	t.Run("cancel is not a timeout", func(t *testing.T) {
		srv := newFakeServer(t, func(s *fakeServer) { s.silent = true })
		c := dial(t, newTestDriver(t, srv.URL()), policy.Android, "a")
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		err := c.Ping(ctx)
		if !errors.Is(err, context.Canceled) || errors.Is(err, driver.ErrTimeout) {
			t.Fatalf("Ping = %v, want context.Canceled", err)
		}
	})
	t.Run("no hello_ok, ctx deadline", func(t *testing.T) {
		srv := newFakeServer(t, func(s *fakeServer) { s.noHelloOK = true })
		d := newTestDriver(t, srv.URL())
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := d.Connect(ctx, driver.Device{Platform: policy.Web, Instance: "w"})
		if !errors.Is(err, driver.ErrTimeout) || time.Since(start) > time.Second {
			t.Fatalf("Connect = %v after %v, want ErrTimeout within about 150ms", err, time.Since(start))
		}
	})
	t.Run("connect cancelled", func(t *testing.T) {
		srv := newFakeServer(t, func(s *fakeServer) { s.noHelloOK = true })
		d := newTestDriver(t, srv.URL())
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := d.Connect(ctx, driver.Device{Platform: policy.Web, Instance: "w"})
		if !errors.Is(err, context.Canceled) || errors.Is(err, driver.ErrTimeout) {
			t.Fatalf("Connect = %v, want context.Canceled", err)
		}
	})
	t.Run("no hello_ok, handshake timeout", func(t *testing.T) {
		srv := newFakeServer(t, func(s *fakeServer) { s.noHelloOK = true })
		d := newTestDriver(t, srv.URL(), func(c *Config) { c.HandshakeTimeout = 100 * time.Millisecond })
		_, err := d.Connect(context.Background(), driver.Device{Platform: policy.Web, Instance: "w"})
		if !errors.Is(err, driver.ErrTimeout) {
			t.Fatalf("Connect = %v, want ErrTimeout", err)
		}
	})
}

func TestCloseWithoutLogout(t *testing.T) {
	srv := newFakeServer(t)
	d := newTestDriver(t, srv.URL())
	a := dial(t, d, policy.Android, "a")
	r := login(t, a, "hank", "ok")
	start := time.Now()
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Close took %v", took)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if p := expectClosedPush(t, a); p.Reason != "closed by client" {
		t.Errorf("PushClosed reason %q, want closed by client", p.Reason)
	}
	if _, err := a.Logout(ctxT(t)); !errors.Is(err, driver.ErrClosed) {
		t.Fatalf("Logout after Close = %v, want ErrClosed", err)
	}
	// No logout went out: the session is still there to resume.
	b := dial(t, d, policy.Android, "a")
	if rr, err := b.Resume(ctxT(t), r.ResumeToken); err != nil || rr.Code != 0 {
		t.Fatalf("Resume after Close = %+v, %v; want the session intact", rr, err)
	}
}

func TestCloseWhileWaiting(t *testing.T) {
	srv := newFakeServer(t, func(s *fakeServer) { s.silent = true })
	// A push buffer of one that nobody reads must not hold Close up either.
	c := dial(t, newTestDriver(t, srv.URL(), func(c *Config) { c.PushBuffer = 1 }), policy.Android, "a")
	errc := make(chan error, 1)
	go func() {
		_, err := c.Login(ctxT(t), driver.LoginRequest{UserID: "u", UserSig: "ok"})
		errc <- err
	}()
	waitPending(t, c, 1)
	start := time.Now()
	c.Close()
	if err := <-errc; !errors.Is(err, driver.ErrClosed) {
		t.Fatalf("pending Login = %v, want ErrClosed", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Close and the pending call took %v", took)
	}
}

func TestCloseWithUnreadPushes(t *testing.T) {
	srv := newFakeServer(t)
	c := dial(t, newTestDriver(t, srv.URL(), func(c *Config) { c.PushBuffer = 1 }), policy.Web, "w")
	login(t, c, "ivy", "ok")
	for range 4 { // one fills the buffer, the next blocks the reader
		srv.ExpireSig("ivy")
	}
	waitFor(t, "reader blocked on a full Pushes", func() bool { return len(c.pushes) == cap(c.pushes) })
	start := time.Now()
	c.Close()
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Close took %v with unread pushes", took)
	}
	n := 0
	for range c.Pushes() {
		n++
	}
	if n == 0 {
		t.Fatal("buffered push lost")
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("not within 5s: %s", what)
}

func TestHandshakeRefusals(t *testing.T) {
	t.Run("subprotocol not selected", func(t *testing.T) {
		srv := newFakeServer(t, func(s *fakeServer) { s.noSubproto = true })
		_, err := newTestDriver(t, srv.URL()).Connect(ctxT(t), driver.Device{Platform: policy.Web, Instance: "w"})
		if err == nil || !strings.Contains(err.Error(), "subprotocol") {
			t.Fatalf("Connect = %v, want a subprotocol error", err)
		}
	})
	t.Run("wrong path", func(t *testing.T) {
		srv := newFakeServer(t)
		url := strings.TrimSuffix(srv.URL(), DefaultPath) + "/v2/ws"
		_, err := newTestDriver(t, url).Connect(ctxT(t), driver.Device{Platform: policy.Web, Instance: "w"})
		if err == nil || !strings.Contains(err.Error(), "HTTP 404") {
			t.Fatalf("Connect = %v, want HTTP 404", err)
		}
	})
	t.Run("driver closed", func(t *testing.T) {
		srv := newFakeServer(t)
		d := newTestDriver(t, srv.URL())
		d.Close()
		if _, err := d.Connect(ctxT(t), driver.Device{Platform: policy.Web, Instance: "w"}); !errors.Is(err, driver.ErrClosed) {
			t.Fatalf("Connect on a closed driver = %v, want ErrClosed", err)
		}
	})
}
