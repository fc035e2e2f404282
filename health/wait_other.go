//go:build !linux

package health

// runWait: the platform does not tell.
func runWait() (float64, int64, bool) { return 0, 0, false }
