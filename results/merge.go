package results

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/imload/imload/check"
	"github.com/imload/imload/mau"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/storm"
)

// Merge combines the files of the shards of one run (same scenario, same
// seed, distinct shards of one split, the same thresholds) into one:
// metrics merge exactly, the kickout verdicts add (check.Report.Merge:
// users are disjoint across shards), the MAU accounting adds (mau.Merge),
// Started is the earliest start, Ended the latest end, Interrupted is set if
// any shard was interrupted, the armed faults' firings add (a fault keeps
// its reason for never firing only while no shard saw it fire), and the environment is the first file's with
// every shard's host, CPUs and target listed (Environment.Shards) and the
// CPUs of each host counted once (files without a host name count as
// hosts of their own). Thresholds are left empty: they are judged again over
// the merged data by their owner, from the expressions of file 1. The
// storms of the shards' timelines merge event by event (storm.Merge). The order
// of files does not change the result; the files are not changed.
func Merge(files ...*File) (*File, error) {
	if len(files) == 0 {
		return nil, errors.New("results: nothing to merge")
	}
	first := files[0]
	out := &File{Schema: Schema, Environment: first.Environment}
	out.Environment.CPUs = 0
	out.Environment.Shards = nil
	hostCPUs := map[string]int{}
	shards := map[string]int{}
	split := "" // the N of the first shard's i/N
	var ms metrics.Snapshot
	var maus []*mau.Report
	var storms [][]storm.Figures
	for i, f := range files {
		n := i + 1
		if f == nil || f.Metrics == nil {
			return nil, fmt.Errorf("results: file %d has no metrics", n)
		}
		if f.Schema != "" && f.Schema != Schema {
			return nil, fmt.Errorf("results: file %d has schema %q, want %q", n, f.Schema, Schema)
		}
		if f.Scenario != first.Scenario || f.Seed != first.Seed {
			return nil, fmt.Errorf("results: file %d is scenario %q with seed %d but file 1 is scenario %q with seed %d: only the shards of one run merge",
				n, f.Scenario, f.Seed, first.Scenario, first.Seed)
		}
		if f.Capacity != nil {
			return nil, fmt.Errorf("results: file %d holds a capacity search, which runs in one process (imload run refuses --shard for it: each step's verdict needs the whole load's latencies): there are no shards to merge", n)
		}
		if len(f.Notes) > 0 {
			return nil, fmt.Errorf("results: file %d: %s", n, strings.Join(f.Notes, "; "))
		}
		if f.Shard != "" {
			if j, dup := shards[f.Shard]; dup {
				return nil, fmt.Errorf("results: files %d and %d are both shard %s of the run", j, n, f.Shard)
			}
			shards[f.Shard] = n
			_, of, _ := strings.Cut(f.Shard, "/")
			if split != "" && of != split {
				return nil, fmt.Errorf("results: file %d is shard %s, but an earlier file is a shard of %s: only the shards of one split merge", n, f.Shard, split)
			}
			split = of
		}
		if (f.Kickout != nil) != (first.Kickout != nil) {
			return nil, fmt.Errorf("results: file %d and file 1 differ in having kickout verdicts (checks.kickout.enabled): merge the shards of one run", n)
		}
		if (f.MAU != nil) != (first.MAU != nil) {
			return nil, fmt.Errorf("results: file %d and file 1 differ in having MAU results: merge the shards of one run", n)
		}
		if (len(f.Storms) > 0) != (len(first.Storms) > 0) {
			return nil, fmt.Errorf("results: file %d and file 1 differ in having storms (events): merge the shards of one run", n)
		}
		if len(f.Storms) > 0 {
			storms = append(storms, f.Storms)
		}
		if !sameExprs(f.Thresholds, first.Thresholds) {
			return nil, fmt.Errorf("results: file %d has other thresholds than file 1: merge the shards of one run", n)
		}
		if f.Kickout != nil {
			if out.Kickout == nil {
				out.Kickout = &check.Report{}
			}
			out.Kickout.Merge(f.Kickout)
		}
		if f.MAU != nil {
			maus = append(maus, f.MAU)
		}
		if i == 0 || f.Started.Before(out.Started) {
			out.Started = f.Started
		}
		if f.Ended.After(out.Ended) {
			out.Ended = f.Ended
		}
		out.Interrupted = out.Interrupted || f.Interrupted
		out.Faults = MergeFaults(out.Faults, f.Faults)
		for _, se := range shardEnvs(f) {
			out.Environment.Shards = append(out.Environment.Shards, se)
			if se.Host == "" {
				out.Environment.CPUs += se.CPUs
			} else {
				hostCPUs[se.Host] = max(hostCPUs[se.Host], se.CPUs)
			}
		}
		out.MergedFrom += max(f.MergedFrom, 1)
		if err := ms.Merge(f.Metrics); err != nil {
			return nil, fmt.Errorf("results: merging file %d: %w", n, err)
		}
	}
	for _, n := range hostCPUs {
		out.Environment.CPUs += n
	}
	slices.SortFunc(out.Environment.Shards, func(a, b ShardEnv) int { return strings.Compare(a.Shard, b.Shard) })
	out.Scenario, out.ScenarioFile, out.Seed = first.Scenario, first.ScenarioFile, first.Seed
	out.Duration = Duration(out.Ended.Sub(out.Started))
	out.Metrics = &ms
	if len(storms) > 0 {
		st, err := storm.Merge(storms...)
		if err != nil {
			return nil, fmt.Errorf("results: %w", err)
		}
		out.Storms = st
	}
	if len(maus) > 0 {
		m, err := mau.Merge(maus...)
		if err != nil {
			return nil, err
		}
		out.MAU = m
	}
	return out, nil
}

// sameExprs reports whether a and b hold the same threshold expressions in
// the same order.
func sameExprs(a, b []Threshold) bool {
	return slices.EqualFunc(a, b, func(x, y Threshold) bool { return x.Expr == y.Expr })
}

// shardEnvs says where the shards of f ran: its own list when f is a merge,
// f itself otherwise.
func shardEnvs(f *File) []ShardEnv {
	if len(f.Environment.Shards) > 0 {
		return f.Environment.Shards
	}
	e := f.Environment
	return []ShardEnv{{Shard: f.Shard, Host: e.Host, CPUs: e.CPUs, Target: e.Target}}
}
