// Package httpload is the benchmarks' HTTP load generator: keep-alive
// clients sending requests for a fixed time, with latency percentiles.
package httpload

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one run's throughput and latencies.
type Result struct {
	RPS      float64
	P50, P99 time.Duration
	Requests int
}

// Run has workers clients (one connection each) send the requests mk
// builds for d; any error or non-200 answer fails the run.
func Run(d time.Duration, workers int, mk func() *http.Request) (*Result, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	var (
		mu      sync.Mutex
		lats    []time.Duration
		fails   atomic.Int64
		lastErr atomic.Value
		wg      sync.WaitGroup
	)
	start := time.Now()
	stop := start.Add(d)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 1<<12)
			for time.Now().Before(stop) {
				req := mk()
				t := time.Now()
				res, err := c.Do(req)
				if err != nil {
					fails.Add(1)
					lastErr.Store(err.Error())
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					fails.Add(1)
					lastErr.Store(res.Status)
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if n := fails.Load(); n > 0 {
		return nil, fmt.Errorf("%d failed requests (last: %v)", n, lastErr.Load())
	}
	if len(lats) == 0 {
		return nil, errors.New("no requests completed")
	}
	slices.Sort(lats)
	pct := func(p int) time.Duration { return lats[len(lats)*p/100] }
	return &Result{RPS: float64(len(lats)) / elapsed.Seconds(), P50: pct(50), P99: pct(99), Requests: len(lats)}, nil
}
