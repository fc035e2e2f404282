package agent

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/codes"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/event"
)

// step is what the session loop waits for next.
type step uint8

const (
	stepEnd step = iota
	stepFlap
	stepSwitch
	stepBeat
)

// Run plays the device's plan once: connect and log in at intended (the
// arrival the pacer scheduled), stay online for the hold time while
// flapping, switching account and obeying pushes as planned, then log out or
// die. It returns nil when the script ends, including when the device gives
// up its session after an error the client rules do not retry. When ctx is
// done it closes the connection at once (logging out first only with
// Config.LogoutOnCancel; an OnlineAtEnd event otherwise) and returns
// ctx.Err(). Run leaves no goroutine behind.
func (d *Device) Run(ctx context.Context, intended time.Time) error {
	ended := make(chan error, 1)
	d.Start(ctx, intended, func(err error) { ended <- err })
	return <-ended
}

// Start is Run that returns once the session is online and waiting for its
// next step (or over): done is called once with Run's error when the
// session ends, from whichever goroutine ended it.
//
// Between its steps a session whose connection is a driver.PushNotifier
// holds no goroutine: a timer (the next planned step), the connection's
// pushes and ctx each start one to take the step, which ends when the
// session waits again. On any other connection the session waits on a
// goroutine parked on the pushes, the timer and ctx.
func (d *Device) Start(ctx context.Context, intended time.Time, done func(error)) {
	s := &session{d: d, ctx: ctx, done: done}
	s.state.Store(running)
	if !d.begin(ctx, intended) {
		s.err = d.stop(ctx)
		d.Close()
		done(s.err)
		return
	}
	s.start()
	s.poke = s.wake
	s.stopCtx = context.AfterFunc(ctx, s.poke)
	s.arm()
	s.run()
}

// The states of a session's goroutine-free wait.
const (
	parked  = iota // waiting; the next wake starts a goroutine
	running        // a goroutine is taking a step (or the session is over)
)

// wake is what the timer, the pushes and ctx call: a goroutine takes the
// step unless one is at it already (which then looks again before it
// parks).
func (s *session) wake() {
	s.woken.Store(true)
	if s.state.CompareAndSwap(parked, running) {
		go s.run()
	}
}

// run takes the steps that are due, then parks (returns) or ends the
// session; it holds s.state at running.
func (s *session) run() {
	for {
		s.woken.Store(false)
		if s.turn() {
			s.finish()
			return
		}
		if !s.notify {
			if !s.waitParked() {
				s.err = s.d.stop(s.ctx)
				s.finish()
				return
			}
			continue
		}
		s.state.Store(parked)
		if !s.woken.Load() || !s.state.CompareAndSwap(parked, running) {
			return
		}
	}
}

// turn takes what is due: the end of ctx, a push, or the planned step;
// true when the session is over (with s.err).
func (s *session) turn() bool {
	d := s.d
	if s.ctx.Err() != nil {
		s.disarm()
		s.err = d.stop(s.ctx)
		return true
	}
	var w wake
	if s.pending != nil {
		w, s.pending = *s.pending, nil
	} else if d.conn != nil {
		select {
		case w.p, w.ok = <-d.conn.Pushes():
			w.push = true
		default:
		}
	}
	if !w.push {
		if s.fired.Load() != s.gen && d.now().Before(s.w.at) {
			return false // not due yet (a timer stopped too late, or a push already taken)
		}
		w = s.w
	}
	s.disarm()
	ended, err := s.step(&w)
	if ended {
		s.err = err
		return true
	}
	s.arm()
	return false
}

// arm sets the timer of the next planned step and, on a new connection,
// asks it for word of its pushes (and looks at them once, for any that
// came before).
func (s *session) arm() {
	d := s.d
	next, what := s.next()
	s.w = wake{at: next, what: what}
	pn, ok := d.conn.(driver.PushNotifier)
	s.notify = ok || d.conn == nil
	if d.conn != s.watched {
		if old, ok := s.watched.(driver.PushNotifier); ok {
			old.NotifyPushes(nil)
		}
		s.watched = d.conn
		if ok {
			pn.NotifyPushes(s.poke)
			s.woken.Store(true)
		}
	}
	s.gen++
	if !s.notify {
		s.tm = d.cfg.Clock.NewTimer(next.Sub(d.now()))
		return
	}
	gen := s.gen
	s.tm = d.cfg.Clock.AfterFunc(next.Sub(d.now()), func() {
		s.fired.Store(gen)
		s.wake()
	})
}

// disarm stops the timer of the step waited for.
func (s *session) disarm() {
	if s.tm != nil {
		s.tm.Stop()
		s.tm = nil
	}
}

// waitParked is the wait on a connection that cannot notify: the goroutine
// parks on ctx, the pushes and the timer; false when ctx is done. A push
// taken here is handed to the next turn.
//
//go:noinline
func (s *session) waitParked() bool {
	var pushes <-chan *driver.Push
	if s.d.conn != nil {
		pushes = s.d.conn.Pushes()
	}
	select {
	case <-s.ctx.Done():
		s.disarm()
		return false
	case p, ok := <-pushes:
		s.disarm()
		s.pending = &wake{push: true, p: p, ok: ok}
	case <-s.tm.C():
		s.fired.Store(s.gen)
	}
	return true
}

// finish ends the session: no more wakes, the connection closed, done told.
func (s *session) finish() {
	s.disarm()
	if s.stopCtx != nil {
		s.stopCtx()
	}
	if pn, ok := s.watched.(driver.PushNotifier); ok {
		pn.NotifyPushes(nil)
	}
	s.watched = nil
	s.d.Close()
	s.done(s.err)
}

// session is the state of Run's loop between its steps.
type session struct {
	d   *Device
	ctx context.Context
	end time.Time
	// The planned steps still to come.
	flapAt, switchAt           time.Time
	flapPending, switchPending bool
	hb                         time.Duration
	beat                       time.Time
	left                       int // logins after kicks and reconnects after drops
	// freeAt is when the device last came back from something that kept it
	// busy (a kick and its think, a push, a flap): a step that fell due
	// meanwhile was meant to start then, not at its planned time, so the
	// device's own pauses do not show as the target's latency.
	freeAt time.Time
	w      wake  // the planned step waited for
	err    error // Run's error, once the session has ended
	done   func(error)

	// The wait between steps. state is parked or running; woken says a wake
	// came since the running goroutine last looked. gen numbers the armed
	// timers, fired is the number of the last that fired (a timer stopped
	// after it fired does not count). watched is the connection asked for
	// word of its pushes (notify: it can give it, so no goroutine waits).
	state   atomic.Uint32
	woken   atomic.Bool
	gen     uint64
	fired   atomic.Uint64
	tm      clock.Timer
	notify  bool
	watched driver.Conn
	poke    func() // s.wake, made once
	stopCtx func() bool
	pending *wake // a push waitParked took, for the next turn
}

// wake is what ended one wait of the loop: a push, or the step due at at.
type wake struct {
	push, ok bool
	p        *driver.Push
	at       time.Time
	what     step
}

// start sets the plan's steps from the moment the device came online.
func (s *session) start() {
	d := s.d
	online := d.now()
	s.end = online.Add(d.plan.Hold)
	d.until = s.end
	s.flapAt, s.flapPending = online.Add(d.plan.FlapAt), d.plan.Flap
	s.switchAt, s.switchPending = online.Add(d.plan.SwitchAt), d.plan.Switch
	s.hb = d.cfg.Heartbeat
	s.beat = d.firstBeat(online, s.hb)
	s.left = d.cfg.MaxRelogins
	s.freeAt = online
}

// next is the next planned step and when it is due.
func (s *session) next() (time.Time, step) {
	next, what := s.end, stepEnd
	if s.flapPending && s.flapAt.Before(next) {
		next, what = s.flapAt, stepFlap
	}
	if s.switchPending && s.switchAt.Before(next) {
		next, what = s.switchAt, stepSwitch
	}
	if s.hb > 0 && s.beat.Before(next) {
		next, what = s.beat, stepBeat
	}
	return next, what
}

// step acts on one wake; ended says the session is over, with Run's error.
func (s *session) step(w *wake) (ended bool, err error) {
	d, ctx := s.d, s.ctx
	if w.push {
		if !d.onPush(ctx, w.p, w.ok, s.end, &s.left) {
			return true, d.stop(ctx)
		}
		s.freeAt = d.now()
		return false, nil
	}
	// A push that came meanwhile goes first: a kicked or dropped device
	// does not ping or log out on its dead connection.
	if d.conn != nil {
		select {
		case p, ok := <-d.conn.Pushes():
			if !d.onPush(ctx, p, ok, s.end, &s.left) {
				return true, d.stop(ctx)
			}
			s.freeAt = d.now()
			return false, nil
		default:
		}
	}
	at := w.at
	if at.Before(s.freeAt) {
		at = s.freeAt
	}
	switch w.what {
	case stepEnd:
		d.leave(ctx, at)
		return true, nil
	case stepFlap:
		s.flapPending = false
		if !d.flap(ctx, at, s.end, &s.left) {
			return true, d.stop(ctx)
		}
		s.freeAt = d.now()
	case stepSwitch:
		s.switchPending = false
		d.account = d.plan.SwitchTo
		if !d.loginByRules(ctx, d.account, at) {
			return true, d.stop(ctx)
		}
		s.freeAt = d.now()
	case stepBeat:
		if err := d.ping(ctx, s.beat); err != nil && d.cfg.Reconnect != nil && ctx.Err() == nil {
			// The SDK takes a heartbeat without an answer as a lost
			// connection (a partition shows only so). Nothing may have
			// reached the device since the connection last answered.
			d.deafSince = d.heard
			if !d.onPush(ctx, &driver.Push{Kind: driver.PushClosed, At: d.now(), Reason: "heartbeat failed: " + err.Error()}, true, s.end, &s.left) {
				return true, d.stop(ctx)
			}
			s.freeAt = d.now()
			s.beat = d.firstBeat(s.freeAt, s.hb)
			return false, nil
		}
		s.beat = s.beat.Add(s.hb)
		if now := d.now(); s.beat.Before(now) {
			s.beat = now.Add(s.hb)
		}
	}
	return false, nil
}

// stop ends a session early: at once when ctx is done (with an OnlineAtEnd,
// or a logout under LogoutOnCancel, if still online), else quietly because
// the device gave up (what it saw is already recorded).
func (d *Device) stop(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	d.queuedKicks() // a kick that came before the end ended the session
	if st, user := d.Status(); st == StatusLogined && d.conn != nil {
		if d.cfg.LogoutOnCancel {
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.Timeout)
			d.logout(lctx, user, d.now(), "the run ended")
			cancel()
		} else {
			d.emit(&event.Event{Kind: event.OnlineAtEnd, UserID: user, At: d.now(), Note: "the run ended"})
		}
	}
	d.Close()
	return ctx.Err()
}

// begin connects and logs in the planned user, misbehaving as planned.
func (d *Device) begin(ctx context.Context, intended time.Time) bool {
	d.account = d.plan.User
	if d.plan.Storm > 1 {
		return d.loginStorm(ctx, intended)
	}
	if d.cfg.Reconnect != nil && !d.plan.LoginWhileLogining {
		at, ok := d.connectBackoff(ctx, &outage{}, intended, time.Time{}, false)
		if !ok {
			return false
		}
		return d.loginByRules(ctx, d.account, at)
	}
	if err := d.Connect(ctx, intended); err != nil {
		return false
	}
	intended = d.next(intended)
	if d.plan.LoginWhileLogining {
		return d.loginWhileLogining(ctx, intended)
	}
	return d.loginByRules(ctx, d.account, intended)
}

// loginByRules logs user in and applies the client rules to the answer: a
// ticket expiry (70001, 6206) gets a new ticket and one more login; any other
// failure ends the attempt, unless the plan misbehaves by retrying.
func (d *Device) loginByRules(ctx context.Context, user string, intended time.Time) bool {
	refreshes, retries := 0, 0
	var later *outage // "not now" answers under the reconnect policy
	for {
		res, err := d.Login(ctx, user, intended)
		code := loginCode(res, err)
		if err == nil && code == 0 {
			return true
		}
		var se *StatusError
		if errors.As(err, &se) || ctx.Err() != nil {
			return false
		}
		intended = d.next(intended)
		switch {
		case (code == codes.SigExpired || code == codes.ClientSigExpired) && refreshes < d.cfg.MaxRetries:
			refreshes++
			if _, err := d.ticketFor(user, true); err != nil {
				return false
			}
		case d.cfg.Reconnect != nil && transient(err) || d.cfg.Reconnect != nil && err == nil && codes.RetryLater(code):
			// "Not now", or no answer: back off per the policy, then log in
			// again, on a new connection when this one is gone or silent.
			if later == nil {
				later = &outage{}
			}
			wake, ok := d.wait(ctx, later, d.now(), d.until)
			if !ok {
				return false
			}
			if errorCode(err) == 0 && err != nil || code == codes.ServerClosed {
				if wake, ok = d.connectBackoff(ctx, later, wake, d.until, false); !ok {
					return false
				}
			}
			intended = wake
		case d.plan.RetryAnyError && retries < d.cfg.MaxRetries:
			retries++
			d.emit(&event.Event{Kind: event.Misbehaving, UserID: user, At: d.now(), Code: code,
				Note: fmt.Sprintf("retry on any error: login again after code %d", code)})
			if errors.Is(err, driver.ErrClosed) {
				if d.Connect(ctx, intended) != nil {
					return false
				}
				intended = d.next(intended)
			}
		default:
			return false // the SDK rule: no new login after any other error
		}
	}
}

// onPush obeys one push while online (ok false: the channel was closed);
// false ends the session.
func (d *Device) onPush(ctx context.Context, p *driver.Push, ok bool, end time.Time, left *int) bool {
	if !ok {
		p = &driver.Push{Kind: driver.PushClosed, Reason: "pushes closed"}
	}
	_, user := d.Status()
	at := p.At
	if at.IsZero() {
		at = d.now()
	}
	switch p.Kind {
	case driver.PushKicked:
		d.emitKick(p, d.kickUser(p), at)
		d.Close()
		return d.afterKick(ctx, end, left)
	case driver.PushSigExpired:
		d.emit(&event.Event{Kind: event.SigExpired, UserID: user, At: at, Seq: d.seq, Code: p.Code, Note: p.Reason})
		d.setStatus(StatusLogout, "")
		if _, err := d.ticketFor(d.account, true); err != nil {
			return false
		}
		if d.conn == nil && d.Connect(ctx, at) != nil {
			return false
		}
		return d.loginByRules(ctx, d.account, at)
	case driver.PushClosed:
		e := &event.Event{Kind: event.Disconnect, UserID: user, At: at, Code: p.Code, Note: p.Reason}
		if since := d.deafSince; !since.IsZero() && since.Before(at) {
			e.Start = since // deaf from then: kicks sent since may never have come
		}
		d.deafSince = time.Time{}
		d.emit(e)
		d.dropConn()
		if *left <= 0 {
			d.setStatus(StatusLogout, "")
			return false
		}
		*left--
		return d.reconnect(ctx, at, end, left) // the SDK reconnects by itself
	}
	return true // a push this device does not know
}

// emitKick records the kick p of user's session, noticed at at.
func (d *Device) emitKick(p *driver.Push, user string, at time.Time) {
	e := &event.Event{Kind: event.Kicked, UserID: user, At: at, Seq: p.Seq, Code: p.Code,
		BySeq: p.BySeq, ByPlatform: p.ByPlatform, ByInstance: p.ByInstance, Note: p.Reason}
	if e.Seq == 0 {
		e.Seq = d.seq
	}
	// Kick latency: from the displacement at the target (the push's
	// server time, else the displacing login's, when this run saw its
	// answer already) to this notice. A notice stamped before it (the
	// target's clock ahead) gets none: the oracle counts it early.
	disp := p.ServerTime
	if disp.IsZero() && d.cfg.Book != nil && p.BySeq != 0 {
		disp, _ = d.cfg.Book.ServerTime(user, p.BySeq)
	}
	if !disp.IsZero() && !at.Before(disp) {
		e.Latency = max(at.Sub(disp), time.Nanosecond)
	}
	d.emit(e)
}

// awaitKick waits, at most the operation timeout, for the connection's next
// push after a logout answered 6014: true when it is a kick (recorded), false
// when the connection ended or another push came (the 6014 stands).
func (d *Device) awaitKick(user string) bool {
	if d.conn == nil {
		return false
	}
	tm := d.cfg.Clock.NewTimer(d.cfg.Timeout)
	defer tm.Stop()
	select {
	case p, ok := <-d.conn.Pushes():
		if !ok || p.Kind != driver.PushKicked {
			return false
		}
		at := p.At
		if at.IsZero() {
			at = d.now()
		}
		d.emitKick(p, user, at)
		return true
	case <-tm.C():
		return false
	}
}

// afterKick logs in again after the think time when the scenario says so,
// and while the session's hold lasts.
func (d *Device) afterKick(ctx context.Context, end time.Time, left *int) bool {
	if !d.cfg.ReloginAfterKick || *left <= 0 {
		return false
	}
	*left--
	wake := d.now().Add(d.plan.Think)
	if !wake.Before(end) || !d.sleepUntil(ctx, wake) {
		return false
	}
	if d.cfg.Reconnect != nil {
		// Under a policy the connect is retried like any comeback (the
		// target may be down or out of reach).
		at, ok := d.connectBackoff(ctx, &outage{}, wake, end, false)
		if !ok {
			return false
		}
		return d.loginByRules(ctx, d.account, at)
	}
	if d.Connect(ctx, wake) != nil {
		return false
	}
	return d.loginByRules(ctx, d.account, d.next(wake))
}

// flap drops the network at at, waits FlapDown, and reconnects.
func (d *Device) flap(ctx context.Context, at, end time.Time, left *int) bool {
	if d.queuedKicks() { // kicked before the network went
		d.Close()
		return d.afterKick(ctx, end, left)
	}
	_, user := d.Status()
	d.emit(&event.Event{Kind: event.Disconnect, UserID: user, At: d.now(), Note: "network flap"})
	d.dropConn()
	back := at.Add(d.plan.FlapDown)
	if !d.sleepUntil(ctx, back) {
		return false
	}
	return d.reconnect(ctx, back, end, left)
}

// reconnect opens a new connection and resumes the session with its token
// (no new login). A session displaced meanwhile (6208) is treated as a kick;
// a session the target no longer knows (1006), or a target that gave no
// token, gets a fresh login.
func (d *Device) reconnect(ctx context.Context, intended, end time.Time, left *int) bool {
	if d.cfg.Reconnect != nil {
		return d.reconnectPolicy(ctx, intended, end, left)
	}
	if d.Connect(ctx, intended) != nil {
		d.setStatus(StatusLogout, "")
		return false
	}
	intended = d.next(intended)
	if d.token == "" {
		d.setStatus(StatusLogout, "")
		return d.loginByRules(ctx, d.account, intended)
	}
	res, err := d.Resume(ctx, intended)
	code := res.Code
	if err != nil {
		code = errorCode(err)
	}
	if err == nil && code == 0 {
		return true
	}
	_, user := d.Status()
	d.setStatus(StatusLogout, "")
	switch code {
	case codes.KickedWhileOff:
		d.emit(&event.Event{Kind: event.Kicked, UserID: user, At: d.now(), Seq: d.seq, Code: code, Note: "kicked while offline (resume answered 6208)"})
		d.dropConn()
		return d.afterKick(ctx, end, left)
	case codes.ResumeFailed:
		return d.loginByRules(ctx, d.account, d.next(intended))
	}
	return false
}

// leave ends the session as planned: a logout, or an app kill.
func (d *Device) leave(ctx context.Context, at time.Time) {
	d.queuedKicks() // one that came since the device last looked ended the session
	st, user := d.Status()
	if st != StatusLogined {
		return
	}
	if d.plan.Leave == LeaveLogout {
		d.Logout(ctx, at)
		return
	}
	d.emit(&event.Event{Kind: event.AppKill, UserID: user, At: d.now()})
	d.Close()
}

// sleepUntil waits on the device's clock; false when ctx ended first.
func (d *Device) sleepUntil(ctx context.Context, t time.Time) bool {
	if ctx.Err() != nil {
		return false
	}
	wait := t.Sub(d.now())
	if wait <= 0 {
		return true
	}
	tm := d.cfg.Clock.NewTimer(wait)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C():
		return true
	}
}
