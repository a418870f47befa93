package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/steward-nhi/steward/scan"
)

// GitLab security report (secret detection) document types: the subset
// of schema 15.x that Steward writes.
type gitlabReport struct {
	Version         string       `json:"version"`
	Vulnerabilities []gitlabVuln `json:"vulnerabilities"`
	Scan            gitlabScan   `json:"scan"`
	Remediations    []any        `json:"remediations"`
}

type gitlabVuln struct {
	ID          string             `json:"id"`
	Category    string             `json:"category"`
	Name        string             `json:"name"`
	Description string             `json:"description"`
	Severity    string             `json:"severity"`
	Confidence  string             `json:"confidence"`
	Solution    string             `json:"solution"`
	Location    gitlabLocation     `json:"location"`
	Identifiers []gitlabIdentifier `json:"identifiers"`
}

type gitlabLocation struct {
	File      string       `json:"file"`
	StartLine int          `json:"start_line"`
	EndLine   int          `json:"end_line"`
	Commit    gitlabCommit `json:"commit"`
}

type gitlabCommit struct {
	SHA    string `json:"sha"`
	Author string `json:"author,omitempty"`
	Date   string `json:"date,omitempty"`
}

type gitlabIdentifier struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
	URL   string `json:"url,omitempty"`
}

type gitlabScan struct {
	Analyzer  gitlabTool `json:"analyzer"`
	Scanner   gitlabTool `json:"scanner"`
	Type      string     `json:"type"`
	Status    string     `json:"status"`
	StartTime string     `json:"start_time"`
	EndTime   string     `json:"end_time"`
}

type gitlabTool struct {
	ID      string       `json:"id"`
	Name    string       `json:"name"`
	URL     string       `json:"url,omitempty"`
	Version string       `json:"version"`
	Vendor  gitlabVendor `json:"vendor"`
}

type gitlabVendor struct {
	Name string `json:"name"`
}

// GitLabSchemaVersion is the security report schema version written.
const GitLabSchemaVersion = "15.2.1"

// gitlabNoCommit is the commit sha GitLab's own analyzers write for a
// finding in the working tree (the schema requires one).
const gitlabNoCommit = "0000000"

// gitlabTime is the schema's timestamp format: UTC, no zone, no fraction.
const gitlabTime = "2006-01-02T15:04:05"

// gitlabSeverity maps a finding severity to the schema's enumeration.
func gitlabSeverity(s string) string {
	if s == "critical" {
		return "Critical"
	}
	return gitlabConfidence(s)
}

// gitlabConfidence maps a rule's confidence, or a severity below
// critical, to the schema's enumeration.
func gitlabConfidence(c string) string {
	switch c {
	case "high":
		return "High"
	case "medium":
		return "Medium"
	case "low":
		return "Low"
	}
	return "Unknown"
}

// gitlabID is a stable vulnerability id (UUID-shaped) derived from the
// rule, the location and the secret's fingerprint, so the same finding
// keeps its id between pipelines.
func gitlabID(f scan.Finding, file string) string {
	h := sha256.Sum256([]byte(strings.Join([]string{f.Rule, file, fmt.Sprint(f.Line), f.Commit, f.Fingerprint}, "\x00")))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// GitLab writes a GitLab secret detection report (security report schema
// 15.x): one vulnerability per finding, located by file, line and commit,
// identified by the rule and the secret's fingerprint; never the secret.
// Scan times come from meta (UTC); a zero end time is the start time.
func GitLab(w io.Writer, fs []scan.Finding, meta Meta) error {
	tool := gitlabTool{ID: "steward", Name: "Steward", URL: "https://github.com/steward-nhi/steward",
		Version: toolVersion(meta.Version), Vendor: gitlabVendor{Name: "Steward"}}
	start, end := meta.Start.UTC(), meta.End.UTC()
	if meta.End.IsZero() {
		end = start
	}
	vulns := make([]gitlabVuln, 0, len(fs))
	for _, f := range fs {
		file := location(meta.Prefix, f.File)
		commit := gitlabCommit{SHA: f.Commit, Author: f.Author, Date: f.Date}
		if commit.SHA == "" {
			commit = gitlabCommit{SHA: gitlabNoCommit}
		}
		if commit.Author != "" && f.Email != "" {
			commit.Author += " <" + f.Email + ">"
		}
		full, _ := ruleHelp(f)
		desc := full + " Preview: " + f.Preview + "."
		if f.Context != "" {
			desc += " Context: " + f.Context + "."
		}
		vulns = append(vulns, gitlabVuln{
			ID:          gitlabID(f, file),
			Category:    "secret_detection",
			Name:        f.Description,
			Description: desc,
			Severity:    gitlabSeverity(f.Severity),
			Confidence:  gitlabConfidence(f.Confidence),
			Solution:    "Revoke or rotate the credential at its provider, remove it from the file and the git history, and load it from a secret store instead.",
			Location:    gitlabLocation{File: file, StartLine: f.Line, EndLine: f.EndLine, Commit: commit},
			Identifiers: []gitlabIdentifier{
				{Type: "steward_rule_id", Name: "Steward rule " + f.Rule, Value: f.Rule, URL: rulesHelpURI},
				{Type: "steward_fingerprint", Name: "Secret fingerprint (SHA-256)", Value: f.Fingerprint},
			},
		})
	}
	doc := gitlabReport{
		Version:         GitLabSchemaVersion,
		Vulnerabilities: vulns,
		Remediations:    []any{},
		Scan: gitlabScan{Analyzer: tool, Scanner: tool, Type: "secret_detection", Status: "success",
			StartTime: start.Format(gitlabTime), EndTime: end.Format(gitlabTime)},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("report: gitlab: %w", err)
	}
	return nil
}
