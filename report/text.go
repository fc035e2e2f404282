package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/imload/imload/check"
	"github.com/imload/imload/mau"
	"github.com/imload/imload/results"
)

// Verdicts holds the sections that a results file carries as raw JSON,
// decoded with their owners' types.
type Verdicts struct {
	Kickout *check.Report // nil when the file has none
	MAU     *mau.Report   // nil when the file has none
	// Notes say which sections were present but could not be read; the
	// renderers show them instead of the section.
	Notes []string
}

// DecodeVerdicts decodes the kickout and MAU sections of f. A section that
// does not decode is left nil and explained in Notes, so a report still
// shows everything else.
func DecodeVerdicts(f *results.File) Verdicts {
	var v Verdicts
	if len(f.Kickout) > 0 && string(f.Kickout) != "null" {
		var r check.Report
		if err := json.Unmarshal(f.Kickout, &r); err != nil {
			v.Notes = append(v.Notes, fmt.Sprintf("kickout section left out: %v", err))
		} else {
			v.Kickout = &r
		}
	}
	if len(f.MAU) > 0 && string(f.MAU) != "null" {
		var r mau.Report
		if err := json.Unmarshal(f.MAU, &r); err != nil {
			v.Notes = append(v.Notes, fmt.Sprintf("mau section left out: %v", err))
		} else {
			v.MAU = &r
		}
	}
	return v
}

// WriteText prints the terminal report of f: the summary of package results,
// then the kickout oracle's verdicts and the MAU strategies when f has them.
func WriteText(w io.Writer, f *results.File) error {
	if err := results.WriteSummary(w, f); err != nil {
		return err
	}
	v := DecodeVerdicts(f)
	if v.Kickout != nil {
		if _, err := fmt.Fprintln(w); err != nil {
			return err
		}
		if err := v.Kickout.WriteText(w); err != nil {
			return err
		}
	}
	if v.MAU != nil {
		if _, err := fmt.Fprintln(w); err != nil {
			return err
		}
		if err := v.MAU.WriteText(w); err != nil {
			return err
		}
	}
	for _, n := range v.Notes {
		if _, err := fmt.Fprintf(w, "\nnote: %s\n", n); err != nil {
			return err
		}
	}
	return nil
}
