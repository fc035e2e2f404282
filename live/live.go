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
	logins    latencyWindow // successful logins' latencies, last seconds
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
			l.logins.add(e.At, e.Latency)
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

// Legend says what the status line's counters count; the view prints it
// once, before the first status line.
const Legend = "legend: failed = logins refused or broken; errors = failed or timed-out operations of every kind " +
	"(connect, login, logout, resume, heartbeat); operations the run's end cut off are in neither; " +
	"online ~ = instances logged in; login p99 (5s) = successful logins of the last 5 s"

// LoginP99 returns the p99 latency of the successful logins of the last
// five seconds up to now (within about 9%), and how many there were.
func (l *View) LoginP99(now time.Time) (time.Duration, int64) { return l.logins.quantile(now, 0.99) }

func (l *View) status(prevOK int64, dt time.Duration) (string, int64) {
	return l.statusAt(time.Now(), prevOK, dt)
}

func (l *View) statusAt(now time.Time, prevOK int64, dt time.Duration) (string, int64) {
	ok := l.loginsOK.Load()
	rate := 0.0
	if dt > 0 {
		rate = float64(ok-prevOK) / dt.Seconds()
	}
	online := l.Online()
	p99 := "-"
	if d, n := l.LoginP99(now); n > 0 {
		p99 = fmtLatency(d)
	}
	return fmt.Sprintf("devices %d  online ~%d  logins %d (%.0f/s)  failed %d  errors %d  kicks %d  login p99 (5s) %s",
		l.devices.Load(), online, ok, rate, l.loginsBad.Load(), l.errors.Load(), l.kicks.Load(), p99), ok
}

// fmtLatency shows a live latency to three significant digits.
func fmtLatency(d time.Duration) string {
	unit := time.Duration(1)
	for d/unit >= 1000 {
		unit *= 10
	}
	return d.Round(unit).String()
}

// elapsed is a phase's elapsed and total time, "3s/10s".
func elapsed(el, total time.Duration) string {
	return fmt.Sprintf("%s/%s", min(el, total).Truncate(time.Second), total)
}

// Show renders progress until ctx ends: mpb bars (one per phase) on a
// terminal, a plain status line every interval otherwise. It returns when
// rendering has stopped.
func (l *View) Show(ctx context.Context, w io.Writer, tty bool, phases []scenario.Phase, interval time.Duration) {
	if tty {
		l.showBars(ctx, w, phases)
		return
	}
	fmt.Fprintln(w, Legend)
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
			fmt.Fprintf(w, "[%s %s] %s\n", phaseName(phases, i), elapsed(el, phases[i].Duration.D()), line)
		}
	}
}

func phaseName(phases []scenario.Phase, i int) string {
	if phases[i].Name != "" {
		return phases[i].Name
	}
	return fmt.Sprintf("phase %d", i+1)
}

// showBars draws the bars; they refresh whatever w is (mpb.WithAutoRefresh),
// since Show chose them for a terminal already.
func (l *View) showBars(ctx context.Context, w io.Writer, phases []scenario.Phase) {
	p := mpb.NewWithContext(ctx, mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithAutoRefresh())
	bars := make([]*mpb.Bar, len(phases))
	var mu sync.Mutex
	var prev int64
	last := time.Now()
	statusLine := ""
	for i, ph := range phases {
		total := int64(ph.Duration.D() / time.Millisecond)
		bars[i] = p.AddBar(total,
			mpb.PrependDecorators(decor.Name(fmt.Sprintf("%-10s", phaseName(phases, i)))),
			mpb.AppendDecorators(decor.Percentage(decor.WCSyncSpace), decor.Any(func(s decor.Statistics) string {
				return " " + elapsed(time.Duration(s.Current)*time.Millisecond, ph.Duration.D())
			}, decor.WCSyncSpace)),
		)
	}
	legend := p.New(0, mpb.NopStyle(), mpb.PrependDecorators(decor.Name(Legend)))
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
	legend.Abort(false)
	p.Wait()
}
