package run

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/imload/imload/check"
	"github.com/imload/imload/driver/netem"
	"github.com/imload/imload/pacer"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/server"
	"github.com/imload/imload/storm"
)

// storms plays a scenario's events (storms on its timeline) and measures
// how the devices come back (package storm).
type storms struct {
	r   *phases
	evs []scenario.Event
	net *netem.Driver
	tr  *storm.Tracker

	ctx    context.Context // the devices' context of surges
	cancel context.CancelFunc
	wg     sync.WaitGroup
	notes  []string
	mu     sync.Mutex
}

// setUpStorms wraps the target's driver in netem and makes the tracker,
// when the scenario has events (nil otherwise). An external target's
// restart runs the operator's command, which only --allow-exec permits.
func (r *phases) setUpStorms() (*storms, error) {
	sc := r.sc
	if len(sc.Events) == 0 {
		return nil, nil
	}
	for i, e := range sc.Events {
		if e.Action == scenario.ActionRestartServer && r.tgt.Server == nil {
			if len(r.o.RestartCommand) == 0 || !r.o.AllowExec {
				return nil, fmt.Errorf("events[%d]: restart_server against %s runs the operator's --restart-cmd, and only with --allow-exec (a scenario alone never runs a command)", i, r.tgt.Kind)
			}
		}
		if e.Action == scenario.ActionExpireTickets && r.tgt.Server == nil {
			return nil, fmt.Errorf("events[%d]: expire_tickets needs the embedded server", i)
		}
	}
	s := &storms{r: r, evs: sc.Events, tr: storm.New(r.clk.Now())}
	s.net = netem.Wrap(r.tgt.Driver, r.clk)
	r.tgt.Driver = s.net
	return s, nil
}

// pick chooses a share of the devices for event i, by a hash of the seed,
// the event and the device: the same seed hits the same devices.
func (s *storms) pick(i int, share float64) func(string) bool {
	seed := strconv.FormatInt(s.r.sc.Seed, 10) + "/" + strconv.Itoa(i) + "/"
	return func(inst string) bool {
		h := fnv.New64a()
		h.Write([]byte(seed + inst))
		// splitmix64's finalizer: FNV alone leaves the high bits of short
		// keys that differ at the end too alike.
		x := h.Sum64()
		x ^= x >> 30
		x *= 0xbf58476d1ce4e5b9
		x ^= x >> 27
		x *= 0x94d049bb133111eb
		x ^= x >> 31
		return float64(x>>11)/(1<<53) < share
	}
}

// start plays the events from now on, in their own goroutine; surges'
// devices run under ctx until stop.
func (s *storms) start(ctx context.Context) {
	if s == nil {
		return
	}
	origin := s.r.clk.Now()
	s.tr.SetStart(origin)
	s.ctx, s.cancel = context.WithCancel(ctx)
	order := make([]int, len(s.evs))
	for i := range order {
		order[i] = i
	}
	// In time order; a stable sort keeps the file's order for ties.
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && s.evs[order[j]].At < s.evs[order[j-1]].At; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for _, i := range order {
			if !s.sleepUntil(origin.Add(s.evs[i].At.D())) {
				return
			}
			s.strike(i)
		}
	}()
}

// sleepUntil waits on the run's clock until at; false: the run ended first.
func (s *storms) sleepUntil(at time.Time) bool {
	w := at.Sub(s.r.clk.Now())
	if w <= 0 {
		return true
	}
	t := s.r.clk.NewTimer(w)
	defer t.Stop()
	select {
	case <-s.ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// strike plays event i now.
func (s *storms) strike(i int) {
	e := s.evs[i]
	now := s.r.clk.Now()
	m := storm.Mark{Action: e.Action, Index: i}
	switch e.Action {
	case scenario.ActionRestartServer:
		m.AllOnline, m.Detail = true, "sessions "+e.Sessions
		if e.Down > 0 {
			m.Detail += ", down " + e.Down.String()
		}
		if srv := s.r.tgt.Server; srv != nil {
			if e.Sessions == scenario.SessionsResumable {
				m.ResumeWindow = srv.Config().ResumeWindow
			}
			s.tr.Strike(m, now)
			srv.Restart(server.RestartOptions{LoseSessions: e.Sessions == scenario.SessionsLost, Down: e.Down.D()})
			return
		}
		s.tr.Strike(m, now)
		s.exec(i)
	case scenario.ActionDropConnections, scenario.ActionPartition, scenario.ActionExpireTickets:
		// The devices are marked before they are hit, so that none of
		// their answers comes before the mark.
		m.Devices = s.net.Live(s.pick(i, e.Share))
		m.Detail = fmt.Sprintf("share %g", e.Share)
		if e.Action == scenario.ActionPartition {
			m.Detail += " for " + e.For.String()
		}
		s.tr.Strike(m, now)
		set := make(map[string]bool, len(m.Devices))
		for _, d := range m.Devices {
			set[d] = true
		}
		hit := func(inst string) bool { return set[inst] }
		switch e.Action {
		case scenario.ActionDropConnections:
			s.net.Drop(hit)
		case scenario.ActionPartition:
			s.net.Partition(hit, e.For.D())
		default:
			s.r.tgt.Server.ExpireTickets(func(si server.SessionInfo) bool { return hit(si.Instance) })
		}
	case scenario.ActionSurge:
		m.Detail = fmt.Sprintf("%g/s for %s", e.Rate, e.For)
		s.tr.Strike(m, now)
		s.surge(i, e, now)
	}
}

// surgeBase numbers a surge's devices apart from the phases' arrivals.
const surgeBase = 1 << 30

// surge spawns e.Rate arrivals per second for e.For (a shard 1/N of them),
// each a device of its own running until the run ends.
func (s *storms) surge(i int, e scenario.Event, from time.Time) {
	// A shard plays 1/N of the surge's arrivals (as of the phases'), on
	// device numbers no other shard uses.
	rate := e.Rate
	if sh := s.r.o.Shard; !sh.Whole() {
		rate /= float64(sh.Count)
	}
	n := int(rate * e.For.Seconds())
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for k := 0; k < n; k++ {
			at := from.Add(time.Duration(float64(k) / rate * float64(time.Second)))
			if !s.sleepUntil(at) {
				return
			}
			idx := s.r.o.Shard.Device(surgeBase + i<<20 + k)
			s.tr.Arrived(i, "dev"+strconv.Itoa(idx))
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.r.view.DeviceStarted()
				defer s.r.view.DeviceEnded()
				s.r.pool.Spawn(s.ctx, pacer.Arrival{Index: idx, Device: idx, Intended: at})
			}()
		}
	}()
}

// exec runs the operator's restart command for an external target.
func (s *storms) exec(i int) {
	cmd := s.r.o.RestartCommand
	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, cmd[0], cmd[1:]...).CombinedOutput()
	note := fmt.Sprintf("events[%d]: restart command %q", i, cmd)
	if err != nil {
		note += fmt.Sprintf(" failed: %v: %s", err, out)
	}
	s.mu.Lock()
	s.notes = append(s.notes, note)
	s.mu.Unlock()
	fmt.Fprintln(s.r.o.Log, note)
}

// stop ends the events and the surges' devices, and waits for them.
func (s *storms) stop() {
	if s == nil {
		return
	}
	s.cancel()
	s.wg.Wait()
}

// figures are the storms' figures, before the oracle's counts.
func (s *storms) figures() []storm.Figures {
	if s == nil {
		return nil
	}
	return s.tr.Figures(s.r.end)
}

// windows are the storms' recovery windows, for the oracle to count in.
func windows(fs []storm.Figures) []check.Window {
	var out []check.Window
	for _, f := range fs {
		out = append(out, check.Window{From: f.Time, To: f.Time.Add(time.Duration(f.WindowS * float64(time.Second)))})
	}
	return out
}

// withKickout sets each storm's oracle counts from the report's windows
// (those of windows(fs), in order).
func withKickout(fs []storm.Figures, kick *check.Report) {
	if kick == nil {
		return
	}
	for i := range fs {
		if i < len(kick.Windows) {
			w := kick.Windows[i]
			fs[i].Kickout = &storm.Kickout{Kicks: w.Kicks, Violations: w.Violations, Undecided: w.Undecided}
		}
	}
}

// lost reports the sessions the storms lost that should have stayed
// resumable: a failed run.
func lostSessions(fs []storm.Figures) error {
	var errs []error
	for _, f := range fs {
		if f.LostResumable > 0 {
			errs = append(errs, fmt.Errorf("events[%d] %s: %d resumes answered 1006 within the resume window: sessions lost", f.Index, f.Action, f.LostResumable))
		}
	}
	return errors.Join(errs...)
}
