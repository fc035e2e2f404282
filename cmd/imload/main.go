// Command imload drives simulated IM clients against a login service and
// reports login latency, kickout correctness and MAU. The command only wires
// flags to the packages.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK        = 0
	exitFailed    = 1 // thresholds failed, or an invalid ticket for `sig verify`
	exitBadInput  = 2 // bad scenario, flag or usage
	exitInterrupt = 130
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "imload",
		Short:         "Load and multi-client simulation harness for IM login systems",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(newVersionCmd(), newSigCmd(), newServeCmd(), newValidateCmd(), newSchemaCmd(), newRunCmd(), newReportCmd(), newMergeCmd(), newCompareCmd())
	return root
}

// profile starts a CPU profile into $IMLOAD_CPUPROFILE when it is set, for
// measuring imload itself (BENCHMARKS.md "Profiling imload itself", with
// $IMLOAD_PPROF: servePprof); the returned func stops it, and
// writes the allocation profile to $IMLOAD_MEMPROFILE when that is set.
func profile() func() {
	stopMem := func() {}
	if p := os.Getenv("IMLOAD_MEMPROFILE"); p != "" {
		stopMem = func() {
			f, err := os.Create(p)
			if err == nil {
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "imload: IMLOAD_MEMPROFILE:", err)
			}
		}
	}
	path := os.Getenv("IMLOAD_CPUPROFILE")
	if path == "" {
		return stopMem
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imload: IMLOAD_CPUPROFILE:", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close(); stopMem() }
}

func main() {
	stopPprof, err := servePprof()
	if err != nil {
		fmt.Fprintln(os.Stderr, "imload:", err)
		os.Exit(exitBadInput)
	}
	stop := profile()
	err = newRoot().Execute()
	stop()
	stopPprof()
	if err == nil {
		return
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(os.Stderr, "imload:", ee.err)
		}
		os.Exit(ee.code)
	}
	fmt.Fprintln(os.Stderr, "imload:", err)
	os.Exit(exitBadInput)
}
