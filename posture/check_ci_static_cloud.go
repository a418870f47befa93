package posture

import (
	"slices"
	"strings"

	"github.com/steward-nhi/steward"
)

var staticCloudTypes = []string{"aws_access_key", "gcp_sa_key", "client_secret"}

// checkCIStaticCloud: a CI/CD pipeline holds a static cloud credential
// instead of OIDC federation.
var checkCIStaticCloud = Check{
	ID: "cicd.static_cloud_credential", Title: "CI/CD pipeline holds a static cloud credential", OWASP: "NHI6", CSF: []string{"PR.AA-04"},
	Eval: func(in *Input) []Result {
		i := in.Identity
		if !in.active() || (i.Provider != "aws" && i.Provider != "gcp" && i.Provider != "azure") {
			return nil
		}
		where := ciMarker(i)
		for _, d := range in.Discoveries {
			if d.Status != "resolved" && pipelineFile(d.File) && where == "" {
				where = "found in pipeline " + location(d)
			}
		}
		if where == "" {
			return nil
		}
		var out []Result
		for _, c := range in.activeCredentials() {
			if !slices.Contains(staticCloudTypes, c.Type) {
				continue
			}
			out = append(out, Result{CredentialID: c.ID, Severity: tierSeverity(i.Sensitivity, 1),
				Evidence:    map[string]any{"credential_type": c.Type, "provider": i.Provider, "ci": where},
				Remediation: "Use the CI system's OIDC token with a trust policy pinned to issuer, audience and subject (repository, branch), then revoke the static key."})
		}
		return out
	},
}

// ciMarker says why the identity looks like a CI/CD identity, or "".
func ciMarker(i *steward.Identity) string {
	for _, k := range []string{"ci", "cicd", "pipeline"} {
		if v, ok := i.Labels[k]; ok && (v == "" || truthy(v) || k == "pipeline") {
			return "label " + k
		}
	}
	switch strings.ToLower(i.Labels["used-by"]) {
	case "ci", "github-actions", "gitlab-ci", "jenkins", "circleci", "buildkite":
		return "label used-by=" + i.Labels["used-by"]
	}
	if i.Environment == "ci" {
		return "environment ci"
	}
	p := strings.ToLower(i.Purpose)
	for _, w := range []string{"ci/cd", "pipeline", "github actions", "gitlab ci", "jenkins"} {
		if strings.Contains(p, w) {
			return "purpose mentions " + w
		}
	}
	return ""
}
