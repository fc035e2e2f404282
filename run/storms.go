package run

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/imload/imload/check"
	"github.com/imload/imload/driver/netem"
	"github.com/imload/imload/pacer"
	"github.com/imload/imload/server"
	"github.com/imload/imload/storm"
	"github.com/imload/imload/storm/play"
)

// setUpStorms makes the player of the scenario's events (package
// storm/play), when it has any (nil otherwise), and wraps the target's
// driver in netem for it. A surge's devices come from the run's pool, shown
// on the live view.
func (r *phases) setUpStorms() (*play.Player, error) {
	if len(r.sc.Events) == 0 {
		return nil, nil
	}
	net := netem.Wrap(r.tgt.Driver, r.clk)
	cfg := play.Config{Events: r.sc.Events, Seed: r.sc.Seed, Clock: r.clk, Net: net, Target: r.tgt.Kind,
		RestartCommand: r.o.RestartCommand, AllowExec: r.o.AllowExec, Shard: r.o.Shard, Log: r.o.Log,
		Spawn: func(ctx context.Context, a *pacer.Arrival) {
			r.view.DeviceStarted()
			defer r.view.DeviceEnded()
			r.pool.Spawn(ctx, a)
		}}
	if r.tgt.Server != nil {
		cfg.Server = stormServer{r.tgt.Server}
	}
	p, err := play.New(cfg)
	if err == nil {
		r.tgt.Driver = net
	}
	return p, err
}

// stormServer is the embedded server as the storm player drives it.
type stormServer struct{ srv *server.Server }

func (s stormServer) Restart(lose bool, down time.Duration) {
	s.srv.Restart(server.RestartOptions{LoseSessions: lose, Down: down})
}

func (s stormServer) ExpireTickets(hit func(string) bool) {
	s.srv.ExpireTickets(func(si server.SessionInfo) bool { return hit(si.Instance) })
}

func (s stormServer) ResumeWindow() time.Duration { return s.srv.Config().ResumeWindow }

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
