package run

import (
	"sync"
	"time"

	"github.com/imload/imload/agent"
	"github.com/imload/imload/check"
)

// settleEvery is how often the oracle judges, while the run goes on, the
// users whose history has settled, and drops that history
// (check.History.Settle): its memory then follows the users active, not
// the run's length.
const settleEvery = time.Second

// settleQuiet is how long a user must have been quiet before its history
// is judged and dropped: past an operation's timeout (nothing of it is in
// flight), the oracle's grace and late_after (no kick or callback is still
// due), and 10 s more for callbacks queued at the target and for the
// reference server's faults that act late (stale-online-status keeps an
// ended session listed 10 s); at least check.DefaultSettleQuiet.
func (r *phases) settleQuiet() time.Duration {
	if r.o.settleQuiet > 0 {
		return r.o.settleQuiet
	}
	timeout := r.sc.Target.Timeout.D()
	if timeout <= 0 {
		timeout = agent.DefaultTimeout
	}
	k := check.Options{Grace: r.sc.Checks.Kickout.Grace.D(), LateAfter: r.sc.Checks.Kickout.LateAfter.D()}.WithDefaults()
	return max(timeout+k.Grace+k.LateAfter+10*time.Second, check.DefaultSettleQuiet)
}

// settleWhileRunning drains the callbacks received and settles the oracle's
// history every settleEvery until the returned stop is called. A scenario
// with storms is judged at its end only: their recovery windows, over
// which the oracle counts, are known then.
func (r *phases) settleWhileRunning() (stop func()) {
	if r.hist == nil || r.storms != nil || r.o.noSettle {
		return func() {}
	}
	opts := r.kickoutOptions(nil)
	so := check.SettleOptions{Quiet: r.settleQuiet(), Webhooks: r.hooks != nil}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(settleEvery)
		defer t.Stop()
		lost := false
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			// Once the embedded server has lost a callback the run's
			// callbacks are not judged (hooks.Receiver.Finish): drop them
			// now rather than keep the users waiting for theirs.
			if !lost && r.hooks.Lost() > 0 {
				lost = true
				for _, h := range []*check.History{r.hist, r.twin} {
					if h != nil {
						h.DiscardCallbacks()
					}
				}
			}
			if lost {
				r.hooks.Drain()
			} else {
				r.hooks.Drain(r.hist, r.twin)
			}
			r.hist.Settle(r.clk.Now(), r.pol, opts, so)
		}
	}()
	return func() { close(done); wg.Wait() }
}

// kickoutOptions are the oracle's options for the run, the same while it
// goes on (Settle) as at its end (Check, which adds End and StatusAt).
func (r *phases) kickoutOptions(windows []check.Window) check.Options {
	k := r.sc.Checks.Kickout
	return check.Options{
		Grace:          k.Grace.D(),
		LateAfter:      k.LateAfter.D(),
		Examples:       k.Examples,
		Mode:           OracleMode(r.tgt.Traits),
		AnonymousKicks: r.tgt.Traits.AnonymousKicks,
		RefusalCodes:   r.tgt.Traits.RefusalCodes,
		HarnessLag:     r.probe.Lag,
		Windows:        windows,
	}
}
