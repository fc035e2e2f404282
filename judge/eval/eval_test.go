package eval

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/capacity"
	"github.com/imload/imload/check"
	"github.com/imload/imload/clock"
	"github.com/imload/imload/event"
	"github.com/imload/imload/judge"
	"github.com/imload/imload/mau"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/policy"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// valueSnapshot: a 10-second run with 100 logins of distinct users (1..100
// ms; 90 ok, 6 failed, 4 timed out), 10 connects (1..10 s), and 88 kicks (two
// with a notice delay), which leave two instances online.
func valueSnapshot(t *testing.T) *metrics.Snapshot {
	t.Helper()
	r := metrics.NewRecorder(metrics.WithStart(t0), metrics.WithClock(clock.NewFake(t0.Add(10*time.Second))))
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
	in := Inputs{Metrics: valueSnapshot(t)}
	cases := []struct {
		metric string
		want   float64
		tol    float64
	}{
		{"login.count", 100, 0},
		{"login.ok.count", 90, 0},
		{"login.Web.ok.count", 45, 0},
		{"login.failed.count", 6, 0},
		{"login.timed_out.count", 4, 0},
		{"login.rate", 10, 1e-12},
		{"login.errors.count", 10, 0},
		{"login.errors.rate", 0.1, 1e-12},
		// Latency is of the 90 successful logins (1..90 ms); the 10 failed or
		// timed-out ones are counted, not timed.
		{"login.p50", 0.045, 0.0001},
		{"login.p99", 0.089, 0.0001},
		{"login.p99.9", 0.090, 0.0001},
		{"login.p100", 0.090, 0.0001},
		{"login.min", 0.001, 0.000002},
		{"login.max", 0.090, 0.0001},
		{"login.mean", 0.0455, 0.0001},
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
		{"login.web.max", 0.090, 0.0001},
		{"login.Android.max", 0.089, 0.0001},
		{"login.Web.errors.rate", 5.0 / 50, 1e-12},
		{"kicked.unknown.count", 88, 0}, // kicks without a platform
		{"kicked.Android.count", 0, 0},
		{"login.code_70001.count", 6, 0},
		{"login.Web.code_70001.count", 3, 0},
		{"login.code_6206.count", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.metric, func(t *testing.T) {
			got, err := Metric(tc.metric, in)
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
	in := Inputs{Metrics: valueSnapshot(t)}
	for _, m := range []string{"login", "login.p101", "login.pxx", "login.p1e1", "logins.count", "kicked.p99", "errors.p99", "online.min", "online.Web.max", "login.Martian.p99", "login.code_.count", "login.code_x.count", "login.code_-1.count", "login.code_70001", ""} {
		_, err := Metric(m, in)
		if err == nil || !strings.Contains(err.Error(), "allowed") {
			t.Errorf("Metric(%q): %v, want an error listing the allowed metrics", m, err)
		}
		if _, lerr := judge.Lookup(m); lerr == nil {
			t.Errorf("validation accepts %q, which evaluation refuses", m)
		}
	}
	for _, m := range []string{"heartbeat.p99", "resume.max", "logout.mean"} {
		_, err := Metric(m, in)
		if !errors.Is(err, metrics.ErrNoSamples) || !errors.Is(err, ErrNotJudged) {
			t.Errorf("Metric(%q): %v, want ErrNoSamples, not judged", m, err)
		}
	}
}

// fullInputs measure everything: every operation and event kind on two
// platforms with samples, kicks with a notice delay, a kickout report that
// checked logins and measured kick latency, and (separately) a MAU report.
func fullInputs(t *testing.T) (Inputs, Inputs) {
	t.Helper()
	r := metrics.NewRecorder(metrics.WithStart(t0), metrics.WithClock(clock.NewFake(t0.Add(10*time.Second))))
	for k := event.Connect; k <= event.Misbehaving; k++ {
		for i, p := range []policy.Platform{policy.Android, policy.Web} {
			e := event.Event{Kind: k, Outcome: event.OK, UserID: fmt.Sprint("u", i), Device: "d", Platform: p,
				At: t0.Add(time.Second), Latency: time.Duration(i+1) * time.Millisecond, Code: 70001}
			r.Observe(&e)
		}
	}
	rep := &check.Report{Checks: check.Checks{Users: 1, Logins: 2}}
	rep.KickLatency.Record(20 * time.Millisecond)
	return Inputs{Metrics: r.Snapshot(), Kickout: rep}, Inputs{MAU: &mau.Report{}}
}

// TestEveryEntryAnswered walks the catalogue both ways: every entry's names
// are accepted by validation and answered by evaluation, and evaluation
// answers nothing the catalogue does not hold.
func TestEveryEntryAnswered(t *testing.T) {
	run, month := fullInputs(t)
	searched := Inputs{Capacity: &capacity.Report{Sustained: 760, Interval: [2]float64{740, 780}, IntervalKind: "t95",
		Bound: capacity.BoundTarget, Repeats: []capacity.Repeat{{Sustained: 760}}}}
	ids := map[string]bool{}
	for _, m := range judge.Catalogue() {
		ids[m.ID] = true
		names := []string{m.Example()}
		if strings.Contains(m.Pattern(), "[.<platform>]") {
			first, rest, _ := strings.Cut(m.Example(), ".")
			names = append(names, first+".Web."+rest, first+".android."+rest)
		}
		for _, name := range names {
			ref, err := judge.Lookup(name)
			if err != nil {
				t.Errorf("%s (%s): validation refuses it: %v", name, m.Pattern(), err)
				continue
			}
			if ref.Metric != m {
				t.Errorf("%s resolves to %s, want %s", name, ref.Metric.Pattern(), m.Pattern())
			}
			in := run
			switch m.Source {
			case judge.FromMAU:
				in = month
			case judge.FromCapacity:
				in = searched
			}
			if _, err := Metric(name, in); err != nil {
				t.Errorf("%s: evaluation does not answer it: %v", name, err)
			}
			// Misspelt, it is refused by both.
			bad := strings.Replace(name, ".", "x.", 1)
			if _, err := judge.Lookup(bad); err == nil {
				t.Errorf("validation accepts %s", bad)
			}
			if _, err := Metric(bad, in); err == nil {
				t.Errorf("evaluation answers %s", bad)
			}
		}
	}
	for id := range answers {
		if !ids[id] {
			t.Errorf("evaluation answers %s, which no catalogue entry names", id)
		}
	}
	for id := range ids {
		if answers[id] == nil {
			t.Errorf("catalogue entry %s has no answer", id)
		}
	}
}

// The catalogue's copies of other packages' names agree with them.
func TestNamesAgree(t *testing.T) {
	var classes []string
	for c := check.Class(0); c < check.NumClasses; c++ {
		classes = append(classes, c.String())
	}
	if !slices.Equal(classes, judge.ClassNames()) {
		t.Errorf("verdict classes: check %v, judge %v", classes, judge.ClassNames())
	}
	if judge.UnknownPlatform != metrics.UnknownPlatform {
		t.Errorf("unknown platform: judge %q, metrics %q", judge.UnknownPlatform, metrics.UnknownPlatform)
	}
}

func mustParse(t *testing.T, expr string) judge.Threshold {
	t.Helper()
	th, err := judge.Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// A run whose oracle checked no login judges no kickout threshold: it
// fails, saying so, instead of passing on zero violations.
func TestKickoutNothingChecked(t *testing.T) {
	empty := &check.Report{}
	for _, expr := range []string{"kickout.violations == 0", "kickout.wrong_victim.count == 0", "kickout.latency.count == 0"} {
		got := Thresholds([]judge.Threshold{mustParse(t, expr)}, Inputs{Metrics: &metrics.Snapshot{}, Kickout: empty})[0]
		if got.Pass || got.Error != "not judged: the kickout oracle checked no login" {
			t.Errorf("%s on a run that checked nothing: %+v", expr, got)
		}
	}
	checked := &check.Report{Checks: check.Checks{Logins: 3}}
	if got := Thresholds([]judge.Threshold{mustParse(t, "kickout.violations == 0")}, Inputs{Kickout: checked})[0]; !got.Pass || got.Error != "" {
		t.Errorf("kickout.violations == 0 on a clean report: %+v", got)
	}
	off := Thresholds([]judge.Threshold{mustParse(t, "kickout.violations == 0")}, Inputs{})[0]
	if off.Pass || !strings.Contains(off.Error, "oracle is off") {
		t.Errorf("with the oracle off: %+v", off)
	}
}

// errors.rate is failed / attempted over all operations; without attempts
// there is no rate to pass.
func TestErrorRateSemantics(t *testing.T) {
	r := metrics.NewRecorder(metrics.WithStart(t0), metrics.WithClock(clock.NewFake(t0.Add(time.Second))))
	for i := range 4 {
		r.Observe(&event.Event{Kind: event.Connect, Outcome: event.OK, Device: fmt.Sprint("d", i), At: t0, Latency: time.Millisecond})
		out := event.OK
		if i > 0 {
			out = event.Failed
		}
		r.Observe(&event.Event{Kind: event.Login, Outcome: out, Device: fmt.Sprint("d", i), At: t0, Latency: time.Millisecond})
	}
	in := Inputs{Metrics: r.Snapshot()}
	for metric, want := range map[string]float64{"errors.rate": 3.0 / 8, "login.errors.rate": 3.0 / 4, "connect.errors.rate": 0} {
		if got, err := Metric(metric, in); err != nil || got != want {
			t.Errorf("%s = %v (%v), want %v", metric, got, err, want)
		}
	}
	got := Thresholds([]judge.Threshold{mustParse(t, "errors.rate < 1%")}, Inputs{Metrics: &metrics.Snapshot{}})[0]
	if got.Pass || got.Error != "not judged: no operation was attempted" {
		t.Errorf("errors.rate of a run without operations: %+v", got)
	}
}

// A run whose every login failed has no login latency: login.p99 < 250ms
// is not judged and fails, where it used to pass on the failures' own
// quick answers.
func TestLatencyThresholdOfOnlyFailures(t *testing.T) {
	r := metrics.NewRecorder(metrics.WithStart(t0), metrics.WithClock(clock.NewFake(t0.Add(10*time.Second))))
	for i := range 50 {
		r.Observe(&event.Event{Kind: event.Login, Outcome: event.Failed, Code: 70020, UserID: fmt.Sprint("u", i),
			Device: "d", Platform: policy.Android, At: t0.Add(time.Second), Latency: time.Millisecond})
	}
	th, err := judge.Parse("login.p99 < 250ms")
	if err != nil {
		t.Fatal(err)
	}
	got := Thresholds([]judge.Threshold{th}, Inputs{Metrics: r.Snapshot()})
	if len(got) != 1 || got[0].Pass {
		t.Fatalf("login.p99 < 250ms over 50 failed logins: %+v, want not passed", got)
	}
	if _, err := Metric("login.p99", Inputs{Metrics: r.Snapshot()}); !errors.Is(err, ErrNotJudged) {
		t.Errorf("login.p99: %v, want not judged", err)
	}
}

// Cancelled operations (cut off by the run's end) are counted apart and are
// in no error rate, neither in the errors nor in the attempts.
func TestCancelledInNoErrorRate(t *testing.T) {
	r := metrics.NewRecorder(metrics.WithStart(t0))
	for i, out := range []event.Outcome{event.OK, event.OK, event.OK, event.Failed, event.Cancelled, event.Cancelled} {
		r.Observe(&event.Event{Kind: event.Logout, Outcome: out, Device: fmt.Sprint("d", i), At: t0, Latency: time.Millisecond})
	}
	in := Inputs{Metrics: r.Snapshot()}
	for metric, want := range map[string]float64{
		"errors.rate": 1.0 / 4, "logout.errors.rate": 1.0 / 4, "logout.cancelled.count": 2,
		"logout.count": 6, "logout.failed.count": 1, "errors.count": 1, "logout.code_0.count": 1,
	} {
		if got, err := Metric(metric, in); err != nil || got != want {
			t.Errorf("%s = %v (%v), want %v", metric, got, err, want)
		}
	}
	// Only cut-offs: nothing completed, so no rate.
	r = metrics.NewRecorder(metrics.WithStart(t0))
	r.Observe(&event.Event{Kind: event.Login, Outcome: event.Cancelled, Device: "d", At: t0})
	got := Thresholds([]judge.Threshold{mustParse(t, "errors.rate < 1%")}, Inputs{Metrics: r.Snapshot()})[0]
	if got.Pass || !strings.Contains(got.Error, "not judged") {
		t.Errorf("errors.rate of a run whose every operation was cancelled: %+v", got)
	}
}

// The capacity metrics are judged against a search's answer: sustained and
// its interval as the report holds them, no interval for a generator-bound
// answer, and not in a run that was no search; the SLO's metrics are not
// judged on the answer.
func TestCapacityMetrics(t *testing.T) {
	rep := &capacity.Report{Sustained: 760, Interval: [2]float64{741, 779}, IntervalKind: "t95",
		Bound: capacity.BoundTarget, Repeats: []capacity.Repeat{{Sustained: 750}, {Sustained: 770}}}
	in := Inputs{Capacity: rep}
	got := Thresholds([]judge.Threshold{
		mustParse(t, "capacity.sustained >= 700"),
		mustParse(t, "capacity.sustained >= 800"),
		mustParse(t, "capacity.interval.low > 740"),
		mustParse(t, "capacity.interval.high < 779"),
	}, in)
	want := []struct {
		actual float64
		pass   bool
	}{{760, true}, {760, false}, {741, true}, {779, false}}
	for i, w := range want {
		if got[i].Error != "" || got[i].Actual != w.actual || got[i].Pass != w.pass {
			t.Errorf("%s: got actual %v pass %v error %q, want %v %v", got[i].Expr, got[i].Actual, got[i].Pass, got[i].Error, w.actual, w.pass)
		}
	}
	bound := &capacity.Report{Sustained: 400, Bound: capacity.BoundGenerator, Repeats: []capacity.Repeat{{Sustained: 400}}}
	if _, err := Metric("capacity.interval.low", Inputs{Capacity: bound}); !errors.Is(err, ErrNotJudged) {
		t.Errorf("generator-bound interval: got %v, want not judged", err)
	}
	if v, err := Metric("capacity.sustained", Inputs{Capacity: bound}); err != nil || v != 400 {
		t.Errorf("generator-bound sustained: got %v, %v; want the lower bound 400", v, err)
	}
	run, _ := fullInputs(t)
	if _, err := Metric("capacity.sustained", run); err == nil || !strings.Contains(err.Error(), "capacity section") {
		t.Errorf("capacity.sustained of an ordinary run: got %v, want it refused", err)
	}
	if _, err := Metric("login.p99", in); err == nil || !strings.Contains(err.Error(), "each step") {
		t.Errorf("login.p99 on the search's answer: got %v, want it refused", err)
	}
	if _, err := Metric("capacity.sustaned", in); err == nil || !strings.Contains(err.Error(), "capacity.sustained") {
		t.Errorf("misspelt: got %v, want a did-you-mean naming capacity.sustained", err)
	}
}
