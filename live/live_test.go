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
