package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

// agent makes the input an active AI agent of provider with these scopes.
func agent(provider string, scopes ...string) func(*Input) {
	return func(x *Input) {
		x.Identity.Kind, x.Identity.Provider, x.Identity.Scopes = steward.KindAIAgent, provider, scopes
	}
}

func scoped(scopes ...string) func(*steward.Credential) {
	return func(c *steward.Credential) { c.Scopes = scopes }
}

func expiring(days int) func(*steward.Credential) {
	return func(c *steward.Credential) { c.ExpiresAt = ahead(days) }
}

func TestCheckAgentStandingWrite(t *testing.T) {
	key := func(mods ...func(*steward.Credential)) func(*Input) {
		return withCreds(cred("crd_k", steward.CredentialTypeAPIKey, mods...))
	}
	runCheck(t, checkAgentStandingWrite, []checkCase{
		{"an agent's API key that may write tickets", in(agent("steward", "tickets:write", "orders:read"), key(scoped("tickets:write", "orders:read"), expiring(30))),
			1, steward.SeverityMedium, "write_scopes"},
		{"a read-only API key is the good state", in(agent("steward", "tickets:write", "orders:read"), key(scoped("orders:read"), expiring(30))), 0, "", ""},
		{"a key that never expires is raised a level", in(agent("steward", "tickets:write"), key(scoped("tickets:write"))), 1, steward.SeverityHigh, "write_scopes"},
		{"an admin scope is raised a level", in(agent("okta", "okta.users.manage"), withCreds(cred("crd_k", "api_token", expiring(30)))),
			1, steward.SeverityHigh, "destructive_scopes"},
		{"an imported key without scopes carries the identity's", in(agent("github", "contents:write"), withCreds(cred("crd_k", "github_pat", expiring(90)))),
			1, "", "scopes_of"},
		{"a secret expiring within a day is short-lived", in(agent("steward", "tickets:write"), key(scoped("tickets:write"), expiring(0))), 0, "", ""},
		{"a federated agent holds no standing secret", in(agent("steward", "tickets:write"), withCreds(cred("crd_f", steward.CredentialTypeFederated))), 0, "", ""},
		{"a key pair for private_key_jwt is no standing secret", in(agent("steward", "tickets:write"), withCreds(cred("crd_p", steward.CredentialTypePrivateKeyJWT))), 0, "", ""},
		{"calling the model is not a write", in(agent("vendor:anthropic", "messages:write", "models:read"), withCreds(cred("crd_k", steward.CredentialTypeAPIKey))), 0, "", ""},
		{"writing files at the model vendor is", in(agent("vendor:openai", "responses.write", "files.write"), withCreds(cred("crd_k", steward.CredentialTypeAPIKey))),
			1, "", "write_scopes"},
		{"a revoked key is not standing", in(agent("steward", "tickets:write"), key(scoped("tickets:write"), func(c *steward.Credential) { c.Status = steward.CredentialRevoked })), 0, "", ""},
		{"a suspended agent is not judged", in(agent("steward", "tickets:write"), key(scoped("tickets:write")), func(x *Input) { x.Identity.Status = steward.StatusSuspended }), 0, "", ""},
		{"a service account is another check's business", in(func(x *Input) { x.Identity.Provider, x.Identity.Scopes = "steward", []string{"tickets:write"} },
			key(scoped("tickets:write"))), 0, "", ""},
	})
}

func TestScopeClass(t *testing.T) {
	for _, tc := range []struct {
		provider, scope, want string
	}{
		{"aws", "s3:GetObject", scopeRead},
		{"aws", "s3:PutObject", scopeWrite},
		{"aws", "iam:PassRole", scopeAdmin},
		{"aws", "s3:*", scopeAdmin},
		{"aws", "AmazonS3FullAccess", scopeAdmin},
		{"aws", "ReadOnlyAccess", scopeRead},
		{"gcp", "roles/storage.objectViewer", scopeRead},
		{"gcp", "roles/storage.objectAdmin", scopeAdmin},
		{"gcp", "roles/bigquery.dataEditor", scopeWrite},
		{"gcp", "roles/editor", scopeAdmin},
		{"azure", "Group.ReadWrite.All", scopeWrite},
		{"azure", "Directory.Read.All", scopeRead},
		{"azure", "rbac/Contributor", scopeWrite},
		{"github", "contents:read", scopeRead},
		{"github", "pull_requests:write", scopeWrite},
		{"kubernetes", "patch:deployments", scopeWrite},
		{"kubernetes", "delete:pods", scopeDelete},
		{"kubernetes", "get:secrets", scopeRead},
		{"vault", "secret/data/payments/*:read", scopeRead},
		{"okta", "okta.users.manage", scopeAdmin},
		{"steward", "deploy:prod", scopeWrite},
		{"vendor:anthropic", "messages:write", scopeRead},
		{"vendor:openai", "files.write", scopeWrite},
		{"vendor:datadog", "dashboards_write", scopeWrite},
		{"slack", "chat:write", scopeWrite},
		{"*", "*", scopeAdmin},
	} {
		if got := scopeClass(tc.provider, tc.scope); got != tc.want {
			t.Errorf("scopeClass(%s, %s) = %q, want %q", tc.provider, tc.scope, got, tc.want)
		}
	}
}

// TestAgentFindingsGolden pins what the agent check reports: go test
// ./posture -run Golden -update rewrites it.
func TestAgentFindingsGolden(t *testing.T) {
	subjects := []goldenSubject{
		{"support agent with a ticket-writing API key", in(agent("steward", "customers:read", "orders:read", "tickets:write"),
			withCreds(cred("crd_a1", steward.CredentialTypeAPIKey, scoped("customers:read", "orders:read", "tickets:write"), expiring(60),
				func(c *steward.Credential) { c.LastUsedAt = ago(1) })))},
		{"deploy agent with a client secret that never expires", in(agent("steward", "deploy:prod", "inventory:write"),
			withCreds(cred("crd_a2", steward.CredentialTypeClientSecret, scoped("deploy:prod", "inventory:write"))))},
		{"cloud agent with an imported admin key", in(agent("gcp", "roles/storage.objectAdmin", "roles/bigquery.jobUser"),
			withCreds(cred("crd_a3", "gcp_sa_key", expiring(300))))},
		{"agent that reads and writes through delegation", in(agent("steward", "orders:read", "tickets:write"),
			withCreds(cred("crd_a4", steward.CredentialTypeAPIKey, scoped("orders:read"), expiring(30))))},
	}
	for _, s := range subjects {
		s.in.Identity.ID = "nhi_agent"
	}
	findingsGolden(t, "agent_findings.golden.json", []Check{checkAgentStandingWrite}, subjects)
}
