package metrics

import (
	"errors"
	"fmt"
	"math"
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

func TestValue(t *testing.T) {
	s := valueSnapshot(t)
	cases := []struct {
		metric string
		want   float64
		tol    float64
	}{
		{"login.count", 100, 0},
		{"login.ok", 90, 0},
		{"login.failed", 6, 0},
		{"login.timed_out", 4, 0},
		{"login.rate", 10, 1e-12},
		{"login.errors.count", 10, 0},
		{"login.errors.rate", 0.1, 1e-12},
		{"login.p50", 0.050, 0.0001},
		{"login.p99", 0.099, 0.0001},
		{"login.p99.9", 0.100, 0.0001},
		{"login.p100", 0.100, 0.0001},
		{"login.min", 0.001, 0.000002},
		{"login.max", 0.100, 0.0001},
		{"login.mean", 0.0505, 0.0001},
		{"connect.max", 10, 0.01},
		{"connect.count", 10, 0},
		{"errors.count", 10, 0},
		{"errors.rate", 10.0 / 110, 1e-12},
		{"kicked.count", 88, 0},
		{"kicked.rate", 8.8, 1e-12},
		{"kick_notice.count", 2, 0},
		{"kick_notice.p99", 0.020, 0.0001},
		{"online.max", 90, 0},
		{"online.end", 2, 0},
		{"sig_expired.count", 0, 0},
		{"heartbeat.count", 0, 0},
		{"login.Android.count", 50, 0},
		{"login.web.max", 0.100, 0.0001},
		{"login.Android.max", 0.099, 0.0001},
		{"login.Web.errors.rate", 5.0 / 50, 1e-12},
		{"kicked.unknown.count", 88, 0}, // kicks without a platform
		{"kicked.Android.count", 0, 0},
		{"login.code_70001.count", 6, 0},
		{"login.Web.code_70001.count", 3, 0},
		{"login.code_6206.count", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.metric, func(t *testing.T) {
			got, err := s.Value(tc.metric)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tc.want) > tc.tol {
				t.Errorf("%s = %v, want %v ± %v", tc.metric, got, tc.want, tc.tol)
			}
		})
	}
}

func TestValueErrors(t *testing.T) {
	s := valueSnapshot(t)
	for _, m := range []string{"login", "login.p101", "login.pxx", "login.p1e1", "logins.count", "kicked.p99", "errors.p99", "online.min", "online.Web.max", "login.Martian.p99", "login.code_.count", "login.code_x.count", "login.code_-1.count", "login.code_70001", ""} {
		_, err := s.Value(m)
		if err == nil || !strings.Contains(err.Error(), "allowed:") {
			t.Errorf("Value(%q): %v, want an error listing the allowed metrics", m, err)
		}
	}
	for _, m := range []string{"heartbeat.p99", "resume.max", "logout.mean"} {
		_, err := s.Value(m)
		if !errors.Is(err, ErrNoSamples) {
			t.Errorf("Value(%q): %v, want ErrNoSamples", m, err)
		}
	}
}

func TestOpPlatform(t *testing.T) {
	s := valueSnapshot(t)
	a, w, all := s.OpPlatform("login", policy.Android), s.OpPlatform("login", policy.Web), s.Op("login")
	if a.Count != 50 || w.Count != 50 || all.Count != 100 {
		t.Errorf("counts %d + %d = %d", a.Count, w.Count, all.Count)
	}
	if a.Max() >= w.Max() || !close3(w.Max(), 100*time.Millisecond) || !close3(a.Min(), time.Millisecond) {
		t.Errorf("Android max %v, Web max %v, Android min %v", a.Max(), w.Max(), a.Min())
	}
	if got := s.OpNames(); strings.Join(got, ",") != "connect,login" {
		t.Errorf("ops %v", got)
	}
	// Queries do not change the snapshot's histograms.
	if s.Ops["login"][policy.Android].Latency.Count() != 50 {
		t.Error("a query changed the snapshot")
	}
}
