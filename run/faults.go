package run

import (
	"github.com/imload/imload/results"
	"github.com/imload/imload/server"
)

// FaultRecords are the embedded server's armed faults as the results file
// records them.
func FaultRecords(st []server.FaultStats) []results.Fault {
	var out []results.Fault
	for _, x := range st {
		out = append(out, results.Fault{Name: x.Name, Fired: x.Fired, Why: x.Why})
	}
	return out
}
