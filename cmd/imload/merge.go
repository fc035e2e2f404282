package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/imload/imload/report"
	"github.com/imload/imload/results"
	"github.com/imload/imload/run"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/shard"
)

// distFlags are the flags of `imload run` for runs beyond one process:
// shards, the target URL, live Prometheus metrics.
type distFlags struct {
	shard         string
	shards        int
	target        string
	keyEnv        string
	metricsAddr   string
	metricsLinger time.Duration
}

// jobIndexEnv is set by a Kubernetes Indexed Job to the pod's index.
const jobIndexEnv = "JOB_COMPLETION_INDEX"

func (d *distFlags) register(f *pflag.FlagSet) {
	f.StringVar(&d.shard, "shard", "", "run shard i of N (i/N, from 0): users ≡ i mod N, 1/N of the arrival rate and devices; merge the results with imload merge")
	f.IntVar(&d.shards, "shards", 0, "run one of N shards, its index taken from $"+jobIndexEnv+" (Kubernetes Indexed Jobs)")
	f.StringVar(&d.target, "target", "", "drive this URL (ws://host:port/v1/ws) instead of the scenario's target; the key comes from --key-env or the scenario's target.key_env or key_file")
	f.StringVar(&d.keyEnv, "key-env", "", "environment variable holding the app's secret key (overrides the scenario's target.key_env and key_file)")
	f.StringVar(&d.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics during the run (e.g. 127.0.0.1:9100)")
	f.DurationVar(&d.metricsLinger, "metrics-linger", 0, "keep serving /metrics this long after the run, so a last scrape sees the final figures")
}

// apply sets the target URL on sc and returns the shard to run.
func (d *distFlags) apply(sc *scenario.Scenario) (shard.Shard, error) {
	if d.target != "" {
		u, err := url.Parse(d.target)
		if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			return shard.Shard{}, fmt.Errorf("--target %q: want a WebSocket URL such as ws://127.0.0.1:9000/v1/ws", d.target)
		}
		if err := scenario.CheckDriver(sc.Target.Driver, true); err != nil {
			return shard.Shard{}, fmt.Errorf("--target: the scenario's target.driver: %w; drop target.driver or --target", err)
		}
		sc.Target.URL = d.target
	}
	if d.keyEnv != "" {
		sc.Target.KeyEnv, sc.Target.KeyFile = d.keyEnv, ""
	}
	if d.metricsLinger < 0 {
		return shard.Shard{}, fmt.Errorf("--metrics-linger must be 0s or more, got %s", d.metricsLinger)
	}
	switch {
	case d.shard != "" && d.shards != 0:
		return shard.Shard{}, errors.New("--shard and --shards both given: give --shard i/N, or --shards N with the index in $" + jobIndexEnv)
	case d.shard != "":
		sh, err := shard.Parse(d.shard)
		if err != nil {
			return shard.Shard{}, fmt.Errorf("--shard: %w", err)
		}
		return sh, nil
	case d.shards != 0:
		if d.shards < 1 {
			return shard.Shard{}, fmt.Errorf("--shards must be at least 1, got %d", d.shards)
		}
		v, ok := os.LookupEnv(jobIndexEnv)
		if !ok || strings.TrimSpace(v) == "" {
			return shard.Shard{}, fmt.Errorf("--shards %d needs the shard index in $%s (a Kubernetes Indexed Job sets it), or use --shard i/N", d.shards, jobIndexEnv)
		}
		i, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return shard.Shard{}, fmt.Errorf("$%s=%q: want a whole number from 0 to %d", jobIndexEnv, v, d.shards-1)
		}
		sh := shard.Shard{Index: i, Count: d.shards}
		if err := sh.Validate(); err != nil {
			return shard.Shard{}, fmt.Errorf("$%s with --shards: %w", jobIndexEnv, err)
		}
		return sh, nil
	}
	return shard.Shard{}, nil
}

// shardNote is ", shard i/N" for a shard, "" for a whole run.
func shardNote(s shard.Shard) string {
	if s.Whole() {
		return ""
	}
	return ", shard " + s.String()
}

func newMergeCmd() *cobra.Command {
	var (
		out   string
		quiet bool
	)
	cmd := &cobra.Command{
		Use:   "merge FILE...",
		Short: "Merge the results files of the shards of one run into one",
		Long: `merge combines the results files of the shards of one run (imload run
--shard i/N, same scenario and seed) into one results file: histograms and
counters merge exactly, the kickout oracle's verdicts and the MAU accounting
add up (every user belongs to one shard), and the thresholds are judged again
over the merged data. The order of the files does not matter.

The merged file goes to -o, or to standard output; the summary goes to
standard output with -o, to standard error otherwise (none with --quiet).

Exit codes: 0 every threshold passed, 1 a threshold failed or an armed fault
never fired in any shard, 2 files that do not merge (other scenario or seed, the same shard twice, unreadable).`,
		Example: "  imload merge shard-0.json shard-1.json shard-2.json shard-3.json -o all.json",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files := make([]*results.File, 0, len(args))
			for _, a := range args {
				f, err := results.ReadFile(a)
				if err != nil {
					return withCode(exitBadInput, err)
				}
				files = append(files, f)
			}
			res, err := run.MergeFiles(files...)
			if err != nil {
				return withCode(exitBadInput, fmt.Errorf("merge: %w", err))
			}
			summary := cmd.ErrOrStderr()
			if out != "" {
				if err := results.WriteFile(out, res.File); err != nil {
					return withCode(exitFailed, err)
				}
				summary = cmd.OutOrStdout()
			} else {
				c := *res.File
				c.Environment.Target.URL = results.RedactURL(c.Environment.Target.URL)
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(&c); err != nil {
					return withCode(exitFailed, err)
				}
			}
			if n, missing := missingShards(files); len(missing) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "imload merge: warning: shards %s of %d are missing: the merged run covers only part of the users\n", joinInts(missing), n)
			}
			if !quiet {
				if err := writeMergeSummary(summary, res, out); err != nil {
					return err
				}
			}
			if !res.Passed {
				return withCode(exitFailed, errors.New("thresholds failed"))
			}
			if err := unfiredError(res.File); err != nil {
				return withCode(exitFailed, err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "merged results file to write (default: standard output)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no summary")
	return cmd
}

func writeMergeSummary(w io.Writer, res *run.Outcome, out string) error {
	if err := report.WriteText(w, res.File); err != nil {
		return err
	}
	if out != "" {
		fmt.Fprintf(w, "\nmerged %d shard files: %s\n", res.File.MergedFrom, out)
	}
	return nil
}

// missingShards returns N and the indexes of the shards of N that no file
// holds (none when the files are not shards).
func missingShards(files []*results.File) (int, []int) {
	n, seen := 0, map[int]bool{}
	for _, f := range files {
		sh, err := shard.Parse(f.Shard)
		if f.Shard == "" || err != nil {
			return 0, nil // merged or whole files: nothing to tell
		}
		n = sh.Count
		seen[sh.Index] = true
	}
	var missing []int
	for i := 0; i < n; i++ {
		if !seen[i] {
			missing = append(missing, i)
		}
	}
	sort.Ints(missing)
	return n, missing
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

// fromScenario fills the serve flags not given on the command line from the
// target of the scenario named by --scenario, so that a server started for
// shards enforces what the scenario's oracle checks.
func (f *serveFlags) fromScenario(cmd *cobra.Command) error {
	if f.scenario == "" {
		return nil
	}
	sc, err := scenario.Load(f.scenario)
	if err != nil {
		return withCode(exitBadInput, fmt.Errorf("--scenario: %w", err))
	}
	t := &sc.Target
	fl := cmd.Flags()
	if !fl.Changed("sdkappid") {
		f.sdkappid = t.SDKAppID
	}
	if !fl.Changed("admin") && t.Admin != "" {
		f.admin = t.Admin
	}
	if !fl.Changed("policy") && !fl.Changed("instances") && !fl.Changed("web-instances") {
		switch {
		case t.PolicyFile != "":
			f.policy = t.PolicyFile
		case t.Policy != "":
			f.policy, f.instances, f.webInstances = t.Policy, t.Instances, t.WebInstances
		}
	}
	if !fl.Changed("key-env") && !fl.Changed("key-file") {
		f.keyEnv, f.keyFile = t.KeyEnv, t.KeyFile
	}
	f.faults = append(append([]string(nil), t.Faults...), f.faults...)
	if sv := t.Service; sv != nil {
		if !fl.Changed("login-workers") && !fl.Changed("login-cost") {
			f.service.Workers, f.service.LoginCost = sv.Workers, sv.LoginCost.D()
		}
		if !fl.Changed("max-sessions") {
			f.service.MaxSessions = sv.MaxSessions
		}
	}
	return nil
}
