// Package maurun runs a scenario's mau section: the month simulation of
// package mau, under every strategy, each against a fresh embedded
// reference server (package target) on the simulated calendar, its app
// sessions feeding the run's recorder and a kickout oracle per strategy
// (package check); the server's own counts are cross-checked against the
// harness's, and the thresholds judge the month. Config decodes and checks
// the section. cmd/imload calls Execute for a scenario with a mau section
// (run.Execute refuses one).
//
// maurun sits above run, beside caprun: it takes run's Options and gives
// its Outcome, and nothing of imload imports it but cmd/imload.
package maurun
