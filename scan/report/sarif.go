package report

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/steward-nhi/steward/scan"
)

// SARIF 2.1.0 document types (the subset Steward writes).
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                `json:"tool"`
	OriginalURIBaseIDs map[string]sarifArtifact `json:"originalUriBaseIds,omitempty"`
	ColumnKind         string                   `json:"columnKind"`
	Results            []sarifResult            `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri,omitempty"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string         `json:"id"`
	Name             string         `json:"name,omitempty"`
	ShortDescription sarifMessage   `json:"shortDescription"`
	FullDescription  sarifMessage   `json:"fullDescription"`
	Help             sarifHelp      `json:"help"`
	HelpURI          string         `json:"helpUri,omitempty"`
	DefaultConfig    sarifConfig    `json:"defaultConfiguration"`
	Properties       map[string]any `json:"properties,omitempty"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifMessage      `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
	EndLine     int `json:"endLine"`
	EndColumn   int `json:"endColumn"`
}

// SARIFSchema is the schema URI written in reports.
const SARIFSchema = "https://json.schemastore.org/sarif-2.1.0.json"

// srcRoot is the base that locations are relative to: the repository root
// for GitHub code scanning.
const srcRoot = "%SRCROOT%"

// rulesHelpURI documents the rules and how to answer a finding.
const rulesHelpURI = "https://github.com/steward-nhi/steward/blob/main/scan/rules/README.md"

// SecuritySeverity maps a finding severity to the numeric score GitHub code
// scanning reads from a rule's "security-severity" property (over 9.0 is
// critical, 7.0–8.9 high, 4.0–6.9 medium, below 4.0 low).
func SecuritySeverity(severity string) string {
	switch severity {
	case "critical":
		return "9.5"
	case "high":
		return "8.0"
	case "medium":
		return "5.5"
	}
	return "3.0"
}

// toolVersion returns a version that starts with a digit, as SARIF
// consumers compare versions numerically: "v1.2.3" becomes "1.2.3" and a
// build without a release number ("dev") becomes "0.0.0-dev".
func toolVersion(v string) string {
	v = strings.TrimPrefix(v, "v")
	if v != "" && v[0] >= '0' && v[0] <= '9' {
		return v
	}
	if v == "" {
		return "0.0.0"
	}
	return "0.0.0-" + v
}

// ruleName is the rule id in CamelCase: SARIF wants a readable name that
// differs from the opaque id.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func ruleHelp(f scan.Finding) (full string, help sarifHelp) {
	full = fmt.Sprintf("%s. Steward's secret scanner found a value matching this %s-severity rule in a file or commit.", f.Description, orLow(f.Severity))
	steps := []string{
		"Treat the credential as exposed: revoke or rotate it at its provider (for a Steward-issued credential: steward identity rotate or revoke).",
		"Remove it from the file and, if it was committed, from the git history; load it from a secret store or the environment instead.",
		"Review the provider's logs for use since the exposure, and register the replacement in Steward with an owner.",
		"If the value is a test fixture, add an inline \"steward:allow\" comment or its fingerprint to .stewardignore.",
	}
	help.Text = full + "\n\nTo fix:\n"
	help.Markdown = "**" + f.Description + "**\n\n" + full + "\n\nTo fix:\n"
	for i, s := range steps {
		help.Text += fmt.Sprintf("%d. %s\n", i+1, s)
		help.Markdown += fmt.Sprintf("%d. %s\n", i+1, s)
	}
	help.Markdown += "\nSee [the rules](" + rulesHelpURI + ")."
	return full, help
}

func orLow(s string) string {
	if s == "" {
		return "low"
	}
	return s
}

// location joins the scanned path's prefix (relative to the repository
// root) and a finding's path.
func location(prefix, file string) string {
	prefix = strings.Trim(filepath.ToSlash(prefix), "/")
	if prefix == "" || prefix == "." || file == "stdin" {
		return file
	}
	return path.Join(prefix, file)
}

func sarifLevel(severity string) string {
	switch severity {
	case "critical", "high":
		return "error"
	case "medium":
		return "warning"
	}
	return "note"
}

// SARIF writes a SARIF 2.1.0 log with one run. Regions use 1-based
// Unicode code point columns; endColumn is exclusive, as SARIF requires.
func SARIF(w io.Writer, fs []scan.Finding, meta Meta) error {
	ruleIdx := map[string]int{}
	var rules []sarifRule
	ids := make([]string, 0)
	byID := map[string]scan.Finding{}
	for _, f := range fs {
		if _, ok := byID[f.Rule]; !ok {
			byID[f.Rule] = f
			ids = append(ids, f.Rule)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		f := byID[id]
		ruleIdx[id] = len(rules)
		full, help := ruleHelp(f)
		r := sarifRule{ID: id, Name: ruleName(id), ShortDescription: sarifMessage{Text: f.Description},
			FullDescription: sarifMessage{Text: full}, Help: help, HelpURI: rulesHelpURI,
			DefaultConfig: sarifConfig{Level: sarifLevel(f.Severity)},
			Properties: map[string]any{
				"tags":              append([]string{"security", "secret"}, f.Tags...),
				"security-severity": SecuritySeverity(f.Severity),
				"precision":         precision(f.Confidence),
			}}
		rules = append(rules, r)
	}
	results := make([]sarifResult, 0, len(fs))
	for _, f := range fs {
		props := map[string]any{"confidence": f.Confidence, "severity": f.Severity}
		for k, v := range map[string]string{"commit": f.Commit, "author": f.Author, "email": f.Email, "date": f.Date, "context": f.Context} {
			if v != "" {
				props[k] = v
			}
		}
		msg := fmt.Sprintf("%s detected (%s)", f.Description, f.Preview)
		if f.Context != "" {
			msg += " in " + f.Context
		}
		results = append(results, sarifResult{
			RuleID:    f.Rule,
			RuleIndex: ruleIdx[f.Rule],
			Level:     sarifLevel(f.Severity),
			Message:   sarifMessage{Text: msg},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: location(meta.Prefix, f.File), URIBaseID: srcRoot},
				Region:           sarifRegion{StartLine: f.Line, StartColumn: f.Column, EndLine: f.EndLine, EndColumn: f.EndColumn + 1},
			}}},
			PartialFingerprints: map[string]string{"stewardSecret/v1": f.Fingerprint},
			Properties:          props,
		})
	}
	if rules == nil {
		rules = []sarifRule{}
	}
	var bases map[string]sarifArtifact
	if meta.SourceRoot != "" {
		u := url.URL{Scheme: "file", Path: strings.TrimSuffix(filepath.ToSlash(meta.SourceRoot), "/") + "/"}
		bases = map[string]sarifArtifact{srcRoot: {URI: u.String()}}
	}
	doc := sarifLog{
		Schema:  SARIFSchema,
		Version: "2.1.0",
		Runs: []sarifRun{{
			Tool:               sarifTool{Driver: sarifDriver{Name: "steward", InformationURI: "https://github.com/steward-nhi/steward", Version: toolVersion(meta.Version), Rules: rules}},
			OriginalURIBaseIDs: bases,
			ColumnKind:         "unicodeCodePoints",
			Results:            results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("report: sarif: %w", err)
	}
	return nil
}

// precision maps a finding's confidence to SARIF's rule precision property.
func precision(confidence string) string {
	switch confidence {
	case "high":
		return "high"
	case "low":
		return "low"
	}
	return "medium"
}
