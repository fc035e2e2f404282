package compare

import "testing"

// quick says to run the statistical tests with fewer trials: with -short,
// and under the race detector (which checks the same code, not the
// statistics, and would take many minutes on two cores).
func quick() bool { return testing.Short() || raceEnabled }
