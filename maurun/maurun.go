package maurun

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/imload/imload/agent"
	"github.com/imload/imload/clock"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/internal/yamlpos"
	"github.com/imload/imload/judge/eval"
	"github.com/imload/imload/mau"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/results"
	"github.com/imload/imload/run"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/server"
	"github.com/imload/imload/shard"
	"github.com/imload/imload/target"
	"github.com/imload/imload/usersig"
)

// Workers of a month simulation that leaves mau.workers unset: calls into
// the server in process are cheap, so a few workers keep both cores busy;
// over WebSocket each call waits for a round trip, so more run at once.
const (
	mauInprocWorkers = 4
	mauWSWorkers     = 64
)

// Config decodes and checks the scenario's mau section, with the
// scenario's population and seed filled in where the section leaves them
// out. Every problem is reported in a *scenario.Errors whose entries read
// "file:line:col: mau.key: what is wrong". sc.MAU must not be nil.
func Config(sc *scenario.Scenario) (mau.Config, error) {
	if sc.MAU == nil || sc.MAU.Node == nil {
		return mau.Config{}, errors.New("maurun: the scenario has no mau section")
	}
	n := sc.MAU.Node
	cfg, err := mau.DecodeConfig(n, "mau")
	if err != nil {
		return cfg, positioned(sc.File, n, err)
	}
	switch {
	case cfg.Users == 0:
		cfg.Users = sc.Population.Users
	case cfg.Users != sc.Population.Users:
		return cfg, positioned(sc.File, n, yamlpos.Errorf("mau.users", "%d, but population.users is %d: give the population once, as population.users", cfg.Users, sc.Population.Users))
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(sc.Seed)
	}
	if cfg.Workers == 0 {
		cfg.Workers = mauWSWorkers
		if d, _ := scenario.LookupDriver(sc.Target.Driver); d.InProcess {
			cfg.Workers = mauInprocWorkers
		}
	}
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if cfg.Realtime && cfg.Start != "" {
		// The embedded server dates its days from the run's start.
		errs = append(errs, yamlpos.Errorf("mau.start", "a realtime run starts now and its days carry today's date onwards (Beijing time), as the embedded server dates them; remove start, or realtime"))
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, positioned(sc.File, n, err)
	}
	return cfg, nil
}

// positioned puts the problems of the mau section n (the *yamlpos.Error
// values of mau.DecodeConfig and mau.Config.Validate) at file:line:col.
func positioned(file string, n *yaml.Node, err error) error {
	list := yamlpos.Locate(n, "mau", err)
	for _, e := range list {
		e.File = file
	}
	return scenario.NewErrors(list)
}

// mauStatus prints a status line per simulated day, at most one per
// interval, and always a strategy's last day.
type mauStatus struct {
	w     io.Writer
	every time.Duration
	days  int
	start time.Time
	last  time.Time
}

func (s *mauStatus) day(strategy string, d mau.DayCount) {
	now := time.Now()
	if d.Day != s.days-1 && now.Sub(s.last) < s.every {
		return
	}
	s.last = now
	fmt.Fprintf(s.w, "mau %s: day %d/%d (%s): %d logins, DAU %d, peak online %d; %s elapsed\n",
		strategy, d.Day+1, s.days, d.Date, d.Logins, d.DAU, d.PeakOnline, now.Sub(s.start).Round(100*time.Millisecond))
}

// mauDays is the number of days cfg simulates.
func mauDays(cfg mau.Config) int {
	if cfg.Days > 0 {
		return cfg.Days
	}
	start := cmp.Or(cfg.Start, mau.DefaultStart)
	d, err := mau.ParseDate(start)
	if err != nil {
		return 0
	}
	return d.MonthID().Days() - d.Day + 1
}

// Execute runs the scenario's month simulation (its mau section) instead
// of its phases: the same population and seed under every strategy, each
// against a fresh embedded reference server that shares the simulated
// calendar and the clock the simulation advances, so that the server's own
// logins, DAU and MAU can be cross-checked against the harness's counts
// (every disagreement is a mismatch in the report, judged by the threshold
// mau.mismatches). The report goes into the results file's mau field;
// Report returns it.
func Execute(ctx context.Context, o run.Options) (*run.Outcome, error) {
	return execute(ctx, o, nil)
}

// execute is Execute with wrap, in tests, standing between the app
// sessions and the driver (a target that lies); nil: none.
func execute(ctx context.Context, o run.Options, wrap func(driver.Driver) driver.Driver) (*run.Outcome, error) {
	sc := o.Scenario
	if sc == nil {
		return nil, errors.New("maurun: no scenario")
	}
	if sc.MAU == nil {
		return nil, errors.New("maurun: no mau section")
	}
	if err := o.Shard.Validate(); err != nil {
		return nil, err
	}
	o.Defaults()
	if sc.Target.URL != "" {
		return nil, errors.New("target.url: a scenario with a mau section runs against the embedded server (every strategy on a fresh one)")
	}
	cfg, err := Config(sc)
	if err != nil {
		return nil, err
	}
	thresholds, err := sc.ThresholdList()
	if err != nil {
		return nil, err
	}
	pol, err := sc.Target.LoadPolicy()
	if err != nil {
		return nil, fmt.Errorf("target.policy: %w", err)
	}
	key, err := target.Key(&sc.Target)
	if err != nil {
		return nil, err
	}

	days := mauDays(cfg)
	var opts []mau.Option
	if !o.Shard.Whole() {
		opts = append(opts, mau.WithShard(mau.Shard{Index: o.Shard.Index, Count: o.Shard.Count}))
	}
	if len(sc.Phases) > 0 {
		fmt.Fprintln(o.Log, "mau: note: the scenario's phases are not run; a scenario with a mau section simulates a month instead")
	}
	start := time.Now()
	status := &mauStatus{w: o.Progress, every: o.StatusEvery, days: days, start: start, last: start}
	opts = append(opts, mau.OnDay(status.day))

	faults := append(append([]string(nil), sc.Target.Faults...), o.Faults...)
	if _, err := server.ParseFaults(faults); err != nil {
		return nil, err
	}
	pop := agent.NewPopulation(sc.Population)
	sinks := &mauSinks{sc: sc, pol: pol, realtime: cfg.Realtime,
		oracle: sc.Checks.Kickout.Enabled == nil || *sc.Checks.Kickout.Enabled,
		every:  mau.OracleEvery(cfg.Users, cfg.OracleUsers), shard: o.Shard, users: cfg.Users, userID: pop.UserID}
	tk := &mauTargets{sc: sc, pol: pol, key: key, faults: faults, realtime: cfg.Realtime,
		pop: pop, days: days, log: o.Log, sinks: sinks, wrap: wrap}
	fmt.Fprintf(o.Log, "mau: %d users%s, %d days of %s, %d strategies, seed %d, %d workers; target: a fresh embedded reference server per strategy, %s driver (policy %s)\n",
		cfg.Users, shardNoteMAU(o.Shard), days, cmp.Or(cfg.Day, mau.RealDay), cmp.Or(len(cfg.Strategies), len(mau.PresetNames())), cfg.Seed, cfg.Workers, sc.Target.Driver, pol.Name)
	var rep *mau.Report
	var runErr error
	if cfg.Realtime {
		rep, runErr = simulateRealtime(ctx, cfg, tk.open, opts)
	} else {
		rep, runErr = mau.SimulateMonth(ctx, cfg, cfg.Users, tk.open, opts...)
	}
	end := time.Now()
	interrupted := ctx.Err() != nil
	if runErr != nil && !interrupted {
		return nil, runErr
	}

	f := &results.File{
		Schema:       results.Schema,
		Scenario:     sc.Name,
		ScenarioFile: sc.File,
		Seed:         sc.Seed,
		Shard:        o.Shard.String(),
		Started:      start,
		Ended:        end,
		Duration:     results.Duration(end.Sub(start)),
		Interrupted:  interrupted,
		Environment:  results.CurrentEnvironment(o.Version, results.Target{Kind: results.MonthTargetPrefix + sc.Target.Driver}),
		Metrics:      sinks.snapshot(start),
	}
	f.MAU = rep
	tk.mu.Lock()
	f.Faults = tk.armed
	tk.mu.Unlock()
	if rep != nil {
		rep.Timing = mau.TimingNote(cfg.Realtime)
	}
	out := &run.Outcome{File: f}
	if k := sinks.kickout(); k != nil && !interrupted {
		f.Kickout, out.Kickout = k, k
	}
	if rep != nil && !interrupted {
		f.Thresholds = eval.Thresholds(thresholds, eval.Inputs{Metrics: f.Metrics, Kickout: f.Kickout, MAU: rep})
	} else {
		for _, th := range thresholds { // partial counts, unchecked by the server
			f.Thresholds = append(f.Thresholds, results.Threshold{Expr: th.String(), Metric: th.Metric,
				Error: "the month simulation was interrupted before it ended"})
		}
	}
	out.Passed = results.Passed(f.Thresholds)
	if o.Out != "" {
		if err := results.WriteFile(o.Out, f); err != nil {
			return out, err
		}
	}
	return out, nil
}

// simulateRealtime runs the strategies one after the other in wall time,
// each on a calendar that starts when it does (day 0 is the day it starts,
// in Beijing time, as its server dates it), and gathers them in one report
// whose calendar is the first strategy's.
func simulateRealtime(ctx context.Context, cfg mau.Config, open mau.TargetFunc, opts []mau.Option) (*mau.Report, error) {
	specs := cfg.Strategies
	if len(specs) == 0 {
		for _, name := range mau.PresetNames() {
			specs = append(specs, mau.StrategySpec{Name: name})
		}
	}
	var rep *mau.Report
	for _, spec := range specs {
		one := cfg
		one.Strategies = []mau.StrategySpec{spec}
		// On a whole millisecond: logins are counted by the server time of
		// their answer, which is in whole milliseconds, so that it falls on
		// the day the server counted them in (days are whole milliseconds).
		epoch := time.Now().Truncate(time.Millisecond)
		// Day 0 carries the epoch's date in Beijing time, as the server's
		// calendar does; said explicitly, so that the usage model's
		// weekdays are those dates too.
		one.Start = mau.DateOf(epoch.In(mau.Beijing())).String()
		r, err := mau.SimulateMonth(ctx, one, one.Users, open, append(slices.Clip(opts), mau.WithEpoch(epoch))...)
		switch {
		case rep == nil:
			rep = r
		case r != nil:
			for _, s := range r.Strategies {
				rep.Add(s)
			}
			rep.Mismatches = append(rep.Mismatches, r.Mismatches...)
		}
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func shardNoteMAU(s shard.Shard) string {
	if s.Whole() {
		return ""
	}
	return " (shard " + s.String() + ")"
}

// Report returns the month simulation's report held in the outcome's
// results (nil when the run had no mau section).
func Report(o *run.Outcome) *mau.Report {
	if o == nil || o.File == nil {
		return nil
	}
	return o.File.MAU
}

// mauTargets opens a fresh embedded reference server per strategy.
type mauTargets struct {
	sc       *scenario.Scenario
	pol      *policy.Policy
	key      []byte
	faults   []string
	realtime bool
	pop      *agent.Population
	days     int
	log      io.Writer
	sinks    *mauSinks
	// wrap, in tests, stands between the app sessions and the driver (a
	// target that lies).
	wrap func(driver.Driver) driver.Driver

	mu    sync.Mutex
	armed []results.Fault // the faults' firings over the strategies closed so far
}

// open starts a server on the strategy's calendar: its statistics days are
// the calendar's days, and it reads the clock the runner advances (a fake
// clock set tick by tick, or the wall clock in a realtime run). The runner
// sends no heartbeats and background-keep stands for mobile PushOnline, so
// idle connections, and the detached sessions of a strategy that keeps them,
// are kept for longer than the run.
func (m *mauTargets) open(ctx context.Context, st mau.Strategy, cal mau.Calendar) (mau.Target, error) {
	var clk clock.Clock = clock.Real{}
	if !m.realtime {
		clk = clock.NewFake(cal.Epoch)
	}
	long := time.Duration(m.days+2)*cal.Day + time.Hour
	// Only a strategy that keeps its session in the background resumes it;
	// for the others a dropped session ends at once (the server then keeps
	// no task per detached session for the rest of the run).
	resume := time.Duration(-1)
	if st.KeepBackground {
		resume = long
	}
	sdk := m.sc.Target.SDKAppID
	tgt, err := target.Open(target.Spec{
		Target: &m.sc.Target, Policy: m.pol, Key: m.key, Faults: m.faults, Clock: clk,
		Server: func(c *server.Config) {
			c.Day, c.Epoch, c.IdleTimeout, c.ResumeWindow = cal.Day, cal.Epoch, long, resume
			// Every user logs in again and again with one ticket: remember
			// them all, as a server that has verified a ticket need not
			// verify it again.
			c.TicketCache = max(m.sc.Population.Users, server.DefaultTicketCache)
		},
	})
	if err != nil {
		return mau.Target{}, err
	}
	srv := tgt.Server
	var opTimeout time.Duration
	if tgt.URL != "" { // over sockets, each call is bounded
		opTimeout = m.sc.Target.Timeout.D()
		fmt.Fprintf(m.log, "mau %s: %s\n", st.Name, tgt.About)
	}
	life := max(m.sc.Behaviour.TicketLifetime.D(), long)
	key := m.key
	drv := tgt.Driver
	if m.wrap != nil {
		drv = m.wrap(drv)
	}
	t := mau.Target{
		Driver:    drv,
		SDKAppID:  sdk,
		Clock:     clk,
		UserID:    m.pop.UserID,
		OpTimeout: opTimeout,
		Sign: func(user string, now time.Time) (string, time.Time, error) {
			sig, err := usersig.Gen(sdk, key, user, life, now, nil)
			return sig, now.Add(life), err
		},
		ServerCounts: func(context.Context) (mau.ServerCounts, error) { return serverCounts(srv.Stats()), nil },
		Close: func() error {
			m.mu.Lock()
			m.armed = results.MergeFaults(m.armed, run.FaultRecords(srv.FaultStats()))
			m.mu.Unlock()
			return tgt.Close(10 * time.Second)
		},
	}
	if m.sinks != nil {
		m.sinks.wire(&t, st, cal, tgt, clk)
	}
	return t, nil
}

// serverCounts is the server's own per-day logins and DAU and per-month
// MAU, in the shape mau.CrossCheck compares. (Its per-day peak counts
// sessions logged in, detached ones awaiting resume included, which is not
// the harness's peak of users online; it is not compared.)
func serverCounts(st server.Stats) mau.ServerCounts {
	var sc mau.ServerCounts
	for _, d := range st.Days {
		sc.Days = append(sc.Days, mau.ServerDay{Day: d.Day, Logins: int64(d.Logins), DAU: int(d.LoginUsers)})
	}
	for _, m := range st.Months {
		sc.Months = append(sc.Months, mau.ServerMonth{Month: m.Month, MAU: int(m.MAU)})
	}
	return sc
}
