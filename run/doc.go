// Package run wires a scenario into a run: it starts the target (the embedded
// reference server on loopback, the in-process core, or a URL), the devices
// by the pacer, the recorder, the history and the live view; at the end it
// reads the target's view of who is online, runs the kickout oracle, evaluates
// the thresholds and writes the results file. It is the only package that
// knows every other one; cmd/imload only parses flags and calls Execute.
package run
