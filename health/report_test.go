package health

import (
	"context"
	"strings"
	"testing"
	"time"
)

// lagOnly judges the lags alone: the CPU and run-queue figures of a test
// are the test machine's, whatever its load.
var lagOnly = Limits{Lag: DefaultLimits.Lag, SendLag: DefaultLimits.SendLag}

// Each second's p99 and maximum of the scheduler and send lags are kept;
// a window's p99 is the largest per-second p99 in it, and the report is
// judged against the limits.
func TestReportPerSecondAndLimits(t *testing.T) {
	p := &Probe{interval: time.Millisecond, start: time.Now().Add(-10 * time.Second), done: make(chan struct{})}
	at := func(s float64) time.Time { return p.start.Add(time.Duration(s * float64(time.Second))) }
	for i := range 100 {
		p.record(at(0.001*float64(i)), time.Duration(i)*time.Millisecond/10) // 0 .. 9.9 ms
	}
	for range 100 {
		p.record(at(2.5), 80*time.Millisecond) // a starved second
	}
	r := p.Report(time.Time{}, time.Time{}, lagOnly)
	if len(r.PerSecond) < 3 {
		t.Fatalf("%d seconds, want >= 3", len(r.PerSecond))
	}
	if got := time.Duration(r.PerSecond[0].LagP99Ns); got != 9800*time.Microsecond {
		t.Errorf("second 0 p99 %v, want 9.8ms", got)
	}
	if got := time.Duration(r.PerSecond[0].LagMaxNs); got != 9900*time.Microsecond {
		t.Errorf("second 0 max %v, want 9.9ms", got)
	}
	if !r.Lagged || !strings.Contains(strings.Join(r.Reasons, ";"), "scheduler lag p99 80ms > 50ms") {
		t.Errorf("whole run: lagged %v %v, want the 80ms second named", r.Lagged, r.Reasons)
	}
	w := p.Report(at(0), at(1.5), lagOnly)
	if p99 := time.Duration(w.LagP99Ns); w.Lagged || w.Seconds != 2 || p99 < 9800*time.Microsecond || p99 > 9900*time.Microsecond {
		t.Errorf("window of seconds 0-1: %+v", w)
	}
}

// A window's p99 is over all its wake-ups: two slow ones among a thousand
// do not make it lag, though they are the p99 of their own second.
func TestWindowP99OverAllSamples(t *testing.T) {
	p := &Probe{interval: time.Millisecond, start: time.Now().Add(-20 * time.Second), done: make(chan struct{})}
	at := func(s float64) time.Time { return p.start.Add(time.Duration(s * float64(time.Second))) }
	for sec := range 10 {
		for i := range 100 {
			p.record(at(float64(sec)+0.005*float64(i)), time.Millisecond)
		}
		if sec == 4 {
			p.record(at(4.9), 80*time.Millisecond)
			p.record(at(4.95), 80*time.Millisecond)
		}
	}
	r := p.Report(at(0), at(9.5), lagOnly)
	if r.Lagged || time.Duration(r.LagP99Ns) > 1200*time.Microsecond || time.Duration(r.LagMaxNs) != 80*time.Millisecond {
		t.Fatalf("%+v", r)
	}
	if s4 := r.PerSecond; s4 != nil {
		t.Fatal("a window report has per-second figures")
	}
	whole := p.Report(time.Time{}, time.Time{}, lagOnly)
	if got := time.Duration(whole.PerSecond[4].LagP99Ns); got != 80*time.Millisecond {
		t.Fatalf("second 4's own p99 %v, want 80ms", got)
	}
}

// Send lags are the pacer's; a run that sent late by more than the limit
// lagged.
func TestSendLag(t *testing.T) {
	p := Start(context.Background(), time.Millisecond)
	defer p.Stop()
	for range 50 {
		p.Send(200 * time.Millisecond)
	}
	p.Send(-time.Second) // early: 0
	r := p.Report(time.Time{}, time.Time{}, lagOnly)
	if r.Sends != 51 || time.Duration(r.SendLagMaxNs) != 200*time.Millisecond {
		t.Fatalf("sends %d max %v", r.Sends, time.Duration(r.SendLagMaxNs))
	}
	if !r.Lagged || !strings.Contains(strings.Join(r.Reasons, ";"), "send lag p99") {
		t.Fatalf("lagged %v %v", r.Lagged, r.Reasons)
	}
	var nilProbe *Probe
	nilProbe.Send(time.Second) // nil-safe
	if nilProbe.Report(time.Time{}, time.Time{}, lagOnly) != nil {
		t.Fatal("nil probe reported")
	}
}

// CPU is the process's CPU time over wall time and GOMAXPROCS: a busy loop
// shows, and the limit judges it.
func TestCPU(t *testing.T) {
	if _, ok := processCPU(); !ok {
		t.Skip("no process CPU time on this platform")
	}
	r := &Report{GOMAXPROCS: 2, CPU: 0.95}
	r.judge(DefaultLimits)
	if !r.Lagged || !strings.Contains(r.Reasons[0], "CPU 95% > 90% of 2 cores") {
		t.Fatalf("%v", r.Reasons)
	}
	a, _ := processCPU()
	x := 0
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; x++ {
	}
	b, _ := processCPU()
	if b <= a {
		t.Fatalf("CPU time did not grow over a busy loop (%v -> %v, %d turns)", a, b, x)
	}
}

// A process whose threads wait long for a CPU each time they become
// runnable is starved by the machine: the report says so.
func TestWaitLimit(t *testing.T) {
	r := &Report{GOMAXPROCS: 2, WaitNs: int64(8 * time.Millisecond)}
	r.judge(DefaultLimits)
	if !r.Lagged || !strings.Contains(r.Reasons[0], "run-queue delay 8ms > 5ms") {
		t.Fatalf("%v", r.Reasons)
	}
	r = &Report{GOMAXPROCS: 2, WaitNs: int64(time.Millisecond)}
	if r.judge(DefaultLimits); r.Lagged {
		t.Fatalf("%v", r.Reasons)
	}
	if w, n, ok := runWait(); ok && (w < 0 || n <= 0) {
		t.Fatalf("run-queue wait %v over %d slices", w, n)
	}
}
