package posture

import (
	"slices"
	"time"
)

// federated lists providers that offer short-lived or federated
// credentials, with the alternative to suggest.
var federated = map[string]string{
	"aws":        "an IAM role with OIDC federation or an instance/task role",
	"gcp":        "Workload Identity Federation or an attached service account",
	"azure":      "a managed identity or a federated identity credential",
	"github":     "a GitHub App installation token or GitHub Actions OIDC",
	"gitlab":     "CI/CD OIDC ID tokens",
	"kubernetes": "projected, audience-bound service account tokens",
	"vault":      "a short-TTL auth method (Kubernetes, JWT/OIDC, cloud IAM)",
}

// staticTypes are credential types that are long-lived shared secrets.
var staticTypes = []string{"aws_access_key", "gcp_sa_key", "client_secret", "api_key", "api_token", "github_pat", "pat",
	"k8s_sa_token", "vault_token", "vault_secret_id", "password", "static_token"}

// checkStaticSecret: a static long-lived secret where the provider
// supports a short-lived or federated alternative.
var checkStaticSecret = Check{
	ID: "auth.static_secret", Title: "Static long-lived secret where federation exists", OWASP: "NHI4", CSF: []string{"PR.AA-03"},
	Eval: func(in *Input) []Result {
		alt, ok := federated[in.Identity.Provider]
		if !in.active() || !ok {
			return nil
		}
		var out []Result
		for _, c := range in.activeCredentials() {
			if !slices.Contains(staticTypes, c.Type) {
				continue
			}
			if c.ExpiresAt != nil && c.ExpiresAt.Sub(in.Now) <= 24*time.Hour {
				continue
			}
			out = append(out, Result{CredentialID: c.ID, Severity: tierSeverity(in.Identity.Sensitivity, -1),
				Evidence:    map[string]any{"credential_type": c.Type, "provider": in.Identity.Provider, "expires_at": rfc(c.ExpiresAt), "alternative": alt},
				Remediation: "Replace the static secret with " + alt + ", then revoke it."})
		}
		return out
	},
}
