package scenario

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// MaxErrors is how many errors an *Errors keeps; the rest are counted.
const MaxErrors = 25

// Error is one problem in a scenario, at a position of its YAML text.
type Error struct {
	File  string // as given to Load or Parse; may be empty
	Line  int    // 1-based; 0 when the problem has no position
	Col   int    // 1-based
	Field string // path of the field, e.g. "phases[1].rate"; empty for the document
	Msg   string // what is wrong, and what is allowed
}

// Error formats the problem as "file:line:col: field: msg".
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:%d:", e.Line, e.Col)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

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
