package report_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/steward-nhi/steward/internal/golden"
	"github.com/steward-nhi/steward/scan"
	"github.com/steward-nhi/steward/scan/report"
)

func sample() ([]scan.Finding, scan.Summary) {
	fs := []scan.Finding{
		{
			Rule: "github-pat", Description: "GitHub personal access token (classic)", File: ".github/workflows/ci.yml",
			Line: 12, Column: 20, EndLine: 12, EndColumn: 59, Commit: "0123456789abcdef0123456789abcdef01234567",
			Author: "Dev One", Email: "dev@example.org", Date: "2024-05-06T07:08:09Z",
			Context: "workflow=ci.yml job=build step=deploy env=GH_TOKEN", Severity: "critical", Confidence: "high",
			Tags: []string{"github"}, Entropy: 4.9, Preview: "GH_TOKEN: ghp_*****",
			Fingerprint: "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
		},
		{
			Rule: "generic-secret-assignment", Description: "High-entropy value assigned to a secret-like name", File: "config/app.env",
			Line: 3, Column: 13, EndLine: 3, EndColumn: 28, Severity: "medium", Confidence: "medium",
			Tags: []string{"generic"}, Entropy: 3.6, Preview: "=DB_PASSWORD=Zq*****",
			Fingerprint: "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b",
		},
	}
	sum := scan.Summary{Files: 42, Bytes: 123456, Findings: 2, Suppressed: 1, Skipped: map[string]int{"binary": 3}}
	return fs, sum
}

func TestGoldenReports(t *testing.T) {
	fs, sum := sample()
	for _, format := range report.Formats {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.Write(&buf, format, fs, sum, report.Meta{Version: "1.2.3", SourceRoot: "/src/repo",
				Start: time.Date(2026, 12, 6, 1, 2, 3, 0, time.UTC), End: time.Date(2026, 12, 6, 1, 2, 5, 0, time.UTC)}); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "report."+format), buf.Bytes())
		})
	}
}

func TestEmptyJSONIsAnEmptyArray(t *testing.T) {
	var buf bytes.Buffer
	if err := report.JSON(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if got := bytes.TrimSpace(buf.Bytes()); string(got) != "[]" {
		t.Fatalf("got %s, want []", got)
	}
}

func TestUnknownFormatIsAnError(t *testing.T) {
	if err := report.Write(&bytes.Buffer{}, "xml", nil, scan.Summary{}, report.Meta{}); err == nil {
		t.Fatal("no error for an unknown format")
	}
}

// TestSARIFStructure checks the properties SARIF 2.1.0 requires (and that
// GitHub code scanning reads) without fetching the schema.
func TestSARIFStructure(t *testing.T) {
	fs, sum := sample()
	for _, tt := range []struct {
		name     string
		findings []scan.Finding
	}{
		{"with findings", fs},
		{"without findings", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.Write(&buf, "sarif", tt.findings, sum, report.Meta{Version: "test"}); err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if errs := checkSARIF(doc); len(errs) > 0 {
				for _, e := range errs {
					t.Error(e)
				}
			}
		})
	}
}

// checkSARIF is a minimal structural validator for SARIF 2.1.0 logs.
func checkSARIF(doc map[string]any) []string {
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if doc["version"] != "2.1.0" {
		fail("version = %v, want 2.1.0", doc["version"])
	}
	if s, _ := doc["$schema"].(string); s == "" {
		fail("$schema missing")
	}
	runs, ok := doc["runs"].([]any)
	if !ok || len(runs) == 0 {
		return append(errs, "runs must be a non-empty array")
	}
	levels := map[string]bool{"none": true, "note": true, "warning": true, "error": true}
	for i, r := range runs {
		run, ok := r.(map[string]any)
		if !ok {
			fail("runs[%d] not an object", i)
			continue
		}
		tool, _ := run["tool"].(map[string]any)
		driver, _ := tool["driver"].(map[string]any)
		if name, _ := driver["name"].(string); name == "" {
			fail("runs[%d].tool.driver.name is required", i)
		}
		ruleIDs := map[string]int{}
		rules, _ := driver["rules"].([]any)
		for j, rr := range rules {
			rule, _ := rr.(map[string]any)
			id, _ := rule["id"].(string)
			if id == "" {
				fail("rules[%d].id is required", j)
			}
			ruleIDs[id] = j
			if sd, ok := rule["shortDescription"].(map[string]any); ok {
				if txt, _ := sd["text"].(string); txt == "" {
					fail("rules[%d].shortDescription.text is required", j)
				}
			}
			if dc, ok := rule["defaultConfiguration"].(map[string]any); ok && !levels[fmt.Sprint(dc["level"])] {
				fail("rules[%d].defaultConfiguration.level invalid", j)
			}
		}
		if ck, ok := run["columnKind"]; ok && ck != "utf16CodeUnits" && ck != "unicodeCodePoints" {
			fail("columnKind %v invalid", ck)
		}
		results, ok := run["results"].([]any)
		if !ok {
			fail("runs[%d].results must be an array", i)
		}
		for j, rr := range results {
			res, _ := rr.(map[string]any)
			msg, _ := res["message"].(map[string]any)
			if txt, _ := msg["text"].(string); txt == "" {
				fail("results[%d].message.text is required", j)
			}
			id, _ := res["ruleId"].(string)
			idx, hasIdx := res["ruleIndex"].(float64)
			if k, ok := ruleIDs[id]; !ok || hasIdx && int(idx) != k {
				fail("results[%d] ruleId/ruleIndex do not name a rule", j)
			}
			if !levels[fmt.Sprint(res["level"])] {
				fail("results[%d].level invalid", j)
			}
			locs, _ := res["locations"].([]any)
			if len(locs) == 0 {
				fail("results[%d].locations empty", j)
			}
			for _, l := range locs {
				loc, _ := l.(map[string]any)
				pl, _ := loc["physicalLocation"].(map[string]any)
				al, _ := pl["artifactLocation"].(map[string]any)
				if uri, _ := al["uri"].(string); uri == "" {
					fail("results[%d] artifactLocation.uri is required", j)
				}
				reg, _ := pl["region"].(map[string]any)
				for _, k := range []string{"startLine", "startColumn", "endLine", "endColumn"} {
					if v, ok := reg[k].(float64); !ok || v < 1 {
						fail("results[%d].region.%s must be an integer >= 1", j, k)
					}
				}
				if reg["endLine"].(float64) < reg["startLine"].(float64) {
					fail("results[%d] endLine before startLine", j)
				}
			}
			if pf, ok := res["partialFingerprints"]; ok {
				if _, ok := pf.(map[string]any); !ok {
					fail("results[%d].partialFingerprints must be an object", j)
				}
			}
		}
	}
	return errs
}

// TestSARIFForCodeScanning checks what GitHub code scanning reads beyond the
// schema: rule help and full descriptions (GH2012), a numeric
// security-severity, a numeric tool version, and locations relative to the
// repository root through the %SRCROOT% base.
func TestSARIFForCodeScanning(t *testing.T) {
	fs, sum := sample()
	tests := []struct {
		name        string
		meta        report.Meta
		wantVersion string
		wantURIs    []string
		wantBase    string
	}{
		{"a released version is kept", report.Meta{Version: "1.4.2"}, "1.4.2", []string{".github/workflows/ci.yml", "config/app.env"}, ""},
		{"a v-prefixed version loses its v", report.Meta{Version: "v1.4.2"}, "1.4.2", []string{".github/workflows/ci.yml", "config/app.env"}, ""},
		{"a non-numeric version becomes a pre-release of 0.0.0", report.Meta{Version: "dev"}, "0.0.0-dev", []string{".github/workflows/ci.yml", "config/app.env"}, ""},
		{"a scanned subdirectory prefixes the paths", report.Meta{Version: "1.0.0", Prefix: "app", SourceRoot: "/work/repo"}, "1.0.0", []string{"app/.github/workflows/ci.yml", "app/config/app.env"}, "file:///work/repo/"},
		{"a root with a trailing slash and a dot prefix", report.Meta{Version: "1.0.0", Prefix: ".", SourceRoot: "/work/repo/"}, "1.0.0", []string{".github/workflows/ci.yml", "config/app.env"}, "file:///work/repo/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.Write(&buf, "sarif", fs, sum, tt.meta); err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Runs []struct {
					Tool struct {
						Driver struct {
							Version string
							Rules   []struct {
								ID, Name         string
								FullDescription  struct{ Text string }
								Help             struct{ Text, Markdown string }
								HelpURI          string `json:"helpUri"`
								Properties       map[string]any
								ShortDescription struct{ Text string }
							}
						}
					}
					OriginalURIBaseIDs map[string]struct{ URI string } `json:"originalUriBaseIds"`
					Results            []struct {
						Locations []struct {
							PhysicalLocation struct {
								ArtifactLocation struct {
									URI       string `json:"uri"`
									URIBaseID string `json:"uriBaseId"`
								}
							}
						}
					}
				}
			}
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			run := doc.Runs[0]
			if run.Tool.Driver.Version != tt.wantVersion {
				t.Errorf("version = %q, want %q", run.Tool.Driver.Version, tt.wantVersion)
			}
			for _, r := range run.Tool.Driver.Rules {
				if r.Name == r.ID {
					t.Errorf("rule %s: name repeats the id", r.ID)
				}
				if r.FullDescription.Text == "" || r.Help.Text == "" || r.Help.Markdown == "" {
					t.Errorf("rule %s: fullDescription or help missing: %+v", r.ID, r)
				}
				sev, _ := r.Properties["security-severity"].(string)
				var score float64
				if _, err := fmt.Sscanf(sev, "%g", &score); err != nil || score <= 0 || score > 10 {
					t.Errorf("rule %s: security-severity %q is not a score in (0, 10]", r.ID, sev)
				}
			}
			var uris []string
			for _, res := range run.Results {
				al := res.Locations[0].PhysicalLocation.ArtifactLocation
				uris = append(uris, al.URI)
				if al.URIBaseID != "%SRCROOT%" {
					t.Errorf("uri %s: uriBaseId = %q, want %%SRCROOT%%", al.URI, al.URIBaseID)
				}
			}
			if fmt.Sprint(uris) != fmt.Sprint(tt.wantURIs) {
				t.Errorf("uris = %v, want %v", uris, tt.wantURIs)
			}
			if got := run.OriginalURIBaseIDs["%SRCROOT%"].URI; got != tt.wantBase {
				t.Errorf("%%SRCROOT%% = %q, want %q", got, tt.wantBase)
			}
		})
	}
}

func TestSecuritySeverityFollowsGitHubBands(t *testing.T) {
	for _, tt := range []struct {
		severity string
		lo, hi   float64
	}{
		{"critical", 9.0, 10}, {"high", 7.0, 8.9}, {"medium", 4.0, 6.9}, {"low", 0.1, 3.9}, {"", 0.1, 3.9},
	} {
		t.Run(tt.severity, func(t *testing.T) {
			got := report.SecuritySeverity(tt.severity)
			var v float64
			fmt.Sscanf(got, "%g", &v)
			if v < tt.lo || v > tt.hi {
				t.Fatalf("SecuritySeverity(%q) = %s, want in [%g, %g]", tt.severity, got, tt.lo, tt.hi)
			}
		})
	}
}

// TestGitLabReportShape: the fields GitLab's secret detection schema
// requires are present, and the secret never is, even when the scan kept
// it (--show-secret).
func TestGitLabReportShape(t *testing.T) {
	fs, _ := sample()
	fs[0].Secret = "ghp_thisIsTheSecretItselfAndMustNotLeak00"
	var buf bytes.Buffer
	if err := report.GitLab(&buf, fs, report.Meta{Version: "dev", Start: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte(fs[0].Secret)) {
		t.Fatal("the GitLab report holds the secret")
	}
	var doc struct {
		Version         string `json:"version"`
		Vulnerabilities []struct {
			ID, Category, Name, Description, Severity string
			Location                                  struct {
				File      string `json:"file"`
				StartLine int    `json:"start_line"`
				Commit    struct {
					SHA string `json:"sha"`
				} `json:"commit"`
			} `json:"location"`
			Identifiers []struct{ Type, Name, Value string } `json:"identifiers"`
		} `json:"vulnerabilities"`
		Scan struct {
			Analyzer, Scanner struct {
				ID, Name, Version string
				Vendor            struct{ Name string }
			}
			Type, Status string
			StartTime    string `json:"start_time"`
			EndTime      string `json:"end_time"`
		} `json:"scan"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"schema version is 15.x", doc.Version[:3], "15."},
		{"one vulnerability per finding", len(doc.Vulnerabilities), len(fs)},
		{"category", doc.Vulnerabilities[0].Category, "secret_detection"},
		{"severity is capitalised", doc.Vulnerabilities[0].Severity, "Critical"},
		{"file", doc.Vulnerabilities[0].Location.File, ".github/workflows/ci.yml"},
		{"start line", doc.Vulnerabilities[0].Location.StartLine, 12},
		{"commit", doc.Vulnerabilities[0].Location.Commit.SHA, fs[0].Commit},
		{"a working-tree finding has the placeholder commit", doc.Vulnerabilities[1].Location.Commit.SHA, "0000000"},
		{"first identifier is the rule", doc.Vulnerabilities[0].Identifiers[0].Value, "github-pat"},
		{"scan type", doc.Scan.Type, "secret_detection"},
		{"scan status", doc.Scan.Status, "success"},
		{"analyzer vendor", doc.Scan.Analyzer.Vendor.Name, "Steward"},
		{"scanner version starts with a digit", doc.Scan.Scanner.Version, "0.0.0-dev"},
		{"start time has no zone", doc.Scan.StartTime, "2026-01-02T03:04:05"},
		{"a zero end time is the start time", doc.Scan.EndTime, "2026-01-02T03:04:05"},
	} {
		if fmt.Sprint(tt.got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	for _, v := range doc.Vulnerabilities {
		if v.ID == "" || v.Name == "" || v.Description == "" || len(v.Identifiers) == 0 {
			t.Errorf("vulnerability misses a required field: %+v", v)
		}
	}
}
