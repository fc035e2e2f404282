package check

import (
	"cmp"
	"fmt"
	"slices"

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
// "registered if and only if that login kicked it".
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
