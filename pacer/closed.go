package pacer

import (
	"context"
	"math"
	"time"
)

// block is a run of consecutive closed-model phases sharing device slots.
// In each phase the wanted number of devices goes linearly from Devices to
// ToDevices (ToDevices 0: constant); slot s is wanted while that level is at
// least s+1. A wanted slot runs sessions back to back. When the level drops
// below a slot, the slot finishes its current session and starts no other
// (graceful ramp-down: sessions are never cut before the run ends).
type block struct {
	tl          *Timeline
	first, last int
	slots       int
	base        int
}

// wanted returns the earliest offset from the run start, not before from,
// at which slot s is wanted, and the phase it falls in; ok is false when the
// slot is not wanted again before the block ends.
func (b *block) wanted(s int, from time.Duration) (at time.Duration, phase int, ok bool) {
	need := float64(s + 1)
	for i := b.first; i <= b.last; i++ {
		ph := b.tl.phases[i]
		start, d := b.tl.starts[i], ph.Duration.D()
		if from >= start+d {
			continue
		}
		lo := max(from, start) - start // offset within the phase
		x, y := float64(ph.Devices), float64(toDevices(ph))
		switch {
		case x == y:
			if x >= need {
				return start + lo, i, true
			}
		case y > x: // ramping up: wanted from the moment the level reaches need
			t := lo
			if x < need {
				t = max(lo, time.Duration(math.Ceil((need-x)/(y-x)*float64(d))))
			}
			if t < d {
				return start + t, i, true
			}
		default: // ramping down: wanted until the level falls below need
			if x >= need && lo <= time.Duration((x-need)/(x-y)*float64(d)) {
				return start + lo, i, true
			}
		}
	}
	return 0, 0, false
}

// runSlot starts session (and, as each ends, the next) of one device slot
// of a closed block. The goroutine it runs on ends once the session has
// begun: a session that parks without a goroutine holds none of the
// slot's, and the next session starts from a goroutine of its own.
func (r *runner) runSlot(ctx context.Context, b *block, slot, session int) {
	if session >= r.o.sessionCap {
		r.wg.Done()
		return
	}
	a := r.nextSession(ctx, b, slot, session)
	if a == nil {
		r.wg.Done()
		return
	}
	r.begin(ctx, a, func() {
		r.release()
		if ctx.Err() != nil {
			r.wg.Done()
			return
		}
		go r.runSlot(ctx, b, slot, session+1)
	})
}

// nextSession waits for session (of slot) to be due and for a place among
// the sessions in flight; nil when it is not wanted or ctx ended first.
//
//go:noinline
func (r *runner) nextSession(ctx context.Context, b *block, slot, session int) *Arrival {
	// The first session is due by the schedule, whenever this goroutine got
	// to run; later ones when the previous ended.
	from := b.tl.starts[b.first]
	if session > 0 {
		from = r.o.clock.Now().Sub(r.start)
	}
	at, phase, ok := b.wanted(slot, from)
	if !ok {
		return nil
	}
	intended := r.start.Add(at)
	if err := sleepUntil(ctx, r.o.clock, intended); err != nil {
		return nil
	}
	if err := r.acquire(ctx); err != nil {
		return nil
	}
	return &Arrival{
		Index:    b.base + session*b.slots + slot,
		Device:   b.base + slot,
		Intended: intended,
		Phase:    phase,
		Slot:     slot,
		Session:  session,
	}
}
