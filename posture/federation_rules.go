package posture

import (
	"regexp"
	"strings"

	"github.com/steward-nhi/steward"
)

// The federation checks read their rules from the tables below: what a
// binding of each issuer kind must pin to admit one workload rather than
// many, which issuers anyone can obtain tokens from, and which audiences
// are shared with other services. Adding a rule is one row.

// pin is one thing a binding must fix: it is fixed when the subject
// pattern matches Subject, or when one of Claims has a pattern without a
// wildcard.
type pin struct {
	What    string         // "branch or environment"
	Claims  []string       // claim names any one of which fixes it
	Subject *regexp.Regexp // a subject pattern shape that fixes it
	Fix     string         // how to fix it, one clause
}

// fixed reports whether a binding pins p.
func (p pin) fixed(b *steward.FederationBinding) bool {
	if p.Subject != nil && p.Subject.MatchString(b.Subject) {
		return true
	}
	for _, k := range p.Claims {
		if v, ok := b.Claims[k]; ok && !wild(v) {
			return true
		}
	}
	return false
}

// wild reports whether a binding pattern has a wildcard.
func wild(pattern string) bool { return strings.ContainsAny(pattern, "*?") }

// bindingPins lists, per issuer kind, what a binding must pin beyond the
// issuer's tenant (see tenantPins): the repository or project and its
// branch or environment for CI, the namespace and service account for
// Kubernetes, the workload path for SPIFFE, the exact subject for any
// other OIDC issuer.
var bindingPins = map[string][]pin{
	steward.IssuerGitHubActions: {
		{What: "repository", Claims: []string{"repository", "repository_id"}, Subject: regexp.MustCompile(`^repo:[^*?/:]+/[^*?/:]+:`),
			Fix: "name the repository (subject repo:OWNER/REPO:… or claim repository=OWNER/REPO)"},
		{What: "branch or environment", Claims: []string{"ref", "environment", "job_workflow_ref"}, Subject: regexp.MustCompile(`^repo:[^*?]+:(ref|environment):[^*?]+$`),
			Fix: "fix the branch or the deployment environment (subject …:ref:refs/heads/main or …:environment:prod, or claim ref=/environment=)"},
	},
	steward.IssuerGitLabCI: {
		{What: "project", Claims: []string{"project_path", "project_id"}, Subject: regexp.MustCompile(`^project_path:[^*?:]+/[^*?:]+:`),
			Fix: "name the project (subject project_path:GROUP/PROJECT:… or claim project_path=GROUP/PROJECT)"},
		{What: "branch or environment", Claims: []string{"ref", "environment"}, Subject: regexp.MustCompile(`^project_path:[^*?]+:ref:[^*?]+$`),
			Fix: "fix the branch or the environment (subject …:ref_type:branch:ref:main, or claim ref=/environment=)"},
	},
	steward.IssuerKubernetes: {
		{What: "namespace", Claims: []string{"kubernetes.io.namespace"}, Subject: regexp.MustCompile(`^system:serviceaccount:[^*?:]+:`),
			Fix: "fix the namespace (subject system:serviceaccount:NAMESPACE:…)"},
		{What: "service account", Claims: []string{"kubernetes.io.serviceaccount.name"}, Subject: regexp.MustCompile(`^system:serviceaccount:[^*?:]+:[^*?:]+$`),
			Fix: "fix the service account (subject system:serviceaccount:NAMESPACE:NAME)"},
	},
	steward.IssuerSPIFFE: {
		{What: "workload path", Subject: regexp.MustCompile(`^spiffe://[^*?/]+/[^*?]+$`),
			Fix: "name one SPIFFE ID (spiffe://TRUST-DOMAIN/PATH, without wildcards)"},
	},
	steward.IssuerOIDC: {
		{What: "subject", Subject: regexp.MustCompile(`^[^*?]+$`), Fix: "name the exact subject"},
	},
}

// publicIssuer is an issuer anyone can obtain tokens from: every GitHub
// repository gets GitHub Actions tokens, every gitlab.com project GitLab
// CI tokens, and they choose their audience. Only the tenant a binding
// pins keeps strangers out.
type publicIssuer struct {
	URL    string // the iss of its tokens
	Tenant pin
}

var publicIssuers = []publicIssuer{
	{URL: "https://token.actions.githubusercontent.com", Tenant: pin{What: "repository owner",
		Claims: []string{"repository_owner", "repository_owner_id", "repository", "repository_id"}, Subject: regexp.MustCompile(`^repo:[^*?/:]+/`),
		Fix: "pin the organisation (subject repo:ORG/… or claim repository_owner=ORG, better repository_owner_id)"}},
	{URL: "https://gitlab.com", Tenant: pin{What: "namespace",
		Claims: []string{"namespace_path", "namespace_id", "project_path", "project_id"}, Subject: regexp.MustCompile(`^project_path:[^*?/:]+/`),
		Fix: "pin the group (subject project_path:GROUP/… or claim namespace_path=GROUP, better namespace_id)"}},
	{URL: "https://accounts.google.com", Tenant: pin{What: "subject", Subject: regexp.MustCompile(`^[^*?]+$`),
		Fix: "name the exact subject (the service account's unique id)"}},
}

// sharedAudiences are audiences a workload's tokens carry for other
// services: a token accepted with one of them can be exchanged at Steward
// by any service the workload shows it to.
var sharedAudiences = []struct {
	Pattern *regexp.Regexp
	Whose   string
}{
	{regexp.MustCompile(`^https://kubernetes\.default\.svc(\.[a-z0-9.-]+)?$`), "the Kubernetes API server"},
	{regexp.MustCompile(`^(api|kubernetes)$`), "the Kubernetes API server"},
	{regexp.MustCompile(`^sts\.amazonaws\.com$`), "AWS STS"},
	{regexp.MustCompile(`^api://AzureADTokenExchange$`), "Azure AD workload identity"},
	{regexp.MustCompile(`^https://iam\.googleapis\.com/`), "Google Cloud workload identity federation"},
	{regexp.MustCompile(`^https://github\.com/[^/]+$`), "GitHub Actions' default audience (every cloud role of the organisation)"},
	{regexp.MustCompile(`^https://gitlab\.com$`), "GitLab CI's default audience"},
	{regexp.MustCompile(`^vault$`), "HashiCorp Vault"},
}

// sharedAudience returns whose audience a is, or "".
func sharedAudience(a string) string {
	for _, s := range sharedAudiences {
		if s.Pattern.MatchString(a) {
			return s.Whose
		}
	}
	return ""
}

func findPublic(issuerURL string) (publicIssuer, bool) {
	u := strings.TrimRight(issuerURL, "/")
	for _, p := range publicIssuers {
		if p.URL == u {
			return p, true
		}
	}
	return publicIssuer{}, false
}

// retainedTypes are standing secrets a federated identity should no
// longer hold: Steward's own API keys and client secrets, custody
// passwords, and the provider-side static types of checkStaticSecret.
var retainedTypes = append([]string{steward.CredentialTypeAPIKey, steward.CredentialTypeClientSecret, steward.CredentialTypePassword}, staticTypes...)
