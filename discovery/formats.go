package discovery

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// Formats are other scanners' reports that Steward imports as discoveries.
var Formats = []string{"gitleaks", "trufflehog", "github-secret-scanning"}

// IsFormat reports whether name is a scanner-report format.
func IsFormat(name string) bool { return slices.Contains(Formats, name) }

// Parse reads another scanner's report. Secrets in the report are hashed
// into fingerprints and dropped; an item whose secret is redacted cannot be
// linked and is reported as bad. The first steward.MaxImportErrors bad
// items are listed; the report's Rejected counts them all.
func Parse(format string, r io.Reader) (*steward.DiscoveryReport, []steward.RecordError, error) {
	var parse func(r io.Reader, bad *badList) (*steward.DiscoveryReport, error)
	switch format {
	case "gitleaks":
		parse = parseGitleaks
	case "trufflehog":
		parse = parseTrufflehog
	case "github-secret-scanning":
		parse = parseGitHubAlerts
	default:
		return nil, nil, steward.FieldError("format", "%q is not one of %s", format, strings.Join(Formats, ", "))
	}
	var bad badList
	rep, err := parse(r, &bad)
	if err != nil {
		return nil, nil, err
	}
	rep.Rejected = bad.count
	return rep, bad.list, nil
}

// badList keeps the first steward.MaxImportErrors bad items and counts all.
type badList struct {
	list  []steward.RecordError
	count int
}

func (b *badList) add(e steward.RecordError) {
	b.count++
	if len(b.list) < steward.MaxImportErrors {
		b.list = append(b.list, e)
	}
}

type gitleaksFinding struct {
	RuleID, File, Commit, Author, Email, Date, Secret, Match, Description string
	StartLine, StartColumn                                                int
	Tags                                                                  []string
}

func parseGitleaks(r io.Reader, bad *badList) (*steward.DiscoveryReport, error) {
	var in []gitleaksFinding
	if err := json.NewDecoder(r).Decode(&in); err != nil {
		return nil, steward.FieldError("file", "gitleaks: not a gitleaks JSON report (an array of findings): %s", err.Error())
	}
	rep := &steward.DiscoveryReport{Source: "gitleaks"}
	for n, f := range in {
		if f.Secret == "" || f.Secret == "REDACTED" || strings.Contains(f.Secret, "REDACTED") {
			bad.add(steward.RecordError{Record: n + 1, Field: "Secret", Ref: f.File, Message: "the secret is redacted or missing, so it cannot be fingerprinted; run gitleaks without --redact (Steward keeps only the SHA-256)"})
			continue
		}
		it := steward.DiscoveryItem{Rule: f.RuleID, File: f.File, Line: f.StartLine, Column: f.StartColumn, Commit: f.Commit,
			Author: f.Author, Email: f.Email, Fingerprint: steward.Fingerprint([]byte(f.Secret)), Date: parseTime(f.Date)}
		if it.Rule == "" {
			it.Rule = "gitleaks"
		}
		rep.Items = append(rep.Items, it)
	}
	return rep, nil
}

func parseTime(s string) *time.Time {
	if s == "" {
		return nil
	}
	for _, l := range []string{time.RFC3339, "2006-01-02 15:04:05 -0700 MST", "2006-01-02T15:04:05Z"} {
		if t, err := time.Parse(l, s); err == nil {
			return &t
		}
	}
	return nil
}

type trufflehogLine struct {
	SourceMetadata struct {
		Data map[string]struct {
			Commit     string `json:"commit"`
			File       string `json:"file"`
			Email      string `json:"email"`
			Repository string `json:"repository"`
			Timestamp  string `json:"timestamp"`
			Line       int    `json:"line"`
		} `json:"Data"`
	} `json:"SourceMetadata"`
	DetectorName string `json:"DetectorName"`
	Raw          string `json:"Raw"`
	RawV2        string `json:"RawV2"`
}

func parseTrufflehog(r io.Reader, bad *badList) (*steward.DiscoveryReport, error) {
	rep := &steward.DiscoveryReport{Source: "trufflehog"}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line, rec := 0, 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 || b[0] != '{' {
			continue // trufflehog also prints banners and log lines
		}
		rec++
		var l trufflehogLine
		if err := json.Unmarshal(b, &l); err != nil {
			bad.add(steward.RecordError{Record: rec, Line: line, Message: "not a TruffleHog JSON line: " + err.Error()})
			continue
		}
		raw := l.Raw
		if raw == "" {
			raw = l.RawV2
		}
		if raw == "" {
			bad.add(steward.RecordError{Record: rec, Line: line, Field: "Raw", Message: "no raw secret to fingerprint"})
			continue
		}
		it := steward.DiscoveryItem{Rule: strings.ToLower(l.DetectorName), Fingerprint: steward.Fingerprint([]byte(raw))}
		if it.Rule == "" {
			it.Rule = "trufflehog"
		}
		// One source per line in practice; of several, the first by name,
		// so that two reads of a report agree.
		if len(l.SourceMetadata.Data) > 0 {
			d := l.SourceMetadata.Data[slices.Min(slices.Collect(maps.Keys(l.SourceMetadata.Data)))]
			it.File, it.Line, it.Commit, it.Email, it.Repository, it.Date = d.File, d.Line, d.Commit, d.Email, d.Repository, parseTime(d.Timestamp)
		}
		rep.Items = append(rep.Items, it)
	}
	if err := sc.Err(); err != nil {
		return nil, steward.FieldError("file", "trufflehog: line %d: %s", line+1, err.Error())
	}
	return rep, nil
}

type githubAlert struct {
	Number     int    `json:"number"`
	SecretType string `json:"secret_type"`
	Secret     string `json:"secret"`
	State      string `json:"state"`
	CreatedAt  string `json:"created_at"`
	Repository *struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	FirstLocation *struct {
		Path      string `json:"path"`
		StartLine int    `json:"start_line"`
		CommitSHA string `json:"commit_sha"`
	} `json:"first_location_detected"`
}

func parseGitHubAlerts(r io.Reader, bad *badList) (*steward.DiscoveryReport, error) {
	var in []githubAlert
	if err := json.NewDecoder(r).Decode(&in); err != nil {
		return nil, steward.FieldError("file", "github-secret-scanning: not an array of secret-scanning alerts: %s", err.Error())
	}
	rep := &steward.DiscoveryReport{Source: "github-secret-scanning"}
	for n, a := range in {
		if a.Secret == "" {
			bad.add(steward.RecordError{Record: n + 1, Field: "secret", Ref: fmt.Sprint(a.Number), Message: "the alert has no secret to fingerprint (list alerts with a token allowed to read secrets)"})
			continue
		}
		it := steward.DiscoveryItem{Rule: "github-" + a.SecretType, Fingerprint: steward.Fingerprint([]byte(a.Secret)), Date: parseTime(a.CreatedAt)}
		if a.FirstLocation != nil {
			it.File, it.Line, it.Commit = a.FirstLocation.Path, a.FirstLocation.StartLine, a.FirstLocation.CommitSHA
		}
		if a.Repository != nil {
			it.Repository = a.Repository.FullName
		}
		if it.File == "" {
			it.File = fmt.Sprintf("alert #%d", a.Number)
		}
		rep.Items = append(rep.Items, it)
	}
	return rep, nil
}
