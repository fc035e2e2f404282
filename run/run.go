package run

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/imload/imload/agent"
	"github.com/imload/imload/check"
	"github.com/imload/imload/clock"
	"github.com/imload/imload/codes"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/driver/inproc"
	"github.com/imload/imload/driver/ws"
	"github.com/imload/imload/driver/xmpp"
	"github.com/imload/imload/event"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/pacer"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/results"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/server"
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
	faultNames := append(append([]string(nil), sc.Target.Faults...), o.Faults...)
	if len(faultNames) > 0 && sc.Target.URL != "" {
		return nil, errors.New("faults apply to the embedded server only, and the scenario names a target URL")
	}
	faults, err := server.ParseFaults(faultNames)
	if err != nil {
		return nil, err
	}
	key, err := targetKey(&sc.Target)
	if err != nil {
		return nil, err
	}

	clk := clock.Real{}
	wh, err := startWebhooks(sc, &o)
	if err != nil {
		return nil, err
	}
	defer wh.close()
	tgt, err := startTarget(sc, pol, key, faults, clk, o.Log, wh.url())
	if err != nil {
		return nil, err
	}
	defer tgt.close()
	wh.attach(tgt.srv)

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
	rm, err := startRunMetrics(&o, live, sc, tgt.srv)
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
	cfg.Driver = tgt.drv
	cfg.Tickets = &agent.SigTickets{SDKAppID: sc.Target.SDKAppID, Key: key, Lifetime: sc.Behaviour.TicketLifetime.D()}
	if sc.Target.Driver == scenario.DriverXMPP {
		cfg.Tickets = xmpp.PasswordTickets{Secret: key} // passwords derived from the key
	}
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
		if hist == nil || tgt.srv == nil {
			return
		}
		statusAt = clk.Now()
		for k := range o.Shard.Users(sc.Population.Users) {
			uid := pop.UserID(o.Shard.User(k))
			// Devices go on while users are read: each user's status is
			// judged at its own read.
			from := clk.Now()
			sessions := tgt.srv.OnlineStatus(uid)
			to := clk.Now()
			inst := make([]policy.Instance, 0, len(sessions))
			for _, s := range sessions {
				inst = append(inst, policy.Instance{ID: s.Instance, Platform: s.Platform, Seq: s.Seq})
			}
			hist.SetServerOnlineAt(uid, inst, from, to)
		}
	}
	spawn := func(ctx context.Context, a pacer.Arrival) {
		a.Index, a.Device = o.Shard.Device(a.Index), o.Shard.Device(a.Device)
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
	tgt.closeBudget = finishBudget

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
		Environment:  results.CurrentEnvironment(o.Version, tgt.describe()),
		Metrics:      rec.Snapshot(),
	}
	out := &Outcome{File: f, Passed: true}
	if tgt.srv != nil {
		st := tgt.srv.Stats()
		out.Server = &st
	}
	if hist != nil {
		if note := wh.finish(hist, finishBudget); note != "" {
			fmt.Fprintln(o.Log, note)
		}
		opts := check.Options{
			Grace:     kickCfg.Grace.D(),
			LateAfter: kickCfg.LateAfter.D(),
			Examples:  kickCfg.Examples,
			End:       end,
			StatusAt:  statusAt,
			// XMPP's <conflict/> names no displacer: the search attributes it.
			AnonymousKicks: sc.Target.Driver == scenario.DriverXMPP,
			// The ws, inproc and xmpp drivers report a login refused for
			// a conflict or limit with the protocol's code.
			RefusalCodes: []int{codes.LoginRefused},
		}
		out.Kickout = check.Check(hist, pol, opts)
		raw, err := json.Marshal(out.Kickout)
		if err != nil {
			return nil, fmt.Errorf("encoding the kickout report: %w", err)
		}
		f.Kickout = raw
	}
	f.Thresholds = evalThresholds(thresholds, f.Metrics, out.Kickout)
	for _, t := range f.Thresholds {
		if !t.Pass {
			out.Passed = false
		}
	}
	rm.finish(out.Kickout)
	if o.Out != "" {
		if err := results.WriteFile(o.Out, f); err != nil {
			return out, err
		}
	}
	return out, nil
}

// targetKey returns the app's secret key: from the scenario's env variable or
// file, or, for the embedded server with neither, a fresh random key.
func targetKey(t *scenario.Target) ([]byte, error) {
	switch {
	case t.KeyEnv != "":
		v := os.Getenv(t.KeyEnv)
		if v == "" {
			return nil, fmt.Errorf("target.key_env: environment variable %s is empty or unset", t.KeyEnv)
		}
		return []byte(v), nil
	case t.KeyFile != "":
		b, err := os.ReadFile(t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("target.key_file: %w", err)
		}
		k := strings.TrimRight(string(b), "\r\n")
		if k == "" {
			return nil, fmt.Errorf("target.key_file: %s is empty", t.KeyFile)
		}
		return []byte(k), nil
	case t.URL != "":
		return nil, errors.New("target.url needs key_env or key_file")
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	return []byte(hex.EncodeToString(b[:])), nil
}

// xmppConfig is the xmpp driver's configuration for sc: devices bind the
// resource target.xmpp_resource makes of their platform and instance ID.
func xmppConfig(sc *scenario.Scenario, clk clock.Clock) xmpp.Config {
	tmpl := sc.Target.XMPPResource
	return xmpp.Config{URL: sc.Target.URL, DialTimeout: sc.Target.Timeout.D(), Register: true, Clock: clk,
		Resource: func(dev driver.Device) string {
			return scenario.XMPPResource(tmpl, string(dev.Platform), dev.Instance)
		}}
}

// target is what the devices talk to.
type target struct {
	kind string // embedded, inproc, ws
	url  string
	srv  *server.Server // nil for an external target
	drv  driver.Driver
	// closeBudget bounds the server's graceful shutdown (0: 5s).
	closeBudget time.Duration
}

func startTarget(sc *scenario.Scenario, pol *policy.Policy, key []byte, faults server.Faults, clk clock.Clock, log io.Writer, webhookURL string) (*target, error) {
	t := &target{}
	if sc.Target.Driver == scenario.DriverXMPP {
		d, err := xmpp.New(xmppConfig(sc, clk))
		if err != nil {
			return nil, fmt.Errorf("target.url: %w", err)
		}
		t.kind, t.url, t.drv = "xmpp", sc.Target.URL, d
		fmt.Fprintf(log, "target: XMPP server at %s (domain %s, policy %s)\n", sc.Target.URL, d.Domain(), pol.Name)
		return t, nil
	}
	if sc.Target.URL != "" {
		// Source addresses spread over 127.0.0.0/8 (used only when the URL
		// is loopback), as for the embedded server.
		spread, _ := ws.LoopbackRange(netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.254"))
		d, err := ws.New(ws.Config{URL: sc.Target.URL, DialTimeout: sc.Target.Timeout.D(), Clock: clk, LocalAddrs: spread})
		if err != nil {
			return nil, fmt.Errorf("target.url: %w", err)
		}
		t.kind, t.url, t.drv = "ws", sc.Target.URL, d
		return t, nil
	}
	srv, err := server.New(server.Config{
		SDKAppID: sc.Target.SDKAppID,
		Key:      key,
		Admin:    sc.Target.Admin,
		Policy:   pol,
		Clock:    clk,
		Faults:   faults,
		// The run's listener, when the kickout oracle is on.
		WebhookURL: webhookURL,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded server: %w", err)
	}
	t.srv = srv
	if sc.Target.Driver == "inproc" {
		t.kind, t.drv = "inproc", inproc.New(srv)
		fmt.Fprintf(log, "target: embedded reference server, in process (policy %s)\n", pol.Name)
		return t, nil
	}
	addr, err := srv.Start("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("embedded server: %w", err)
	}
	t.url = "ws://" + addr.String() + "/v1/ws"
	spread, err := ws.LoopbackRange(netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.254"))
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return nil, err
	}
	d, err := ws.New(ws.Config{URL: t.url, DialTimeout: sc.Target.Timeout.D(), Clock: clk, LocalAddrs: spread})
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return nil, err
	}
	t.kind, t.drv = "embedded", d
	fmt.Fprintf(log, "target: embedded reference server on %s (policy %s)\n", t.url, pol.Name)
	return t, nil
}

func (t *target) describe() results.Target { return results.Target{Kind: t.kind, URL: t.url} }

func (t *target) close() {
	_ = t.drv.Close()
	if t.srv != nil {
		budget := t.closeBudget
		if budget <= 0 {
			budget = 5 * time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		defer cancel()
		_ = t.srv.Shutdown(ctx)
	}
}
