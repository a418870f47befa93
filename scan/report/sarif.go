package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/steward-nhi/steward/scan"
)

// SARIF 2.1.0 document types (the subset Steward writes).
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool       sarifTool     `json:"tool"`
	ColumnKind string        `json:"columnKind"`
	Results    []sarifResult `json:"results"`
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
	DefaultConfig    sarifConfig    `json:"defaultConfiguration"`
	Properties       map[string]any `json:"properties,omitempty"`
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
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
	EndLine     int `json:"endLine"`
	EndColumn   int `json:"endColumn"`
}

// SARIFSchema is the schema URI written in reports.
const SARIFSchema = "https://json.schemastore.org/sarif-2.1.0.json"

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
		r := sarifRule{ID: id, Name: id, ShortDescription: sarifMessage{Text: f.Description}, DefaultConfig: sarifConfig{Level: sarifLevel(f.Severity)}}
		if len(f.Tags) > 0 {
			r.Properties = map[string]any{"tags": append([]string{"security", "secret"}, f.Tags...)}
		}
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
				ArtifactLocation: sarifArtifact{URI: f.File},
				Region:           sarifRegion{StartLine: f.Line, StartColumn: f.Column, EndLine: f.EndLine, EndColumn: f.EndColumn + 1},
			}}},
			PartialFingerprints: map[string]string{"stewardSecret/v1": f.Fingerprint},
			Properties:          props,
		})
	}
	if rules == nil {
		rules = []sarifRule{}
	}
	doc := sarifLog{
		Schema:  SARIFSchema,
		Version: "2.1.0",
		Runs: []sarifRun{{
			Tool:       sarifTool{Driver: sarifDriver{Name: "steward", InformationURI: "https://github.com/steward-nhi/steward", Version: meta.Version, Rules: rules}},
			ColumnKind: "unicodeCodePoints",
			Results:    results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("report: sarif: %w", err)
	}
	return nil
}
