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
	registered, nextRegistered := a.registered[:0], a.nextRegistered[:0]
	insts, members, maybeRemoved := a.insts[:0], a.members[:0], a.maybeRemoved[:0]
	var unseenFrom, unseenTo uint64
	// The logins of the segments Settle judged came first: the sequence
	// gap check goes on from the last of them.
	var prevSeq uint64
	if a.orderBySeq {
		prevSeq = a.u.res.maxSeq
	}
	for _, L := range a.modelOrder {
		l := &a.sessions[L]
		loginKicks := a.kicksOf(L)
		dueBy := a.kickDue(l)
		surelyRegistered := nextRegistered[:0]
		maybeRemoved = maybeRemoved[:0]
		if seq := a.modelSeq(L); seq > 0 {
			if prevSeq > 0 && seq > prevSeq+1 && unseenFrom == 0 && a.unansweredBefore(l.latestProcessed) {
				unseenFrom, unseenTo = prevSeq+1, seq-1
			}
			prevSeq = seq
		}
		for _, m := range registered {
			s := &a.sessions[m]
			if s.removalFrom != never {
				if s.removalTo < l.sent {
					continue // certainly gone before the login was sent
				}
				if s.removalFrom <= l.latestProcessed {
					maybeRemoved = append(maybeRemoved, m)
					continue
				}
			}
			surelyRegistered = append(surelyRegistered, m)
		}
		// The devices' own removals that began earliest come first, the
		// target's own (kicks naming no displacer, maybe a later login's
		// victim) last: the search below drops the low bits first, so it
		// tries them as done before the others (when two assignments
		// explain this login alike, the likelier one is kept for the
		// logins after it).
		slices.SortStableFunc(maybeRemoved, func(x, y int32) int {
			sx, sy := &a.sessions[x], &a.sessions[y]
			if sx.endedByTarget != sy.endedByTarget {
				if sx.endedByTarget {
					return 1
				}
				return -1
			}
			if c := cmp.Compare(sx.removalFrom, sy.removalFrom); c != 0 {
				return c
			}
			return cmp.Compare(sx.removalTo, sy.removalTo)
		})
		login := a.instance(L, a.modelSeq(L))
		var victims []policy.Instance
		// A session a login kicked was registered until then: it is never
		// taken as removed before this login. (Coercing every mask, rather
		// than refusing one, keeps members, insts and victims of one try.)
		var mustStay uint64
		for i, m := range maybeRemoved {
			if i < 64 && a.sessions[m].kickedBy != 0 {
				mustStay |= 1 << i
			}
		}
		try := func(mask uint64) bool {
			mask |= mustStay
			members = append(members[:0], surelyRegistered...)
			for i, m := range maybeRemoved {
				if i >= 64 || mask&(1<<i) != 0 {
					members = append(members, m)
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
			return a.explains(L, victims, insts, members, loginKicks, dueBy)
		}
		var kickedMask uint64
		for i, m := range maybeRemoved {
			if i < 64 && a.kickedDev(loginKicks, a.sessions[m].dev) {
				kickedMask |= 1 << i
			}
		}
		full := uint64(1)<<min(len(maybeRemoved), 63) - 1
		found := try(full)
		if !found && len(maybeRemoved) > 0 {
			if len(maybeRemoved) <= maxAmbiguous {
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
			a.flag(Undecided, l.okAt, func() string {
				return fmt.Sprintf("undecided: no replay explains %s, but login seq %s went to no device while a login of the user got no answer: that login may have been accepted unseen and displaced sessions",
					a.loginName(L), seqRange(unseenFrom, unseenTo))
			}, l.rec)
		case !found && len(maybeRemoved) > maxAmbiguous:
			if a.flagged[Undecided] {
				break
			}
			a.flag(Undecided, l.okAt, func() string {
				return fmt.Sprintf("undecided: no replay tried explains %s, but %d sessions may or may not have been removed before it, too many to try every combination",
					a.loginName(L), len(maybeRemoved))
			}, l.rec)
		default:
			a.judge(L, victims, insts, members, loginKicks)
		}
		nextRegistered = nextRegistered[:0]
		for i, m := range members {
			if a.sessions[m].dev == l.dev || isVictim(victims, insts[i]) {
				continue
			}
			nextRegistered = append(nextRegistered, m)
		}
		// A session this login's explanation took as removed before it
		// stays a candidate for the logins after it while its removal's
		// window is open: which of two racing removals came first may show
		// only later, and committing to the first explanation found would
		// turn that later login into a violation that one history explains.
		for _, m := range maybeRemoved {
			if a.sessions[m].dev != l.dev && !slices.Contains(members, m) {
				nextRegistered = append(nextRegistered, m)
			}
		}
		nextRegistered = append(nextRegistered, L)
		registered, nextRegistered = nextRegistered, registered
	}
	// What the model still holds registered after the last login; Settle
	// cuts a user's history only when all of it is certainly gone.
	a.finalRegistered = append(a.finalRegistered[:0], registered...)
	a.registered, a.nextRegistered = registered[:0], nextRegistered[:0]
	a.insts, a.members, a.maybeRemoved = insts[:0], members[:0], maybeRemoved[:0]
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
	for i := range a.pendingLogins {
		if p := &a.pendingLogins[i]; p.inferredAs < 0 && p.sent <= t {
			return true
		}
	}
	return false
}

// explains reports whether the policy's victims agree with the kicks
// loginKicks of login L: every victim was told or could not be (its device
// stopped listening by dueBy, and no other login kicked it later: it was
// still registered then), and every kick hit a victim.
func (a *analyzer) explains(L int32, victims, insts []policy.Instance, members, loginKicks []int32, dueBy int64) bool {
	victimDev := func(dev uint16) bool {
		for i, in := range insts {
			if a.sessions[members[i]].dev == dev && isVictim(victims, in) {
				return true
			}
		}
		return false
	}
	for i, in := range insts {
		if !isVictim(victims, in) {
			continue
		}
		s := &a.sessions[members[i]]
		if !a.kickedDev(loginKicks, s.dev) && (s.stoppedListening > dueBy || s.kickedBy != 0 && s.kickedBy-1 != L) {
			return false
		}
	}
	for _, k := range loginKicks {
		if !victimDev(a.kicks[k].dev) {
			return false
		}
	}
	return true
}

// isVictim reports whether in is one of victims.
func isVictim(victims []policy.Instance, in policy.Instance) bool {
	for _, v := range victims {
		if v.ID == in.ID && v.Seq == in.Seq {
			return true
		}
	}
	return false
}

// takeKick marks matched and returns the first unmatched kick of loginKicks
// to device dev, or -1.
func (a *analyzer) takeKick(loginKicks []int32, dev uint16) int32 {
	for _, k := range loginKicks {
		if kk := &a.kicks[k]; !kk.matched && kk.dev == dev {
			kk.matched = true
			return k
		}
	}
	return -1
}

// judge compares the model's victims of login L with the kicks loginKicks that
// devices attributed to it.
func (a *analyzer) judge(L int32, victims, insts []policy.Instance, members, loginKicks []int32) {
	l := &a.sessions[L]
	dueBy := a.kickDue(l)
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
		if ms := &a.sessions[m]; !ms.displaced || l.sent < ms.displacedAt {
			ms.displaced, ms.displacedAt = true, l.sent
		}
		if a.takeKick(loginKicks, a.sessions[m].dev) >= 0 {
			continue
		}
		if a.sessions[m].stoppedListening <= dueBy {
			continue
		}
		miss = append(miss, m)
	}
	for _, k := range loginKicks {
		kk := &a.kicks[k]
		if kk.matched {
			continue
		}
		kk.matched = true
		if a.repeatsKick(loginKicks, k) {
			continue
		}
		extra = append(extra, k)
	}
	n := min(len(miss), len(extra))
	for i := 0; i < n; i++ {
		m, k := miss[i], extra[i]
		a.flag(WrongVictim, a.sessions[L].okAt, func() string {
			return fmt.Sprintf("%s displaces %s under %s, but %s got the kick instead",
				a.loginName(L), a.sessName(m), a.policyName(), a.devName(a.kicks[k].dev))
		}, a.sessions[L].rec, a.sessions[m].rec, a.kicks[k].rec)
	}
	for _, m := range miss[n:] {
		a.flag(MissingKick, a.sessions[L].okAt, func() string {
			return fmt.Sprintf("%s displaces %s under %s; no kick naming that login reached it, and it was still listening %s after the login's ok",
				a.loginName(L), a.sessName(m), a.policyName(), a.opt.LateAfter)
		}, a.sessions[L].rec, a.sessions[m].rec)
	}
	for _, k := range extra[n:] {
		a.flag(SpuriousKick, a.kicks[k].arrived, func() string {
			if a.pol.OnConflict == policy.RefuseNew {
				return fmt.Sprintf("%s was kicked by %s, but under %s (on_conflict refuse_new) a login never kicks: one that would displace is refused (registered before that login: %s)",
					a.devName(a.kicks[k].dev), a.loginName(L), a.policyName(), a.listNames(members))
			}
			return fmt.Sprintf("%s was kicked by %s, which displaces none of its sessions under %s (registered before that login: %s)",
				a.devName(a.kicks[k].dev), a.loginName(L), a.policyName(), a.listNames(members))
		}, a.sessions[L].rec, a.kicks[k].rec)
	}
}

// repeatsKick reports whether kick k repeats an earlier kick of the same
// login to the same device.
func (a *analyzer) repeatsKick(loginKicks []int32, k int32) bool {
	for _, o := range loginKicks {
		if o == k {
			return false
		}
		if a.kicks[o].dev == a.kicks[k].dev {
			return true
		}
	}
	return false
}
