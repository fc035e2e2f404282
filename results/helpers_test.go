package results

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/event"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/policy"
)

var start = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// syntheticEvents is a deterministic minute of a run: logins on three
// platforms with refusals and timeouts, connects, heartbeats, kicks with and
// without a notice delay, disconnects and a few misbehaving clients.
func syntheticEvents() []event.Event {
	plats := []policy.Platform{policy.Android, policy.IPhone, policy.Web}
	var evs []event.Event
	for i := range 3000 {
		at := start.Add(time.Duration(i) * 20 * time.Millisecond)
		user := fmt.Sprintf("user%03d", i%500)
		p := plats[i%3]
		dev := user + "-" + string(p)
		e := event.Event{Kind: event.Login, Outcome: event.OK, UserID: user, Device: dev, Platform: p, At: at,
			Latency: time.Duration(5+(i*37)%200)*time.Millisecond + time.Duration(i%7)*100*time.Microsecond}
		switch {
		case i%211 == 0:
			e.Outcome, e.Latency = event.TimedOut, 5*time.Second
		case i%97 == 0:
			e.Outcome, e.Code = event.Failed, 6208
		case i%50 == 0:
			e.Outcome, e.Code, e.Reason = event.Failed, 70001, "server answered login with error 70001: ticket expired"
		case i%301 == 0:
			e.Outcome = event.Failed
			e.Reason = []string{"ws: login: driver: connection closed", "ws: login: driver: connection closed", "ws: login: driver: connection closed",
				"ws: send login: driver: connection closed (broken pipe)", "ws: login: driver: connection closed (connection reset by peer)",
				"ws: login: unexpected EOF", "ws: login: server answered with op \"pong\", want \"login_result\"", "odd"}[(i/301)%8]
		case i%401 == 0:
			e.Outcome, e.Code = event.Failed, 99999
		}
		evs = append(evs, e)
		if i%3 == 0 {
			evs = append(evs, event.Event{Kind: event.Connect, Outcome: event.OK, UserID: user, Device: dev, Platform: p,
				At: at, Latency: time.Duration(1+i%10) * time.Millisecond})
		}
		if i%5 == 0 {
			out := event.OK
			if i%1000 == 5 {
				out = event.TimedOut
			}
			evs = append(evs, event.Event{Kind: event.Heartbeat, Outcome: out, UserID: user, Device: dev, Platform: p,
				At: at, Latency: time.Duration(300+i%500) * time.Microsecond})
		}
		if i%40 == 0 {
			evs = append(evs, event.Event{Kind: event.Kicked, UserID: user, Device: dev, Platform: p, At: at,
				Latency: time.Duration(i%13) * time.Millisecond})
		}
		if i%100 == 0 {
			evs = append(evs, event.Event{Kind: event.Disconnect, UserID: user, Device: dev, Platform: p, At: at})
		}
		if i >= 2990 {
			evs = append(evs, event.Event{Kind: event.Logout, Outcome: event.Cancelled, UserID: user, Device: dev, Platform: p,
				At: at, Reason: "canceled: the run ended"})
		}
		if i%750 == 0 {
			evs = append(evs, event.Event{Kind: event.Misbehaving, UserID: user, Device: dev, Platform: p, At: at, Note: "login storm"})
		}
	}
	return evs
}

func recorder() *metrics.Recorder {
	return metrics.NewRecorder(metrics.WithStart(start), metrics.WithClock(clock.NewFake(start.Add(time.Minute))))
}

// syntheticFile is a whole results file of syntheticEvents with fixed
// environment and thresholds.
func syntheticFile(t *testing.T) *File {
	t.Helper()
	r := recorder()
	for _, e := range syntheticEvents() {
		r.Observe(&e)
	}
	f := &File{
		Schema:       Schema,
		Scenario:     "quickstart",
		ScenarioFile: "scenarios/quickstart.yaml",
		Seed:         42,
		Started:      start,
		Ended:        start.Add(time.Minute),
		Duration:     Duration(time.Minute),
		Environment: Environment{GoVersion: "go1.26.8", OS: "linux", Arch: "amd64", CPUs: 2, Version: "v0.1.0",
			Target: Target{Kind: "embedded", URL: "ws://127.0.0.1:7000/ws"}},
		Metrics: r.Snapshot(),
	}
	for _, expr := range []struct{ expr, metric string }{
		{"login.p99 < 250ms", "login.p99"},
		{"errors.rate < 1%", "errors.rate"},
		{"login.rate > 40", "login.rate"},
		{"resume.p99 < 1s", "resume.p99"},
	} {
		th := Threshold{Expr: expr.expr, Metric: expr.metric}
		v, err := fixtureValue(f.Metrics, expr.metric)
		switch {
		case err != nil:
			th.Error = err.Error()
		case expr.metric == "login.p99":
			th.Actual, th.Pass = v, v < 0.25
		case expr.metric == "errors.rate":
			th.Actual, th.Pass = v, v < 0.01
		default:
			th.Actual, th.Pass = v, v > 40
		}
		f.Thresholds = append(f.Thresholds, th)
	}
	return f
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureValue answers the few metrics the fixtures' thresholds name (the
// evaluator, judge/eval, imports this package).
func fixtureValue(s *metrics.Snapshot, metric string) (float64, error) {
	op, stat, _ := strings.Cut(metric, ".")
	if op == "errors" {
		errs, attempts := s.Errors()
		if attempts == 0 {
			return 0, nil
		}
		return float64(errs) / float64(attempts), nil
	}
	o := s.Op(op)
	if stat == "rate" {
		return o.Rate(), nil
	}
	if o.Samples() == 0 {
		return 0, fmt.Errorf("metric %q: %w", metric, metrics.ErrNoSamples)
	}
	return o.Quantile(0.99).Seconds(), nil
}
