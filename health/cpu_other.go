//go:build !unix

package health

// processCPU: the platform does not tell.
func processCPU() (float64, bool) { return 0, false }
