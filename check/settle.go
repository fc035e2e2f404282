package check

import (
	"sync"
	"time"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// DefaultSettleQuiet is how long a user must have been quiet (no event, no
// callback) before Settle judges its history: longer than an operation's
// timeout (an operation sent before the quiet began has ended), than Grace
// and LateAfter (a kick still due has come), and than a callback's usual
// lateness.
const DefaultSettleQuiet = 15 * time.Second

// SettleOptions tune History.Settle.
type SettleOptions struct {
	// Quiet: how long a user must have had no event, no callback and no
	// removal window open before its history is judged; zero:
	// DefaultSettleQuiet.
	Quiet time.Duration
	// Webhooks says that the target sends callbacks (the run listens for
	// them): the history is judged with its callbacks, so a login must have
	// its own before it can be settled. Settle also judges callbacks once
	// any was added.
	Webhooks bool
}

// SettleStats says what one Settle call did.
type SettleStats struct {
	Users  int   // users whose history was judged and dropped
	Events int64 // device events dropped
	Hooks  int64 // callbacks dropped
	Kept   int   // quiet users judged whose history had to stay
}

// residue is what the segments of a user's history that Settle judged and
// dropped leave behind: enough to go on judging what follows exactly, and
// to tell when something that follows names what was dropped.
type residue struct {
	segments int32  // segments judged and dropped
	events   int64  // their device events
	firstAt  int64  // the user's first event (timelines count from it)
	lastAt   int64  // the latest time they name, removal windows included
	maxSeq   uint64 // the highest sequence they name
	// cut: the sessions of the segments cut within cutSessionsFor of the
	// latest cut (an online status that lists one of them is judged as
	// the end-of-run check judges a listing of an ended session); the
	// sessions of earlier cuts, up to sequence pruned, are forgotten.
	cut    []cutSession
	pruned uint64
}

// cutSession is a session of a segment Settle dropped.
type cutSession struct {
	dev string
	seq uint64
	at  int64 // the horizon of its segment
	// uncertain: the oracle cannot tell whether the target still held it
	// after its end (the model displaced it untold, the app was killed,
	// the ticket expired); else it is offline for certain.
	uncertain bool
}

// cutSessionsFor is how long the sessions of a cut segment are
// remembered for the online status: longer than a target keeps an ended
// session listed by mistake and is still told from a leak (the reference
// server's stale-online-status keeps one 10 s).
const cutSessionsFor = time.Minute

// cutSessionOf reports whether the segments cut hold a session of device
// dev with sequence seq, and whether that is known (a sequence the
// forgotten sessions may hold is not).
func (r *residue) cutSessionOf(dev string, seq uint64) (c *cutSession, known bool) {
	for i := range r.cut {
		if c := &r.cut[i]; c.seq == seq && c.dev == dev {
			return c, true
		}
	}
	return nil, seq > r.pruned
}

// latestCut returns the latest session of device dev the segments cut
// hold (nil: none remembered).
func (r *residue) latestCut(dev string) *cutSession {
	for i := len(r.cut) - 1; i >= 0; i-- {
		if r.cut[i].dev == dev {
			return &r.cut[i]
		}
	}
	return nil
}

// cutStatus is how statusFindings stands for cut session c: cutBefore or
// cutBeforeUncertain.
func cutStatus(c *cutSession) int32 {
	if c.uncertain {
		return cutBeforeUncertain
	}
	return cutBefore
}

// settledPart is what Settle judged, merged into the report Check returns.
type settledPart struct {
	run sync.Mutex // one Settle at a time
	mu  sync.Mutex
	rep *Report
	// hooks: callbacks counted in rep (Checks.Webhooks), taken out again
	// when the callbacks are not judged at the end; noHooks: segments
	// judged without callbacks although none was expected.
	hooks, noHooks int64
	// discarded: DiscardCallbacks was called, callbacks are not judged.
	discarded bool
	// total: what every Settle call dropped.
	total SettleStats
}

// Settled returns what the Settle calls so far dropped, in all.
func (h *History) Settled() SettleStats {
	h.settled.mu.Lock()
	defer h.settled.mu.Unlock()
	return h.settled.total
}

// Settle judges, against pol and opts, the history of every user that has
// settled by now, merges the verdicts into the report Check will return,
// and drops that history. A user has settled when it has been quiet for
// SettleOptions.Quiet (no event, no callback, no removal window of a
// session open), every session of its history has ended for good in a way
// the target has certainly processed (logout or failed resume answered,
// kick told, account switch past Grace, the device's next login), nothing
// remains that a later event could name (a login without an answer, a
// kick whose login or victim no device saw, a racing connection), the
// policy model holds nothing registered that is not certainly gone, its
// logins are ordered by the target's sequence numbers, it has no online
// status yet, and judging it gives no verdict at all (a user with a
// verdict keeps its whole history, so that its example is the one the
// end-of-run check shows). What follows such a cut starts from an empty
// model, as the end-of-run replay would have; should a later event name
// something dropped, Report.Checks.SettleCrossings counts the user.
//
// opts must be those Check is given (End and StatusAt excepted: the end of
// a settled history is now). Call Settle periodically while the run goes
// on (not concurrently with Check); the events of a run must go on being
// observed as they happen.
func (h *History) Settle(now time.Time, pol *policy.Policy, opts Options, so SettleOptions) SettleStats {
	h.settled.run.Lock()
	defer h.settled.run.Unlock()
	opts = opts.WithDefaults()
	quiet := so.Quiet
	if quiet <= 0 {
		quiet = DefaultSettleQuiet
	}
	end := unixNano(now)
	webhooks := so.Webhooks || h.webhooks.Load() > 0
	h.settled.mu.Lock()
	if h.settled.discarded {
		webhooks = false
	}
	h.settled.mu.Unlock()
	a := newAnalyzer(pol, opts, end, webhooks, nil)
	var st SettleStats
	var cands []userSnap
	var quietFrom []uint64
	var spare []*Report
	for i := range h.shards {
		s := &h.shards[i]
		cands, quietFrom = cands[:0], quietFrom[:0]
		s.mu.Lock()
		for id, u := range s.users {
			if u.hasStatus || len(u.recs) == 0 && len(u.hooks) == 0 || u.version == u.tried || end-u.lastAt < int64(quiet) {
				continue
			}
			cands = append(cands, userSnap{id: id,
				devs:  u.devs[:len(u.devs):len(u.devs)],
				plats: u.plats[:len(u.plats):len(u.plats)],
				recs:  u.recs[:len(u.recs):len(u.recs)],
				hooks: u.hooks[:len(u.hooks):len(u.hooks)],
				res:   u.res,
			})
			quietFrom = append(quietFrom, u.version)
		}
		s.mu.Unlock()
		if len(cands) == 0 {
			continue
		}
		type verdict struct {
			horizon int64
			maxSeq  uint64
			firstAt int64
			ok      bool
			// sessions: those of the segment, kept in the residue
			sessions []cutSession
		}
		// Each candidate is judged into a report of its own, merged once
		// the cut is made; the scratch reports are reused.
		out := make([]verdict, len(cands))
		reps := make([]*Report, len(cands))
		for k := range cands {
			if len(spare) > 0 {
				reps[k], spare = spare[len(spare)-1], spare[:len(spare)-1]
				reps[k].reset()
			} else {
				reps[k] = newReport(pol.Name, opts)
			}
			a.rep = reps[k]
			a.check(&cands[k])
			horizon, ok := a.settledBy()
			ok = ok && end-horizon >= int64(quiet) && a.rep.Violations() == 0 && a.rep.Count(Undecided) == 0
			out[k] = verdict{horizon: horizon, maxSeq: a.maxSeqNamed(), firstAt: a.firstAt, ok: ok}
			if ok {
				for i := range a.sessions {
					ss := &a.sessions[i]
					out[k].sessions = append(out[k].sessions, cutSession{dev: cands[k].devs[ss.dev], seq: ss.seq, at: horizon,
						uncertain: ss.displaced && !ss.kicked || ss.endedBy == endAppKill || ss.endedBy == endSigExpired})
				}
			}
		}
		s.mu.Lock()
		for k := range cands {
			c, v := &cands[k], &out[k]
			u := s.users[c.id]
			if u == nil || u.hasStatus || u.version != quietFrom[k] || len(u.recs) != len(c.recs) || len(u.hooks) != len(c.hooks) {
				continue // it went on meanwhile: judged again once quiet
			}
			if !v.ok {
				u.tried = u.version
				st.Kept++
				continue
			}
			if u.res.segments == 0 {
				u.res.firstAt = v.firstAt
			}
			u.res.segments++
			u.res.events += int64(len(u.recs))
			u.res.lastAt = max(u.res.lastAt, v.horizon)
			u.res.maxSeq = max(u.res.maxSeq, v.maxSeq)
			u.res.keepCut(v.sessions)
			st.Users++
			st.Events += int64(len(u.recs))
			st.Hooks += int64(len(u.hooks))
			u.recs, u.hooks, u.devs, u.plats = nil, nil, nil, nil
			h.settled.add(reps[k], webhooks)
		}
		s.mu.Unlock()
		spare = append(spare, reps...)
	}
	h.settled.mu.Lock()
	t := &h.settled.total
	t.Users += st.Users
	t.Events += st.Events
	t.Hooks += st.Hooks
	t.Kept += st.Kept
	h.settled.mu.Unlock()
	return st
}

// keepCut adds the sessions of a segment just cut to r.cut and forgets
// those cut more than cutSessionsFor before them. r.cut is never changed
// in place: a snapshot being judged may share it.
func (r *residue) keepCut(add []cutSession) {
	var latest int64
	for _, c := range add {
		latest = max(latest, c.at)
	}
	kept := make([]cutSession, 0, len(r.cut)+len(add))
	for _, c := range r.cut {
		if c.at >= latest-int64(cutSessionsFor) {
			kept = append(kept, c)
		} else {
			r.pruned = max(r.pruned, c.seq)
		}
	}
	r.cut = append(kept, add...)
}

// reset empties r for reuse, keeping its policy, limits and buffers.
func (r *Report) reset() {
	r.Mode = ""
	r.Checks = Checks{}
	r.Verdicts = Verdicts{}
	if r.KickLatency.h != nil {
		r.KickLatency.h.Reset()
	}
	r.KickLatencyUnmeasured, r.KickLatencyEarly = 0, 0
	clear(r.Windows)
}

// add merges the report of one settled segment.
func (p *settledPart) add(rep *Report, webhooks bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rep == nil {
		p.rep = newReport(rep.Policy, Options{})
		p.rep.ExampleLimit = rep.ExampleLimit
	}
	p.rep.Merge(rep)
	p.hooks += rep.Checks.Webhooks
	if !webhooks {
		p.noHooks++
	}
}

// mergeInto adds what Settle judged to out, the end-of-run report; webhooks
// tells whether the end-of-run check judged callbacks.
func (p *settledPart) mergeInto(out *Report, webhooks bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rep == nil {
		return
	}
	out.Merge(p.rep)
	if !webhooks {
		out.Checks.Webhooks -= p.hooks
	} else {
		// Segments judged before any callback was expected missed theirs.
		out.Checks.SettleCrossings += p.noHooks
	}
}

// DiscardCallbacks drops every callback the history holds and makes Check
// judge none: for a run whose target lost some (a callback that never came
// would read as a login without one).
func (h *History) DiscardCallbacks() {
	h.settled.mu.Lock()
	h.settled.discarded = true
	h.settled.mu.Unlock()
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		for _, u := range s.users {
			u.hooks = nil
			u.tried = 0 // judged again, without callbacks
		}
		s.mu.Unlock()
	}
	h.webhooks.Store(0)
}

// judgesCallbacks reports whether Check judges callbacks.
func (h *History) judgesCallbacks() bool {
	h.settled.mu.Lock()
	defer h.settled.mu.Unlock()
	return !h.settled.discarded && h.webhooks.Load() > 0
}

// settledBy reports whether the user just judged may be cut after its last
// record (see Settle), and the horizon: the latest time its history names,
// removal windows included, after which nothing of it can still be in
// flight at the target.
func (a *analyzer) settledBy() (int64, bool) {
	horizon := int64(0)
	for i := range a.u.recs {
		r := &a.u.recs[i]
		horizon = max(horizon, r.at, r.start)
	}
	for i := range a.u.hooks {
		horizon = max(horizon, a.u.hooks[i].at)
	}
	if !a.sequenceMode || !a.orderBySeq || len(a.pendingLogins) > 0 || len(a.sessions) != a.nObserved {
		return horizon, false
	}
	for i := range a.sessions {
		s := &a.sessions[i]
		if s.racing || s.inferred {
			return horizon, false
		}
		if s.removalFrom != never {
			if s.removalTo == never {
				return horizon, false // the target may still hold it
			}
			horizon = max(horizon, s.removalTo)
		}
		// A kick from its login may come until LateAfter after its ok, a
		// callback about it lies within Grace of it.
		horizon = max(horizon, s.reloginOk, addSat(s.okAt, int64(max(a.opt.LateAfter, a.opt.Grace))))
		switch {
		case s.endedBy == endKicked || s.removalFrom != never:
			// Removed, and the removal answered (logout, failed resume,
			// account switch past Grace), or told of a kick.
		case !a.webhooks && int32(i) != a.devSpans[s.dev].sessTo-1 && s.endedBy != endOpen && s.endedBy != endRunEnd:
			// Superseded by its device's next login, which the replay and
			// the refusals take as its end. A callback's entry may still
			// name it (the webhook check holds such a session possibly
			// registered), so not when callbacks are judged.
		default: // online, app killed, ticket expired: the target may hold it
			return horizon, false
		}
	}
	for _, m := range a.finalRegistered {
		if s := &a.sessions[m]; s.removalFrom == never || s.removalTo == never {
			return horizon, false // the model holds it: a later login would meet it
		}
	}
	for i := range a.kicks {
		if k := &a.kicks[i]; k.victim < 0 || !k.administrative && k.displacer < 0 {
			return horizon, false
		}
	}
	return horizon, true
}

// maxSeqNamed is the highest sequence the user's records and callbacks
// name.
func (a *analyzer) maxSeqNamed() uint64 {
	var q uint64
	for i := range a.u.recs {
		r := &a.u.recs[i]
		q = max(q, r.seq)
		if r.kind == event.Kicked {
			q = max(q, r.bySeq)
		}
	}
	for i := range a.u.hooks {
		w := &a.u.hooks[i]
		q = max(q, w.seq)
		for _, k := range w.kickedSeq {
			q = max(q, k)
		}
	}
	return q
}

// crossesCut reports whether the user's history, which follows segments
// Settle judged and dropped, names something of them: a mode other than
// theirs, an operation sent before their horizon, a sequence they hold, a
// kick whose login or victim is not in the history kept, or a Login
// callback that may be one of their logins'.
func (a *analyzer) crossesCut() bool {
	res := &a.u.res
	if len(a.sessions) > 0 && (!a.sequenceMode || !a.orderBySeq) {
		return true
	}
	named := func(q uint64) bool { return q != 0 && q <= res.maxSeq }
	for i := range a.u.recs {
		r := &a.u.recs[i]
		if a.sentAt(r) <= res.lastAt {
			return true
		}
		switch r.kind {
		case event.Login:
			if r.out == event.OK && named(r.seq) {
				return true
			}
		case event.Resume:
			if named(r.seq) {
				return true
			}
		case event.Kicked:
			if named(r.seq) || named(r.bySeq) {
				return true
			}
		}
	}
	for i := range a.kicks {
		if k := &a.kicks[i]; k.victim < 0 || !k.administrative && k.displacer < 0 {
			return true
		}
	}
	for i := range a.u.hooks {
		w := &a.u.hooks[i]
		if w.action != ActionLogin {
			continue
		}
		if w.at <= addSat(res.lastAt, a.clockTolerance()) || named(w.seq) {
			return true
		}
		for _, k := range w.kickedSeq {
			if named(k) {
				return true
			}
		}
	}
	for _, in := range a.u.online {
		if int(in.dev) >= len(a.u.devs) {
			continue
		}
		if _, known := res.cutSessionOf(a.u.devs[in.dev], in.seq); named(in.seq) && !known {
			return true // it may name a session forgotten
		}
		if span := a.devSpans[in.dev]; span.sessFrom == span.sessTo && res.pruned > 0 && res.latestCut(a.u.devs[in.dev]) == nil {
			return true // a device of no session kept: its latest may be forgotten
		}
	}
	return false
}
