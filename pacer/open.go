package pacer

import (
	"context"
	"math"
	"time"
)

// Linear is the open-model pacer: the rate goes linearly from From to To
// arrivals per second over Duration (From == To: constant). Arrival n
// (0-based) is due when the integral of the rate reaches n, so the first
// arrives at once and a phase of Duration has ⌈(From+To)/2 · Duration⌉
// arrivals.
type Linear struct {
	From, To float64 // arrivals per second
	Duration time.Duration
	count    int
}

// NewLinear returns the pacer of a linear ramp.
func NewLinear(from, to float64, d time.Duration) *Linear {
	l := &Linear{From: from, To: to, Duration: d}
	if h := (from + to) / 2 * d.Seconds(); h > 0 {
		// The small slack keeps 0.1·10 from counting as a little over 1.
		l.count = int(math.Ceil(h - 1e-9))
	}
	return l
}

// Count is the number of arrivals of the phase.
func (l *Linear) Count() int { return l.count }

// At returns when arrival n is due, from the start of the phase.
func (l *Linear) At(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	// Solve H(t) = a t² + b t = n for t, with a = (To-From)/(2D), b = From,
	// in the form that stays exact for a = 0 and stable for a < 0.
	a := (l.To - l.From) / (2 * l.Duration.Seconds())
	b := l.From
	disc := b*b + 4*a*float64(n)
	if disc < 0 {
		disc = 0
	}
	den := b + math.Sqrt(disc)
	if den <= 0 {
		return l.Duration
	}
	return time.Duration(math.Round(2 * float64(n) / den * 1e9))
}

// Pace implements Pacer.
func (l *Linear) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if hits >= uint64(l.count) {
		return 0, true
	}
	return l.At(int(hits)) - elapsed, false
}

// Rate implements Pacer.
func (l *Linear) Rate(elapsed time.Duration) float64 {
	if elapsed < 0 || elapsed >= l.Duration {
		return 0
	}
	return l.From + (l.To-l.From)*elapsed.Seconds()/l.Duration.Seconds()
}

// runOpen starts the arrivals of one open phase, each in its own goroutine.
// It returns when the last arrival has started (not ended), or with ctx's
// error.
func (r *runner) runOpen(ctx context.Context, phase int, offset time.Duration, p Pacer, base int) error {
	phaseStart := r.start.Add(offset)
	for hits := uint64(0); ; hits++ {
		elapsed := r.o.clock.Now().Sub(phaseStart)
		wait, stop := p.Pace(elapsed, hits)
		if stop {
			return nil
		}
		intended := phaseStart.Add(elapsed + wait)
		if err := sleepUntil(ctx, r.o.clock, intended); err != nil {
			return err
		}
		if err := r.acquire(ctx); err != nil {
			return err
		}
		if r.o.sendLag != nil {
			r.o.sendLag(r.o.clock.Now().Sub(intended))
		}
		a := &Arrival{Index: base + int(hits), Device: base + int(hits), Intended: intended, Phase: phase, Slot: int(hits)}
		r.wg.Add(1)
		go r.spawnOpen(ctx, a)
	}
}

// spawnOpen begins the session of one open arrival on the goroutine it was
// started on.
func (r *runner) spawnOpen(ctx context.Context, a *Arrival) {
	r.begin(ctx, a, r.openDone)
}
