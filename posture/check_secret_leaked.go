package posture

import (
	"strconv"
	"strings"

	"github.com/steward-nhi/steward"
)

// checkSecretLeaked: a secret of the identity was found in code, a
// pipeline or another unsanctioned place, and still works.
var checkSecretLeaked = Check{
	ID: "secret.leaked", Title: "Secret found in code or pipelines", OWASP: "NHI2", CSF: []string{"PR.AA-01", "DE.CM-09"},
	Eval: func(in *Input) []Result {
		if !in.live() || len(in.Discoveries) == 0 {
			return nil
		}
		active := map[string]*steward.Credential{}
		for _, c := range in.activeCredentials() {
			active[c.ID] = c
			if c.Fingerprint != "" {
				active["fp:"+c.Fingerprint] = c
			}
		}
		var out []Result
		seen := map[string]bool{}
		for _, d := range in.Discoveries {
			if d.Status == "resolved" {
				continue
			}
			c := active[d.CredentialID]
			if c == nil && d.Fingerprint != "" {
				c = active["fp:"+d.Fingerprint]
			}
			if c == nil || seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			out = append(out, Result{
				CredentialID: c.ID, Severity: steward.SeverityCritical,
				Evidence: map[string]any{"location": location(d), "rule": d.Rule, "pipeline": pipelineFile(d.File), "managed": d.Managed,
					"fingerprint": c.Fingerprint, "first_seen": rfc(&d.FirstSeen)},
				Remediation: "Rotate the credential now, revoke the leaked one, remove it from the code or pipeline and its history, and load it from a secret manager.",
			})
		}
		return out
	},
}

// location names where a discovery was found.
func location(d steward.Sighting) string {
	loc := d.File
	if d.Repository != "" {
		loc = d.Repository + ":" + loc
	}
	if d.Line > 0 {
		loc += ":" + strconv.Itoa(d.Line)
	}
	return loc
}

// pipelineFile reports CI/CD configuration files.
func pipelineFile(path string) bool {
	p := strings.ToLower(path)
	for _, w := range []string{".github/workflows/", ".gitlab-ci", "jenkinsfile", ".circleci/", "azure-pipelines", "bitbucket-pipelines", ".buildkite/", ".drone.yml", "cloudbuild.yaml"} {
		if strings.Contains(p, w) {
			return true
		}
	}
	return false
}
