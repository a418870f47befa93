// Package report writes scan findings as a table, JSON, SARIF 2.1.0, CSV
// or a GitLab secret detection report.
package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/steward-nhi/steward/scan"
)

// Formats lists the supported output formats.
var Formats = []string{"table", "json", "sarif", "csv", "gitlab"}

// Meta describes the producing tool and the scan, for SARIF and GitLab.
type Meta struct {
	Version string
	// SourceRoot is the absolute repository root (or working directory)
	// that SARIF locations are relative to, written as %SRCROOT%.
	SourceRoot string
	// Prefix is the scanned directory relative to SourceRoot: SARIF
	// locations join it to each finding's path so code scanning files
	// alerts against the right files.
	Prefix string
	// Start and End are when the scan ran (the GitLab report's scan times).
	Start, End time.Time
}

// Write renders findings in format to w.
func Write(w io.Writer, format string, fs []scan.Finding, sum scan.Summary, meta Meta) error {
	switch format {
	case "json":
		return JSON(w, fs)
	case "sarif":
		return SARIF(w, fs, meta)
	case "csv":
		return CSV(w, fs)
	case "gitlab":
		return GitLab(w, fs, meta)
	case "table", "":
		return Table(w, fs, sum)
	}
	return fmt.Errorf("report: unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// JSON writes an indented array of findings ("[]" when there are none).
func JSON(w io.Writer, fs []scan.Finding) error {
	if fs == nil {
		fs = []scan.Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(fs); err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	return nil
}

var csvHeader = []string{"rule", "file", "line", "column", "end_line", "end_column", "commit", "author", "email", "date", "context", "severity", "confidence", "fingerprint", "preview", "secret"}

// CSV writes one row per finding after a header row.
func CSV(w io.Writer, fs []scan.Finding) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	for _, f := range fs {
		row := []string{f.Rule, f.File, strconv.Itoa(f.Line), strconv.Itoa(f.Column), strconv.Itoa(f.EndLine), strconv.Itoa(f.EndColumn),
			f.Commit, f.Author, f.Email, f.Date, f.Context, f.Severity, f.Confidence, f.Fingerprint, csvSafe(f.Preview), csvSafe(f.Secret)}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("report: csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	return nil
}

// csvSafe defuses cells a spreadsheet would run as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Table writes a human-readable table followed by the scan summary.
func Table(w io.Writer, fs []scan.Finding, sum scan.Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(fs) > 0 {
		fmt.Fprintln(tw, "SEVERITY\tRULE\tLOCATION\tCOMMIT\tCONTEXT\tPREVIEW")
	}
	for _, f := range fs {
		loc := fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Column)
		commit := f.Commit
		if len(commit) > 8 {
			commit = commit[:8]
		}
		preview := f.Preview
		if f.Secret != "" {
			preview = f.Secret
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Severity, f.Rule, loc, dash(commit), dash(f.Context), oneLine(preview))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("report: table: %w", err)
	}
	_, err := fmt.Fprintln(w, SummaryLine(sum))
	return err
}

// SummaryLine renders the summary on one line.
func SummaryLine(sum scan.Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d finding(s), %d suppressed; scanned %d file(s), %s", sum.Findings, sum.Suppressed, sum.Files, HumanBytes(sum.Bytes))
	if len(sum.Skipped) > 0 {
		keys := make([]string, 0, len(sum.Skipped))
		for k := range sum.Skipped {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s %d", k, sum.Skipped[k])
		}
		fmt.Fprintf(&b, "; skipped: %s", strings.Join(parts, ", "))
	}
	if len(sum.Errors) > 0 {
		fmt.Fprintf(&b, "; %d error(s)", len(sum.Errors))
	}
	return b.String()
}

// HumanBytes writes a byte count in binary units (B, KiB, MiB).
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", " ").Replace(s)
}
