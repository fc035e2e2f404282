package mau

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/codes"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// Target is what one strategy runs against. Give every strategy a fresh
// target (see TargetFunc) sharing the run's Calendar: the reference server
// takes it as Config.Day and Config.Epoch, and in simulated time its
// Config.Clock is Target.Clock.
//
// The runner sends no heartbeats, and background-keep stands for mobile
// PushOnline (a session that lives on while the app sleeps), so a target
// that should reproduce the model needs an idle timeout longer than any
// session and a resume window longer than the run; with shorter windows
// resumes fail, the runner logs in instead (Ops.ResumeFallbacks) and those
// logins count, as they would for a real app.
type Target struct {
	Driver   driver.Driver
	SDKAppID uint64
	// Sign makes user's ticket at instant now and says when it expires
	// (zero: never). The runner keeps a user's ticket until an hour of
	// simulated time before it expires. Nil: logins carry no ticket.
	Sign func(userID string, now time.Time) (sig string, expireAt time.Time, err error)
	// Clock is the clock the target reads. In a realtime run the runner
	// paces itself by it (nil: the wall clock). Otherwise it must be
	// settable (a *clock.Fake, reading no later than the calendar's epoch)
	// and the runner moves it forward tick by tick, so the target stamps
	// every action on the right simulated day; nil: a private fake clock.
	Clock clock.Clock
	// UserID names user i (default "mau_0000042").
	UserID func(i int) string
	// OpTimeout bounds each driver call (0: only the run's context).
	OpTimeout time.Duration
	// ServerCounts reads the target's own statistics after the run, for
	// CrossCheck (nil: no cross-check).
	ServerCounts func(ctx context.Context) (ServerCounts, error)
	// Sink receives the event of every operation of the app sessions and of
	// what they are told or suffer, as agent.Device emits them (see
	// "Events" in the package documentation); nil: none. Observe is called
	// from the runner's workers concurrently, and the *event.Event is reused
	// once it returns: a sink copies what it keeps (metrics.Recorder and
	// check.History do).
	Sink event.Sink
	// Oracle receives the same events for the users the oracle judges: user
	// i when i is a multiple of OracleEvery (0 or 1: every user); nil: none.
	Oracle      event.Sink
	OracleEvery int
	// Finish, when set, is called once the strategy's run has ended without
	// an error, before ServerCounts and Close, from the goroutine that
	// called SimulateMonth: the place to read the target's view of who is
	// online and to judge the oracle's users (it may fill res.Oracle).
	Finish func(ctx context.Context, res *StrategyResult) error
	// Close releases the target after the run (nil: nothing to release).
	Close func() error
}

// Settable is a clock the runner can move (clock.Fake is one).
type Settable interface {
	clock.Clock
	Set(t time.Time)
}

// Shard selects users i with i % Count == Index: disjoint shards of one
// population run the very same activity as the whole, so their results
// merge exactly (Report.Merge).
type Shard struct {
	Index, Count int
}

// Option adjusts a Runner.
type Option func(*Runner)

// WithShard runs only one shard of the population.
func WithShard(s Shard) Option { return func(r *Runner) { r.shard = s } }

// WithEpoch sets the instant day 0 begins. A realtime run needs it (the
// run command passes the same epoch to the embedded server); otherwise it
// defaults to midnight of the start date in the configured zone.
func WithEpoch(t time.Time) Option { return func(r *Runner) { r.epoch = t } }

// OnDay is called after each simulated day completes, from the goroutine
// that called Run.
func OnDay(f func(strategy string, day DayCount)) Option { return func(r *Runner) { r.onDay = f } }

// Runner simulates the configured days for one population under one
// strategy at a time.
type Runner struct {
	cfg   Config
	model *Model
	cal   Calendar
	shard Shard
	epoch time.Time
	onDay func(string, DayCount)
}

// NewRunner prepares runs of cfg over a population of users (0: cfg.Users
// or the segments' counts).
func NewRunner(cfg Config, users int, opts ...Option) (*Runner, error) {
	m, err := NewModel(cfg, users)
	if err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg.withDefaults(), model: m, shard: Shard{0, 1}}
	for _, o := range opts {
		o(r)
	}
	if r.shard.Count < 1 || r.shard.Index < 0 || r.shard.Index >= r.shard.Count {
		return nil, fmt.Errorf("mau: shard %d of %d: want 0 <= index < count", r.shard.Index, r.shard.Count)
	}
	if r.cfg.Realtime && r.epoch.IsZero() {
		return nil, fmt.Errorf("mau: a realtime run needs its epoch (WithEpoch), shared with the target")
	}
	if r.cal, err = r.cfg.Calendar(r.epoch); err != nil {
		return nil, err
	}
	return r, nil
}

// Calendar returns the run's calendar.
func (r *Runner) Calendar() Calendar { return r.cal }

// Model returns the usage model.
func (r *Runner) Model() *Model { return r.model }

// Config returns the configuration with defaults filled in.
func (r *Runner) Config() Config { return r.cfg }

// shardUsers returns how many users the shard holds.
func (r *Runner) shardUsers() int {
	n := r.model.users - r.shard.Index
	if n <= 0 {
		return 0
	}
	return (n + r.shard.Count - 1) / r.shard.Count
}

// schedAction is one action of one user on the day being run.
type schedAction struct {
	user uint32 // global user index
	at   uint32 // milliseconds into the real 24-hour day
	op   Op
}

// dayPlan is one day's actions, sorted by (tick, worker) with a stable
// counting sort so each user's actions keep their order.
type dayPlan struct {
	day    int
	acts   []schedAction
	starts []int32 // bucket b = tick*workers+worker holds acts[starts[b]:starts[b+1]]
}

// planner plans days ahead of the dispatcher. It alone owns the per-user
// "kept in background" state.
type planner struct {
	r       *Runner
	st      Strategy
	workers int
	ticks   int
	tickMS  uint32
	kept    []bool // by local index
	sess    []AppSession
	acts    []Action
	raw     []schedAction
}

func (r *Runner) newPlanner(st Strategy, workers int) *planner {
	return &planner{r: r, st: st, workers: workers,
		ticks:  int(RealDay / r.cfg.Tick),
		tickMS: uint32(r.cfg.Tick / time.Millisecond),
		kept:   make([]bool, r.shardUsers())}
}

// worker returns the worker that owns global user u.
func (p *planner) worker(u uint32) int {
	return int(u/uint32(p.r.shard.Count)) % p.workers
}

// plan fills dp with day d's actions.
func (p *planner) plan(d int, dp *dayPlan) {
	p.raw = p.raw[:0]
	sh := p.r.shard
	for u, l := sh.Index, 0; u < p.r.model.users; u, l = u+sh.Count, l+1 {
		p.sess = p.r.model.AppendActivity(p.sess[:0], u, d)
		if len(p.sess) == 0 {
			continue
		}
		p.acts = p.st.Plan(p.acts[:0], p.sess, &p.kept[l])
		for _, a := range p.acts {
			p.raw = append(p.raw, schedAction{user: uint32(u), at: uint32(a.At / time.Millisecond), op: a.Op})
		}
	}
	nb := p.ticks * p.workers
	dp.day = d
	if cap(dp.starts) < nb+1 {
		dp.starts = make([]int32, nb+1)
	}
	dp.starts = dp.starts[:nb+1]
	clear(dp.starts)
	key := func(a schedAction) int {
		t := min(int(a.at/p.tickMS), p.ticks-1)
		return t*p.workers + p.worker(a.user)
	}
	for _, a := range p.raw {
		dp.starts[key(a)+1]++
	}
	for b := 1; b <= nb; b++ {
		dp.starts[b] += dp.starts[b-1]
	}
	if cap(dp.acts) < len(p.raw) {
		dp.acts = make([]schedAction, len(p.raw), len(p.raw)+len(p.raw)/8)
	}
	dp.acts = dp.acts[:len(p.raw)]
	next := make([]int32, nb) // fill positions
	copy(next, dp.starts[:nb])
	for _, a := range p.raw {
		k := key(a)
		dp.acts[next[k]] = a
		next[k]++
	}
}

// Project counts what the strategy would do with a target that accepts
// every login and resume, without one. It is exact for MAU, DAU and logins
// (a Run against an always-accepting target gives the same numbers) and
// cheap: a month of 1,000,000 users takes seconds.
func (r *Runner) Project(ctx context.Context, st Strategy) (StrategyResult, error) {
	begin := time.Now()
	counter := NewCounter(r.cal, r.model.days, r.model.users)
	p := r.newPlanner(st, 1)
	var dp dayPlan
	var ops OpStats
	for d := range r.model.days {
		if err := ctx.Err(); err != nil {
			return r.result(st, counter, ops, begin), fmt.Errorf("mau: projecting %s: %w", st.Name, err)
		}
		p.plan(d, &dp)
		for _, a := range dp.acts {
			u := int(a.user)
			switch a.op {
			case OpLogin:
				ops.Logins++
				counter.AddDay(u, d, Login)
			case OpResume:
				ops.Resumes++
				counter.AddDay(u, d, Reconnect)
			case OpLogout:
				ops.Logouts++
				counter.AddDay(u, d, Logout)
			case OpClose:
				ops.Closes++
				counter.AddDay(u, d, Disconnect)
			}
		}
		if r.onDay != nil {
			r.onDay(st.Name, counter.Counts().Days[d])
		}
	}
	res := r.result(st, counter, ops, begin)
	res.Projected = true
	return res, nil
}

func (r *Runner) result(st Strategy, c *Counter, ops OpStats, begin time.Time) StrategyResult {
	counts := c.Counts()
	counts.Users = r.shardUsers()
	return StrategyResult{
		Name:    st.Name,
		Spec:    st.Spec(),
		Counts:  counts,
		Cost:    costOf(r.cfg.Pricing, counts),
		Ops:     ops,
		Elapsed: time.Since(begin).Seconds(),
	}
}

// span is a worker's share of one tick.
type span struct {
	dp     *dayPlan
	lo, hi int32
	at     time.Time // the tick's instant: when its actions are meant to start
	done   *sync.WaitGroup
}

// Run executes the strategy against the target: every simulated day is
// planned (one day ahead, on its own goroutine), then dispatched tick by
// tick to a fixed pool of workers, each owning a fixed share of the users,
// so one user's actions run in order and no goroutine exists per user. In
// a realtime run each tick waits for its instant on the target's clock;
// otherwise the fake clock is set to each tick's instant once the previous
// tick's actions are done, and the days run as fast as the target allows.
// Only successful logins count (reconnects never do).
func (r *Runner) Run(ctx context.Context, st Strategy, tgt Target) (StrategyResult, error) {
	begin := time.Now()
	if tgt.Driver == nil {
		return StrategyResult{}, fmt.Errorf("mau: run %s: no driver", st.Name)
	}
	clk := tgt.Clock
	var fake Settable
	if r.cfg.Realtime {
		if clk == nil {
			clk = clock.Real{}
		}
	} else {
		if clk == nil {
			clk = clock.NewFake(r.cal.Epoch)
		}
		var ok bool
		if fake, ok = clk.(Settable); !ok {
			return StrategyResult{}, fmt.Errorf("mau: run %s: realtime: false needs a settable clock (clock.Fake) shared with the target, got %T", st.Name, clk)
		}
		if now := fake.Now(); now.After(r.cal.Epoch) {
			return StrategyResult{}, fmt.Errorf("mau: run %s: the clock reads %v, after the calendar's epoch %v", st.Name, now, r.cal.Epoch)
		}
	}
	if tgt.UserID == nil {
		tgt.UserID = defaultUserID
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	counter := NewCounter(r.cal, r.model.days, r.model.users)
	workers := r.cfg.Workers
	users := make([]userState, r.shardUsers())
	ws := make([]*worker, workers)
	var wg sync.WaitGroup
	for i := range ws {
		ws[i] = &worker{r: r, tgt: tgt, clk: clk, realtime: r.cfg.Realtime, keep: st.KeepBackground,
			counter: counter, users: users, in: make(chan span, 64),
			sink: tgt.Sink, oracle: tgt.Oracle, every: max(tgt.OracleEvery, 1)}
		wg.Go(func() { ws[i].loop(ctx) })
	}

	// The planner works one day ahead; two plans circulate.
	p := r.newPlanner(st, workers)
	free := make(chan *dayPlan, 2)
	free <- &dayPlan{}
	free <- &dayPlan{}
	planned := make(chan *dayPlan, 1)
	wg.Go(func() {
		defer close(planned)
		for d := range r.model.days {
			var dp *dayPlan
			select {
			case dp = <-free:
			case <-ctx.Done():
				return
			}
			p.plan(d, dp)
			select {
			case planned <- dp:
			case <-ctx.Done():
				return
			}
		}
	})

	var maxLag time.Duration
	err := func() error {
		for dp := range planned {
			var dayDone sync.WaitGroup
			for t := range p.ticks {
				at := r.cal.At(dp.day, time.Duration(t)*r.cfg.Tick)
				lo := t * workers
				if dp.starts[lo] == dp.starts[lo+workers] {
					continue // nothing happens in this tick
				}
				var tickDone sync.WaitGroup
				done := &tickDone
				if fake != nil {
					fake.Set(at)
				} else {
					done = &dayDone
					if lag, err := waitUntil(ctx, clk, at); err != nil {
						return err
					} else if lag > maxLag {
						maxLag = lag
					}
				}
				for w := range workers {
					a, b := dp.starts[lo+w], dp.starts[lo+w+1]
					if a == b {
						continue
					}
					done.Add(1)
					select {
					case ws[w].in <- span{dp, a, b, at, done}:
					case <-ctx.Done():
						done.Done()
						return ctx.Err()
					}
				}
				if fake != nil {
					tickDone.Wait()
				}
			}
			dayDone.Wait()
			if r.onDay != nil {
				r.onDay(st.Name, counter.Counts().Days[dp.day])
			}
			free <- dp
		}
		return ctx.Err()
	}()
	if fake != nil && err == nil {
		fake.Set(r.cal.Start(r.model.days))
	}
	cancel()
	for _, w := range ws {
		close(w.in)
	}
	wg.Wait()

	var ops OpStats
	for _, w := range ws {
		ops.add(&w.ops)
	}
	for i := range users { // connections left open by a cancelled run
		if c := users[i].conn; c != nil {
			_ = c.Close()
		}
	}
	res := r.result(st, counter, ops, begin)
	res.MaxLagMS = float64(maxLag) / float64(time.Millisecond)
	if err != nil {
		return res, fmt.Errorf("mau: run %s: %w", st.Name, err)
	}
	return res, nil
}

// waitUntil blocks until the clock reads at and says how late it was.
func waitUntil(ctx context.Context, clk clock.Clock, at time.Time) (time.Duration, error) {
	d := at.Sub(clk.Now())
	if d <= 0 {
		return -d, nil
	}
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return max(clk.Now().Sub(at), 0), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func defaultUserID(i int) string {
	b := make([]byte, 0, 12)
	b = append(b, "mau_"...)
	s := strconv.Itoa(i)
	for k := len(s); k < 7; k++ {
		b = append(b, '0')
	}
	return string(append(b, s...))
}

// userState is what the runner knows of one user's client; only the
// user's worker touches it.
type userState struct {
	conn   driver.Conn
	id     string
	inst   string // the app's instance ID, the same on every connection
	plat   policy.Platform
	token  string // resume token of the (kept) session
	sig    string
	sigExp time.Time
	seq    uint64 // the target's sequence of the session held (0: none)
	online bool
}

// worker executes the actions of the users it owns.
type worker struct {
	r        *Runner
	tgt      Target
	clk      clock.Clock
	realtime bool
	keep     bool
	counter  *Counter
	users    []userState
	in       chan span
	ops      OpStats

	sink, oracle event.Sink
	every        int
	ev           event.Event // the event being emitted, reused
	// lastStart, lastAt: the last operation's times on the target's clock.
	lastStart, lastAt time.Time
}

func (w *worker) loop(ctx context.Context) {
	for sp := range w.in {
		for _, a := range sp.dp.acts[sp.lo:sp.hi] {
			if ctx.Err() != nil {
				break
			}
			w.do(ctx, sp.dp.day, a, sp.at)
		}
		sp.done.Done()
	}
}

// record counts kind for user u: on the scheduled day in simulated time,
// on the day the clock reads in a realtime run.
func (w *worker) record(u, day int, kind Kind) {
	if w.realtime {
		w.counter.Add(u, w.clk.Now(), kind)
		return
	}
	w.counter.AddDay(u, day, kind)
}

// emitting reports whether any sink takes events.
func (w *worker) emitting() bool { return w.sink != nil || w.oracle != nil }

// emit sends w.ev, as user u's device, to the sinks.
func (w *worker) emit(u int, s *userState) {
	w.ev.UserID, w.ev.Device, w.ev.Platform = s.id, s.inst, s.plat
	if w.sink != nil {
		w.sink.Observe(&w.ev)
	}
	if w.oracle != nil && u%w.every == 0 {
		w.oracle.Observe(&w.ev)
	}
}

// notice emits what user u's device was told or suffered at at.
func (w *worker) notice(u int, s *userState, kind event.Kind, at time.Time, note string) {
	if !w.emitting() {
		return
	}
	if at.IsZero() {
		at = w.clk.Now()
	}
	w.ev = event.Event{Kind: kind, At: at, Seq: s.seq, Note: note}
	w.emit(u, s)
}

// opTimer times one operation: on the target's clock, and on the wall
// clock in simulated time, where the clock stands still within a tick.
type opTimer struct {
	intended, start, wall time.Time
}

func (w *worker) begin(intended time.Time) opTimer {
	if !w.emitting() {
		return opTimer{}
	}
	t := opTimer{intended: intended, start: w.clk.Now()}
	if !w.realtime {
		t.intended, t.wall = t.start, time.Now()
	}
	return t
}

// next is when an operation that follows the last one was meant to start:
// intended shifted by the last operation's duration, so lateness carries
// on down a chain of operations (as for agent.Device).
func (w *worker) next(intended time.Time) time.Time {
	return intended.Add(w.lastAt.Sub(w.lastStart))
}

// op fills w.ev with the event of an operation timed by t that ended now;
// code is the target's answer when err is nil. Its latency is At -
// Intended in a realtime run; in simulated time, the wall-clock time of
// the call (the time of the target's work, with no queueing).
func (w *worker) op(ctx context.Context, kind event.Kind, t opTimer, code int, err error) {
	at := w.clk.Now()
	lat := at.Sub(t.intended)
	if !w.realtime {
		lat = time.Since(t.wall)
	}
	w.lastStart, w.lastAt = t.start, at
	w.ev = event.Event{Kind: kind, Intended: t.intended, Start: t.start, At: at, Latency: lat, Code: code}
	switch {
	case err == nil && code == 0:
		w.ev.Outcome = event.OK
	case err == nil:
		w.ev.Outcome = event.Failed
	case errorCode(err) != 0:
		w.ev.Outcome, w.ev.Code, w.ev.Note = event.Failed, errorCode(err), err.Error()
	case ctx.Err() != nil:
		w.ev.Outcome, w.ev.Note = event.Failed, "canceled: the run ended"
	case errors.Is(err, driver.ErrTimeout) || errors.Is(err, context.DeadlineExceeded):
		w.ev.Outcome = event.TimedOut
	default:
		w.ev.Outcome, w.ev.Note = event.Failed, err.Error()
	}
}

// errorCode returns the target's code carried by err (an error frame), or
// 0.
func errorCode(err error) int {
	var c interface{ ErrorCode() int }
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return 0
}

func (w *worker) do(ctx context.Context, day int, a schedAction, intended time.Time) {
	u := int(a.user)
	s := &w.users[u/w.r.shard.Count]
	if s.id == "" {
		s.id = w.tgt.UserID(u)
		s.plat = w.r.model.Profile(u).Platform
		s.inst = s.id + "-" + string(s.plat)
	}
	if s.conn != nil {
		w.drain(u, day, s)
	}
	switch a.op {
	case OpLogin:
		w.login(ctx, u, day, s, intended)
	case OpResume:
		w.ops.Resumes++
		if s.token == "" || !w.connect(ctx, u, s, &intended) {
			w.ops.ResumeFallbacks++
			w.login(ctx, u, day, s, intended)
			return
		}
		t := w.begin(intended)
		cctx, cancel := w.opContext(ctx)
		res, err := s.conn.Resume(cctx, s.token)
		cancel()
		if w.emitting() {
			w.op(ctx, event.Resume, t, res.Code, err)
			if err == nil {
				w.ev.Seq = res.Seq
			}
			w.emit(u, s)
		}
		if err != nil || res.Code != 0 {
			w.ops.fail("resume", res.Code, err)
			w.ops.ResumeFallbacks++
			s.token = ""
			if err == nil && res.Code == codes.KickedWhileOff {
				w.notice(u, s, event.Kicked, time.Time{}, "kicked while offline (resume answered 6208)")
			}
			s.seq = 0
			w.login(ctx, u, day, s, w.next(intended))
			return
		}
		s.online = true
		if res.Seq != 0 {
			s.seq = res.Seq
		}
		w.record(u, day, Reconnect)
	case OpLogout:
		if !s.online || s.conn == nil {
			return
		}
		w.ops.Logouts++
		t := w.begin(intended)
		cctx, cancel := w.opContext(ctx)
		code, err := s.conn.Logout(cctx)
		cancel()
		if w.emitting() {
			w.op(ctx, event.Logout, t, code, err)
			w.emit(u, s)
		}
		if err != nil || code != 0 {
			w.ops.fail("logout", code, err)
		}
		s.online = false
		s.token = ""
		s.seq = 0
		w.record(u, day, Logout)
	case OpClose:
		w.ops.Closes++
		// The app goes: killed, or (a strategy that keeps its session in
		// the background, mobile PushOnline) its transport closed while
		// the session lives on for a later resume.
		kind := event.AppKill
		if w.keep {
			kind = event.Disconnect
		}
		w.drop(u, day, s, kind, "app closed")
		if !w.keep {
			s.token = ""
			s.seq = 0
		}
	}
}

// drop closes the connection; a user online is then disconnected, and its
// device emits kind (0: nothing, its notice is emitted already).
func (w *worker) drop(u, day int, s *userState, kind event.Kind, note string) {
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
	if s.online {
		s.online = false
		w.record(u, day, Disconnect)
		if kind != 0 {
			w.notice(u, s, kind, time.Time{}, note)
		}
	}
}

// drain reads pushes that arrived since the user's last action: a kick or
// a closed transport ends the connection.
func (w *worker) drain(u, day int, s *userState) {
	for {
		select {
		case p, ok := <-s.conn.Pushes():
			if !ok || p.Kind == driver.PushClosed {
				w.drop(u, day, s, event.Disconnect, "transport closed")
				return
			}
			if p.Kind == driver.PushKicked {
				w.ops.Kicked++
				w.kicked(u, s, *p)
				s.token = ""
				s.seq = 0
				w.drop(u, day, s, 0, "")
				return
			}
		default:
			return
		}
	}
}

// kicked emits the kick notice p, as agent.Device does: the victim's
// sequence, the displacer it names, and its latency from the displacement
// at the target (the push's server time) when the notice is not stamped
// before it.
func (w *worker) kicked(u int, s *userState, p driver.Push) {
	if !w.emitting() {
		return
	}
	at := p.At
	if at.IsZero() {
		at = w.clk.Now()
	}
	w.ev = event.Event{Kind: event.Kicked, At: at, Seq: p.Seq, Code: p.Code,
		BySeq: p.BySeq, ByPlatform: p.ByPlatform, ByInstance: p.ByInstance, Note: p.Reason}
	if w.ev.Seq == 0 {
		w.ev.Seq = s.seq
	}
	if disp := p.ServerTime; !disp.IsZero() && !at.Before(disp) {
		w.ev.Latency = max(at.Sub(disp), time.Nanosecond)
	}
	w.emit(u, s)
}

func (w *worker) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if w.tgt.OpTimeout > 0 {
		return context.WithTimeout(ctx, w.tgt.OpTimeout)
	}
	return ctx, func() {}
}

// connect opens the user's connection if it has none; a new connection
// moves *intended past its own duration.
func (w *worker) connect(ctx context.Context, u int, s *userState, intended *time.Time) bool {
	if s.conn != nil {
		return true
	}
	w.ops.Connects++
	t := w.begin(*intended)
	cctx, cancel := w.opContext(ctx)
	c, err := w.tgt.Driver.Connect(cctx, driver.Device{
		SDKAppID: w.tgt.SDKAppID, Platform: s.plat, Instance: s.inst})
	cancel()
	if w.emitting() {
		w.op(ctx, event.Connect, t, 0, err)
		w.emit(u, s)
		*intended = w.next(*intended)
	}
	if err != nil {
		w.ops.fail("connect", 0, err)
		return false
	}
	s.conn = c
	return true
}

func (w *worker) login(ctx context.Context, u, day int, s *userState, intended time.Time) {
	w.ops.Logins++
	if !w.connect(ctx, u, s, &intended) {
		w.ops.LoginsFailed++
		return
	}
	if w.tgt.Sign != nil {
		now := w.clk.Now()
		if s.sig == "" || (!s.sigExp.IsZero() && !now.Add(w.r.cal.Day/24).Before(s.sigExp)) {
			sig, exp, err := w.tgt.Sign(s.id, now)
			if err != nil {
				w.ops.LoginsFailed++
				w.ops.fail("sign", 0, err)
				return
			}
			s.sig, s.sigExp = sig, exp
		}
	}
	t := w.begin(intended)
	cctx, cancel := w.opContext(ctx)
	res, err := s.conn.Login(cctx, driver.LoginRequest{UserID: s.id, UserSig: s.sig})
	cancel()
	if w.emitting() {
		w.op(ctx, event.Login, t, res.Code, err)
		if err == nil {
			w.ev.Seq, w.ev.Repeat = res.Seq, res.RepeatLogin
			if res.Code == 0 {
				w.ev.ServerTime = res.ServerTime
			}
		}
		w.emit(u, s)
	}
	if err != nil || res.Code != 0 {
		w.ops.LoginsFailed++
		w.ops.fail("login", res.Code, err)
		if res.Code == codes.SigExpired || res.Code == codes.ClientSigExpired { // expired ticket: make a new one next time
			s.sig = ""
		}
		if err != nil {
			w.drop(u, day, s, 0, "")
		}
		return
	}
	s.online = true
	s.token = res.ResumeToken
	s.seq = res.Seq
	if w.realtime && !res.ServerTime.IsZero() {
		// The day the target accepted it, as it counted it: the answer
		// may arrive after a day boundary on a busy machine.
		w.counter.Add(u, res.ServerTime, Login)
	} else {
		w.record(u, day, Login)
	}
}

// OpStats tallies what the runner asked of the target and what failed.
type OpStats struct {
	Connects        int64 `json:"connects"`
	Logins          int64 `json:"logins"`
	LoginsFailed    int64 `json:"logins_failed"`
	Resumes         int64 `json:"resumes"`
	ResumeFallbacks int64 `json:"resume_fallbacks"` // resumes that became logins
	Logouts         int64 `json:"logouts"`
	Closes          int64 `json:"closes"`
	Kicked          int64 `json:"kicked"`
	// Failures counts refusals by "op:code" ("login:70001") and transport
	// errors by "op:error".
	Failures   map[string]int64 `json:"failures,omitempty"`
	FirstError string           `json:"first_error,omitempty"`
}

func (o *OpStats) fail(op string, code int, err error) {
	if o.Failures == nil {
		o.Failures = map[string]int64{}
	}
	key := op + ":" + strconv.Itoa(code)
	if err != nil {
		key = op + ":error"
		if errors.Is(err, driver.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			key = op + ":timeout"
		}
		if o.FirstError == "" {
			o.FirstError = fmt.Sprintf("%s: %v", op, err)
		}
	}
	o.Failures[key]++
}

func (o *OpStats) add(b *OpStats) {
	o.Connects += b.Connects
	o.Logins += b.Logins
	o.LoginsFailed += b.LoginsFailed
	o.Resumes += b.Resumes
	o.ResumeFallbacks += b.ResumeFallbacks
	o.Logouts += b.Logouts
	o.Closes += b.Closes
	o.Kicked += b.Kicked
	for k, v := range b.Failures {
		if o.Failures == nil {
			o.Failures = map[string]int64{}
		}
		o.Failures[k] += v
	}
	if o.FirstError == "" {
		o.FirstError = b.FirstError
	}
}
