package agent

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/event"
	"github.com/imload/imload/scenario"
)

// Reconnect is a device's reconnect policy (scenario.Reconnect, presets
// applied): the wait before each attempt to come back after a lost
// connection or a "not now" answer (codes.RetryLater). Which answers are
// retried and which need a new ticket stays the SDK's rule; only the waits
// are the policy's.
type Reconnect struct {
	Backoff   string // scenario.BackoffFixed, ...
	Base, Max time.Duration
	// Jitter spreads fixed and exponential waits by ±Jitter of the wait.
	Jitter float64
	// FirstHeartbeatJitter spreads a session's first heartbeat (see
	// scenario.Reconnect).
	FirstHeartbeatJitter float64
	// Attempts bounds the attempts of one outage (0: none).
	Attempts int
}

// ReconnectFrom converts the scenario's policy (nil: none).
func ReconnectFrom(r *scenario.Reconnect) *Reconnect {
	if r == nil {
		return nil
	}
	return &Reconnect{Backoff: r.Backoff, Base: r.Base.D(), Max: r.Max.D(), Jitter: r.Jitter,
		FirstHeartbeatJitter: r.FirstHeartbeatJitter, Attempts: r.Attempts}
}

// Delay is the wait before attempt n (from 0) of an outage, prev being the
// wait before attempt n-1 (0 for the first). Every random draw comes from
// r, the device's own generator, so the same seed gives every device the
// same schedule.
func (p *Reconnect) Delay(n int, prev time.Duration, r *rand.Rand) time.Duration {
	base, capd := p.Base, p.Max
	if base <= 0 {
		base = time.Second
	}
	if capd < base {
		capd = base
	}
	exp := func() time.Duration {
		d := base
		for i := 0; i < n && d < capd; i++ {
			d *= 2
		}
		return min(d, capd)
	}
	spread := func(d time.Duration) time.Duration {
		if p.Jitter <= 0 {
			return d
		}
		f := 1 - p.Jitter + 2*p.Jitter*r.Float64()
		return min(time.Duration(float64(d)*f), capd)
	}
	switch p.Backoff {
	case scenario.BackoffFixed:
		return spread(base)
	case scenario.BackoffFullJitter:
		return time.Duration(r.Float64() * float64(exp()))
	case scenario.BackoffDecorrelated:
		hi := 3 * max(prev, base)
		return min(capd, base+time.Duration(r.Float64()*float64(hi-base)))
	}
	return spread(exp())
}

// firstBeat is when the first heartbeat of a session that came online at
// online falls.
func (d *Device) firstBeat(online time.Time, hb time.Duration) time.Time {
	if p := d.cfg.Reconnect; p != nil && p.FirstHeartbeatJitter > 0 && hb > 0 {
		return online.Add(hb - time.Duration(p.FirstHeartbeatJitter*d.rng.Float64()*float64(hb)))
	}
	return online.Add(hb)
}

// outage is the state of one spell of attempts to come back.
type outage struct {
	n    int
	prev time.Duration
}

// wait sleeps the policy's next wait from from; false when the attempts
// are spent, the wait would end past until (zero: no bound) or ctx ended.
func (d *Device) wait(ctx context.Context, o *outage, from, until time.Time) (time.Time, bool) {
	p := d.cfg.Reconnect
	if p.Attempts > 0 && o.n >= p.Attempts {
		return time.Time{}, false
	}
	delay := p.Delay(o.n, o.prev, d.rng)
	o.n++
	o.prev = delay
	wake := from.Add(delay)
	if !until.IsZero() && !wake.Before(until) {
		return time.Time{}, false
	}
	return wake, d.sleepUntil(ctx, wake)
}

// transient reports whether err of a login or resume is a transport
// failure (the connection is gone or silent) or a "not now" answer: what a
// reconnect policy retries.
func transient(err error) bool {
	if err == nil {
		return false
	}
	if c := errorCode(err); c != 0 {
		return codes.RetryLater(c)
	}
	return errors.Is(err, driver.ErrClosed) || errors.Is(err, driver.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
}

// transientConnect reports whether a failed connect is retried: any
// failure but an answer that is not "not now" (a bad platform, a protocol
// version the target refuses).
func transientConnect(err error) bool {
	if c := errorCode(err); c != 0 {
		return codes.RetryLater(c)
	}
	return err != nil
}

// connectBackoff connects, retrying transient failures per the policy
// after waiting first (or at once, when wait is false); until bounds the
// attempts (zero: none).
func (d *Device) connectBackoff(ctx context.Context, o *outage, at, until time.Time, waitFirst bool) (time.Time, bool) {
	for {
		if waitFirst {
			var ok bool
			if at, ok = d.wait(ctx, o, at, until); !ok {
				return at, false
			}
		}
		waitFirst = true
		err := d.Connect(ctx, at)
		if err == nil {
			return d.next(at), true
		}
		if ctx.Err() != nil || !transientConnect(err) {
			return at, false
		}
		at = d.now()
	}
}

// reconnectPolicy comes back after a lost connection under the policy:
// wait, connect, resume (or log in anew when the session is gone), and
// again after each transient failure, until the session's hold ends.
func (d *Device) reconnectPolicy(ctx context.Context, lost, end time.Time, left *int) bool {
	o := &outage{}
	at := lost
	for {
		var ok bool
		if at, ok = d.connectBackoff(ctx, o, at, end, true); !ok {
			d.setStatus(StatusLogout, "")
			return false
		}
		if d.token == "" {
			d.setStatus(StatusLogout, "")
			return d.loginByRules(ctx, d.account, at)
		}
		res, err := d.Resume(ctx, at)
		code := res.Code
		if err != nil {
			code = errorCode(err)
		}
		if err == nil && code == 0 {
			return true
		}
		switch {
		case code == codes.KickedWhileOff:
			_, user := d.Status()
			d.setStatus(StatusLogout, "")
			d.emit(&event.Event{Kind: event.Kicked, UserID: user, At: d.now(), Seq: d.seq, Code: code, Note: "kicked while offline (resume answered 6208)"})
			d.dropConn()
			return d.afterKick(ctx, end, left)
		case code == codes.ResumeFailed:
			d.setStatus(StatusLogout, "")
			return d.loginByRules(ctx, d.account, d.next(at))
		case ctx.Err() == nil && (codes.RetryLater(code) || err != nil && code == 0):
			d.dropConn()
			at = d.now()
			continue
		}
		d.setStatus(StatusLogout, "")
		return false
	}
}
