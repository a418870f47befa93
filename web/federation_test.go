package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/federation"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/web"
)

// withFederation wires the capabilities and federation, as cmd/steward
// does when federation is on.
func withFederation(e *env, cfg *web.Config) {
	e.t.Helper()
	withCaps(e, cfg)
	f, err := federation.New(federation.Config{Store: e.store, Broker: e.caps.broker, Clock: e.clock, Logger: cfg.Logger})
	if err != nil {
		e.t.Fatal(err)
	}
	e.caps.federation = f
	cfg.Federation = f
}

// TestIdentityPageShowsFederation: the identity page lists the identity's
// bindings and its timeline names binding changes, token exchanges
// (delegated or refused) and uses of exchanged tokens.
func TestIdentityPageShowsFederation(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, withFederation)
	f := e.caps.federation
	if _, err := f.CreateIssuer(admin(), &steward.TrustedIssuer{Name: "gha", Kind: steward.IssuerGitHubActions, Issuer: "https://token.actions.githubusercontent.com",
		JWKS: json.RawMessage(`{"keys":[]}`), Audiences: []string{"https://steward.example.com"}}); err != nil {
		t.Fatal(err)
	}
	kept, err := f.Bind(admin(), e.deployer.ID, federation.BindingInput{Issuer: "gha", Subject: "repo:acme/app:ref:refs/heads/main",
		Claims: map[string]string{"repository_id": "123456"}, Reason: "CI without secrets"})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := f.Bind(admin(), e.deployer.ID, federation.BindingInput{Issuer: "gha", Subject: "repo:acme/old:*"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Unbind(admin(), gone.ID, "repository archived"); err != nil {
		t.Fatal(err)
	}
	at := e.clock.Now().Truncate(time.Microsecond)
	use := func(id, action, outcome string, attrs map[string]string) steward.UsageEvent {
		return steward.UsageEvent{ID: id, Time: at, Kind: steward.UsageAuth, IdentityID: e.deployer.ID, CredentialID: kept.ID, Action: action,
			Subject: "https://token.actions.githubusercontent.com repo:acme/app:ref:refs/heads/main", Outcome: outcome, Reason: "",
			PolicyIDs: []string{}, Attributes: attrs}
	}
	prov := map[string]string{"federated_iss": "https://token.actions.githubusercontent.com", "federated_sub": "repo:acme/app:ref:refs/heads/main"}
	replay := use("use_fed_2", federation.ActionExchange, "replayed", map[string]string{})
	replay.Reason = "the federated token was already exchanged (replay)"
	if err := e.store.AppendUsage(context.Background(), []steward.UsageEvent{
		use("use_fed_1", federation.ActionExchange, "ok", prov),
		replay,
		use("use_fed_3", "GET /api/v1/identities", "ok", prov),
		use("use_fed_4", federation.ActionExchange, "ok", map[string]string{"federated_iss": prov["federated_iss"], "federated_sub": prov["federated_sub"], "act_sub": "nhi_agent"}),
	}); err != nil {
		t.Fatal(err)
	}
	for _, role := range []steward.Role{steward.RoleAdmin, steward.RoleOwner} {
		t.Run(string(role), func(t *testing.T) {
			b := e.browserFor(t)
			b.signIn(role)
			b.get("/identities/" + e.deployer.ID)
			b.expect(http.StatusOK, "Federation bindings", `data-binding="`+kept.ID+`"`, "repo:acme/app:ref:refs/heads/main", "repository_id=123456",
				`data-binding="`+gone.ID+`"`, "removed",
				"Federation binding added", "issuer gha · subject repo:acme/app:ref:refs/heads/main · repository_id=123456",
				"Federation binding removed", "Reason: repository archived",
				"Token exchanged", "Token exchanged (delegated)", "acting: nhi_agent", "Token exchange refused (replayed)",
				"Authenticated with an exchanged token", "federated token of https://token.actions.githubusercontent.com for repo:acme/app:ref:refs/heads/main")
		})
	}
	t.Run("an identity without bindings says so", func(t *testing.T) {
		b := e.browserFor(t)
		b.signIn(steward.RoleAdmin)
		b.get("/identities/" + e.bot.ID)
		b.expect(http.StatusOK, "No federation bindings")
	})
}

// TestIdentityPageWithoutFederation: with federation off the section is
// left out.
func TestIdentityPageWithoutFederation(t *testing.T) {
	e := newEnv(t, sqltest.OpenSQLite, withCaps)
	b := e.browserFor(t)
	b.signIn(steward.RoleAdmin)
	b.get("/identities/" + e.deployer.ID)
	b.expect(http.StatusOK, "Timeline")
	b.lacks("Federation bindings")
}
