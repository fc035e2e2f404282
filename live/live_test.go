package live

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imload/imload/event"
	"github.com/imload/imload/scenario"
)

// The totals follow the events: logins ok and failed, online instances
// (repeats not counted twice, never below 0), errors of any operation,
// kicks and devices.
func TestViewCounts(t *testing.T) {
	v := &View{}
	v.DeviceStarted()
	v.DeviceStarted()
	for _, e := range []event.Event{
		{Kind: event.Login, Outcome: event.OK},
		{Kind: event.Login, Outcome: event.OK, Repeat: true},
		{Kind: event.Login, Outcome: event.OK},
		{Kind: event.Login, Outcome: event.Failed},
		{Kind: event.Kicked},
		{Kind: event.Logout, Outcome: event.TimedOut},
		{Kind: event.AppKill},
		{Kind: event.AppKill},
	} {
		v.Observe(&e)
	}
	v.DeviceEnded()
	if v.Devices() != 1 || v.Online() != 0 || v.loginsOK.Load() != 3 || v.loginsBad.Load() != 1 || v.errors.Load() != 2 || v.kicks.Load() != 1 {
		t.Errorf("devices %d online %d ok %d failed %d errors %d kicks %d", v.Devices(), v.Online(), v.loginsOK.Load(), v.loginsBad.Load(), v.errors.Load(), v.kicks.Load())
	}
	line, ok := v.status(1, time.Second)
	if ok != 3 || !strings.Contains(line, "devices 1  online ~0  logins 3 (2/s)  failed 1  errors 2  kicks 1") {
		t.Errorf("status %q (%d)", line, ok)
	}
}

// Without a terminal, Show writes status lines naming the phase until ctx
// ends.
func TestShowPlainLines(t *testing.T) {
	v := &View{}
	phases := []scenario.Phase{{Name: "warm", Duration: scenario.Duration(time.Hour)}}
	v.Begin(time.Now(), phases)
	ctx, cancel := context.WithCancel(context.Background())
	var buf syncBuf
	done := make(chan struct{})
	go func() { defer close(done); v.Show(ctx, &buf, false, phases, time.Millisecond) }()
	for !strings.Contains(buf.String(), "[warm ") {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if !strings.Contains(buf.String(), "/1h0m0s] devices 0") {
		t.Errorf("status lines:\n%s", buf.String())
	}
}

type syncBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Operations cut off by the run's end are neither failed logins nor errors,
// and a device online at a cut end leaves the online count.
func TestViewCancelledAndOnlineAtEnd(t *testing.T) {
	v := &View{}
	for _, e := range []event.Event{
		{Kind: event.Login, Outcome: event.OK},
		{Kind: event.Login, Outcome: event.OK},
		{Kind: event.Login, Outcome: event.Cancelled},
		{Kind: event.Logout, Outcome: event.Cancelled},
		{Kind: event.OnlineAtEnd},
	} {
		v.Observe(&e)
	}
	if v.loginsBad.Load() != 0 || v.errors.Load() != 0 || v.Online() != 1 {
		t.Errorf("failed %d errors %d online %d, want 0 0 1", v.loginsBad.Load(), v.errors.Load(), v.Online())
	}
}

// The live login p99 covers the successful logins of the last five
// seconds: older ones, failed ones and other operations are not in it, and
// it is within a bucket (about 9%) of the true p99.
func TestLiveLoginP99(t *testing.T) {
	v := &View{}
	t0 := time.Unix(1_700_000_000, 0)
	if _, n := v.LoginP99(t0); n != 0 {
		t.Fatalf("an empty view has %d logins", n)
	}
	// Ten seconds ago: slow logins, out of the window by now.
	for i := range 100 {
		v.Observe(&event.Event{Kind: event.Login, Outcome: event.OK, At: t0.Add(-10 * time.Second), Latency: time.Second + time.Duration(i)})
	}
	// The last five seconds: 1..1000 ms, a failed login and a slow logout.
	for i := 1; i <= 1000; i++ {
		at := t0.Add(-time.Duration(i%5) * time.Second)
		v.Observe(&event.Event{Kind: event.Login, Outcome: event.OK, At: at, Latency: time.Duration(i) * time.Millisecond})
	}
	v.Observe(&event.Event{Kind: event.Login, Outcome: event.Failed, At: t0, Latency: time.Hour})
	v.Observe(&event.Event{Kind: event.Logout, Outcome: event.OK, At: t0, Latency: time.Hour})
	p99, n := v.LoginP99(t0)
	if n != 1000 {
		t.Errorf("%d logins in the window, want 1000", n)
	}
	if want := 990 * time.Millisecond; p99 < want || float64(p99) > 1.1*float64(want) {
		t.Errorf("p99 %v, want within 10%% above %v", p99, want)
	}
	line, _ := v.statusAt(t0, 0, time.Second)
	if !strings.HasSuffix(line, "login p99 (5s) "+fmtLatency(p99)) {
		t.Errorf("status %q lacks the live p99 %v", line, p99)
	}
	// Six seconds on, the window has moved past every login.
	if _, n := v.LoginP99(t0.Add(6 * time.Second)); n != 0 {
		t.Errorf("%d logins still in the window six seconds on", n)
	}
	if line, _ := v.statusAt(t0.Add(6*time.Second), 0, time.Second); !strings.HasSuffix(line, "login p99 (5s) -") {
		t.Errorf("status %q, want no p99", line)
	}
}

// Observe stays safe from many goroutines while the window turns over and
// is read.
func TestLiveLoginP99Concurrent(t *testing.T) {
	v := &View{}
	t0 := time.Unix(1_700_000_000, 0)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				v.Observe(&event.Event{Kind: event.Login, Outcome: event.OK, At: t0.Add(time.Duration(i/100+g) * time.Second), Latency: time.Millisecond})
			}
		}()
	}
	for range 100 {
		v.LoginP99(t0.Add(10 * time.Second))
	}
	wg.Wait()
	if d, n := v.LoginP99(t0.Add(22 * time.Second)); n == 0 || d < time.Millisecond || d > 1100*time.Microsecond {
		t.Errorf("p99 %v over %d logins, want about 1ms", d, n)
	}
}

// The view opens with the legend of its counters, and shows each phase's
// elapsed and total time: in plain lines and beside the bars.
func TestShowLegendAndPhaseTime(t *testing.T) {
	for _, tty := range []bool{false, true} {
		v := &View{}
		phases := []scenario.Phase{{Name: "warm", Duration: scenario.Duration(time.Hour)}}
		v.Begin(time.Now().Add(-2*time.Second), phases)
		ctx, cancel := context.WithCancel(context.Background())
		var buf syncBuf
		done := make(chan struct{})
		go func() { defer close(done); v.Show(ctx, &buf, tty, phases, time.Millisecond) }()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(buf.String(), "/1h0m0s") && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		<-done
		out := buf.String()
		if !tty && !strings.HasPrefix(out, Legend+"\n") {
			t.Errorf("plain: the output does not open with the legend:\n%s", out)
		}
		if tty && !strings.Contains(out, "legend: failed = ") {
			t.Errorf("bars: no legend:\n%q", out)
		}
		if !strings.Contains(out, "2s/1h0m0s") {
			t.Errorf("tty %v: no elapsed/total time of the phase:\n%q", tty, out)
		}
	}
}
