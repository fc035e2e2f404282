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
		if k.admin || k.anon || k.by >= 0 {
			continue
		}
		a.flag(SpuriousKick, k.at, func() string {
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
		if k.admin || k.by < 0 || k.victim < 0 {
			continue
		}
		l := &a.sess[k.by]
		disp := k.disp
		if disp == 0 && l.rec >= 0 {
			disp = a.u.recs[l.rec].serverTime()
		}
		ref := disp
		if ref == 0 {
			ref = l.ok
		}
		if ref == 0 || !a.hearing(k.victim, ref) {
			continue
		}
		var judged time.Duration
		switch {
		case disp == 0:
			a.rep.KickLatencyUnmeasured++
			judged = time.Duration(max(k.at-l.ok, 0))
		case k.at < disp:
			a.rep.KickLatencyEarly++
			judged = 0
		default:
			lat := time.Duration(k.at - disp)
			a.rep.KickLatency.Record(lat)
			judged = lat
			if l.ok != 0 {
				judged = min(lat, time.Duration(max(k.at-l.ok, 0)))
			}
		}
		if judged > a.opt.LateAfter {
			a.flag(LateKick, k.at, func() string {
				return fmt.Sprintf("%s was told %s after %s (late after %s)",
					a.devName(k.dev), judged.Round(time.Microsecond), a.loginName(k.by), a.opt.LateAfter)
			}, l.rec, k.rec)
		}
	}
}

type point struct {
	t   int64
	s   int32
	add bool
}

// overLimit sweeps the sessions online as devices saw them and flags every
// stretch longer than Grace in which the set was not allowed.
func (a *analyzer) overLimit() {
	pts := a.pts[:0]
	for i := range a.sess {
		s := &a.sess[i]
		if s.inferred || s.ok == 0 {
			continue
		}
		from, to := s.ok, s.end
		if to == never {
			to = max(a.end, from)
		}
		for _, g := range a.gaps[s.gap0:s.gap1] {
			if from >= to {
				break
			}
			if g.from > from {
				e := min(g.from, to)
				pts = append(pts, point{from, int32(i), true}, point{e, int32(i), false})
			}
			from = max(from, g.to)
		}
		if from < to {
			pts = append(pts, point{from, int32(i), true}, point{to, int32(i), false})
		}
	}
	slices.SortFunc(pts, func(x, y point) int {
		if c := cmp.Compare(x.t, y.t); c != 0 {
			return c
		}
		if x.add != y.add {
			if x.add {
				return 1
			}
			return -1
		}
		return cmp.Compare(x.s, y.s)
	})
	cur := a.cur[:0]
	var overSet []int32
	overSince := int64(-1)
	ok := true
	for i := 0; i < len(pts); {
		t := pts[i].t
		added := false
		for ; i < len(pts) && pts[i].t == t; i++ {
			p := pts[i]
			if p.add {
				cur = append(cur, p.s)
				added = true
				continue
			}
			if j := slices.Index(cur, p.s); j >= 0 {
				cur = slices.Delete(cur, j, j+1)
			}
		}
		// Fewer instances never break a limit: an allowed set stays
		// allowed until one is added.
		if added || !ok {
			ok = len(cur) < 2 || a.allowed(cur)
		}
		switch {
		case !ok && overSince < 0:
			overSince = t
			overSet = append(overSet[:0], cur...)
		case ok && overSince >= 0:
			a.overEpisode(overSince, t, overSet)
			overSince = -1
		}
	}
	if overSince >= 0 {
		a.overEpisode(overSince, max(a.end, overSince), overSet)
	}
	a.pts, a.cur = pts[:0], cur[:0]
}

func (a *analyzer) allowed(ss []int32) bool {
	insts := a.insts[:0]
	for _, s := range ss {
		insts = append(insts, a.instance(s, a.sess[s].seq))
	}
	a.insts = insts[:0]
	return a.pol.Allowed(insts)
}

func (a *analyzer) overEpisode(from, to int64, set []int32) {
	d := time.Duration(to - from)
	if d <= a.opt.Grace {
		return
	}
	marks := make([]int32, len(set))
	for i, s := range set {
		marks[i] = a.sess[s].rec
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
	for i := range a.sess {
		s := &a.sess[i]
		if s.start > T || !a.seqMode && s.racing && s.end <= T {
			// Search mode: a racing session is not the one its device
			// went on with once the login that raced it was sent.
			continue
		}
		if l := last[s.dev]; l < 0 || a.sess[l].start <= s.start {
			last[s.dev] = int32(i)
		}
	}
	listed := make([]bool, n)
	for _, in := range a.u.online {
		if int(in.dev) >= n {
			continue
		}
		listed[in.dev] = true
		// With sequence numbers on both sides, a listing of another login
		// of an online device is a ghost of that login.
		if l := last[in.dev]; a.seqMode && in.seq > 0 && l >= 0 && a.sess[l].seq > 0 && in.seq != a.sess[l].seq {
			if online, uncertain := a.onlineAt(l, T); online && !uncertain {
				seq, dev := in.seq, in.dev
				dst = append(dst, statusFinding{class: GhostSession, dev: dev, seq: seq, at: T, head: func() string {
					return fmt.Sprintf("the target lists login seq %d of %s online at %s, but the device holds login seq %d",
						seq, a.devName(dev), a.rel(T), a.sess[l].seq)
				}, marks: []int32{a.sess[l].rec}})
			}
		}
	}
	// A login of the user in flight at T may have displaced any device
	// before its kick notice could arrive: no device is lost then.
	inflight := false
	for i := range a.u.recs {
		r := &a.u.recs[i]
		if r.kind == event.Login && a.startOf(r) <= T && r.at > T &&
			(r.out == event.OK || r.out == event.TimedOut || r.out == event.Failed && r.code == 0) {
			inflight = true
			break
		}
	}
	for d := 0; d < n; d++ {
		online, uncertain := a.onlineAt(last[d], T)
		dr := a.devs[d]
		for p := dr.p0; p < dr.p1; p++ {
			if pp := &a.pend[p]; pp.sess < 0 && pp.start <= T && (last[d] < 0 || pp.start > a.sess[last[d]].start) {
				uncertain = true // a login that timed out may have succeeded
			}
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
			}, marks: []int32{a.sess[l].rec}})
		}
	}
	return dst
}

// onlineAt says whether session s (a device's latest login sent by T) is
// online at T as its device sees it, or whether the device cannot know
// what the target holds: a login or logout in flight, a dropped transport,
// a killed app, an expired ticket, a kick on its way.
func (a *analyzer) onlineAt(s int32, T int64) (online, uncertain bool) {
	if s < 0 {
		return false, false
	}
	ss := &a.sess[s]
	switch {
	case ss.inferred || T < ss.ok:
		return false, true
	case ss.displaced && !ss.kicked && ss.displacedAt <= T:
		// The policy displaced it by T and no kick has told its device:
		// the target may rightly have dropped it (missing and late kicks
		// are judged by their own rules).
		return false, true
	case T < ss.end || ss.endHow == endRunEnd:
		for _, g := range a.gaps[ss.gap0:ss.gap1] {
			if g.from <= T && T < g.to {
				return false, true
			}
		}
		if ss.endHow == endKicked && ss.end-T <= int64(a.opt.Grace) {
			return false, true
		}
		return true, false
	}
	return false, ss.endHow == endAppKill || ss.endHow == endSigExpired || ss.rmLo != never && ss.rmHi >= T
}

func (a *analyzer) recOf(s int32) []int32 {
	if s < 0 {
		return nil
	}
	return []int32{a.sess[s].rec}
}

func (a *analyzer) offlineWhy(s int32) string {
	if s < 0 {
		return "never logged in"
	}
	switch a.sess[s].endHow {
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
