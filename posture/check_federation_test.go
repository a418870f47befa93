package posture

import (
	"testing"

	"github.com/steward-nhi/steward"
)

var (
	k8s    = &steward.TrustedIssuer{Name: "prod-cluster", Kind: steward.IssuerKubernetes, Issuer: "https://k8s.example.com", Audiences: []string{"https://steward.example.com"}}
	k8sAPI = &steward.TrustedIssuer{Name: "api-aud", Kind: steward.IssuerKubernetes, Issuer: "https://k8s2.example.com", Audiences: []string{"https://kubernetes.default.svc"}}
	gha    = &steward.TrustedIssuer{Name: "github", Kind: steward.IssuerGitHubActions, Issuer: "https://token.actions.githubusercontent.com", Audiences: []string{}}
	ghes   = &steward.TrustedIssuer{Name: "ghes", Kind: steward.IssuerGitHubActions, Issuer: "https://ghe.example.com/_services/token", Audiences: []string{}}
	gitlab = &steward.TrustedIssuer{Name: "gitlab", Kind: steward.IssuerGitLabCI, Issuer: "https://gitlab.com", Audiences: []string{"https://steward.example.com"}}
	spire  = &steward.TrustedIssuer{Name: "spire", Kind: steward.IssuerSPIFFE, Issuer: "spiffe://example.org", Audiences: []string{"steward"}}
	oidc   = &steward.TrustedIssuer{Name: "idp", Kind: steward.IssuerOIDC, Issuer: "https://idp.example.com", Audiences: []string{"steward"}}
)

// fed gives the input one binding per (issuer, subject, claims) triple.
func fed(bs ...*steward.FederationBinding) func(*Input) {
	return func(x *Input) {
		x.Identity.Kind, x.Identity.Provider = steward.KindWorkload, "steward"
		x.Federation = &Federation{Bindings: bs, Issuers: map[string]*steward.TrustedIssuer{}}
		for _, ti := range []*steward.TrustedIssuer{k8s, k8sAPI, gha, ghes, gitlab, spire, oidc} {
			x.Federation.Issuers[ti.Name] = ti
		}
		for _, b := range bs {
			x.Credentials = append(x.Credentials, cred(b.ID, steward.CredentialTypeFederated))
		}
	}
}

func bind(id, issuer, sub string, claims ...string) *steward.FederationBinding {
	b := &steward.FederationBinding{ID: id, IdentityID: "nhi_1", Issuer: issuer, Subject: sub, Claims: map[string]string{},
		CreatedAt: *ago(5), Status: steward.CredentialActive}
	for n := 0; n+1 < len(claims); n += 2 {
		b.Claims[claims[n]] = claims[n+1]
	}
	return b
}

func withCreds(cs ...*steward.Credential) func(*Input) {
	return func(x *Input) { x.Credentials = append(x.Credentials, cs...) }
}

func TestCheckBindingBroad(t *testing.T) {
	runCheck(t, checkBindingBroad, []checkCase{
		{"a Kubernetes binding naming one service account is narrow", in(fed(bind("crd_b", "prod-cluster", "system:serviceaccount:prod:billing"))), 0, "", ""},
		{"a wildcard subject admits every workload of the issuer", in(fed(bind("crd_b", "prod-cluster", "*"))), 1, steward.SeverityHigh, "unpinned"},
		{"a Kubernetes binding with any service account of a namespace is broad", in(fed(bind("crd_b", "prod-cluster", "system:serviceaccount:prod:*"))), 1, steward.SeverityMedium, "unpinned"},
		{"a Kubernetes binding fixing the service account by claim is narrow", in(fed(bind("crd_b", "prod-cluster", "system:serviceaccount:prod:*",
			"kubernetes.io.serviceaccount.name", "billing"))), 0, "", ""},
		{"a GitHub binding of a repository on any branch is broad", in(fed(bind("crd_b", "github", "repo:acme/app:*"))), 1, steward.SeverityMedium, "unpinned"},
		{"a GitHub binding of the main branch is narrow", in(fed(bind("crd_b", "github", "repo:acme/app:ref:refs/heads/main"))), 0, "", ""},
		{"a GitHub binding of a production environment by claim is narrow", in(fed(bind("crd_b", "github", "repo:acme/app:*", "environment", "prod"))), 0, "", ""},
		{"a claim pattern of * constrains nothing", in(fed(bind("crd_b", "github", "repo:acme/app:ref:refs/heads/main", "environment", "*"))), 1, "", "wildcard_claims"},
		{"a GitLab binding of every project of a group is broad", in(fed(bind("crd_b", "gitlab", "project_path:acme/*"))), 1, "", "unpinned"},
		{"a SPIFFE binding of a path prefix is broad", in(fed(bind("crd_b", "spire", "spiffe://example.org/ns/prod/*"))), 1, "", "unpinned"},
		{"a SPIFFE binding of one SPIFFE ID is narrow", in(fed(bind("crd_b", "spire", "spiffe://example.org/ns/prod/sa/billing"))), 0, "", ""},
		{"an OIDC binding with a wildcard subject is broad", in(fed(bind("crd_b", "idp", "svc-*"))), 1, "", "unpinned"},
		{"a removed binding is not judged", in(fed(func() *steward.FederationBinding {
			b := bind("crd_b", "prod-cluster", "*")
			b.Status = steward.CredentialRevoked
			return b
		}())), 0, "", ""},
		{"a binding of a deleted issuer is not judged", in(fed(bind("crd_b", "gone", "*"))), 0, "", ""},
		{"a revoked identity is not judged", in(fed(bind("crd_b", "prod-cluster", "*")), func(x *Input) { x.Identity.Status = steward.StatusRevoked }), 0, "", ""},
		{"without federation configured the check is silent", in(), 0, "", ""},
	})
}

func TestCheckIssuerUnrestricted(t *testing.T) {
	runCheck(t, checkIssuerUnrestricted, []checkCase{
		{"an issuer with Steward's own audience is restricted", in(fed(bind("crd_b", "prod-cluster", "system:serviceaccount:prod:billing"))), 0, "", ""},
		{"an issuer accepting the Kubernetes API server's audience is not", in(fed(bind("crd_b", "api-aud", "system:serviceaccount:prod:billing"))), 1, steward.SeverityMedium, "shared_audiences"},
		{"GitHub Actions without a pinned organisation admits any repository", in(fed(bind("crd_b", "github", "repo:*:ref:refs/heads/main"))), 1, steward.SeverityCritical, "problems"},
		{"GitHub Actions pinned to the organisation by subject is restricted", in(fed(bind("crd_b", "github", "repo:acme/app:ref:refs/heads/main"))), 0, "", ""},
		{"GitHub Actions pinned by repository_owner_id is restricted", in(fed(bind("crd_b", "github", "repo:*:environment:prod", "repository_owner_id", "1234"))), 0, "", ""},
		{"a GitHub Enterprise Server issuer is the organisation's own", in(fed(bind("crd_b", "ghes", "repo:*:ref:refs/heads/main"))), 0, "", ""},
		{"gitlab.com without a pinned group admits any project", in(fed(bind("crd_b", "gitlab", "project_path:*:ref_type:branch:ref:main"))), 1, steward.SeverityCritical, "problems"},
		{"gitlab.com pinned by namespace_id is restricted", in(fed(bind("crd_b", "gitlab", "project_path:*", "namespace_id", "42"))), 0, "", ""},
	})
}

func TestCheckStaticSecretRetained(t *testing.T) {
	narrow := bind("crd_b", "prod-cluster", "system:serviceaccount:prod:billing")
	runCheck(t, checkStaticSecretRetained, []checkCase{
		{"a federated workload without static secrets is fine", in(fed(narrow)), 0, "", ""},
		{"a federated workload still holding an API key", in(fed(narrow), withCreds(cred("crd_k", steward.CredentialTypeAPIKey))), 1, steward.SeverityMedium, "used_since_binding"},
		{"a client secret still in use after the binding names its last use", in(fed(narrow), withCreds(cred("crd_k", steward.CredentialTypeClientSecret,
			func(c *steward.Credential) { c.LastUsedAt = ago(1) }))), 1, "", "last_used_at"},
		{"a key pair for private_key_jwt is no standing secret", in(fed(narrow), withCreds(cred("crd_k", steward.CredentialTypePrivateKeyJWT))), 0, "", ""},
		{"a secret expiring within a day is on its way out", in(fed(narrow), withCreds(cred("crd_k", steward.CredentialTypeAPIKey,
			func(c *steward.Credential) { c.ExpiresAt = ahead(0) }))), 0, "", ""},
		{"a revoked secret is retired", in(fed(narrow), withCreds(cred("crd_k", steward.CredentialTypeAPIKey,
			func(c *steward.Credential) { c.Status = steward.CredentialRevoked }))), 0, "", ""},
		{"an API key without a binding is another check's business", in(fed(), withCreds(cred("crd_k", steward.CredentialTypeAPIKey))), 0, "", ""},
		{"a removed binding does not count", in(fed(func() *steward.FederationBinding {
			b := bind("crd_b", "prod-cluster", "system:serviceaccount:prod:billing")
			b.Status = steward.CredentialRevoked
			return b
		}()), withCreds(cred("crd_k", steward.CredentialTypeAPIKey))), 0, "", ""},
	})
}

// TestFederationFindingsGolden pins what the federation checks report
// (titles, severities, OWASP and CSF mapping, evidence, remediation) for a
// small estate: go test ./posture -run Golden -update rewrites it.
func TestFederationFindingsGolden(t *testing.T) {
	subjects := []goldenSubject{
		{"wildcard kubernetes binding", in(fed(bind("crd_b1", "prod-cluster", "*")))},
		{"github any branch of any organisation", in(fed(bind("crd_b2", "github", "repo:*", "environment", "*")))},
		{"kubernetes API audience", in(fed(bind("crd_b3", "api-aud", "system:serviceaccount:prod:billing")))},
		{"federated workload with a used API key", in(fed(bind("crd_b4", "spire", "spiffe://example.org/billing")),
			withCreds(cred("crd_k1", steward.CredentialTypeAPIKey, func(c *steward.Credential) { c.LastUsedAt = ago(1) }),
				cred("crd_k2", steward.CredentialTypeClientSecret)))},
		{"narrow and clean", in(fed(bind("crd_b5", "prod-cluster", "system:serviceaccount:prod:billing")))},
	}
	findingsGolden(t, "federation_findings.golden.json", []Check{checkBindingBroad, checkIssuerUnrestricted, checkStaticSecretRetained}, subjects)
}

// TestFederationRulesAreWellFormed keeps the rule tables usable: every
// issuer kind has pins, every pin says how to fix it.
func TestFederationRulesAreWellFormed(t *testing.T) {
	for _, k := range steward.IssuerKinds {
		if len(bindingPins[k]) == 0 {
			t.Errorf("issuer kind %s has no binding pins", k)
		}
		for _, p := range bindingPins[k] {
			if p.What == "" || p.Fix == "" || (p.Subject == nil && len(p.Claims) == 0) {
				t.Errorf("%s pin %+v is incomplete", k, p)
			}
		}
	}
	for _, p := range publicIssuers {
		if p.Tenant.Fix == "" || p.Tenant.What == "" {
			t.Errorf("public issuer %s has no tenant fix", p.URL)
		}
	}
	for _, a := range []string{"https://kubernetes.default.svc", "https://kubernetes.default.svc.cluster.local", "sts.amazonaws.com", "https://github.com/acme"} {
		if sharedAudience(a) == "" {
			t.Errorf("%s is not recognised as a shared audience", a)
		}
	}
	for _, a := range []string{"https://steward.example.com", "steward", "https://github.com/acme/app"} {
		if w := sharedAudience(a); w != "" {
			t.Errorf("%s is taken for %s's audience", a, w)
		}
	}
}
