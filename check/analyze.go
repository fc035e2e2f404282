package check

import (
	"math"

	"github.com/imload/imload/policy"
)

// never is a time after every event.
const never = int64(math.MaxInt64)

// rules is what every step judges a user by, the same for every user.
type rules struct {
	pol *policy.Policy
	opt Options // with defaults
	end int64   // end of the run (unix ns)
}

// analyzer judges one user at a time, in steps: build reads the user's
// events into a userHistory (build.go); the user's logins are then put in
// the target's order and replayed through the policy (sequence mode,
// replay.go) or an order is searched for (search mode, search.go); then
// come the verdicts that need no order (verdicts*.go). Examples are
// rendered as timelines (render.go). One analyzer per worker, its buffers
// reused from user to user.
type analyzer struct {
	userHistory                  // the user being judged
	statusAt    int64            // when the target's online statuses were taken
	webhooks    bool             // some callback was added: every user's are judged
	rep         *Report          // where the verdicts and measures go
	flagged     [NumClasses]bool // classes flagged for the user being judged
	// crossed: the user's history names what Settle dropped, so it is
	// judged without part of its evidence: a violation found then is no
	// proof, and is undecided (see flag).
	crossed bool

	replayBufs
	sweepBufs
	// insts is the scratch list of instances given to the policy, shared
	// by the replay and the over-limit sweep.
	insts []policy.Instance
}

// replayBufs are the sequence-mode replay's buffers (sessions by index).
type replayBufs struct {
	// registered: the sessions the model holds registered before the
	// login being replayed; nextRegistered: after it.
	registered     []int32
	nextRegistered []int32
	// maybeRemoved: registered sessions whose own removal may have been
	// processed before or after the login (the replay tries both).
	maybeRemoved []int32
	// members: the sessions registered at the login under the assignment
	// being tried, in the order given to the policy.
	members []int32
	// finalRegistered: the sessions the model holds registered after the
	// user's last login.
	finalRegistered []int32
}

// sweepBufs are the over-limit sweep's buffers.
type sweepBufs struct {
	edges   []sweepEdge // where a session comes online or goes offline, by time
	holding []int32     // the sessions the devices hold online at the sweep's time
}

// newAnalyzer returns an analyzer that adds what it finds to rep.
func newAnalyzer(pol *policy.Policy, opt Options, end int64, webhooks bool, rep *Report) *analyzer {
	a := &analyzer{userHistory: userHistory{rules: rules{pol: pol, opt: opt, end: end}},
		statusAt: unixNano(opt.StatusAt), webhooks: webhooks, rep: rep}
	if a.statusAt == 0 {
		a.statusAt = end
	}
	return a
}

// check judges one user.
func (a *analyzer) check(u *userSnap) {
	a.flagged = [NumClasses]bool{}
	a.reset(u)
	a.build()
	a.attachKicks()
	c := &a.rep.Checks
	// A user whose earlier segments Settle judged was counted then, in
	// sequence mode (the only mode Settle cuts).
	if u.res.segments == 0 {
		c.Users++
		if a.sequenceMode {
			c.SequenceUsers++
		} else {
			c.SearchUsers++
		}
	}
	if a.sequenceMode {
		a.rep.Mode = mergeMode(a.rep.Mode, Sequence.String())
	} else {
		a.rep.Mode = mergeMode(a.rep.Mode, Search.String())
	}
	a.crossed = u.res.segments > 0 && a.crossesCut()
	if a.crossed {
		c.SettleCrossings++
	}
	for i := range a.sessions {
		if a.sessions[i].inferred {
			c.InferredLogins++
		} else {
			c.Logins++
		}
	}
	for i := range a.kicks {
		if a.kicks[i].administrative {
			c.UnnamedKicks++
		} else {
			c.Kicks++
			inWindows(a.opt.Windows, a.rep.Windows, a.kicks[i].arrived, func(w *WindowCounts) { w.Kicks++ })
		}
	}
	a.orderLogins()
	if a.sequenceMode {
		a.replay()
	} else {
		a.search()
	}
	a.unattributed()
	a.refusals()
	a.late()
	a.overLimit()
	if u.hasStatus {
		c.StatusUsers++
		a.status()
	}
	if a.webhooks {
		a.checkWebhooks()
	}
}

// flag counts a verdict of class c; the example timeline is built only when
// it would be kept.
func (a *analyzer) flag(c Class, focus int64, head func() string, marks ...int32) {
	if a.crossed && c.Violation() {
		// Judged without the part of the history Settle dropped: what
		// looks like a violation may be explained by it.
		was, h := c, head
		c, head = Undecided, func() string {
			return "history crossed a settled cut (judged without the part dropped): would be " + was.String() + ": " + h()
		}
	}
	a.flagged[c] = true
	v := &a.rep.Verdicts[c]
	v.Count++
	inWindows(a.opt.Windows, a.rep.Windows, focus, func(w *WindowCounts) {
		if c.Violation() {
			w.Violations++
		} else {
			w.Undecided++
		}
	})
	if !v.wants(a.u.id, a.rep.ExampleLimit) {
		return
	}
	v.add(Example{User: a.u.id, Text: a.timeline(head(), focus, marks)}, a.rep.ExampleLimit)
}
