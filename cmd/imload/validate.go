package main

import (
	"errors"
	"fmt"

	"github.com/imload/imload/scenario"
	"github.com/spf13/cobra"
)

// newValidateCmd checks scenario files without running them.
func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenario files and report every problem with file:line:col",
		Long: "Validate loads each scenario file as `imload run` would and prints\n" +
			"\"FILE: ok (N phases, M users, policy P)\" for a valid one. For an invalid\n" +
			"one it prints every problem to stderr as file:line:col: field: message,\n" +
			"and the command exits 2.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			bad := 0
			for _, file := range args {
				s, err := scenario.Load(file)
				if err != nil {
					bad++
					var es *scenario.Errors
					if errors.As(err, &es) {
						fmt.Fprintln(errOut, es.Error())
					} else {
						fmt.Fprintf(errOut, "%s: %v\n", file, err)
					}
					continue
				}
				fmt.Fprintf(out, "%s: ok (%d phases, %d users, policy %s)\n",
					file, len(s.Phases), s.Population.Users, s.Target.Policy)
			}
			if bad > 0 {
				return withCode(exitBadInput, fmt.Errorf("%d of %d scenario files invalid", bad, len(args)))
			}
			return nil
		},
	}
}
