package scenario

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/imload/imload/internal/yamlpos"
)

// MaxErrors is how many errors an *Errors keeps; the rest are counted.
const MaxErrors = 25

// Error is one problem in a scenario, at a position of its YAML text:
// File (as given to Load or Parse; may be empty), Line and Col (1-based; 0
// when the problem has no position), Field (the path, e.g.
// "phases[1].rate"; empty for the document) and Msg (what is wrong, and
// what is allowed). It formats as "file:line:col: field: msg".
type Error = yamlpos.Error

// Errors is every problem found in one scenario, in document order, at most
// MaxErrors of them; Dropped counts the ones left out.
type Errors struct {
	List    []*Error
	Dropped int
}

// Error returns one problem a line.
func (es *Errors) Error() string {
	lines := make([]string, 0, len(es.List)+1)
	for _, e := range es.List {
		lines = append(lines, e.Error())
	}
	if es.Dropped > 0 {
		lines = append(lines, fmt.Sprintf("... and %d more errors", es.Dropped))
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the single errors to errors.Is and errors.As.
func (es *Errors) Unwrap() []error {
	out := make([]error, len(es.List))
	for i, e := range es.List {
		out[i] = e
	}
	return out
}

// maxCollected bounds the problems kept before sorting; later ones are only
// counted (a small file with many aliases can repeat one problem widely).
const maxCollected = 1000

// add appends a problem.
func (es *Errors) add(e *Error) {
	if len(es.List) >= maxCollected {
		es.Dropped++
		return
	}
	es.List = append(es.List, e)
}

// NewErrors gathers problems found outside Parse (the mau section's own
// settings, say) as Load reports its own: sorted by position, duplicates
// dropped, at most MaxErrors; nil when there is none.
func NewErrors(list []*Error) error {
	es := &Errors{}
	for _, e := range list {
		es.add(e)
	}
	return es.finish()
}

// finish sorts the problems by position (stable, so problems at one node keep
// their order), drops exact duplicates and caps the list at MaxErrors. It
// returns nil when there is no problem.
func (es *Errors) finish() error {
	if es == nil || len(es.List) == 0 {
		return nil
	}
	slices.SortStableFunc(es.List, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	es.List = slices.CompactFunc(es.List, func(a, b *Error) bool { return *a == *b })
	if len(es.List) > MaxErrors {
		es.Dropped += len(es.List) - MaxErrors
		es.List = es.List[:MaxErrors]
	}
	return es
}
