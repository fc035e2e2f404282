package maurun

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/agent"
	"github.com/imload/imload/judge/eval"
	"github.com/imload/imload/mau"
	"github.com/imload/imload/results"
	"github.com/imload/imload/run"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/shard"
)

// mauYAML is a month-simulation scenario of users over days from 25
// November, so the run crosses into December: a population where most
// users open the app but rarely chat, and some never open it.
func mauYAML(driver string, users, days int, strategies string) string {
	return fmt.Sprintf(`name: mau-test
seed: 5
target:
  driver: %s
population:
  users: %d
mau:
  days: %d
  start: 2026-11-25
  tick: 10m
  segments:
    - {name: chatters, share: 0.3, open_prob: 0.9, sessions_per_day: 2, chat_prob: 0.6, background_prob: 0.5}
    - {name: browsers, share: 0.5, open_prob: 0.3, sessions_per_day: 1.2, chat_prob: 0.02, background_prob: 0.3}
    - {name: dormant, share: 0.2, dormant: true}
  strategies: %s
  pricing:
    currency: USD
    included: 100
    tiers: [{up_to: 0, per_thousand: 3}]
thresholds:
  - mau.mismatches == 0
`, driver, users, days, strategies)
}

func parseScenario(t *testing.T, text string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Parse([]byte(text), filepath.Join(t.TempDir(), "mau.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestExecuteMAU runs a month simulation through Execute on the embedded
// server in process: the server's logins, DAU and MAU agree with the
// harness's, eager costs more MAU than lazy on a population of users who
// open the app without chatting, the run does exactly what the usage model
// projects, and results.json holds the report.
func TestExecuteMAU(t *testing.T) {
	sc := parseScenario(t, mauYAML("inproc", 1500, 10, "[eager, lazy, lazy-logout, background-keep]"))
	out := filepath.Join(t.TempDir(), "results.json")
	var progress bytes.Buffer
	res, err := Execute(t.Context(), run.Options{Scenario: sc, Out: out, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	rep := Report(res)
	if rep == nil {
		t.Fatal("no MAU report")
	}
	if !res.Passed || len(res.File.Thresholds) != 1 || res.File.Thresholds[0].Error != "" {
		t.Errorf("thresholds: %+v", res.File.Thresholds)
	}
	for _, m := range rep.Mismatches {
		t.Errorf("server and harness disagree: %s", m)
	}

	// results.json holds the very report.
	f, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	fromFile := f.MAU
	if fromFile == nil {
		t.Fatal("results.json holds no mau section")
	}
	// (compared as written: the outcome holds the report as made, the
	// file as read back)
	if a, b := mustJSON(t, fromFile), mustJSON(t, rep); !bytes.Equal(a, b) {
		t.Errorf("results.json's mau differs from the outcome's report:\n%s\n%s", a, b)
	}

	// The run matches the model's projection (an always-accepting target).
	cfg, err := Config(sc)
	if err != nil {
		t.Fatal(err)
	}
	proj, err := mau.SimulateMonth(t.Context(), cfg, cfg.Users, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, s := range rep.Strategies {
		names = append(names, s.Name)
		p := proj.Strategies[i]
		if s.Ops.LoginsFailed != 0 || len(s.Ops.Failures) != 0 {
			t.Errorf("%s: failures %v (first: %s)", s.Name, s.Ops.Failures, s.Ops.FirstError)
		}
		if !reflect.DeepEqual(s.Months, p.Months) || s.Logins() != p.Logins() {
			t.Errorf("%s: months %v logins %d, projected %v %d", s.Name, s.Months, s.Logins(), p.Months, p.Logins())
		}
	}
	if want := []string{"eager", "lazy", "lazy-logout", "background-keep"}; !slices.Equal(names, want) {
		t.Fatalf("strategies %v, want %v", names, want)
	}
	eager, _ := rep.Strategy(mau.Eager)
	lazy, _ := rep.Strategy(mau.Lazy)
	lazyOut, _ := rep.Strategy(mau.LazyLogout)
	keep, _ := rep.Strategy(mau.BackgroundKeep)
	if len(eager.Months) != 2 || eager.Months[0].Month != "2026-11" || eager.Months[1].Month != "2026-12" {
		t.Fatalf("months %v, want 2026-11 and 2026-12", eager.Months)
	}
	for i := range eager.Months {
		if eager.Months[i].MAU <= lazy.Months[i].MAU {
			t.Errorf("%s: eager MAU %d, lazy %d", eager.Months[i].Month, eager.Months[i].MAU, lazy.Months[i].MAU)
		}
		if lazyOut.Months[i].MAU != lazy.Months[i].MAU {
			t.Errorf("%s: lazy-logout MAU %d, lazy %d (same logins)", lazy.Months[i].Month, lazyOut.Months[i].MAU, lazy.Months[i].MAU)
		}
	}
	if eager.Cost.Total <= lazy.Cost.Total || rep.Cheapest == mau.Eager || eager.Cost.OverCheapest <= 0 {
		t.Errorf("cost eager %.2f (+%.2f), lazy %.2f, cheapest %s", eager.Cost.Total, eager.Cost.OverCheapest, lazy.Cost.Total, rep.Cheapest)
	}
	if lazyOut.PeakOnline > lazy.PeakOnline {
		t.Errorf("peak online lazy-logout %d > lazy %d", lazyOut.PeakOnline, lazy.PeakOnline)
	}
	var reconnects int64
	for _, d := range keep.Days {
		reconnects += d.Reconnects
	}
	if reconnects == 0 || keep.Logins() >= eager.Logins() {
		t.Errorf("background-keep: %d reconnects, %d logins (eager %d)", reconnects, keep.Logins(), eager.Logins())
	}
	if !strings.Contains(progress.String(), "mau background-keep: day 10/10 (2026-12-04)") {
		t.Errorf("progress lacks the last day:\n%s", progress.String())
	}
}

// TestExecuteMAUWebSocket: the same agreement over the ws driver, the
// embedded server on a loopback port per strategy.
func TestExecuteMAUWebSocket(t *testing.T) {
	sc := parseScenario(t, mauYAML("ws", 150, 4, "[eager, background-keep]"))
	res, err := Execute(t.Context(), run.Options{Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	rep := Report(res)
	if rep == nil {
		t.Fatal("no MAU report")
	}
	if !res.Passed || len(rep.Mismatches) != 0 {
		t.Errorf("passed %v, mismatches %v", res.Passed, rep.Mismatches)
	}
	for _, s := range rep.Strategies {
		if s.Logins() == 0 || s.Ops.LoginsFailed != 0 || len(s.Ops.Failures) != 0 {
			t.Errorf("%s: %d logins, failures %v (first: %s)", s.Name, s.Logins(), s.Ops.Failures, s.Ops.FirstError)
		}
	}
}

// TestExecuteMAURealtime: in wall time every strategy runs on a calendar
// that starts when it does, dated as its server dates it, and the counts
// agree.
func TestExecuteMAURealtime(t *testing.T) {
	text := "population: {users: 200}\nmau:\n  realtime: true\n  day: 150ms\n  days: 3\n  tick: 30m\n" +
		"  strategies: [eager, lazy]\nthresholds: [mau.mismatches == 0]\n"
	before := mau.DateOf(time.Now().In(mau.Beijing()))
	res, err := Execute(t.Context(), run.Options{Scenario: parseScenario(t, text)})
	if err != nil {
		t.Fatal(err)
	}
	after := mau.DateOf(time.Now().In(mau.Beijing()))
	rep := Report(res)
	if rep == nil {
		t.Fatal("no MAU report")
	}
	if !res.Passed || len(rep.Mismatches) != 0 {
		t.Errorf("passed %v, mismatches %v", res.Passed, rep.Mismatches)
	}
	if s := rep.Calendar.Start; !rep.Calendar.Realtime || (s != before.String() && s != after.String()) {
		t.Errorf("calendar %+v, want realtime from %s", rep.Calendar, before)
	}
	for _, s := range rep.Strategies {
		// On a busy machine the last logins may end after the month: they
		// are counted outside the run (and the cross-check accepts the
		// server's day after for them), but only a few.
		if s.Logins() == 0 || s.Outside*100 > int64(s.Logins()) || s.Ops.LoginsFailed != 0 {
			t.Errorf("%s: %d logins, %d outside the run, %d failed", s.Name, s.Logins(), s.Outside, s.Ops.LoginsFailed)
		}
	}
}

// TestExecuteMAUInterrupted: a month simulation whose context ends still
// writes its results, marked interrupted, and fails its thresholds.
func TestExecuteMAUInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	out := filepath.Join(t.TempDir(), "results.json")
	res, err := Execute(ctx, run.Options{Scenario: parseScenario(t, mauYAML("inproc", 100, 5, "[eager, lazy]")), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	f, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Interrupted || !res.File.Interrupted {
		t.Error("not marked interrupted")
	}
	if res.Passed {
		t.Errorf("an interrupted month passed its thresholds: %+v", res.File.Thresholds)
	}
}

// TestMAUCrossCheckCatchesServerMiscount feeds the cross-check server
// counts that differ from what the server counted: every difference is a
// mismatch of the strategy, and mau.mismatches == 0 fails.
func TestMAUCrossCheckCatchesServerMiscount(t *testing.T) {
	sc := parseScenario(t, mauYAML("inproc", 300, 10, "[eager, lazy]"))
	cfg, err := Config(sc)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := sc.Target.LoadPolicy()
	if err != nil {
		t.Fatal(err)
	}
	tk := &mauTargets{sc: sc, pol: pol, key: []byte("k"), pop: agent.NewPopulation(sc.Population), days: cfg.Days}
	miscount := func(ctx context.Context, st mau.Strategy, cal mau.Calendar) (mau.Target, error) {
		tgt, err := tk.open(ctx, st, cal)
		if err != nil || st.Name != mau.Lazy {
			return tgt, err
		}
		counts := tgt.ServerCounts
		tgt.ServerCounts = func(ctx context.Context) (mau.ServerCounts, error) {
			c, err := counts(ctx)
			c.Days[0].Logins++                                      // one login too many on day 0
			c.Months = c.Months[:1]                                 // December's MAU lost
			c.Days = append(c.Days, mau.ServerDay{Day: 40, DAU: 1}) // a day the run never had
			return c, err
		}
		return tgt, nil
	}
	rep, err := mau.SimulateMonth(t.Context(), cfg, cfg.Users, miscount)
	if err != nil {
		t.Fatal(err)
	}
	lazy, _ := rep.Strategy(mau.Lazy)
	want := []mau.Mismatch{
		{Strategy: "lazy", Measure: "logins", Key: "2026-11-25", Harness: lazy.Days[0].Logins, Server: lazy.Days[0].Logins + 1},
		{Strategy: "lazy", Measure: "dau", Key: "day 40", Harness: 0, Server: 1},
		{Strategy: "lazy", Measure: "mau", Key: "2026-12", Harness: int64(lazy.Months[1].MAU), Server: 0},
	}
	if !reflect.DeepEqual(rep.Mismatches, want) {
		t.Errorf("mismatches\n%v\nwant\n%v", rep.Mismatches, want)
	}
	th, err := scenario.ParseThreshold("mau.mismatches == 0")
	if err != nil {
		t.Fatal(err)
	}
	got := eval.Thresholds([]scenario.Threshold{th}, eval.Inputs{MAU: rep})
	if got[0].Pass || got[0].Actual != 3 || got[0].Error != "" {
		t.Errorf("threshold %+v, want failed with 3", got[0])
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "server cross-check: 3 mismatches") {
		t.Errorf("report text does not show the mismatches:\n%s", text.String())
	}
}

// TestMAUShardsMerge: the shards of a month simulation merge into the
// whole run's MAU, and the merged run judges mau.mismatches again.
func TestMAUShardsMerge(t *testing.T) {
	text := mauYAML("inproc", 600, 10, "[eager, lazy]")
	whole, err := Execute(t.Context(), run.Options{Scenario: parseScenario(t, text)})
	if err != nil {
		t.Fatal(err)
	}
	var files []*results.File
	for i := range 2 {
		res, err := Execute(t.Context(), run.Options{Scenario: parseScenario(t, text), Shard: shard.Shard{Index: i, Count: 2}})
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, res.File)
	}
	merged, err := run.MergeFiles(files...)
	if err != nil {
		t.Fatal(err)
	}
	w := Report(whole)
	m := Report(merged)
	if m == nil {
		t.Fatal("merged report: none")
	}
	for i, s := range w.Strategies {
		if !reflect.DeepEqual(s.Months, m.Strategies[i].Months) || s.Logins() != m.Strategies[i].Logins() {
			t.Errorf("%s: whole %v %d logins, merged %v %d", s.Name, s.Months, s.Logins(), m.Strategies[i].Months, m.Strategies[i].Logins())
		}
	}
	if !merged.Passed || len(merged.File.Thresholds) != 1 || merged.File.Thresholds[0].Error != "" {
		t.Errorf("merged thresholds %+v", merged.File.Thresholds)
	}
}

// TestMAUConfigErrors: problems of the mau section are reported at their
// file:line:col, from the unknown keys and types of DecodeConfig to the
// values Validate checks.
func TestMAUConfigErrors(t *testing.T) {
	cases := []struct {
		file string
		want []string
	}{
		{"mau-bad.yaml", []string{
			"testdata/mau-bad.yaml:11:7: mau.segments[0].opne_prob: unknown key (allowed: name, users, share, dormant, open_prob, weekend_open_prob, sessions_per_day, session_length, chat_prob, chat_length, background_prob, joining, churning)",
		}},
		{"mau-bad-type.yaml", []string{
			`testdata/mau-bad-type.yaml:5:9: mau.days: expected a whole number, got "lots"`,
			"testdata/mau-bad-type.yaml:6:12: mau.workers: expected a whole number, got a list",
		}},
		{"mau-bad-values.yaml", []string{
			"testdata/mau-bad-values.yaml:4:8: mau.day: must be at least 1ms (e.g. 2s, or 24h for real days), got 500µs",
			"testdata/mau-bad-values.yaml:5:9: mau.tick: must divide 24h and lie in [1s, 1h] (e.g. 1m, 5m), got 7m0s",
			"testdata/mau-bad-values.yaml:7:5: mau.segments: segments cover 0 users by count and 1500 by share, but there are 1000 users (shares are fractions of the whole population)",
			"testdata/mau-bad-values.yaml:8:14: mau.segments[0].share: must be a probability in [0, 1], got 1.5",
			`testdata/mau-bad-values.yaml:10:23: mau.strategies[1]: strategy "eager" is listed twice`,
			`testdata/mau-bad-values.yaml:10:30: mau.strategies[2]: logout_on: expected never, chat_close or app_close, got "soon"`,
			"testdata/mau-bad-values.yaml:12:15: mau.pricing.included: must be >= 0, got -5",
			"testdata/mau-bad-values.yaml:13:21: mau.pricing.tiers[0].up_to: the last tier must have up_to: 0 (no limit), got 10",
		}},
		{"mau-realtime-start.yaml", []string{
			"testdata/mau-realtime-start.yaml:6:10: mau.start: a realtime run starts now and its days carry today's date onwards (Beijing time), as the embedded server dates them; remove start, or realtime",
		}},
		{"mau-users.yaml", []string{
			"testdata/mau-users.yaml:4:10: mau.users: 2000, but population.users is 1000: give the population once, as population.users",
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			sc, err := scenario.Load("testdata/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Config(sc)
			if err == nil {
				t.Fatal("accepted")
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, c.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if _, err := Execute(t.Context(), run.Options{Scenario: sc}); err == nil {
				t.Error("Execute ran it")
			}
		})
	}
}

// TestMAUConfigFromScenario: the section takes the scenario's population
// and seed, and a worker count fitting the driver, when it gives none.
func TestMAUConfigFromScenario(t *testing.T) {
	cases := []struct {
		driver      string
		workers     int
		wantWorkers int
	}{
		{"inproc", 0, mauInprocWorkers},
		{"ws", 0, mauWSWorkers},
		{"inproc", 9, 9},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%d", c.driver, c.workers), func(t *testing.T) {
			text := fmt.Sprintf("seed: 77\ntarget: {driver: %s}\npopulation: {users: 1234}\nmau: {workers: %d}\n", c.driver, c.workers)
			if c.workers == 0 {
				text = fmt.Sprintf("seed: 77\ntarget: {driver: %s}\npopulation: {users: 1234}\nmau: {}\n", c.driver)
			}
			cfg, err := Config(parseScenario(t, text))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Users != 1234 || cfg.Seed != 77 || cfg.Workers != c.wantWorkers {
				t.Errorf("users %d seed %d workers %d, want 1234 77 %d", cfg.Users, cfg.Seed, cfg.Workers, c.wantWorkers)
			}
		})
	}
}

// TestMAUThresholds: a month simulation measures only the mau metrics, and
// a run of phases none of them.
func TestMAUThresholds(t *testing.T) {
	rep := &mau.Report{Mismatches: []mau.Mismatch{{Measure: "mau", Key: "2026-11", Harness: 2, Server: 1}}}
	cases := []struct {
		expr    string
		rep     *mau.Report
		pass    bool
		actual  float64
		errPart string
	}{
		{"mau.mismatches == 0", rep, false, 1, ""},
		{"mau.mismatches <= 1", rep, true, 1, ""},
		{"mau.mismatches == 0", &mau.Report{}, true, 0, ""},
		{"login.p99 < 1s", rep, false, 0, "login.p99 is not measured by a month simulation (allowed: mau.mismatches)"},
		{"kickout.violations == 0", rep, false, 0, "not measured by a month simulation"},
		{"mau.mismatches == 0", nil, false, 0, "only by a scenario with a mau section"},
	}
	// An unknown mau metric is refused when the scenario is parsed, before
	// any run (the evaluation refused it only at the end).
	if _, err := scenario.ParseThreshold("mau.eager.count > 0"); err == nil || !strings.Contains(err.Error(), `unknown metric "mau.eager.count"`) {
		t.Errorf("mau.eager.count: %v, want it refused as an unknown metric", err)
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			th, err := scenario.ParseThreshold(c.expr)
			if err != nil {
				t.Fatal(err)
			}
			got := eval.Thresholds([]scenario.Threshold{th}, eval.Inputs{MAU: c.rep})[0]
			if got.Pass != c.pass || got.Actual != c.actual || !strings.Contains(got.Error, c.errPart) || (c.errPart == "") != (got.Error == "") {
				t.Errorf("got %+v, want pass %v actual %v error containing %q", got, c.pass, c.actual, c.errPart)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A month simulation records the armed faults, one record each over every
// strategy's server. One app per user displaces nobody and the server never
// restarts, so neither fires, and each says why.
func TestMAURecordsFaults(t *testing.T) {
	sc := parseScenario(t, mauYAML("inproc", 200, 3, "[eager, background-keep]"))
	res, err := Execute(t.Context(), run.Options{Scenario: sc, Faults: []string{"lose-session-on-restart", "kick-not-delivered"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []results.Fault{
		{Name: "kick-not-delivered", Why: "no login displaced a session"},
		{Name: "lose-session-on-restart", Why: "the server never restarted (no restart_server event)"},
	}
	if fs := res.File.Faults; !slices.Equal(fs, want) {
		t.Fatalf("faults %+v, want %+v", fs, want)
	}
}

// run.Execute runs phases only: a scenario with a mau section given to it
// is refused with an error naming maurun.Execute.
func TestRunExecuteRefusesMAU(t *testing.T) {
	_, err := run.Execute(t.Context(), run.Options{Scenario: parseScenario(t, mauYAML("inproc", 10, 1, "[eager]"))})
	if err == nil || !strings.Contains(err.Error(), "maurun.Execute") {
		t.Fatalf("got %v, want a refusal naming maurun.Execute", err)
	}
}
