package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/imload/imload/agent"
	"github.com/imload/imload/clock"
	"github.com/imload/imload/mau"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/results"
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

// MAUConfig decodes and checks the scenario's mau section, with the
// scenario's population and seed filled in where the section leaves them
// out. Every problem is reported in a *scenario.Errors whose entries read
// "file:line:col: mau.key: what is wrong". sc.MAU must not be nil.
func MAUConfig(sc *scenario.Scenario) (mau.Config, error) {
	if sc.MAU == nil || sc.MAU.Node == nil {
		return mau.Config{}, errors.New("run: the scenario has no mau section")
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
		return cfg, positioned(sc.File, n, fmt.Errorf("mau.users: %d, but population.users is %d: give the population once, as population.users", cfg.Users, sc.Population.Users))
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
		errs = append(errs, errors.New("mau.start: a realtime run starts now and its days carry today's date onwards (Beijing time), as the embedded server dates them; remove start, or realtime"))
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, positioned(sc.File, n, err)
	}
	return cfg, nil
}

var (
	// "line 5 col 5: mau.segments[0].x: ..." (unknown keys) and
	// "mau: line 1 col 14: strategy: ..." (a strategy's own decoding).
	lineColErr = regexp.MustCompile(`^(?:mau: )?line (\d+) col (\d+): (.*)$`)
	// "  line 7: cannot unmarshal !!str `x` into int" under "yaml: unmarshal errors:".
	lineErr = regexp.MustCompile(`^\s*line (\d+): (.*)$`)
	// "mau.segments[0].open_prob: must be ..." (Validate).
	pathErr   = regexp.MustCompile(`^(mau(?:\.[A-Za-z0-9_]+|\[\d+\])*): (.*)$`)
	unmarshal = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.+)$")
)

// positioned turns the errors of mau.DecodeConfig and mau.Config.Validate
// (one a line) into scenario errors at file:line:col, found from the
// section's node n.
func positioned(file string, n *yaml.Node, err error) error {
	es := &scenario.Errors{}
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.TrimSpace(line) == "" || strings.HasSuffix(line, "yaml: unmarshal errors:") {
			continue
		}
		e := &scenario.Error{File: file, Line: n.Line, Col: n.Column, Msg: line}
		if m := lineColErr.FindStringSubmatch(line); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Col, _ = strconv.Atoi(m[2])
			e.Msg = m[3]
			if pm := pathErr.FindStringSubmatch(e.Msg); pm != nil {
				e.Field, e.Msg = pm[1], pm[2]
			}
		} else if m := lineErr.FindStringSubmatch(line); m != nil {
			l, _ := strconv.Atoi(m[1])
			kind, value := unmarshalGot(m[2])
			at, path := nodeOnLine(n, "mau", l, kind, value)
			e.Line, e.Field, e.Msg = l, path, explainUnmarshal(m[2])
			if at != nil {
				e.Col = at.Column
			}
		} else if m := pathErr.FindStringSubmatch(line); m != nil {
			e.Field, e.Msg = m[1], m[2]
			if at := nodeAt(n, m[1]); at != nil {
				e.Line, e.Col = at.Line, at.Column
			}
		}
		es.List = append(es.List, e)
	}
	slices.SortStableFunc(es.List, func(a, b *scenario.Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	if len(es.List) > scenario.MaxErrors {
		es.Dropped = len(es.List) - scenario.MaxErrors
		es.List = es.List[:scenario.MaxErrors]
	}
	return es
}

// unmarshalGot returns the kind of node ("str", "seq", "map", ...) and the
// value a yaml type error names (both "" if it names none).
func unmarshalGot(msg string) (kind, value string) {
	if m := unmarshal.FindStringSubmatch(msg); m != nil {
		return m[1], m[2]
	}
	return "", ""
}

// explainUnmarshal rewords a yaml type error as what the key allows.
func explainUnmarshal(msg string) string {
	m := unmarshal.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	got := "a " + map[string]string{"map": "mapping", "seq": "list", "str": "string", "int": "number",
		"float": "number", "bool": "boolean", "null": "null"}[m[1]]
	if m[2] != "" {
		got = strconv.Quote(m[2])
	}
	want := map[string]string{
		"time.Duration": "a duration such as 2s or 5m", "int": "a whole number", "uint64": "a whole number >= 0",
		"float64": "a number", "bool": "true or false", "string": "a string",
		"map[string]float64": "a mapping of platform to weight", "[]mau.Segment": "a list of segments",
		"[]mau.StrategySpec": "a list of strategies", "[]mau.Tier": "a list of tiers ({up_to, per_thousand})",
		"mau.Pricing": "a mapping {currency, included, tiers}", "mau.Segment": "a mapping of segment settings",
		"mau.Tier": "a mapping {up_to, per_thousand}", "mau.Config": "a mapping of month-simulation settings",
	}[m[3]]
	if want == "" {
		return msg
	}
	return "expected " + want + ", got " + got
}

// nodeAt finds the node of a path such as "mau.segments[0].open_prob" under
// the section's node n (whose path is "mau"): the deepest node the path
// reaches, nil when it reaches none below n.
func nodeAt(n *yaml.Node, path string) *yaml.Node {
	rest, ok := strings.CutPrefix(path, "mau")
	if !ok {
		return nil
	}
	cur, found := n, (*yaml.Node)(nil)
	for rest != "" {
		for cur != nil && cur.Kind == yaml.AliasNode {
			cur = cur.Alias
		}
		if cur == nil {
			break
		}
		var next *yaml.Node
		switch {
		case rest[0] == '.':
			key := rest[1:]
			if i := strings.IndexAny(key, ".["); i >= 0 {
				key = key[:i]
			}
			rest = rest[1+len(key):]
			if cur.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(cur.Content); i += 2 {
					if cur.Content[i].Value == key {
						next = cur.Content[i+1]
					}
				}
			}
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return found
			}
			i, err := strconv.Atoi(rest[1:end])
			rest = rest[end+1:]
			if err == nil && cur.Kind == yaml.SequenceNode && i >= 0 && i < len(cur.Content) {
				next = cur.Content[i]
			}
		default:
			return found
		}
		if next == nil {
			break
		}
		cur, found = next, next
	}
	return found
}

// nodeOnLine finds the value node on line l under n that a yaml type
// error names: a list or mapping for kind seq or map, else a scalar,
// preferring one whose value is want. It returns the node with its path
// ("mau.days").
func nodeOnLine(n *yaml.Node, path string, l int, kind, want string) (*yaml.Node, string) {
	var best *yaml.Node
	bestPath := "mau"
	wantKind := yaml.ScalarNode
	switch kind {
	case "seq":
		wantKind = yaml.SequenceNode
	case "map":
		wantKind = yaml.MappingNode
	}
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		if n == nil || depth > 32 {
			return
		}
		if n.Line == l && n.Kind == wantKind && depth > 0 &&
			(best == nil || (want != "" && n.Value == want && best.Value != want)) {
			best, bestPath = n, path
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], path+"."+n.Content[i].Value, depth+1)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i), depth+1)
			}
		}
	}
	walk(n, path, 0)
	return best, bestPath
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

// ExecuteMAU runs the scenario's month simulation (its mau section) instead
// of its phases: the same population and seed under every strategy, each
// against a fresh embedded reference server that shares the simulated
// calendar and the clock the simulation advances, so that the server's own
// logins, DAU and MAU can be cross-checked against the harness's counts
// (every disagreement is a mismatch in the report, judged by the threshold
// mau.mismatches). The report goes into the results file's mau field;
// Outcome.MAUReport returns it.
func ExecuteMAU(ctx context.Context, o Options) (*Outcome, error) {
	sc := o.Scenario
	if sc == nil {
		return nil, errors.New("run: no scenario")
	}
	if err := o.Shard.Validate(); err != nil {
		return nil, err
	}
	o.defaults()
	if sc.Target.URL != "" {
		return nil, errors.New("target.url: a scenario with a mau section runs against the embedded server (every strategy on a fresh one)")
	}
	cfg, err := MAUConfig(sc)
	if err != nil {
		return nil, err
	}
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
	tk := &mauTargets{sc: sc, pol: pol, key: key, faults: faults, realtime: cfg.Realtime,
		pop: agent.NewPopulation(sc.Population), days: days, log: o.Log}
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
		Environment:  results.CurrentEnvironment(o.Version, results.Target{Kind: "mau-" + sc.Target.Driver}),
		Metrics:      metrics.NewRecorder(metrics.WithStart(start)).Snapshot(),
	}
	f.MAU = rep
	out := &Outcome{File: f}
	if rep != nil && !interrupted {
		f.Thresholds = judgeThresholds(thresholds, nil, nil, rep)
	} else {
		for _, th := range thresholds { // partial counts, unchecked by the server
			f.Thresholds = append(f.Thresholds, results.Threshold{Expr: th.String(), Metric: th.Metric,
				Error: "the month simulation was interrupted before it ended"})
		}
	}
	out.Passed = passed(f.Thresholds)
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
		epoch := time.Now()
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

// MAUReport returns the month simulation's report held in the results (nil
// when the run had no mau section).
func (o *Outcome) MAUReport() (*mau.Report, error) {
	if o == nil || o.File == nil {
		return nil, nil
	}
	return o.File.MAU, nil
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
	return mau.Target{
		Driver:    tgt.Driver,
		SDKAppID:  sdk,
		Clock:     clk,
		UserID:    m.pop.UserID,
		OpTimeout: opTimeout,
		Sign: func(user string, now time.Time) (string, time.Time, error) {
			sig, err := usersig.Gen(sdk, key, user, life, now, nil)
			return sig, now.Add(life), err
		},
		ServerCounts: func(context.Context) (mau.ServerCounts, error) { return serverCounts(srv.Stats()), nil },
		Close:        func() error { return tgt.Close(10 * time.Second) },
	}, nil
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
