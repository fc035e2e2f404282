package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/imload/imload/caprun"
	"github.com/imload/imload/event"
	"github.com/imload/imload/failfast"
	"github.com/imload/imload/maurun"
	"github.com/imload/imload/report"
	"github.com/imload/imload/results"
	"github.com/imload/imload/run"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/server"
)

func newRunCmd() *cobra.Command {
	var (
		out         string
		faults      []string
		seed        int64
		quiet       bool
		statusEvery time.Duration
		dist        distFlags
		baseline    baselineFlags
		storms      stormFlags
	)
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run a scenario (against the embedded reference server unless it names a target URL)",
		Long: `Run a scenario: devices arrive as its phases say, log in, churn, switch accounts,
lose their network and let tickets expire. Progress is shown while it runs; at
the end a summary is printed, the kickout oracle's verdicts, the thresholds, and
the results file is written (atomically, also when interrupted with Ctrl-C).

Exit codes: 0 every threshold passed, 1 a threshold failed (or an armed
--fault never fired: the check it exists to prove was not exercised; a shard
only warns, its merge judges), 2 bad scenario or usage, or a run that stopped
at once because its first operations all failed the same way, 130
interrupted (results still written). With --baseline BASE.json the run
is compared with BASE at its end (as imload compare does) and a regression beyond
the tolerances also exits 1.`,
		Args: exactlyOneFile("imload run scenarios/quickstart.yaml"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := server.ParseFaults(faults); err != nil {
				return withCode(exitBadInput, fmt.Errorf("--fault: %w", err))
			}
			sc, err := scenario.Load(args[0])
			if err != nil {
				return withCode(exitBadInput, err)
			}
			if cmd.Flags().Changed("seed") {
				sc.Seed = seed
			}
			shard, err := dist.apply(sc)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			baseline.useScenario(sc)
			if err := baseline.load(); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			stdout := cmd.OutOrStdout()
			stderr := cmd.ErrOrStderr()
			opts := run.Options{
				Scenario:    sc,
				Faults:      faults,
				Out:         out,
				Progress:    stderr,
				TTY:         isTerminal(stderr),
				StatusEvery: statusEvery,
				Version:     versionString(),
				Log:         stderr,
				Shard:       shard,
				MetricsAddr: dist.metricsAddr,
				// how long /metrics outlives the run
				MetricsLinger: dist.metricsLinger,
			}
			if quiet {
				opts.Progress = nil
			}
			if err := storms.apply(sc, &opts); err != nil {
				return withCode(exitBadInput, err)
			}
			fmt.Fprintf(stderr, "imload: running %s (seed %d%s)\n", sc.File, sc.Seed, shardNote(shard))
			execute := run.Execute
			switch {
			case sc.Capacity != nil:
				execute = caprun.Execute // a search of steps, each a run
			case sc.MAU != nil:
				execute = maurun.Execute // a month simulation instead of phases
			}
			res, err := execute(ctx, opts)
			if err != nil {
				if res == nil {
					return withCode(exitBadInput, err)
				}
				return withCode(exitFailed, err)
			}
			if err := report.WriteTextWithNote(stdout, res.File, misbehaveNote(sc, res.File)); err != nil {
				return err
			}
			if out != "" {
				fmt.Fprintf(stdout, "\nresults: %s\n", out)
			}
			regressed, err := baseline.compareRun(stdout, res.File, out)
			if err != nil {
				return err
			}
			var mis *failfast.Misconfigured
			switch {
			case errors.As(res.Aborted, &mis):
				return withCode(exitBadInput, fmt.Errorf("run ended early: %s", mis.Diagnosis))
			case res.Aborted != nil:
				return withCode(exitFailed, fmt.Errorf("run aborted: %s", res.Aborted))
			case res.File.Interrupted:
				return withCode(exitInterrupt, errors.New("interrupted; partial results written"))
			case !res.Passed:
				return withCode(exitFailed, errors.New("thresholds failed"))
			case regressed:
				return withCode(exitFailed, errors.New("regressed against the baseline"))
			case shard.Whole():
				if err := unfiredError(res.File); err != nil {
					return withCode(exitFailed, err)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "results.json", "results file to write (empty: none)")
	f.StringArrayVar(&faults, "fault", nil, "turn on a fault of the embedded server (repeatable): "+faultList())
	f.Int64Var(&seed, "seed", 0, "override the scenario's seed")
	f.BoolVarP(&quiet, "quiet", "q", false, "no live progress")
	f.DurationVar(&statusEvery, "status-every", 5*time.Second, "interval of status lines when output is not a terminal")
	dist.register(f)
	baseline.register(f)
	storms.register(f)
	return cmd
}

// misbehaveNote is the line that heads the summary of a run whose devices
// broke the client rules on purpose ("": none did), so that what they
// caused is not read as the target's doing.
func misbehaveNote(sc *scenario.Scenario, f *results.File) string {
	m := sc.Behaviour.Misbehave
	var parts []string
	for _, x := range []struct {
		name string
		frac float64
	}{{"login_storm", m.LoginStorm}, {"login_while_logining", m.LoginWhileLogin}, {"retry_any_error", m.RetryAnyError}} {
		if x.frac > 0 {
			parts = append(parts, fmt.Sprintf("%s %.4g%%", x.name, 100*x.frac))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	n := int64(0)
	if f.Metrics != nil {
		n = f.Metrics.EventCount(event.Misbehaving.String(), "")
	}
	return fmt.Sprintf("this run used misbehaving clients: %s of the devices (%d misbehaving events); errors and kicks they cause are theirs, not the target's\n",
		strings.Join(parts, ", "), n)
}

func faultList() string {
	s := ""
	for i, n := range scenario.Faults() {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// unfiredError says which armed faults never fired (nil: each fired, or
// none was armed). Such a run proves nothing about the check the fault
// exists to exercise, so it does not pass.
func unfiredError(f *results.File) error {
	var names []string
	for _, x := range results.Unfired(f) {
		names = append(names, x.Name)
	}
	if len(names) == 0 {
		return nil
	}
	return fmt.Errorf("fault %s armed but never fired: the run did not exercise what it was meant to check", strings.Join(names, ", "))
}
