package check

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/imload/imload/event"
)

// maxLines bounds an example timeline; longer histories show every line
// marked as evidence (even when they are more), a line of context either
// side of each, and then the lines nearest the verdict's focus.
const maxLines = 40

// visibleLines chooses the lines of a timeline to print: all of them when
// they fit in maxLines; otherwise every evidence line, its neighbours, and
// the lines nearest focus, up to maxLines in all (evidence lines are shown
// even beyond it).
func visibleLines(lines []tline, focus int64, marked func(tline) bool) []bool {
	keep := make([]bool, len(lines))
	if len(lines) <= maxLines {
		for i := range keep {
			keep[i] = true
		}
		return keep
	}
	n := 0
	take := func(i int) {
		if i >= 0 && i < len(lines) && !keep[i] && n < maxLines {
			keep[i] = true
			n++
		}
	}
	var ev []int
	for i, l := range lines {
		if marked(l) {
			ev = append(ev, i)
			keep[i] = true
			n++
		}
	}
	for _, i := range ev {
		take(i - 1)
		take(i + 1)
	}
	c, _ := slices.BinarySearchFunc(lines, focus, func(l tline, t int64) int { return cmp.Compare(l.t, t) })
	for d := 0; n < maxLines && (c-d >= 0 || c+d < len(lines)); d++ {
		take(c + d)
		take(c - d - 1)
	}
	return keep
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

type tline struct {
	t    int64
	rec  int32 // record, or -1-hook for a callback
	sent bool  // the "login sent" line of a login record
}

// timeline renders the user's history as text: the verdict, then one line
// per event with its time relative to the user's first event (ms), device,
// platform, what happened and sequence numbers; '*' marks the evidence.
func (h *userHistory) timeline(head string, focus int64, marks []int32) string {
	u := h.u
	lines := make([]tline, 0, len(u.recs)+len(u.hooks)+8)
	for i := range u.recs {
		r := &u.recs[i]
		if r.kind == event.Login || r.kind == event.Logout || r.kind == event.Resume {
			if st := h.sentAt(r); st < r.at {
				lines = append(lines, tline{st, int32(i), true})
			}
		}
		lines = append(lines, tline{r.at, int32(i), false})
	}
	for i := range u.hooks {
		lines = append(lines, tline{u.hooks[i].at, -1 - int32(i), false})
	}
	slices.SortStableFunc(lines, func(x, y tline) int { return cmp.Compare(x.t, y.t) })
	marked := func(l tline) bool {
		if l.sent {
			return false
		}
		return slices.Contains(marks, l.rec)
	}
	keep := visibleLines(lines, focus, marked)
	var b strings.Builder
	b.WriteString(head)
	fmt.Fprintf(&b, "\n%s; times in ms from the user's first event; * marks the evidence\n", h.policyName())
	if res := &u.res; res.segments > 0 {
		fmt.Fprintf(&b, "  (%d earlier %s, to %.3f, "+settledNote+")\n",
			res.events, plural(int(res.events), "event", "events"), float64(res.lastAt-h.firstAt)/1e6)
	}
	skipped := 0
	for i, l := range lines {
		if !keep[i] {
			skipped++
			continue
		}
		if skipped > 0 {
			fmt.Fprintf(&b, "  ... %d %s\n", skipped, plural(skipped, "line", "lines"))
			skipped = 0
		}
		mark := ' '
		if marked(l) {
			mark = '*'
		}
		dev, plat, what := "-", "-", ""
		if l.rec >= 0 {
			r := &u.recs[l.rec]
			dev, plat = h.devName(r.dev), string(u.platform(r.plat))
			what = h.describe(r, l.sent)
		} else {
			cb := &u.hooks[-1-l.rec]
			what = fmt.Sprintf("callback %s kicked=%s", cb.action, h.platList(cb.kicked))
		}
		if plat == "" {
			plat = "-"
		}
		fmt.Fprintf(&b, "%c %12.3f  %-14s %-8s %s\n", mark, float64(l.t-h.firstAt)/1e6, dev, plat, what)
	}
	if skipped > 0 {
		fmt.Fprintf(&b, "  ... %d %s\n", skipped, plural(skipped, "line", "lines"))
	}
	if u.hasStatus {
		parts := make([]string, 0, len(u.online))
		for _, in := range u.online {
			s := fmt.Sprintf("%s %s", h.devName(in.dev), u.platform(in.plat))
			if in.seq > 0 {
				s += fmt.Sprintf(" seq=%d", in.seq)
			}
			parts = append(parts, s)
		}
		if len(parts) == 0 {
			parts = append(parts, "none")
		}
		fmt.Fprintf(&b, "  end %.3f: the target lists online: %s\n", float64(h.end-h.firstAt)/1e6, strings.Join(parts, ", "))
	}
	return b.String()
}

// describe is what record r says in a timeline (its "sent" line when
// sent).
func (h *userHistory) describe(r *record, sent bool) string {
	if sent {
		return r.kind.String() + " sent"
	}
	var b strings.Builder
	b.WriteString(r.kind.String())
	if r.kind.IsOp() && r.out != 0 {
		b.WriteByte(' ')
		b.WriteString(r.out.String())
	}
	if r.seq > 0 {
		fmt.Fprintf(&b, " seq=%d", r.seq)
	}
	if r.code != 0 {
		fmt.Fprintf(&b, " code=%d", r.code)
	}
	if r.flags&flagRepeat != 0 {
		b.WriteString(" repeat")
	}
	if r.kind == event.Kicked {
		switch {
		case r.bySeq == 0 && r.byDev == 0 && r.byPlat == 0:
			b.WriteString(" (no displacer named)")
		default:
			b.WriteString(" by")
			if r.bySeq > 0 {
				fmt.Fprintf(&b, " seq=%d", r.bySeq)
			}
			if r.byDev > 0 {
				b.WriteString(" " + h.devName(r.byDev-1))
			}
			if r.byPlat > 0 {
				b.WriteString(" " + string(h.u.platform(r.byPlat)))
			}
		}
	}
	return b.String()
}

func (h *userHistory) policyName() string {
	if h.pol.Name != "" {
		return "policy " + h.pol.Name
	}
	return "the policy"
}

func (h *userHistory) devName(d uint16) string {
	if int(d) < len(h.u.devs) {
		return h.u.devs[d]
	}
	return fmt.Sprintf("device#%d", d)
}

// rel is time t from the user's first event, in ms.
func (h *userHistory) rel(t int64) string {
	return fmt.Sprintf("+%.3fms", float64(t-h.firstAt)/1e6)
}

// loginName describes login s.
func (h *userHistory) loginName(s int32) string {
	ss := &h.sessions[s]
	who := fmt.Sprintf("%s (%s)", h.devName(ss.dev), h.u.platform(ss.plat))
	switch {
	case ss.inferred && ss.seq > 0:
		return fmt.Sprintf("login seq %d of %s, timed out on the device", ss.seq, who)
	case ss.inferred:
		return fmt.Sprintf("the login of %s sent at %s, timed out on the device", who, h.rel(ss.sent))
	case h.sequenceMode && ss.seq > 0:
		return fmt.Sprintf("login seq %d of %s, ok at %s", ss.seq, who, h.rel(ss.okAt))
	}
	return fmt.Sprintf("the login of %s ok at %s", who, h.rel(ss.okAt))
}

// sessName describes the session of login s as a victim.
func (h *userHistory) sessName(s int32) string {
	ss := &h.sessions[s]
	if h.sequenceMode && ss.seq > 0 {
		return fmt.Sprintf("%s (%s, login seq %d)", h.devName(ss.dev), h.u.platform(ss.plat), ss.seq)
	}
	return fmt.Sprintf("%s (%s, logged in at %s)", h.devName(ss.dev), h.u.platform(ss.plat), h.rel(ss.okAt))
}

func (h *userHistory) listNames(ss []int32) string {
	if len(ss) == 0 {
		return "none"
	}
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = h.sessName(s)
	}
	return strings.Join(parts, ", ")
}

func (h *userHistory) displacerName(k *kick) string {
	r := &h.u.recs[k.rec]
	var parts []string
	if r.bySeq > 0 {
		parts = append(parts, fmt.Sprintf("login seq %d", r.bySeq))
	}
	if r.byDev > 0 {
		parts = append(parts, "instance "+h.devName(r.byDev-1))
	}
	if r.byPlat > 0 {
		parts = append(parts, "platform "+string(h.u.platform(r.byPlat)))
	}
	return strings.Join(parts, ", ")
}

func (h *userHistory) platList(ps []uint8) string {
	if len(ps) == 0 {
		return "[]"
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = string(h.u.platform(p))
	}
	slices.Sort(names)
	return "[" + strings.Join(names, " ") + "]"
}
