//go:build !race

package compare

// raceEnabled: the race detector slows the bootstrap's loops about tenfold.
const raceEnabled = false
