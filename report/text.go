package report

import (
	"fmt"
	"io"

	"github.com/imload/imload/check"
	"github.com/imload/imload/mau"
	"github.com/imload/imload/results"
)

// Verdicts holds the sections of a results file beyond its metrics.
type Verdicts struct {
	Kickout *check.Report // nil when the file has none
	MAU     *mau.Report   // nil when the file has none
	// Notes say which sections were present but could not be read; the
	// renderers show them instead of the section.
	Notes []string
}

// DecodeVerdicts returns the kickout and MAU sections of f, and the notes
// on the sections that did not decode when f was read (results.File.Notes),
// so a report still shows everything else.
func DecodeVerdicts(f *results.File) Verdicts {
	return Verdicts{Kickout: f.Kickout, MAU: f.MAU, Notes: f.Notes}
}

// WriteText prints the terminal report of f: the summary of package results,
// then the kickout oracle's verdicts and the MAU strategies when f has them.
// It is the one writer of a run's terminal report: imload run, merge and
// report all print with it.
func WriteText(w io.Writer, f *results.File) error { return WriteTextWithNote(w, f, "") }

// WriteTextWithNote is WriteText with a note of the caller's (e.g. that the
// run used misbehaving clients) printed after the warnings that open the
// report (an armed fault that never fired, a lagging generator) and before
// the summary.
func WriteTextWithNote(w io.Writer, f *results.File, note string) error {
	for _, line := range results.FaultWarnings(f) {
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	if err := writeLagged(w, f.Generator); err != nil {
		return err
	}
	if note != "" {
		if _, err := fmt.Fprintln(w, note); err != nil {
			return err
		}
	}
	if err := results.WriteSummary(w, f); err != nil {
		return err
	}
	if err := writeGenerator(w, f.Generator); err != nil {
		return err
	}
	if err := writeCapacity(w, f.Capacity); err != nil {
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
	if len(f.Storms) > 0 {
		if _, err := fmt.Fprintln(w); err != nil {
			return err
		}
		if err := writeStorms(w, f.Storms); err != nil {
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
