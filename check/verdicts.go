package check

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/imload/imload/event"
)

// unattributed flags kicks that name a displacer no device saw log in.
func (a *analyzer) unattributed() {
	for i := range a.kicks {
		k := &a.kicks[i]
		if k.administrative || k.anonymous || k.displacer >= 0 {
			continue
		}
		a.flag(SpuriousKick, k.arrived, func() string {
			return fmt.Sprintf("%s was kicked by %s, which no device of the user saw log in before the kick",
				a.devName(k.dev), a.displacerName(k))
		}, k.rec)
	}
}

// late measures the kick latency of every attributed kick whose device was
// connected at the displacement, and judges late kicks.
//
// Kick latency runs from the displacement at the target to the kicked
// device's notice. The displacement is the displacing login's acceptance
// at the target: its server time as the kicked device reported it (event
// Latency), else as the displacing device's login answer gave it
// (event.ServerTime). A kick whose displacement time the target never gave
// is counted unmeasured; a notice stamped before its displacement time (a
// target clock ahead of imload's) is counted early. Neither is recorded,
// and no value is clamped.
//
// A kick is late when every measure it has exceeds LateAfter: the kick
// latency, and the time from the displacing login's answer at its device
// (a notice before that answer is not late), so a skewed server clock alone
// does not make one late.
func (a *analyzer) late() {
	for i := range a.kicks {
		k := &a.kicks[i]
		if k.administrative || k.displacer < 0 || k.victim < 0 {
			continue
		}
		l := &a.sessions[k.displacer]
		displacedAt := k.displacedAt
		if displacedAt == 0 && l.rec >= 0 {
			displacedAt = a.u.recs[l.rec].serverTime()
		}
		heardAt := displacedAt
		if heardAt == 0 {
			heardAt = l.okAt
		}
		// Only a device connected at the displacement could hear of it.
		if heardAt == 0 || !a.listening(k.victim, heardAt) {
			continue
		}
		var judged time.Duration
		switch {
		case displacedAt == 0:
			a.rep.KickLatencyUnmeasured++
			judged = time.Duration(max(k.arrived-l.okAt, 0))
		case k.arrived < displacedAt:
			a.rep.KickLatencyEarly++
			judged = 0
		default:
			lat := time.Duration(k.arrived - displacedAt)
			a.rep.KickLatency.Record(lat)
			judged = lat
			if l.okAt != 0 {
				judged = min(lat, time.Duration(max(k.arrived-l.okAt, 0)))
			}
		}
		if judged > a.opt.LateAfter && a.opt.HarnessLag != nil {
			// imload's own process was starved while the notice was on
			// its way: the lateness may be imload's, not the target's.
			from := heardAt
			if displacedAt != 0 {
				from = displacedAt
			}
			if lag := a.opt.HarnessLag(time.Unix(0, from), time.Unix(0, k.arrived)); judged-lag <= a.opt.LateAfter {
				if !a.flagged[Undecided] {
					a.flag(Undecided, k.arrived, func() string {
						return fmt.Sprintf("undecided: %s was told %s after %s (late after %s), but imload itself lagged up to %s meanwhile: not judged late",
							a.devName(k.dev), judged.Round(time.Microsecond), a.loginName(k.displacer), a.opt.LateAfter, lag.Round(time.Millisecond))
					}, l.rec, k.rec)
				}
				continue
			}
		}
		if judged > a.opt.LateAfter {
			a.flag(LateKick, k.arrived, func() string {
				return fmt.Sprintf("%s was told %s after %s (late after %s)",
					a.devName(k.dev), judged.Round(time.Microsecond), a.loginName(k.displacer), a.opt.LateAfter)
			}, l.rec, k.rec)
		}
	}
}

// sweepEdge is where the over-limit sweep sees a session come online (or
// go offline) as its device saw it.
type sweepEdge struct {
	at          int64
	sess        int32
	comesOnline bool
}

// overLimit sweeps the sessions online as devices saw them and flags every
// stretch longer than Grace in which the set was not allowed.
func (a *analyzer) overLimit() {
	edges := a.edges[:0]
	for i := range a.sessions {
		s := &a.sessions[i]
		if s.inferred || s.okAt == 0 {
			continue
		}
		from, to := s.okAt, s.onlineUntil
		if to == never {
			to = max(a.end, from)
		}
		for _, g := range a.gaps[s.firstGap:s.endGap] {
			if from >= to {
				break
			}
			if g.from > from {
				e := min(g.from, to)
				edges = append(edges, sweepEdge{from, int32(i), true}, sweepEdge{e, int32(i), false})
			}
			from = max(from, g.to)
		}
		if from < to {
			edges = append(edges, sweepEdge{from, int32(i), true}, sweepEdge{to, int32(i), false})
		}
	}
	slices.SortFunc(edges, func(x, y sweepEdge) int {
		if c := cmp.Compare(x.at, y.at); c != 0 {
			return c
		}
		if x.comesOnline != y.comesOnline {
			if x.comesOnline {
				return 1
			}
			return -1
		}
		return cmp.Compare(x.sess, y.sess)
	})
	holding := a.holding[:0]
	var overSet []int32
	overSince := int64(-1)
	ok := true
	for i := 0; i < len(edges); {
		t := edges[i].at
		added := false
		for ; i < len(edges) && edges[i].at == t; i++ {
			p := edges[i]
			if p.comesOnline {
				holding = append(holding, p.sess)
				added = true
				continue
			}
			if j := slices.Index(holding, p.sess); j >= 0 {
				holding = slices.Delete(holding, j, j+1)
			}
		}
		// Fewer instances never break a limit: an allowed set stays
		// allowed until one is added.
		if added || !ok {
			ok = len(holding) < 2 || a.allowed(holding)
		}
		switch {
		case !ok && overSince < 0:
			overSince = t
			overSet = append(overSet[:0], holding...)
		case ok && overSince >= 0:
			a.overEpisode(overSince, t, overSet)
			overSince = -1
		}
	}
	if overSince >= 0 {
		a.overEpisode(overSince, max(a.end, overSince), overSet)
	}
	a.edges, a.holding = edges[:0], holding[:0]
}

// allowed reports whether the policy allows the sessions ss online
// together.
func (a *analyzer) allowed(ss []int32) bool {
	insts := a.insts[:0]
	for _, s := range ss {
		insts = append(insts, a.instance(s, a.sessions[s].seq))
	}
	a.insts = insts[:0]
	return a.pol.Allowed(insts)
}

// overEpisode flags the sessions set, held online together over
// [from, to), when that lasted longer than Grace.
func (a *analyzer) overEpisode(from, to int64, set []int32) {
	d := time.Duration(to - from)
	if d <= a.opt.Grace {
		return
	}
	marks := make([]int32, len(set))
	for i, s := range set {
		marks[i] = a.sessions[s].rec
	}
	a.flag(OverLimit, from, func() string {
		return fmt.Sprintf("from %s to %s (%s, grace %s) the devices held online together %s, which %s does not allow",
			a.rel(from), a.rel(to), d.Round(time.Microsecond), a.opt.Grace, a.listNames(set), a.policyName())
	}, marks...)
}

// status compares the target's online status of the user with the devices'
// view when it was taken: at the user's own read (SetServerOnlineAt), where
// a verdict must hold at both ends of the read, else at statusAt.
func (a *analyzer) status() {
	from, to := a.statusAt, a.statusAt
	if a.u.statusTo != 0 {
		from, to = a.u.statusFrom, a.u.statusTo
	}
	found := a.statusFindings(from, nil)
	if to != from {
		later := a.statusFindings(to, nil)
		kept := found[:0]
		for _, f := range found {
			for _, g := range later {
				if f.class == g.class && f.dev == g.dev && f.seq == g.seq {
					kept = append(kept, f)
					break
				}
			}
		}
		found = kept
	}
	for _, f := range found {
		a.flag(f.class, f.at, f.head, f.marks...)
	}
}

// cutBefore and cutBeforeUncertain stand, in statusFindings, for a
// session of a segment that History.Settle dropped (below every session
// index; < 0 like none): offline at the status for certain, or maybe still
// held by the target (residue.cut).
const (
	cutBefore          = -2
	cutBeforeUncertain = -3
)

// statusFinding is a ghost or lost session of one device at one time.
type statusFinding struct {
	class Class
	dev   uint16
	seq   uint64 // ghost of another login of an online device: its sequence
	at    int64
	head  func() string
	marks []int32
}

// statusFindings appends to dst the ghost and lost sessions that the
// target's status shows if it was taken at T.
func (a *analyzer) statusFindings(T int64, dst []statusFinding) []statusFinding {
	n := len(a.u.devs)
	last := make([]int32, n)
	for i := range last {
		last[i] = -1
	}
	for i := range a.sessions {
		s := &a.sessions[i]
		if s.sent > T || !a.sequenceMode && s.racing && s.onlineUntil <= T {
			// Search mode: a racing session is not the one its device
			// went on with once the login that raced it was sent.
			continue
		}
		if l := last[s.dev]; l < 0 || a.sessions[l].sent <= s.sent {
			last[s.dev] = int32(i)
		}
	}
	// A device with no session kept: its latest is the latest of the
	// segments History.Settle dropped.
	for d := range last {
		if last[d] < 0 && a.u.res.segments > 0 {
			if c := a.u.res.latestCut(a.u.devs[d]); c != nil {
				last[d] = cutStatus(c)
			}
		}
	}
	listed := make([]bool, n)
	for _, in := range a.u.online {
		if int(in.dev) >= n {
			continue
		}
		listed[in.dev] = true
		// A device may hold several sessions at once (a login storm over
		// several connections): the session the target lists is judged,
		// not the device's last login sent.
		if s := a.deviceSession(in.dev, in.seq, T); a.sequenceMode && in.seq > 0 && s >= 0 {
			last[in.dev] = s
			continue
		}
		// A session of the device that History.Settle judged and dropped:
		// ended for certain, and sent before every session kept.
		if a.sequenceMode && in.seq > 0 && a.u.res.segments > 0 {
			if c, _ := a.u.res.cutSessionOf(a.u.devs[in.dev], in.seq); c != nil {
				last[in.dev] = cutStatus(c)
				continue
			}
		}
		// With sequence numbers on both sides, a listing of another login
		// of an online device is a ghost of that login.
		// Unless a login of the device sent after that one by T is
		// unanswered: the target may have processed it, as the listing
		// says.
		if l := last[in.dev]; a.sequenceMode && in.seq > 0 && l >= 0 && a.sessions[l].seq > 0 && in.seq != a.sessions[l].seq && !a.pendingAfter(in.dev, l, T) {
			if online, uncertain := a.onlineAt(l, T); online && !uncertain {
				seq, dev := in.seq, in.dev
				dst = append(dst, statusFinding{class: GhostSession, dev: dev, seq: seq, at: T, head: func() string {
					return fmt.Sprintf("the target lists login seq %d of %s online at %s, but the device holds login seq %d",
						seq, a.devName(dev), a.rel(T), a.sessions[l].seq)
				}, marks: []int32{a.sessions[l].rec}})
			}
		}
	}
	// A login of the user in flight at T may have displaced any device
	// before its kick notice could arrive: no device is lost then.
	inflight := false
	for i := range a.u.recs {
		r := &a.u.recs[i]
		if r.kind == event.Login && a.sentAt(r) <= T && r.at > T &&
			(r.out == event.OK || r.out == event.TimedOut || r.out == event.Cancelled || r.out == event.Failed && r.code == 0) {
			inflight = true
			break
		}
	}
	for d := 0; d < n; d++ {
		online, uncertain := a.onlineAt(last[d], T)
		if a.pendingAfter(uint16(d), last[d], T) {
			uncertain = true // a login that timed out may have succeeded
		}
		l := last[d]
		switch {
		case uncertain:
		case listed[d] && !online:
			dst = append(dst, statusFinding{class: GhostSession, dev: uint16(d), at: T, head: func() string {
				return fmt.Sprintf("the target lists %s online at %s, but its device %s", a.devName(uint16(d)), a.rel(T), a.offlineWhy(l))
			}, marks: a.recOf(l)})
		case online && !listed[d] && !inflight:
			dst = append(dst, statusFinding{class: LostSession, dev: uint16(d), at: T, head: func() string {
				return fmt.Sprintf("%s holds %s online at %s, but the target does not list it", a.devName(uint16(d)), a.sessName(l), a.rel(T))
			}, marks: []int32{a.sessions[l].rec}})
		}
	}
	return dst
}

// pendingAfter reports whether device dev sent, by T, a login still
// unanswered (timed out or cut by the run's end) and not inferred as any
// session, after its session l (-1: none).
func (a *analyzer) pendingAfter(dev uint16, l int32, T int64) bool {
	span := a.devSpans[dev]
	for p := span.pendFrom; p < span.pendTo; p++ {
		if pp := &a.pendingLogins[p]; pp.inferredAs < 0 && pp.sent <= T && (l < 0 || pp.sent > a.sessions[l].sent) {
			return true
		}
	}
	return false
}

// deviceSession returns the session of device dev answered with seq whose
// login was sent by T, or -1.
func (a *analyzer) deviceSession(dev uint16, seq uint64, T int64) int32 {
	if seq == 0 {
		return -1
	}
	for i := range a.sessions {
		if s := &a.sessions[i]; s.dev == dev && s.seq == seq && s.sent <= T {
			return int32(i)
		}
	}
	return -1
}

// onlineAt says whether session s (a device's latest login sent by T) is
// online at T as its device sees it, or whether the device cannot know
// what the target holds: a login or logout in flight, a dropped transport,
// a killed app, an expired ticket, a kick on its way.
func (a *analyzer) onlineAt(s int32, T int64) (online, uncertain bool) {
	if s == cutBeforeUncertain {
		return false, true
	}
	if s < 0 {
		return false, false
	}
	ss := &a.sessions[s]
	switch {
	case ss.inferred || T < ss.okAt:
		return false, true
	case ss.displaced && !ss.kicked && ss.displacedAt <= T:
		// The policy displaced it by T and no kick has told its device:
		// the target may rightly have dropped it (missing and late kicks
		// are judged by their own rules).
		return false, true
	case T < ss.onlineUntil || ss.endedBy == endRunEnd:
		for _, g := range a.gaps[ss.firstGap:ss.endGap] {
			if g.from <= T && T < g.to {
				return false, true
			}
		}
		if ss.endedBy == endKicked && ss.onlineUntil-T <= int64(a.opt.Grace) {
			return false, true
		}
		if ss.kicked && ss.displaced && ss.displacedAt <= T && T < ss.toldAt {
			// Displaced by T, its kick on the way (told after T, maybe
			// after the device's view of it ended at the run's cut).
			return false, true
		}
		return true, false
	}
	// The device's next login in flight at T (sent, not yet answered): the
	// target may not have processed it and still hold this session.
	relogin := ss.endedBy == endRelogin && T < ss.reloginOk
	return false, relogin || ss.endedBy == endAppKill || ss.endedBy == endSigExpired || ss.removalFrom != never && ss.removalTo >= T
}

func (a *analyzer) recOf(s int32) []int32 {
	if s < 0 {
		return nil
	}
	return []int32{a.sessions[s].rec}
}

// offlineWhy says why session s's device holds it offline.
func (a *analyzer) offlineWhy(s int32) string {
	if s == cutBefore {
		return "ended that session before the history shown"
	}
	if s < 0 {
		return "never logged in"
	}
	switch a.sessions[s].endedBy {
	case endLogout:
		return "logged out"
	case endKicked:
		return "was kicked"
	case endSwitch:
		return "switched account"
	case endResumeFail:
		return "failed to resume"
	}
	return "is offline"
}
