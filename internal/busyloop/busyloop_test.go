package busyloop_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-nhi/steward/internal/busyloop"
)

func TestStartCallsUntilStopped(t *testing.T) {
	var calls atomic.Int64
	stop := busyloop.Start(func() { calls.Add(1) })
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls in 5 s", calls.Load())
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	n := calls.Load()
	time.Sleep(10 * time.Millisecond)
	if calls.Load() != n {
		t.Fatalf("calls went on after stop: %d then %d", n, calls.Load())
	}
}
