package check

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// maxHookCluster bounds the logins plus callbacks of one cluster that the
// fallback matching of checkWebhooks takes; a user with a larger cluster is
// undecided for its callbacks.
const maxHookCluster = 4096

// hookDemand is something only a login that no device saw succeed (one that
// timed out, or failed without an answer) can explain: a callback left over,
// or a kicked entry naming a sequence no device was answered with. It needs
// its own such login, sent no later than by.
type hookDemand struct {
	by    int64
	seq   uint64 // the unknown sequence, 0: none
	text  func() string
	marks []int32 // the timeline lines it cites
}

// addDemand adds d to demands; demands for one unknown sequence are one
// login, sent no later than either allows.
func addDemand(demands []hookDemand, d hookDemand) []hookDemand {
	if d.seq != 0 {
		for i := range demands {
			if demands[i].seq == d.seq {
				demands[i].by = min(demands[i].by, d.by)
				return demands
			}
		}
	}
	return append(demands, d)
}

// checkWebhooks judges the user's Login callbacks against the logins and
// kicks devices saw. A callback that carries its login's sequence (imload's
// ImloadSeq) is that login's: its kicked entries are judged one by one
// (judgeHook). The other callbacks and the logins no callback named are
// matched by feasibility (matchRest): a verdict only when no assignment of
// callbacks to logins explains them. What neither explains needs a login
// that timed out on its device (settleDemands).
func (a *analyzer) checkWebhooks() {
	u := a.u
	a.rep.Checks.Webhooks += int64(len(u.hooks))
	if len(a.sessions) == 0 && len(u.hooks) == 0 {
		return
	}
	hooks := make([]int32, 0, len(u.hooks))
	for i := range u.hooks {
		if u.hooks[i].action == ActionLogin {
			hooks = append(hooks, int32(i))
		}
	}
	slices.SortStableFunc(hooks, func(x, y int32) int { return cmp.Compare(u.hooks[x].at, u.hooks[y].at) })
	bySeq := make(map[uint64]int32)
	for i := range a.sessions {
		if q := a.sessions[i].seq; q != 0 {
			if _, dup := bySeq[q]; !dup {
				bySeq[q] = int32(i)
			}
		}
	}
	claimed := make([]bool, len(a.sessions))
	var rest, unknown []int32
	var demands []hookDemand
	for _, hi := range hooks {
		h := &u.hooks[hi]
		if h.seq == 0 {
			rest = append(rest, hi)
			continue
		}
		L, ok := bySeq[h.seq]
		switch {
		case !ok:
			unknown = append(unknown, hi)
		case claimed[L]:
			a.flag(WebhookMismatch, h.at, func() string {
				return fmt.Sprintf("the Login callback at %s is a second one for %s", a.rel(h.at), a.loginName(L))
			}, a.sessions[L].rec, hookMark(hi))
		default:
			claimed[L] = true
			demands = a.judgeHook(h, L, bySeq, demands)
		}
	}
	// A callback of a login no device saw answered: the login may be one
	// that timed out; when an entry of another callback lists that
	// sequence as kicked, both need the same login.
	seenUnknown := make(map[uint64]bool)
	for _, hi := range unknown {
		h := &u.hooks[hi]
		if seenUnknown[h.seq] {
			a.flag(WebhookMismatch, h.at, func() string {
				return fmt.Sprintf("the Login callback at %s is a second one for login seq %d", a.rel(h.at), h.seq)
			}, hookMark(hi))
			continue
		}
		seenUnknown[h.seq] = true
		merged := false
		for i := range demands {
			if d := &demands[i]; d.seq == h.seq {
				d.by, merged = min(d.by, addSat(h.at, a.clockTolerance())), true
			}
		}
		if !merged {
			rest = append(rest, hi)
		}
	}
	var pool []int32
	for i := range a.sessions {
		if !claimed[i] {
			pool = append(pool, int32(i))
		}
	}
	demands = a.matchRest(rest, pool, demands)
	a.settleDemands(demands)
}

// clockTolerance is how far a callback's time may lie outside its login's
// window: the target's clock may differ from the devices'.
func (a *analyzer) clockTolerance() int64 { return int64(a.opt.Grace) }

// judgeHook judges callback h, which names login L by its sequence: every
// session devices saw L kick must be listed, and every entry listed must be
// a session L kicked or one that may have been registered then and could
// not be told. An entry naming a sequence no device was answered with is a
// demand. When the callback or the kicks do not give sequences, the
// callback's platforms are compared with L's kicks (hookTier).
func (a *analyzer) judgeHook(h *webhook, L int32, bySeq map[uint64]int32, demands []hookDemand) []hookDemand {
	recs := a.u.recs
	type seen struct {
		seq  uint64
		plat uint8
		k    int32
	}
	var saw []seen
	bySeqs := h.kickedSeq != nil || len(h.kicked) == 0
	for _, q := range h.kickedSeq {
		if q == 0 {
			bySeqs = false
		}
	}
	for ki := range a.kicks {
		k := &a.kicks[ki]
		r := &recs[k.rec]
		if !(r.bySeq == h.seq || r.bySeq == 0 && !k.administrative && !k.anonymous && k.displacer == L && k.altDisplacer < 0) {
			continue
		}
		v := r.seq
		if v == 0 && k.victim >= 0 {
			v = a.sessions[k.victim].seq
		}
		if v == 0 {
			bySeqs = false
		}
		if !slices.ContainsFunc(saw, func(s seen) bool { return s.seq == v && (v != 0 || a.kicks[s.k].dev == k.dev) }) {
			saw = append(saw, seen{seq: v, plat: k.plat, k: int32(ki)})
		}
	}
	l := &a.sessions[L]
	if !bySeqs {
		if a.hookTier(h, L) > 2 {
			a.flag(WebhookMismatch, h.at, func() string {
				return fmt.Sprintf("the Login callback at %s for %s lists kicked %s, but devices saw kicks on %s",
					a.rel(h.at), a.loginName(L), a.platList(h.kicked), a.platList(a.observed(L)))
			}, l.rec, a.hookMarkOf(h))
		}
		return demands
	}
	used := make([]bool, len(h.kicked))
	var why []string
	var marks []int32
	for _, s := range saw {
		i := slices.Index(h.kickedSeq, s.seq)
		for i >= 0 && used[i] {
			j := slices.Index(h.kickedSeq[i+1:], s.seq)
			if j < 0 {
				i = -1
				break
			}
			i += 1 + j
		}
		k := &a.kicks[s.k]
		if i < 0 {
			why = append(why, fmt.Sprintf("devices saw it kick %s (%s, login seq %d) at %s, which the callback does not list",
				a.devName(k.dev), a.u.platform(k.plat), s.seq, a.rel(k.arrived)))
			marks = append(marks, k.rec)
			continue
		}
		used[i] = true
		if p := h.kicked[i]; p != s.plat && s.plat != 0 {
			why = append(why, fmt.Sprintf("it lists login seq %d as %s, but that session is %s's (%s)",
				s.seq, a.u.platform(p), a.devName(k.dev), a.u.platform(s.plat)))
			marks = append(marks, k.rec)
		}
	}
	for i, q := range h.kickedSeq {
		if used[i] {
			continue
		}
		if slices.Index(h.kickedSeq, q) < i {
			why = append(why, fmt.Sprintf("it lists login seq %d twice", q))
			continue
		}
		S, ok := bySeq[q]
		if !ok {
			p := h.kicked[i]
			demands = addDemand(demands, hookDemand{by: l.latestProcessed, seq: q, text: func() string {
				return fmt.Sprintf("the Login callback at %s for %s lists kicked login seq %d (%s), a session no device was answered with, and no login that timed out on its device is left to have been it",
					a.rel(h.at), a.loginName(L), q, a.u.platform(p))
			}, marks: []int32{l.rec, a.hookMarkOf(h)}})
			continue
		}
		if !a.untoldBy(L, S, h.seq) {
			why = append(why, fmt.Sprintf("it lists %s as kicked, which %s", a.sessName(S), a.whyNotUntold(L, S, h.seq)))
			marks = append(marks, a.sessions[S].rec)
		}
	}
	if len(why) > 0 {
		a.flag(WebhookMismatch, h.at, func() string {
			return fmt.Sprintf("the Login callback at %s for %s (kicked %s): %s",
				a.rel(h.at), a.loginName(L), a.platList(h.kicked), strings.Join(why, "; "))
		}, append(marks, l.rec, a.hookMarkOf(h))...)
	}
	return demands
}

// untoldBy reports whether session S may have been displaced by login L
// (sequence q) without a kick reaching its device: it may have been
// registered when L was processed, no other login kicked it (it was still
// registered then), and its device had stopped listening by L's due time
// (or the run ended first), or the target ended it with a kick naming no
// displacer.
func (a *analyzer) untoldBy(L, S int32, q uint64) bool {
	return a.whyNotUntold(L, S, q) == ""
}

// whyNotUntold says why untoldBy is false ("" when it is true).
func (a *analyzer) whyNotUntold(L, S int32, q uint64) string {
	l, s := &a.sessions[L], &a.sessions[S]
	switch {
	case S == L:
		return "is the login itself"
	case s.dev == l.dev && !a.pol.ReplaceSameInstance:
		return "is a session of the login's own instance"
	case s.sent >= l.latestProcessed:
		return "began after the login was processed"
	case !a.mayHold(L, S):
		return "had ended before the login was sent"
	}
	for i := range a.kicks {
		k := &a.kicks[i]
		if r := &a.u.recs[k.rec]; k.victim == S && r.bySeq != 0 && r.bySeq != q {
			return fmt.Sprintf("login seq %d kicked at %s (it was still registered then)", r.bySeq, a.rel(k.arrived))
		}
	}
	if s.endedByTarget || s.stoppedListening <= a.kickDue(l) {
		return ""
	}
	return fmt.Sprintf("got no kick from it and was still listening %s after the login's ok", a.opt.LateAfter)
}

// mayHold reports whether session S may have been registered, beside login
// L's own device, when the target processed L: it began before L was
// processed and was neither removed nor kicked before L was sent.
func (a *analyzer) mayHold(L, S int32) bool {
	l, s := &a.sessions[L], &a.sessions[S]
	switch {
	case S == L, s.sent >= l.latestProcessed,
		s.removalFrom != never && s.removalTo < l.sent,
		s.endedBy == endKicked && s.onlineUntil < l.sent,
		s.dev == l.dev && !a.pol.ReplaceSameInstance:
		return false
	}
	return true
}

// observedPlats returns the platforms of the devices seen kicked by login
// L (duplicates to one device once) and of the ambiguous kicks L may have
// sent.
func (a *analyzer) observedPlats(L int32) (sure, maybe []uint8) {
	loginKicks := a.kicksOf(L)
	for i, k := range loginKicks {
		if kk := &a.kicks[k]; kk.altDisplacer < 0 && !a.duplicateAmong(loginKicks[:i], kk.dev) {
			sure = append(sure, kk.plat)
		}
	}
	for i := range a.kicks {
		if k := &a.kicks[i]; k.altDisplacer >= 0 && (k.displacer == L || k.altDisplacer == L) {
			maybe = append(maybe, k.plat)
		}
	}
	return sure, maybe
}

// duplicateAmong reports whether one of loginKicks that login surely sent
// went to device dev.
func (a *analyzer) duplicateAmong(loginKicks []int32, dev uint16) bool {
	for _, k := range loginKicks {
		if kk := &a.kicks[k]; kk.altDisplacer < 0 && kk.dev == dev {
			return true
		}
	}
	return false
}

// observed returns the platforms of the kicks devices saw from login L
// (surely or maybe).
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
	loginKicks := a.kicksOf(L)
	for i := range a.sessions {
		if !a.mayHold(L, int32(i)) || a.kickedDev(loginKicks, a.sessions[i].dev) {
			continue
		}
		cnt[a.sessions[i].plat]++
	}
}

// matchRest matches the callbacks hooks (in time order) that name no login
// seen to the logins pool that no callback named. A callback may explain a
// login when it fits its kicks (hookTier at most 2) and its time lies within
// the login's window (sent .. ok) widened by Grace; a callback that gives a
// sequence explains no login that has one. Logins whose widened windows
// overlap form a cluster with the callbacks inside it. Within a cluster a
// login is a mismatch only when no matching gives every login a callback,
// and the callbacks no matching can place become demands: the matching
// places the earliest callbacks it can, so those left over are the latest
// (any set that some matching leaves over is, taken in time order, no later
// one by one), which suits the logins that timed out best.
func (a *analyzer) matchRest(hooks, pool []int32, demands []hookDemand) []hookDemand {
	u := a.u
	tol := a.clockTolerance()
	lo := func(L int32) int64 { return a.sessions[L].sent - tol }
	hi := func(L int32) int64 {
		r := a.sessions[L].settledAt()
		if r == never {
			r = max(a.end, a.sessions[L].sent)
		}
		return addSat(r, tol)
	}
	slices.SortFunc(pool, func(x, y int32) int {
		if c := cmp.Compare(lo(x), lo(y)); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	type cluster struct {
		l0, l1 int
		lo, hi int64
		h0, h1 int
	}
	var cls []cluster
	for i, L := range pool {
		if n := len(cls); n > 0 && lo(L) <= cls[n-1].hi {
			cls[n-1].l1 = i + 1
			cls[n-1].hi = max(cls[n-1].hi, hi(L))
			continue
		}
		cls = append(cls, cluster{l0: i, l1: i + 1, lo: lo(L), hi: hi(L)})
	}
	// Callbacks are in time order: each cluster takes a run of them.
	leftover := func(hi int32) {
		h := &u.hooks[hi]
		demands = append(demands, hookDemand{by: addSat(h.at, tol), text: func() string { return a.leftoverText(h, pool) }, marks: []int32{hookMark(hi)}})
	}
	j := 0
	for c := range cls {
		for ; j < len(hooks) && u.hooks[hooks[j]].at < cls[c].lo; j++ {
			leftover(hooks[j])
		}
		cls[c].h0 = j
		for ; j < len(hooks) && u.hooks[hooks[j]].at <= cls[c].hi; j++ {
		}
		cls[c].h1 = j
	}
	for ; j < len(hooks); j++ {
		leftover(hooks[j])
	}
	for _, c := range cls {
		ls, hs := pool[c.l0:c.l1], hooks[c.h0:c.h1]
		if n := len(ls) + len(hs); n > maxHookCluster {
			if !a.flagged[Undecided] {
				a.flag(Undecided, c.lo+tol, func() string {
					return fmt.Sprintf("the Login callbacks between %s and %s carry no sequence; matching them to logins takes a cluster of %d logins and %d callbacks, over the bound of %d: not judged",
						a.rel(c.lo+tol), a.rel(c.hi-tol), len(ls), len(hs), maxHookCluster)
				})
			}
			continue
		}
		adj := make([][]int32, len(hs)) // per callback: admissible logins (indices into ls)
		radj := make([][]int32, len(ls))
		for i, hx := range hs {
			h := &u.hooks[hx]
			for k, L := range ls {
				if h.at < lo(L) || h.at > hi(L) || h.seq != 0 && a.sessions[L].seq != 0 || a.hookTier(h, L) > 2 {
					continue
				}
				adj[i] = append(adj[i], int32(k))
				radj[k] = append(radj[k], int32(i))
			}
		}
		hookOf := matchAll(adj, len(ls)) // per login: its callback, -1 none
		placed := make([]bool, len(hs))
		for _, i := range hookOf {
			if i >= 0 {
				placed[i] = true
			}
		}
		for i, hx := range hs {
			if !placed[i] {
				leftover(hx)
			}
		}
		loginOf := matchAll(radj, len(hs))
		got := make([]bool, len(ls))
		for _, k := range loginOf {
			if k >= 0 {
				got[k] = true
			}
		}
		for k, L := range ls {
			if got[k] {
				continue
			}
			a.flag(WebhookMismatch, a.sessions[L].latestProcessed, func() string {
				return a.noCallbackText(L, ls, hs, len(radj[k]))
			}, a.sessions[L].rec)
		}
	}
	return demands
}

// matchAll is Kuhn's augmenting-path matching: left vertices in order, each
// matched when an augmenting path exists (a matched vertex stays matched, so
// the left vertices matched are the earliest that any matching can match).
// It returns, per right vertex, its left vertex (-1: none).
func matchAll(adj [][]int32, nRight int) []int32 {
	right := make([]int32, nRight)
	for i := range right {
		right[i] = -1
	}
	seen := make([]int32, nRight) // stamp+1 of the search that visited it
	var try func(l int32, stamp int32) bool
	try = func(l int32, stamp int32) bool {
		for _, r := range adj[l] {
			if seen[r] == stamp {
				continue
			}
			seen[r] = stamp
			if right[r] < 0 || try(right[r], stamp) {
				right[r] = l
				return true
			}
		}
		return false
	}
	for l := range adj {
		try(int32(l), int32(l)+1)
	}
	return right
}

// settleDemands gives each demand its own login that timed out on its
// device (or failed without an answer), sent no later than the demand
// allows; what is left is a mismatch. Eligibility is a bound on the send
// time, so the sets of eligible logins are nested: taking demands by their
// bound and giving each the earliest login left is an assignment whenever
// one exists.
func (a *analyzer) settleDemands(demands []hookDemand) {
	if len(demands) == 0 {
		return
	}
	var starts []int64
	for p := range a.pendingLogins {
		if a.pendingLogins[p].inferredAs < 0 {
			starts = append(starts, a.pendingLogins[p].sent)
		}
	}
	slices.Sort(starts)
	slices.SortStableFunc(demands, func(x, y hookDemand) int { return cmp.Compare(x.by, y.by) })
	next := 0
	for _, d := range demands {
		if next < len(starts) && starts[next] <= d.by {
			next++
			continue
		}
		a.flag(WebhookMismatch, d.by, d.text, d.marks...)
	}
}

// leftoverText explains a callback that no login explains.
func (a *analyzer) leftoverText(h *webhook, pool []int32) string {
	what := fmt.Sprintf("the Login callback at %s (kicked %s)", a.rel(h.at), a.platList(h.kicked))
	if h.seq != 0 {
		what = fmt.Sprintf("the Login callback at %s for login seq %d (kicked %s), a sequence no device was answered with,", a.rel(h.at), h.seq, a.platList(h.kicked))
	}
	near, best := int32(-1), int64(never)
	for _, L := range pool {
		s := &a.sessions[L]
		d := int64(0)
		switch r := s.settledAt(); {
		case h.at < s.sent:
			d = s.sent - h.at
		case h.at > r:
			d = h.at - r
		}
		if d < best && (h.seq == 0 || s.seq == 0) {
			near, best = L, d
		}
	}
	because := fmt.Sprintf("no login was in flight within %s of it", a.opt.Grace)
	if near >= 0 && best <= a.clockTolerance() {
		because = fmt.Sprintf("no assignment of the callbacks to the logins in flight within %s of it gives it one (nearest: %s, for which devices saw kicks on %s)",
			a.opt.Grace, a.loginName(near), a.platList(a.observed(near)))
	}
	return fmt.Sprintf("%s matches no login of the user: %s, and no login that timed out on its device is left to have made it", what, because)
}

// noCallbackText explains a login that no matching gives a callback.
func (a *analyzer) noCallbackText(L int32, ls, hs []int32, fits int) string {
	s := &a.sessions[L]
	switch {
	case fits == 0 && s.seq != 0 && a.hooksCarrySeq():
		return fmt.Sprintf("%s has no Login callback: none carries its seq %d", a.loginName(L), s.seq)
	case fits == 0:
		return fmt.Sprintf("%s has no Login callback: none within %s of its window lists the kicks devices saw from it (%s)",
			a.loginName(L), a.opt.Grace, a.platList(a.observed(L)))
	}
	return fmt.Sprintf("%s has no Login callback: %d callbacks fit it, but no assignment of the %d callbacks to the %d logins around it gives every login one",
		a.loginName(L), fits, len(hs), len(ls))
}

// hooksCarrySeq reports whether some callback of the user carries a
// sequence.
func (a *analyzer) hooksCarrySeq() bool {
	for i := range a.u.hooks {
		if a.u.hooks[i].seq != 0 {
			return true
		}
	}
	return false
}

// hookMark is the timeline mark of callback hi (records are marked by their
// index, callbacks by -1-index).
func hookMark(hi int32) int32 { return -1 - hi }

// hookMarkOf is the timeline mark of the callback h points to.
func (a *analyzer) hookMarkOf(h *webhook) int32 {
	for i := range a.u.hooks {
		if &a.u.hooks[i] == h {
			return hookMark(int32(i))
		}
	}
	return -1 << 30 // not a callback of this user: marks nothing
}
