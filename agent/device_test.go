package agent

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/driver"
	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

func testConfig(f *fakeDriver, r *recorder) Config {
	return Config{Driver: f, Tickets: &fakeTickets{}, Sink: r, Timeout: 200 * time.Millisecond, ReloginAfterKick: true}
}

func basePlan() Plan {
	return Plan{Index: 1, Instance: "dev1", Platform: policy.Android, User: "alice", Hold: 60 * time.Millisecond, Leave: LeaveLogout}
}

// goRun runs d in a goroutine; the channel gives Run's error.
func goRun(ctx context.Context, d *Device) <-chan error {
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, time.Now()) }()
	return done
}

func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

func run(t *testing.T, cfg Config, plan Plan) error {
	t.Helper()
	return wait(t, goRun(context.Background(), NewDevice(cfg, plan)))
}

func checkCalls(t *testing.T, f *fakeDriver, want []string) {
	t.Helper()
	if got := f.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls:\n got %q\nwant %q", got, want)
	}
}

// outcomes lists kind:outcome:code of the operation events, in order.
func outcomes(r *recorder, k event.Kind) []string {
	var out []string
	for _, e := range r.of(k) {
		out = append(out, fmt.Sprintf("%s:%s:%d", e.UserID, e.Outcome, e.Code))
	}
	return out
}

func TestPlainSession(t *testing.T) {
	for _, leave := range []Leave{LeaveLogout, LeaveKill} {
		t.Run(leave.String(), func(t *testing.T) {
			f, r := newFake(), newRecorder()
			plan := basePlan()
			plan.Leave = leave
			start := time.Now()
			if err := run(t, testConfig(f, r), plan); err != nil {
				t.Fatal(err)
			}
			if el := time.Since(start); el < plan.Hold {
				t.Errorf("session lasted %v, shorter than the hold %v", el, plan.Hold)
			}
			want := []string{"connect dev1", "login#0 alice t1", "logout#0", "close#0"}
			if leave == LeaveKill {
				want = []string{"connect dev1", "login#0 alice t1", "close#0"}
				if n := len(r.of(event.AppKill)); n != 1 {
					t.Errorf("%d app kill events, want 1", n)
				}
			}
			checkCalls(t, f, want)
			login := r.of(event.Login)[0]
			if login.Outcome != event.OK || login.Seq != 1 || login.Device != "dev1" || login.Platform != policy.Android {
				t.Errorf("login event %+v", login)
			}
			if login.Latency != login.At.Sub(login.Intended) || login.Start.Before(login.Intended) {
				t.Errorf("login latency %v with intended %v start %v at %v", login.Latency, login.Intended, login.Start, login.At)
			}
		})
	}
}

func TestAccountSwitch(t *testing.T) {
	f, r := newFake(), newRecorder()
	plan := basePlan()
	plan.Switch, plan.SwitchAt, plan.SwitchTo = true, 20*time.Millisecond, "bob"
	if err := run(t, testConfig(f, r), plan); err != nil {
		t.Fatal(err)
	}
	checkCalls(t, f, []string{"connect dev1", "login#0 alice t1", "logout#0", "login#0 bob t2", "logout#0", "close#0"})
	if got, want := outcomes(r, event.Login), []string{"alice:ok:0", "bob:ok:0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("logins %v, want %v", got, want)
	}
	sw := r.of(event.SwitchUser)
	if len(sw) != 1 || sw[0].UserID != "bob" || sw[0].Note != "from alice" {
		t.Errorf("switch events %+v", sw)
	}
	logouts := r.of(event.Logout)
	if len(logouts) != 2 || logouts[0].UserID != "alice" || !strings.Contains(logouts[0].Note, "implicit") || logouts[1].UserID != "bob" {
		t.Errorf("logouts %+v: want alice's implicit one, then bob's at the end", logouts)
	}
}

func TestNetworkFlap(t *testing.T) {
	cases := []struct {
		name      string
		resume    func(string) (driver.ResumeResult, error)
		wantCalls []string
		wantKick  bool
	}{
		{
			name:      "resumes without a login",
			wantCalls: []string{"connect dev1", "login#0 alice t1", "close#0", "connect dev1", "resume#1 tok1", "logout#1", "close#1"},
		},
		{
			name:      "6208 is a kick, then a login after think",
			resume:    func(string) (driver.ResumeResult, error) { return driver.ResumeResult{Code: 6208}, nil },
			wantCalls: []string{"connect dev1", "login#0 alice t1", "close#0", "connect dev1", "resume#1 tok1", "close#1", "connect dev1", "login#2 alice t1", "logout#2", "close#2"},
			wantKick:  true,
		},
		{
			name:      "1006 gets a fresh login on the new connection",
			resume:    func(string) (driver.ResumeResult, error) { return driver.ResumeResult{Code: 1006}, nil },
			wantCalls: []string{"connect dev1", "login#0 alice t1", "close#0", "connect dev1", "resume#1 tok1", "login#1 alice t1", "logout#1", "close#1"},
		},
		{
			name:      "another code ends the session",
			resume:    func(string) (driver.ResumeResult, error) { return driver.ResumeResult{Code: 6017}, nil },
			wantCalls: []string{"connect dev1", "login#0 alice t1", "close#0", "connect dev1", "resume#1 tok1", "close#1"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, r := newFake(), newRecorder()
			f.resume = tc.resume
			plan := basePlan()
			plan.Hold = 100 * time.Millisecond
			plan.Flap, plan.FlapAt, plan.FlapDown = true, 10*time.Millisecond, 20*time.Millisecond
			plan.Think = 5 * time.Millisecond
			if err := run(t, testConfig(f, r), plan); err != nil {
				t.Fatal(err)
			}
			checkCalls(t, f, tc.wantCalls)
			d := r.of(event.Disconnect)
			if len(d) != 1 || d[0].Note != "network flap" {
				t.Errorf("disconnect events %+v", d)
			}
			if k := r.of(event.Kicked); (len(k) == 1) != tc.wantKick || (tc.wantKick && k[0].Code != 6208) {
				t.Errorf("kicked events %+v, want kick %v", k, tc.wantKick)
			}
			// The drop is planned 10ms after the login, the resume 20ms later.
			res := r.of(event.Resume)
			if len(res) != 1 || res[0].Intended.Sub(r.of(event.Login)[0].At) < 30*time.Millisecond {
				t.Errorf("resume %+v: want one, intended flap_at + flap_down after the login", res)
			}
		})
	}
}

func TestExpiredTicketAtLogin(t *testing.T) {
	for _, code := range []int{70001, 6206} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			f, r := newFake(), newRecorder()
			f.login = func(n int, _ driver.LoginRequest) (driver.LoginResult, error) {
				if n == 0 {
					return driver.LoginResult{Code: code}, nil
				}
				return driver.LoginResult{}, nil
			}
			if err := run(t, testConfig(f, r), basePlan()); err != nil {
				t.Fatal(err)
			}
			// The second login carries a new ticket.
			checkCalls(t, f, []string{"connect dev1", "login#0 alice t1", "login#0 alice t2", "logout#0", "close#0"})
			if got, want := outcomes(r, event.Login), []string{fmt.Sprintf("alice:failed:%d", code), "alice:ok:0"}; !reflect.DeepEqual(got, want) {
				t.Errorf("logins %v, want %v", got, want)
			}
		})
	}
	t.Run("refresh is bounded", func(t *testing.T) {
		f, r := newFake(), newRecorder()
		f.login = func(int, driver.LoginRequest) (driver.LoginResult, error) {
			return driver.LoginResult{Code: 70001}, nil
		}
		cfg := testConfig(f, r)
		cfg.MaxRetries = 2
		if err := run(t, cfg, basePlan()); err != nil {
			t.Fatal(err)
		}
		if n := f.count("login"); n != 3 {
			t.Errorf("%d logins, want 1 + 2 refreshes", n)
		}
	})
}

func TestSigExpiredPush(t *testing.T) {
	f, r := newFake(), newRecorder()
	plan := basePlan()
	plan.Hold = time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := goRun(ctx, NewDevice(testConfig(f, r), plan))
	r.waitFor(t, event.Login, 1)
	f.conn(t, 0).push(driver.Push{Kind: driver.PushSigExpired})
	r.waitFor(t, event.Login, 2)
	cancel()
	wait(t, done)
	checkCalls(t, f, []string{"connect dev1", "login#0 alice t1", "login#0 alice t2", "close#0"})
	if n := len(r.of(event.SigExpired)); n != 1 {
		t.Errorf("%d sig expired events, want 1", n)
	}
	if got := outcomes(r, event.Login); !reflect.DeepEqual(got, []string{"alice:ok:0", "alice:ok:0"}) {
		t.Errorf("logins %v", got)
	}
}

func TestNoRetryOnOtherErrors(t *testing.T) {
	cases := []struct {
		name string
		res  driver.LoginResult
		err  error
	}{
		{"70003 ticket unparsable", driver.LoginResult{Code: 70003}, nil},
		{"70009 bad signature", driver.LoginResult{Code: 70009}, nil},
		{"70050 too many failures", driver.LoginResult{Code: 70050}, nil},
		{"70052 ticket invalidated", driver.LoginResult{Code: 70052}, nil},
		{"6017 invalid parameter", driver.LoginResult{Code: 6017}, nil},
		{"error frame with a code", driver.LoginResult{}, codedErr{6017}},
		{"transport error", driver.LoginResult{}, fmt.Errorf("fake: %w", driver.ErrClosed)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, r := newFake(), newRecorder()
			f.login = func(int, driver.LoginRequest) (driver.LoginResult, error) { return tc.res, tc.err }
			plan := basePlan()
			plan.Hold = time.Hour // giving up must not wait for the hold
			if err := run(t, testConfig(f, r), plan); err != nil {
				t.Fatal(err)
			}
			checkCalls(t, f, []string{"connect dev1", "login#0 alice t1", "close#0"})
			logins := r.of(event.Login)
			want := tc.res.Code + errorCode(tc.err)
			if len(logins) != 1 || logins[0].Outcome != event.Failed || logins[0].Code != want {
				t.Errorf("login events %+v, want one failed with code %d", logins, want)
			}
		})
	}
	t.Run("a misbehaving device retries", func(t *testing.T) {
		f, r := newFake(), newRecorder()
		f.login = func(int, driver.LoginRequest) (driver.LoginResult, error) {
			return driver.LoginResult{Code: 70003}, nil
		}
		plan := basePlan()
		plan.RetryAnyError = true
		if err := run(t, testConfig(f, r), plan); err != nil {
			t.Fatal(err)
		}
		if n := f.count("login"); n != 4 {
			t.Errorf("%d logins, want 1 + 3 retries", n)
		}
		m := r.of(event.Misbehaving)
		if len(m) != 3 || m[0].Code != 70003 || !strings.Contains(m[0].Note, "retry on any error") {
			t.Errorf("misbehaving events %+v", m)
		}
	})
}

// codedErr is an error that carries a target code, as an error frame does.
type codedErr struct{ code int }

func (e codedErr) Error() string  { return fmt.Sprintf("error frame %d", e.code) }
func (e codedErr) ErrorCode() int { return e.code }

func TestKickedOffline(t *testing.T) {
	for _, relogin := range []bool{true, false} {
		t.Run(fmt.Sprintf("relogin_after_kick=%v", relogin), func(t *testing.T) {
			f, r := newFake(), newRecorder()
			cfg := testConfig(f, r)
			cfg.ReloginAfterKick = relogin
			cfg.Book = NewLoginBook()
			plan := basePlan()
			plan.Hold, plan.Think = 300*time.Millisecond, 40*time.Millisecond
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			start := time.Now()
			done := goRun(ctx, NewDevice(cfg, plan))
			r.waitFor(t, event.Login, 1)
			// Another device's login 7 displaced this one 3ms ago.
			cfg.Book.Record("alice", 7, time.Now().Add(-3*time.Millisecond))
			f.conn(t, 0).push(driver.Push{Kind: driver.PushKicked, ByPlatform: policy.IPhone, ByInstance: "devX", BySeq: 7, Seq: 1})
			if err := wait(t, done); err != nil {
				t.Fatal(err)
			}
			k := r.of(event.Kicked)
			if len(k) != 1 || k[0].BySeq != 7 || k[0].ByPlatform != policy.IPhone || k[0].ByInstance != "devX" || k[0].Seq != 1 {
				t.Fatalf("kicked events %+v", k)
			}
			if k[0].Latency < 3*time.Millisecond || k[0].Latency > time.Second {
				t.Errorf("kick latency %v, want about 3ms", k[0].Latency)
			}
			if !relogin {
				checkCalls(t, f, []string{"connect dev1", "login#0 alice t1", "close#0"})
				if el := time.Since(start); el > plan.Hold {
					t.Errorf("a kicked device that does not log in again waited %v", el)
				}
				return
			}
			checkCalls(t, f, []string{"connect dev1", "login#0 alice t1", "close#0", "connect dev1", "login#1 alice t1", "logout#1", "close#1"})
			logins := r.of(event.Login)
			if gap := logins[1].Start.Sub(k[0].At); gap < plan.Think {
				t.Errorf("re-login %v after the kick, want at least the think time %v", gap, plan.Think)
			}
		})
	}
}

func TestStatusMachine(t *testing.T) {
	f, r := newFake(), newRecorder()
	f.gate = make(chan struct{})
	cfg := testConfig(f, r)
	cfg.Timeout = 5 * time.Second
	d := NewDevice(cfg, basePlan())
	ctx := context.Background()
	if err := d.Logout(ctx, time.Now()); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("logout while LOGOUT: %v", err)
	}
	if _, err := d.Login(ctx, "alice", time.Now()); !errors.Is(err, ErrNotConnected) {
		t.Errorf("login before connect: %v", err)
	}
	if err := d.Connect(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() {
		_, err := d.Login(ctx, "alice", time.Now())
		first <- err
	}()
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(time.Millisecond) {
		if st, _ := d.Status(); st == StatusLogining {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first login never reached LOGINING")
		}
	}
	_, err := d.Login(ctx, "alice", time.Now())
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 6015 || !errors.Is(err, ErrLoginInProgress) {
		t.Errorf("login while LOGINING: %v, want code 6015", err)
	}
	close(f.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if st, user := d.Status(); st != StatusLogined || user != "alice" {
		t.Errorf("status %v %q after login", st, user)
	}
	if _, err := d.Login(ctx, "alice", time.Now()); !errors.Is(err, ErrLoggedIn) {
		t.Errorf("login while LOGINED: %v", err)
	}
	if n := f.count("login"); n != 1 {
		t.Errorf("%d logins sent, want 1: refused calls send nothing", n)
	}
	d.Close()
}

func TestMisbehaving(t *testing.T) {
	t.Run("login storm", func(t *testing.T) {
		f, r := newFake(), newRecorder()
		f.loginDelay = 5 * time.Millisecond
		plan := basePlan()
		plan.Storm = 3
		if err := run(t, testConfig(f, r), plan); err != nil {
			t.Fatal(err)
		}
		if c, l := f.count("connect"), f.count("login"); c != 3 || l != 3 {
			t.Errorf("%d connects and %d logins, want 3 and 3", c, l)
		}
		if m := r.of(event.Misbehaving); len(m) != 1 || !strings.Contains(m[0].Note, "login storm") {
			t.Errorf("misbehaving events %+v", m)
		}
		// The two extra connections are dropped as app kills; the main one
		// logs out at the end of its hold.
		if k, lo := len(r.of(event.AppKill)), len(r.of(event.Logout)); k != 2 || lo != 1 {
			t.Errorf("%d app kills and %d logouts, want 2 and 1", k, lo)
		}
	})
	t.Run("login storm of one session", func(t *testing.T) {
		// Every login of the storm is answered with one session (the first
		// new, the rest repeat logins): the target may hold it on any of
		// the connections, so dropping an extra one is a disconnect of the
		// session, not an app kill that ends it.
		f, r := newFake(), newRecorder()
		f.loginDelay = 5 * time.Millisecond
		f.login = func(n int, req driver.LoginRequest) (driver.LoginResult, error) {
			return driver.LoginResult{Seq: 7, RepeatLogin: n > 0, ResumeToken: "tok"}, nil
		}
		plan := basePlan()
		plan.Storm = 3
		if err := run(t, testConfig(f, r), plan); err != nil {
			t.Fatal(err)
		}
		if k, dc := len(r.of(event.AppKill)), r.of(event.Disconnect); k != 0 || len(dc) != 2 || dc[0].Seq != 7 {
			t.Errorf("%d app kills and disconnects %+v, want none and 2 of seq 7", k, dc)
		}
	})
	t.Run("login while LOGINING", func(t *testing.T) {
		f, r := newFake(), newRecorder()
		f.loginDelay = 30 * time.Millisecond
		f.rejectConcurrent = true
		plan := basePlan()
		plan.LoginWhileLogining = true
		if err := run(t, testConfig(f, r), plan); err != nil {
			t.Fatal(err)
		}
		logins := r.of(event.Login)
		if len(logins) != 2 {
			t.Fatalf("logins %+v, want 2", logins)
		}
		// Both were pending at once, so the later one got 6015.
		a, b := logins[0], logins[1]
		if !a.Start.Before(b.At) || !b.Start.Before(a.At) {
			t.Errorf("the logins did not overlap: %+v", logins)
		}
		if (a.Code == 6015) == (b.Code == 6015) {
			t.Errorf("login codes %d and %d, want one 6015", a.Code, b.Code)
		}
		second := a
		if strings.HasPrefix(b.Note, "login while LOGINING") {
			second = b
		}
		m := r.of(event.Misbehaving)
		if !strings.HasPrefix(second.Note, "login while LOGINING") || len(m) != 1 || m[0].Code != second.Code || !strings.Contains(m[0].Note, "LOGINING") {
			t.Errorf("second login %+v, misbehaving events %+v", second, m)
		}
	})
}

func TestTimeoutsAndCounts(t *testing.T) {
	f, r := newFake(), newRecorder()
	f.hang["login"] = true
	cfg := testConfig(f, r)
	cfg.Timeout = 30 * time.Millisecond
	start := time.Now()
	if err := run(t, cfg, basePlan()); err != nil {
		t.Fatal(err)
	}
	// The bound is loose on purpose: a loaded 2-core machine can delay the
	// device by a second or more; a login that is never timed out hangs for
	// good and fails this (or wait's own deadline).
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("a hung login held the device %v", el)
	}
	logins := r.of(event.Login)
	if len(logins) != 1 || logins[0].Outcome != event.TimedOut {
		t.Fatalf("login events %+v, want one timed out", logins)
	}
	if l := logins[0].Latency; l < 30*time.Millisecond {
		t.Errorf("timed-out login latency %v, want at least the timeout", l)
	}
	if n := f.count("login"); n != 1 {
		t.Errorf("%d logins after a timeout, want no retry", n)
	}
}

func TestHeartbeatAndServerClose(t *testing.T) {
	f, r := newFake(), newRecorder()
	cfg := testConfig(f, r)
	cfg.Heartbeat = 15 * time.Millisecond
	plan := basePlan()
	plan.Hold = 500 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := goRun(ctx, NewDevice(cfg, plan))
	r.waitFor(t, event.Heartbeat, 2)
	f.conn(t, 0).push(driver.Push{Kind: driver.PushClosed, Reason: "idle"})
	r.waitFor(t, event.Resume, 1)
	r.waitFor(t, event.Heartbeat, 3)
	cancel()
	if err := wait(t, done); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if d := r.of(event.Disconnect); len(d) != 1 || d[0].Note != "idle" {
		t.Errorf("disconnects %+v", d)
	}
	if n := f.count("login"); n != 1 {
		t.Errorf("%d logins: a reconnect must resume, not log in", n)
	}
	for _, h := range r.of(event.Heartbeat) {
		if h.Outcome != event.OK {
			t.Errorf("heartbeat %+v", h)
		}
	}
}

func TestCancel(t *testing.T) {
	for _, logout := range []bool{false, true} {
		t.Run(fmt.Sprintf("logout_on_cancel=%v", logout), func(t *testing.T) {
			f, r := newFake(), newRecorder()
			cfg := testConfig(f, r)
			cfg.LogoutOnCancel = logout
			plan := basePlan()
			plan.Hold = time.Hour
			ctx, cancel := context.WithCancel(context.Background())
			done := goRun(ctx, NewDevice(cfg, plan))
			r.waitFor(t, event.Login, 1)
			at := time.Now()
			cancel()
			if err := wait(t, done); !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v", err)
			}
			if el := time.Since(at); el > 100*time.Millisecond {
				t.Errorf("Run returned %v after cancel", el)
			}
			if logout {
				checkCalls(t, f, []string{"connect dev1", "login#0 alice t1", "logout#0", "close#0"})
				return
			}
			checkCalls(t, f, []string{"connect dev1", "login#0 alice t1", "close#0"})
			// The run's end is not an app kill: the device was online at
			// the end.
			if k := r.of(event.OnlineAtEnd); len(k) != 1 || k[0].Note != "the run ended" || k[0].UserID != "alice" {
				t.Errorf("online at end %+v", k)
			}
			if k := r.of(event.AppKill); len(k) != 0 {
				t.Errorf("app kills %+v, want none at the run's end", k)
			}
		})
	}
}

func TestConnectFailure(t *testing.T) {
	f, r := newFake(), newRecorder()
	f.connectErr = errors.New("connection refused")
	if err := run(t, testConfig(f, r), basePlan()); err != nil {
		t.Fatal(err)
	}
	c := r.of(event.Connect)
	if len(c) != 1 || c[0].Outcome != event.Failed || f.count("login") != 0 {
		t.Errorf("connect events %+v, logins %d", c, f.count("login"))
	}
}

// A kick notice's latency runs from the displacement the push states (its
// server time), whether or not this run saw the displacing login's answer;
// a push stamped after its arrival (the target's clock ahead) gets none.
func TestKickLatencyFromThePushServerTime(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ago     time.Duration // server time of the push before now; negative: ahead
		lo, hi  time.Duration
		hasBook bool
	}{
		{name: "server time 5ms ago, no book", ago: 5 * time.Millisecond, lo: 5 * time.Millisecond, hi: time.Second},
		{name: "server time wins over the book", ago: 8 * time.Millisecond, lo: 8 * time.Millisecond, hi: time.Second, hasBook: true},
		{name: "clock ahead", ago: -time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, r := newFake(), newRecorder()
			cfg := testConfig(f, r)
			if tc.hasBook {
				cfg.Book = NewLoginBook()
			}
			plan := basePlan()
			plan.Hold = 300 * time.Millisecond
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := goRun(ctx, NewDevice(cfg, plan))
			r.waitFor(t, event.Login, 1)
			if tc.hasBook {
				cfg.Book.Record("alice", 7, time.Now().Add(-time.Millisecond)) // the login's answer, later than the kick
			}
			f.conn(t, 0).push(driver.Push{Kind: driver.PushKicked, ServerTime: time.Now().Add(-tc.ago), BySeq: 7, Seq: 1,
				ByPlatform: policy.IPhone, ByInstance: "devX"})
			if err := wait(t, done); err != nil {
				t.Fatal(err)
			}
			k := r.of(event.Kicked)
			if len(k) != 1 {
				t.Fatalf("kicked events %+v", k)
			}
			if l := k[0].Latency; l < tc.lo || l > tc.hi || (tc.hi == 0 && l != 0) {
				t.Errorf("kick latency %v, want in [%v, %v]", l, tc.lo, tc.hi)
			}
		})
	}
}

// TestKickOfAnUnansweredLogin: a device logged out of alice and sent a
// login for bob that got no answer, but the target processed it: a kick
// that then names another session than alice's ends bob's, and is bob's
// event; one naming alice's session stays alice's.
func TestKickOfAnUnansweredLogin(t *testing.T) {
	for _, tc := range []struct {
		seq  uint64
		want string
	}{{seq: 5, want: "bob"}, {seq: 1, want: "alice"}} {
		f, r := newFake(), newRecorder()
		cfg := testConfig(f, r)
		cfg.Timeout = 30 * time.Millisecond
		d := NewDevice(cfg, basePlan())
		ctx := context.Background()
		if err := d.Connect(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		if res, err := d.Login(ctx, "alice", time.Now()); err != nil || res.Seq != 1 {
			t.Fatalf("alice's login: %+v %v", res, err)
		}
		if err := d.Logout(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		f.mu.Lock()
		f.hang["login"] = true
		f.mu.Unlock()
		if _, err := d.Login(ctx, "bob", time.Now()); err == nil {
			t.Fatal("bob's login was answered")
		}
		f.conn(t, 0).push(driver.Push{Kind: driver.PushKicked, Seq: tc.seq, BySeq: 6, ByPlatform: policy.IPhone, ByInstance: "devX"})
		if !d.queuedKicks() {
			t.Fatal("the queued kick was not read")
		}
		k := r.of(event.Kicked)
		if len(k) != 1 || k[0].UserID != tc.want || k[0].Seq != tc.seq {
			t.Fatalf("kick naming seq %d: events %+v, want one of %s", tc.seq, k, tc.want)
		}
	}
}

// TestScriptsOnParkedConns plays the session tests again on connections
// that cannot announce their pushes: the session then waits between its
// steps on a goroutine parked on the pushes, the timer and ctx, and must
// behave the same.
func TestScriptsOnParkedConns(t *testing.T) {
	parkedConns = true
	defer func() { parkedConns = false }()
	for _, tc := range []struct {
		name string
		test func(*testing.T)
	}{
		{"PlainSession", TestPlainSession}, {"AccountSwitch", TestAccountSwitch}, {"NetworkFlap", TestNetworkFlap},
		{"SigExpiredPush", TestSigExpiredPush}, {"KickedOffline", TestKickedOffline}, {"Misbehaving", TestMisbehaving},
		{"HeartbeatAndServerClose", TestHeartbeatAndServerClose}, {"Cancel", TestCancel},
		{"KickLatencyFromThePushServerTime", TestKickLatencyFromThePushServerTime},
		{"ReconnectBacksOff", TestReconnectBacksOff}, {"HeartbeatFailureReconnects", TestHeartbeatFailureReconnects},
		{"RunEndCancelsOperations", TestRunEndCancelsOperations}, {"LogoutOvertakenByKick", TestLogoutOvertakenByKick},
		{"RunEndRecordsQueuedKick", TestRunEndRecordsQueuedKick}, {"CountsAddUp", TestCountsAddUp},
	} {
		t.Run(tc.name, tc.test)
	}
}
