//go:build race

package run

// raceEnabled: the tests run with the race detector, which slows every
// goroutine several times over.
const raceEnabled = true
