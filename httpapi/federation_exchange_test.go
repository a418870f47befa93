package httpapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/federation"
	"github.com/steward-nhi/steward/internal/federationtest"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// TestTokenExchangeErrorsAreRFC6749 exchanges federated tokens over HTTP:
// a good one gets an RFC 8693 §2.2 answer, and each bad input gets a 400
// with an RFC 6749 error body (error, error_description), no-store and no
// token.
func TestTokenExchangeErrorsAreRFC6749(t *testing.T) {
	ctx := context.Background()
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: ek.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	must(t, err)
	const iss, aud = "https://k8s.example.com", "https://steward.test"
	fs, err := federationtest.New(ctx, federationtest.Config{Store: sqltest.OpenSQLite(t).(*sqlstore.Store), MasterKey: make([]byte, secretbox.KeySize),
		Pepper: []byte("pepper-pepper-pepper-pepper"), Issuer: aud, Version: "test"})
	must(t, err)
	srv := httptest.NewServer(fs.Handler)
	t.Cleanup(srv.Close)
	_, err = fs.Trust(ctx, federationtest.Workload{Issuer: steward.TrustedIssuer{Name: "k8s", Issuer: iss, JWKS: jwks, Audiences: []string{aud}},
		Name: "app", Team: "Platform", Subject: "system:serviceaccount:prod:app"})
	must(t, err)

	mint := func(mod func(c map[string]any)) string {
		t.Helper()
		now := time.Now()
		c := map[string]any{"iss": iss, "aud": aud, "sub": "system:serviceaccount:prod:app", "jti": rand.Text(), "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
		if mod != nil {
			mod(c)
		}
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: ek}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
		must(t, err)
		p, _ := json.Marshal(c)
		obj, err := s.Sign(p)
		must(t, err)
		out, err := obj.CompactSerialize()
		must(t, err)
		return out
	}
	post := func(form url.Values) (int, http.Header, map[string]any) {
		t.Helper()
		res, err := http.PostForm(srv.URL+"/oauth2/token", form)
		must(t, err)
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("body %q is not JSON: %v", raw, err)
		}
		return res.StatusCode, res.Header, body
	}
	form := func(tok string, kv ...string) url.Values {
		f := url.Values{"grant_type": {federation.GrantTokenExchange}, "subject_token": {tok}, "subject_token_type": {federation.TokenTypeJWT}}
		for n := 0; n+1 < len(kv); n += 2 {
			if kv[n+1] == "" {
				f.Del(kv[n])
				continue
			}
			f.Set(kv[n], kv[n+1])
		}
		return f
	}

	good := mint(nil)
	status, _, body := post(form(good, "scope", "read"))
	if status != http.StatusOK || body["access_token"] == "" || body["token_type"] != "Bearer" || body["issued_token_type"] != federation.TokenTypeAccess || body["expires_in"] == nil {
		t.Fatalf("exchange: %d %v", status, body)
	}
	cases := []struct {
		name string
		form url.Values
		code string
	}{
		{"a replayed token", form(good), "invalid_grant"},
		{"an unknown issuer", form(mint(func(c map[string]any) { c["iss"] = "https://elsewhere.example.com" })), "invalid_grant"},
		{"a wrong audience", form(mint(func(c map[string]any) { c["aud"] = "https://kubernetes.default.svc" })), "invalid_grant"},
		{"an expired token", form(mint(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })), "invalid_grant"},
		{"no matching binding", form(mint(func(c map[string]any) { c["sub"] = "system:serviceaccount:prod:other" })), "invalid_grant"},
		{"scope escalation", form(mint(nil), "scope", "read admin"), "invalid_scope"},
		{"a relative resource", form(mint(nil), "resource", "/api"), "invalid_target"},
		{"no subject_token_type", form(mint(nil), "subject_token_type", ""), "invalid_request"},
		{"a jwt-bearer grant without assertion", url.Values{"grant_type": {federation.GrantJWTBearer}}, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := post(tc.form)
			if status != http.StatusBadRequest || body["error"] != tc.code {
				t.Fatalf("got %d %v, want 400 %s", status, body, tc.code)
			}
			if d, _ := body["error_description"].(string); d == "" {
				t.Errorf("no error_description: %v", body)
			}
			if _, ok := body["access_token"]; ok {
				t.Errorf("a refusal carries a token: %v", body)
			}
			if h.Get("Cache-Control") != "no-store" || h.Get("Content-Type") != "application/json" {
				t.Errorf("headers %v", h)
			}
		})
	}
}
