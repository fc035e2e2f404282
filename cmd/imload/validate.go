package main

import (
	"errors"
	"fmt"

	"github.com/imload/imload/mau"
	"github.com/imload/imload/run"
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
			"and the command exits 2. A scenario with a mau section has its month\n" +
			"simulation checked too and reads \"FILE: ok (month simulation: N users,\n" +
			"K strategies over D days, policy P)\".",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			bad := 0
			for _, file := range args {
				s, err := scenario.Load(file)
				var cfg mau.Config
				if err == nil && s.MAU != nil {
					cfg, err = run.MAUConfig(s) // the month simulation's own settings
				}
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
				if s.MAU != nil {
					fmt.Fprintf(out, "%s: ok (month simulation: %s, %s, policy %s)\n",
						file, count(cfg.Users, "user"), mauPlan(cfg), s.Target.Policy)
					continue
				}
				fmt.Fprintf(out, "%s: ok (%s, %s, policy %s)\n",
					file, count(len(s.Phases), "phase"), count(s.Population.Users, "user"), s.Target.Policy)
			}
			if bad > 0 {
				return withCode(exitBadInput, fmt.Errorf("%d of %d scenario files invalid", bad, len(args)))
			}
			return nil
		},
	}
}

// mauPlan says what a month simulation compares: "4 strategies over 30 days".
func mauPlan(c mau.Config) string {
	days := "the rest of the start month"
	if c.Days > 0 {
		days = fmt.Sprintf("%d days", c.Days)
	}
	n := len(c.Strategies)
	if n == 0 {
		n = len(mau.PresetNames())
	}
	if n == 1 {
		return "1 strategy over " + days
	}
	return fmt.Sprintf("%d strategies over %s", n, days)
}

// count writes n and the noun, plural unless n is 1: "1 phase", "2 phases".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
