// Package run wires a scenario into a run, and holds no feature of its
// own: Execute sets up the target (package target), the oracle's webhook
// receiver (hooks) and the sinks of the devices' events (the recorder, the
// oracle's history, the live view of package live, the Prometheus sink of
// package promsink), starts the player of the scenario's events (package
// storm/play), drives the devices by the pacer, then judges: the results
// file, the kickout oracle, the thresholds. ExecuteMAU does the same for a
// month simulation; MergeFiles judges merged shard files again. A capacity
// search is a loop of runs above this package (package caprun).
// cmd/imload only parses flags and calls it.
package run
