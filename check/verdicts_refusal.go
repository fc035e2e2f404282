package check

import (
	"fmt"
	"strings"

	"github.com/imload/imload/policy"
)

// refusals judges every login the target refused with a conflict or limit
// code (Options.RefusalCodes). Under on_conflict kick_old such a refusal is
// always wrong: the newest login wins. Under refuse_new it is right when the
// login would have displaced a session registered at the target when the
// login was processed, some time between its send and its answer.
//
// The proof uses the largest set of instances that may have been registered
// then: one per device (the target holds at most one session per instance),
// every device whose latest login sent before the answer (successful, timed
// out, or unanswered) is not certainly gone before the login was sent. A
// session is certainly gone when its own removal was answered (a logout ok,
// a failed resume, an account switch past Grace), when its device was told
// of a kick, or when its device logged in anew and that login was processed.
// Refusal under refuse_new is monotone in the set (Policy.Admit), so when
// even this set admits the login, no order of what devices saw explains the
// refusal: a wrong refusal. Otherwise it is not judged wrong, however
// uncertain the racing removals were.
func (a *analyzer) refusals() {
	if len(a.refused) == 0 {
		return
	}
	for i := range a.refused {
		r := &a.refused[i]
		a.rep.Checks.Refusals++
		login := policy.Instance{ID: a.devName(r.dev), Platform: a.u.platform(r.plat)}
		if a.pol.OnConflict != policy.RefuseNew {
			a.flag(WrongRefusal, r.refusedAt, func() string {
				return fmt.Sprintf("the login of %s sent at %s was refused at %s with code %d (a conflict or limit), but under %s (on_conflict %s) the newest login always wins",
					a.devName(r.dev), a.rel(r.sent), a.rel(r.refusedAt), r.code, a.policyName(), a.pol.OnConflict)
			}, r.rec)
			continue
		}
		set := a.maybeRegistered(r)
		insts := make([]policy.Instance, len(set))
		for j, s := range set {
			insts[j] = policy.Instance{ID: a.devName(s.dev), Platform: a.u.platform(s.plat), Seq: uint64(j + 1)}
		}
		login.Seq = uint64(len(insts) + 1)
		if _, refused := a.pol.Admit(insts, login); refused {
			continue
		}
		marks := []int32{r.rec}
		names := make([]string, len(insts))
		for j, in := range insts {
			names[j] = fmt.Sprintf("%s (%s)", in.ID, in.Platform)
			marks = append(marks, set[j].rec)
		}
		held := "none"
		if len(names) > 0 {
			held = strings.Join(names, ", ")
		}
		a.flag(WrongRefusal, r.refusedAt, func() string {
			return fmt.Sprintf("the login of %s (%s) sent at %s was refused at %s with code %d, but under %s (on_conflict refuse_new) it displaces nobody even with every instance that may have been registered then (%s): the limit was not full",
				a.devName(r.dev), login.Platform, a.rel(r.sent), a.rel(r.refusedAt), r.code, a.policyName(), held)
		}, marks...)
	}
}

// maybeReg is a device that may have held a registered session while a
// refused login was processed: its platform and the record of its login.
type maybeReg struct {
	dev  uint16
	plat uint8
	rec  int32
}

// maybeRegistered returns, one per device, the devices that may have held a
// registered session at the target at some time in [r.start, r.at].
func (a *analyzer) maybeRegistered(r *refusal) []maybeReg {
	var out []maybeReg
	for d := range a.u.devs {
		dev := uint16(d)
		// The device's latest login sent before the answer and processed
		// before the refused login was sent supersedes the earlier ones.
		best, bestStart := int32(-1), int64(-1<<63)
		var bestPlat uint8
		consider := func(rec int32, plat uint8, start int64, goneBefore bool) {
			if start >= r.refusedAt || start < bestStart {
				return
			}
			best, bestStart, bestPlat = rec, start, plat
			if goneBefore {
				best = -1 - rec // superseded or gone: not registered unless a later one is
			}
		}
		for s := range a.sessions {
			ss := &a.sessions[s]
			if ss.dev != dev {
				continue
			}
			consider(ss.rec, ss.plat, ss.sent, a.goneBefore(int32(s), r.sent))
		}
		span := a.devSpans[d]
		for p := span.pendFrom; p < span.pendTo; p++ {
			pp := &a.pendingLogins[p]
			if pp.inferredAs >= 0 {
				continue // inferred: a session above
			}
			consider(pp.rec, a.u.recs[pp.rec].plat, pp.sent, false)
		}
		if best >= 0 {
			out = append(out, maybeReg{dev: dev, plat: bestPlat, rec: best})
		}
	}
	return out
}

// goneBefore reports whether session s was certainly no longer registered
// at the target at t: its own removal was answered, its device was told of
// a kick, or the device's next login was processed, all before t.
func (a *analyzer) goneBefore(s int32, t int64) bool {
	ss := &a.sessions[s]
	switch {
	case ss.removalFrom != never && ss.removalTo < t:
		return true
	case ss.endedBy == endKicked && ss.onlineUntil < t:
		return true
	}
	span := a.devSpans[ss.dev]
	for o := span.sessFrom; o < span.sessTo; o++ {
		if n := &a.sessions[o]; o != s && n.sent > ss.sent && n.latestProcessed < t {
			return true
		}
	}
	return false
}
