package check

import (
	"testing"
	"time"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// Kick latency runs from the displacing login's acceptance at the target
// (its server time) to the kicked device's notice. A notice that beats the
// displacing login's answer to its own device is a normal race: it is
// measured from the server time, not clamped to zero.
func TestKickLatencyIsMeasuredFromTheDisplacement(t *testing.T) {
	const A, B = "A", "B"
	cases := []struct {
		name string
		// server time of B's login (ms), -1: the target gives none
		srv                   int
		kickAt                int
		want                  time.Duration // one recorded value, 0: none
		unmeasured, early     int64
		lateVerdicts          int64
		lateAfter             time.Duration
		deviceReportedLatency time.Duration
	}{
		{name: "notice before the displacing login's answer", srv: 102, kickAt: 105, want: 3 * time.Millisecond},
		{name: "notice after the answer", srv: 102, kickAt: 130, want: 28 * time.Millisecond},
		{name: "no server time: unmeasured", srv: -1, kickAt: 105, unmeasured: 1},
		{name: "notice stamped before the server time: early", srv: 108, kickAt: 105, early: 1},
		{name: "late from the server time and from the answer", srv: 102, kickAt: 400, want: 298 * time.Millisecond,
			lateVerdicts: 1, lateAfter: 100 * time.Millisecond},
		{name: "device-reported latency wins", srv: 102, kickAt: 105, deviceReportedLatency: 2 * time.Millisecond,
			want: 2 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newHB(false)
			b.device(A, policy.Android)
			b.device(B, policy.IPhone)
			b.login(A, 0, 10, 1)
			e := event.Event{Kind: event.Login, Outcome: event.OK, Device: B, Start: tms(100), At: tms(110), Seq: 2}
			if tc.srv >= 0 {
				e.ServerTime = tms(tc.srv)
			}
			b.emit(e)
			k := event.Event{Kind: event.Kicked, Device: A, At: tms(tc.kickAt), Seq: 1, BySeq: 2, ByInstance: B,
				ByPlatform: policy.IPhone, Latency: tc.deviceReportedLatency}
			b.emit(k)
			pol := mustTencent(t, policy.DualPlatform, 1, 1)
			opts := testOpts()
			opts.LateAfter, opts.Grace = time.Second, time.Second
			if tc.lateAfter > 0 {
				opts.LateAfter = tc.lateAfter
			}
			r := Check(b.h, pol, opts)
			n := r.KickLatency.Count()
			switch {
			case tc.want == 0 && n != 0:
				t.Errorf("%d values recorded, want none", n)
			case tc.want != 0 && (n != 1 || absDur(r.KickLatency.Max()-tc.want) > tc.want/500+20*time.Microsecond):
				t.Errorf("recorded n=%d max=%s, want one value of %s", n, r.KickLatency.Max(), tc.want)
			}
			if r.KickLatencyUnmeasured != tc.unmeasured || r.KickLatencyEarly != tc.early {
				t.Errorf("unmeasured %d early %d, want %d and %d", r.KickLatencyUnmeasured, r.KickLatencyEarly, tc.unmeasured, tc.early)
			}
			if got := r.Count(LateKick); got != tc.lateVerdicts {
				dump(t, r)
				t.Errorf("late kicks %d, want %d", got, tc.lateVerdicts)
			}
			if r.Violations() != tc.lateVerdicts {
				dump(t, r)
				t.Errorf("%d violations", r.Violations())
			}
		})
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// A late notice while imload itself was starved is undecided, not a late
// kick; a notice later than the starvation explains is still late.
func TestLateKickWhileTheHarnessLagged(t *testing.T) {
	const A, B = "A", "B"
	for _, tc := range []struct {
		name      string
		lag       time.Duration
		late, und int64
	}{
		{"no lag", 0, 1, 0},
		{"lag explains it", 1500 * time.Millisecond, 0, 1},
		{"lag explains part of it", 200 * time.Millisecond, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newHB(false)
			b.device(A, policy.Android)
			b.device(B, policy.IPhone)
			b.login(A, 0, 10, 1)
			b.login(B, 100, 110, 2)
			b.kicked(A, 1600, 1, 2, B) // 1.49 s after the displacement
			opts := testOpts()
			opts.Grace, opts.LateAfter = 5*time.Second, time.Second
			opts.HarnessLag = func(from, to time.Time) time.Duration {
				if from.After(to) {
					t.Errorf("lag asked from %v to %v", from, to)
				}
				return tc.lag
			}
			r := Check(b.h, mustTencent(t, policy.DualPlatform, 1, 1), opts)
			if r.Count(LateKick) != tc.late || r.Count(Undecided) != tc.und {
				dump(t, r)
				t.Fatalf("late %d undecided %d, want %d and %d", r.Count(LateKick), r.Count(Undecided), tc.late, tc.und)
			}
		})
	}
}

// A kick that never arrived while imload itself was starved until the run
// ended is excused like one the run's end cut off; without the lag it is a
// missing kick.
func TestMissingKickWhileTheHarnessLagged(t *testing.T) {
	const A, B = "A", "B"
	for _, tc := range []struct {
		name    string
		lag     time.Duration
		missing int64
	}{{"no lag", 0, 1}, {"lag to the end", 2 * time.Second, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			b := newHB(false)
			b.device(A, policy.Android)
			b.device(B, policy.IPhone)
			b.login(A, 0, 10, 1)
			b.login(B, 100, 110, 2) // displaces A, which hears nothing
			opts := testOpts()
			opts.Grace, opts.LateAfter, opts.End = 5*time.Second, time.Second, tms(1500)
			opts.HarnessLag = func(from, to time.Time) time.Duration { return tc.lag }
			r := Check(b.h, mustTencent(t, policy.DualPlatform, 1, 1), opts)
			if r.Count(MissingKick) != tc.missing {
				dump(t, r)
				t.Fatalf("missing kicks %d, want %d", r.Count(MissingKick), tc.missing)
			}
		})
	}
}
