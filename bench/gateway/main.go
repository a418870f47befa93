// Command gateway benchmarks Steward's credential-injecting gateway on
// this machine: requests per second and p50/p99 latency at several
// concurrencies through the gateway (API-key authentication, a PDP
// decision, header injection, a usage event into the real usage
// recorder on SQLite) against a bare httputil.ReverseProxy injecting the
// same header in front of the same upstream, in the same run, and
// against Caddy's reverse_proxy with header_up when a caddy binary is
// found (-caddy, $PATH or $GOPATH/bin).
//
//	go run ./bench/gateway [-duration 5s] [-c 1,8,64] [-caddy PATH]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/bench/internal/httpload"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/gateway"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/usage"
)

const upstreamKey = "bench-upstream-key"

func main() {
	duration := flag.Duration("duration", 5*time.Second, "length of each run")
	conc := flag.String("c", "1,8,64", "concurrencies")
	caddyBin := flag.String("caddy", "", "caddy binary (default: caddy on $PATH or in $GOPATH/bin)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*duration, *conc, *caddyBin); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(d time.Duration, conc, caddyBin string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	upURL, err := serve(ctx, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != upstreamKey || r.Header.Get("Authorization") != "" {
			http.Error(w, "wrong key", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"items":[1,2,3]}`)
	}))
	if err != nil {
		return err
	}
	up, _ := url.Parse(upURL)

	bare := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(up)
		pr.SetXForwarded()
		pr.Out.Header.Del("Authorization")
		pr.Out.Header.Set("X-Api-Key", upstreamKey)
	}, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	bareURL, err := serve(ctx, bare)
	if err != nil {
		return err
	}

	gwURL, key, rec, cleanup, err := startGateway(ctx, upURL)
	if err != nil {
		return err
	}
	defer cleanup()

	targets := []target{{"bare httputil.ReverseProxy", bareURL, ""}, {"steward gateway", gwURL, key}}
	caddyNote := ""
	if caddyURL, stop, note := startCaddy(caddyBin, upURL); caddyURL != "" {
		defer stop()
		targets = append(targets, target{"caddy reverse_proxy", caddyURL, ""})
	} else {
		caddyNote = note
	}
	for _, t := range targets { // warm up and check each path answers 200
		if _, err := load(t, 4, 300*time.Millisecond); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}
	fmt.Printf("# gateway benchmark — %s, %d CPUs, %s per run, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), d, runtime.Version())
	fmt.Println("| c | target | req/s | p50 ms | p99 ms | vs bare req/s | added p99 ms |")
	fmt.Println("|---:|---|---:|---:|---:|---:|---:|")
	for _, cs := range strings.Split(conc, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(cs))
		if err != nil || c < 1 {
			return fmt.Errorf("-c: %q is not a positive number", cs)
		}
		var base *httpload.Result
		for _, t := range targets {
			s, err := load(t, c, d)
			if err != nil {
				return fmt.Errorf("%s at c=%d: %w", t.name, c, err)
			}
			if base == nil {
				base = s
			}
			fmt.Printf("| %d | %s | %.0f | %.3f | %.3f | %.0f %% | %+.3f |\n", c, t.name, s.RPS, ms(s.P50), ms(s.P99), 100*s.RPS/base.RPS, ms(s.P99-base.P99))
		}
	}
	st := rec.Stats()
	fmt.Printf("\nusage recorder: %d events written, %d dropped (queue full), %d failed\n", st.Written, st.Dropped, st.Failed)
	if caddyNote != "" {
		fmt.Println("caddy:", caddyNote)
	}
	return nil
}

type target struct{ name, url, token string }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// load runs c keep-alive clients against t for d.
func load(t target, c int, d time.Duration) (*httpload.Result, error) {
	return httpload.Run(d, c, func() *http.Request {
		req, _ := http.NewRequest("GET", t.url+"/api/items?page=1", nil)
		if t.token != "" {
			req.Header.Set("Authorization", "Bearer "+t.token)
		}
		return req
	})
}

// serve runs h on a loopback port until ctx ends.
func serve(ctx context.Context, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	go func() { <-ctx.Done(); hs.Close() }()
	return "http://" + ln.Addr().String(), nil
}

// startGateway assembles what `steward serve` would: a SQLite store, the
// inventory, the broker, the PDP and the usage recorder, then the
// gateway, with one identity, its API key and a policy permitting GET.
func startGateway(ctx context.Context, upURL string) (gwURL, key string, rec *usage.Recorder, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "gateway-bench")
	if err != nil {
		return "", "", nil, nil, err
	}
	store, err := sqlstore.Open(ctx, filepath.Join(dir, "steward.db"), sqlstore.Options{})
	if err != nil {
		return "", "", nil, nil, err
	}
	cleanup = func() { store.Close(); os.RemoveAll(dir) }
	log := slog.New(slog.DiscardHandler)
	changes := steward.NewChanges()
	rec = usage.NewRecorder(usage.RecorderConfig{Store: store, Logger: log})
	go rec.Run(ctx)
	inv := inventory.New(inventory.Config{Store: store, Logger: log, Changes: changes, Credentials: store})
	box, err := secretbox.New(bytes.Repeat([]byte{9}, secretbox.KeySize))
	if err != nil {
		return "", "", nil, cleanup, err
	}
	b, err := broker.New(ctx, broker.Config{Store: store, Box: box, Pepper: []byte("bench-pepper-bench-pepper"), Issuer: "http://steward.bench", Logger: log, Usage: rec, Changes: changes})
	if err != nil {
		return "", "", nil, cleanup, err
	}
	pdp, err := authz.New(ctx, authz.Config{Inventory: store, Store: store, Usage: rec, Logger: log, Changes: changes})
	if err != nil {
		return "", "", nil, cleanup, err
	}
	go pdp.Run(ctx)
	admin := steward.WithPrincipal(ctx, steward.SystemPrincipal("bench"))
	id, err := inv.CreateIdentity(admin, &steward.Identity{Name: "bench-app", Kind: steward.KindWorkload, Provider: "steward",
		Sensitivity: steward.SensitivityLow, UnownedReason: "benchmark fixture"})
	if err != nil {
		return "", "", nil, cleanup, err
	}
	k, err := b.Issue(admin, id.ID, broker.IssueRequest{})
	if err != nil {
		return "", "", nil, cleanup, err
	}
	if _, err := pdp.PutPolicy(admin, "bench", `permit(principal, action == Action::"GET", resource == Route::"api");`, "benchmark"); err != nil {
		return "", "", nil, cleanup, err
	}
	keyFile := filepath.Join(dir, "upstream.key")
	if err := os.WriteFile(keyFile, []byte(upstreamKey), 0o600); err != nil {
		return "", "", nil, cleanup, err
	}
	gw, err := gateway.New(&gateway.Config{RateLimit: -1, Routes: []gateway.Route{{Name: "api", PathPrefix: "/api", Upstream: upURL,
		CredentialFile: keyFile, Inject: gateway.Inject{Type: gateway.InjectHeader, Name: "X-Api-Key"}}}},
		gateway.Deps{Auth: b, Decider: pdp, Usage: rec, Logger: log})
	if err != nil {
		return "", "", nil, cleanup, err
	}
	gwURL, err = serve(ctx, gw)
	return gwURL, k.Secret, rec, cleanup, err
}

// startCaddy runs caddy's reverse_proxy with the same header injected,
// or says why it cannot.
func startCaddy(bin, upURL string) (string, func(), string) {
	if bin == "" {
		if p, err := exec.LookPath("caddy"); err == nil {
			bin = p
		} else if gp, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			if p := filepath.Join(strings.TrimSpace(string(gp)), "bin", "caddy"); fileExists(p) {
				bin = p
			}
		}
	}
	if bin == "" {
		return "", nil, "no caddy binary found (go install github.com/caddyserver/caddy/v2/cmd/caddy@v2.11.9)"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err.Error()
	}
	addr := ln.Addr().String()
	ln.Close()
	dir, _ := os.MkdirTemp("", "caddy-bench")
	conf := fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tpersist_config off\n}\nhttp://%s {\n\treverse_proxy %s {\n\t\theader_up X-Api-Key %s\n\t\theader_up -Authorization\n\t}\n}\n", addr, strings.TrimPrefix(upURL, "http://"), upstreamKey)
	cf := filepath.Join(dir, "Caddyfile")
	os.WriteFile(cf, []byte(conf), 0o600)
	cmd := exec.Command(bin, "run", "--config", cf, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", nil, err.Error()
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait(); os.RemoveAll(dir) }
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr, stop, ""
		}
	}
	stop()
	return "", nil, "caddy did not start: " + out.String()
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
