package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/imload/imload/compare"
	"github.com/imload/imload/report"
	"github.com/imload/imload/results"
	"github.com/imload/imload/scenario"
)

// compareFlags are the options of a comparison, shared by `imload compare`
// and `imload run --baseline`.
type compareFlags struct {
	tolerances []string
	seed       uint64
	resamples  int
	confidence float64
	block      int
	jsonOut    string
	htmlOut    string
	platforms  bool
	keepLagged bool
	// fromScenario are the tolerances of a scenario's compare section;
	// the command line's come after them and win for the same figure.
	fromScenario []compare.Tolerance
}

// useScenario takes the tolerances of sc's compare section.
func (c *compareFlags) useScenario(sc *scenario.Scenario) {
	if sc != nil && sc.Compare != nil {
		c.fromScenario = sc.Compare.Tolerances
	}
}

func (c *compareFlags) register(f *pflag.FlagSet, prefix string) {
	f.StringArrayVar(&c.tolerances, prefix+"max-regression", nil,
		"tolerances, comma-separated or repeated: [OP.]STAT=N% (pp for errors.rate) or off, e.g. login.p99=10%,errors.rate=0.05pp")
	f.Uint64Var(&c.seed, prefix+"compare-seed", compare.DefaultSeed, "seed of the bootstrap")
	f.IntVar(&c.resamples, prefix+"resamples", compare.DefaultResamples, "bootstrap resamples")
	f.Float64Var(&c.confidence, prefix+"confidence", compare.DefaultConfidence, "confidence level of the intervals")
	f.IntVar(&c.block, prefix+"block", 0, "bootstrap block length in seconds (0: round(sqrt(seconds of the run)))")
	f.StringVar(&c.jsonOut, prefix+"compare-json", "", "write the comparison as JSON to `FILE` (- for stdout)")
	f.StringVar(&c.htmlOut, prefix+"compare-html", "", "write the comparison as a self-contained HTML page to `FILE`")
	f.BoolVar(&c.platforms, prefix+"platforms", false, "also print the per-platform rows (point values)")
	f.BoolVar(&c.keepLagged, prefix+"keep-lagged", false, "keep the seconds in which a run's generator lagged (left out by default: their latencies hold imload's own delay)")
}

func (c *compareFlags) options() (compare.Options, error) {
	o := compare.Options{Seed: c.seed, Resamples: c.resamples, Confidence: c.confidence, Block: c.block, KeepLagged: c.keepLagged}
	if c.resamples < 1 {
		return o, fmt.Errorf("--resamples must be at least 1, got %d", c.resamples)
	}
	if !(c.confidence > 0 && c.confidence < 1) {
		return o, fmt.Errorf("--confidence must be between 0 and 1, got %v", c.confidence)
	}
	if c.block < 0 {
		return o, fmt.Errorf("--block must be 0 (the rule) or a number of seconds, got %d", c.block)
	}
	o.Tolerances = append(o.Tolerances, c.fromScenario...)
	for _, s := range c.tolerances {
		ts, err := compare.ParseTolerances(s)
		if err != nil {
			return o, fmt.Errorf("--max-regression %q: %w", s, err)
		}
		o.Tolerances = append(o.Tolerances, ts...)
	}
	return o, nil
}

// run compares and writes the outputs; regressed reports a regression
// beyond the tolerances. Errors are bad usage or input (exit 2) unless
// they are writing errors, returned with their exit code.
func (c *compareFlags) run(stdout io.Writer, base, next []compare.Run) (regressed bool, err error) {
	o, err := c.options()
	if err != nil {
		return false, withCode(exitBadInput, err)
	}
	res, err := compare.Compare(base, next, o)
	if err != nil {
		return false, withCode(exitBadInput, err)
	}
	if c.jsonOut == "-" {
		err = compare.WriteJSON(stdout, res)
	} else {
		err = compare.WriteText(stdout, res, compare.TextOptions{Platforms: c.platforms})
		if err == nil && c.jsonOut != "" {
			err = writeFileWith(c.jsonOut, func(w io.Writer) error { return compare.WriteJSON(w, res) })
		}
	}
	if err == nil && c.htmlOut != "" {
		if err = report.WriteCompareHTMLFile(c.htmlOut, res); err == nil && c.jsonOut != "-" {
			fmt.Fprintf(stdout, "html: %s\n", c.htmlOut)
		}
	}
	if err != nil {
		return false, withCode(exitFailed, err)
	}
	return res.Regressions > 0, nil
}

func writeFileWith(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readRuns(paths []string) ([]compare.Run, error) {
	var out []compare.Run
	for _, p := range paths {
		f, err := results.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, compare.Run{Name: p, File: f})
	}
	return out, nil
}

func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func newCompareCmd() *cobra.Command {
	var (
		cf           compareFlags
		base, next   []string
		scenarioFile string
	)
	cmd := &cobra.Command{
		Use:   "compare BASE.json NEW.json | compare --base A.json,B.json --new C.json,D.json",
		Short: "Compare runs: did NEW get slower than BASE? Intervals, verdicts, exit 1 on a regression",
		Long: `Compare reads results files of the same scenario, BASE and NEW (one a side as
arguments, or several replicate runs a side with --base and --new, comma-separated
or repeated), and prints for each operation p50, p90, p99, p99.9, max, the error
rate and the throughput (ok/s) of both, the change (NEW/BASE as a percentage;
NEW-BASE in percentage points for the error rate) and its confidence interval
from a circular block bootstrap over the per-second series: blocks of
round(sqrt(n)) consecutive seconds (or --block), resampled with replacement; the
per-second histograms of the resampled seconds are merged and the figure taken
from the merge. The bootstrap is seeded (--compare-seed): the same files give
the same answer. With two runs or more a side a Mann-Whitney U test over the
per-run values also has to agree.

A verdict per figure: regressed when the whole interval lies beyond the
tolerance on the bad side, improved when beyond it on the good side, no change
otherwise. Default tolerances: 5% for the quantiles and the throughput, 25% for
max, 0.1pp for errors.rate; --max-regression overrides them:
  login.p99=10%      one operation's figure
  p99=5%             every operation's p99
  errors.rate=0.05pp the error rate, in percentage points
  logout.max=off     shown, not gated
A scenario's compare section (compare: {max_regression: [login.p99=10%]}) gives
tolerances too, read with --scenario FILE (and by imload run --baseline from the
scenario it runs); --max-regression wins over them for the same figure.

The seconds in which a run's generator lagged (its scheduler or pacer late by
more than 50 ms at p99, in the second or the one before) are left out on both
sides, with a warning (--keep-lagged keeps them): their latencies hold imload's
own delay.

Runs of different scenarios are refused; other differences the files record
(seed, target, imload version, CPUs, ...) are listed.

Exit codes: 0 no regression, 1 a regression beyond its tolerance, 2 bad usage
or input (also runs of different scenarios).`,
		Example: "  imload compare base.json new.json\n" +
			"  imload compare --base b1.json,b2.json,b3.json --new n1.json,n2.json,n3.json --max-regression login.p99=10%\n" +
			"  imload compare base.json new.json --compare-json cmp.json --compare-html cmp.html",
		RunE: func(cmd *cobra.Command, args []string) error {
			bs, ns := splitList(base), splitList(next)
			switch {
			case len(bs) == 0 && len(ns) == 0 && len(args) == 2:
				bs, ns = args[:1], args[1:]
			case len(args) == 0 && len(bs) > 0 && len(ns) > 0:
			default:
				return withCode(exitBadInput, errors.New("give BASE.json NEW.json, or --base FILES --new FILES (not both)"))
			}
			if scenarioFile != "" {
				sc, err := scenario.Load(scenarioFile)
				if err != nil {
					return withCode(exitBadInput, err)
				}
				cf.useScenario(sc)
			}
			b, err := readRuns(bs)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			n, err := readRuns(ns)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			regressed, err := cf.run(cmd.OutOrStdout(), b, n)
			if err != nil {
				return err
			}
			if regressed {
				return withCode(exitFailed, errors.New("regressed beyond the tolerances"))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&base, "base", nil, "BASE results files (comma-separated or repeated)")
	f.StringArrayVar(&next, "new", nil, "NEW results files (comma-separated or repeated)")
	f.StringVar(&scenarioFile, "scenario", "", "take tolerances from this scenario's compare section (`FILE`); --max-regression wins over them")
	cf.register(f, "")
	return cmd
}

// baselineFlags is `imload run --baseline`: the run is compared with the
// baseline results at its end.
type baselineFlags struct {
	path string
	compareFlags
	base []compare.Run
}

func (b *baselineFlags) register(f *pflag.FlagSet) {
	f.StringVar(&b.path, "baseline", "", "compare the run with these results at its end (`BASE.json`); a regression exits 1 (see imload compare)")
	b.compareFlags.register(f, "")
}

// load reads the baseline before the run, so a bad path fails at once.
func (b *baselineFlags) load() error {
	if b.path == "" {
		return nil
	}
	if _, err := b.options(); err != nil {
		return withCode(exitBadInput, err)
	}
	runs, err := readRuns([]string{b.path})
	if err != nil {
		return withCode(exitBadInput, fmt.Errorf("--baseline: %w", err))
	}
	b.base = runs
	return nil
}

// compareRun compares the finished run f (written to out) with the
// baseline; regressed reports a regression.
func (b *baselineFlags) compareRun(w io.Writer, f *results.File, out string) (regressed bool, err error) {
	if b.path == "" {
		return false, nil
	}
	fmt.Fprintln(w)
	return b.run(w, b.base, []compare.Run{{Name: cmpOr(out, "this run"), File: f}})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
