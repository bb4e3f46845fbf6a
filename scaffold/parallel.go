package scaffold

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// forEach calls fn(0) … fn(n-1) on as many goroutines as there are cores
// (the caller's among them) and returns when all have returned.
func forEach(n int, fn func(int)) {
	var next atomic.Int64
	work := func() {
		for k := int(next.Add(1) - 1); k < n; k = int(next.Add(1) - 1) {
			fn(k)
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}
