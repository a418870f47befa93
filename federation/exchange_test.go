package federation_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/federation"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

const aud = "https://steward.test"

func TestAGitHubActionsTokenIsExchangedOnceForAShortLivedToken(t *testing.T) {
	e := newEnv(t, nil)
	gh := newTestIssuer(t)
	e.issuer(steward.TrustedIssuer{Name: "gha", Kind: steward.IssuerGitHubActions, Issuer: gh.url(), Discovery: true, Audiences: []string{aud}})
	deploy := e.identity("deployer", steward.KindWorkload, "deploy:write", "read")
	e.bind(deploy.ID, "gha", "repo:acme/app:*", map[string]string{"ref": "refs/heads/main", "repository_id": "123456"})

	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			fedTok := gh.mint(alg, githubClaims(gh.url(), aud, "acme/app", "refs/heads/main", e.clk.Now()))
			out := e.mustExchange(federation.ExchangeRequest{SubjectToken: fedTok, Scope: "read", Resources: []string{"https://api.example.com/"}})
			if out.TokenType != "Bearer" || out.IssuedTokenType != broker.IssuedTokenType || out.ExpiresIn != 900 {
				t.Fatalf("response %+v", out)
			}
			p, err := e.b.Authenticate(context.Background(), out.AccessToken)
			if err == nil {
				t.Fatalf("a token for another audience authenticated at Steward: %+v", p)
			}
			in := e.introspect(out.AccessToken)
			if !in.Active || in.Sub != deploy.ID || in.Scope != "read" || in.Aud[0] != "https://api.example.com/" ||
				in.Federated == nil || in.Federated.Issuer != gh.url() || in.Federated.Subject != "repo:acme/app:ref:refs/heads/main" {
				t.Fatalf("introspection %+v (fed %+v)", in, in.Federated)
			}
			_, err = e.exchange(federation.ExchangeRequest{SubjectToken: fedTok})
			wantOAuth(t, err, "invalid_grant", "replay")
		})
	}
	// Without audience the token is for Steward itself, and carries the
	// identity's scopes; the usage event records the provenance.
	out := e.mustExchange(federation.ExchangeRequest{SubjectToken: gh.mint(jose.ES256, githubClaims(gh.url(), aud, "acme/app", "refs/heads/main", e.clk.Now())),
		SubjectTokenType: federation.TokenTypeIDToken})
	if out.Scope != "deploy:write read" {
		t.Fatalf("scope %q", out.Scope)
	}
	ev := e.usage.last()
	if ev.Action != federation.ActionExchange || ev.Outcome != "ok" || ev.IdentityID != deploy.ID || ev.Attributes["federated_iss"] != gh.url() {
		t.Fatalf("usage event %+v", ev)
	}
	p, err := e.b.Authenticate(context.Background(), out.AccessToken)
	if err != nil || p.IdentityID != deploy.ID {
		t.Fatalf("authenticate: %v %+v", err, p)
	}
	if ev := e.usage.last(); ev.Attributes["federated_sub"] != "repo:acme/app:ref:refs/heads/main" {
		t.Fatalf("authentication usage event has no provenance: %+v", ev)
	}
	// Revoking the identity makes the exchanged token inactive at once.
	if _, err := e.svc.TransitionIdentity(e.admin, deploy.ID, steward.TransitionRevoke, steward.TransitionRequest{Reason: "incident"}); err != nil {
		t.Fatal(err)
	}
	if in := e.introspect(out.AccessToken); in.Active {
		t.Fatal("token of a revoked identity is active")
	}
	if _, err := e.b.Authenticate(context.Background(), out.AccessToken); err == nil {
		t.Fatal("token of a revoked identity authenticates")
	}
	// Revocation revoked the identity's credentials, its binding with them.
	_, err = e.exchange(federation.ExchangeRequest{SubjectToken: gh.mint(jose.ES256, githubClaims(gh.url(), aud, "acme/app", "refs/heads/main", e.clk.Now()))})
	wantOAuth(t, err, "invalid_grant", "no binding")
}

func TestRemovingABindingDeactivatesItsTokens(t *testing.T) {
	e := newEnv(t, nil)
	k8s := newTestIssuer(t)
	e.issuer(steward.TrustedIssuer{Name: "prod-cluster", Kind: steward.IssuerKubernetes, Issuer: k8s.url(), JWKSURI: k8s.url() + "/keys", Audiences: []string{aud}})
	app := e.identity("billing", steward.KindWorkload, "read")
	b := e.bind(app.ID, "prod-cluster", "system:serviceaccount:billing:*", map[string]string{"kubernetes.io.namespace": "billing"})
	out := e.mustExchange(federation.ExchangeRequest{SubjectToken: k8s.mint(jose.RS256, kubeClaims(k8s.url(), aud, "billing", "api", e.clk.Now()))})
	if !e.introspect(out.AccessToken).Active {
		t.Fatal("fresh token inactive")
	}
	if _, err := e.fed.Unbind(e.admin, b.ID, "moved to another cluster"); err != nil {
		t.Fatal(err)
	}
	if e.introspect(out.AccessToken).Active {
		t.Fatal("token of a removed binding is active")
	}
	_, err := e.exchange(federation.ExchangeRequest{SubjectToken: k8s.mint(jose.RS256, kubeClaims(k8s.url(), aud, "billing", "api", e.clk.Now()))})
	wantOAuth(t, err, "invalid_grant", "no binding")
	bs, err := e.fed.ListBindings(e.admin, app.ID)
	if err != nil || len(bs) != 1 || bs[0].Status != steward.CredentialRevoked {
		t.Fatalf("bindings: %v %+v", err, bs)
	}
	evs, err := e.svc.ListEvents(e.admin, steward.EventFilter{IdentityID: app.ID})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range evs.Items {
		actions = append(actions, ev.Action)
	}
	if !strings.Contains(strings.Join(actions, ","), steward.ActionBindingCreate) || !strings.Contains(strings.Join(actions, ","), steward.ActionBindingRemove) {
		t.Fatalf("identity history %v", actions)
	}
}

func wantOAuth(t *testing.T, err error, code, reason string) {
	t.Helper()
	var oe *broker.OAuthError
	if !errors.As(err, &oe) {
		t.Fatalf("got %v, want an OAuth error %s", err, code)
	}
	if oe.Code != code || !strings.Contains(strings.ToLower(oe.Description), strings.ToLower(reason)) {
		t.Fatalf("got %s (%s), want %s mentioning %q", oe.Code, oe.Description, code, reason)
	}
}

func TestBadInputIsRefusedWithAReasonAndNoToken(t *testing.T) {
	e := newEnv(t, nil)
	gh := newTestIssuer(t)
	other := newTestIssuer(t)
	ti := e.issuer(steward.TrustedIssuer{Name: "gha", Kind: steward.IssuerGitHubActions, Issuer: gh.url(), JWKSURI: gh.url() + "/keys",
		Audiences: []string{aud}, MaxTokenAge: steward.Duration(time.Hour)})
	_ = ti
	app := e.identity("app", steward.KindWorkload, "read")
	e.bind(app.ID, "gha", "repo:acme/app:ref:refs/heads/main", nil)
	// Two identities bound to the same repository: ambiguous.
	e.bind(e.identity("twin-a", steward.KindWorkload).ID, "gha", "repo:acme/twin:*", nil)
	e.bind(e.identity("twin-b", steward.KindWorkload).ID, "gha", "repo:acme/twin:ref:*", nil)
	// A human-service identity that is not an agent, for the actor check.
	svc := e.identity("svc", steward.KindServiceAccount, "read")
	e.bind(svc.ID, "gha", "repo:acme/svc:*", nil)
	// A suspended identity: a revoked link at the subject.
	paused := e.identity("paused", steward.KindWorkload, "read")
	e.bind(paused.ID, "gha", "repo:acme/paused:*", nil)
	if _, err := e.svc.TransitionIdentity(e.admin, paused.ID, steward.TransitionSuspend, steward.TransitionRequest{Reason: "incident"}); err != nil {
		t.Fatal(err)
	}
	now := e.clk.Now()
	claims := func(mod func(c map[string]any)) map[string]any {
		c := githubClaims(gh.url(), aud, "acme/app", "refs/heads/main", now)
		c["jti"] = strings.ReplaceAll(t.Name(), "/", "-") + "-" + time.Now().String()
		if mod != nil {
			mod(c)
		}
		return c
	}
	good := func(mod func(c map[string]any)) string { return gh.mint(jose.ES256, claims(mod)) }
	pub, _ := json.Marshal(jose.JSONWebKey{Key: mustECKey(t).Public()})
	hmacTok := signWith(t, jose.HS256, pub, "ES256-2", claims(nil))
	noneTok := unsignedToken(claims(nil))
	replayed := good(nil)
	e.mustExchange(federation.ExchangeRequest{SubjectToken: replayed})

	cases := []struct {
		name   string
		req    federation.ExchangeRequest
		code   string
		reason string
	}{
		{"an expired token", federation.ExchangeRequest{SubjectToken: good(func(c map[string]any) { c["exp"] = now.Add(-2 * time.Minute).Unix() })}, "invalid_grant", "expired"},
		{"a token not yet valid", federation.ExchangeRequest{SubjectToken: good(func(c map[string]any) { c["nbf"] = now.Add(5 * time.Minute).Unix() })}, "invalid_grant", "not valid before"},
		{"a token older than the issuer allows", federation.ExchangeRequest{SubjectToken: good(func(c map[string]any) { c["iat"] = now.Add(-2 * time.Hour).Unix() })}, "invalid_grant", "older"},
		{"a wrong audience", federation.ExchangeRequest{SubjectToken: good(func(c map[string]any) { c["aud"] = "https://elsewhere" })}, "invalid_grant", "audience"},
		{"an unknown issuer", federation.ExchangeRequest{SubjectToken: other.mint(jose.ES256, githubClaims(other.url(), aud, "acme/app", "refs/heads/main", now))}, "invalid_grant", "not trusted"},
		{"iss not matching the issuer's URL", federation.ExchangeRequest{SubjectToken: good(func(c map[string]any) { c["iss"] = gh.url() + "/" })}, "invalid_grant", "does not match"},
		{"an unknown kid after refresh", federation.ExchangeRequest{SubjectToken: signWith(t, jose.ES256, mustECKey(t), "nope", claims(nil))}, "invalid_grant", "even after a refresh"},
		{"a signature by another key", federation.ExchangeRequest{SubjectToken: signWith(t, jose.ES256, mustECKey(t), "ES256-2", claims(nil))}, "invalid_grant", "does not verify"},
		{"alg none", federation.ExchangeRequest{SubjectToken: noneTok}, "invalid_grant", "alg none"},
		{"an HMAC with the public key as secret", federation.ExchangeRequest{SubjectToken: hmacTok}, "invalid_grant", "hmac"},
		{"a replayed token", federation.ExchangeRequest{SubjectToken: replayed}, "invalid_grant", "replay"},
		{"no matching binding", federation.ExchangeRequest{SubjectToken: good(func(c map[string]any) { c["sub"] = "repo:acme/app:ref:refs/heads/dev" })}, "invalid_grant", "no binding"},
		{"two matching bindings", federation.ExchangeRequest{SubjectToken: good(func(c map[string]any) { c["sub"] = "repo:acme/twin:ref:refs/heads/main" })}, "invalid_grant", "ambiguous"},
		{"scope escalation", federation.ExchangeRequest{SubjectToken: good(nil), Scope: "read admin"}, "invalid_scope", "admin"},
		{"actor not an agent", federation.ExchangeRequest{SubjectToken: good(nil), ActorToken: good(func(c map[string]any) { c["sub"] = "repo:acme/svc:ref:x" })}, "invalid_grant", "not ai_agent"},
		{"a malformed token", federation.ExchangeRequest{SubjectToken: "not.a.jwt"}, "invalid_request", "malformed"},
		{"no subject token", federation.ExchangeRequest{SubjectTokenType: federation.TokenTypeJWT}, "invalid_request", "subject_token is required"},
		{"an unknown token type", federation.ExchangeRequest{SubjectToken: good(nil), SubjectTokenType: "urn:x"}, "invalid_request", "token types"},
		{"actor token without its type", federation.ExchangeRequest{SubjectToken: good(nil), ActorToken: good(nil), ActorTokenType: "-"}, "invalid_request", "token types"},
		{"a resource with a fragment", federation.ExchangeRequest{SubjectToken: good(nil), Resources: []string{"https://api.example.com/#x"}}, "invalid_target", "fragment"},
		{"two audiences", federation.ExchangeRequest{SubjectToken: good(nil), Audiences: []string{"a", "b"}}, "invalid_target", "one"},
		{"jwt-bearer without assertion", federation.ExchangeRequest{GrantType: federation.GrantJWTBearer}, "invalid_request", "assertion"},
		{"jwt-bearer with a subject token too", federation.ExchangeRequest{GrantType: federation.GrantJWTBearer, Assertion: good(nil), SubjectToken: good(nil)}, "invalid_request", "not subject"},
		{"a relative resource", federation.ExchangeRequest{SubjectToken: good(nil), Resources: []string{"/api/records"}}, "invalid_target", "absolute URI"},
		{"an audience with spaces", federation.ExchangeRequest{SubjectToken: good(nil), Audiences: []string{"a b"}}, "invalid_target", "one name"},
		{"an unsupported requested token type", federation.ExchangeRequest{SubjectToken: good(nil), RequestedTokenType: federation.TokenTypeIDToken}, "invalid_request", "requested_token_type"},
		{"actor_token_type without actor_token", federation.ExchangeRequest{SubjectToken: good(nil), ActorTokenType: federation.TokenTypeJWT}, "invalid_request", "without actor_token"},
		{"a suspended identity", federation.ExchangeRequest{SubjectToken: good(func(c map[string]any) { c["sub"] = "repo:acme/paused:ref:x" })}, "invalid_grant", "suspended"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.exchange(tc.req)
			wantOAuth(t, err, tc.code, tc.reason)
			ev := e.usage.last()
			if ev.Action != federation.ActionExchange || ev.Outcome == "ok" || ev.Reason == "" {
				t.Fatalf("usage event %+v", ev)
			}
		})
	}
}

func mustECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func unsignedToken(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(string(b)) + "."
}

func TestJWTBearerGrantExchangesAnAssertion(t *testing.T) {
	e := newEnv(t, nil)
	gl := newTestIssuer(t)
	e.issuer(steward.TrustedIssuer{Name: "gitlab", Kind: steward.IssuerGitLabCI, Issuer: gl.url(), Discovery: true})
	app := e.identity("ci", steward.KindWorkload, "read")
	e.bind(app.ID, "gitlab", "project_path:acme/app:ref_type:branch:ref:main", map[string]string{"ref_protected": "true"})
	// Without configured audiences the token endpoint is the audience.
	out := e.mustExchange(federation.ExchangeRequest{GrantType: federation.GrantJWTBearer,
		Assertion: gl.mint(jose.RS256, gitlabClaims(gl.url(), aud+"/oauth2/token", "acme/app", "main", e.clk.Now()))})
	if in := e.introspect(out.AccessToken); !in.Active || in.Sub != app.ID {
		t.Fatalf("introspection %+v", in)
	}
}

func TestAnUnknownKidBurstFetchesKeysOnceAndNewKeysAreFound(t *testing.T) {
	e := newEnv(t, nil)
	k8s := newTestIssuer(t)
	e.issuer(steward.TrustedIssuer{Name: "k8s", Kind: steward.IssuerKubernetes, Issuer: k8s.url(), Discovery: true, Audiences: []string{aud}})
	app := e.identity("app", steward.KindWorkload, "read")
	e.bind(app.ID, "k8s", "system:serviceaccount:prod:app", nil)
	e.mustExchange(federation.ExchangeRequest{SubjectToken: k8s.mint(jose.ES256, kubeClaims(k8s.url(), aud, "prod", "app", e.clk.Now()))})
	before := k8s.fetches.Load()
	var wg sync.WaitGroup
	for n := 0; n < 1000; n++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = e.exchange(federation.ExchangeRequest{SubjectToken: signWith(t, jose.ES256, mustECKeyB(), "unknown-kid", kubeClaims(k8s.url(), aud, "prod", "app", e.clk.Now()))})
		}()
	}
	wg.Wait()
	if got := k8s.fetches.Load() - before; got > 1 {
		t.Fatalf("a burst of unknown kids fetched the keys %d times, want at most 1", got)
	}
	// The issuer rotates: the new kid is fetched once the limiter allows.
	k8s.rotate(jose.ES256)
	e.clk.Advance(31 * time.Second)
	e.mustExchange(federation.ExchangeRequest{SubjectToken: k8s.mint(jose.ES256, kubeClaims(k8s.url(), aud, "prod", "app", e.clk.Now()))})
}

func mustECKeyB() *ecdsa.PrivateKey {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return k
}

func TestVerificationFailsClosedWhenKeysCannotBeFetched(t *testing.T) {
	e := newEnv(t, nil)
	k8s := newTestIssuer(t)
	k8s.cache = "max-age=60"
	e.issuer(steward.TrustedIssuer{Name: "k8s", Kind: steward.IssuerKubernetes, Issuer: k8s.url(), JWKSURI: k8s.url() + "/keys", Audiences: []string{aud}})
	app := e.identity("app", steward.KindWorkload, "read")
	e.bind(app.ID, "k8s", "system:serviceaccount:prod:app", nil)
	e.mustExchange(federation.ExchangeRequest{SubjectToken: k8s.mint(jose.ES256, kubeClaims(k8s.url(), aud, "prod", "app", e.clk.Now()))})
	k8s.down.Store(true)
	// Within max-age the cached keys still verify.
	e.mustExchange(federation.ExchangeRequest{SubjectToken: k8s.mint(jose.ES256, kubeClaims(k8s.url(), aud, "prod", "app", e.clk.Now()))})
	e.clk.Advance(2 * time.Minute)
	_, err := e.exchange(federation.ExchangeRequest{SubjectToken: k8s.mint(jose.ES256, kubeClaims(k8s.url(), aud, "prod", "app", e.clk.Now()))})
	wantOAuth(t, err, "invalid_grant", "could not be fetched")
}

func TestDelegatedAgentTokens(t *testing.T) {
	e := newEnv(t, nil)
	k8s := newTestIssuer(t)
	e.issuer(steward.TrustedIssuer{Name: "k8s", Kind: steward.IssuerKubernetes, Issuer: k8s.url(), Discovery: true, Audiences: []string{aud}})
	user := e.identity("records-service", steward.KindServiceAccount, "records:read", "records:delete", "mail:send")
	agent := e.identity("assistant", steward.KindAIAgent, "records:read", "records:delete", "web:search")
	agent2 := e.identity("sub-agent", steward.KindAIAgent, "records:read")
	e.bind(user.ID, "k8s", "system:serviceaccount:prod:records", nil)
	e.bind(agent.ID, "k8s", "system:serviceaccount:agents:assistant", nil)
	e.bind(agent2.ID, "k8s", "system:serviceaccount:agents:sub", nil)
	mint := func(ns, sa string) string {
		return k8s.mint(jose.ES256, kubeClaims(k8s.url(), aud, ns, sa, e.clk.Now()))
	}
	subjectTok := e.mustExchange(federation.ExchangeRequest{SubjectToken: mint("prod", "records")}).AccessToken
	out := e.mustExchange(federation.ExchangeRequest{SubjectToken: subjectTok, SubjectTokenType: federation.TokenTypeAccess, ActorToken: mint("agents", "assistant")})
	in := e.introspect(out.AccessToken)
	if !in.Active || in.Sub != user.ID || in.Act == nil || in.Act.Subject != agent.ID || in.Act.Act != nil || in.Scope != "records:delete records:read" {
		t.Fatalf("delegated token: %+v act %+v", in, in.Act)
	}
	// Scope beyond the intersection is refused.
	_, err := e.exchange(federation.ExchangeRequest{SubjectToken: subjectTok, SubjectTokenType: federation.TokenTypeAccess, ActorToken: mint("agents", "assistant"), Scope: "mail:send"})
	wantOAuth(t, err, "invalid_scope", "mail:send")
	// A sub-agent acts for the delegated token: the chain nests.
	out2 := e.mustExchange(federation.ExchangeRequest{SubjectToken: out.AccessToken, SubjectTokenType: federation.TokenTypeAccess, ActorToken: mint("agents", "sub")})
	in2 := e.introspect(out2.AccessToken)
	if in2.Act == nil || in2.Act.Subject != agent2.ID || in2.Act.Act == nil || in2.Act.Act.Subject != agent.ID || in2.Scope != "records:read" {
		t.Fatalf("chained token: %+v act %+v", in2, in2.Act)
	}
	// A third link is too deep.
	_, err = e.exchange(federation.ExchangeRequest{SubjectToken: out2.AccessToken, SubjectTokenType: federation.TokenTypeAccess, ActorToken: mint("agents", "assistant")})
	wantOAuth(t, err, "invalid_grant", "deep")
	// Revoking the first agent deactivates both derived tokens, not the
	// subject's own token.
	if _, err := e.svc.TransitionIdentity(e.admin, agent.ID, steward.TransitionSuspend, steward.TransitionRequest{Reason: "incident"}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{out.AccessToken, out2.AccessToken} {
		if e.introspect(tok).Active {
			t.Fatal("a token derived through a suspended agent is active")
		}
		if _, err := e.b.Authenticate(context.Background(), tok); err == nil {
			t.Fatal("a token derived through a suspended agent authenticates")
		}
	}
	if !e.introspect(subjectTok).Active {
		t.Fatal("the subject's own token was deactivated")
	}
	_, err = e.exchange(federation.ExchangeRequest{SubjectToken: out.AccessToken, SubjectTokenType: federation.TokenTypeAccess, ActorToken: mint("agents", "sub")})
	wantOAuth(t, err, "invalid_grant", "not active")
	// Revoking the token it derives from deactivates a delegated token.
	out3 := e.mustExchange(federation.ExchangeRequest{SubjectToken: subjectTok, SubjectTokenType: federation.TokenTypeAccess, ActorToken: mint("agents", "sub")})
	if err := e.b.RevokeToken(e.admin, broker.Caller{Principal: steward.PrincipalFrom(e.admin)}, subjectTok); err != nil {
		t.Fatal(err)
	}
	if e.introspect(out3.AccessToken).Active {
		t.Fatal("a token derived from a revoked token is active")
	}
}

func TestReplayProtectionHoldsAcrossNodes(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		if eng.Name != "postgres" {
			continue
		}
		t.Run(eng.Name, func(t *testing.T) {
			url := sqltest.PostgresURL(t)
			node := func() steward.FederationStore {
				s, err := sqlstore.Open(context.Background(), url, sqlstore.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			a := newEnvOn(t, node())
			gh := newTestIssuer(t)
			a.issuer(steward.TrustedIssuer{Name: "gha", Kind: steward.IssuerGitHubActions, Issuer: gh.url(), Discovery: true, Audiences: []string{aud}})
			app := a.identity("app", steward.KindWorkload, "read")
			a.bind(app.ID, "gha", "repo:acme/app:*", nil)
			// A second node on the same database.
			b := newEnvOn(t, node())
			tok := gh.mint(jose.ES256, githubClaims(gh.url(), aud, "acme/app", "refs/heads/main", a.clk.Now()))
			a.mustExchange(federation.ExchangeRequest{SubjectToken: tok})
			_, err := b.exchange(federation.ExchangeRequest{SubjectToken: tok})
			wantOAuth(t, err, "invalid_grant", "replay")
			// The token signed on the second node before the shared record
			// refused the replay is dropped: no usage event names it.
			if ev := b.usage.last(); ev.Outcome != "replayed" || ev.Attributes["jti"] != "" {
				t.Fatalf("the replay's usage event: outcome %q, jti %q", ev.Outcome, ev.Attributes["jti"])
			}
		})
	}
}
