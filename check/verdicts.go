package check

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// flag counts a verdict of class c; the example timeline is built only when
// it would be kept.
func (a *analyzer) flag(c Class, focus int64, head func() string, marks ...int32) {
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
	for i := 0; i < len(pts); {
		t := pts[i].t
		for ; i < len(pts) && pts[i].t == t; i++ {
			p := pts[i]
			if p.add {
				cur = append(cur, p.s)
				continue
			}
			if j := slices.Index(cur, p.s); j >= 0 {
				cur = slices.Delete(cur, j, j+1)
			}
		}
		ok := len(cur) < 2 || a.allowed(cur)
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

// status compares the target's end-of-run online status with the devices'.
func (a *analyzer) status() {
	n := len(a.u.devs)
	last := make([]int32, n)
	for i := range last {
		last[i] = -1
	}
	for i := range a.sess {
		s := &a.sess[i]
		if l := last[s.dev]; l < 0 || a.sess[l].start <= s.start {
			last[s.dev] = int32(i)
		}
	}
	listed := make([]bool, n)
	for _, in := range a.u.online {
		if int(in.dev) < n {
			listed[in.dev] = true
		}
	}
	for d := 0; d < n; d++ {
		online, uncertain := false, false
		l := last[d]
		if l >= 0 {
			s := &a.sess[l]
			online = !s.inferred && s.endHow == endRunEnd && !s.discAtEnd
			uncertain = s.inferred || s.discAtEnd || s.endHow == endAppKill || s.endHow == endSigExpired ||
				(s.rmLo != never && s.rmHi >= a.end)
		}
		dr := a.devs[d]
		for p := dr.p0; p < dr.p1; p++ {
			if pp := &a.pend[p]; pp.sess < 0 && (l < 0 || pp.start > a.sess[l].start) {
				uncertain = true
			}
		}
		switch {
		case listed[d] && !online && !uncertain:
			a.flag(GhostSession, a.end, func() string {
				return fmt.Sprintf("the target lists %s online at the end, but its device %s", a.devName(uint16(d)), a.offlineWhy(l))
			}, a.recOf(l)...)
		case online && !listed[d]:
			a.flag(LostSession, a.end, func() string {
				return fmt.Sprintf("%s holds %s online at the end, but the target does not list it", a.devName(uint16(d)), a.sessName(l))
			}, a.sess[l].rec)
		}
	}
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

// checkWebhooks matches Login callbacks to logins and compares their kicked
// platforms with the kicks devices saw.
func (a *analyzer) checkWebhooks() {
	u := a.u
	a.rep.Checks.Webhooks += int64(len(u.hooks))
	hooks := make([]int, 0, len(u.hooks))
	for i := range u.hooks {
		if u.hooks[i].action == ActionLogin {
			hooks = append(hooks, i)
		}
	}
	slices.SortStableFunc(hooks, func(x, y int) int { return cmp.Compare(u.hooks[x].at, u.hooks[y].at) })
	used := make([]bool, len(a.sess))
	pendUsed := make([]bool, len(a.pend))
	for _, hi := range hooks {
		h := &u.hooks[hi]
		// Best login: the callback's time inside its window first, then an
		// exact match of kicked platforms, then a consistent one, then the
		// nearest in time.
		best, bestOut, bestTier, bestDist := int32(-1), true, 3, never
		for _, L := range a.logins {
			if used[L] {
				continue
			}
			s := &a.sess[L]
			ref := s.ok
			if ref == 0 {
				ref = s.hi
			}
			var dist int64
			switch {
			case h.at < s.start:
				dist = s.start - h.at
			case h.at > ref:
				dist = h.at - ref
			}
			out, tier := dist > 0, a.hookTier(h, L)
			if best < 0 || (!out && bestOut) || (out == bestOut && (tier < bestTier || tier == bestTier && dist < bestDist)) {
				best, bestOut, bestTier, bestDist = L, out, tier, dist
			}
		}
		if best >= 0 {
			used[best] = true
			if bestTier > 1 {
				L := best
				a.flag(WebhookMismatch, h.at, func() string {
					return fmt.Sprintf("the Login callback at %s lists kicked %s, but for %s devices saw kicks on %s",
						a.rel(h.at), a.platList(h.kicked), a.loginName(L), a.platList(a.observedPlats(L)))
				}, a.sess[L].rec)
			}
			continue
		}
		// A login that timed out on its device may have succeeded.
		absorbed := false
		for p := range a.pend {
			if !pendUsed[p] && a.pend[p].sess < 0 && a.pend[p].start <= h.at {
				pendUsed[p], absorbed = true, true
				break
			}
		}
		if !absorbed {
			a.flag(WebhookMismatch, h.at, func() string {
				return fmt.Sprintf("the Login callback at %s (kicked %s) matches no login of the user", a.rel(h.at), a.platList(h.kicked))
			})
		}
	}
	for _, L := range a.logins {
		if !used[L] {
			a.flag(WebhookMismatch, a.sess[L].hi, func() string {
				return fmt.Sprintf("%s has no Login callback", a.loginName(L))
			}, a.sess[L].rec)
		}
	}
}

// observedPlats returns the platforms of the devices kicked by login L.
func (a *analyzer) observedPlats(L int32) []uint8 {
	var out []uint8
	lk := a.kicksOf(L)
	for i, k := range lk {
		if a.duplicateAmong(lk[:i], a.kicks[k].dev) {
			continue
		}
		out = append(out, a.kicks[k].plat)
	}
	return out
}

func (a *analyzer) duplicateAmong(lk []int32, dev uint16) bool {
	for _, k := range lk {
		if a.kicks[k].dev == dev {
			return true
		}
	}
	return false
}

// hookTier says how callback h fits login L: 0 its kicked platforms are
// exactly those devices saw kicked by L; 1 they hold those and nothing
// beyond the sessions L may have displaced without a kick arriving (in
// sequence mode: the policy's victims of L that no kick reached); 2 they do
// not fit.
func (a *analyzer) hookTier(h *webhook, L int32) int {
	n := len(a.u.plats) + 1
	cnt := make([]int32, 3*n) // observed, in the callback, untold
	for _, p := range a.observedPlats(L) {
		cnt[p]++
	}
	for _, p := range h.kicked {
		if int(p) < n {
			cnt[n+int(p)]++
		}
	}
	if a.seqMode {
		for _, e := range a.exc {
			if e.login == L {
				cnt[2*n+int(e.plat)]++
			}
		}
	} else {
		a.untold(L, cnt[2*n:])
	}
	tier := 0
	for p := 0; p < n; p++ {
		o, w, e := cnt[p], cnt[n+p], cnt[2*n+p]
		switch {
		case w < o || w > o+e:
			return 2
		case w > o:
			tier = 1
		}
	}
	return tier
}

// untold counts, in search mode, the platforms of sessions that may have
// been registered when login L was processed and got no kick from it.
func (a *analyzer) untold(L int32, cnt []int32) {
	l := &a.sess[L]
	lk := a.kicksOf(L)
	for i := range a.sess {
		s := &a.sess[i]
		switch {
		case int32(i) == L, s.start >= l.hi,
			s.rmLo != never && s.rmHi < l.start,
			s.endHow == endKicked && s.end < l.start,
			s.dev == l.dev && !a.pol.ReplaceSameInstance,
			a.kickedDev(lk, s.dev):
			continue
		}
		cnt[s.plat]++
	}
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
