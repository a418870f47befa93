package federation_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/federation"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testIssuer is an OIDC issuer on a real HTTP server: discovery, a JWKS
// that rotates, and tokens signed with RS256, ES256 or EdDSA keys.
type testIssuer struct {
	t       testing.TB
	srv     *httptest.Server
	mu      sync.Mutex
	keys    map[string]issuerKey // kid → key, published
	current map[jose.SignatureAlgorithm]string
	fetches atomic.Int64
	cache   string // Cache-Control of the JWKS
	down    atomic.Bool
	n       int
}

type issuerKey struct {
	alg    jose.SignatureAlgorithm
	signer crypto.Signer
}

func newTestIssuer(t testing.TB) *testIssuer {
	ti := &testIssuer{t: t, keys: map[string]issuerKey{}, current: map[jose.SignatureAlgorithm]string{}, cache: "max-age=300"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if ti.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"issuer": ti.url(), "jwks_uri": ti.url() + "/keys", "id_token_signing_alg_values_supported": []string{"RS256", "ES256", "EdDSA"}})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		ti.fetches.Add(1)
		if ti.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Cache-Control", ti.cache)
		w.Write(ti.jwks())
	})
	ti.srv = httptest.NewServer(mux)
	t.Cleanup(ti.srv.Close)
	for _, a := range []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA} {
		ti.rotate(a)
	}
	return ti
}

func (ti *testIssuer) url() string { return ti.srv.URL }

// rotate adds a new key for alg and makes it the one that signs.
func (ti *testIssuer) rotate(alg jose.SignatureAlgorithm) string {
	var k crypto.Signer
	var err error
	switch alg {
	case jose.RS256:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, k, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		ti.t.Fatal(err)
	}
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.n++
	kid := string(alg) + "-" + strconv.Itoa(ti.n)
	ti.keys[kid] = issuerKey{alg: alg, signer: k}
	ti.current[alg] = kid
	return kid
}

func (ti *testIssuer) jwks() []byte {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	set := jose.JSONWebKeySet{}
	for kid, k := range ti.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.signer.Public(), KeyID: kid, Algorithm: string(k.alg), Use: "sig"})
	}
	b, _ := json.Marshal(set)
	return b
}

// mint signs claims with the issuer's current key for alg.
func (ti *testIssuer) mint(alg jose.SignatureAlgorithm, claims map[string]any) string {
	ti.mu.Lock()
	kid := ti.current[alg]
	k := ti.keys[kid]
	ti.mu.Unlock()
	return signWith(ti.t, alg, k.signer, kid, claims)
}

func signWith(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	obj, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// usageLog keeps usage events.
type usageLog struct {
	mu  sync.Mutex
	evs []steward.UsageEvent
}

func (u *usageLog) Record(_ context.Context, ev steward.UsageEvent) {
	u.mu.Lock()
	u.evs = append(u.evs, ev)
	u.mu.Unlock()
}

func (u *usageLog) last() steward.UsageEvent {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.evs) == 0 {
		return steward.UsageEvent{}
	}
	return u.evs[len(u.evs)-1]
}

// env is the federation service with a real broker and inventory on a
// real store.
type env struct {
	t       testing.TB
	store   steward.FederationStore
	svc     *inventory.Service
	b       *broker.Broker
	fed     *federation.Service
	clk     *clock.Fake
	usage   *usageLog
	admin   context.Context
	owner   *steward.Owner
	changes *steward.Changes
}

func newEnv(t testing.TB, open func(testing.TB) steward.Store) *env {
	t.Helper()
	if open == nil {
		open = sqltest.OpenSQLite
	}
	return newEnvOn(t, open(t).(steward.FederationStore))
}

// newEnvOn is one node on a store (several nodes may share a database).
func newEnvOn(t testing.TB, st steward.FederationStore) *env {
	t.Helper()
	e := &env{t: t, store: st, clk: clock.NewFake(t0), usage: &usageLog{}, changes: steward.NewChanges()}
	log := slog.New(slog.DiscardHandler)
	e.svc = inventory.New(inventory.Config{Store: st, Clock: e.clk, Logger: log, Changes: e.changes, Credentials: st})
	box, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	e.b, err = broker.New(context.Background(), broker.Config{Store: st, Box: box, Pepper: []byte("pepper-pepper-pepper-pepper"),
		Issuer: "https://steward.test", Clock: e.clk, Logger: log, Usage: e.usage, Changes: e.changes})
	if err != nil {
		t.Fatal(err)
	}
	e.fed, err = federation.New(federation.Config{Store: st, Broker: e.b, Usage: e.usage, Clock: e.clk, Logger: log, Changes: e.changes, Operators: e.svc})
	if err != nil {
		t.Fatal(err)
	}
	e.admin = steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "op:admin", Role: steward.RoleAdmin})
	e.owner, err = e.svc.CreateOwner(e.admin, &steward.Owner{Name: "Platform team", Email: "platform-" + strings.ToLower(rand.Text()) + "@example.com", Kind: steward.OwnerTeam})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) identity(name string, kind steward.Kind, scopes ...string) *steward.Identity {
	e.t.Helper()
	i, err := e.svc.CreateIdentity(e.admin, &steward.Identity{Name: name, Kind: kind, Provider: "steward", Sensitivity: steward.SensitivityMedium,
		Scopes: scopes, OwnerID: e.owner.ID, Environment: "prod"})
	if err != nil {
		e.t.Fatal(err)
	}
	return i
}

func (e *env) issuer(ti steward.TrustedIssuer) *steward.TrustedIssuer {
	e.t.Helper()
	out, err := e.fed.CreateIssuer(e.admin, &ti)
	if err != nil {
		e.t.Fatalf("create issuer: %v", err)
	}
	return out
}

func (e *env) bind(identityID, issuer, subject string, claims map[string]string) *steward.FederationBinding {
	e.t.Helper()
	b, err := e.fed.Bind(e.admin, identityID, federation.BindingInput{Issuer: issuer, Subject: subject, Claims: claims, Reason: "test"})
	if err != nil {
		e.t.Fatalf("bind: %v", err)
	}
	return b
}

func (e *env) exchange(req federation.ExchangeRequest) (*broker.TokenResponse, error) {
	if req.GrantType == "" {
		req.GrantType = federation.GrantTokenExchange
	}
	if req.SubjectTokenType == "" && req.SubjectToken != "" {
		req.SubjectTokenType = federation.TokenTypeJWT
	}
	if req.ActorTokenType == "" && req.ActorToken != "" {
		req.ActorTokenType = federation.TokenTypeJWT
	}
	return e.fed.Exchange(context.Background(), req, steward.RequestSource{Addr: "192.0.2.1"})
}

func (e *env) mustExchange(req federation.ExchangeRequest) *broker.TokenResponse {
	e.t.Helper()
	out, err := e.exchange(req)
	if err != nil {
		e.t.Fatalf("exchange: %v", err)
	}
	return out
}

// introspect reports a token as an operator sees it.
func (e *env) introspect(tok string) *broker.Introspection {
	e.t.Helper()
	in, err := e.b.Introspect(e.admin, broker.Caller{Principal: steward.PrincipalFrom(e.admin)}, tok)
	if err != nil {
		e.t.Fatal(err)
	}
	return in
}

// githubClaims are the claims of a GitHub Actions OIDC token.
func githubClaims(iss, aud, repo, ref string, now time.Time) map[string]any {
	return map[string]any{"iss": iss, "aud": aud, "sub": "repo:" + repo + ":ref:" + ref, "repository": repo, "repository_id": "123456",
		"repository_owner": "acme", "ref": ref, "ref_type": "branch", "workflow": "deploy", "job_workflow_ref": repo + "/.github/workflows/deploy.yml@" + ref,
		"event_name": "push", "actor": "octocat", "run_id": "42", "jti": "gha-" + rand.Text(),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
}

// kubeClaims are the claims of a projected service-account token.
func kubeClaims(iss, aud, ns, sa string, now time.Time) map[string]any {
	return map[string]any{"iss": iss, "aud": []string{aud}, "sub": "system:serviceaccount:" + ns + ":" + sa,
		"kubernetes.io": map[string]any{"namespace": ns, "serviceaccount": map[string]any{"name": sa, "uid": "uid-" + sa}, "pod": map[string]any{"name": sa + "-pod", "uid": "p1"}},
		"iat":           now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
}

// gitlabClaims are the claims of a GitLab CI id_token.
func gitlabClaims(iss, aud, project, ref string, now time.Time) map[string]any {
	return map[string]any{"iss": iss, "aud": aud, "sub": "project_path:" + project + ":ref_type:branch:ref:" + ref, "project_path": project,
		"namespace_path": "acme", "ref": ref, "ref_type": "branch", "ref_protected": "true", "pipeline_source": "push",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
}
