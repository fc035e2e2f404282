// Package health measures the load generator's own health while a run goes
// on: how late its scheduler wakes a goroutine that asked to sleep (lag),
// per second. A figure imload measures while its own process was starved
// says as much about imload as about the target; the oracle and the
// summaries use the lag to say which.
//
// health must not import anything of imload's.
package health

import (
	"context"
	"sync"
	"time"
)

// DefaultInterval is how often the probe asks to be woken.
const DefaultInterval = 5 * time.Millisecond

// Probe measures scheduler lag: a goroutine sleeps Interval again and
// again and records how much later than asked it woke. The zero value is
// not usable; use Start.
type Probe struct {
	interval time.Duration
	start    time.Time

	mu     sync.Mutex
	maxLag []time.Duration // per second since start: the largest lag seen
	n      int64           // wake-ups
	sum    time.Duration

	// Per-second figures (report.go): the second being gathered, the
	// seconds closed, the CPU time and GC pauses at the last close.
	cur    secondAcc
	curSec int
	secs   []Second
	cpuSec []float64
	// wait0 and slices0: the run-queue wait and the times given a CPU at
	// the last close.
	wait0   float64
	slices0 int64
	waitOK  bool
	// lagHists and sendHists: each closed second's lags, as histograms.
	lagHists, sendHists []lagHist
	cpu0                float64
	cpuOK               bool
	gc0                 gcHist
	wall0               time.Time

	done chan struct{}
	wg   sync.WaitGroup
}

// Start starts a probe that wakes every interval (DefaultInterval when
// zero) until ctx is done or Stop is called.
func Start(ctx context.Context, interval time.Duration) *Probe {
	if interval <= 0 {
		interval = DefaultInterval
	}
	p := &Probe{interval: interval, start: time.Now(), done: make(chan struct{})}
	p.mu.Lock()
	p.roll(p.start)
	p.mu.Unlock()
	p.wg.Add(1)
	go p.loop(ctx)
	return p
}

func (p *Probe) loop(ctx context.Context) {
	defer p.wg.Done()
	t := time.NewTimer(p.interval)
	defer t.Stop()
	want := time.Now().Add(p.interval)
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.done:
			return
		case <-t.C:
			// The goroutine's own wake-up, not the timer's firing time
			// (the value on t.C): a starved scheduler delays the former.
			now := time.Now()
			p.record(now, now.Sub(want))
			want = time.Now().Add(p.interval)
			t.Reset(p.interval)
		}
	}
}

func (p *Probe) record(at time.Time, lag time.Duration) {
	if lag < 0 {
		lag = 0
	}
	sec := int(at.Sub(p.start) / time.Second)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.roll(at)
	p.cur.lags = append(p.cur.lags, lag)
	for len(p.maxLag) <= sec {
		p.maxLag = append(p.maxLag, 0)
	}
	// A lag of L delayed the wake-up that was due L ago: the seconds it
	// spans were starved too.
	from := int(at.Add(-lag).Sub(p.start) / time.Second)
	for s := max(from, 0); s <= sec; s++ {
		p.maxLag[s] = max(p.maxLag[s], lag)
	}
	p.n++
	p.sum += lag
}

// Stop ends the probe and waits for its goroutine.
func (p *Probe) Stop() {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	p.wg.Wait()
}

// Lag returns the largest lag the probe saw in the whole seconds that
// overlap [from, to] (conservative: a second's worst lag stands for all of
// it), or 0 when it saw none there.
func (p *Probe) Lag(from, to time.Time) time.Duration {
	if p == nil {
		return 0
	}
	if to.Before(from) {
		from, to = to, from
	}
	a := int(from.Sub(p.start) / time.Second)
	b := int(to.Sub(p.start) / time.Second)
	p.mu.Lock()
	defer p.mu.Unlock()
	var m time.Duration
	for s := max(a, 0); s <= b && s < len(p.maxLag); s++ {
		m = max(m, p.maxLag[s])
	}
	return m
}

// wakeups is how many wake-ups the probe has recorded.
func (p *Probe) wakeups() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}
