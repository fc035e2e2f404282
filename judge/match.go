package judge

import (
	"fmt"
	"slices"
	"strings"

	"github.com/agnivade/levenshtein"
)

// Lookup resolves a metric name such as "login.Android.p99" against the
// catalogue. The error names the first segment no entry admits, what may
// stand there, and the closest name the catalogue knows.
func Lookup(name string) (Ref, error) {
	p := &thresholdParser{s: name}
	segs, segPos, err := p.metricName()
	if err == nil && p.pos < len(name) {
		err = p.errf(p.pos, "unexpected %q in a metric name (allowed: letters, digits, _ and dots)", name[p.pos:])
	}
	if err != nil {
		if name == "" {
			segs, segPos = []string{""}, []int{0}
		} else {
			return Ref{}, err
		}
	}
	ref, col, msg := resolve(name, segs, segPos)
	if msg != "" {
		return Ref{}, p.errf(col, "%s", msg)
	}
	return ref, nil
}

// search is the state of matching one name against every entry: the
// furthest segment any entry reached, and what the entries expected there.
type search struct {
	segs    []string
	far     int      // furthest segment index reached without a match
	expect  []string // what may stand at far ("" for the end of the name)
	hard    string   // a segment of the right shape but an impossible value
	hardAt  int
	matched *Ref
}

func (s *search) want(si int, what string) {
	switch {
	case si > s.far:
		s.far, s.expect = si, []string{what}
	case si == s.far && !slices.Contains(s.expect, what):
		s.expect = append(s.expect, what)
	}
}

// match tries entry m from pattern segment pi and name segment si.
func (s *search) match(m *Metric, pi, si int, r Ref) bool {
	if pi == len(m.segs) {
		if si == len(s.segs) {
			r.Metric = m
			s.matched = &r
			return true
		}
		s.want(si, "")
		return false
	}
	sg := m.segs[pi]
	if si == len(s.segs) {
		s.want(si, expectText(sg))
		if sg.kind == segPlatform {
			return s.match(m, pi+1, si, r)
		}
		return false
	}
	ok, hard := segMatch(sg, s.segs[si], &r)
	if ok && s.match(m, pi+1, si+1, r) {
		return true
	}
	if hard != "" && s.hard == "" {
		s.hard, s.hardAt = hard, si
	}
	if !ok {
		s.want(si, expectText(sg))
	}
	if sg.kind == segPlatform {
		return s.match(m, pi+1, si, r)
	}
	return false
}

// expectText lists what a segment admits, for an error message.
func expectText(sg seg) string {
	switch sg.kind {
	case segLit:
		return sg.lit
	case segPlatform:
		return "a platform (" + strings.Join(platformNames(), ", ") + ")"
	case segQuantile:
		return "pN (a percentile such as p50, p99, p99.9)"
	case segCode:
		return "code_N (N a target's code)"
	}
	return strings.Join(options(sg.kind), ", ")
}

// resolve matches the segments of name (segPos: their byte offsets in the
// expression) against the catalogue. On failure it returns the byte offset
// of the problem and a message.
func resolve(name string, segs []string, segPos []int) (Ref, int, string) {
	s := &search{segs: segs, far: -1}
	for _, m := range catalogue {
		if s.match(m, 0, 0, Ref{}) {
			return *s.matched, 0, ""
		}
	}
	end := segPos[len(segs)-1] + len(segs[len(segs)-1])
	if s.hard != "" && s.hardAt >= s.far {
		return Ref{}, segPos[s.hardAt], s.hard
	}
	var allowed, last []string
	for _, e := range s.expect {
		switch {
		case strings.HasPrefix(e, "a platform"):
			last = append(last, e) // a platform may come first, but reads best last
		case e != "":
			allowed = append(allowed, e)
		}
	}
	allowed = append(allowed, last...)
	hint := ""
	if m := Suggest(name); m != "" {
		hint = fmt.Sprintf("; did you mean %s?", m)
	}
	switch {
	case s.far >= len(segs):
		return Ref{}, end, fmt.Sprintf("incomplete metric %q%s (allowed next: %s)", name, hint, strings.Join(allowed, ", "))
	case len(allowed) == 0:
		return Ref{}, segPos[s.far], fmt.Sprintf("unknown metric %q%s (allowed: nothing after %s)", name, hint, strings.Join(segs[:s.far], "."))
	case s.far == 0:
		return Ref{}, segPos[0], fmt.Sprintf("unknown metric %q%s (allowed first: %s; imload schema lists every metric)", name, hint, strings.Join(allowed, ", "))
	}
	return Ref{}, segPos[s.far], fmt.Sprintf("unknown metric %q%s (allowed after %s: %s)", name, hint, strings.Join(segs[:s.far], "."), strings.Join(allowed, ", "))
}

// Suggest returns the metric name of the catalogue closest to name (within
// a few edits, ignoring case), or "" when none is close.
func Suggest(name string) string {
	lower := strings.ToLower(name)
	// Open-ended segments take the name's own value when it fits.
	q, c := "p99", ""
	for _, sg := range strings.Split(name, ".") {
		var r Ref
		if ok, _ := segMatch(quantile, sg, &r); ok {
			q = sg
		}
		if ok, _ := segMatch(code, sg, &r); ok {
			c = sg
		}
	}
	best, bestD := "", max(2, len(name)/6)+1
	for _, m := range catalogue {
		for _, cand := range expand(m.segs, q, c) {
			if d := levenshtein.ComputeDistance(lower, strings.ToLower(cand)); d < bestD {
				best, bestD = cand, d
			}
		}
	}
	return best
}

// expand returns every concrete name of segs, with quantile q and code c
// (none when c is "").
func expand(segs []seg, q, c string) []string {
	out := []string{""}
	for _, sg := range segs {
		var vals []string
		switch sg.kind {
		case segLit:
			vals = []string{sg.lit}
		case segQuantile:
			vals = []string{q}
		case segCode:
			if c == "" {
				return nil
			}
			vals = []string{c}
		case segPlatform:
			vals = append([]string{""}, platformNames()...)
		default:
			vals = options(sg.kind)
		}
		next := make([]string, 0, len(out)*len(vals))
		for _, o := range out {
			for _, v := range vals {
				switch {
				case v == "":
					next = append(next, o)
				case o == "":
					next = append(next, v)
				default:
					next = append(next, o+"."+v)
				}
			}
		}
		out = next
	}
	return out
}
