// Package pacer decides when simulated devices arrive: the open model
// (arrivals per second, ramping linearly, whatever the target does) and the
// closed model (a number of concurrent devices, each starting a new session
// when its previous one ends). Phases run in sequence; every arrival carries
// its intended start time, so latency can be measured from the schedule
// rather than from when a late goroutine got round to it (no coordinated
// omission).
//
// One file per model: open.go, closed.go; pacer.go holds the Arrival, the
// options and the run loop. It imports only scenario and clock of ours.
package pacer
