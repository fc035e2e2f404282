// Package results is the results file of a run, results.json: one versioned
// JSON document ("schema": "imload/results/v1") with the scenario and seed,
// the environment, the metrics snapshot (HDR histograms in their standard
// compressed encoding, counters, errors by code, per-second series), the
// threshold verdicts, the kickout oracle's verdicts (check.Report) and the
// MAU accounting (mau.Report). It writes the file atomically, reads it back
// with a version check, merges the files of shards exactly (metrics,
// verdicts and accounting), and prints the terminal summary of the metrics.
//
// results imports metrics, codes, faults, policy, internal/atomicfile and the
// report types of check, mau, capacity, health and storm; it must not import
// agent, server or driver.
package results
