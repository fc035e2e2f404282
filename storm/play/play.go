package play

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"os/exec"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/pacer"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/shard"
	"github.com/imload/imload/storm"
)

// Server is what the events do to the embedded server.
type Server interface {
	// Restart restarts the server, its sessions lost or kept resumable,
	// down that long.
	Restart(loseSessions bool, down time.Duration)
	// ExpireTickets expires the tickets of the sessions of the instances
	// hit says.
	ExpireTickets(hit func(instance string) bool)
	// ResumeWindow is how long a dropped session stays resumable.
	ResumeWindow() time.Duration
}

// Net is what the events do to the devices' transports (a *netem.Driver):
// the instances connected, cut without a close frame, or blackholed for a
// while.
type Net interface {
	Live(pick func(instance string) bool) []string
	Drop(pick func(instance string) bool) []string
	Partition(pick func(instance string) bool, d time.Duration) []string
}

// Config is what a Player plays and acts on.
type Config struct {
	Events []scenario.Event
	Seed   int64 // the scenario's: which devices a share hits
	Clock  clock.Clock
	Net    Net
	// Server is the embedded server; nil: the target is external (Target
	// names its kind), so a restart runs RestartCommand, and only with
	// AllowExec.
	Server         Server
	Target         string
	RestartCommand []string
	AllowExec      bool
	// Shard is the run's part: a surge plays 1/N of its arrivals, on
	// device numbers of its own.
	Shard shard.Shard
	// Spawn runs a surge's arrival as a device until it ends or ctx is
	// done.
	Spawn func(ctx context.Context, a *pacer.Arrival)
	// Log receives the restart command's notes.
	Log io.Writer
}

// Player plays the events of one run.
type Player struct {
	cfg   Config
	tr    *storm.Tracker
	order []int // the events' indexes in time order

	ctx    context.Context // the surges' devices run under it
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New checks that the target can play cfg's events and makes their player.
// An external target's restart runs the operator's command, which only
// AllowExec permits; expire_tickets needs the embedded server.
func New(cfg Config) (*Player, error) {
	for i, e := range cfg.Events {
		if e.Action == scenario.ActionRestartServer && cfg.Server == nil {
			if len(cfg.RestartCommand) == 0 || !cfg.AllowExec {
				return nil, fmt.Errorf("events[%d]: restart_server against %s runs the operator's --restart-cmd, and only with --allow-exec (a scenario alone never runs a command)", i, cfg.Target)
			}
		}
		if e.Action == scenario.ActionExpireTickets && cfg.Server == nil {
			return nil, fmt.Errorf("events[%d]: expire_tickets needs the embedded server", i)
		}
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	p := &Player{cfg: cfg, tr: storm.New(cfg.Clock.Now()), order: make([]int, len(cfg.Events))}
	for i := range p.order {
		p.order[i] = i
	}
	sort.SliceStable(p.order, func(a, b int) bool { return cfg.Events[p.order[a]].At < cfg.Events[p.order[b]].At })
	return p, nil
}

// Tracker is the storms' tracker: a sink of the devices' events.
func (p *Player) Tracker() *storm.Tracker { return p.tr }

// Figures are the storms' figures (before the oracle's counts); end is when
// the run ended. Nil-safe.
func (p *Player) Figures(end time.Time) []storm.Figures {
	if p == nil {
		return nil
	}
	return p.tr.Figures(end)
}

// Start plays the events from now on, in their own goroutine; surges'
// devices run under ctx until Stop. Nil-safe.
func (p *Player) Start(ctx context.Context) {
	if p == nil {
		return
	}
	origin := p.cfg.Clock.Now()
	p.tr.SetStart(origin)
	p.ctx, p.cancel = context.WithCancel(ctx)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for _, i := range p.order {
			if !p.sleepUntil(origin.Add(p.cfg.Events[i].At.D())) {
				return
			}
			p.strike(i)
		}
	}()
}

// Stop ends the events and the surges' devices, and waits for them.
// Nil-safe; a second Stop does nothing more.
func (p *Player) Stop() {
	if p == nil || p.cancel == nil {
		return
	}
	p.cancel()
	p.wg.Wait()
}

// pick chooses a share of the devices for event i, by a hash of the seed,
// the event and the device: the same seed hits the same devices.
func pick(seed int64, i int, share float64) func(string) bool {
	prefix := strconv.FormatInt(seed, 10) + "/" + strconv.Itoa(i) + "/"
	return func(inst string) bool {
		h := fnv.New64a()
		h.Write([]byte(prefix + inst))
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

// sleepUntil waits on the run's clock until at; false: the run ended first.
func (p *Player) sleepUntil(at time.Time) bool {
	w := at.Sub(p.cfg.Clock.Now())
	if w <= 0 {
		return true
	}
	t := p.cfg.Clock.NewTimer(w)
	defer t.Stop()
	select {
	case <-p.ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// strike plays event i now.
func (p *Player) strike(i int) {
	e := p.cfg.Events[i]
	now := p.cfg.Clock.Now()
	m := storm.Mark{Action: e.Action, Index: i}
	switch e.Action {
	case scenario.ActionRestartServer:
		m.AllOnline, m.Detail = true, "sessions "+e.Sessions
		if e.Down > 0 {
			m.Detail += ", down " + e.Down.String()
		}
		if srv := p.cfg.Server; srv != nil {
			if e.Sessions == scenario.SessionsResumable {
				m.ResumeWindow = srv.ResumeWindow()
			}
			p.tr.Strike(m, now)
			srv.Restart(e.Sessions == scenario.SessionsLost, e.Down.D())
			return
		}
		p.tr.Strike(m, now)
		p.exec(i)
	case scenario.ActionDropConnections, scenario.ActionPartition, scenario.ActionExpireTickets:
		// The devices are marked before they are hit, so that none of
		// their answers comes before the mark.
		m.Devices = p.cfg.Net.Live(pick(p.cfg.Seed, i, e.Share))
		m.Detail = fmt.Sprintf("share %g", e.Share)
		if e.Action == scenario.ActionPartition {
			m.Detail += " for " + e.For.String()
		}
		p.tr.Strike(m, now)
		set := make(map[string]bool, len(m.Devices))
		for _, d := range m.Devices {
			set[d] = true
		}
		hit := func(inst string) bool { return set[inst] }
		switch e.Action {
		case scenario.ActionDropConnections:
			p.cfg.Net.Drop(hit)
		case scenario.ActionPartition:
			p.cfg.Net.Partition(hit, e.For.D())
		default:
			p.cfg.Server.ExpireTickets(hit)
		}
	case scenario.ActionSurge:
		m.Detail = fmt.Sprintf("%g/s for %s", e.Rate, e.For)
		p.tr.Strike(m, now)
		p.surge(i, e, now)
	}
}

// surgeBase numbers a surge's devices apart from the phases' arrivals.
const surgeBase = 1 << 30

// surge spawns e.Rate arrivals per second for e.For (a shard 1/N of them),
// each a device of its own running until the run ends.
func (p *Player) surge(i int, e scenario.Event, from time.Time) {
	// A shard plays 1/N of the surge's arrivals (as of the phases'), on
	// device numbers no other shard uses.
	rate := e.Rate
	if sh := p.cfg.Shard; !sh.Whole() {
		rate /= float64(sh.Count)
	}
	n := int(rate * e.For.Seconds())
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for k := 0; k < n; k++ {
			at := from.Add(time.Duration(float64(k) / rate * float64(time.Second)))
			if !p.sleepUntil(at) {
				return
			}
			idx := p.cfg.Shard.Device(surgeBase + i<<20 + k)
			p.tr.Arrived(i, "dev"+strconv.Itoa(idx))
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.cfg.Spawn(p.ctx, &pacer.Arrival{Index: idx, Device: idx, Intended: at})
			}()
		}
	}()
}

// exec runs the operator's restart command for an external target.
func (p *Player) exec(i int) {
	cmd := p.cfg.RestartCommand
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, cmd[0], cmd[1:]...).CombinedOutput()
	note := fmt.Sprintf("events[%d]: restart command %q", i, cmd)
	if err != nil {
		note += fmt.Sprintf(" failed: %v: %s", err, out)
	}
	fmt.Fprintln(p.cfg.Log, note)
}
