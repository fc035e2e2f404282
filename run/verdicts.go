package run

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/imload/imload/judge/eval"
	"github.com/imload/imload/results"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/shard"
)

// Verdicts of runs that are not one whole run: a shard, a run cut short.

// shardThresholds returns the thresholds a shard judges: a count, which a
// shard measures about 1/N of, at 1/N of its value, with a note saying so;
// everything else (latencies, rates of errors, per-second rates of one
// shard's share) as written. The merge judges every threshold as written
// over the merged file (MergeFiles), so a shard and its merge agree unless
// the shards' shares differ enough to fall on either side of 1/N.
func shardThresholds(ths []scenario.Threshold, sh shard.Shard) ([]scenario.Threshold, []string) {
	out := make([]scenario.Threshold, len(ths))
	notes := make([]string, len(ths))
	copy(out, ths)
	if sh.Whole() {
		return out, notes
	}
	for i, th := range ths {
		if !th.Monotone() {
			continue
		}
		out[i].Value = th.Value / float64(sh.Count)
		notes[i] = fmt.Sprintf("judged at %s in shard %s: 1/%d of %s; the merge judges %s", strconv.FormatFloat(out[i].Value, 'f', -1, 64), sh, sh.Count, th.Text, th.Text)
	}
	return out, notes
}

// annotate adds the notes of shardThresholds to the verdicts and, for a run
// cut short (cut: "interrupted", "aborted"; "": not cut short), leaves the
// counts that part of a run cannot decide not judged: a count still below
// a lower bound may reach it, one within an upper bound is not known to
// stay there. A count the part already decides keeps its verdict.
func annotate(out []results.Threshold, ths []scenario.Threshold, notes []string, cut string) {
	for i := range out {
		out[i].Note = notes[i]
		if cut != "" && out[i].Error == "" && ths[i].Monotone() && !ths[i].Settled(out[i].Actual) {
			out[i].Pass, out[i].NotJudged = false, cut
		}
	}
}

// cutShort names how a run ended before its phases did ("": it did not).
func cutShort(interrupted bool, aborted error) string {
	switch {
	case interrupted:
		return "interrupted"
	case aborted != nil:
		return "aborted"
	}
	return ""
}

// ThresholdFailed is why a run was aborted by an abort_on_fail threshold.
type ThresholdFailed struct {
	Expr   string
	Actual string
}

func (e *ThresholdFailed) Error() string {
	return fmt.Sprintf("threshold %s failed (actual %s)", e.Expr, e.Actual)
}

// abortEvery is how often the abort_on_fail thresholds are checked.
const abortEvery = time.Second

// watchAborts checks the abort_on_fail thresholds among ths against the
// recorder every abortEvery until ctx ends, and aborts the run at the first
// that fails: a count bounded from above when it crosses (it can no longer
// pass), any other metric when it fails on the figures so far. The returned
// function stops the watch and waits for it.
func (r *phases) watchAborts(ctx context.Context, ths []scenario.Threshold) (stop func()) {
	var watched []scenario.Threshold
	for _, th := range ths {
		if th.AbortOnFail {
			watched = append(watched, th)
		}
	}
	if len(watched) == 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(abortEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			in := eval.Inputs{Metrics: r.rec.Snapshot()}
			for _, th := range watched {
				v, err := eval.Value(th, in)
				if err != nil || th.Eval(v) {
					continue // nothing to judge yet, or passing so far
				}
				r.abort(&ThresholdFailed{Expr: th.String(), Actual: results.FormatActual(th.Metric, v)})
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}
