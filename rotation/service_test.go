package rotation_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-nhi/steward/rotation"
)

// TestProviderOpensOnce: callers arriving together at a rotator whose
// provider is not open yet wait for one open (one pool, one set of
// connections) instead of each opening one.
func TestProviderOpensOnce(t *testing.T) {
	r := newSchedRig(t)
	var opens atomic.Int32
	kind := rotation.Kind{Name: "mem",
		Split: func(cfg map[string]string) (map[string]string, string, []byte, error) { return cfg, "", nil, nil },
		Open: func(context.Context, map[string]string, []byte) (rotation.Provider, error) {
			opens.Add(1)
			time.Sleep(50 * time.Millisecond) // a slow connect
			return memProvider{r.sys}, nil
		}}
	s, err := rotation.New(rotation.Config{Store: r.store, Custody: r.cus, Kinds: []rotation.Kind{kind}, Clock: r.clk, Node: "a"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Rotate(admin, r.cred, rotation.RotateRequest{DryRun: true})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := opens.Load(); n != 1 {
		t.Fatalf("the provider was opened %d times, want once", n)
	}
}

type closeRecorder struct {
	memProvider
	closed *atomic.Bool
}

func (c closeRecorder) Close() { c.closed.Store(true) }

// TestProviderOpenedAfterCloseIsClosed: a provider whose open ends after
// the service closed (a start-up warm-up cut short by shutdown) is closed
// at once, not kept.
func TestProviderOpenedAfterCloseIsClosed(t *testing.T) {
	r := newSchedRig(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var closed atomic.Bool
	kind := rotation.Kind{Name: "mem",
		Split: func(cfg map[string]string) (map[string]string, string, []byte, error) { return cfg, "", nil, nil },
		Open: func(context.Context, map[string]string, []byte) (rotation.Provider, error) {
			close(entered)
			<-release
			return closeRecorder{memProvider{r.sys}, &closed}, nil
		}}
	s, err := rotation.New(rotation.Config{Store: r.store, Custody: r.cus, Kinds: []rotation.Kind{kind}, Clock: r.clk, Node: "a"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int)
	go func() {
		n, _ := s.Warm(context.Background())
		done <- n
	}()
	<-entered
	s.Close()
	close(release)
	if n := <-done; n != 0 || !closed.Load() {
		t.Fatalf("warm after close: %d providers kept, closed %v", n, closed.Load())
	}
}
