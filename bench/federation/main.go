// Command federation benchmarks token exchange on this machine: federated
// tokens (ES256, RS256, EdDSA) exchanged over HTTP at /oauth2/token by
// concurrent keep-alive clients against a real server on loopback, beside
// the raw cost of the same work with the library primitives (verify the
// federated token, sign a Steward token) measured in the same run, and a
// burst of tokens with an unknown kid, counting the key fetches it causes.
//
//	go run ./bench/federation [-n 3000] [-workers 32] [-json] [-cpuprofile cpu.pprof] [-replay-window 1ms]
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/federation"
	"github.com/steward-nhi/steward/internal/federationtest"
	"github.com/steward-nhi/steward/sqlstore"
)

type result struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

func main() {
	n := flag.Int("n", 3000, "exchanges per algorithm")
	workers := flag.Int("workers", 32, "concurrent HTTP clients")
	asJSON := flag.Bool("json", false, "print JSON")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the HTTP exchanges (not the raw runs) to this file")
	window := flag.Duration("replay-window", 0, "federation.Config.ReplayWindow (0: the default)")
	flag.Parse()
	res, err := run(*n, *workers, *cpuprofile, *window)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(res)
		return
	}
	fmt.Printf("GOMAXPROCS=%d workers=%d exchanges/alg=%d\n", runtime.GOMAXPROCS(0), *workers, *n)
	for _, r := range res {
		fmt.Printf("%-44s %12.1f %s\n", r.Name, r.Value, r.Unit)
	}
}

// issuer is an OIDC issuer on loopback that counts its JWKS fetches.
type issuer struct {
	url     string
	keys    map[jose.SignatureAlgorithm]crypto.Signer
	fetches atomic.Int64
}

func newIssuer() (*issuer, error) {
	is := &issuer{keys: map[jose.SignatureAlgorithm]crypto.Signer{}}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	_, dk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	is.keys[jose.RS256], is.keys[jose.ES256], is.keys[jose.EdDSA] = rk, ek, dk
	set := jose.JSONWebKeySet{}
	for alg, k := range is.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Public(), KeyID: string(alg), Algorithm: string(alg), Use: "sig"})
	}
	doc, _ := json.Marshal(set)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	is.url = "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		is.fetches.Add(1)
		w.Header().Set("Cache-Control", "max-age=300")
		w.Write(doc)
	})
	go http.Serve(ln, mux)
	return is, nil
}

func (is *issuer) mint(alg jose.SignatureAlgorithm, kid, aud string, key any) (string, error) {
	if key == nil {
		key = is.keys[alg]
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		return "", err
	}
	now := time.Now()
	b, _ := json.Marshal(map[string]any{"iss": is.url, "aud": aud, "sub": "system:serviceaccount:prod:bench", "jti": rand.Text(),
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()})
	obj, err := s.Sign(b)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// mintMany signs n tokens in parallel (before the timed run).
func (is *issuer) mintMany(n int, alg jose.SignatureAlgorithm, kid, aud string, key any) ([]string, error) {
	out := make([]string, n)
	var wg sync.WaitGroup
	var first error
	var mu sync.Mutex
	per := (n + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				t, err := is.mint(alg, kid, aud, key)
				if err != nil {
					mu.Lock()
					first = err
					mu.Unlock()
					return
				}
				out[i] = t
			}
		}()
	}
	wg.Wait()
	return out, first
}

func run(n, workers int, cpuprofile string, window time.Duration) ([]result, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "bench-federation")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	writes := &durations{}
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "steward.db"), sqlstore.Options{Observe: func(op string, d time.Duration, _ error) {
		if op == "update" {
			writes.add(d)
		}
	}})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	master := make([]byte, 32)
	rand.Read(master)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	base := "http://" + ln.Addr().String()
	fs, err := federationtest.New(ctx, federationtest.Config{Store: st, MasterKey: master, Pepper: master, Issuer: base, Version: "bench", AuthFailureLimit: 1e9, ReplayWindow: window,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: fs.Handler}
	go srv.Serve(ln)
	defer srv.Close()
	is, err := newIssuer()
	if err != nil {
		return nil, err
	}
	if _, err := fs.Trust(ctx, federationtest.Workload{Issuer: steward.TrustedIssuer{Name: "bench", Issuer: is.url, JWKSURI: is.url + "/keys",
		Audiences: []string{"steward-bench"}}, Name: "bench", Team: "Bench", Subject: "system:serviceaccount:prod:*"}); err != nil {
		return nil, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers * 2, MaxConnsPerHost: workers * 2}, Timeout: 30 * time.Second}
	var out []result
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA} {
		// The first exchanges of an algorithm (its issuer key parsed and
		// cached, connections and buffers grown) are not timed: 4 per
		// client, so the p99 is the steady state's, not the start's.
		warm := 4 * workers
		toks, err := is.mintMany(n+warm, alg, string(alg), "steward-bench", nil)
		if err != nil {
			return nil, err
		}
		if _, _, err := exchangeAll(client, base, toks[:warm], workers); err != nil {
			return nil, fmt.Errorf("%s: warm-up: %w", alg, err)
		}
		toks = toks[warm:]
		stop, err := profile(cpuprofile, string(alg))
		if err != nil {
			return nil, err
		}
		w0, r0 := fs.Federation.ReplayWrites()
		writes.reset()
		rate, p99, err := exchangeAll(client, base, toks, workers)
		stop()
		w1, r1 := fs.Federation.ReplayWrites()
		wp99, wmax := writes.tail()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", alg, err)
		}
		raw, err := rawRate(is, alg, toks, workers)
		if err != nil {
			return nil, err
		}
		out = append(out,
			result{Name: fmt.Sprintf("exchange over HTTP %s (c=%d)", alg, workers), Value: rate, Unit: "exchanges/s"},
			result{Name: fmt.Sprintf("exchange p99 %s", alg), Value: float64(p99.Microseconds()) / 1000, Unit: "ms"},
			result{Name: fmt.Sprintf("raw verify+sign %s (c=%d)", alg, workers), Value: raw, Unit: "ops/s"},
			result{Name: fmt.Sprintf("exchange / raw %s", alg), Value: 100 * rate / raw, Unit: "%"},
			result{Name: fmt.Sprintf("replay records per write %s", alg), Value: float64(r1-r0) / float64(max(w1-w0, 1)), Unit: "records/tx"},
			result{Name: fmt.Sprintf("store write p99 %s", alg), Value: float64(wp99.Microseconds()) / 1000, Unit: "ms"},
			result{Name: fmt.Sprintf("store write max %s", alg), Value: float64(wmax.Microseconds()) / 1000, Unit: "ms"})
	}
	// A burst of tokens with an unknown kid: at most one key fetch.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	burst, err := is.mintMany(1000, jose.ES256, "unknown-kid", "steward-bench", other)
	if err != nil {
		return nil, err
	}
	before := is.fetches.Load()
	if _, _, err := exchangeAll(client, base, burst, workers); err != nil && !strings.Contains(err.Error(), "refused") {
		return nil, err
	}
	out = append(out, result{Name: "key fetches for 1,000 unknown-kid tokens", Value: float64(is.fetches.Load() - before), Unit: "fetches"})
	return out, nil
}

// durations collects the store's write transaction times during a run.
type durations struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *durations) add(d time.Duration) {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.mu.Unlock()
}

func (w *durations) reset() {
	w.mu.Lock()
	w.d = w.d[:0]
	w.mu.Unlock()
}

// tail returns the 99th percentile and the longest.
func (w *durations) tail() (time.Duration, time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.d) == 0 {
		return 0, 0
	}
	slices.Sort(w.d)
	return w.d[len(w.d)*99/100], w.d[len(w.d)-1]
}

// profile starts a CPU profile into path with the algorithm in its name
// (bench.ES256.pprof), or does nothing when path is "".
func profile(path, alg string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	ext := filepath.Ext(path)
	f, err := os.Create(strings.TrimSuffix(path, ext) + "." + alg + ext)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// exchangeAll exchanges every token once over HTTP with workers clients;
// it returns the rate and the 99th percentile latency, or an error naming
// the first refusal ("refused" when the server answered 400).
func exchangeAll(client *http.Client, base string, toks []string, workers int) (float64, time.Duration, error) {
	lat := make([]time.Duration, len(toks))
	var refused atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	forEach(len(toks), workers, func(i int) bool {
		t0 := time.Now()
		form := url.Values{"grant_type": {federation.GrantTokenExchange}, "subject_token": {toks[i]}, "subject_token_type": {federation.TokenTypeJWT}}
		resp, err := client.PostForm(base+"/oauth2/token", form)
		if err != nil {
			firstErr.CompareAndSwap(nil, err.Error())
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		lat[i] = time.Since(t0)
		if resp.StatusCode != 200 {
			refused.Add(1)
			firstErr.CompareAndSwap(nil, fmt.Sprintf("refused %d: %s", resp.StatusCode, body))
		}
		return true
	})
	el := time.Since(start)
	slices.Sort(lat)
	p99 := lat[len(lat)*99/100]
	if e, _ := firstErr.Load().(string); e != "" {
		return 0, 0, fmt.Errorf("%d of %d: %s", refused.Load(), len(toks), e)
	}
	return float64(len(toks)) / el.Seconds(), p99, nil
}

// rawRate is the library cost of one exchange's cryptography: verify the
// federated token with its public key, sign an EdDSA Steward token.
func rawRate(is *issuer, alg jose.SignatureAlgorithm, toks []string, workers int) (float64, error) {
	_, sk, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: sk}, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return 0, err
	}
	pub := is.keys[alg].Public()
	var failed atomic.Int64
	start := time.Now()
	forEach(len(toks), workers, func(i int) bool {
		jws, err := jose.ParseSignedCompact(toks[i], []jose.SignatureAlgorithm{alg})
		if err != nil {
			failed.Add(1)
			return true
		}
		payload, err := jws.Verify(pub)
		if err != nil {
			failed.Add(1)
			return true
		}
		obj, err := signer.Sign(payload)
		if err == nil {
			_, err = obj.CompactSerialize()
		}
		if err != nil {
			failed.Add(1)
		}
		return true
	})
	if failed.Load() > 0 {
		return 0, fmt.Errorf("raw %s: %d failures", alg, failed.Load())
	}
	return float64(len(toks)) / time.Since(start).Seconds(), nil
}

// forEach calls fn(i) for i in [0, n) from workers goroutines; a worker
// stops when fn returns false.
func forEach(n, workers int, fn func(i int) bool) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || !fn(i) {
					return
				}
			}
		}()
	}
	wg.Wait()
}
