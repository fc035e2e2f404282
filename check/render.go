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
func (a *analyzer) timeline(head string, focus int64, marks []int32) string {
	u := a.u
	lines := make([]tline, 0, len(u.recs)+len(u.hooks)+8)
	for i := range u.recs {
		r := &u.recs[i]
		if r.kind == event.Login || r.kind == event.Logout || r.kind == event.Resume {
			if st := a.startOf(r); st < r.at {
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
	fmt.Fprintf(&b, "\n%s; times in ms from the user's first event; * marks the evidence\n", a.policyName())
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
			dev, plat = a.devName(r.dev), string(u.platform(r.plat))
			what = a.describe(r, l.sent)
		} else {
			h := &u.hooks[-1-l.rec]
			what = fmt.Sprintf("callback %s kicked=%s", h.action, a.platList(h.kicked))
		}
		if plat == "" {
			plat = "-"
		}
		fmt.Fprintf(&b, "%c %12.3f  %-14s %-8s %s\n", mark, float64(l.t-a.base)/1e6, dev, plat, what)
	}
	if skipped > 0 {
		fmt.Fprintf(&b, "  ... %d %s\n", skipped, plural(skipped, "line", "lines"))
	}
	if u.hasStatus {
		parts := make([]string, 0, len(u.online))
		for _, in := range u.online {
			s := fmt.Sprintf("%s %s", a.devName(in.dev), u.platform(in.plat))
			if in.seq > 0 {
				s += fmt.Sprintf(" seq=%d", in.seq)
			}
			parts = append(parts, s)
		}
		if len(parts) == 0 {
			parts = append(parts, "none")
		}
		fmt.Fprintf(&b, "  end %.3f: the target lists online: %s\n", float64(a.end-a.base)/1e6, strings.Join(parts, ", "))
	}
	return b.String()
}

func (a *analyzer) describe(r *record, sent bool) string {
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
				b.WriteString(" " + a.devName(r.byDev-1))
			}
			if r.byPlat > 0 {
				b.WriteString(" " + string(a.u.platform(r.byPlat)))
			}
		}
	}
	return b.String()
}
