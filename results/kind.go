package results

import "strings"

// MonthTargetPrefix starts the target kind of a month simulation's file
// ("mau-inproc", "mau-ws"): each strategy ran against a fresh embedded
// server over that driver.
const MonthTargetPrefix = "mau-"

// IsMonthRun reports whether f is the results of a month simulation (a
// scenario with a mau section), not of phases that also carry a MAU report.
func IsMonthRun(f *File) bool {
	return f.MAU != nil && strings.HasPrefix(f.Environment.Target.Kind, MonthTargetPrefix)
}
