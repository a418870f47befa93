// Command soak runs a real steward server under mixed load (whoami with an
// API key, identity lists, AuthZEN evaluations, OAuth2 token issuance,
// usage ingest, console pages) at a fixed concurrency for a long time,
// sampling the server's RSS, goroutines, open files and the window's p99
// every interval, and reports the growth after warm-up.
//
//	go build -o bench/bin/steward ./cmd/steward
//	go run ./bench/soak -bin bench/bin/steward -duration 10m -c 32
//	go run ./bench/soak -duration 3m -pprof   # also heap and goroutine profiles at the end
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steward-nhi/steward/bench/internal/console"
)

const adminToken = "soak-admin-token-0123456789abcdefghij"

func main() {
	bin := flag.String("bin", "bench/bin/steward", "steward binary")
	duration := flag.Duration("duration", 10*time.Minute, "how long to run")
	conc := flag.Int("c", 32, "concurrent clients")
	every := flag.Duration("sample", 10*time.Second, "sampling interval")
	warmup := flag.Duration("warmup", time.Minute, "warm-up excluded from the growth figure")
	out := flag.String("out", "bench/out/soak", "output directory")
	pprof := flag.Bool("pprof", false, "serve with metrics.pprof on and save heap and goroutine profiles at the end (OUT/heap.pprof, OUT/goroutine.txt)")
	flag.Parse()
	if err := run(*bin, *duration, *conc, *every, *warmup, *out, *pprof); err != nil {
		log.Fatal(err)
	}
}

type op struct {
	name string
	do   func(ctx context.Context) error
}

type sample struct {
	at                time.Duration
	rssMiB            float64
	anonMiB, fileMiB  float64 // RssAnon (heaps, page caches) and RssFile (mapped files)
	goroutines, files int
	requests, errors  int64
	p99ms             float64
	byOp              map[string]int64
}

func run(bin string, duration time.Duration, conc int, every, warmup time.Duration, out string, pprof bool) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	dataDir, err := os.MkdirTemp("", "steward-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(out, "steward.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	args := []string{"serve", "--addr", addr, "--data-dir", dataDir, "--rate-limit", "0", "--log-level", "warn"}
	if pprof {
		conf := filepath.Join(dataDir, "steward.yaml")
		if err := os.WriteFile(conf, []byte("metrics:\n  pprof: true\n"), 0o600); err != nil {
			return err
		}
		args = append(args, "--config", conf)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "STEWARD_ADMIN_TOKEN="+adminToken, "STEWARD_MASTER_KEY="+strings.Repeat("ab", 32))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := "http://" + addr
	if err := waitHealthy(base); err != nil {
		return err
	}
	ops, err := setup(base)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}

	var mu sync.Mutex
	var window []time.Duration
	var requests, errs atomic.Int64
	byOp := make([]atomic.Int64, len(ops))
	var firstErr atomic.Value
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i++ {
				k := i % len(ops)
				t0 := time.Now()
				err := ops[k].do(ctx)
				d := time.Since(t0)
				if ctx.Err() != nil {
					return
				}
				requests.Add(1)
				byOp[k].Add(1)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: %v", ops[k].name, err))
				}
				mu.Lock()
				window = append(window, d)
				mu.Unlock()
			}
		}()
	}

	var samples []sample
	start := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	fmt.Printf("| t | RSS MiB | anon MiB | file MiB | goroutines | open files | requests | errors | p99 ms (window) |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
		}
		mu.Lock()
		w := window
		window = nil
		mu.Unlock()
		s := sample{at: time.Since(start).Round(time.Second), requests: requests.Load(), errors: errs.Load(), byOp: map[string]int64{}}
		s.rssMiB, s.anonMiB, s.fileMiB, s.files = procStats(cmd.Process.Pid)
		s.goroutines = goroutines(base)
		if len(w) > 0 {
			slices.Sort(w)
			s.p99ms = float64(w[len(w)*99/100].Microseconds()) / 1000
		}
		for k := range ops {
			s.byOp[ops[k].name] = byOp[k].Load()
		}
		samples = append(samples, s)
		fmt.Printf("| %s | %.1f | %.1f | %.1f | %d | %d | %d | %d | %.1f |\n", s.at, s.rssMiB, s.anonMiB, s.fileMiB, s.goroutines, s.files, s.requests, s.errors, s.p99ms)
	}
	cancel()
	wg.Wait()
	if pprof {
		admin := &api{base: base, token: adminToken, c: &http.Client{Timeout: time.Minute}}
		for file, path := range map[string]string{"heap.pprof": "/debug/pprof/heap?gc=1", "goroutine.txt": "/debug/pprof/goroutine?debug=1"} {
			if err := admin.save(path, filepath.Join(out, file)); err != nil {
				return fmt.Errorf("profile: %w", err)
			}
		}
	}
	return report(samples, warmup, out, firstErr.Load())
}

func report(samples []sample, warmup time.Duration, out string, firstErr any) error {
	if len(samples) < 2 {
		return fmt.Errorf("too few samples")
	}
	var after *sample
	for i := range samples {
		if samples[i].at >= warmup {
			after = &samples[i]
			break
		}
	}
	if after == nil {
		after = &samples[0]
	}
	last := samples[len(samples)-1]
	growth := 100 * (last.rssMiB - after.rssMiB) / after.rssMiB
	peak := 0.0
	for _, s := range samples {
		peak = max(peak, s.rssMiB)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "requests %d, errors %d over %s\n", last.requests, last.errors, last.at)
	fmt.Fprintf(&b, "RSS after warm-up (%s) %.1f MiB, at the end %.1f MiB, peak %.1f MiB: growth %+.1f %%\n", after.at, after.rssMiB, last.rssMiB, peak, growth)
	fmt.Fprintf(&b, "anonymous RSS %.1f → %.1f MiB, file-backed RSS %.1f → %.1f MiB\n", after.anonMiB, last.anonMiB, after.fileMiB, last.fileMiB)
	fmt.Fprintf(&b, "goroutines %d → %d, open files %d → %d\n", after.goroutines, last.goroutines, after.files, last.files)
	fmt.Fprintf(&b, "requests by operation: %v\n", last.byOp)
	if firstErr != nil {
		fmt.Fprintf(&b, "first error: %v\n", firstErr)
	}
	fmt.Print(b.String())
	return os.WriteFile(filepath.Join(out, "summary.txt"), b.Bytes(), 0o644)
}

// setup makes what the load needs: an owned identity with an API key, an
// OAuth2 client, a policy, and a console session.
func setup(base string) ([]op, error) {
	admin := &api{base: base, token: adminToken, c: &http.Client{Timeout: 30 * time.Second}}
	var owner struct{ ID string }
	if err := admin.json("POST", "/api/v1/owners", map[string]any{"name": "Soak", "email": "soak@example.com"}, &owner); err != nil {
		return nil, err
	}
	var ident struct{ ID string }
	if err := admin.json("POST", "/api/v1/identities", map[string]any{"name": "soak-svc", "kind": "workload", "owner_id": owner.ID,
		"scopes": []string{"read", "authz:evaluate"}}, &ident); err != nil {
		return nil, err
	}
	var key, client struct {
		Secret   string `json:"secret"`
		ClientID string `json:"client_id"`
	}
	if err := admin.json("POST", "/api/v1/identities/"+ident.ID+"/credentials", map[string]any{"type": "api_key", "ttl": "720h"}, &key); err != nil {
		return nil, err
	}
	if err := admin.json("POST", "/api/v1/identities/"+ident.ID+"/credentials", map[string]any{"type": "client_secret", "ttl": "720h"}, &client); err != nil {
		return nil, err
	}
	if err := admin.raw("PUT", "/api/v1/policies/soak?reason=soak", "text/plain",
		[]byte(`permit (principal, action == Action::"read", resource is Secret);`), nil); err != nil {
		return nil, err
	}
	nhi := &api{base: base, token: key.Secret, c: admin.c}
	ui, err := console.SignIn(base, adminToken)
	if err != nil {
		return nil, err
	}
	eval := []byte(`{"subject":{"type":"nhi","id":"` + ident.ID + `"},"action":{"name":"read"},"resource":{"type":"Secret","id":"s1"}}`)
	var n atomic.Int64
	return []op{
		{"whoami", func(ctx context.Context) error { return nhi.raw("GET", "/api/v1/whoami", "", nil, nil) }},
		{"list", func(ctx context.Context) error { return admin.raw("GET", "/api/v1/identities?limit=50", "", nil, nil) }},
		{"authzen", func(ctx context.Context) error {
			return admin.raw("POST", "/access/v1/evaluation", "application/json", eval, nil)
		}},
		{"token", func(ctx context.Context) error {
			form := url.Values{"grant_type": {"client_credentials"}}
			req, _ := http.NewRequestWithContext(ctx, "POST", base+"/oauth2/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(client.ClientID, client.Secret)
			return do(admin.c, req, nil)
		}},
		{"ingest", func(ctx context.Context) error {
			var b bytes.Buffer
			for i := range 20 {
				fmt.Fprintf(&b, `{"time":%q,"subject":"soak-caller-%d","action":"read","resource":"r%d","outcome":"ok"}`+"\n",
					time.Now().UTC().Format(time.RFC3339Nano), n.Add(1)%500, i)
			}
			return admin.raw("POST", "/api/v1/usage", "application/x-ndjson", b.Bytes(), nil)
		}},
		{"console", func(ctx context.Context) error {
			_, err := ui.Get("/identities/" + ident.ID)
			return err
		}},
	}, nil
}

type api struct {
	base, token string
	c           *http.Client
}

func (a *api) json(method, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return a.raw(method, path, "application/json", b, out)
}

func (a *api) raw(method, path, ct string, body []byte, out any) error {
	req, err := http.NewRequest(method, a.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	return do(a.c, req, out)
}

// save writes the body of GET path to file.
func (a *api) save(path, file string) error {
	req, err := http.NewRequest("GET", a.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	res, err := a.c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, res.StatusCode, bytes.TrimSpace(b))
	}
	return os.WriteFile(file, b, 0o644)
}

func do(c *http.Client, req *http.Request, out any) error {
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, res.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func waitHealthy(base string) error {
	for range 300 {
		if res, err := http.Get(base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the server did not become healthy")
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// procStats reads the process's resident set, its anonymous and
// file-backed parts (MiB), and its open descriptors.
func procStats(pid int) (rss, anon, file float64, files int) {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) < 2 {
				continue
			}
			kb, _ := strconv.ParseFloat(f[1], 64)
			switch f[0] {
			case "VmRSS:":
				rss = kb / 1024
			case "RssAnon:":
				anon = kb / 1024
			case "RssFile:":
				file = kb / 1024
			}
		}
	}
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return rss, anon, file, len(ents)
}

// goroutines reads go_goroutines from the server's metrics.
func goroutines(base string) int {
	res, err := http.Get(base + "/metrics")
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "go_goroutines ") {
			n, _ := strconv.ParseFloat(strings.TrimPrefix(l, "go_goroutines "), 64)
			return int(n)
		}
	}
	return -1
}
