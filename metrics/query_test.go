package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// valueSnapshot: a 10-second run with 100 logins of distinct users (1..100
// ms; 90 ok, 6 failed, 4 timed out), 10 connects (1..10 s), and 88 kicks (two
// with a notice delay), which leave two instances online.
func valueSnapshot(t *testing.T) *Snapshot {
	t.Helper()
	r := NewRecorder(WithStart(t0), WithClock(clock.NewFake(t0.Add(10*time.Second))))
	for i := range 100 {
		e := event.Event{Kind: event.Login, Outcome: event.OK, UserID: fmt.Sprint("u", i), Device: "d",
			Platform: policy.Android, At: t0.Add(time.Duration(i) * 50 * time.Millisecond), Latency: time.Duration(i+1) * time.Millisecond}
		switch {
		case i >= 96:
			e.Outcome = event.TimedOut
		case i >= 90:
			e.Outcome, e.Code = event.Failed, 70001
		}
		if i%2 == 1 {
			e.Platform = policy.Web
		}
		r.Observe(&e)
	}
	for i := range 10 {
		r.Observe(&event.Event{Kind: event.Connect, Outcome: event.OK, Device: "c", At: t0, Latency: time.Duration(i+1) * time.Second})
	}
	for i := range 88 {
		e := event.Event{Kind: event.Kicked, UserID: fmt.Sprint("u", i), Device: "d", At: t0.Add(6 * time.Second)}
		if i < 2 {
			e.Latency = 20 * time.Millisecond
		}
		r.Observe(&e)
	}
	return r.Snapshot()
}

func TestOpPlatform(t *testing.T) {
	s := valueSnapshot(t)
	a, w, all := s.OpPlatform("login", policy.Android), s.OpPlatform("login", policy.Web), s.Op("login")
	if a.Count != 50 || w.Count != 50 || all.Count != 100 {
		t.Errorf("counts %d + %d = %d", a.Count, w.Count, all.Count)
	}
	// Latency is of the successes: logins 91..100 ms failed or timed out.
	if a.Max() >= w.Max() || !close3(w.Max(), 90*time.Millisecond) || !close3(a.Min(), time.Millisecond) {
		t.Errorf("Android max %v, Web max %v, Android min %v", a.Max(), w.Max(), a.Min())
	}
	if got := s.OpNames(); strings.Join(got, ",") != "connect,login" {
		t.Errorf("ops %v", got)
	}
	// Queries do not change the snapshot's histograms.
	if s.Ops["login"][policy.Android].Latency.Count() != 45 {
		t.Error("a query changed the snapshot")
	}
}
