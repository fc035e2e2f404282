package check

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/imload/imload/policy"
)

// maxAmbiguous bounds the sessions whose removal may or may not precede a
// login and whose combinations replay tries; beyond it only "all still
// registered" and "registered if and only if kicked" are tried.
const maxAmbiguous = 10

// replay runs the user's logins in model order through the policy and
// compares each login's displacements with the kicks devices saw. Sessions
// whose own removal (logout, failed resume, ...) may have been processed
// before or after a login are ambiguous at that login: replay takes the
// first assignment, most sessions still registered first, under which the
// policy explains the kicks devices saw; when none does, it judges with
// "registered if and only if that login kicked it". A session taken as
// removed stays a candidate for the logins after it until its removal's
// window closes (the replay does not commit to one order of racing
// removals; it may so accept a sequence of logins that each have an
// explanation, yet no single order explains them all, and never flags one
// that an order explains).
//
// A login is judged only when its verdict is a proof. When no assignment
// explains it and the assignments were not all tried (more than
// maxAmbiguous ambiguous sessions), or a sequence number no device was
// answered with preceded it while a login whose answer never arrived was
// in flight (that login may have been accepted unseen, registered a
// session and displaced others, none of which the devices saw), the user
// is undecided instead, with the reason.
func (a *analyzer) replay() {
	online, next := a.online[:0], a.online2[:0]
	insts, members, amb := a.insts[:0], a.members[:0], a.amb[:0]
	var prevSeq, unseenFrom, unseenTo uint64
	for _, L := range a.logins {
		l := &a.sess[L]
		lk := a.kicksOf(L)
		due := a.due(l)
		sure := next[:0]
		amb = amb[:0]
		if seq := a.modelSeq(L); seq > 0 {
			if prevSeq > 0 && seq > prevSeq+1 && unseenFrom == 0 && a.unansweredBefore(l.hi) {
				unseenFrom, unseenTo = prevSeq+1, seq-1
			}
			prevSeq = seq
		}
		for _, m := range online {
			s := &a.sess[m]
			if s.rmLo != never {
				if s.rmHi < l.start {
					continue // certainly gone before the login was sent
				}
				if s.rmLo <= l.hi {
					amb = append(amb, m)
					continue
				}
			}
			sure = append(sure, m)
		}
		// The devices' own removals that began earliest come first, the
		// target's own (kicks naming no displacer, maybe a later login's
		// victim) last: the search below drops the low bits first, so it
		// tries them as done before the others (when two assignments
		// explain this login alike, the likelier one is kept for the
		// logins after it).
		slices.SortStableFunc(amb, func(x, y int32) int {
			sx, sy := &a.sess[x], &a.sess[y]
			if sx.byTarget != sy.byTarget {
				if sx.byTarget {
					return 1
				}
				return -1
			}
			if c := cmp.Compare(sx.rmLo, sy.rmLo); c != 0 {
				return c
			}
			return cmp.Compare(sx.rmHi, sy.rmHi)
		})
		login := a.instance(L, a.modelSeq(L))
		var victims []policy.Instance
		try := func(mask uint64) bool {
			members = append(members[:0], sure...)
			for i, m := range amb {
				if i >= 64 || mask&(1<<i) != 0 {
					members = append(members, m)
				} else if a.sess[m].kickedBy != 0 {
					return false // a login kicked it: it was registered until then
				}
			}
			insts = insts[:0]
			for _, m := range members {
				insts = append(insts, a.instance(m, a.modelSeq(m)))
			}
			// Under refuse_new Admit displaces nobody: a login the policy
			// would refuse yet the target admitted shows as its kicks
			// (spurious) or the devices' over-limit holding.
			victims, _ = a.pol.Admit(insts, login)
			return a.explains(L, victims, insts, members, lk, due)
		}
		var kickedMask uint64
		for i, m := range amb {
			if i < 64 && a.kickedDev(lk, a.sess[m].dev) {
				kickedMask |= 1 << i
			}
		}
		full := uint64(1)<<min(len(amb), 63) - 1
		found := try(full)
		if !found && len(amb) > 0 {
			if len(amb) <= maxAmbiguous {
				for mask := full; mask > 0 && !found; {
					mask--
					found = try(mask)
				}
			} else {
				found = try(kickedMask)
			}
			if !found {
				try(kickedMask)
			}
		}
		switch {
		case !found && unseenFrom != 0:
			if a.flagged[Undecided] {
				break // the user is undecided already
			}
			a.flag(Undecided, l.ok, func() string {
				return fmt.Sprintf("undecided: no replay explains %s, but login seq %s went to no device while a login of the user got no answer: that login may have been accepted unseen and displaced sessions",
					a.loginName(L), seqRange(unseenFrom, unseenTo))
			}, l.rec)
		case !found && len(amb) > maxAmbiguous:
			if a.flagged[Undecided] {
				break
			}
			a.flag(Undecided, l.ok, func() string {
				return fmt.Sprintf("undecided: no replay tried explains %s, but %d sessions may or may not have been removed before it, too many to try every combination",
					a.loginName(L), len(amb))
			}, l.rec)
		default:
			a.judge(L, victims, insts, members, lk)
		}
		next = next[:0]
		for i, m := range members {
			if a.sess[m].dev == l.dev || isVictim(victims, insts[i]) {
				continue
			}
			next = append(next, m)
		}
		// A session this login's explanation took as removed before it
		// stays ambiguous for the logins after it while its removal's
		// window is open: which of two racing removals came first may show
		// only later, and committing to the first explanation found would
		// turn that later login into a violation that one history explains.
		for _, m := range amb {
			if a.sess[m].dev != l.dev && !slices.Contains(members, m) {
				next = append(next, m)
			}
		}
		next = append(next, L)
		online, next = next, online
	}
	a.online, a.online2 = online[:0], next[:0]
	a.insts, a.members, a.amb = insts[:0], members[:0], amb[:0]
}

func seqRange(from, to uint64) string {
	if from == to {
		return fmt.Sprint(from)
	}
	return fmt.Sprintf("%d-%d", from, to)
}

// unansweredBefore reports whether a login that got no answer on its device
// (and that no kick names, so it is no inferred session) was sent before t:
// the target may have accepted it under a sequence number no device saw.
func (a *analyzer) unansweredBefore(t int64) bool {
	for i := range a.pend {
		if p := &a.pend[i]; p.sess < 0 && p.start <= t {
			return true
		}
	}
	return false
}

// explains reports whether the policy's victims agree with the kicks lk of
// login L: every victim was told or could not be (and no other login kicked
// it later: it was still registered then), and every kick hit a victim.
func (a *analyzer) explains(L int32, victims, insts []policy.Instance, members, lk []int32, due int64) bool {
	victimDev := func(dev uint16) bool {
		for i, in := range insts {
			if a.sess[members[i]].dev == dev && isVictim(victims, in) {
				return true
			}
		}
		return false
	}
	for i, in := range insts {
		if !isVictim(victims, in) {
			continue
		}
		s := &a.sess[members[i]]
		if !a.kickedDev(lk, s.dev) && (s.deaf > due || s.kickedBy != 0 && s.kickedBy-1 != L) {
			return false
		}
	}
	for _, k := range lk {
		if !victimDev(a.kicks[k].dev) {
			return false
		}
	}
	return true
}

func isVictim(victims []policy.Instance, in policy.Instance) bool {
	for _, v := range victims {
		if v.ID == in.ID && v.Seq == in.Seq {
			return true
		}
	}
	return false
}

// modelSeq is the sequence a session has in the model: the target's, or
// its position in the order of logins.
func (a *analyzer) modelSeq(s int32) uint64 { return a.mseq[s] }

// kickedDev reports whether one of the kicks lk went to device dev.
func (a *analyzer) kickedDev(lk []int32, dev uint16) bool {
	for _, k := range lk {
		if a.kicks[k].dev == dev {
			return true
		}
	}
	return false
}

// takeKick marks and returns the first unused kick of lk to device dev.
func (a *analyzer) takeKick(lk []int32, dev uint16) int32 {
	for _, k := range lk {
		if kk := &a.kicks[k]; !kk.used && kk.dev == dev {
			kk.used = true
			return k
		}
	}
	return -1
}

// judge compares the model's victims of login L with the kicks lk that
// devices attributed to it.
func (a *analyzer) judge(L int32, victims, insts []policy.Instance, members, lk []int32) {
	l := &a.sess[L]
	due := a.due(l)
	var miss, extra []int32
	for _, v := range victims {
		m := int32(-1)
		for i, in := range insts {
			if in.ID == v.ID && in.Seq == v.Seq {
				m = members[i]
				break
			}
		}
		if m < 0 {
			continue // Displace returns only instances it was given
		}
		a.rep.Checks.Displacements++
		if ms := &a.sess[m]; !ms.displaced || l.start < ms.displacedAt {
			ms.displaced, ms.displacedAt = true, l.start
		}
		if a.takeKick(lk, a.sess[m].dev) >= 0 {
			continue
		}
		if a.sess[m].deaf <= due {
			continue
		}
		miss = append(miss, m)
	}
	for _, k := range lk {
		kk := &a.kicks[k]
		if kk.used {
			continue
		}
		kk.used = true
		if a.duplicate(lk, k) {
			continue
		}
		extra = append(extra, k)
	}
	n := min(len(miss), len(extra))
	for i := 0; i < n; i++ {
		m, k := miss[i], extra[i]
		a.flag(WrongVictim, a.sess[L].ok, func() string {
			return fmt.Sprintf("%s displaces %s under %s, but %s got the kick instead",
				a.loginName(L), a.sessName(m), a.policyName(), a.devName(a.kicks[k].dev))
		}, a.sess[L].rec, a.sess[m].rec, a.kicks[k].rec)
	}
	for _, m := range miss[n:] {
		a.flag(MissingKick, a.sess[L].ok, func() string {
			return fmt.Sprintf("%s displaces %s under %s; no kick naming that login reached it, and it was still listening %s after the login's ok",
				a.loginName(L), a.sessName(m), a.policyName(), a.opt.LateAfter)
		}, a.sess[L].rec, a.sess[m].rec)
	}
	for _, k := range extra[n:] {
		a.flag(SpuriousKick, a.kicks[k].at, func() string {
			if a.pol.OnConflict == policy.RefuseNew {
				return fmt.Sprintf("%s was kicked by %s, but under %s (on_conflict refuse_new) a login never kicks: one that would displace is refused (registered before that login: %s)",
					a.devName(a.kicks[k].dev), a.loginName(L), a.policyName(), a.listNames(members))
			}
			return fmt.Sprintf("%s was kicked by %s, which displaces none of its sessions under %s (registered before that login: %s)",
				a.devName(a.kicks[k].dev), a.loginName(L), a.policyName(), a.listNames(members))
		}, a.sess[L].rec, a.kicks[k].rec)
	}
}

// duplicate reports whether kick k repeats an earlier, used kick of the same
// login to the same device.
func (a *analyzer) duplicate(lk []int32, k int32) bool {
	for _, o := range lk {
		if o == k {
			return false
		}
		if a.kicks[o].dev == a.kicks[k].dev {
			return true
		}
	}
	return false
}

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

func (a *analyzer) policyName() string {
	if a.pol.Name != "" {
		return "policy " + a.pol.Name
	}
	return "the policy"
}

func (a *analyzer) devName(d uint16) string {
	if int(d) < len(a.u.devs) {
		return a.u.devs[d]
	}
	return fmt.Sprintf("device#%d", d)
}

func (a *analyzer) rel(t int64) string {
	return fmt.Sprintf("+%.3fms", float64(t-a.base)/1e6)
}

// loginName describes login s.
func (a *analyzer) loginName(s int32) string {
	ss := &a.sess[s]
	who := fmt.Sprintf("%s (%s)", a.devName(ss.dev), a.u.platform(ss.plat))
	switch {
	case ss.inferred && ss.seq > 0:
		return fmt.Sprintf("login seq %d of %s, timed out on the device", ss.seq, who)
	case ss.inferred:
		return fmt.Sprintf("the login of %s sent at %s, timed out on the device", who, a.rel(ss.start))
	case a.seqMode && ss.seq > 0:
		return fmt.Sprintf("login seq %d of %s, ok at %s", ss.seq, who, a.rel(ss.ok))
	}
	return fmt.Sprintf("the login of %s ok at %s", who, a.rel(ss.ok))
}

// sessName describes the session of login s as a victim.
func (a *analyzer) sessName(s int32) string {
	ss := &a.sess[s]
	if a.seqMode && ss.seq > 0 {
		return fmt.Sprintf("%s (%s, login seq %d)", a.devName(ss.dev), a.u.platform(ss.plat), ss.seq)
	}
	return fmt.Sprintf("%s (%s, logged in at %s)", a.devName(ss.dev), a.u.platform(ss.plat), a.rel(ss.ok))
}

func (a *analyzer) listNames(ss []int32) string {
	if len(ss) == 0 {
		return "none"
	}
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = a.sessName(s)
	}
	return strings.Join(parts, ", ")
}

func (a *analyzer) displacerName(k *kick) string {
	r := &a.u.recs[k.rec]
	var parts []string
	if r.bySeq > 0 {
		parts = append(parts, fmt.Sprintf("login seq %d", r.bySeq))
	}
	if r.byDev > 0 {
		parts = append(parts, "instance "+a.devName(r.byDev-1))
	}
	if r.byPlat > 0 {
		parts = append(parts, "platform "+string(a.u.platform(r.byPlat)))
	}
	return strings.Join(parts, ", ")
}
