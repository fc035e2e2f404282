package memstat

import (
	"os"
	"runtime"
	"testing"
)

func TestBetweenDividesTheDelta(t *testing.T) {
	before := Usage{RSS: 10 << 20, Heap: 4 << 20, Stack: 1 << 20, Goroutines: 3}
	after := Usage{RSS: 30 << 20, Heap: 4<<20 + 2048*1000, Stack: 1<<20 + 4096*1000, Goroutines: 2003}
	p := Between(before, after, 1000)
	want := Per{RSSKiB: 20 * 1024 / 1000.0, HeapKiB: 2, StackKiB: 4, Goroutines: 2}
	if p != want {
		t.Errorf("Between = %+v, want %+v", p, want)
	}
	if got := PerKiB(1<<20, 2<<20, 512); got != -2 {
		t.Errorf("PerKiB of a shrink = %v, want -2", got)
	}
}

// Read sees memory the process holds: a live allocation shows in the heap
// and the resident set is not empty where /proc is.
func TestReadSeesAHeldAllocation(t *testing.T) {
	if _, err := os.Stat("/proc/self/statm"); err != nil {
		t.Skip("no /proc/self/statm")
	}
	before := Read()
	held := make([][]byte, 64)
	for i := range held {
		held[i] = make([]byte, 64<<10)
		held[i][0] = 1
	}
	after := Read()
	if before.RSS == 0 {
		t.Fatal("RSS 0 with /proc/self/statm present")
	}
	if d := int64(after.Heap) - int64(before.Heap); d < 4<<20-(256<<10) {
		t.Errorf("heap grew by %d bytes while 4 MiB was held", d)
	}
	runtime.KeepAlive(held)
}
