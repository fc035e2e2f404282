// Package compare answers "did this change make it slower?" for two sets of
// results files (package results): BASE and NEW, one run or several
// replicate runs a side.
//
// For every operation it compares p50, p90, p99, p99.9, max, the error rate
// and the throughput (successful operations per second), all platforms
// together, with the change (NEW/BASE; NEW−BASE for the error rate) and a
// confidence interval from a block bootstrap over the per-second series:
// each run's seconds are resampled in blocks of consecutive seconds with
// replacement (circular blocks of round(√n) seconds for a run of n seconds,
// or a fixed length), the per-second histograms of the resampled seconds
// are merged, and the figure is taken from the merge. Blocks keep the
// autocorrelation of neighbouring seconds, which a test over the single
// latencies would ignore and so overstate significance. The per-second
// histograms are those metrics.OpSeries.Latency keeps (login by default);
// for other operations the quantiles come from the run histograms without
// an interval, while max, error rate and throughput still have one from
// the per-second counters. Per-platform figures are point values: the
// per-second series hold all platforms together.
//
// With two runs or more a side, a Mann-Whitney U test over the per-run
// values (golang.org/x/perf/benchmath, as benchstat uses) weighs in: a
// verdict needs p < alpha when the test is able to reach it.
//
// Each figure gets a verdict against its tolerance (ParseTolerances):
// regressed when the whole interval lies beyond the tolerance on the bad
// side, improved when it lies beyond it on the good side, no change
// otherwise. The bootstrap is seeded: the same files and seed give the same
// answer.
//
// Runs of different scenarios are refused; other differences the results
// files record (seed, target, imload version, CPUs, ...) are listed. Each
// file's generator section (package health) is read: a run whose generator
// lagged is warned about, and the seconds in which it lagged (or the second
// after them) are left out of the per-second series on both sides, since
// their latencies hold imload's own delay (generator.go; Options.KeepLagged
// keeps them).
package compare
