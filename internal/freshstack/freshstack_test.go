package freshstack

import (
	"runtime"
	"testing"
)

// deep uses about n KiB of stack.
//
//go:noinline
func deep(n int) int {
	var pad [1024]byte
	pad[n%len(pad)] = byte(n)
	if n <= 1 {
		return int(pad[1])
	}
	return deep(n-1) + int(pad[n%len(pad)])
}

func TestCallRunsBeforeItReturns(t *testing.T) {
	got := 0
	Call(func() { got = deep(3) + 1 })
	if got == 0 {
		t.Fatal("fn's effect is not seen after Call")
	}
}

// The long-lived goroutine's stack stays small: deep calls made through
// Call grow another goroutine's stack, which is freed when it ends.
func TestDeepCallsLeaveTheCallersStackSmall(t *testing.T) {
	stacks := func(f func()) uint64 {
		const n = 200
		park := make(chan struct{})
		ready := make(chan struct{}, n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range n {
			go func() {
				f()
				ready <- struct{}{}
				<-park
			}()
		}
		for range n {
			<-ready
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		close(park)
		return (after.StackInuse - before.StackInuse) / n
	}
	inline := stacks(func() { deep(16) })
	fresh := stacks(func() { Call(func() { deep(16) }) })
	if fresh*2 > inline {
		t.Fatalf("stack a parked goroutine: %d B after deep calls made through Call, %d B inline; want at most half", fresh, inline)
	}
}
