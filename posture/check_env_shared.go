package posture

import (
	"slices"

	"github.com/steward-nhi/steward"
)

// checkEnvShared: one identity used from several environments, or one
// secret held by identities of different environments.
var checkEnvShared = Check{
	ID: "env.shared", Title: "Identity or secret used across environments", OWASP: "NHI8", CSF: []string{"PR.IR-01"},
	Eval: func(in *Input) []Result {
		i := in.Identity
		if !in.live() {
			return nil
		}
		var out []Result
		if in.Usage != nil && len(in.Usage.Environments) > 1 {
			envs := sortedKeys(in.Usage.Environments)
			out = append(out, Result{Severity: envSeverity(envs),
				Evidence:    map[string]any{"environments": envs, "declared_environment": i.Environment},
				Remediation: "Issue a separate identity per environment; non-production must not be able to reach production."})
		}
		for _, c := range in.activeCredentials() {
			if c.Fingerprint == "" {
				continue
			}
			envs := []string{i.Environment}
			var others []string
			for _, o := range in.SharedWith[c.Fingerprint] {
				if o.IdentityID == i.ID {
					continue
				}
				others = append(others, o.IdentityID)
				if !slices.Contains(envs, o.Environment) {
					envs = append(envs, o.Environment)
				}
			}
			if len(envs) < 2 {
				continue
			}
			slices.Sort(envs)
			out = append(out, Result{CredentialID: c.ID, Severity: envSeverity(envs), Title: "Same secret held in several environments",
				Evidence:    map[string]any{"fingerprint": c.Fingerprint, "environments": envs, "other_identities": others},
				Remediation: "Give each environment its own secret: rotate this one and issue distinct credentials per environment."})
		}
		return out
	},
}

func envSeverity(envs []string) steward.Severity {
	for _, e := range envs {
		if e == "prod" || e == "production" {
			return steward.SeverityHigh
		}
	}
	return steward.SeverityMedium
}
