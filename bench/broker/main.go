// Command broker benchmarks Steward's credential broker on this machine:
// token issuance and introspection over HTTP (a real server on loopback,
// a keep-alive client in the same process), API-key verification in
// process with and without the cache, and JWT signing and verification —
// each beside the raw Ed25519/HMAC cost measured in the same run.
//
//	go run ./bench/broker [-duration 5s] [-workers 32] [-json]
package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
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
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/bench/internal/httpload"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore"
)

type result struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	Note  string  `json:"note,omitempty"`
}

func main() {
	duration := flag.Duration("duration", 5*time.Second, "length of each HTTP run")
	workers := flag.Int("workers", 32, "concurrent HTTP clients")
	asJSON := flag.Bool("json", false, "print JSON")
	flag.Parse()
	if err := run(*duration, *workers, *asJSON); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type fixture struct {
	store  *sqlstore.Store
	svc    *inventory.Service
	b      *broker.Broker
	nocach *broker.Broker
	url    string
	admin  string
	key    string
	client *broker.Issued
	token  string
}

func setup(ctx context.Context, dir string) (*fixture, func(), error) {
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "steward.db"), sqlstore.Options{})
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	svc := inventory.New(inventory.Config{Store: st, Logger: log})
	admin, err := svc.Bootstrap(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	master := make([]byte, 32)
	rand.Read(master)
	box, _ := secretbox.New(master)
	pepper := make([]byte, 32)
	rand.Read(pepper)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	issuer := "http://" + ln.Addr().String()
	b, err := broker.New(ctx, broker.Config{Store: st, Box: box, Pepper: pepper, Issuer: issuer, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	// The same database without a verification cache (every call reads).
	nocache, err := broker.New(ctx, broker.Config{Store: st, Box: box, Pepper: pepper, Issuer: issuer, Logger: log, CacheTTL: time.Nanosecond})
	if err != nil {
		return nil, nil, err
	}
	auth := func(ctx context.Context, tok string) (*steward.Principal, error) {
		if broker.IsStewardToken(tok) {
			return b.Authenticate(ctx, tok)
		}
		return svc.Authenticate(ctx, tok)
	}
	srv := &http.Server{Handler: httpapi.NewServer(httpapi.Deps{Identities: svc, Owners: svc, Tokens: svc, Imports: svc, Auth: auth, Broker: b, Logger: log, Version: "bench"})}
	go srv.Serve(ln)
	actx := steward.WithPrincipal(ctx, steward.SystemPrincipal("bench"))
	id, err := svc.CreateIdentity(actx, &steward.Identity{Name: "bench", Kind: steward.KindServiceAccount, Provider: "steward", Sensitivity: steward.SensitivityMedium, Scopes: []string{"read", "write"}, UnownedReason: "benchmark"})
	if err != nil {
		return nil, nil, err
	}
	key, err := b.Issue(actx, id.ID, broker.IssueRequest{})
	if err != nil {
		return nil, nil, err
	}
	cl, err := b.Issue(actx, id.ID, broker.IssueRequest{Type: "client_secret"})
	if err != nil {
		return nil, nil, err
	}
	tr, err := b.Token(ctx, broker.TokenRequest{GrantType: "client_credentials", Client: broker.ClientAuth{Method: broker.AuthSecretBasic, ClientID: cl.ClientID, ClientSecret: cl.Secret}}, steward.RequestSource{})
	if err != nil {
		return nil, nil, err
	}
	f := &fixture{store: st, svc: svc, b: b, nocach: nocache, url: issuer, admin: admin, key: key.Secret, client: cl, token: tr.AccessToken}
	return f, func() { srv.Close(); st.Close() }, nil
}

func nsPerOp(fn func()) float64 {
	r := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			fn()
		}
	})
	return float64(r.T.Nanoseconds()) / float64(r.N)
}

// load runs workers that each send requests built by mk for d, and
// returns requests per second and the 99th percentile latency.
func load(d time.Duration, workers int, mk func() *http.Request) (float64, time.Duration, error) {
	r, err := httpload.Run(d, workers, mk)
	if err != nil {
		return 0, 0, err
	}
	return r.RPS, r.P99, nil
}

func run(d time.Duration, workers int, asJSON bool) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "steward-bench-broker-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	f, done, err := setup(ctx, dir)
	if err != nil {
		return err
	}
	defer done()
	var out []result
	add := func(name string, v float64, unit, note string) {
		out = append(out, result{name, v, unit, note})
		if !asJSON {
			fmt.Printf("%-52s %12.1f %-9s %s\n", name, v, unit, note)
		}
	}
	if !asJSON {
		fmt.Printf("GOMAXPROCS=%d, %s/%s, %s\n", runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	}

	// Raw costs, same run.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	pub := priv.Public().(ed25519.PublicKey)
	msg := []byte(strings.Repeat("x", 300))
	sig := ed25519.Sign(priv, msg)
	rawSign := nsPerOp(func() { ed25519.Sign(priv, msg) })
	rawVerify := nsPerOp(func() { ed25519.Verify(pub, msg, sig) })
	add("raw Ed25519 sign", rawSign, "ns/op", "")
	add("raw Ed25519 verify", rawVerify, "ns/op", "")

	// HMAC digest + map lookup among 100k keys (the issue's baseline).
	pepper := make([]byte, 32)
	rand.Read(pepper)
	table := make(map[string]int, 100_000)
	var someKey string
	for i := 0; i < 100_000; i++ {
		k := broker.NewSecret()
		m := hmac.New(sha256.New, pepper)
		m.Write([]byte(k))
		table[hex.EncodeToString(m.Sum(nil))] = i
		someKey = k
	}
	rawKey := nsPerOp(func() {
		m := hmac.New(sha256.New, pepper)
		m.Write([]byte(someKey))
		_ = table[hex.EncodeToString(m.Sum(nil))]
	})
	add("raw HMAC-SHA256 + map lookup (100k keys)", rawKey, "ns/op", "")

	// go-jose sign and verify of an access token, as the broker does it.
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: "k"}}, (&jose.SignerOptions{}).WithType("at+jwt"))
	claims, _ := json.Marshal(map[string]any{"iss": f.url, "sub": "nhi_x", "aud": f.url, "client_id": "cli_x", "scope": "read write", "jti": "abcdefghijklmnopqrstuv", "iat": 1, "exp": 2})
	joseSign := nsPerOp(func() {
		o, _ := signer.Sign(claims)
		o.CompactSerialize()
	})
	o, _ := signer.Sign(claims)
	compact, _ := o.CompactSerialize()
	joseVerify := nsPerOp(func() {
		j, _ := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{jose.EdDSA})
		j.Verify(pub)
	})
	add("go-jose JWT sign (EdDSA)", joseSign, "ns/op", fmt.Sprintf("%.0f%% over raw sign", 100*(joseSign/rawSign-1)))
	add("go-jose JWT verify (EdDSA)", joseVerify, "ns/op", fmt.Sprintf("%.0f%% over raw verify", 100*(joseVerify/rawVerify-1)))

	// The broker in process.
	treq := broker.TokenRequest{GrantType: "client_credentials", Client: broker.ClientAuth{Method: broker.AuthSecretBasic, ClientID: f.client.ClientID, ClientSecret: f.client.Secret}}
	brokerToken := nsPerOp(func() { f.b.Token(ctx, treq, steward.RequestSource{}) })
	add("broker.Token in process (auth + claims + sign)", brokerToken, "ns/op", fmt.Sprintf("raw sign is %.0f%% of it", 100*rawSign/brokerToken))
	jwtCached := nsPerOp(func() { f.b.Authenticate(ctx, f.token) })
	add("broker.Authenticate JWT (verified-token cache)", jwtCached, "ns/op", "")
	jwtCold := nsPerOp(func() { f.nocach.Authenticate(ctx, f.token) })
	add("broker.Authenticate JWT (no cache: verify + DB)", jwtCold, "ns/op", fmt.Sprintf("raw verify %.0f ns", rawVerify))
	keyCached := nsPerOp(func() { f.b.Authenticate(ctx, f.key) })
	add("broker.Authenticate API key (cache)", keyCached, "ns/op", fmt.Sprintf("raw HMAC+map %.0f ns", rawKey))
	keyCold := nsPerOp(func() { f.nocach.Authenticate(ctx, f.key) })
	add("broker.Authenticate API key (no cache: SQLite read)", keyCold, "ns/op", "")

	// Over HTTP.
	form := url.Values{"grant_type": {"client_credentials"}}.Encode()
	tps, p99, err := load(d, workers, func() *http.Request {
		r, _ := http.NewRequest("POST", f.url+"/oauth2/token", strings.NewReader(form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(f.client.ClientID, f.client.Secret)
		return r
	})
	if err != nil {
		return fmt.Errorf("token load: %w", err)
	}
	rawRate := 1e9 / rawSign * float64(runtime.GOMAXPROCS(0))
	add("HTTP token issuance", tps, "tokens/s", fmt.Sprintf("p99 %s; %.0f%% of the raw signing rate on %d cores (%.0f/s)", p99.Round(10*time.Microsecond), 100*tps/rawRate, runtime.GOMAXPROCS(0), rawRate))

	// Introspect a pool of tokens with an operator bearer.
	var pool []string
	for i := 0; i < 64; i++ {
		tr, err := f.b.Token(ctx, treq, steward.RequestSource{})
		if err != nil {
			return err
		}
		pool = append(pool, "token="+url.QueryEscape(tr.AccessToken))
	}
	var n atomic.Int64
	ips, ip99, err := load(d, workers, func() *http.Request {
		body := pool[int(n.Add(1))%len(pool)]
		r, _ := http.NewRequest("POST", f.url+"/oauth2/introspect", bytes.NewReader([]byte(body)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", "Bearer "+f.admin)
		return r
	})
	if err != nil {
		return fmt.Errorf("introspection load: %w", err)
	}
	add("HTTP introspection", ips, "req/s", fmt.Sprintf("p99 %s; 64 distinct tokens, operator bearer", ip99.Round(10*time.Microsecond)))
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return nil
}
