package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/codes"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/event"
)

// Status is the SDK's login status (V2TIMLoginStatus).
type Status uint8

const (
	StatusLogout   Status = iota // LOGOUT
	StatusLogining               // LOGINING: a login is in progress
	StatusLogined                // LOGINED
)

func (s Status) String() string {
	switch s {
	case StatusLogout:
		return "LOGOUT"
	case StatusLogining:
		return "LOGINING"
	case StatusLogined:
		return "LOGINED"
	}
	return "unknown"
}

// Errors of calls the status machine refuses; nothing is sent for them.
var (
	// ErrLoginInProgress: login while LOGINING (the SDK answers 6015).
	ErrLoginInProgress = errors.New("agent: a login is already in progress")
	// ErrLoggedIn: login while LOGINED as the same user.
	ErrLoggedIn = errors.New("agent: already logged in as this user")
	// ErrNotLoggedIn: logout while not LOGINED (the SDK answers 6014).
	ErrNotLoggedIn = errors.New("agent: not logged in")
	// ErrNotConnected: a call that needs a connection made before Connect.
	ErrNotConnected = errors.New("agent: not connected")
)

// StatusError is a call refused by the status machine.
type StatusError struct {
	Op     string
	UserID string
	Status Status
	Code   int // the SDK's code for it, 0 when it has none
	Err    error
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("agent: %s of %q refused in status %s (code %d): %v", e.Op, e.UserID, e.Status, e.Code, e.Err)
}

func (e *StatusError) Unwrap() error { return e.Err }

// Config is what every device of a run shares.
type Config struct {
	Driver   driver.Driver
	Tickets  Tickets
	Sink     event.Sink
	Clock    clock.Clock // nil: the wall clock
	SDKAppID uint64
	// Timeout bounds each operation (default 5s).
	Timeout time.Duration
	// ReloginAfterKick: log in again, after the think time, when kicked.
	ReloginAfterKick bool
	// Heartbeat is the interval of pings while online (0: none).
	Heartbeat time.Duration
	// LogoutOnCancel: when the run ends under a device, it logs out before
	// closing (default: it closes at once, like an app kill).
	LogoutOnCancel bool
	// Book, when set, lets a kicked device measure displacement → notice.
	Book *LoginBook
	// MaxRelogins bounds the logins after kicks and the reconnects after
	// drops in one session (default 16).
	MaxRelogins int
	// MaxRetries bounds the ticket refreshes of one login and the retries of
	// a retry-any-error device (default 3).
	MaxRetries int
	// Reconnect is the reconnect policy (nil: reconnect once, at once, and
	// take a "not now" answer as final).
	Reconnect *Reconnect
}

// DefaultTimeout bounds an operation when the scenario gives no timeout.
const DefaultTimeout = 5 * time.Second

func (c *Config) fill() {
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxRelogins <= 0 {
		c.MaxRelogins = 16
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = 3
	}
}

// Device is one simulated SDK instance. Run plays its plan; the other
// methods are the SDK calls it makes, for tests and custom scripts. Calls
// must come from one goroutine, except that Login may be called
// concurrently, which the status machine refuses as the SDK does.
type Device struct {
	cfg  Config
	plan Plan

	mu     sync.Mutex
	status Status
	user   string // logged-in (or logging-in) user

	// Owned by the goroutine that calls the device.
	conn       driver.Conn
	account    string // the account the app holds (survives kicks)
	ticketUser string
	ticket     string
	token      string
	seq        uint64
	// held is the user of the session the main connection carries, or
	// last carried: that of the last successful login on it. A kick on the
	// main connection names that session, whatever the device did after
	// it arrived (an account switch, say).
	held string
	// unanswered is the user of the main connection's last login when it
	// got no answer (timed out, or cut by the run's end): the target may
	// have processed it, so a kick that names another session than held's
	// names that one (see kickUser). Empty once a login is answered.
	unanswered string
	lastStart  time.Time // the last operation of the main connection
	lastAt     time.Time
	// heard is when the main connection last answered; a connection found
	// dead by a heartbeat without an answer may have carried nothing since
	// (a partition is silent), so its disconnect is dated from there
	// (event.Disconnect's Start).
	heard time.Time
	// deafSince, set just before a heartbeat failure is handled as a lost
	// connection, is the Start of its disconnect event.
	deafSince time.Time
	// rng draws the device's reconnect waits: seeded with (seed, index)
	// alone, apart from the plan's draws.
	rng *rand.Rand
	// until is when the session's hold ends (zero before it is online).
	until time.Time
}

// NewDevice makes a device that plays plan.
func NewDevice(cfg Config, plan Plan) *Device {
	cfg.fill()
	return &Device{cfg: cfg, plan: plan, account: plan.User,
		rng: rand.New(rand.NewPCG(uint64(plan.Seed)^retryStream, uint64(plan.Index)))}
}

// retryStream tells the device's generator of reconnect waits from the
// plan's, which has the same (seed, index).
const retryStream = 0x5eed_ba0c_0ff5_7a6e

// Plan returns the device's plan.
func (d *Device) Plan() Plan { return d.plan }

// Status returns the login status and the logged-in user ("" unless
// LOGINING or LOGINED).
func (d *Device) Status() (Status, string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status, d.user
}

func (d *Device) logined() bool {
	st, _ := d.Status()
	return st == StatusLogined
}

func (d *Device) setStatus(s Status, user string) {
	d.mu.Lock()
	d.status, d.user = s, user
	d.mu.Unlock()
}

func (d *Device) now() time.Time { return d.cfg.Clock.Now() }

// next is when an operation that follows the last one was meant to start:
// intended shifted by the last operation's duration, so lateness carries on
// down a chain of operations.
func (d *Device) next(intended time.Time) time.Time {
	return intended.Add(d.lastAt.Sub(d.lastStart))
}

func (d *Device) emit(e *event.Event) {
	e.Device = d.plan.Instance
	e.Platform = d.plan.Platform
	d.cfg.Sink.Observe(e)
}

// coded is an error that carries the target's code (e.g. an error frame).
type coded interface{ ErrorCode() int }

// errorCode returns the target's code carried by err, or 0.
func errorCode(err error) int {
	var c coded
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return 0
}

// opEvent builds the event of an operation that started at start and meant
// to start at intended. code is the target's answer when err is nil.
func (d *Device) opEvent(ctx context.Context, kind event.Kind, user string, intended, start time.Time, code int, err error) *event.Event {
	at := d.now()
	e := &event.Event{Kind: kind, UserID: user, Intended: intended, Start: start, At: at, Latency: at.Sub(intended), Code: code}
	switch {
	case err == nil && code == 0:
		e.Outcome = event.OK
	case err == nil:
		e.Outcome = event.Failed // the caller adds the target's message
	case errorCode(err) != 0:
		e.Outcome, e.Code, e.Note = event.Failed, errorCode(err), err.Error()
	case ctx.Err() != nil:
		// The run ended (or was interrupted) under the operation: not the
		// operation's own timeout, which is octx's, nor the target's doing.
		e.Outcome, e.Note = event.Cancelled, ReasonRunEnded
	case errors.Is(err, driver.ErrTimeout) || errors.Is(err, context.DeadlineExceeded):
		e.Outcome = event.TimedOut
	default:
		e.Outcome, e.Note = event.Failed, err.Error()
	}
	if err != nil {
		if e.Outcome == event.Cancelled {
			e.Reason = ReasonRunEnded
		} else {
			e.Reason = reasonOf(err.Error(), user, d.plan.Instance)
		}
	}
	return e
}

// ReasonRunEnded is the reason of an operation the run's end cut off.
const ReasonRunEnded = "canceled: the run ended"

// varying matches what differs between devices in the same error: source
// addresses of a dial ("127.0.0.5:40312->"), frame ids ("id 17").
var varying = regexp.MustCompile(`(?:\[[0-9a-fA-F:.]+\]|\d+\.\d+\.\d+\.\d+):\d+->| id \d+`)

// reasonOf is msg with the user, the instance and what varies between
// devices taken out, so that one cause counts as one reason. It runs for
// operations that did not succeed only.
func reasonOf(msg, user, instance string) string {
	if instance != "" {
		msg = strings.ReplaceAll(msg, instance, "<instance>")
	}
	if user != "" {
		msg = strings.ReplaceAll(msg, user, "<user>")
	}
	return varying.ReplaceAllString(msg, "")
}

// refusal sets the reason of an operation the target answered with code
// and message (no error).
func refusal(e *event.Event, message string) {
	if e.Outcome == event.Failed && e.Reason == "" {
		e.Reason = message
		if e.Reason == "" {
			e.Reason = codes.Text(e.Code)
		}
	}
}

// addNote puts note before what the event already says.
func addNote(e *event.Event, note string) {
	switch {
	case note == "":
	case e.Note == "":
		e.Note = note
	default:
		e.Note = note + ": " + e.Note
	}
}

// record emits the event of an operation on the main connection.
func (d *Device) record(e *event.Event) {
	d.lastStart, d.lastAt = e.Start, e.At
	if e.Outcome == event.OK || e.Outcome == event.Failed && e.Code != 0 {
		d.heard = e.At // the target answered
	}
	d.emit(e)
}

// Connect opens the device's connection (closing any previous one).
func (d *Device) Connect(ctx context.Context, intended time.Time) error {
	d.dropConn()
	c, err := d.connect(ctx, intended, "", d.record)
	if err != nil {
		return err
	}
	d.conn = c
	return nil
}

func (d *Device) connect(ctx context.Context, intended time.Time, note string, rec func(*event.Event)) (driver.Conn, error) {
	start := d.now()
	octx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	c, err := d.cfg.Driver.Connect(octx, driver.Device{SDKAppID: d.cfg.SDKAppID, Platform: d.plan.Platform, Instance: d.plan.Instance})
	cancel()
	e := d.opEvent(ctx, event.Connect, d.account, intended, start, 0, err)
	addNote(e, note)
	rec(e)
	if err != nil {
		return nil, fmt.Errorf("agent: %s connect: %w", d.plan.Instance, err)
	}
	return c, nil
}

// dropConn closes the connection without a logout, after recording the
// kicks it holds unread.
func (d *Device) dropConn() {
	if d.conn != nil {
		d.queuedKicks()
		d.conn.Close()
		d.conn = nil
	}
}

// queuedKicks records the kicks that reached the main connection while
// the device was busy (waiting on a login storm's extra connections, in an
// account switch's logout, or starved of CPU) and reports whether there
// were any. A kick counts from when it arrived (Push.At), not from when
// the device got round to it: the target told the device then. A kick
// ends the session, so the device is logged out afterwards. Other pushes
// queued behind are left: the caller is about to drop the connection or to
// log in on it again.
func (d *Device) queuedKicks() bool {
	kicked := false
	for d.conn != nil {
		select {
		case p, ok := <-d.conn.Pushes():
			if !ok {
				return kicked
			}
			if p.Kind != driver.PushKicked {
				continue
			}
			at := p.At
			if at.IsZero() {
				at = d.now()
			}
			d.emitKick(p, d.kickUser(p), at)
			d.setStatus(StatusLogout, "")
			kicked = true
		default:
			return kicked
		}
	}
	return kicked
}

// kickUser is the user whose session the kick p on the main connection
// ends: held's, unless a login of another user went unanswered since and
// the kick names another sequence than held's session (or, with no
// sequence, comes while the device holds no session): the target
// processed that login, and the kick ends its session.
func (d *Device) kickUser(p *driver.Push) string {
	u := d.unanswered
	if u == "" || u == d.held {
		return d.held
	}
	if p.Seq != 0 && p.Seq != d.seq || p.Seq == 0 && !d.logined() {
		return u
	}
	return d.held
}

// Close drops the connection at once (no logout) and sets LOGOUT.
func (d *Device) Close() {
	d.dropConn()
	d.setStatus(StatusLogout, "")
}

// ticketFor returns the cached ticket of user, or a new one when there is
// none or refresh is set.
func (d *Device) ticketFor(user string, refresh bool) (string, error) {
	if !refresh && d.ticketUser == user && d.ticket != "" {
		return d.ticket, nil
	}
	t, err := d.cfg.Tickets.Ticket(user, d.now())
	if err != nil {
		return "", err
	}
	d.ticketUser, d.ticket = user, t
	return t, nil
}

// loginCode is the target's code of a login, whether it came as a result or
// as an error.
func loginCode(res driver.LoginResult, err error) int {
	if err != nil {
		return errorCode(err)
	}
	return res.Code
}

// Login logs user in on the device's connection, as the SDK does: refused
// while LOGINING (6015) or while LOGINED as the same user; while LOGINED as
// another user it is an account switch, which logs that user out first.
func (d *Device) Login(ctx context.Context, user string, intended time.Time) (driver.LoginResult, error) {
	d.mu.Lock()
	st, cur := d.status, d.user
	switch {
	case st == StatusLogining:
		d.mu.Unlock()
		return driver.LoginResult{}, &StatusError{Op: "login", UserID: user, Status: st, Code: codes.InProgress, Err: ErrLoginInProgress}
	case st == StatusLogined && cur == user:
		d.mu.Unlock()
		return driver.LoginResult{}, &StatusError{Op: "login", UserID: user, Status: st, Err: ErrLoggedIn}
	}
	d.status, d.user = StatusLogining, user
	d.mu.Unlock()

	if d.conn == nil {
		d.setStatus(StatusLogout, "")
		return driver.LoginResult{}, &StatusError{Op: "login", UserID: user, Status: st, Err: ErrNotConnected}
	}
	if st == StatusLogined {
		// Account switch: one app instance holds one account.
		d.emit(&event.Event{Kind: event.SwitchUser, UserID: user, At: d.now(), Note: "from " + cur})
		d.logout(ctx, cur, intended, "implicit logout: account switch")
		intended = d.next(intended)
	}
	ticket, err := d.ticketFor(user, false)
	if err != nil {
		d.setStatus(StatusLogout, "")
		return driver.LoginResult{}, err
	}
	// A kick still queued names the session held so far: record it before
	// this login's answer makes the connection another session's.
	d.queuedKicks()
	d.setStatus(StatusLogining, user)
	res, err := d.rawLogin(ctx, d.conn, user, ticket, intended, "", d.record)
	d.unanswered = ""
	if err != nil && errorCode(err) == 0 {
		d.unanswered = user
	}
	if err == nil && res.Code == 0 {
		d.setStatus(StatusLogined, user)
		d.token, d.seq, d.held = res.ResumeToken, res.Seq, user
		if d.cfg.Book != nil && res.Seq != 0 && !res.ServerTime.IsZero() {
			d.cfg.Book.Record(user, res.Seq, res.ServerTime)
		}
	} else {
		d.setStatus(StatusLogout, "") // getLoginUser is empty after a failed login
	}
	return res, err
}

// rawLogin sends one login on c, bypassing the status machine, and emits its
// event with rec.
func (d *Device) rawLogin(ctx context.Context, c driver.Conn, user, ticket string, intended time.Time, note string, rec func(*event.Event)) (driver.LoginResult, error) {
	start := d.now()
	octx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	res, err := c.Login(octx, driver.LoginRequest{UserID: user, UserSig: ticket})
	cancel()
	e := d.opEvent(ctx, event.Login, user, intended, start, res.Code, err)
	if err == nil {
		refusal(e, res.Message)
		e.Seq, e.Repeat = res.Seq, res.RepeatLogin
		if res.Code == 0 {
			e.ServerTime = res.ServerTime
		}
	}
	addNote(e, note)
	rec(e)
	return res, err
}

// Logout logs the current user out; refused unless LOGINED (6014). The
// status is LOGOUT afterwards whatever the target answered.
func (d *Device) Logout(ctx context.Context, intended time.Time) error {
	d.mu.Lock()
	st, user := d.status, d.user
	d.mu.Unlock()
	if st != StatusLogined {
		return &StatusError{Op: "logout", UserID: user, Status: st, Code: codes.NotLoggedIn, Err: ErrNotLoggedIn}
	}
	err := d.logout(ctx, user, intended, "")
	d.setStatus(StatusLogout, "")
	return err
}

func (d *Device) logout(ctx context.Context, user string, intended time.Time, note string) error {
	if d.conn == nil {
		return ErrNotConnected
	}
	start := d.now()
	octx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	code, err := d.conn.Logout(octx)
	cancel()
	if errors.Is(err, driver.ErrKicked) && ctx.Err() == nil {
		// The target kicked the session before it took the logout (it
		// ignores what follows a kick): no logout happened there, and the
		// device, like the SDK after a kick, is logged out by the kick,
		// whose push (queued before the close that ended the call) it
		// records now. The logout is no operation of the target's, failed
		// or not.
		d.queuedKicks()
		return fmt.Errorf("agent: %s logout of %q: %w", d.plan.Instance, user, err)
	}
	if err == nil && code == codes.NotLoggedIn && ctx.Err() == nil && d.awaitKick(user) {
		// The same race one step earlier: the target displaced the
		// session while the logout was on its way, answered it 6014 and
		// then pushed the kick. The kick ended the session, not a logout.
		return nil
	}
	e := d.opEvent(ctx, event.Logout, user, intended, start, code, err)
	if err == nil {
		refusal(e, "")
	}
	addNote(e, note)
	d.record(e)
	if err != nil {
		return fmt.Errorf("agent: %s logout of %q: %w", d.plan.Instance, user, err)
	}
	return nil
}

// Resume re-attaches the session on the (new) connection with its token.
func (d *Device) Resume(ctx context.Context, intended time.Time) (driver.ResumeResult, error) {
	if d.conn == nil {
		return driver.ResumeResult{}, ErrNotConnected
	}
	start := d.now()
	octx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	res, err := d.conn.Resume(octx, d.token)
	cancel()
	e := d.opEvent(ctx, event.Resume, d.account, intended, start, res.Code, err)
	if err == nil {
		refusal(e, res.Message)
		e.Seq = res.Seq
	}
	d.record(e)
	return res, err
}

// ping sends a heartbeat; the error is the transport's.
func (d *Device) ping(ctx context.Context, intended time.Time) error {
	if d.conn == nil {
		return nil
	}
	start := d.now()
	octx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	err := d.conn.Ping(octx)
	cancel()
	d.record(d.opEvent(ctx, event.Heartbeat, d.account, intended, start, 0, err))
	return err
}
