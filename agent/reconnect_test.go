package agent

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/event"
	"github.com/imload/imload/scenario"
)

func TestDelayShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	exp := &Reconnect{Backoff: scenario.BackoffExponential, Base: time.Second, Max: 60 * time.Second}
	var got []time.Duration
	for n := range 8 {
		got = append(got, exp.Delay(n, 0, r))
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60}
	for i := range want {
		want[i] *= time.Second
	}
	if !slices.Equal(got, want) {
		t.Errorf("exponential without jitter: %v, want %v", got, want)
	}
	hive := &Reconnect{Backoff: scenario.BackoffExponential, Base: time.Second, Max: 2 * time.Minute, Jitter: 0.25}
	full := &Reconnect{Backoff: scenario.BackoffFullJitter, Base: time.Second, Max: time.Minute}
	dec := &Reconnect{Backoff: scenario.BackoffDecorrelated, Base: time.Second, Max: time.Minute}
	fixed := &Reconnect{Backoff: scenario.BackoffFixed, Base: time.Second, Max: time.Minute, Jitter: 0.5}
	spreadFull, prev := false, time.Duration(0)
	for i := range 2000 {
		n := i % 6
		e := time.Second << n
		if d := hive.Delay(n, 0, r); d < e*3/4 || d > e*5/4 {
			t.Fatalf("hivemq attempt %d: %v outside ±25%% of %v", n, d, e)
		}
		d := full.Delay(n, 0, r)
		if d < 0 || d > e {
			t.Fatalf("full jitter attempt %d: %v outside [0, %v]", n, d, e)
		}
		spreadFull = spreadFull || d < e/2
		dd := dec.Delay(n, prev, r)
		if dd < time.Second || dd > min(time.Minute, 3*max(prev, time.Second)) {
			t.Fatalf("decorrelated after %v: %v", prev, dd)
		}
		prev = dd
		if f := fixed.Delay(n, 0, r); f < time.Second/2 || f > 3*time.Second/2 {
			t.Fatalf("fixed ±50%%: %v", f)
		}
	}
	if !spreadFull {
		t.Error("full jitter never drew below half the exponential wait")
	}
}

// The same (seed, index) gives a device the same waits; another index
// other ones.
func TestSameSeedSameSchedule(t *testing.T) {
	pol := ReconnectFrom(&scenario.Reconnect{Backoff: scenario.BackoffFullJitter, Base: scenario.Duration(time.Second), Max: scenario.Duration(time.Minute)})
	waits := func(seed int64, index int) []time.Duration {
		d := NewDevice(Config{Reconnect: pol}, Plan{Seed: seed, Index: index})
		var out []time.Duration
		for n := range 10 {
			out = append(out, pol.Delay(n, 0, d.rng))
		}
		return out
	}
	a, b := waits(7, 3), waits(7, 3)
	if !slices.Equal(a, b) {
		t.Errorf("same seed and index, other waits:\n%v\n%v", a, b)
	}
	if c := waits(7, 4); slices.Equal(a, c) {
		t.Error("devices 3 and 4 drew the same waits")
	}
	if c := waits(8, 3); slices.Equal(a, c) {
		t.Error("seeds 7 and 8 drew the same waits")
	}
}

// flakyDriver fails the connects whose numbers (from 0) fail names.
type flakyDriver struct {
	*fakeDriver
	mu   sync.Mutex
	n    int
	fail map[int]error
}

func (f *flakyDriver) Connect(ctx context.Context, dev driver.Device) (driver.Conn, error) {
	f.mu.Lock()
	n := f.n
	f.n++
	err := f.fail[n]
	f.mu.Unlock()
	if err != nil {
		f.record("connect-failed " + dev.Instance)
		return nil, err
	}
	return f.fakeDriver.Connect(ctx, dev)
}

// After a drop a device under a policy waits, retries failed connects with
// growing waits, and resumes; without one it tries once and gives up.
func TestReconnectBacksOff(t *testing.T) {
	for _, withPolicy := range []bool{true, false} {
		fake, r := newFake(), newRecorder()
		f := &flakyDriver{fakeDriver: fake, fail: map[int]error{1: driver.ErrClosed, 2: driver.ErrClosed}}
		cfg := testConfig(fake, r)
		cfg.Driver = f
		base := 20 * time.Millisecond
		if withPolicy {
			cfg.Reconnect = &Reconnect{Backoff: scenario.BackoffExponential, Base: base, Max: time.Second}
		}
		plan := basePlan()
		plan.Hold = 2 * time.Second
		ctx, cancel := context.WithCancel(context.Background())
		done := goRun(ctx, NewDevice(cfg, plan))
		r.waitFor(t, event.Login, 1)
		fake.conn(t, 0).push(driver.Push{Kind: driver.PushClosed, Reason: "server restart"})
		if !withPolicy {
			if err := wait(t, done); err != nil {
				t.Fatal(err)
			}
			cancel()
			if n := len(r.of(event.Connect)); n != 2 {
				t.Errorf("without a policy: %d connects, want 2 (the first and one retry)", n)
			}
			continue
		}
		r.waitFor(t, event.Resume, 1)
		cancel()
		wait(t, done)
		cs := r.of(event.Connect)
		if len(cs) != 4 || cs[1].Outcome != event.Failed || cs[2].Outcome != event.Failed || cs[3].Outcome != event.OK {
			t.Fatalf("connects %v, want ok, failed, failed, ok", outcomes(r, event.Connect))
		}
		drop := r.of(event.Disconnect)[0].At
		// Waits of 20ms, 40ms, 80ms before the attempts: lower bounds only.
		if g := cs[1].Start.Sub(drop); g < base {
			t.Errorf("first attempt %v after the drop, want >= %v", g, base)
		}
		if g := cs[2].Start.Sub(cs[1].At); g < 2*base {
			t.Errorf("second attempt %v after the first, want >= %v", g, 2*base)
		}
		if g := cs[3].Start.Sub(cs[2].At); g < 4*base {
			t.Errorf("third attempt %v after the second, want >= %v", g, 4*base)
		}
		if res := r.of(event.Resume); res[0].Outcome != event.OK || len(r.of(event.Login)) != 1 {
			t.Errorf("want one resume ok and no new login: resumes %v logins %v", outcomes(r, event.Resume), outcomes(r, event.Login))
		}
	}
}

// "Not now" answers are retried after the policy's wait; without a policy
// the SDK rule holds: no new login.
func TestRetryLaterLogin(t *testing.T) {
	for _, code := range []int{codes.LoginTooFrequent, codes.LoginBucketBusy} {
		for _, withPolicy := range []bool{true, false} {
			f, r := newFake(), newRecorder()
			f.login = func(n int, _ driver.LoginRequest) (driver.LoginResult, error) {
				if n < 2 {
					return driver.LoginResult{Code: code}, nil
				}
				return driver.LoginResult{}, nil
			}
			cfg := testConfig(f, r)
			if withPolicy {
				cfg.Reconnect = &Reconnect{Backoff: scenario.BackoffFixed, Base: 15 * time.Millisecond, Max: time.Second}
			}
			if err := run(t, cfg, basePlan()); err != nil {
				t.Fatal(err)
			}
			ls := r.of(event.Login)
			switch {
			case withPolicy && (len(ls) != 3 || ls[2].Outcome != event.OK):
				t.Errorf("%d with a policy: logins %v, want two refusals then ok", code, outcomes(r, event.Login))
			case withPolicy && ls[1].Start.Sub(ls[0].At) < 15*time.Millisecond:
				t.Errorf("%d: retried %v after the refusal, want >= 15ms", code, ls[1].Start.Sub(ls[0].At))
			case !withPolicy && len(ls) != 1:
				t.Errorf("%d without a policy: logins %v, want one", code, outcomes(r, event.Login))
			}
			if withPolicy && f.count("connect") != 1 {
				t.Errorf("%d: %d connects, want the login retried on its connection", code, f.count("connect"))
			}
		}
	}
}

// A heartbeat without an answer is a lost connection under a policy: the
// device reconnects and resumes.
func TestHeartbeatFailureReconnects(t *testing.T) {
	f, r := newFake(), newRecorder()
	cfg := testConfig(f, r)
	cfg.Timeout = 30 * time.Millisecond
	cfg.Heartbeat = 20 * time.Millisecond
	cfg.Reconnect = &Reconnect{Backoff: scenario.BackoffFixed, Base: 5 * time.Millisecond, Max: time.Second}
	plan := basePlan()
	plan.Hold = 5 * time.Second
	f.hang["ping"] = true
	ctx, cancel := context.WithCancel(context.Background())
	done := goRun(ctx, NewDevice(cfg, plan))
	r.waitFor(t, event.Resume, 1)
	cancel()
	if err := wait(t, done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	ds := r.of(event.Disconnect)
	if len(ds) == 0 || len(r.of(event.Connect)) < 2 {
		t.Fatalf("disconnects %+v connects %v: want the failed heartbeat taken as a drop", ds, outcomes(r, event.Connect))
	}
}

// The first heartbeat of a session is spread under first_heartbeat_jitter.
func TestFirstHeartbeatJitter(t *testing.T) {
	online := time.Unix(1000, 0)
	d := NewDevice(Config{Reconnect: &Reconnect{FirstHeartbeatJitter: 1}}, Plan{Seed: 1, Index: 1})
	plain := NewDevice(Config{}, Plan{Seed: 1, Index: 1})
	seen := map[time.Duration]bool{}
	for range 50 {
		at := d.firstBeat(online, 10*time.Second).Sub(online)
		if at <= 0 || at > 10*time.Second {
			t.Fatalf("first beat after %v, want in (0, 10s]", at)
		}
		seen[at] = true
		if p := plain.firstBeat(online, 10*time.Second).Sub(online); p != 10*time.Second {
			t.Fatalf("without jitter the first beat comes after %v", p)
		}
	}
	if len(seen) < 40 {
		t.Errorf("only %d distinct first beats in 50", len(seen))
	}
}

type failingTickets struct{}

func (failingTickets) Ticket(string, time.Time) (string, error) {
	return "", errors.New("app server down")
}

// A ticket the app cannot make is no transport failure: the policy does
// not retry it.
func TestTicketFailureNotRetried(t *testing.T) {
	f, r := newFake(), newRecorder()
	cfg := testConfig(f, r)
	cfg.Tickets = failingTickets{}
	cfg.Reconnect = &Reconnect{Backoff: scenario.BackoffFixed, Base: time.Millisecond, Max: time.Second}
	if err := run(t, cfg, basePlan()); err != nil {
		t.Fatal(err)
	}
	if n := f.count("connect"); n != 1 || len(r.of(event.Login)) != 0 {
		t.Errorf("%d connects, %d logins: want one connect and no login", n, len(r.of(event.Login)))
	}
}

// A device kicked while its network was down logs in again after its think
// time, retrying the connect under its policy while the target is out of
// reach (it gave up at the first failure before).
func TestReloginAfterKickRetriesConnect(t *testing.T) {
	fake, r := newFake(), newRecorder()
	f := &flakyDriver{fakeDriver: fake, fail: map[int]error{2: driver.ErrClosed, 3: driver.ErrClosed}}
	fake.resume = func(string) (driver.ResumeResult, error) { return driver.ResumeResult{Code: codes.KickedWhileOff}, nil }
	cfg := testConfig(fake, r)
	cfg.Driver = f
	cfg.Reconnect = &Reconnect{Backoff: scenario.BackoffFixed, Base: 5 * time.Millisecond, Max: time.Second}
	plan := basePlan()
	plan.Hold, plan.Think = 5*time.Second, 5*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := goRun(ctx, NewDevice(cfg, plan))
	r.waitFor(t, event.Login, 1)
	fake.conn(t, 0).push(driver.Push{Kind: driver.PushClosed, Reason: "network"})
	r.waitFor(t, event.Login, 2)
	cancel()
	wait(t, done)
	if ls := r.of(event.Login); ls[1].Outcome != event.OK {
		t.Errorf("logins %v, want the second ok", outcomes(r, event.Login))
	}
	if n := len(r.of(event.Connect)); n != 5 {
		t.Errorf("%d connects, want 5 (login, resume, two failed, the relogin)", n)
	}
}
