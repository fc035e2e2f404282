package report

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imload/imload/check"
	"github.com/imload/imload/clock"
	"github.com/imload/imload/event"
	"github.com/imload/imload/judge/eval"
	"github.com/imload/imload/mau"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/results"
)

var update = flag.Bool("update", false, "rewrite testdata/synthetic.json and the golden files")

// synthStart and synthSpan frame the synthetic run.
var synthStart = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)

const synthSpan = 12 * time.Second

const synthFile = "testdata/synthetic.json"

// synthEvents is a deterministic 12-second run of 240 devices on four
// platforms: each connects and logs in (some refused with 70001 or 6017,
// some timed out), some are kicked with a notice delay, some drop and
// resume, some kill the app, half of the rest log out.
func synthEvents() []event.Event {
	rng := rand.New(rand.NewPCG(7, 11))
	lat := func(median time.Duration, sigma float64) time.Duration {
		return time.Duration(float64(median) * math.Exp(rng.NormFloat64()*sigma))
	}
	plats := []policy.Platform{policy.Android, policy.IPhone, policy.Web, policy.Windows}
	var evs []event.Event
	for d := range 240 {
		p := plats[d%len(plats)]
		user := fmt.Sprintf("u%03d", d/2)
		dev := fmt.Sprintf("%s-%s", user, p)
		base := event.Event{UserID: user, Device: dev, Platform: p}
		op := func(k event.Kind, at time.Duration, l time.Duration, out event.Outcome, code int) {
			e := base
			e.Kind, e.Outcome, e.Code = k, out, code
			e.Latency = l
			e.At = synthStart.Add(at + l)
			evs = append(evs, e)
		}
		other := func(k event.Kind, at time.Duration, l time.Duration) {
			e := base
			e.Kind, e.Latency, e.At = k, l, synthStart.Add(at)
			evs = append(evs, e)
		}
		t := time.Duration(d) * 20 * time.Millisecond
		op(event.Connect, t, lat(2*time.Millisecond, 0.6), event.OK, 0)
		t += 10 * time.Millisecond
		switch {
		case d%37 == 5:
			op(event.Login, t, 2*time.Second, event.TimedOut, 0)
			continue
		case d%29 == 3:
			op(event.Login, t, lat(4*time.Millisecond, 0.5), event.Failed, 70001)
			continue
		case d%41 == 7:
			op(event.Login, t, lat(4*time.Millisecond, 0.5), event.Failed, 6017)
			continue
		}
		l := lat(6*time.Millisecond, 0.9)
		op(event.Login, t, l, event.OK, 0)
		t += l + time.Duration(3000+rng.IntN(3000))*time.Millisecond
		switch {
		case d%9 == 0:
			other(event.Kicked, t, lat(3*time.Millisecond, 0.7))
		case d%7 == 1:
			other(event.Disconnect, t, 0)
			t += 500 * time.Millisecond
			if d%14 == 1 {
				op(event.Resume, t, lat(3*time.Millisecond, 0.4), event.Failed, 6208)
			} else {
				op(event.Resume, t, lat(3*time.Millisecond, 0.4), event.OK, 0)
			}
		case d%11 == 2:
			other(event.AppKill, t, 0)
		case d%2 == 0:
			op(event.Logout, t, lat(5*time.Millisecond, 0.8), event.OK, 0)
		}
	}
	return evs
}

// synthKickout is an oracle report with two violations and their timelines.
func synthKickout() *check.Report {
	r := &check.Report{
		Mode: "sequence", Policy: "dual-platform", GraceMS: 1000, LateAfterMS: 1000, ExampleLimit: 3,
		Checks: check.Checks{Users: 120, SequenceUsers: 120, Logins: 220, Kicks: 24, Displacements: 25, StatusUsers: 120},
	}
	r.Verdicts[check.WrongVictim] = check.Verdict{Count: 1, Examples: []check.Example{{User: "u010",
		Text: "+3.010s u010-Android login ok seq 4\n+3.012s u010-iPhone kicked by seq 4 (policy displaces u010-Web)"}}}
	r.Verdicts[check.LateKick] = check.Verdict{Count: 1, Examples: []check.Example{{User: "u044",
		Text: "+5.200s u044-Web login ok seq 2\n+6.900s u044-Windows kicked by seq 2 (1.7s after the login)"}}}
	for i := range 24 {
		r.KickLatency.Record(time.Duration(500+i*150) * time.Microsecond)
	}
	return r
}

// synthMAU compares two strategies over three days that span two months.
func synthMAU() *mau.Report {
	days := func(dau ...int) []mau.DayCount {
		dates := []string{"2026-01-30", "2026-01-31", "2026-02-01"}
		out := make([]mau.DayCount, len(dau))
		for i, n := range dau {
			out[i] = mau.DayCount{Day: i, Date: dates[i], Logins: int64(n) * 2, DAU: n, Active: n + 5, Reconnects: int64(n / 3), PeakOnline: int64(n / 2)}
		}
		return out
	}
	res := func(name string, spec mau.StrategySpec, jan, feb int, total float64, over float64, dau ...int) mau.StrategyResult {
		d := days(dau...)
		var logins int64
		for _, x := range d[:2] {
			logins += x.Logins
		}
		return mau.StrategyResult{
			Name: name, Spec: spec,
			Counts: mau.Counts{Users: 500, Days: d, PeakOnline: 210, Months: []mau.MonthCount{
				{Month: "2026-01", FirstDay: 0, Days: 2, MAU: jan, Logins: logins},
				{Month: "2026-02", FirstDay: 2, Days: 1, MAU: feb, Logins: d[2].Logins},
			}},
			Cost: mau.Cost{Currency: "USD", Total: total, OverCheapest: over, Months: []mau.MonthCost{
				{Month: "2026-01", MAU: jan, Amount: total / 2}, {Month: "2026-02", MAU: feb, Amount: total / 2},
			}},
			Ops:       mau.OpStats{Logins: logins + d[2].Logins, LoginsFailed: 3},
			Projected: true,
		}
	}
	return &mau.Report{
		Version:    mau.ReportVersion,
		Calendar:   mau.CalendarInfo{Start: "2026-01-30", End: "2026-02-01", Days: 3, Zone: "Asia/Shanghai", Day: "2s", Tick: "1m"},
		Seed:       7,
		Population: 500, Users: 500,
		Segments: []mau.SegmentInfo{{Name: "daily", Users: 300}, {Name: "weekly", Users: 200}},
		Pricing:  mau.Pricing{Currency: "USD", Included: 100},
		Strategies: []mau.StrategyResult{
			res("eager", mau.StrategySpec{Name: "eager"}, 480, 350, 4.2, 1.1, 340, 330, 350),
			res("lazy", mau.StrategySpec{Name: "lazy", LoginOn: "chat_open", LogoutOn: "never"}, 400, 260, 3.1, 0, 250, 240, 260),
		},
		Cheapest: "lazy",
	}
}

// newSynthFile builds the synthetic results file.
func newSynthFile(t testing.TB) *results.File {
	fail := func(err error) {
		if t == nil {
			panic(err)
		}
		t.Fatal(err)
	}
	rec := metrics.NewRecorder(metrics.WithStart(synthStart), metrics.WithClock(clock.NewFake(synthStart.Add(synthSpan))))
	for _, e := range synthEvents() {
		rec.Observe(&e)
	}
	snap := rec.Snapshot()
	f := &results.File{
		Schema: results.Schema, Scenario: "synthetic", ScenarioFile: "testdata/synthetic.yaml", Seed: 7,
		Started: synthStart, Ended: synthStart.Add(synthSpan), Duration: results.Duration(synthSpan),
		Environment: results.Environment{GoVersion: "go1.26.0", OS: "linux", Arch: "amd64", CPUs: 2, Version: "v0.0.0-test",
			Target: results.Target{Kind: "embedded", URL: "ws://127.0.0.1:9/v1/ws"}},
		Metrics: snap,
		Kickout: synthKickout(),
		MAU:     synthMAU(),
	}
	for _, th := range []struct {
		expr, metric string
		limit        float64
	}{{"login.p99 < 50ms", "login.p99", 0.05}, {"errors.rate < 1%", "errors.rate", 0.01}} {
		v, err := eval.Metric(th.metric, eval.Inputs{Metrics: snap})
		if err != nil {
			fail(err)
		}
		f.Thresholds = append(f.Thresholds, results.Threshold{Expr: th.expr, Metric: th.metric, Actual: v, Pass: v < th.limit})
	}
	return f
}

// TestMain rewrites testdata/synthetic.json before the tests when -update
// is given, so every test reads the same committed input.
func TestMain(m *testing.M) {
	flag.Parse()
	if *update {
		if err := results.WriteFile(synthFile, newSynthFile(nil)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// loadSynth reads testdata/synthetic.json.
func loadSynth(t testing.TB) *results.File {
	t.Helper()
	f, err := results.ReadFile(filepath.FromSlash(synthFile))
	if err != nil {
		t.Fatalf("%v (go test ./report -update creates it)", err)
	}
	return f
}

// withSection returns f as read back from a results file whose section key
// ("kickout", "mau") holds raw: how a file with any such section reads.
func withSection(t testing.TB, f *results.File, key string, raw []byte) *results.File {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	doc[key] = raw
	if b, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	g, err := results.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
