// Package run wires a scenario's phases into a run, and holds no feature of
// its own: Execute sets up the target (package target), the oracle's webhook
// receiver (hooks) and the sinks of the devices' events (the recorder, the
// oracle's history, the live view of package live, the Prometheus sink of
// package promsink), starts the player of the scenario's events (package
// storm/play), drives the devices by the pacer, then judges: the results
// file, the kickout oracle, the thresholds. MergeFiles judges merged shard
// files again. The other roads sit above this package and take its Options
// and Outcome: a capacity search is a loop of runs (package caprun), a
// month simulation runs a scenario's mau section (package maurun); Execute
// refuses a scenario with either section. cmd/imload only parses flags and
// calls them.
package run
