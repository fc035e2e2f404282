// Package results is the results file of a run, results.json: one versioned
// JSON document ("schema": "imload/results/v1") with the scenario and seed,
// the environment, the metrics snapshot (HDR histograms in their standard
// compressed encoding, counters, errors by code, per-second series), the
// threshold verdicts, and room for the kickout oracle's and the MAU
// accounting's verdicts. It writes the file atomically, reads it back with a
// version check, merges the files of shards exactly, and prints the terminal
// summary.
//
// results imports metrics and protocol; it must not import agent, server,
// driver or check (their verdicts arrive as raw JSON).
package results
