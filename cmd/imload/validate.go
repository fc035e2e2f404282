package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/imload/imload/mau"
	"github.com/imload/imload/maurun"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/policy/policyfile"
	"github.com/imload/imload/scenario"
	"github.com/spf13/cobra"
)

// newValidateCmd checks scenario and policy files without running them.
func newValidateCmd() *cobra.Command {
	var policyFiles bool
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenario and policy files and report every problem with file:line:col",
		Long: "Validate loads each scenario file as `imload run` would and prints\n" +
			"\"FILE: ok (N phases, M users, policy P)\" for a valid one. For an invalid\n" +
			"one it prints every problem to stderr as file:line:col: field: message,\n" +
			"and the command exits 2. A scenario with a mau section has its month\n" +
			"simulation checked too and reads \"FILE: ok (month simulation: N users,\n" +
			"K strategies over D days, policy P)\".\n\n" +
			"A policy file (docs/POLICY.md) is checked as one: a file whose keys are all\n" +
			"keys of a policy file, name among them, is taken for one; --policy takes\n" +
			"every file for one. A valid policy file reads \"FILE: ok (policy P: what it\n" +
			"limits)\".",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			bad, policies := 0, 0
			for _, file := range args {
				if policyFile(file, policyFiles) {
					policies++
					pol, err := policyfile.LoadFile(file)
					if err != nil {
						bad++
						fmt.Fprintln(errOut, err)
						continue
					}
					fmt.Fprintf(out, "%s: ok (policy %s: %s)\n", file, pol.Name, policySummary(pol))
					continue
				}
				s, err := scenario.Load(file)
				var cfg mau.Config
				if err == nil && s.MAU != nil {
					cfg, err = maurun.Config(s) // the month simulation's own settings
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
				kind := "scenario files"
				switch {
				case policies == len(args):
					kind = "policy files"
				case policies > 0:
					kind = "files"
				}
				return withCode(exitBadInput, fmt.Errorf("%d of %d %s invalid", bad, len(args), kind))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&policyFiles, "policy", false, "check every FILE as a policy file (docs/POLICY.md)")
	return cmd
}

// policyFile says whether file is to be checked as a policy file: always
// with force, else when it reads as one (policyfile.Looks). A file that
// cannot be read is left to scenario.Load, which says why.
func policyFile(file string, force bool) bool {
	if force {
		return true
	}
	data, err := os.ReadFile(file)
	return err == nil && policyfile.Looks(data)
}

// policySummary says what a policy limits, in a few words: "no limits",
// "per platform 1 (Web 10); groups native: 1 platform; ...".
func policySummary(pol *policy.Policy) string {
	var parts []string
	var caps []string
	for _, p := range policy.Platforms {
		if n, ok := pol.PerPlatform[p]; ok && n != pol.DefaultPerPlatform {
			caps = append(caps, fmt.Sprintf("%s %s", p, capText(n)))
		}
	}
	if pol.DefaultPerPlatform > 0 || len(caps) > 0 {
		s := "per platform at most " + capText(pol.DefaultPerPlatform)
		if len(caps) > 0 {
			s += " (" + strings.Join(caps, ", ") + ")"
		}
		parts = append(parts, s)
	}
	for _, g := range pol.Groups {
		var lim []string
		if g.MaxPlatforms > 0 {
			lim = append(lim, count(g.MaxPlatforms, "platform"))
		}
		if g.MaxInstances > 0 {
			lim = append(lim, count(g.MaxInstances, "session"))
		}
		parts = append(parts, fmt.Sprintf("group %s of %s: at most %s", g.Name, count(len(g.Platforms), "platform"), strings.Join(lim, " and ")))
	}
	if len(parts) == 0 {
		parts = append(parts, "no limits")
	}
	if pol.ReplaceSameInstance {
		parts = append(parts, "a login on an online instance replaces it")
	}
	parts = append(parts, "on conflict "+pol.OnConflict.String())
	return strings.Join(parts, "; ")
}

func capText(n int) string {
	if n == 0 {
		return "no cap"
	}
	return fmt.Sprint(n)
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
