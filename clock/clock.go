// Package clock is the one time source that imload injects wherever time
// matters (ticket expiry, MAU calendars, heartbeats), so that tests can run
// simulated time without sleeping. It imports nothing of ours.
package clock

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells the time and makes timers.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives the time once d has passed.
	After(d time.Duration) <-chan time.Time
	// NewTimer makes a stoppable timer.
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f in its own goroutine once d has passed, unless
	// stopped first; the timer's C is nil.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is the part of *time.Timer that imload uses.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// Real is the wall clock.
type Real struct{}

func (Real) Now() time.Time                         { return time.Now() }
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (Real) NewTimer(d time.Duration) Timer         { return realTimer{time.NewTimer(d)} }
func (Real) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{time.AfterFunc(d, f)}
}

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

// Fake is a manual clock for tests: time moves only when Advance is called.
// Now reads without the lock (a copy of the time published at each move),
// as a simulated month reads it from every worker at every operation.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	pub     atomic.Pointer[time.Time] // a copy of now, for Now
	waiters []*fakeTimer
}

// NewFake returns a fake clock that starts at t.
func NewFake(t time.Time) *Fake {
	f := &Fake{now: t}
	f.publish()
	return f
}

// publish makes now visible to Now; f.mu is held (or f is new).
func (f *Fake) publish() {
	t := f.now
	f.pub.Store(&t)
}

func (f *Fake) Now() time.Time { return *f.pub.Load() }

func (f *Fake) After(d time.Duration) <-chan time.Time { return f.NewTimer(d).C() }

func (f *Fake) NewTimer(d time.Duration) Timer {
	return f.timer(d, &fakeTimer{f: f, c: make(chan time.Time, 1)})
}

// AfterFunc implements Clock: f runs in its own goroutine when an Advance
// passes the deadline (at once when d <= 0).
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	return f.timer(d, &fakeTimer{f: f, fn: fn})
}

func (f *Fake) timer(d time.Duration, t *fakeTimer) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t.at, t.active = f.now.Add(d), true
	if d <= 0 {
		t.fire(f.now)
		return t
	}
	t.queued = true
	f.waiters = append(f.waiters, t)
	return t
}

// Timers is the number of timers waiting to fire, so that a test can
// advance the clock only once what it means to wake is waiting on it.
func (f *Fake) Timers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, w := range f.waiters {
		if w.active {
			n++
		}
	}
	return n
}

// Advance moves the clock forward by d and fires every timer that is due, in
// order of their deadlines.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	f.publish()
	// Stopped timers leave the list first, so only live ones are sorted.
	live := f.waiters[:0]
	for _, w := range f.waiters {
		if w.active {
			live = append(live, w)
		} else {
			w.queued = false
		}
	}
	clear(f.waiters[len(live):])
	sort.SliceStable(live, func(i, j int) bool { return live[i].at.Before(live[j].at) })
	keep := live[:0]
	for _, w := range live {
		if !w.at.After(f.now) {
			w.fire(w.at)
			w.queued = false
			continue
		}
		keep = append(keep, w)
	}
	clear(live[len(keep):])
	f.waiters = keep
}

// Set moves the clock to t (never backwards) and fires due timers.
func (f *Fake) Set(t time.Time) {
	if d := t.Sub(f.Now()); d > 0 {
		f.Advance(d)
	}
}

type fakeTimer struct {
	f      *Fake
	c      chan time.Time // nil for AfterFunc's
	fn     func()
	at     time.Time
	active bool
	queued bool // in f.waiters (once: a stopped and reset timer is not added twice)
}

func (t *fakeTimer) fire(now time.Time) {
	t.active = false
	if t.fn != nil {
		go t.fn()
		return
	}
	select {
	case t.c <- now:
	default:
	}
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.active
	t.active = false
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.active
	t.at = t.f.now.Add(d)
	if d <= 0 {
		t.fire(t.f.now)
		return was
	}
	t.active = true
	if !t.queued {
		t.queued = true
		t.f.waiters = append(t.f.waiters, t)
	}
	return was
}
