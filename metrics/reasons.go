package metrics

import (
	"cmp"
	"fmt"
	"slices"
)

// MaxReasons is how many distinct reasons a snapshot keeps per operation,
// platform and code: the most frequent; the rest are counted in Other.
const MaxReasons = 5

// maxReasonsKept bounds the distinct reasons one recorder shard keeps per
// operation, platform and code before it counts new ones as other: more than
// MaxReasons, so that the shards' top reasons are still exact after their
// merge in all but pathological cases.
const maxReasonsKept = 32

// Reasons are the distinct messages (event.Event.Reason) of the failed
// operations of one code: Top the most frequent, by count then text, at most
// MaxReasons; Other counts the failed operations of every other message.
// Top's counts plus Other are the code's failed operations. Merging adds the
// counts of equal messages and trims again, so the merged counts add up
// exactly; which messages are on top after a merge can differ from a single
// run's only when a message was left out of a part's top.
type Reasons struct {
	Top   []Reason `json:"top"`
	Other int64    `json:"other,omitempty"`
}

// Reason is one message and how many failed operations gave it ("": the
// target gave no message).
type Reason struct {
	Message string `json:"message"`
	Count   int64  `json:"count"`
}

// Total returns the failed operations the reasons account for.
func (r *Reasons) Total() int64 {
	n := r.Other
	for _, x := range r.Top {
		n += x.Count
	}
	return n
}

// reasonCounts is a shard's count of the reasons of one code.
type reasonCounts struct {
	m     map[string]int64
	other int64
}

// addReason counts one failed operation of code with reason; it allocates
// only for a reason the cell has not seen.
func (c *opCell) addReason(code int, reason string) {
	if c.reasons == nil {
		c.reasons = make(map[int]*reasonCounts)
	}
	rc := c.reasons[code]
	if rc == nil {
		rc = &reasonCounts{m: make(map[string]int64)}
		c.reasons[code] = rc
	}
	if _, ok := rc.m[reason]; ok || len(rc.m) < maxReasonsKept {
		rc.m[reason]++
	} else {
		rc.other++
	}
}

// reasons returns every reason rc holds, untrimmed.
func (rc *reasonCounts) reasons() *Reasons {
	r := &Reasons{Other: rc.other, Top: make([]Reason, 0, len(rc.m))}
	for msg, n := range rc.m {
		r.Top = append(r.Top, Reason{Message: msg, Count: n})
	}
	return r
}

// addReasons adds rs to the reasons of code, untrimmed.
func (c *OpCell) addReasons(code int, rs *Reasons) {
	if rs == nil {
		return
	}
	if c.Reasons == nil {
		c.Reasons = map[int]*Reasons{}
	}
	c.Reasons[code] = mergeReasons(c.Reasons[code], rs)
}

// mergeReasons returns a + b (a may be nil), untrimmed; b is not changed.
func mergeReasons(a, b *Reasons) *Reasons {
	if a == nil {
		a = &Reasons{}
	}
	a.Other += b.Other
	for _, x := range b.Top {
		if i := slices.IndexFunc(a.Top, func(y Reason) bool { return y.Message == x.Message }); i >= 0 {
			a.Top[i].Count += x.Count
		} else {
			a.Top = append(a.Top, x)
		}
	}
	return a
}

// trim keeps the MaxReasons most frequent messages and counts the rest as
// other.
func (r *Reasons) trim() {
	slices.SortFunc(r.Top, func(x, y Reason) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		return cmp.Compare(x.Message, y.Message)
	})
	if len(r.Top) > MaxReasons {
		for _, x := range r.Top[MaxReasons:] {
			r.Other += x.Count
		}
		r.Top = slices.Clip(r.Top[:MaxReasons])
	}
}

// trimReasons trims every cell's reasons.
func (s *Snapshot) trimReasons() {
	for _, byPlat := range s.Ops {
		for _, c := range byPlat {
			for _, r := range c.Reasons {
				r.trim()
			}
		}
	}
}

// mergedReasons returns the reasons of several cells together, trimmed.
func mergedReasons(cells []*OpCell) map[int]*Reasons {
	var out map[int]*Reasons
	for _, c := range cells {
		for code, r := range c.Reasons {
			if out == nil {
				out = map[int]*Reasons{}
			}
			out[code] = mergeReasons(out[code], r)
		}
	}
	for _, r := range out {
		r.trim()
	}
	return out
}

func validReasons(where string, rs map[int]*Reasons) error {
	for code, r := range rs {
		if r == nil || r.Other < 0 || len(r.Top) > MaxReasons {
			return fmt.Errorf("%s.reasons.%d: want at most %d messages and counts >= 0", where, code, MaxReasons)
		}
		for _, x := range r.Top {
			if x.Count <= 0 {
				return fmt.Errorf("%s.reasons.%d: message %q with count %d", where, code, x.Message, x.Count)
			}
		}
	}
	return nil
}
