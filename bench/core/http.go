package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/httpapi"
)

// server serves the real API handler on a loopback port.
type server struct {
	url   string
	token string
	srv   *http.Server
}

func startServer(ctx context.Context, db *benchDB) (*server, error) {
	tok, err := db.svc.CreateToken(admin(ctx), steward.TokenCreate{Name: "bench", Role: steward.RoleAdmin})
	if err != nil {
		return nil, err
	}
	h := httpapi.NewServer(httpapi.Deps{
		Identities: db.svc, Owners: db.svc, Tokens: db.svc, Imports: db.svc,
		Auth: db.svc.Authenticate, Ready: db.store.Ping,
		Logger:    slog.New(slog.DiscardHandler),
		RateLimit: 0,
		Version:   "bench",
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &server{url: "http://" + ln.Addr().String(), token: tok.Token, srv: srv}, nil
}

func (s *server) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

// newClient returns a client that keeps one connection per worker alive.
func newClient(concurrency int) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConns:        concurrency * 2,
			MaxIdleConnsPerHost: concurrency * 2,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// get fetches one identity and drains the body.
func get(ctx context.Context, client *http.Client, s *server, id string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/v1/identities/"+id, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", id, resp.Status)
	}
	return nil
}

// benchHTTP drives GET /api/v1/identities/{id} with c.concurrency workers
// for c.duration, each picking random identities of the sample.
func benchHTTP(ctx context.Context, c *config, db *benchDB, ds *dataset) ([]result, error) {
	if len(ds.sample) == 0 {
		return nil, errors.New("no identities to read")
	}
	s, err := startServer(ctx, db)
	if err != nil {
		return nil, err
	}
	defer s.close()
	client := newClient(c.concurrency)
	defer client.CloseIdleConnections()

	// Warm up every connection.
	warm, cancelWarm := context.WithTimeout(ctx, 2*time.Second)
	var wg sync.WaitGroup
	for w := range c.concurrency {
		wg.Go(func() {
			for k := 0; warm.Err() == nil && k < 50; k++ {
				_ = get(warm, client, s, ds.sample[(w*50+k)%len(ds.sample)])
			}
		})
	}
	wg.Wait()
	cancelWarm()

	stop, err := profile(c, db.engine, "http")
	if err != nil {
		return nil, err
	}
	defer stop()
	logf(c, "%s: http: %d workers for %s", db.engine, c.concurrency, c.duration)
	runCtx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	per := make([]latencies, c.concurrency)
	var failures atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	for w := range c.concurrency {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(c.seed, uint64(w)))
			l := make(latencies, 0, 1<<16)
			for runCtx.Err() == nil {
				t0 := time.Now()
				err := get(runCtx, client, s, ds.sample[rng.IntN(len(ds.sample))])
				if err != nil {
					if runCtx.Err() != nil {
						break
					}
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				l = append(l, time.Since(t0))
			}
			per[w] = l
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	stop()
	var all latencies
	for _, l := range per {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("no successful request (%d failures: %v)", failures.Load(), firstErr.Load())
	}
	note := fmt.Sprintf("%d requests in %.1f s, concurrency %d, Go client in the same process", len(all), elapsed.Seconds(), c.concurrency)
	if f := failures.Load(); f > 0 {
		note += fmt.Sprintf(", %d failures (first: %v)", f, firstErr.Load())
	}
	return []result{
		{db.engine, "http GET identity req/s", float64(len(all)) / elapsed.Seconds(), "req/s", note},
		{db.engine, "http GET identity p50", ms(all.percentile(0.50)), "ms", ""},
		{db.engine, "http GET identity p99", ms(all.percentile(0.99)), "ms", ""},
	}, nil
}
