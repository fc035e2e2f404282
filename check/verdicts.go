package check

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/imload/imload/event"
)

// flag counts a verdict of class c; the example timeline is built only when
// it would be kept.
func (a *analyzer) flag(c Class, focus int64, head func() string, marks ...int32) {
	a.flagged[c] = true
	v := &a.rep.Verdicts[c]
	v.Count++
	if !v.wants(a.u.id, a.rep.ExampleLimit) {
		return
	}
	v.add(Example{User: a.u.id, Text: a.timeline(head(), focus, marks)}, a.rep.ExampleLimit)
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
		// A device may hold several sessions at once (a login storm over
		// several connections): the session the target lists is judged,
		// not the device's last login sent.
		if s := a.deviceSession(in.dev, in.seq, T); a.seqMode && in.seq > 0 && s >= 0 {
			last[in.dev] = s
			continue
		}
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
// deviceSession returns the session of device dev answered with seq whose
// login was sent by T, or -1.
func (a *analyzer) deviceSession(dev uint16, seq uint64, T int64) int32 {
	if seq == 0 {
		return -1
	}
	for i := range a.sess {
		if s := &a.sess[i]; s.dev == dev && s.seq == seq && s.start <= T {
			return int32(i)
		}
	}
	return -1
}

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

// observedPlats returns the platforms of the devices seen kicked by login
// L (duplicates to one device once) and of the ambiguous kicks L may have
// sent.
func (a *analyzer) observedPlats(L int32) (sure, maybe []uint8) {
	lk := a.kicksOf(L)
	for i, k := range lk {
		if kk := &a.kicks[k]; kk.alt < 0 && !a.duplicateAmong(lk[:i], kk.dev) {
			sure = append(sure, kk.plat)
		}
	}
	for i := range a.kicks {
		if k := &a.kicks[i]; k.alt >= 0 && (k.by == L || k.alt == L) {
			maybe = append(maybe, k.plat)
		}
	}
	return sure, maybe
}

func (a *analyzer) duplicateAmong(lk []int32, dev uint16) bool {
	for _, k := range lk {
		if kk := &a.kicks[k]; kk.alt < 0 && kk.dev == dev {
			return true
		}
	}
	return false
}

func (a *analyzer) observed(L int32) []uint8 {
	sure, maybe := a.observedPlats(L)
	return append(sure, maybe...)
}

// hookTier says how callback h fits login L: 0 its kicked platforms are
// exactly those of the kicks devices saw from L (including kicks that L or
// an earlier login of its device sent); 1 they hold those L surely sent and
// some of the others; 2 they also hold sessions that may have been
// registered when L was processed and got no kick from it; 3 they do not
// fit.
func (a *analyzer) hookTier(h *webhook, L int32) int {
	n := len(a.u.plats) + 1
	cnt := make([]int32, 4*n) // observed, in the callback, untold, maybe observed
	sure, maybe := a.observedPlats(L)
	for _, p := range sure {
		cnt[p]++
	}
	for _, p := range maybe {
		cnt[3*n+int(p)]++
	}
	for _, p := range h.kicked {
		if int(p) < n {
			cnt[n+int(p)]++
		}
	}
	a.untold(L, cnt[2*n:])
	tier := 0
	for p := 0; p < n; p++ {
		o, w, e, m := cnt[p], cnt[n+p], cnt[2*n+p], cnt[3*n+p]
		switch {
		case w < o || w > o+m+e:
			return 3
		case w > o+m:
			tier = max(tier, 2)
		case w < o+m:
			tier = max(tier, 1)
		}
	}
	return tier
}

// untold counts the platforms of sessions that may have been registered
// when login L was processed and got no kick from it. It does not trust the
// model's choice among explanations (which of two racing removals came
// first), so a callback is judged by what devices saw alone.
func (a *analyzer) untold(L int32, cnt []int32) {
	lk := a.kicksOf(L)
	for i := range a.sess {
		if !a.mayHold(L, int32(i)) || a.kickedDev(lk, a.sess[i].dev) {
			continue
		}
		cnt[a.sess[i].plat]++
	}
}

// mayHold reports whether session S may have been registered, beside login
// L's own device, when the target processed L: it began before L was
// processed and was neither removed nor kicked before L was sent.
func (a *analyzer) mayHold(L, S int32) bool {
	l, s := &a.sess[L], &a.sess[S]
	switch {
	case S == L, s.start >= l.hi,
		s.rmLo != never && s.rmHi < l.start,
		s.endHow == endKicked && s.end < l.start,
		s.dev == l.dev && !a.pol.ReplaceSameInstance:
		return false
	}
	return true
}

func (a *analyzer) platList(ps []uint8) string {
	if len(ps) == 0 {
		return "[]"
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = string(a.u.platform(p))
	}
	slices.Sort(names)
	return "[" + strings.Join(names, " ") + "]"
}
