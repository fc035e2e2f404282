// Package memstat reads what the process holds in memory, for benchmarks
// that divide a delta by the connections held: the resident set, the heap
// in use and the goroutine stacks, each after a full collection with the
// freed memory returned to the system.
package memstat

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Usage is the process's memory at one moment.
type Usage struct {
	RSS, Heap, Stack uint64 // bytes
	Goroutines       int
}

// Read runs a GC, returns the freed memory to the system and reads the
// process's usage.
func Read() Usage {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return Usage{RSS: RSS(), Heap: ms.HeapInuse, Stack: ms.StackInuse, Goroutines: runtime.NumGoroutine()}
}

// RSS is the resident set size from /proc/self/statm (0 where there is
// none).
func RSS() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// PerKiB is (after - before) / n in KiB (negative when after is smaller).
func PerKiB(after, before uint64, n int) float64 {
	return (float64(after) - float64(before)) / 1024 / float64(n)
}

// Per is what each of n things held between before and after costs.
type Per struct {
	RSSKiB, HeapKiB, StackKiB float64
	Goroutines                float64
}

// Between divides the delta from before to after by n.
func Between(before, after Usage, n int) Per {
	return Per{
		RSSKiB:     PerKiB(after.RSS, before.RSS, n),
		HeapKiB:    PerKiB(after.Heap, before.Heap, n),
		StackKiB:   PerKiB(after.Stack, before.Stack, n),
		Goroutines: float64(after.Goroutines-before.Goroutines) / float64(n),
	}
}
