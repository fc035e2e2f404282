//go:build linux

package health

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// runWait returns how long the process's threads have waited, runnable, for
// a CPU (the kernel's run-queue delay, /proc/self/task/*/schedstat), in
// seconds, and how many times they were given one: a process the machine starves waits while it has work, which its
// own CPU time does not show. Threads that ended are not counted, so the
// figure is read as a difference between close reads.
func runWait() (wait float64, slices int64, ok bool) {
	files, err := filepath.Glob("/proc/self/task/*/schedstat")
	if err != nil || len(files) == 0 {
		return 0, 0, false
	}
	var ns float64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended meanwhile
		}
		fs := strings.Fields(string(b))
		if len(fs) < 3 {
			return 0, 0, false
		}
		v, err1 := strconv.ParseFloat(fs[1], 64)
		n, err2 := strconv.ParseInt(fs[2], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, 0, false
		}
		ns += v
		slices += n
	}
	return ns / 1e9, slices, true
}
