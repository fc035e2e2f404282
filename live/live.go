// Package live is the run's live view: a few running totals kept from the
// devices' events (lock-free) and shown while the run goes on, as progress
// bars on a terminal or a status line every few seconds otherwise.
package live

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/imload/imload/event"
	"github.com/imload/imload/scenario"
)

// View keeps the few running totals the live view shows. It is an
// event.Sink; Observe is lock-free.
type View struct {
	loginsOK  atomic.Int64
	loginsBad atomic.Int64
	errors    atomic.Int64
	online    atomic.Int64
	kicks     atomic.Int64
	devices   atomic.Int64
	// set by begin, before any reader
	start  time.Time
	phases []scenario.Phase
}

// Observe counts one event.
func (l *View) Observe(e *event.Event) {
	switch e.Kind {
	case event.Login:
		switch e.Outcome {
		case event.OK:
			l.loginsOK.Add(1)
			if !e.Repeat {
				l.online.Add(1)
			}
		case event.Cancelled: // cut off by the run's end: neither
		default:
			l.loginsBad.Add(1)
		}
	case event.Logout:
		if e.Outcome == event.OK {
			l.online.Add(-1)
		}
	case event.Kicked:
		l.kicks.Add(1)
		l.online.Add(-1)
	case event.AppKill, event.OnlineAtEnd:
		l.online.Add(-1)
	}
	if e.Kind.IsOp() && e.Outcome != event.OK && e.Outcome != event.Cancelled {
		l.errors.Add(1)
	}
}

// DeviceStarted and DeviceEnded track devices alive.
func (l *View) DeviceStarted() { l.devices.Add(1) }
func (l *View) DeviceEnded()   { l.devices.Add(-1) }

// Devices returns the device sessions running now.
func (l *View) Devices() int64 { return l.devices.Load() }

// Online returns the instances logged in now (never below 0): logins ok
// (not repeats) minus logouts, kicks and app kills.
func (l *View) Online() int64 { return max(l.online.Load(), 0) }

// Begin sets the run's start and phases; call it before Show.
func (l *View) Begin(start time.Time, phases []scenario.Phase) {
	l.start, l.phases = start, phases
}

// phaseAt returns the phase running at now and how long it has run.
func (l *View) phaseAt(now time.Time) (int, time.Duration) {
	el := now.Sub(l.start)
	for i, ph := range l.phases {
		if el < ph.Duration.D() || i == len(l.phases)-1 {
			return i, el
		}
		el -= ph.Duration.D()
	}
	return 0, el
}

func (l *View) status(prevOK int64, dt time.Duration) (string, int64) {
	ok := l.loginsOK.Load()
	rate := 0.0
	if dt > 0 {
		rate = float64(ok-prevOK) / dt.Seconds()
	}
	online := l.Online()
	return fmt.Sprintf("devices %d  online ~%d  logins %d (%.0f/s)  failed %d  errors %d  kicks %d",
		l.devices.Load(), online, ok, rate, l.loginsBad.Load(), l.errors.Load(), l.kicks.Load()), ok
}

// Show renders progress until ctx ends: mpb bars (one per phase) on a
// terminal, a plain status line every interval otherwise. It returns when
// rendering has stopped.
func (l *View) Show(ctx context.Context, w io.Writer, tty bool, phases []scenario.Phase, interval time.Duration) {
	if tty {
		l.showBars(ctx, w, phases)
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var prev int64
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			var line string
			line, prev = l.status(prev, now.Sub(last))
			last = now
			i, el := l.phaseAt(now)
			fmt.Fprintf(w, "[%s %s/%s] %s\n", phaseName(phases, i), el.Truncate(time.Second), phases[i].Duration.D(), line)
		}
	}
}

func phaseName(phases []scenario.Phase, i int) string {
	if phases[i].Name != "" {
		return phases[i].Name
	}
	return fmt.Sprintf("phase %d", i+1)
}

func (l *View) showBars(ctx context.Context, w io.Writer, phases []scenario.Phase) {
	p := mpb.NewWithContext(ctx, mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond))
	bars := make([]*mpb.Bar, len(phases))
	var mu sync.Mutex
	var prev int64
	last := time.Now()
	statusLine := ""
	for i, ph := range phases {
		total := int64(ph.Duration.D() / time.Millisecond)
		bars[i] = p.AddBar(total,
			mpb.PrependDecorators(decor.Name(fmt.Sprintf("%-10s", phaseName(phases, i)))),
			mpb.AppendDecorators(decor.Percentage(decor.WCSyncSpace)),
		)
	}
	info := p.New(0, mpb.NopStyle(), mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if dt := now.Sub(last); dt >= time.Second || statusLine == "" {
			statusLine, prev = l.status(prev, dt)
			last = now
		}
		return statusLine
	})))
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case now := <-t.C:
			cur, el := l.phaseAt(now)
			for i, b := range bars {
				switch {
				case i < cur:
					b.SetCurrent(int64(phases[i].Duration.D() / time.Millisecond))
				case i == cur:
					b.SetCurrent(int64(math.Min(float64(el/time.Millisecond), float64(phases[i].Duration.D()/time.Millisecond))))
				}
			}
		}
	}
	for _, b := range bars {
		if !b.Completed() {
			b.Abort(false)
		}
	}
	info.Abort(false)
	p.Wait()
}
