// Package caprun runs a scenario's capacity section: the search of package
// capacity, whose every step is an ordinary run (run.Execute) of the
// scenario at the step's load, then measured over its window
// (capacity.Window) and judged by the scenario's thresholds, its SLO. The
// thresholds on the capacity metrics judge the search's answer once it has
// ended, never a step. cmd/imload calls Execute for a scenario with a
// capacity section.
//
// caprun sits above run: it imports run, and nothing of imload imports it
// but cmd/imload.
package caprun
