package pacer

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/scenario"
)

// Arrival is one device session the pacer starts.
type Arrival struct {
	// Index is the global, deterministic index of this session: the same
	// phases always number their arrivals the same way, so a device's plan
	// can be drawn from (seed, Index). Indices are unique within a run but
	// not dense (a closed-model block reserves SessionCap sessions per slot).
	Index int
	// Device is the index of the simulated device the session runs on: the
	// Index of its first session. An open-model arrival is a device of its
	// own (Device == Index); the sessions of a closed-model slot are one
	// device's, which restarts its app between them.
	Device int
	// Intended is when the session was scheduled to start: the arrival time
	// in the open model, the moment the slot became free (or wanted) in the
	// closed model. Latency is measured from it.
	Intended time.Time
	// Phase is the index of the phase the session started in.
	Phase int
	// Slot is the arrival's number within its phase (open model) or the
	// device slot it occupies (closed model).
	Slot int
	// Session counts the sessions the slot ran before this one (closed
	// model; 0 for the first and for every open-model arrival). A session
	// with Session > 0 is a restart and should begin with the think time.
	Session int
}

// Pacer paces the arrivals of one open-model phase (the vegeta shape).
type Pacer interface {
	// Pace returns how long to wait, from elapsed since the phase began,
	// until arrival number hits (0-based), and stop once the phase has no
	// more arrivals. wait is negative when the arrival is already late.
	Pace(elapsed time.Duration, hits uint64) (wait time.Duration, stop bool)
	// Rate is the arrival rate per second at elapsed.
	Rate(elapsed time.Duration) float64
}

// Spawn runs one session and returns when it ends or ctx is done.
type Spawn func(ctx context.Context, a *Arrival)

// Begin starts one session and may return before it ends: the session
// calls done exactly once when it has ended (or ctx ended it), from any
// goroutine. A session that parks between its steps without a goroutine of
// its own (see agent.Device.Start) then holds no goroutine of the pacer's
// either.
type Begin func(ctx context.Context, a *Arrival, done func())

// DefaultSessionCap bounds the sessions of one closed-model slot.
const DefaultSessionCap = 1 << 20

type options struct {
	clock       clock.Clock
	maxInFlight int
	sessionCap  int
	beforeStop  func()
	sendLag     func(time.Duration)
}

// Option configures a run.
type Option func(*options)

// WithBeforeStop sets fn to be called once when the last phase has ended
// normally, before the sessions are cancelled (e.g. to read the target's view
// of who is online while the devices still hold their sessions).
func WithBeforeStop(fn func()) Option { return func(o *options) { o.beforeStop = fn } }

// WithSendLag sets fn to receive, for every open-model arrival, how late
// it was started: the clock's time when its session is handed to spawn
// minus its Intended time (a pacer that cannot keep up shows here before
// anywhere else). fn is called from the pacer's goroutine.
func WithSendLag(fn func(time.Duration)) Option { return func(o *options) { o.sendLag = fn } }

// WithClock sets the time source (default the wall clock).
func WithClock(c clock.Clock) Option { return func(o *options) { o.clock = c } }

// WithMaxInFlight caps the sessions running at once (0: no cap). An
// open-model arrival that finds the cap reached waits for a free place and
// starts late; its Intended time stays the scheduled one, so the wait shows
// as latency.
func WithMaxInFlight(n int) Option { return func(o *options) { o.maxInFlight = n } }

// WithSessionCap bounds how many sessions one closed-model slot runs (default
// DefaultSessionCap); it also sets how many indices each slot reserves.
func WithSessionCap(n int) Option { return func(o *options) { o.sessionCap = n } }

// Timeline is a validated sequence of phases with their start offsets and
// arrival index ranges, computed before the run.
type Timeline struct {
	phases []scenario.Phase
	starts []time.Duration // offset of each phase from the run start
	total  time.Duration
	steps  []step
}

// step is one open phase or one block of consecutive closed phases.
type step struct {
	first, last int // phase indices, inclusive
	open        *Linear
	slots       int // closed: device slots of the block
}

// Schedule validates phases and lays them out in sequence. A phase needs a
// positive duration and a model of "open" (rates ≥ 0) or "closed" (devices
// ≥ 0); consecutive closed phases form one block whose device slots carry
// over from phase to phase.
func Schedule(phases []scenario.Phase) (*Timeline, error) {
	if len(phases) == 0 {
		return nil, fmt.Errorf("pacer: no phases (a scenario needs at least one)")
	}
	tl := &Timeline{phases: phases, starts: make([]time.Duration, len(phases))}
	for i, ph := range phases {
		where := fmt.Sprintf("pacer: phases[%d]", i)
		if ph.Name != "" {
			where += fmt.Sprintf(" (%s)", ph.Name)
		}
		if ph.Duration.D() <= 0 {
			return nil, fmt.Errorf("%s: duration must be positive, got %v", where, ph.Duration.D())
		}
		tl.starts[i] = tl.total
		tl.total += ph.Duration.D()
		switch ph.Model {
		case scenario.Open:
			if ph.Rate < 0 || ph.ToRate < 0 {
				return nil, fmt.Errorf("%s: rate and to_rate must be ≥ 0, got %v and %v", where, ph.Rate, ph.ToRate)
			}
			tl.steps = append(tl.steps, step{first: i, last: i, open: NewLinear(ph.Rate, toRate(ph), ph.Duration.D())})
		case scenario.Closed:
			if ph.Devices < 0 || ph.ToDevices < 0 {
				return nil, fmt.Errorf("%s: devices and to_devices must be ≥ 0, got %d and %d", where, ph.Devices, ph.ToDevices)
			}
			n := max(ph.Devices, toDevices(ph))
			if k := len(tl.steps); k > 0 && tl.steps[k-1].open == nil {
				tl.steps[k-1].last = i
				tl.steps[k-1].slots = max(tl.steps[k-1].slots, n)
				continue
			}
			tl.steps = append(tl.steps, step{first: i, last: i, slots: n})
		default:
			return nil, fmt.Errorf("%s: model %q is not allowed (allowed: %s, %s)", where, ph.Model, scenario.Open, scenario.Closed)
		}
	}
	return tl, nil
}

// Duration is the length of the whole run.
func (tl *Timeline) Duration() time.Duration { return tl.total }

// Arrivals returns the number of arrivals of open phase i (0 for a closed
// phase, whose sessions depend on how long they last).
func (tl *Timeline) Arrivals(i int) int {
	for _, s := range tl.steps {
		if s.first == i && s.open != nil {
			return s.open.Count()
		}
	}
	return 0
}

func toRate(ph scenario.Phase) float64 {
	if ph.ToRate == 0 {
		return ph.Rate
	}
	return ph.ToRate
}

func toDevices(ph scenario.Phase) int {
	if ph.ToDevices == 0 {
		return ph.Devices
	}
	return ph.ToDevices
}

// Run schedules phases and runs them: see Timeline.Run.
func Run(ctx context.Context, phases []scenario.Phase, spawn Spawn, opts ...Option) error {
	tl, err := Schedule(phases)
	if err != nil {
		return err
	}
	return tl.Run(ctx, spawn, opts...)
}

// Run is RunBegin with sessions that end when spawn returns.
func (tl *Timeline) Run(ctx context.Context, spawn Spawn, opts ...Option) error {
	return tl.RunBegin(ctx, func(ctx context.Context, a *Arrival, done func()) {
		spawn(ctx, a)
		done()
	}, opts...)
}

// runner is the state of one run.
type runner struct {
	o     options
	start time.Time
	begin Begin
	// openDone ends an open arrival's session (release its place, count
	// it out of wg).
	openDone func()
	sem      chan struct{} // nil: no cap
	wg       sync.WaitGroup
}

// RunBegin starts sessions by begin as the phases say, each from a
// goroutine of its own (open model) or one after the other in its device
// slot (closed model: the slot's next session is due once the previous has
// called done). The run ends at the end of the last phase: then, or when
// ctx is done, the context given to the sessions is cancelled, and RunBegin
// returns once every session has called done. Sessions that outlive their
// phase keep running until the run ends. RunBegin returns ctx.Err() when
// ctx ended the run.
func (tl *Timeline) RunBegin(ctx context.Context, begin Begin, opts ...Option) error {
	o := options{clock: clock.Real{}, sessionCap: DefaultSessionCap}
	for _, opt := range opts {
		opt(&o)
	}
	if o.sessionCap <= 0 {
		o.sessionCap = DefaultSessionCap
	}
	r := &runner{o: o, start: o.clock.Now(), begin: begin}
	r.openDone = func() {
		r.release()
		r.wg.Done()
	}
	if o.maxInFlight > 0 {
		r.sem = make(chan struct{}, o.maxInFlight)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		r.wg.Wait()
	}()
	base := 0
	for _, s := range tl.steps {
		if s.open != nil {
			if err := r.runOpen(runCtx, s.first, tl.starts[s.first], s.open, base); err != nil {
				return ctx.Err()
			}
			base += s.open.Count()
			continue
		}
		b := &block{tl: tl, first: s.first, last: s.last, slots: s.slots, base: base}
		for slot := 0; slot < s.slots; slot++ {
			r.wg.Add(1)
			go r.runSlot(runCtx, b, slot, 0)
		}
		base += s.slots * o.sessionCap
		end := tl.starts[s.last] + tl.phases[s.last].Duration.D()
		if err := sleepUntil(runCtx, o.clock, r.start.Add(end)); err != nil {
			return ctx.Err()
		}
	}
	if err := sleepUntil(runCtx, o.clock, r.start.Add(tl.total)); err != nil {
		return ctx.Err()
	}
	if o.beforeStop != nil {
		o.beforeStop()
	}
	return nil
}

// acquire takes a place under the in-flight cap.
func (r *runner) acquire(ctx context.Context) error {
	if r.sem == nil {
		return ctx.Err()
	}
	select {
	case r.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *runner) release() {
	if r.sem != nil {
		<-r.sem
	}
}

// sleepUntil waits until t on c, or until ctx is done.
func sleepUntil(ctx context.Context, c clock.Clock, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := t.Sub(c.Now())
	if d <= 0 {
		return nil
	}
	tm := c.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C():
		return nil
	}
}
