package results

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/imload/imload/faults"
)

// Fault is one fault of the reference server that the run armed, and how
// often it fired: changed what the server answered (a kick of the wrong
// victim, a kick not delivered, a delayed login, ...). A fault that never
// fired did not exercise the check it exists to prove; Why then says why,
// as the server saw it.
type Fault struct {
	Name  string `json:"name"`
	Fired uint64 `json:"fired"`
	Why   string `json:"why_not_fired,omitempty"`
}

// MergeFaults adds the firings of b's faults into a's, by name: a fault
// armed in any file is armed in the merge, and keeps a reason only while no
// file saw it fire. The result is in the order of faults.Names.
func MergeFaults(a, b []Fault) []Fault {
	out := slices.Clone(a)
	for _, x := range b {
		i := slices.IndexFunc(out, func(y Fault) bool { return y.Name == x.Name })
		if i < 0 {
			out = append(out, x)
			continue
		}
		out[i].Fired += x.Fired
		out[i].Why = cmp.Or(out[i].Why, x.Why)
	}
	for i := range out {
		if out[i].Fired > 0 {
			out[i].Why = ""
		}
	}
	SortFaults(out)
	return out
}

// SortFaults puts faults in the order of faults.Names (unknown names last,
// by name).
func SortFaults(fs []Fault) {
	names := faults.Names()
	rank := func(n string) int {
		if i := slices.Index(names, n); i >= 0 {
			return i
		}
		return len(names)
	}
	slices.SortStableFunc(fs, func(a, b Fault) int {
		return cmp.Or(cmp.Compare(rank(a.Name), rank(b.Name)), strings.Compare(a.Name, b.Name))
	})
}

// Unfired returns the armed faults of f that never fired.
func Unfired(f *File) []Fault {
	var out []Fault
	for _, x := range f.Faults {
		if x.Fired == 0 {
			out = append(out, x)
		}
	}
	return out
}

// FaultWarnings are the lines that head a report of f, one per armed fault
// that never fired: the run did not exercise the check that fault exists to
// prove, whatever its verdicts say.
func FaultWarnings(f *File) []string {
	var out []string
	for _, x := range Unfired(f) {
		why := ""
		if x.Why != "" {
			why = ": " + x.Why
		}
		out = append(out, fmt.Sprintf("WARNING: fault %s armed but never applicable%s; the check it exists to prove was not exercised", x.Name, why))
	}
	return out
}

// FaultsLine is the header's list of armed faults with their firings
// ("wrong-victim (fired 0 times)").
func FaultsLine(fs []Fault) string {
	parts := make([]string, len(fs))
	for i, x := range fs {
		parts[i] = fmt.Sprintf("%s (fired %s)", x.Name, plural(int(x.Fired), "time"))
	}
	return strings.Join(parts, ", ")
}
