// Package roundrobin is the small load balancer of a local cluster: a
// reverse proxy that sends each request to the next healthy backend, with
// health read from each backend's /readyz.
package roundrobin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// BackendHeader names the response header that tells which backend
// answered.
const BackendHeader = "X-Steward-Backend"

type backend struct {
	url     *url.URL
	healthy atomic.Bool
}

type backendKey struct{}

// Balancer is an http.Handler spreading requests over backends in turn.
type Balancer struct {
	backends []*backend
	next     atomic.Uint64
	proxy    *httputil.ReverseProxy
	client   *http.Client
	log      *slog.Logger
}

// New returns a balancer over the backends' base URLs. No backend counts
// as healthy before the first Check.
func New(targets []string, log *slog.Logger) (*Balancer, error) {
	if len(targets) == 0 {
		return nil, errors.New("roundrobin: no backend")
	}
	b := &Balancer{client: &http.Client{Timeout: 2 * time.Second}, log: log}
	for _, t := range targets {
		u, err := url.Parse(t)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("roundrobin: backend %q is not an absolute URL", t)
		}
		b.backends = append(b.backends, &backend{url: u})
	}
	b.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			be := pr.In.Context().Value(backendKey{}).(*backend)
			pr.SetURL(be.url)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		ModifyResponse: func(res *http.Response) error {
			be := res.Request.Context().Value(backendKey{}).(*backend)
			res.Header.Set(BackendHeader, be.url.Host)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			be := r.Context().Value(backendKey{}).(*backend)
			if errors.Is(err, context.Canceled) {
				return
			}
			be.healthy.Store(false)
			b.log.Warn("backend failed", "backend", be.url.Host, "err", err)
			http.Error(w, "bad gateway: "+be.url.Host+" failed", http.StatusBadGateway)
		},
	}
	return b, nil
}

// ServeHTTP sends the request to the next healthy backend.
func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	be := b.pick()
	if be == nil {
		http.Error(w, "no healthy backend", http.StatusServiceUnavailable)
		return
	}
	b.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), backendKey{}, be)))
}

func (b *Balancer) pick() *backend {
	n := uint64(len(b.backends))
	start := b.next.Add(1)
	for i := range n {
		if be := b.backends[(start+i)%n]; be.healthy.Load() {
			return be
		}
	}
	return nil
}

// Check reads every backend's /readyz once and returns how many answered
// 200.
func (b *Balancer) Check(ctx context.Context) int {
	var wg sync.WaitGroup
	var up atomic.Int64
	for _, be := range b.backends {
		wg.Go(func() {
			ok := b.ready(ctx, be)
			if was := be.healthy.Swap(ok); was != ok {
				b.log.Info("backend health changed", "backend", be.url.Host, "healthy", ok)
			}
			if ok {
				up.Add(1)
			}
		})
	}
	wg.Wait()
	return int(up.Load())
}

func (b *Balancer) ready(ctx context.Context, be *backend) bool {
	req, err := http.NewRequestWithContext(ctx, "GET", be.url.JoinPath("/readyz").String(), nil)
	if err != nil {
		return false
	}
	res, err := b.client.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// Watch runs Check every interval until ctx ends.
func (b *Balancer) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.Check(ctx)
		}
	}
}
