package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/imload/imload/agent"
	"github.com/imload/imload/check"
	"github.com/imload/imload/clock"
	"github.com/imload/imload/event"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/pacer"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/results"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/server"
	"github.com/imload/imload/target"
)

// Options of one run.
type Options struct {
	Scenario *scenario.Scenario
	// Faults of the embedded server, added to the scenario's target.faults.
	Faults []string
	// Out is the results file to write ("" : none).
	Out string
	// Progress receives the live view; TTY selects bars over plain lines.
	Progress io.Writer
	TTY      bool
	// StatusEvery is the interval of plain status lines (default 5s).
	StatusEvery time.Duration
	// Version is imload's version, recorded in the results.
	Version string
	// Log receives notes about the run (where the target listens, ...).
	Log io.Writer
	// Shard is this process's part of a run split over several (zero: the
	// whole run); see Shard.
	Shard Shard
	// MetricsAddr, when set, serves Prometheus metrics at /metrics on this
	// address during the run; MetricsLinger keeps serving them that long
	// after the run has been judged, so that a last scrape sees the final
	// figures. Prom, when set, receives the metrics (served or not).
	MetricsAddr   string
	MetricsLinger time.Duration
	Prom          *Prom
	// Sink, when set, also receives every event of the devices.
	Sink event.Sink

	// webhookWrap, in tests, stands between the target's State.StateChange
	// callbacks and the run's listener (a target that lies).
	webhookWrap handlerWrap
	// tickets, in tests, stands between the devices and the tickets they
	// are given (tickets that are corrupt, counted, ...).
	tickets func(agent.Tickets) agent.Tickets
}

// defaults fills the options a caller left empty.
func (o *Options) defaults() {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.StatusEvery <= 0 {
		o.StatusEvery = 5 * time.Second
	}
}

// Outcome is what a run produced.
type Outcome struct {
	File    *results.File
	Kickout *check.Report // nil when the oracle was off
	// Passed: every threshold passed (true when there are none).
	Passed bool
	// Server is the embedded server's counters once every device has ended
	// (nil for a target URL).
	Server *server.Stats
	// Lines to print after the summary (e.g. oracle verdicts).
}

// Execute runs o.Scenario to its end or until ctx is done (then the results
// are marked interrupted), and writes the results file. An error means the run
// could not start or its results could not be written.
func Execute(ctx context.Context, o Options) (*Outcome, error) {
	sc := o.Scenario
	if sc == nil {
		return nil, errors.New("run: no scenario")
	}
	if sc.MAU != nil {
		return ExecuteMAU(ctx, o) // a month simulation instead of phases
	}
	sc, err := o.Shard.apply(sc)
	if err != nil {
		return nil, err
	}
	o.defaults()
	thresholds, err := scenarioThresholds(sc)
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

	clk := clock.Real{}
	wh, err := startWebhooks(sc, &o)
	if err != nil {
		return nil, err
	}
	defer wh.close()
	tgt, err := target.Open(target.Spec{
		Target: &sc.Target, Policy: pol, Key: key, Clock: clk,
		Faults:         append(append([]string(nil), sc.Target.Faults...), o.Faults...),
		WebhookURL:     wh.url(),
		TicketLifetime: sc.Behaviour.TicketLifetime.D(),
	})
	if err != nil {
		return nil, err
	}
	if tgt.About != "" {
		fmt.Fprintf(o.Log, "target: %s (policy %s)\n", tgt.About, pol.Name)
	}
	closeBudget := 5 * time.Second
	defer func() { _ = tgt.Close(closeBudget) }()
	wh.attach(tgt.Server)

	start := clk.Now()
	rec := metrics.NewRecorder(metrics.WithStart(start), metrics.WithClock(clk))
	kickCfg := sc.Checks.Kickout
	oracleOn := kickCfg.Enabled == nil || *kickCfg.Enabled
	var hist *check.History
	sinks := event.Sinks{rec}
	if oracleOn {
		hist = check.NewHistory()
		sinks = append(sinks, hist)
	}
	live := &Live{}
	sinks = append(sinks, live)
	rm, err := startRunMetrics(&o, live, sc, tgt.Server)
	if err != nil {
		return nil, err
	}
	defer rm.close(ctx)
	if rm != nil {
		sinks = append(sinks, rm.p)
	}
	if o.Sink != nil {
		sinks = append(sinks, o.Sink)
	}

	cfg := agent.ScenarioConfig(sc)
	cfg.Driver = tgt.Driver
	cfg.Tickets = tgt.Tickets
	if o.tickets != nil {
		cfg.Tickets = o.tickets(cfg.Tickets)
	}
	cfg.Sink = sinks
	cfg.Clock = clk
	cfg.Book = agent.NewLoginBook()
	pop := agent.NewPopulation(sc.Population)
	users, err := o.Shard.picker(pop, sc.Population.Users)
	if err != nil {
		return nil, err
	}
	planner, err := agent.NewPlanner(sc.Seed, sc, users)
	if err != nil {
		return nil, err
	}
	pool := agent.NewPool(cfg, planner)
	timeline, err := pacer.Schedule(sc.Phases)
	if err != nil {
		return nil, err
	}

	live.begin(start, sc.Phases)
	viewCtx, stopView := context.WithCancel(context.Background())
	var viewWG sync.WaitGroup
	viewWG.Add(1)
	go func() {
		defer viewWG.Done()
		live.show(viewCtx, o.Progress, o.TTY, sc.Phases, o.StatusEvery)
	}()

	// The target's view of who is online, read at the end of the last phase
	// while the devices still hold their sessions.
	var statusAt time.Time
	readStatus := func() {
		if hist == nil || !tgt.Traits.ServerTime {
			return
		}
		statusAt = clk.Now()
		for k := range o.Shard.Users(sc.Population.Users) {
			uid := pop.UserID(o.Shard.User(k))
			// Devices go on while users are read: each user's status is
			// judged at its own read.
			from := clk.Now()
			sessions := tgt.Server.OnlineStatus(uid)
			to := clk.Now()
			inst := make([]policy.Instance, 0, len(sessions))
			for _, s := range sessions {
				inst = append(inst, policy.Instance{ID: s.Instance, Platform: s.Platform, Seq: s.Seq})
			}
			hist.SetServerOnlineAt(uid, inst, from, to)
		}
	}
	spawn := func(ctx context.Context, a pacer.Arrival) {
		a.Index = o.Shard.Device(a.Index)
		live.DeviceStarted()
		defer live.DeviceEnded()
		pool.Spawn(ctx, a)
	}
	runErr := timeline.Run(ctx, spawn, pacer.WithClock(clk), pacer.WithBeforeStop(readStatus))
	end := clk.Now()
	stopView()
	viewWG.Wait()
	interrupted := runErr != nil || ctx.Err() != nil
	// An interrupted run must end promptly (Ctrl-C is answered within two
	// seconds): what is still in flight gets a short budget.
	finishBudget := 10 * time.Second
	if interrupted {
		finishBudget = 500 * time.Millisecond
	}
	closeBudget = finishBudget

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
		Environment:  results.CurrentEnvironment(o.Version, results.Target{Kind: tgt.Kind, URL: tgt.URL}),
		Metrics:      rec.Snapshot(),
	}
	out := &Outcome{File: f, Passed: true}
	if tgt.Server != nil {
		st := tgt.Server.Stats()
		out.Server = &st
	}
	if hist != nil {
		if note := wh.finish(hist, finishBudget); note != "" {
			fmt.Fprintln(o.Log, note)
		}
		opts := check.Options{
			Grace:          kickCfg.Grace.D(),
			LateAfter:      kickCfg.LateAfter.D(),
			Examples:       kickCfg.Examples,
			End:            end,
			StatusAt:       statusAt,
			Mode:           oracleMode(tgt.Traits),
			AnonymousKicks: tgt.Traits.AnonymousKicks,
			RefusalCodes:   tgt.Traits.RefusalCodes,
		}
		out.Kickout = check.Check(hist, pol, opts)
		f.Kickout = out.Kickout
	}
	f.Thresholds = evalThresholds(thresholds, f.Metrics, out.Kickout)
	out.Passed = passed(f.Thresholds)
	rm.finish(out.Kickout)
	if o.Out != "" {
		if err := results.WriteFile(o.Out, f); err != nil {
			return out, err
		}
	}
	return out, nil
}

// oracleMode orders a user's logins by their numbers when the target
// numbers them (check.Auto still searches for users whose logins lack
// one), and searches for an order otherwise.
func oracleMode(tr target.Traits) check.Mode {
	if tr.Sequenced {
		return check.Auto
	}
	return check.Search
}

// passed reports whether every threshold passed (true when there are none).
func passed(ths []results.Threshold) bool {
	for _, t := range ths {
		if !t.Pass {
			return false
		}
	}
	return true
}
