// Package busyloop keeps a test's caches and connections busy: it calls a
// function over and over on its own goroutine while the test changes
// state underneath it.
package busyloop

import (
	"sync"
	"time"
)

// Pause is the pause between two calls.
const Pause = 50 * time.Microsecond

// Start calls f, then pauses, on a goroutine of its own until stop is
// called; stop returns once the last call has returned.
func Start(f func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			f()
			time.Sleep(Pause)
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}
