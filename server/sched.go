package server

import (
	"container/heap"
	"sync"
	"time"

	"github.com/imload/imload/clock"
)

// scheduler runs functions at instants of the injected clock. It is sharded
// so that scheduling on the login path takes no global lock: each shard has
// its own heap and its own goroutine, waiting on one clock timer.
type scheduler struct {
	clk    clock.Clock
	shards []*schedShard
	stop   chan struct{}
	wg     sync.WaitGroup
}

type schedShard struct {
	clk  clock.Clock
	mu   sync.Mutex
	h    taskHeap
	wake chan struct{}
}

// task is one scheduled call. fn runs on the shard's goroutine; it must not
// block for long and must re-check the state it acts on, since a cancel can
// lose the race with the firing.
type task struct {
	at    time.Time
	fn    func()
	idx   int // position in the heap, -1 when not in it
	shard *schedShard
}

const schedShards = 8

func newScheduler(clk clock.Clock) *scheduler {
	s := &scheduler{clk: clk, stop: make(chan struct{})}
	for i := 0; i < schedShards; i++ {
		s.shards = append(s.shards, &schedShard{clk: clk, wake: make(chan struct{}, 1)})
	}
	return s
}

func (s *scheduler) start() {
	for _, sh := range s.shards {
		s.wg.Add(1)
		go func(sh *schedShard) {
			defer s.wg.Done()
			sh.run(s.stop)
		}(sh)
	}
}

// close stops the goroutines and waits for them; pending tasks never run.
func (s *scheduler) close() {
	close(s.stop)
	s.wg.Wait()
}

// at schedules fn at t on the shard picked by key.
func (s *scheduler) at(key uint64, t time.Time, fn func()) *task {
	sh := s.shards[key%schedShards]
	tk := &task{at: t, fn: fn, shard: sh}
	sh.mu.Lock()
	heap.Push(&sh.h, tk)
	head := tk.idx == 0
	sh.mu.Unlock()
	if head {
		select {
		case sh.wake <- struct{}{}:
		default:
		}
	}
	return tk
}

// cancel removes the task; it reports false when the task already ran or is
// running.
func (t *task) cancel() bool {
	if t == nil {
		return false
	}
	sh := t.shard
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if t.idx < 0 {
		return false
	}
	heap.Remove(&sh.h, t.idx)
	return true
}

func (sh *schedShard) run(stop <-chan struct{}) {
	var timer clock.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	var due []*task
	for {
		sh.mu.Lock()
		now := sh.clk.Now()
		due = due[:0]
		for len(sh.h) > 0 && !sh.h[0].at.After(now) {
			due = append(due, heap.Pop(&sh.h).(*task))
		}
		wait := time.Duration(-1)
		var next time.Time
		if len(sh.h) > 0 {
			next = sh.h[0].at
			wait = next.Sub(now)
		}
		sh.mu.Unlock()
		if len(due) > 0 {
			for i, t := range due {
				t.fn()
				due[i] = nil
			}
			continue
		}
		var fire <-chan time.Time
		if wait >= 0 {
			// Arm the timer. If the clock moved between reading it and arming
			// (a fake clock advanced by a test), arm again so the deadline is
			// exact; a real clock moves by nanoseconds and is left alone.
			for try := 0; try < 3; try++ {
				if timer == nil {
					timer = sh.clk.NewTimer(wait)
				} else {
					timer.Stop()
					timer.Reset(wait)
				}
				now2 := sh.clk.Now()
				if now2.Sub(now) < time.Millisecond {
					break
				}
				now, wait = now2, next.Sub(now2)
			}
			fire = timer.C()
		}
		select {
		case <-fire:
		case <-sh.wake:
		case <-stop:
			return
		}
	}
}

type taskHeap []*task

func (h taskHeap) Len() int           { return len(h) }
func (h taskHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h taskHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}
func (h *taskHeap) Push(x any) {
	t := x.(*task)
	t.idx = len(*h)
	*h = append(*h, t)
}
func (h *taskHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.idx = -1
	*h = old[:n-1]
	return t
}
