package broker_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/internal/testhttp"
	"github.com/steward-nhi/steward/scan"
)

func TestSecretsHaveTheScannableFormat(t *testing.T) {
	seen := map[string]bool{}
	for n := 0; n < 200; n++ {
		s := broker.NewSecret()
		if !scan.ValidStewardKey(s) || !broker.WellFormed(s) {
			t.Fatalf("%q is not a valid Steward key", s)
		}
		if seen[s] {
			t.Fatal("duplicate secret")
		}
		seen[s] = true
	}
}

func badKeys() map[string]string {
	good := broker.NewSecret()
	flip := []byte(good)
	if flip[10] == 'a' {
		flip[10] = 'b'
	} else {
		flip[10] = 'a'
	}
	return map[string]string{
		"malformed":      "stw_not a key at all!",
		"truncated":      good[:len(good)-3],
		"wrong checksum": string(flip),
		"wrong prefix":   "stx_" + good[4:],
		"too long":       good + "0",
	}
}

func TestBadKeysAreRefusedWithoutALookup(t *testing.T) {
	e := newEnv(t, envOpts{})
	for name, key := range badKeys() {
		t.Run(name, func(t *testing.T) {
			if broker.WellFormed(key) {
				t.Fatalf("%q is well formed", key)
			}
			before := e.store.byDigest.Load()
			res := e.get("/api/v1/whoami", key)
			if res.status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", res.status, res.body)
			}
			if got := e.store.byDigest.Load() - before; got != 0 {
				t.Fatalf("%d credential lookups for a bad key, want 0", got)
			}
		})
	}
	// A well-formed but unknown key is looked up once.
	before := e.store.byDigest.Load()
	if res := e.get("/api/v1/whoami", broker.NewSecret()); res.status != http.StatusUnauthorized {
		t.Fatalf("unknown key: %d", res.status)
	}
	if got := e.store.byDigest.Load() - before; got != 1 {
		t.Fatalf("%d lookups for an unknown key, want 1", got)
	}
}

func TestAPIKeyAuthenticatesAsTheIdentity(t *testing.T) {
	e := newEnv(t, envOpts{})
	k := e.issue(e.ident.ID, broker.IssueRequest{Type: "api_key", Scopes: []string{"read"}})
	if k.Secret == "" || k.Fingerprint != steward.Fingerprint([]byte(k.Secret)) || k.ExpiresAt == nil {
		t.Fatalf("issued %+v", k)
	}
	res := e.get("/api/v1/whoami", k.Secret)
	var who map[string]any
	res.json(t, &who)
	if res.status != 200 || who["actor"] != "nhi:"+e.ident.ID || who["identity_id"] != e.ident.ID || who["credential_id"] != k.ID {
		t.Fatalf("whoami: %d %s", res.status, res.body)
	}
	p, err := e.b.Authenticate(context.Background(), k.Secret)
	if err != nil || p.IdentityID != e.ident.ID || p.CredentialID != k.ID || !slices.Equal(p.Scopes, []string{"read"}) {
		t.Fatalf("principal %+v %v", p, err)
	}
	// NHI principals have no role: the inventory refuses them.
	if res := e.get("/api/v1/identities", k.Secret); res.status != http.StatusForbidden {
		t.Fatalf("inventory as NHI: %d", res.status)
	}
	// Last use is batched, then written.
	if err := e.b.FlushLastUsed(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, _ := e.store.GetCredential(context.Background(), k.ID)
	i, _ := e.store.GetIdentity(context.Background(), e.ident.ID)
	if c.LastUsedAt == nil || i.LastUsedAt == nil {
		t.Fatalf("last used not recorded: %v %v", c.LastUsedAt, i.LastUsedAt)
	}
}

func TestIssueRules(t *testing.T) {
	e := newEnv(t, envOpts{})
	critical := e.identity("critical", steward.SensitivityCritical, []string{"read"})
	pending, err := e.svc.CreateIdentity(e.adminP, &steward.Identity{Name: "pending", Kind: steward.KindBot, Provider: "steward", Sensitivity: steward.SensitivityLow, Status: steward.StatusPending, UnownedReason: "test fixture"})
	if err != nil {
		t.Fatal(err)
	}
	suspended := e.identity("suspended", steward.SensitivityLow, nil)
	if _, err := e.svc.TransitionIdentity(e.adminP, suspended.ID, steward.TransitionSuspend, steward.TransitionRequest{Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		identity string
		in       broker.IssueRequest
		code     string
		field    string
	}{
		{"scopes beyond the identity's are refused", e.ident.ID, broker.IssueRequest{Scopes: []string{"read", "admin"}}, steward.EINVALID, "scopes"},
		{"a pending identity cannot get credentials", pending.ID, broker.IssueRequest{}, steward.ECONFLICT, ""},
		{"a suspended identity cannot get credentials", suspended.ID, broker.IssueRequest{}, steward.ECONFLICT, ""},
		{"an unknown type is refused", e.ident.ID, broker.IssueRequest{Type: "password"}, steward.EINVALID, "type"},
		{"a bad network is refused", e.ident.ID, broker.IssueRequest{AllowedCIDRs: []string{"10.0.0.0/33"}}, steward.EINVALID, "allowed_cidrs[0]"},
		{"private_key_jwt needs a key", e.ident.ID, broker.IssueRequest{Type: "private_key_jwt"}, steward.EINVALID, "public_jwk"},
		{"a negative ttl is refused", critical.ID, broker.IssueRequest{TTL: dur(-time.Hour)}, steward.EINVALID, "ttl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.b.Issue(e.adminP, tc.identity, tc.in)
			if steward.ErrorCode(err) != tc.code || steward.ErrorField(err) != tc.field {
				t.Fatalf("err = %v (code %s field %q), want %s %q", err, steward.ErrorCode(err), steward.ErrorField(err), tc.code, tc.field)
			}
		})
	}
	t.Run("the TTL is capped by the tier", func(t *testing.T) {
		k := e.issue(critical.ID, broker.IssueRequest{TTL: dur(720 * time.Hour)})
		if want := t0.Add(7 * 24 * time.Hour); !k.ExpiresAt.Equal(want) || !k.TTLCapped {
			t.Fatalf("expires %v (capped %v), want %v", k.ExpiresAt, k.TTLCapped, want)
		}
	})
	t.Run("NHI callers may not issue", func(t *testing.T) {
		k := e.issue(e.ident.ID, broker.IssueRequest{})
		p, err := e.b.Authenticate(context.Background(), k.Secret)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.b.Issue(steward.WithPrincipal(context.Background(), p), e.ident.ID, broker.IssueRequest{})
		if steward.ErrorCode(err) != steward.EFORBIDDEN {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestOAuth2ClientCredentialsWithARealClient(t *testing.T) {
	e := newEnv(t, envOpts{})
	res := e.post("/api/v1/identities/"+e.ident.ID+"/credentials", e.admin, "application/json", `{"type":"client_secret","scopes":["read","write"]}`)
	var cl struct{ ClientID, Secret string }
	var raw map[string]any
	res.json(t, &raw)
	if res.status != 201 || raw["client_id"] == nil || raw["secret"] == nil || raw["fingerprint"] == nil || raw["expires_at"] == nil || raw["id"] == nil {
		t.Fatalf("issue client: %d %s", res.status, res.body)
	}
	cl.ClientID, cl.Secret = raw["client_id"].(string), raw["secret"].(string)

	cfg := clientcredentials.Config{ClientID: cl.ClientID, ClientSecret: cl.Secret, TokenURL: e.srv.URL + "/oauth2/token",
		Scopes: []string{"read", "admin"}, AuthStyle: oauth2.AuthStyleInHeader}
	tok, err := cfg.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
		t.Fatalf("token %+v", tok)
	}
	// Verify with go-jose against the served JWKS.
	jr := e.get("/.well-known/jwks.json", "")
	var set jose.JSONWebKeySet
	jr.json(t, &set)
	jws, err := jose.ParseSignedCompact(tok.AccessToken, []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	h := jws.Signatures[0].Header
	if h.ExtraHeaders[jose.HeaderType] != "at+jwt" {
		t.Fatalf("typ = %v", h.ExtraHeaders[jose.HeaderType])
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in JWKS %s", h.KeyID, jr.body)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"iss", "sub", "aud", "client_id", "scope", "jti", "iat", "exp"} {
		if claims[c] == nil {
			t.Errorf("claim %s missing: %s", c, payload)
		}
	}
	if claims["sub"] != e.ident.ID || claims["client_id"] != cl.ClientID || claims["scope"] != "read" || claims["iss"] != e.b.Issuer() {
		t.Fatalf("claims %s", payload)
	}
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 600 {
		t.Fatalf("lifetime %v s, want 600", exp-iat)
	}
	// The access token authenticates at Steward as the identity.
	if r := e.get("/api/v1/whoami", tok.AccessToken); r.status != 200 || !strings.Contains(string(r.body), "nhi:"+e.ident.ID) {
		t.Fatalf("whoami with JWT: %d %s", r.status, r.body)
	}
	// client_secret_post works too; a wrong secret is invalid_client.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {cl.ClientID}, "client_secret": {cl.Secret}}
	if r := e.post("/oauth2/token", "", "application/x-www-form-urlencoded", form.Encode()); r.status != 200 {
		t.Fatalf("client_secret_post: %d %s", r.status, r.body)
	}
	form.Set("client_secret", broker.NewSecret())
	r := e.post("/oauth2/token", "", "application/x-www-form-urlencoded", form.Encode())
	var oe map[string]string
	r.json(t, &oe)
	if r.status != 401 || oe["error"] != "invalid_client" {
		t.Fatalf("wrong secret: %d %s", r.status, r.body)
	}
	form.Set("grant_type", "password")
	if r := e.post("/oauth2/token", "", "application/x-www-form-urlencoded", form.Encode()); r.status != 400 || !strings.Contains(string(r.body), "unsupported_grant_type") {
		t.Fatalf("grant type: %d %s", r.status, r.body)
	}
	// Metadata names the endpoints.
	var md map[string]any
	e.get("/.well-known/oauth-authorization-server", "").json(t, &md)
	if md["issuer"] != e.b.Issuer() || md["token_endpoint"] != e.b.Issuer()+"/oauth2/token" {
		t.Fatalf("metadata %v", md)
	}
}

func TestIntrospectionAfterRevocationAndExpiry(t *testing.T) {
	e := newEnv(t, envOpts{})
	cl := e.issue(e.ident.ID, broker.IssueRequest{Type: "client_secret", Scopes: []string{"read"}})
	token := func() string {
		out, err := e.b.Token(context.Background(), broker.TokenRequest{GrantType: "client_credentials",
			Client: broker.ClientAuth{Method: broker.AuthSecretBasic, ClientID: cl.ClientID, ClientSecret: cl.Secret}}, steward.RequestSource{Addr: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		return out.AccessToken
	}
	introspect := func(tok, as string) map[string]any {
		t.Helper()
		r := e.post("/oauth2/introspect", as, "application/x-www-form-urlencoded", url.Values{"token": {tok}}.Encode())
		if r.status != 200 {
			t.Fatalf("introspect: %d %s", r.status, r.body)
		}
		var m map[string]any
		r.json(t, &m)
		return m
	}
	key := e.issue(e.ident.ID, broker.IssueRequest{Scopes: []string{broker.ScopeIntrospect}})

	t.Run("an active token, introspected by an operator and by an NHI with the scope", func(t *testing.T) {
		tok := token()
		for _, as := range []string{e.admin, key.Secret} {
			if m := introspect(tok, as); m["active"] != true || m["sub"] != e.ident.ID || m["client_id"] != cl.ClientID {
				t.Fatalf("introspection %v", m)
			}
		}
		// Client credentials as the caller.
		req, _ := http.NewRequest("POST", e.srv.URL+"/oauth2/introspect", strings.NewReader(url.Values{"token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(cl.ClientID, cl.Secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("as client: %v %v", res.StatusCode, err)
		}
		res.Body.Close()
	})
	t.Run("an NHI without the scope may not introspect", func(t *testing.T) {
		other := e.issue(e.ident.ID, broker.IssueRequest{Scopes: []string{"read"}})
		r := e.post("/oauth2/introspect", other.Secret, "application/x-www-form-urlencoded", url.Values{"token": {token()}}.Encode())
		if r.status != http.StatusForbidden {
			t.Fatalf("status %d %s", r.status, r.body)
		}
	})
	t.Run("a token revoked by jti is inactive", func(t *testing.T) {
		tok := token()
		r := e.post("/oauth2/revoke", e.admin, "application/x-www-form-urlencoded", url.Values{"token": {tok}}.Encode())
		if r.status != 200 {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		if m := introspect(tok, e.admin); m["active"] != false {
			t.Fatalf("after revocation: %v", m)
		}
		if r := e.get("/api/v1/whoami", tok); r.status != 401 {
			t.Fatalf("revoked token authenticates: %d", r.status)
		}
	})
	t.Run("an expired token is inactive", func(t *testing.T) {
		tok := token()
		e.clk.Advance(11 * time.Minute)
		if m := introspect(tok, e.admin); m["active"] != false {
			t.Fatalf("after expiry: %v", m)
		}
	})
	t.Run("revoking the client credential deactivates its tokens and the API key", func(t *testing.T) {
		tok := token()
		if _, err := e.b.Revoke(e.adminP, cl.ID, broker.RevokeRequest{Reason: "incident"}); err != nil {
			t.Fatal(err)
		}
		if m := introspect(tok, e.admin); m["active"] != false {
			t.Fatalf("after credential revocation: %v", m)
		}
		if m := introspect(key.Secret, e.admin); m["active"] != true {
			t.Fatalf("unrelated API key: %v", m)
		}
		r := e.post("/api/v1/credentials/"+key.ID+"/revoke", e.admin, "application/json", `{"reason":"manual"}`)
		if r.status != 200 {
			t.Fatalf("revoke key: %d %s", r.status, r.body)
		}
		if m := introspect(key.Secret, e.admin); m["active"] != false {
			t.Fatalf("revoked API key: %v", m)
		}
	})
}

func TestRevokingTheIdentityRevokesOnTheNextRequest(t *testing.T) {
	e := newEnv(t, envOpts{})
	k := e.issue(e.ident.ID, broker.IssueRequest{})
	if r := e.get("/api/v1/whoami", k.Secret); r.status != 200 {
		t.Fatalf("before: %d", r.status)
	}
	if _, err := e.svc.TransitionIdentity(e.adminP, e.ident.ID, steward.TransitionRevoke, steward.TransitionRequest{Reason: "incident"}); err != nil {
		t.Fatal(err)
	}
	// The inventory revoked it in another package; Sync reads the chain.
	if err := e.b.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := e.get("/api/v1/whoami", k.Secret); r.status != 401 {
		t.Fatalf("after identity revocation: %d", r.status)
	}
	if !slices.Contains(e.usage.outcomes(), broker.OutcomeRevoked) {
		t.Fatalf("outcomes %v", e.usage.outcomes())
	}
}

func TestRotationOverlapIsEnforced(t *testing.T) {
	e := newEnv(t, envOpts{})
	old := e.issue(e.ident.ID, broker.IssueRequest{TTL: dur(720 * time.Hour)})
	r := e.post("/api/v1/credentials/"+old.ID+"/rotate", e.admin, "application/json", `{"overlap":"1h"}`)
	if r.status != 201 {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	var rot broker.Rotated
	r.json(t, &rot)
	if rot.Secret == "" || rot.PredecessorID != old.ID || rot.Predecessor.OverlapUntil == nil {
		t.Fatalf("rotated %s", r.body)
	}
	auth := func(secret string) error {
		_, err := e.b.Authenticate(context.Background(), secret)
		return err
	}
	if auth(old.Secret) != nil || auth(rot.Secret) != nil {
		t.Fatal("both keys must work during the overlap")
	}
	e.clk.Advance(61 * time.Minute)
	if err := auth(old.Secret); steward.ErrorCode(err) != steward.EUNAUTHORIZED {
		t.Fatalf("predecessor after the overlap: %v", err)
	}
	if err := auth(rot.Secret); err != nil {
		t.Fatalf("successor: %v", err)
	}
	// Rotating the predecessor again is a conflict.
	if _, err := e.b.Rotate(e.adminP, old.ID, broker.RotateRequest{}); steward.ErrorCode(err) != steward.ECONFLICT {
		t.Fatalf("rotate replaced credential: %v", err)
	}
	// The sweeper records the end of the overlap.
	if n, err := e.b.ExpireDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("expire due: %d %v", n, err)
	}
	evs, err := e.store.ListEvents(context.Background(), steward.EventFilter{SubjectID: old.ID, Limit: 50, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	var rotation *steward.Event
	for _, ev := range evs.Items {
		if ev.Action == steward.ActionCredentialRotate {
			rotation = ev
		}
	}
	if rotation == nil || !strings.Contains(string(rotation.After), old.Fingerprint) || !strings.Contains(string(rotation.After), rot.Fingerprint) || rotation.Actor == "" {
		t.Fatalf("rotation evidence missing: %+v", rotation)
	}
	if last := evs.Items[len(evs.Items)-1]; last.Action != steward.ActionCredentialRevoke {
		t.Fatalf("last event %s", last.Action)
	}
}

func TestExtensionIsCappedAndCounted(t *testing.T) {
	e := newEnv(t, envOpts{})
	k := e.issue(e.ident.ID, broker.IssueRequest{TTL: dur(24 * time.Hour)})
	for n := 1; n <= 2; n++ {
		e.clk.Advance(time.Hour)
		c, err := e.b.Extend(e.adminP, k.ID, broker.ExtendRequest{TTL: steward.Duration(1000 * 24 * time.Hour), Reason: "still needed"})
		if err != nil {
			t.Fatal(err)
		}
		if want := e.clk.Now().Add(90 * 24 * time.Hour); !c.ExpiresAt.Equal(want) || c.Metadata["extensions"] != strings.Repeat("", 0)+string(rune('0'+n)) {
			t.Fatalf("extension %d: expires %v (want %v), metadata %v", n, c.ExpiresAt, want, c.Metadata)
		}
	}
	evs, _ := e.store.ListEvents(context.Background(), steward.EventFilter{SubjectID: k.ID, Action: steward.ActionCredentialExtend, Limit: 10})
	if len(evs.Items) != 2 {
		t.Fatalf("%d extension events", len(evs.Items))
	}
}

func TestNetworkBoundKeys(t *testing.T) {
	e := newEnv(t, envOpts{})
	k := e.issue(e.ident.ID, broker.IssueRequest{AllowedCIDRs: []string{"10.0.0.0/8"}})
	from := func(addr string) error {
		_, err := e.b.Authenticate(steward.WithRequestSource(context.Background(), steward.RequestSource{Addr: addr}), k.Secret)
		return err
	}
	if err := from("10.1.2.3"); err != nil {
		t.Fatalf("inside: %v", err)
	}
	if err := from("192.0.2.1"); steward.ErrorCode(err) != steward.EUNAUTHORIZED {
		t.Fatalf("outside: %v", err)
	}
	if err := from(""); steward.ErrorCode(err) != steward.EUNAUTHORIZED {
		t.Fatalf("unknown source: %v", err)
	}
	if !slices.Contains(e.usage.outcomes(), broker.OutcomeCIDRDenied) {
		t.Fatalf("outcomes %v", e.usage.outcomes())
	}
}

func TestFailuresFromOneSourceAreRateLimited(t *testing.T) {
	e := newEnv(t, envOpts{failureRate: 1})
	ctx := steward.WithRequestSource(context.Background(), steward.RequestSource{Addr: "192.0.2.9"})
	limited := false
	for n := 0; n < 10 && !limited; n++ {
		_, err := e.b.Authenticate(ctx, broker.NewSecret())
		limited = steward.ErrorCode(err) == steward.ERATELIMIT
	}
	if !limited {
		t.Fatal("never rate limited")
	}
	// Another source is not affected.
	k := e.issue(e.ident.ID, broker.IssueRequest{})
	if _, err := e.b.Authenticate(steward.WithRequestSource(context.Background(), steward.RequestSource{Addr: "192.0.2.10"}), k.Secret); err != nil {
		t.Fatal(err)
	}
}

func TestSigningKeyRotationKeepsOldKeyPublished(t *testing.T) {
	e := newEnv(t, envOpts{})
	cl := e.issue(e.ident.ID, broker.IssueRequest{Type: "client_secret"})
	get := func() string {
		out, err := e.b.Token(context.Background(), broker.TokenRequest{GrantType: "client_credentials",
			Client: broker.ClientAuth{Method: broker.AuthSecretPost, ClientID: cl.ClientID, ClientSecret: cl.Secret}}, steward.RequestSource{})
		if err != nil {
			t.Fatal(err)
		}
		return out.AccessToken
	}
	before := get()
	r := e.post("/api/v1/keys/rotate", e.admin, "", "")
	if r.status != 201 {
		t.Fatalf("rotate keys: %d %s", r.status, r.body)
	}
	if n := len(e.b.JWKS().Keys); n != 2 {
		t.Fatalf("%d keys published, want 2", n)
	}
	if _, err := e.b.Authenticate(context.Background(), before); err != nil {
		t.Fatalf("token of the old key: %v", err)
	}
	after := get()
	if _, err := e.b.Authenticate(context.Background(), after); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	// Exchanged tokens live up to 15 minutes: the old key stays that long.
	e.clk.Advance(12 * time.Minute)
	if n := len(e.b.JWKS().Keys); n != 2 {
		t.Fatalf("%d keys published while exchanged tokens may live, want 2", n)
	}
	e.clk.Advance(5 * time.Minute)
	if n := len(e.b.JWKS().Keys); n != 1 {
		t.Fatalf("%d keys published after the old tokens expired, want 1", n)
	}
	var keys struct{ Items []steward.SigningKey }
	e.get("/api/v1/keys", e.admin).json(t, &keys)
	if len(keys.Items) != 2 || strings.Contains(string(e.get("/api/v1/keys", e.admin).body), "sb1:") {
		t.Fatalf("keys %+v", keys)
	}
}

func TestNoSecretAtRestOrInLogs(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, envOpts{open: func(tb testing.TB) steward.Store { return openSQLiteIn(tb, dir) }})
	k := e.issue(e.ident.ID, broker.IssueRequest{})
	cl := e.issue(e.ident.ID, broker.IssueRequest{Type: "client_secret"})
	rot, err := e.b.Rotate(e.adminP, k.ID, broker.RotateRequest{Overlap: dur(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{k.Secret, cl.Secret, rot.Secret}
	e.get("/api/v1/whoami", k.Secret)
	e.get("/api/v1/whoami", rot.Secret)
	e.get("/api/v1/whoami", broker.NewSecret())
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {cl.ClientID}, "client_secret": {cl.Secret}}
	tr := e.post("/oauth2/token", "", "application/x-www-form-urlencoded", form.Encode())
	var tok broker.TokenResponse
	tr.json(t, &tok)
	secrets = append(secrets, tok.AccessToken)
	e.post("/oauth2/introspect", e.admin, "application/x-www-form-urlencoded", url.Values{"token": {tok.AccessToken}}.Encode())
	e.post("/oauth2/revoke", e.admin, "application/x-www-form-urlencoded", url.Values{"token": {tok.AccessToken}}.Encode())
	if err := e.b.FlushLastUsed(context.Background()); err != nil {
		t.Fatal(err)
	}
	var files []string
	entries, _ := os.ReadDir(dir)
	for _, en := range entries {
		files = append(files, filepath.Join(dir, en.Name()))
	}
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("empty secret")
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), s) {
				t.Errorf("%s contains a secret", filepath.Base(f))
			}
		}
		if strings.Contains(e.logs.String(), s) {
			t.Errorf("the log contains a secret")
		}
	}
}

func TestPrivateKeyJWTClients(t *testing.T) {
	e := newEnv(t, envOpts{})
	priv, pub := newClientKey(t)
	pubJSON, _ := json.Marshal(pub)
	cl := e.issue(e.ident.ID, broker.IssueRequest{Type: "private_key_jwt", PublicJWK: pubJSON, Scopes: []string{"read"}})
	if cl.Secret != "" || cl.ClientID == "" {
		t.Fatalf("issued %+v", cl)
	}
	assertion := signAssertion(t, priv, cl.ClientID, e.b.Issuer()+"/oauth2/token", "jti-1", e.clk.Now().Add(time.Minute))
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {broker.AssertionTypeJWT}, "client_assertion": {assertion}}
	if r := e.post("/oauth2/token", "", "application/x-www-form-urlencoded", form.Encode()); r.status != 200 {
		t.Fatalf("private_key_jwt: %d %s", r.status, r.body)
	}
	if r := e.post("/oauth2/token", "", "application/x-www-form-urlencoded", form.Encode()); r.status != 401 {
		t.Fatalf("replayed assertion: %d %s", r.status, r.body)
	}
	otherPriv, _ := newClientKey(t)
	forged := signAssertion(t, otherPriv, cl.ClientID, e.b.Issuer(), "jti-2", e.clk.Now().Add(time.Minute))
	form.Set("client_assertion", forged)
	if r := e.post("/oauth2/token", "", "application/x-www-form-urlencoded", form.Encode()); r.status != 401 {
		t.Fatalf("forged assertion: %d %s", r.status, r.body)
	}
	if !slices.Contains(e.usage.outcomes(), broker.OutcomeBadSignature) {
		t.Fatalf("outcomes %v", e.usage.outcomes())
	}
}

// HTTP helpers.

type resp struct {
	status int
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (e *env) do(method, path, token, ct, body string) resp {
	e.t.Helper()
	r := testhttp.Do(e.t, e.srv.Client(), method, e.srv.URL+path, token, ct, strings.NewReader(body))
	return resp{status: r.Status, body: r.Body}
}

func (e *env) get(path, token string) resp { return e.do("GET", path, token, "", "") }

func (e *env) post(path, token, ct, body string) resp { return e.do("POST", path, token, ct, body) }
