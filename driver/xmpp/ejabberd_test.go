package xmpp

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imload/imload/check"
	"github.com/imload/imload/codes"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// The tests in this file need a real ejabberd: scripts/test starts one with
// scripts/ejabberd/start and sets IMLOAD_EJABBERD_URL and
// IMLOAD_EJABBERD_MAX_SESSIONS. Without it they are skipped, except in CI
// (CI=true), where a missing ejabberd is a failure.

// ejabberd returns the server's URL and its max_user_sessions.
func ejabberd(t *testing.T) (string, int) {
	t.Helper()
	url := os.Getenv("IMLOAD_EJABBERD_URL")
	if url == "" {
		why := os.Getenv("IMLOAD_EJABBERD_UNAVAILABLE")
		if why == "" {
			why = "IMLOAD_EJABBERD_URL is not set"
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("ejabberd is required in CI and is not available: %s (scripts/test installs and starts it with scripts/ejabberd/start)", why)
		}
		t.Skipf("ejabberd is not available: %s; run scripts/ejabberd/start and set IMLOAD_EJABBERD_URL to the URL it prints (scripts/test does both)", why)
	}
	max := 3
	if s := os.Getenv("IMLOAD_EJABBERD_MAX_SESSIONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("IMLOAD_EJABBERD_MAX_SESSIONS=%q: want the server's max_user_sessions, a number >= 1", s)
		}
		max = n
	}
	return url, max
}

// runTag makes user names unique per test run, so runs against one server
// never share users.
func runTag() string {
	return strconv.FormatInt(time.Now().UnixNano()%1e12, 36)
}

var platforms = []policy.Platform{policy.Android, policy.IPhone, policy.Web, policy.Windows, policy.Mac, policy.Linux, policy.IPad}

// journal records what devices did and saw as events, into the oracle's
// history, and keeps them for the failure message.
type journal struct {
	h  *check.History
	mu sync.Mutex
	ev []*event.Event
}

func newJournal() *journal { return &journal{h: check.NewHistory()} }

func (j *journal) Observe(e *event.Event) {
	j.h.Observe(e)
	j.mu.Lock()
	j.ev = append(j.ev, e)
	j.mu.Unlock()
}

func (j *journal) String() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var b strings.Builder
	for _, e := range j.ev {
		fmt.Fprintf(&b, "%s %-7s %s %s %s %s\n", e.At.Format("15:04:05.000000"), e.Kind, e.Outcome, e.UserID, e.Device, e.Note)
	}
	return b.String()
}

// device drives one Conn at a time for one simulated device and reports
// events as the agent would.
type device struct {
	t     *testing.T
	d     *Driver
	j     *journal
	id    string
	plat  policy.Platform
	conn  *Conn
	user  string
	kicks chan struct{} // one value per kick
	// deaf: the device has given this connection up without the server
	// knowing (a half-open connection); its kicks are not the device's.
	deaf atomic.Bool
	wg   sync.WaitGroup
}

func newDevice(t *testing.T, d *Driver, j *journal, id string, plat policy.Platform) *device {
	dv := &device{t: t, d: d, j: j, id: id, plat: plat, kicks: make(chan struct{}, 16)}
	t.Cleanup(dv.close)
	return dv
}

func (dv *device) emit(e *event.Event) {
	e.Device, e.Platform = dv.id, dv.plat
	dv.j.Observe(e)
}

// login connects when needed and logs user in; it returns the login code.
func (dv *device) login(ctx context.Context, user string) (int, error) {
	if dv.conn == nil {
		c, err := dv.d.Dial(ctx, driver.Device{Platform: dv.plat, Instance: dv.id})
		if err != nil {
			return 0, err
		}
		dv.conn = c
		dv.wg.Add(1)
		go dv.watch(c, user)
	}
	pw, err := PasswordTickets{Secret: []byte("imload-test")}.Ticket(user, time.Time{})
	if err != nil {
		return 0, err
	}
	start := time.Now()
	res, err := dv.conn.Login(ctx, driver.LoginRequest{UserID: user, UserSig: pw})
	e := &event.Event{Kind: event.Login, UserID: user, Intended: start, Start: start, At: time.Now(), Code: res.Code, Outcome: event.OK}
	if err != nil || res.Code != 0 {
		e.Outcome, e.Note = event.Failed, fmt.Sprint(res.Message, err)
	}
	dv.emit(e)
	dv.user = user
	return res.Code, err
}

// watch turns the Conn's kicks into Kicked events.
func (dv *device) watch(c *Conn, user string) {
	defer dv.wg.Done()
	for p := range c.Pushes() {
		if p.Kind == driver.PushKicked {
			if !dv.deaf.Load() {
				dv.emit(&event.Event{Kind: event.Kicked, UserID: user, At: p.At, Note: p.Reason})
			}
			dv.kicks <- struct{}{}
		}
	}
}

func (dv *device) logout(ctx context.Context) error {
	start := time.Now()
	code, err := dv.conn.Logout(ctx)
	e := &event.Event{Kind: event.Logout, UserID: dv.user, Intended: start, Start: start, At: time.Now(), Code: code, Outcome: event.OK}
	if err != nil || code != 0 {
		e.Outcome = event.Failed
	}
	dv.emit(e)
	return err
}

// dropConn forgets a kicked connection; the next login dials again.
func (dv *device) dropConn() {
	if dv.conn != nil {
		dv.conn.Close()
		dv.wg.Wait()
		dv.conn = nil
	}
}

func (dv *device) close() { dv.dropConn() }

// kickedWithin reports whether the device was kicked within d (0: by now).
func (dv *device) kickedWithin(d time.Duration) bool {
	if d <= 0 {
		select {
		case <-dv.kicks:
			return true
		default:
			return false
		}
	}
	select {
	case <-dv.kicks:
		return true
	case <-time.After(d):
		return false
	}
}

// lateAfter and grace are the oracle's LateAfter and Grace in these tests:
// ejabberd's kicks arrive within milliseconds on loopback.
const (
	lateAfter = 250 * time.Millisecond
	grace     = 250 * time.Millisecond
)

// settle waits until every login's kicks are due, so that the oracle judges
// missing kicks up to the last login.
func settle() { time.Sleep(lateAfter + 50*time.Millisecond) }

// judge runs the oracle over j with ejabberd's policy at max sessions.
func judge(t *testing.T, j *journal, max int) *check.Report {
	pol, err := policy.Lookup("ejabberd", max, 0)
	if err != nil {
		t.Fatal(err)
	}
	return check.Check(j.h, pol, check.Options{AnonymousKicks: true, LateAfter: lateAfter, Grace: grace, End: time.Now(), SearchBudget: 5 * time.Second})
}

func reportText(r *check.Report) string {
	var b strings.Builder
	_ = r.WriteText(&b)
	return b.String()
}

// TestEjabberdSessionCap logs one user in on more devices than
// max_user_sessions allows, one after another: each login beyond the cap
// kicks the oldest session with <conflict/>; a login with the resource of
// an online device replaces it and, the replaced session still counting,
// kicks the oldest too; a logout makes room. The oracle finds no violation
// under ejabberd's policy with the server's cap, and finds some under a cap
// one higher or one lower.
func TestEjabberdSessionCap(t *testing.T) {
	url, max := ejabberd(t)
	d, err := New(Config{URL: url, Register: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j := newJournal()
	user := "cap" + runTag()
	devs := make([]*device, max+2)
	for i := range devs {
		devs[i] = newDevice(t, d, j, fmt.Sprintf("dev%d", i), platforms[i%len(platforms)])
	}
	for i, dv := range devs {
		if code, err := dv.login(ctx, user); err != nil || code != 0 {
			t.Fatalf("login %d: code %d, %v", i, code, err)
		}
		if i < max {
			continue
		}
		victim := devs[i-max]
		if !victim.kickedWithin(3 * time.Second) {
			t.Fatalf("login %d of %s (max_user_sessions %d) kicked nobody; %s should have got <conflict/>\n%s", i+1, user, max, victim.id, j)
		}
		victim.dropConn()
	}
	// The newest device loses its connection without the server noticing
	// (its app is killed, the socket stays half open) and logs in again: the
	// new session, with the same resource, replaces the old one, and at the
	// cap the oldest session goes too (ejabberd counts the replaced session
	// until it has left).
	last := devs[len(devs)-1]
	last.deaf.Store(true)
	last.emit(&event.Event{Kind: event.AppKill, UserID: user, At: time.Now(), Note: "half-open: the server still holds the session"})
	again := newDevice(t, d, j, last.id, last.plat)
	if code, err := again.login(ctx, user); err != nil || code != 0 {
		t.Fatalf("login with the resource of an online session: code %d, %v", code, err)
	}
	if !last.kickedWithin(3 * time.Second) {
		t.Fatalf("a login with resource %s did not replace the online session\n%s", DefaultResource(driver.Device{Platform: last.plat, Instance: last.id}), j)
	}
	last.dropConn()
	kicks := 2 // the replaced session's kick went to a device that had given it up
	if max >= 2 {
		oldest := devs[2]
		if !oldest.kickedWithin(3 * time.Second) {
			t.Fatalf("a resource conflict at max_user_sessions %d did not kick the oldest session %s\n%s", max, oldest.id, j)
		}
		oldest.dropConn()
		kicks++
	}
	// A logout makes room: the next new device kicks nobody.
	if err := again.logout(ctx); err != nil {
		t.Fatal(err)
	}
	extra := newDevice(t, d, j, "extra", policy.Linux)
	if code, err := extra.login(ctx, user); err != nil || code != 0 {
		t.Fatalf("login after a logout: code %d, %v", code, err)
	}
	settle()
	for _, dv := range append(devs, again) {
		if dv.conn != nil && dv.kickedWithin(0) {
			t.Fatalf("%s was kicked although a logout had made room\n%s", dv.id, j)
		}
	}

	if r := judge(t, j, max); r.Violations() != 0 || r.Checks.Kicks != int64(kicks) {
		t.Errorf("oracle under ejabberd %d (the server's cap): %d violations over %d kicks, want 0 over %d\n%s\n%s",
			max, r.Violations(), r.Checks.Kicks, kicks, reportText(r), j)
	}
	if r := judge(t, j, max+1); r.Violations() == 0 {
		t.Errorf("oracle under ejabberd %d (one above the server's cap) found no violation\n%s", max+1, reportText(r))
	}
	if max > 1 {
		if r := judge(t, j, max-1); r.Violations() == 0 {
			t.Errorf("oracle under ejabberd %d (one below the server's cap) found no violation\n%s", max-1, reportText(r))
		}
	}
}

// TestEjabberdChurn lets several users' devices log in, hold, log out and
// get kicked concurrently; the oracle's order search must explain every
// kick under the server's cap and fail to under a wrong one. One user's
// logins go one at a time with a pause after each (logouts and kicks still
// race with them): two logins while a kicked session is still leaving make
// ejabberd 23.01 leave the user over its cap (see
// TestEjabberdConcurrentLoginsAtCap), which this test is not about.
func TestEjabberdChurn(t *testing.T) {
	url, max := ejabberd(t)
	d, err := New(Config{URL: url, Register: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	j := newJournal()
	tag := runTag()
	const users, rounds = 6, 4
	perUser := max + 2
	var wg sync.WaitGroup
	for u := range users {
		user := fmt.Sprintf("churn%s_%d", tag, u)
		var logins sync.Mutex // one login of the user at a time
		for k := range perUser {
			dv := newDevice(t, d, j, fmt.Sprintf("u%dd%d", u, k), platforms[k%len(platforms)])
			rng := rand.New(rand.NewPCG(uint64(u), uint64(k)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(k*40+rng.IntN(20)) * time.Millisecond)
				for range rounds {
					logins.Lock()
					code, err := dv.login(ctx, user)
					time.Sleep(15 * time.Millisecond) // a kicked session leaves
					logins.Unlock()
					if err != nil || code != 0 {
						t.Errorf("%s login: code %d, %v", dv.id, code, err)
						return
					}
					hold := time.Duration(20+rng.IntN(120)) * time.Millisecond
					if dv.kickedWithin(hold) {
						dv.dropConn()
					} else if err := dv.logout(ctx); err != nil {
						t.Errorf("%s logout: %v", dv.id, err)
						return
					}
					time.Sleep(time.Duration(5+rng.IntN(30)) * time.Millisecond)
				}
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	settle()
	r := judge(t, j, max)
	if r.Violations() != 0 || r.Count(check.Undecided) != 0 {
		t.Errorf("oracle under ejabberd %d: %d violations, %d undecided users\n%s", max, r.Violations(), r.Count(check.Undecided), reportText(r))
	}
	if r.Checks.Kicks == 0 {
		t.Fatalf("no kicks in %d logins; the churn did not reach max_user_sessions %d", r.Checks.Logins, max)
	}
	t.Logf("%d logins, %d kicks by <conflict/>, judged in search mode", r.Checks.Logins, r.Checks.Kicks)
	if w := judge(t, j, max+1); w.Violations() == 0 {
		t.Errorf("oracle under ejabberd %d (one above the server's cap) found no violation over %d kicks\n%s", max+1, w.Checks.Kicks, reportText(w))
	}
}

// TestEjabberdAccounts: registration, a wrong password, PLAIN, ping and an
// account switch on one Conn.
func TestEjabberdAccounts(t *testing.T) {
	url, _ := ejabberd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tag := runTag()
	pw := func(u string) string {
		p, _ := PasswordTickets{Secret: []byte("imload-test")}.Ticket(u, time.Time{})
		return p
	}

	noReg, err := New(Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	c, err := noReg.Dial(ctx, driver.Device{Platform: policy.Web, Instance: "w"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	alice, bob := "acct"+tag+"_a", "acct"+tag+"_b"
	if res, err := c.Login(ctx, driver.LoginRequest{UserID: alice, UserSig: pw(alice)}); err != nil || res.Code != codes.SigBadSignature {
		t.Fatalf("login of an unregistered user without Register: %+v, %v; want %d", res, err, codes.SigBadSignature)
	}

	reg, err := New(Config{URL: url, Register: true, Mechanisms: []string{MechPlain}})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := reg.Dial(ctx, driver.Device{Platform: policy.Web, Instance: "w2"})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if res, err := c2.Login(ctx, driver.LoginRequest{UserID: alice, UserSig: "not-" + pw(alice)}); err != nil || res.Code != 0 {
		t.Fatalf("registration and PLAIN login: %+v, %v", res, err)
	}
	if err := c2.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if _, err := c2.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	// The same password again works; another one is refused even with
	// Register, because the user exists.
	if res, err := c2.Login(ctx, driver.LoginRequest{UserID: alice, UserSig: pw(alice)}); err != nil || res.Code != codes.SigBadSignature || !strings.Contains(res.Message, "exists") {
		t.Fatalf("login with another password: %+v, %v; want %d saying the user exists", res, err, codes.SigBadSignature)
	}
	// An account switch: bob (registered now) on the same Conn, SCRAM by
	// default.
	if res, err := c.Login(ctx, driver.LoginRequest{UserID: bob, UserSig: pw(bob)}); err != nil || res.Code != codes.SigBadSignature {
		t.Fatalf("bob before registration: %+v, %v", res, err)
	}
	c3, err := reg.Dial(ctx, driver.Device{Platform: policy.Android, Instance: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	for _, u := range []string{bob, alice} {
		if res, err := c3.Login(ctx, driver.LoginRequest{UserID: u, UserSig: map[string]string{bob: pw(bob), alice: "not-" + pw(alice)}[u]}); err != nil || res.Code != 0 {
			t.Fatalf("login %s: %+v, %v", u, res, err)
		}
		if !strings.HasPrefix(c3.JID(), strings.ToLower(u)+"@") {
			t.Errorf("JID %q after logging in %s", c3.JID(), u)
		}
		if _, err := c3.Logout(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestEjabberdConcurrentLoginsAtCap: a user holds max_user_sessions
// sessions and two more logins arrive at once. A server that enforces its
// cap kicks the two oldest sessions. ejabberd 23.01 often kicks only one:
// each login's check counts the sessions before the oldest one, already
// told to go, has left, so both pick the same victim and the user stays
// one over its cap. Whatever the server does in a round, the oracle must
// say so: no violation when two sessions were kicked, a violation when one
// was.
func TestEjabberdConcurrentLoginsAtCap(t *testing.T) {
	url, max := ejabberd(t)
	d, err := New(Config{URL: url, Register: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const rounds = 6
	tag := runTag()
	var overCap int
	for round := range rounds {
		j := newJournal()
		user := fmt.Sprintf("pair%s_%d", tag, round)
		devs := make([]*device, max+2)
		for i := range devs {
			devs[i] = newDevice(t, d, j, fmt.Sprintf("dev%d", i), platforms[i%len(platforms)])
		}
		for _, dv := range devs[:max] {
			if code, err := dv.login(ctx, user); err != nil || code != 0 {
				t.Fatalf("round %d: login: code %d, %v", round, code, err)
			}
		}
		var wg sync.WaitGroup
		for _, dv := range devs[max:] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if code, err := dv.login(ctx, user); err != nil || code != 0 {
					t.Errorf("round %d: concurrent login: code %d, %v", round, code, err)
				}
			}()
		}
		wg.Wait()
		settle()
		time.Sleep(grace) // an over-limit lasts past the grace
		kicked := 0
		for _, dv := range devs {
			if dv.kickedWithin(0) {
				kicked++
			}
		}
		r := judge(t, j, max)
		switch {
		case kicked == 2 && r.Violations() != 0:
			t.Errorf("round %d: the server kicked the two oldest sessions, the oracle reports %d violations\n%s\n%s", round, r.Violations(), reportText(r), j)
		case kicked == 1 && r.Violations() == 0:
			t.Errorf("round %d: the server kicked one session and left %s with %d sessions, the oracle reports nothing\n%s", round, user, max+1, j)
		case kicked == 1:
			overCap++
		case kicked != 2:
			t.Errorf("round %d: %d sessions kicked by two logins at the cap of %d\n%s", round, kicked, max, j)
		}
		for _, dv := range devs {
			dv.close()
		}
	}
	t.Logf("ejabberd left the user over max_user_sessions in %d of %d rounds; the oracle reported each", overCap, rounds)
}
