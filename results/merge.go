package results

import (
	"errors"
	"fmt"

	"github.com/imload/imload/metrics"
)

// Merge combines the files of the shards of one run (same scenario, same
// seed, distinct shards) into one: metrics merge exactly, Started is the
// earliest start, Ended the latest end, Interrupted is set if any shard was
// interrupted, and the environment is the first file's with the CPUs of all.
// Thresholds, Kickout and MAU are left empty: they are verdicts over the
// whole run, to be computed again from the merged data by their owners. The
// files are not changed.
func Merge(files ...*File) (*File, error) {
	if len(files) == 0 {
		return nil, errors.New("results: nothing to merge")
	}
	first := files[0]
	out := &File{Schema: Schema, Environment: first.Environment}
	out.Environment.CPUs = 0
	shards := map[string]int{}
	var ms metrics.Snapshot
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
		if f.Shard != "" {
			if j, dup := shards[f.Shard]; dup {
				return nil, fmt.Errorf("results: files %d and %d are both shard %s of the run", j, n, f.Shard)
			}
			shards[f.Shard] = n
		}
		if i == 0 || f.Started.Before(out.Started) {
			out.Started = f.Started
		}
		if f.Ended.After(out.Ended) {
			out.Ended = f.Ended
		}
		out.Interrupted = out.Interrupted || f.Interrupted
		out.Environment.CPUs += f.Environment.CPUs
		out.MergedFrom += max(f.MergedFrom, 1)
		if err := ms.Merge(f.Metrics); err != nil {
			return nil, fmt.Errorf("results: merging file %d: %w", n, err)
		}
	}
	out.Scenario, out.ScenarioFile, out.Seed = first.Scenario, first.ScenarioFile, first.Seed
	out.Duration = Duration(out.Ended.Sub(out.Started))
	out.Metrics = &ms
	return out, nil
}
