package judge

import (
	"strings"
	"testing"
)

func TestParseThreshold(t *testing.T) {
	cases := []struct {
		expr     string
		metric   string
		subject  string
		stat     string
		quantile float64
		op       Op
		value    float64
		kind     Kind
		str      string
	}{
		{"login.p99 < 250ms", "login.p99", "login", "p99", 99, OpLT, 0.25, KindDuration, "login.p99 < 250ms"},
		{"login.p50 <= 20ms", "login.p50", "login", "p50", 50, OpLE, 0.02, KindDuration, "login.p50 <= 20ms"},
		{"connect.max < 1s", "connect.max", "connect", "max", 100, OpLT, 1, KindDuration, "connect.max < 1s"},
		{"connect.min>=1us", "connect.min", "connect", "min", 0, OpGE, 1e-6, KindDuration, "connect.min >= 1us"},
		{"logout.mean != 1m30s", "logout.mean", "logout", "mean", 0, OpNE, 90, KindDuration, "logout.mean != 1m30s"},
		{"errors.rate < 0.1%", "errors.rate", "", "errors.rate", 0, OpLT, 0.001, KindPercent, "errors.rate < 0.1%"},
		{"errors.rate < 0.05", "errors.rate", "", "errors.rate", 0, OpLT, 0.05, KindPercent, "errors.rate < 0.05"},
		{"login.errors.rate < 1%", "login.errors.rate", "login", "errors.rate", 0, OpLT, 0.01, KindPercent, "login.errors.rate < 1%"},
		{"kickout.violations == 0", "kickout.violations", "kickout", "violations", 0, OpEQ, 0, KindCount, "kickout.violations == 0"},
		{"mau.mismatches == 0", "mau.mismatches", "mau", "mismatches", 0, OpEQ, 0, KindCount, "mau.mismatches == 0"},
		{"kickout.late.p99 < 500ms", "kickout.late.p99", "kickout.late", "p99", 99, OpLT, 0.5, KindDuration, "kickout.late.p99 < 500ms"},
		{"kickout.late.p99.9 < 2s", "kickout.late.p99.9", "kickout.late", "p99.9", 99.9, OpLT, 2, KindDuration, "kickout.late.p99.9 < 2s"},
		{"login.count >= 100", "login.count", "login", "count", 0, OpGE, 100, KindCount, "login.count >= 100"},
		{"login.rate > 50", "login.rate", "login", "rate", 0, OpGT, 50, KindRate, "login.rate > 50"},
		{"  login.rate   >   12.5  ", "login.rate", "login", "rate", 0, OpGT, 12.5, KindRate, "login.rate > 12.5"},
		{"login.Android.p90 < 1s", "login.Android.p90", "login.Android", "p90", 90, OpLT, 1, KindDuration, "login.Android.p90 < 1s"},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			th, err := Parse(c.expr)
			if err != nil {
				t.Fatal(err)
			}
			want := Threshold{Metric: c.metric, Subject: c.subject, Stat: c.stat, Quantile: c.quantile,
				Op: c.op, Value: c.value, Kind: c.kind, Text: th.Text, Ref: th.Ref}
			if th.Ref.Metric == nil {
				t.Errorf("no catalogue entry in %+v", th)
			}
			if th != want {
				t.Errorf("got %+v\nwant %+v", th, want)
			}
			if th.String() != c.str {
				t.Errorf("String() = %q, want %q", th.String(), c.str)
			}
			// String round-trips.
			again, err := Parse(th.String())
			if err != nil || again != th {
				t.Errorf("round trip: %+v, %v", again, err)
			}
		})
	}
}

func TestParseThresholdErrors(t *testing.T) {
	cases := []struct{ expr, want string }{
		{"", "col 1: empty threshold; write metric, operator and value, e.g. login.p99 < 250ms"},
		{"login.p99 < 0.5", `col 13: expected a duration like 250ms for p99, got "0.5"`},
		{"login.p99 < -1s", `col 13: expected a duration like 250ms for p99, got "-1s"`},
		{"login.p99 < 5%", `col 13: expected a duration like 250ms for p99, got "5%"`},
		{"login.p99 ~ 1s", "col 11: expected an operator (allowed: <, <=, >, >=, ==, !=)"},
		{"login.p99 => 1s", "col 11: expected an operator (allowed: <, <=, >, >=, ==, !=)"},
		{"login.p99 = 1s", "col 11: expected an operator (allowed: <, <=, >, >=, ==, !=)"},
		{"login.p99 <", "col 12: expected a value after <"},
		{"login.p99 < 1s and more", `col 16: unexpected "and more" after the value`},
		{"login.latency < 1s", `col 7: unknown metric "login.latency" (allowed after login: count, ok, failed, timed_out, cancelled, errors, code_N (N a target's code), rate, min, max, mean, pN (a percentile such as p50, p99, p99.9), a platform (Android, iPhone, iPad, Windows, Mac, Linux, Web, unknown))`},
		// A bare statistic names no metric (it was accepted here and refused
		// at the run's end before the catalogue).
		{"p99 < 1s", `col 1: unknown metric "p99" (allowed first: connect, login, logout, resume, heartbeat, errors, kick_notice, kicked, sig_expired, disconnect, app_kill, switch_user, misbehaving, online_at_end, online, kickout, mau, capacity; imload schema lists every metric)`},
		{"logn.p99 < 250ms", `col 1: unknown metric "logn.p99"; did you mean login.p99? (allowed first: connect, login, logout, resume, heartbeat, errors, kick_notice, kicked, sig_expired, disconnect, app_kill, switch_user, misbehaving, online_at_end, online, kickout, mau, capacity; imload schema lists every metric)`},
		{"login.Andriod.p99 < 1s", `col 7: unknown metric "login.Andriod.p99"; did you mean login.Android.p99? (allowed after login: count, ok, failed, timed_out, cancelled, errors, code_N (N a target's code), rate, min, max, mean, pN (a percentile such as p50, p99, p99.9), a platform (Android, iPhone, iPad, Windows, Mac, Linux, Web, unknown))`},
		{"kickout.violation == 0", `col 9: unknown metric "kickout.violation"; did you mean kickout.violations? (allowed after kickout: violations, wrong_victim, missing_kick, spurious_kick, over_limit, late_kick, ghost_session, lost_session, webhook_mismatch, wrong_refusal, no_order, undecided, latency, late)`},
		{"kickout.latency < 1s", `col 16: incomplete metric "kickout.latency" (allowed next: count, max, pN (a percentile such as p50, p99, p99.9))`},
		{"login.count.x > 1", `col 13: unknown metric "login.count.x"; did you mean login.count? (allowed: nothing after login.count)`},
		{"online.max > 1s", `col 14: expected a whole number like 100 for max, got "1s"`},
		{"kickout.wrong_victm.count == 0", `col 9: unknown metric "kickout.wrong_victm.count"; did you mean kickout.wrong_victim.count? (allowed after kickout: violations, wrong_victim, missing_kick, spurious_kick, over_limit, late_kick, ghost_session, lost_session, webhook_mismatch, wrong_refusal, no_order, undecided, latency, late)`},
		{"login.p0 < 1s", "col 7: quantile p0 out of range (allowed: p0.1 to p100)"},
		{"login.p101 < 1s", "col 7: quantile p101 out of range (allowed: p0.1 to p100)"},
		{"login. < 1s", "col 7: expected a metric name such as login.p99 (letters, digits, _ and dots)"},
		{"9login.p99 < 1s", "col 1: expected a metric name such as login.p99 (letters, digits, _ and dots)"},
		{"< 1s", "col 1: expected a metric name such as login.p99 (letters, digits, _ and dots)"},
		{"errors.rate < 1.5", `col 15: expected a percentage like 0.1% (or a fraction from 0 to 1) for errors.rate, got "1.5"`},
		{"errors.rate < 101%", `col 15: expected a percentage from 0% to 100% like 0.1% for errors.rate, got "101%"`},
		{"errors.rate < 1e-3", `col 15: expected a percentage like 0.1% (or a fraction from 0 to 1) for errors.rate, got "1e-3"`},
		{"kickout.violations == 0.5", `col 23: expected a whole number like 100 for violations, got "0.5"`},
		{"login.count >= -1", `col 16: expected a whole number like 100 for count, got "-1"`},
		{"login.rate > fast", `col 14: expected a number per second like 50 for rate, got "fast"`},
		{"login.rate > NaN", `col 14: expected a number per second like 50 for rate, got "NaN"`},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			_, err := Parse(c.expr)
			if err == nil || err.Error() != c.want {
				t.Errorf("got  %v\nwant %s", err, c.want)
			}
			if te, ok := err.(*ThresholdError); !ok || te.Col < 1 || te.Col > len(c.expr)+1 {
				t.Errorf("want a *ThresholdError with a column inside the expression, got %#v", err)
			}
		})
	}
}

func TestThresholdEval(t *testing.T) {
	cases := []struct {
		expr   string
		actual float64
		want   bool
	}{
		{"login.p99 < 250ms", 0.249, true},
		{"login.p99 < 250ms", 0.25, false},
		{"login.p99 <= 250ms", 0.25, true},
		{"login.count > 10", 10, false},
		{"login.count >= 10", 10, true},
		{"kickout.violations == 0", 0, true},
		{"kickout.violations == 0", 1, false},
		{"kickout.violations != 0", 1, true},
		{"errors.rate < 0.1%", 0.0009, true},
		{"errors.rate < 0.1%", 0.002, false},
	}
	for _, c := range cases {
		th, err := Parse(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := th.Eval(c.actual); got != c.want {
			t.Errorf("%s with %v = %v, want %v", c.expr, c.actual, got, c.want)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindDuration: "duration", KindPercent: "percent", KindCount: "count", KindRate: "rate", 0: "unknown"} {
		if k.String() != want {
			t.Errorf("%d: %q", k, k.String())
		}
	}
}

func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"login.p99 < 250ms", "errors.rate < 0.1%", "kickout.late.p99.9 < 2s", "login.rate > 50", "x.p9.", "a <"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		th, err := Parse(s)
		if err != nil {
			if te, ok := err.(*ThresholdError); !ok || te.Col < 1 || te.Col > len(s)+1 {
				t.Fatalf("%q: bad error %#v", s, err)
			}
			return
		}
		again, err := Parse(th.String())
		if err != nil || again != th {
			t.Fatalf("%q: String %q does not round-trip: %+v, %v", s, th.String(), again, err)
		}
	})
}

// TestParseAbortOnFail: a trailing abort_on_fail is kept (and written
// back), and refused where part of a run cannot make the threshold fail.
func TestParseAbortOnFail(t *testing.T) {
	th, err := Parse("errors.count < 10 abort_on_fail")
	if err != nil {
		t.Fatal(err)
	}
	if !th.AbortOnFail || th.Value != 10 || th.String() != "errors.count < 10 abort_on_fail" {
		t.Fatalf("got %+v (%q)", th, th.String())
	}
	for _, s := range []string{"login.p99 < 250ms abort_on_fail", "errors.rate < 1% abort_on_fail", "login.count == 3 abort_on_fail"} {
		if th, err := Parse(s); err != nil || !th.AbortOnFail {
			t.Errorf("%q: %v %+v", s, err, th)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"switch_user.count >= 700 abort_on_fail", "col 26: abort_on_fail: a count with >= cannot fail before the run ends"},
		{"kickout.violations == 0 abort_on_fail", "col 25: abort_on_fail: kickout.violations is known only at the end"},
		{"login.p99 < 250ms abort", `col 19: unexpected "abort" after the value`},
	} {
		_, err := Parse(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
	plain, _ := Parse("login.p99 < 250ms")
	if plain.AbortOnFail || plain.String() != "login.p99 < 250ms" {
		t.Errorf("plain threshold: %+v", plain)
	}
}

// TestSettled: over part of a run, a count decides its verdict once it
// has crossed a bound from above or reached one from below; nothing else
// does.
func TestSettled(t *testing.T) {
	for _, c := range []struct {
		expr   string
		actual float64
		want   bool
	}{
		{"switch_user.count >= 700", 409, false},
		{"switch_user.count >= 700", 700, true},
		{"errors.count < 10", 9, false},
		{"errors.count < 10", 10, true},
		{"kickout.violations == 0", 0, false},
		{"kickout.violations == 0", 1, true},
		{"login.p99 < 250ms", 1, false},
		{"errors.rate < 1%", 0.5, false},
	} {
		th, err := Parse(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := th.Settled(c.actual); got != c.want {
			t.Errorf("%s at %v: settled %v, want %v", c.expr, c.actual, got, c.want)
		}
	}
}

func TestLatencyBound(t *testing.T) {
	for expr, want := range map[string]bool{
		"login.p99 < 100ms": true, "connect.max <= 2s": true,
		"login.p99 > 1ms": false, "errors.rate < 1%": false, "login.count < 10": false,
	} {
		th, err := Parse(expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if got := th.LatencyBound(); got != want {
			t.Errorf("%s: LatencyBound %v, want %v", expr, got, want)
		}
	}
}
