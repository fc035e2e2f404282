package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/imload/imload/agent"
	"github.com/imload/imload/check"
	"github.com/imload/imload/clock"
	"github.com/imload/imload/event"
	"github.com/imload/imload/failfast"
	"github.com/imload/imload/health"
	"github.com/imload/imload/hooks"
	"github.com/imload/imload/live"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/pacer"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/promsink"
	"github.com/imload/imload/results"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/server"
	"github.com/imload/imload/shard"
	"github.com/imload/imload/storm/play"
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
	// whole run); see package shard.
	Shard shard.Shard
	// MetricsAddr, when set, serves Prometheus metrics at /metrics on this
	// address during the run; MetricsLinger keeps serving them that long
	// after the run has been judged, so that a last scrape sees the final
	// figures. Prom, when set, receives the metrics (served or not).
	MetricsAddr   string
	MetricsLinger time.Duration
	Prom          *promsink.Sink
	// Sink, when set, also receives every event of the devices.
	Sink event.Sink
	// RestartCommand is the operator's command that restarts an external
	// target for a restart_server event; it runs only with AllowExec
	// (--restart-cmd, --allow-exec), never from a scenario alone.
	RestartCommand []string
	AllowExec      bool

	// webhookWrap, in tests, stands between the target's State.StateChange
	// callbacks and the run's listener (a target that lies).
	webhookWrap func(http.Handler) http.Handler
	// settleQuiet, in tests, replaces the quiet time of the oracle's
	// settling while the run goes on; noSettle turns settling off;
	// settleTwin also judges the run's history at its end only
	// (Outcome.unsettled), to compare.
	settleQuiet time.Duration
	noSettle    bool
	settleTwin  bool
	// tickets, in tests, stands between the devices and the tickets they
	// are given (tickets that are corrupt, counted, ...).
	tickets func(agent.Tickets) agent.Tickets
}

// Defaults fills the options a caller left empty: Log and Progress
// discard, StatusEvery is 5s.
func (o *Options) Defaults() {
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
	// Aborted says why the run ended before its phases did (nil: it did
	// not): a *failfast.Misconfigured when its first operations all failed the
	// same way, or the threshold that can no longer pass.
	Aborted error
	// Server is the embedded server's counters once every device has ended
	// (nil for a target URL).
	Server *server.Stats
	// Probe is the generator's health probe of the run, stopped (File.Generator
	// is its whole-run report); a capacity step reads its window from it.
	Probe *health.Probe
	// unsettled, in tests (Options.settleTwin): the oracle's report of the
	// same run judged at its end only.
	unsettled *check.Report
	// settled: what the oracle judged and dropped while the run went on.
	settled check.SettleStats
}

// phases is one run of a scenario's phases, step by step: setUp, drive,
// judge, close.
type phases struct {
	o          *Options
	sc         *scenario.Scenario
	thresholds []scenario.Threshold
	pol        *policy.Policy
	clk        clock.Clock
	hooks      *hooks.Receiver // nil: the oracle is off, or the target sends none
	tgt        *target.Target
	rec        *metrics.Recorder
	hist       *check.History // nil: the oracle is off
	// twin, in tests, gets what hist gets but is judged at the end only.
	twin     *check.History
	view     *live.View
	prom     *runMetrics
	pop      *agent.Population
	pool     *agent.Pool
	timeline *pacer.Timeline
	probe    *health.Probe // the generator's own health while the devices run
	// start and end of the devices; statusAt when the target's view of
	// who is online was read.
	start, end, statusAt time.Time
	// closeBudget bounds the embedded server's shutdown.
	closeBudget time.Duration
	storms      *play.Player // the scenario's events (storms.go); nil: none
	// abort ends the run early with a reason (package failfast, verdicts.go);
	// aborted is that reason once the run has ended (nil: it was not).
	abort   context.CancelCauseFunc
	aborted error
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
		return nil, errors.New("run: a scenario with a mau section is a month simulation: maurun.Execute runs it (imload run calls it)")
	}
	if sc.Capacity != nil {
		return nil, errors.New("run: a scenario with a capacity section is a search: caprun.Execute runs it")
	}
	sc, err := o.Shard.Apply(sc)
	if err != nil {
		return nil, err
	}
	o.Defaults()
	r := &phases{o: &o, sc: sc, clk: clock.Real{}, closeBudget: 5 * time.Second}
	defer r.close(ctx)
	runCtx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	r.abort = abort
	if err := r.setUp(); err != nil {
		return nil, err
	}
	if err := failfast.Preflight(ctx, r.tgt.Driver, sc.Target.URL, sc.Target.SDKAppID); err != nil {
		r.aborted = err
		r.start, r.end = r.clk.Now(), r.clk.Now()
		return r.judge(false)
	}
	ths, _ := shardThresholds(r.thresholds, o.Shard)
	stopWatch := r.watchAborts(runCtx, ths)
	interrupted := r.drive(runCtx)
	stopWatch()
	if cause := context.Cause(runCtx); ctx.Err() == nil && runCtx.Err() != nil && cause != nil {
		interrupted, r.aborted = false, cause // ended early on purpose, not interrupted
	}
	return r.judge(interrupted)
}

// setUp opens the target with the oracle's webhook listener, assembles the
// sinks of the devices' events and plans the devices.
func (r *phases) setUp() error {
	sc, o := r.sc, r.o
	var err error
	if r.thresholds, err = sc.ThresholdList(); err != nil {
		return err
	}
	if r.pol, err = sc.Target.LoadPolicy(); err != nil {
		return fmt.Errorf("target.policy: %w", err)
	}
	key, err := target.Key(&sc.Target)
	if err != nil {
		return err
	}
	oracleOn := sc.Checks.Kickout.Enabled == nil || *sc.Checks.Kickout.Enabled
	// The embedded server always sends to the run's listener; a target URL
	// only when the scenario says where to listen.
	if oracleOn && (sc.Target.URL == "" || sc.Target.WebhookListen != "") {
		if r.hooks, err = hooks.Start(sc.Target.WebhookListen, sc.Target.SDKAppID, o.webhookWrap); err != nil {
			return fmt.Errorf("target.webhook_listen: %w", err)
		}
		if sc.Target.URL != "" {
			fmt.Fprintf(o.Log, "webhooks: point the target's State.StateChange callback at %s\n", r.hooks.URL())
		}
	}
	r.tgt, err = target.Open(target.Spec{
		Target: &sc.Target, Policy: r.pol, Key: key, Clock: r.clk,
		Faults:         append(append([]string(nil), sc.Target.Faults...), o.Faults...),
		WebhookURL:     r.hooks.URL(),
		TicketLifetime: sc.Behaviour.TicketLifetime.D(),
	})
	if err != nil {
		return err
	}
	if r.tgt.About != "" {
		fmt.Fprintf(o.Log, "target: %s (policy %s)\n", r.tgt.About, r.pol.Name)
	}
	r.hooks.Attach(r.tgt.Server)
	if r.storms, err = r.setUpStorms(); err != nil {
		return err
	}

	r.start = r.clk.Now()
	r.rec = metrics.NewRecorder(metrics.WithStart(r.start), metrics.WithClock(r.clk))
	r.view = &live.View{}
	sinks := event.Sinks{r.rec}
	if oracleOn {
		r.hist = check.NewHistory()
		sinks = append(sinks, r.hist)
		if o.settleTwin {
			r.twin = check.NewHistory()
			sinks = append(sinks, r.twin)
		}
	}
	sinks = append(sinks, r.view)
	if sc.Target.URL != "" { // the embedded server is made to match the scenario
		sinks = append(sinks, failfast.New(&sc.Target, r.abort))
	}
	if r.prom, err = startRunMetrics(o, r.view, sc, r.tgt.Server); err != nil {
		return err
	}
	if r.prom != nil {
		sinks = append(sinks, r.prom.p)
	}
	if o.Sink != nil {
		sinks = append(sinks, o.Sink)
	}
	if r.storms != nil {
		sinks = append(sinks, r.storms.Tracker())
	}
	return r.plan(sinks)
}

// plan makes the devices' pool, with their users, and the timeline of
// their arrivals.
func (r *phases) plan(sinks event.Sinks) error {
	sc := r.sc
	cfg := agent.ScenarioConfig(sc)
	cfg.Driver, cfg.Tickets, cfg.Sink, cfg.Clock = r.tgt.Driver, r.tgt.Tickets, sinks, r.clk
	if r.o.tickets != nil {
		cfg.Tickets = r.o.tickets(cfg.Tickets)
	}
	cfg.Book = agent.NewLoginBook()
	r.pop = agent.NewPopulation(sc.Population)
	users, err := r.o.Shard.Picker(r.pop, sc.Population.Users)
	if err != nil {
		return err
	}
	planner, err := agent.NewPlanner(sc.Seed, sc, users)
	if err != nil {
		return err
	}
	r.pool = agent.NewPool(cfg, planner)
	r.timeline, err = pacer.Schedule(sc.Phases)
	return err
}

// drive runs the phases with the live view shown, and reports whether the
// run was interrupted.
func (r *phases) drive(ctx context.Context) (interrupted bool) {
	o, ph := r.o, r.sc.Phases
	r.view.Begin(r.start, ph)
	viewCtx, stopView := context.WithCancel(context.Background())
	var viewWG sync.WaitGroup
	viewWG.Add(1)
	go func() {
		defer viewWG.Done()
		r.view.Show(viewCtx, o.Progress, o.TTY, ph, o.StatusEvery)
	}()
	end := newEnding(ctx, r.sc)
	// A session between its steps holds no goroutine (agent.Device.Start):
	// begin returns once it is online, and done counts it out.
	begin := func(gate context.Context, a *pacer.Arrival, done func()) {
		a.Index, a.Device = o.Shard.Device(a.Index), o.Shard.Device(a.Device)
		r.view.DeviceStarted()
		r.pool.BeginOn(gate, end.sessionCtx(gate), a, func() {
			r.view.DeviceEnded()
			done()
		})
	}
	r.probe = health.Start(ctx, 0)
	stopSettle := r.settleWhileRunning()
	r.storms.Start(ctx)
	lastPhaseEnded := func() { r.readOnline(); r.storms.Stop(); end.lastPhaseEnded() }
	runErr := r.timeline.RunBegin(ctx, begin, pacer.WithClock(r.clk), pacer.WithBeforeStop(lastPhaseEnded), pacer.WithSendLag(r.probe.Send))
	stopSettle()
	end.stop()
	r.storms.Stop()
	r.end = r.clk.Now()
	r.probe.Stop()
	stopView()
	viewWG.Wait()
	interrupted = runErr != nil || ctx.Err() != nil
	// An interrupted run must end promptly (Ctrl-C is answered within two
	// seconds): what is still in flight gets a short budget.
	r.closeBudget = 10 * time.Second
	if interrupted {
		r.closeBudget = 500 * time.Millisecond
	}
	return interrupted
}

// readOnline reads the target's view of who is online at the end of the
// last phase, while the devices still hold their sessions. Devices go on
// while users are read: each user's status is judged at its own read.
func (r *phases) readOnline() {
	if r.hist == nil || !r.tgt.Traits.ServerTime {
		return
	}
	r.statusAt = r.clk.Now()
	for k := range r.o.Shard.Users(r.sc.Population.Users) {
		uid := r.pop.UserID(r.o.Shard.User(k))
		from := r.clk.Now()
		sessions := r.tgt.Server.OnlineStatus(uid)
		to := r.clk.Now()
		inst := make([]policy.Instance, 0, len(sessions))
		for _, s := range sessions {
			inst = append(inst, policy.Instance{ID: s.Instance, Platform: s.Platform, Seq: s.Seq})
		}
		r.hist.SetServerOnlineAt(uid, inst, from, to)
		if r.twin != nil {
			r.twin.SetServerOnlineAt(uid, inst, from, to)
		}
	}
}

// judge builds the results file, runs the oracle over the history and the
// webhooks, evaluates the thresholds and writes the file.
func (r *phases) judge(interrupted bool) (*Outcome, error) {
	sc, o := r.sc, r.o
	f := &results.File{
		Schema:       results.Schema,
		Scenario:     sc.Name,
		ScenarioFile: sc.File,
		Seed:         sc.Seed,
		Shard:        o.Shard.String(),
		Started:      r.start,
		Ended:        r.end,
		Duration:     results.Duration(r.end.Sub(r.start)),
		Interrupted:  interrupted,
		Environment:  results.CurrentEnvironment(o.Version, results.Target{Kind: r.tgt.Kind, URL: r.tgt.URL}),
		Metrics:      r.rec.Snapshot(),
		Generator:    r.probe.Report(time.Time{}, time.Time{}, health.DefaultLimits),
	}
	out := &Outcome{File: f, Aborted: r.aborted, Probe: r.probe}
	if r.aborted != nil {
		f.Aborted = r.aborted.Error()
	}
	if r.tgt.Server != nil {
		st := r.tgt.Server.Stats()
		out.Server = &st
		f.Faults = FaultRecords(st.Faults)
	}
	// The storms' recovery windows are known before the oracle runs, so
	// that it counts its kicks and verdicts within each.
	f.Storms = r.storms.Figures(r.end)
	if r.hist != nil {
		if note := r.hooks.Finish(r.closeBudget, r.hist, r.twin); note != "" {
			fmt.Fprintln(o.Log, note)
		}
		opts := r.kickoutOptions(windows(f.Storms))
		opts.End, opts.StatusAt = r.end, r.statusAt
		f.Kickout = check.Check(r.hist, r.pol, opts)
		if r.twin != nil {
			out.unsettled = check.Check(r.twin, r.pol, opts)
		}
		out.settled = r.hist.Settled()
		out.Kickout = f.Kickout
		withKickout(f.Storms, f.Kickout)
	}
	ths, notes := shardThresholds(r.thresholds, o.Shard)
	f.Thresholds = evalThresholds(ths, f.Metrics, out.Kickout)
	annotate(f.Thresholds, ths, notes, cutShort(interrupted, r.aborted))
	out.Passed = results.Passed(f.Thresholds)
	if err := lostSessions(f.Storms); err != nil {
		out.Passed = false
		fmt.Fprintln(o.Log, err)
	}
	r.prom.finish(out.Kickout)
	if o.Out != "" {
		if err := results.WriteFile(o.Out, f); err != nil {
			return out, err
		}
	}
	return out, nil
}

// close ends what setUp started, in reverse: the metrics (after their
// linger), the target, the webhook listener.
func (r *phases) close(ctx context.Context) {
	r.prom.close(ctx)
	if r.tgt != nil {
		_ = r.tgt.Close(r.closeBudget)
	}
	r.hooks.Close()
}

// OracleMode orders a user's logins by their numbers when the target
// numbers them (check.Auto still searches for users whose logins lack
// one), and searches for an order otherwise.
func OracleMode(tr target.Traits) check.Mode {
	if tr.Sequenced {
		return check.Auto
	}
	return check.Search
}

// runMetrics is the Prometheus side of one run.
type runMetrics struct {
	p        *promsink.Sink
	srv      *promsink.Server
	linger   time.Duration
	finished bool
}

// startRunMetrics sets up the run's metrics when o asks for them (nil
// otherwise) and starts serving them when o.MetricsAddr is set. The
// embedded server's statistics (srv, nil for an external target) join them.
func startRunMetrics(o *Options, view *live.View, sc *scenario.Scenario, srv *server.Server) (*runMetrics, error) {
	if o.Prom == nil && o.MetricsAddr == "" {
		return nil, nil
	}
	m := &runMetrics{p: o.Prom, linger: o.MetricsLinger}
	if m.p == nil {
		m.p = promsink.New()
	}
	m.p.Begin(view, sc.Name, sc.Seed, o.Shard.String())
	if srv != nil {
		if err := m.p.Registry().Register(srv.Collector()); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	if o.MetricsAddr != "" {
		var err error
		if m.srv, err = promsink.Serve(o.MetricsAddr, m.p); err != nil {
			return nil, err
		}
		fmt.Fprintf(o.Log, "metrics: http://%s/metrics\n", m.srv.Addr())
	}
	return m, nil
}

// finish publishes the verdicts; nil-safe.
func (m *runMetrics) finish(rep *check.Report) {
	if m != nil {
		m.p.Finish(rep)
		m.finished = true
	}
}

// close stops serving, after the linger time once the run has been judged;
// nil-safe.
func (m *runMetrics) close(ctx context.Context) {
	if m == nil || m.srv == nil {
		return
	}
	if !m.finished {
		m.linger = 0
	}
	m.srv.CloseAfter(ctx, m.linger)
}
