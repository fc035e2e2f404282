package health

import (
	"context"
	"testing"
	"time"
)

// The worst lag of each second is kept, and a lag that spans seconds marks
// each of them: Lag over any window inside it sees it.
func TestLagPerSecond(t *testing.T) {
	p := &Probe{interval: time.Millisecond, start: time.Unix(1000, 0), done: make(chan struct{})}
	at := func(s float64) time.Time { return p.start.Add(time.Duration(s * float64(time.Second))) }
	p.record(at(0.5), 2*time.Millisecond)
	p.record(at(0.6), 7*time.Millisecond)
	p.record(at(3.2), 1500*time.Millisecond) // asleep from 1.7 s to 3.2 s
	p.record(at(4.1), 0)
	cases := []struct {
		from, to float64
		want     time.Duration
	}{
		{0, 0.9, 7 * time.Millisecond},
		{1.0, 1.5, 1500 * time.Millisecond}, // second 1 holds the stall's start: whole seconds
		{1.8, 1.9, 1500 * time.Millisecond}, // inside the stall
		{2.1, 2.2, 1500 * time.Millisecond},
		{4.0, 4.5, 0},
		{5, 9, 0}, // after the last wake-up
		{-3, -1, 0},
	}
	for _, c := range cases {
		if got := p.Lag(at(c.from), at(c.to)); got != c.want {
			t.Errorf("Lag(%.1f s, %.1f s) = %v, want %v", c.from, c.to, got, c.want)
		}
	}
	if got := p.Lag(at(0), at(5)); got != 1500*time.Millisecond || p.wakeups() != 4 || len(p.maxLag) != 5 {
		t.Errorf("%d wake-ups over %d seconds, worst lag %v", p.wakeups(), len(p.maxLag), got)
	}
	var nilProbe *Probe
	if nilProbe.Lag(at(0), at(1)) != 0 {
		t.Error("a nil probe reports lag")
	}
}

// A started probe wakes, records, and ends its goroutine on Stop and on
// its context's end.
func TestProbeRunsAndStops(t *testing.T) {
	p := Start(context.Background(), time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for p.wakeups() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	p.Stop()
	n := p.wakeups()
	if n < 3 {
		t.Fatalf("%d wake-ups in 10 s", n)
	}
	time.Sleep(20 * time.Millisecond)
	if m := p.wakeups(); m != n {
		t.Errorf("the probe woke %d times after Stop", m-n)
	}
	p.Stop() // twice is fine

	ctx, cancel := context.WithCancel(context.Background())
	q := Start(ctx, time.Millisecond)
	cancel()
	q.wg.Wait() // returns once the goroutine saw the context end
}
