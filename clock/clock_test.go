package clock

import (
	"testing"
	"time"
)

// TestFakeResetKeepsOneEntry: a timer stopped and reset many times while
// pending is listed once, fires once at its last deadline, and stopped
// timers leave the list at the next Advance.
func TestFakeResetKeepsOneEntry(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(t0)
	tm := f.NewTimer(time.Hour)
	for i := 1; i <= 1000; i++ {
		tm.Stop()
		tm.Reset(time.Duration(i) * time.Minute)
		f.Advance(0)
	}
	stopped := f.NewTimer(time.Minute)
	stopped.Stop()
	f.Advance(time.Second)
	if n := len(f.waiters); n != 1 {
		t.Fatalf("%d timers listed, want 1", n)
	}
	f.Advance(1000 * time.Minute)
	select {
	case at := <-tm.C():
		if want := t0.Add(1000 * time.Minute); !at.Equal(want) {
			t.Errorf("fired at %v, want %v", at, want)
		}
	default:
		t.Fatal("did not fire at its last deadline")
	}
	select {
	case <-stopped.C():
		t.Error("a stopped timer fired")
	default:
	}
	if n := len(f.waiters); n != 0 {
		t.Errorf("%d timers listed after firing, want 0", n)
	}
	tm.Reset(time.Minute) // a fired timer can be reset and fires again
	f.Advance(time.Minute)
	select {
	case <-tm.C():
	default:
		t.Error("a reset timer did not fire")
	}
}

// TestFakeFiresInDeadlineOrder: Advance fires due timers in the order of
// their deadlines, whatever the order they were made in.
func TestFakeFiresInDeadlineOrder(t *testing.T) {
	f := NewFake(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	var got []time.Time
	timers := []Timer{f.NewTimer(3 * time.Second), f.NewTimer(time.Second), f.NewTimer(2 * time.Second)}
	f.Advance(5 * time.Second)
	for _, tm := range timers {
		got = append(got, <-tm.C())
	}
	if !(got[1].Before(got[2]) && got[2].Before(got[0])) {
		t.Errorf("fire times %v", got)
	}
}

func TestFakeTimersCountsTheWaiting(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	a, b := f.NewTimer(time.Second), f.NewTimer(2*time.Second)
	if n := f.Timers(); n != 2 {
		t.Fatalf("%d timers waiting, want 2", n)
	}
	b.Stop()
	if n := f.Timers(); n != 1 {
		t.Fatalf("%d timers waiting after a Stop, want 1", n)
	}
	f.Advance(time.Second)
	<-a.C()
	if n := f.Timers(); n != 0 {
		t.Fatalf("%d timers waiting after the last fired, want 0", n)
	}
}

func TestFakeAfterFuncRunsOncePastItsDeadline(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	ran := make(chan time.Time, 4)
	tm := f.AfterFunc(time.Second, func() { ran <- f.Now() })
	if tm.C() != nil {
		t.Fatal("an AfterFunc timer has a channel")
	}
	f.Advance(999 * time.Millisecond)
	select {
	case <-ran:
		t.Fatal("ran before its deadline")
	case <-time.After(20 * time.Millisecond):
	}
	f.Advance(time.Millisecond)
	if at := <-ran; !at.Equal(time.Unix(1, 0)) {
		t.Fatalf("ran at %v, want 1s", at)
	}
	stopped := f.AfterFunc(time.Second, func() { ran <- time.Time{} })
	if !stopped.Stop() {
		t.Fatal("Stop of a waiting timer said it was not waiting")
	}
	tm.Reset(2 * time.Second)
	f.Advance(3 * time.Second)
	if at := <-ran; !at.Equal(time.Unix(4, 0)) {
		t.Fatalf("the reset timer ran at %v, want 4s (and the stopped one must not run)", at)
	}
	select {
	case <-ran:
		t.Fatal("a stopped or spent timer ran")
	case <-time.After(20 * time.Millisecond):
	}
}
