package server

import (
	"container/heap"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imload/imload/clock"
)

// Service is the reference server's service model: how much work a login
// costs and how many sessions it holds. The zero value is off: logins cost
// nothing beyond their own work and sessions are unbounded. It exists so
// that a capacity search has a ground truth to be judged against.
type Service struct {
	// Workers is how many logins are served at once; LoginCost is how long
	// each one holds its worker. Workers/LoginCost logins per second is the
	// exact ceiling: each worker's completions are scheduled on its own
	// timeline (next free = max(now, free) + LoginCost), so a timer that
	// wakes late on a busy machine neither lowers the ceiling nor adds up.
	// LoginCost 0: off (Workers is then ignored).
	Workers   int
	LoginCost time.Duration
	// MaxSessions bounds the sessions the server holds (logged in, or
	// detached within their resume window); a new login beyond it is
	// refused with codes.ServerFull. 0: no bound.
	MaxSessions int
}

// Ceiling is the logins per second the service model serves at most (0:
// no login cost, no ceiling).
func (sv Service) Ceiling() float64 {
	if sv.LoginCost <= 0 || sv.Workers <= 0 {
		return 0
	}
	return float64(sv.Workers) / sv.LoginCost.Seconds()
}

func (sv Service) check() error {
	if sv.Workers < 0 || sv.LoginCost < 0 || sv.MaxSessions < 0 {
		return errors.New("server: Service.Workers, LoginCost and MaxSessions must be >= 0")
	}
	if sv.LoginCost > 0 && sv.Workers == 0 {
		return errors.New("server: Service.LoginCost needs Workers >= 1")
	}
	return nil
}

// workers is the login service model: a heap of workers by the time each
// is next free.
type workers struct {
	clk  clock.Clock
	cost time.Duration
	mu   sync.Mutex
	free freeHeap
}

func newWorkers(clk clock.Clock, sv Service) *workers {
	if sv.LoginCost <= 0 {
		return nil
	}
	w := &workers{clk: clk, cost: sv.LoginCost, free: make(freeHeap, sv.Workers)}
	now := clk.Now()
	for i := range w.free {
		w.free[i] = now
	}
	return w
}

// reserve books the worker that is free first and returns when its work
// for this login is done: the later of now and that worker's free time,
// plus the cost.
func (w *workers) reserve(now time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	start := w.free[0]
	if now.After(start) {
		start = now
	}
	done := start.Add(w.cost)
	w.free[0] = done
	heap.Fix(&w.free, 0)
	return done
}

// serve holds the caller until its login's work is done; nil-safe (no
// service model).
func (w *workers) serve() {
	if w == nil {
		return
	}
	done := w.reserve(w.clk.Now())
	if d := done.Sub(w.clk.Now()); d > 0 {
		<-w.clk.NewTimer(d).C()
	}
}

type freeHeap []time.Time

func (h freeHeap) Len() int           { return len(h) }
func (h freeHeap) Less(i, j int) bool { return h[i].Before(h[j]) }
func (h freeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *freeHeap) Push(x any)        { *h = append(*h, x.(time.Time)) }
func (h *freeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// slots bounds the sessions held (Service.MaxSessions); nil: no bound.
type slots struct {
	max  int64
	held atomic.Int64
}

func newSlots(max int) *slots {
	if max <= 0 {
		return nil
	}
	return &slots{max: int64(max)}
}

// take holds a place for a new session, or reports that the server is full.
func (s *slots) take() bool {
	if s == nil {
		return true
	}
	for {
		n := s.held.Load()
		if n >= s.max {
			return false
		}
		if s.held.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// hand holds a place for a new session that displaces others: their places
// are given back as they end, so the login is never refused for them.
func (s *slots) hand() {
	if s != nil {
		s.held.Add(1)
	}
}

// give returns the place of a session that ended.
func (s *slots) give() {
	if s != nil {
		s.held.Add(-1)
	}
}
