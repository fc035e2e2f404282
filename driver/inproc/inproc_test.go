package inproc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/codes"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/server"
	"github.com/imload/imload/usersig"
)

const app = 1400000002

var key = []byte("inproc-test-key")

func t0() time.Time { return time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC) }

type env struct {
	t   *testing.T
	s   *server.Server
	clk *clock.Fake
	d   *Driver
}

func newEnv(t *testing.T, mods ...func(*server.Config)) *env {
	t.Helper()
	clk := clock.NewFake(t0())
	cfg := server.Config{SDKAppID: app, Key: key, Clock: clk}
	for _, m := range mods {
		m(&cfg)
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return &env{t: t, s: s, clk: clk, d: New(s)}
}

func (e *env) connect(plat policy.Platform, inst string) *Conn {
	e.t.Helper()
	c, err := e.d.Connect(context.Background(), driver.Device{SDKAppID: app, Platform: plat, Instance: inst})
	if err != nil {
		e.t.Fatal(err)
	}
	return c.(*Conn)
}

func (e *env) sig(user string, life time.Duration) string {
	e.t.Helper()
	s, err := usersig.Gen(app, key, user, life, e.clk.Now(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) login(c *Conn, user string) driver.LoginResult {
	e.t.Helper()
	r, err := c.Login(context.Background(), driver.LoginRequest{UserID: user, UserSig: e.sig(user, time.Hour)})
	if err != nil || r.Code != 0 {
		e.t.Fatalf("login %s: %+v %v", user, r, err)
	}
	return r
}

func nextPush(t *testing.T, c *Conn) (driver.Push, bool) {
	t.Helper()
	select {
	case p, ok := <-c.Pushes():
		if !ok {
			return driver.Push{}, false
		}
		return *p, true
	case <-time.After(3 * time.Second):
		t.Fatal("no push")
	}
	return driver.Push{}, false
}

func TestKickDeliveredThenClosed(t *testing.T) {
	e := newEnv(t)
	a := e.connect(policy.Android, "phone")
	b := e.connect(policy.Windows, "pc")
	ra := e.login(a, "alice")
	rb := e.login(b, "alice")
	if ra.Seq != 1 || rb.Seq != 2 || ra.ResumeToken == "" || ra.SigExpireAt.IsZero() {
		t.Fatalf("results %+v %+v", ra, rb)
	}
	p, _ := nextPush(t, a)
	if p.Kind != driver.PushKicked || p.ByPlatform != policy.Windows || p.ByInstance != "pc" || p.BySeq != 2 || p.Seq != 1 || p.Reason != server.KickMultiDevice || !p.At.Equal(t0()) {
		t.Fatalf("push %+v", p)
	}
	if p, _ := nextPush(t, a); p.Kind != driver.PushClosed {
		t.Fatalf("push %+v, want PushClosed", p)
	}
	if _, ok := nextPush(t, a); ok {
		t.Fatal("Pushes not closed after PushClosed")
	}
	if _, err := a.Login(context.Background(), driver.LoginRequest{UserID: "alice", UserSig: e.sig("alice", time.Hour)}); !errors.Is(err, driver.ErrClosed) {
		t.Fatalf("login on a kicked conn: %v", err)
	}
	if in := e.s.OnlineStatus("alice"); len(in) != 1 || in[0].Instance != "pc" {
		t.Fatalf("online %+v", in)
	}
}

func TestResumeAfterCloseAddsNoLogin(t *testing.T) {
	e := newEnv(t)
	a := e.connect(policy.IPhone, "phone")
	r := e.login(a, "bob")
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if p, _ := nextPush(t, a); p.Kind != driver.PushClosed {
		t.Fatalf("push %+v", p)
	}
	if in := e.s.OnlineStatus("bob"); len(in) != 1 || in[0].State != server.StateDisconnected {
		t.Fatalf("online %+v", in)
	}
	b := e.connect(policy.IPhone, "phone")
	res, err := b.Resume(context.Background(), r.ResumeToken)
	if err != nil || res.Code != 0 || res.Seq != r.Seq {
		t.Fatalf("resume %+v %v", res, err)
	}
	if st := e.s.Stats(); st.LoginsOK != 1 || st.Resumes != 1 || st.Connected != 1 {
		t.Fatalf("stats %+v", st)
	}
	// A resume of a token whose session was logged out fails.
	if code, err := b.Logout(context.Background()); code != 0 || err != nil {
		t.Fatalf("logout %d %v", code, err)
	}
	c := e.connect(policy.IPhone, "phone")
	if res, _ := c.Resume(context.Background(), r.ResumeToken); res.Code != codes.ResumeFailed {
		t.Fatalf("resume after logout %+v", res)
	}
}

func TestSigExpiredPush(t *testing.T) {
	e := newEnv(t)
	a := e.connect(policy.Mac, "mac")
	if _, err := a.Login(context.Background(), driver.LoginRequest{UserID: "carl", UserSig: e.sig("carl", time.Minute)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		e.clk.Advance(time.Second)
		select {
		case p := <-a.Pushes():
			if p.Kind != driver.PushSigExpired || p.Seq != 1 || p.At.Before(t0().Add(61*time.Second)) {
				t.Fatalf("push %+v", p)
			}
			return
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no user_sig_expired")
		}
	}
}

func TestShutdownEndsDevices(t *testing.T) {
	e := newEnv(t)
	a := e.connect(policy.Web, "tab")
	e.login(a, "dana")
	if err := e.s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	p, _ := nextPush(t, a)
	if p.Kind != driver.PushClosed || p.Code != codes.ServerClosed {
		t.Fatalf("push %+v, want PushClosed with 1007", p)
	}
	if err := a.Ping(context.Background()); !errors.Is(err, driver.ErrClosed) {
		t.Fatalf("ping after shutdown: %v", err)
	}
	if _, err := e.d.Connect(context.Background(), driver.Device{SDKAppID: app, Platform: policy.Web}); !errors.Is(err, driver.ErrClosed) {
		t.Fatalf("connect after shutdown: %v", err)
	}
}

func TestLocalChecksAndDeadlines(t *testing.T) {
	e := newEnv(t)
	a := e.connect(policy.Linux, "box")
	if r, err := a.Login(context.Background(), driver.LoginRequest{}); err != nil || r.Code != codes.InvalidUserID {
		t.Fatalf("empty UserID: %+v %v", r, err)
	}
	if r, err := a.Login(context.Background(), driver.LoginRequest{UserID: "eve", UserSig: "garbage"}); err != nil || r.Code != codes.SigUndecodable {
		t.Fatalf("bad ticket: %+v %v", r, err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if err := a.Ping(ctx); !errors.Is(err, driver.ErrTimeout) {
		t.Fatalf("ping with a past deadline: %v", err)
	}
	if _, err := a.Resume(context.Background(), ""); err == nil {
		t.Fatal("resume with an empty token succeeded")
	}
	if _, err := e.d.Connect(context.Background(), driver.Device{SDKAppID: app, Platform: "Symbian"}); err == nil {
		t.Fatal("connect with an unknown platform succeeded")
	}
	if code, err := a.Logout(context.Background()); err != nil || code != codes.NotLoggedIn {
		t.Fatalf("logout without login: %d %v", code, err)
	}
}

// TestOverlappingCalls runs logins of one device at once: each gets
// success (a first or repeat login) or 6015, never anything else, and only
// one seq is taken.
func TestOverlappingCalls(t *testing.T) {
	e := newEnv(t)
	a := e.connect(policy.Android, "phone")
	sig := e.sig("fay", time.Hour)
	var wg sync.WaitGroup
	results := make([]driver.LoginResult, 8)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := a.Login(context.Background(), driver.LoginRequest{UserID: "fay", UserSig: sig})
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		}(i)
	}
	wg.Wait()
	for _, r := range results {
		if !(r.Code == codes.InProgress || (r.Code == 0 && r.Seq == 1)) {
			t.Fatalf("result %+v", r)
		}
	}
	if in := e.s.OnlineStatus("fay"); len(in) != 1 || in[0].Seq != 1 {
		t.Fatalf("online %+v", in)
	}
}

// TestManyDevices holds more devices than the open-files limit (20,000)
// without a socket or a goroutine each.
func TestManyDevices(t *testing.T) {
	n := 25000
	if testing.Short() {
		n = 2000
	}
	e := newEnv(t, func(c *server.Config) {
		pol, err := policy.Tencent(policy.MultiPlatform, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		c.Policy = pol
	})
	plats := []policy.Platform{policy.Android, policy.Windows, policy.Web, policy.IPad, policy.Linux}
	sigs := map[string]string{}
	conns := make([]*Conn, 0, n)
	for i := 0; i < n; i++ {
		user := fmt.Sprintf("user_%05d", i/len(plats))
		if sigs[user] == "" {
			sigs[user] = e.sig(user, time.Hour)
		}
		c := e.connect(plats[i%len(plats)], fmt.Sprintf("dev%d", i))
		r, err := c.Login(context.Background(), driver.LoginRequest{UserID: user, UserSig: sigs[user]})
		if err != nil || r.Code != 0 || r.Seq != uint64(i%len(plats)+1) {
			t.Fatalf("device %d: %+v %v", i, r, err)
		}
		conns = append(conns, c)
	}
	st := e.s.Stats()
	if st.Online != n || st.Conns != n || st.Kicks != 0 || st.Days[0].LoginUsers != uint64(n/len(plats)) {
		t.Fatalf("stats online %d conns %d kicks %d dau %d", st.Online, st.Conns, st.Kicks, st.Days[0].LoginUsers)
	}
	for _, c := range conns {
		if code, err := c.Logout(context.Background()); code != 0 || err != nil {
			t.Fatalf("logout %d %v", code, err)
		}
	}
	if st := e.s.Stats(); st.Online != 0 {
		t.Fatalf("online after logout %d", st.Online)
	}
}
