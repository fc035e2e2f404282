package run

import (
	"context"
	"sync"
	"time"

	"github.com/imload/imload/scenario"
)

// ending is how the devices' sessions end when the last phase does
// (scenario end). Under cut and logout the sessions run on the pacer's
// context, which the end of the last phase cancels (the agent then closes
// at once, or logs out first: agent.Config.LogoutOnCancel). Under drain they
// run on a context of their own that ends a grace after the last phase, or
// with the run's context (an interrupt): the pacer's context then only
// stops new sessions from starting.
type ending struct {
	drain bool
	grace time.Duration

	ctx    context.Context // drain: the sessions' context
	cancel context.CancelFunc
	once   sync.Once
	timer  *time.Timer
}

func newEnding(ctx context.Context, sc *scenario.Scenario) *ending {
	e := &ending{drain: sc.End == scenario.EndDrain, grace: sc.EndGrace.D()}
	if e.grace <= 0 {
		e.grace = scenario.DefaultEndGrace
	}
	e.ctx, e.cancel = context.WithCancel(ctx)
	return e
}

// sessionCtx is the context a session of arrival a runs on, given the
// pacer's.
func (e *ending) sessionCtx(pacerCtx context.Context) context.Context {
	if e.drain {
		return e.ctx
	}
	return pacerCtx
}

// lastPhaseEnded starts the grace of a drain; it runs before the pacer
// cancels its context.
func (e *ending) lastPhaseEnded() {
	if e.drain {
		e.once.Do(func() { e.timer = time.AfterFunc(e.grace, e.cancel) })
	}
}

// stop ends what is left (every session has returned by then).
func (e *ending) stop() {
	if e.timer != nil {
		e.timer.Stop()
	}
	e.cancel()
}
