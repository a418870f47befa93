package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/steward-nhi/steward"
)

// FindingsReader is the part of the posture capability the console shows.
type FindingsReader interface {
	ListFindings(ctx context.Context, f steward.FindingFilter) (*steward.Page[*steward.Finding], error)
}

type findingsData struct {
	Filter     steward.FindingFilter
	Items      []*steward.Finding
	Matrix     []matrixRow
	Severities []string
	Truncated  bool
	NextHref   string
	Now        any
	Error      string
}

type matrixRow struct {
	OWASP  string
	Counts []int64
	Hrefs  []string
	Total  int64
}

// FindingsPage lists posture findings with a count of the unresolved ones
// by OWASP NHI Top 10 id and severity (over at most 1,000 findings).
func FindingsPage(p FindingsReader) Page {
	return Page{Path: "/findings", Title: "Findings", Render: func(r *http.Request, v *View) (template.HTML, error) {
		ctx := v.Context()
		q := r.URL.Query()
		f := steward.FindingFilter{Severity: steward.Severity(q.Get("severity")), OWASP: q.Get("owasp"), Status: steward.FindingStatus(q.Get("status")),
			IdentityID: q.Get("identity_id"), Limit: 100, Cursor: q.Get("cursor")}
		f.Unresolved = f.Status == ""
		d := &findingsData{Filter: f, Now: v.Now, Severities: severities}
		if m, ok := p.(FindingMatrixReader); ok && v.IsStaff() {
			// Counted in the database, over every finding.
			counts, err := m.FindingMatrix(ctx)
			if err != nil {
				return "", err
			}
			d.Matrix = matrixRows(counts)
		} else {
			// An owner's own findings, counted here (at most 1,000).
			all, err := p.ListFindings(ctx, steward.FindingFilter{Unresolved: true, Limit: steward.MaxLimit})
			if err != nil {
				return "", err
			}
			d.Truncated = all.NextCursor != ""
			counts := map[string]map[steward.Severity]int{}
			for _, fd := range all.Items {
				if counts[fd.OWASP] == nil {
					counts[fd.OWASP] = map[steward.Severity]int{}
				}
				counts[fd.OWASP][fd.Severity]++
			}
			d.Matrix = matrixRows(counts)
		}
		page, err := p.ListFindings(ctx, f)
		if err != nil {
			if statusOf(err) >= 500 {
				return "", err
			}
			d.Error = messageOf(err)
		} else {
			d.Items = page.Items
			if page.NextCursor != "" {
				n := url.Values{}
				for k, vs := range q {
					n[k] = vs
				}
				n.Set("cursor", page.NextCursor)
				d.NextHref = "/findings?" + n.Encode()
			}
		}
		return fragment("findings", d)
	}}
}

// FindingMatrixReader counts the estate's unresolved findings by OWASP
// NHI id and severity (the posture engine; staff only).
type FindingMatrixReader interface {
	FindingMatrix(ctx context.Context) (map[string]map[steward.Severity]int, error)
}

// severities are the matrix's columns, most severe first.
var severities = []string{"critical", "high", "medium", "low"}

// matrixRows turns counts by OWASP id (an edition suffix such as ":2025"
// is dropped) and severity into table rows with links to the filtered
// findings list, sorted by id.
func matrixRows(counts map[string]map[steward.Severity]int) []matrixRow {
	rows := map[string]*matrixRow{}
	for key, bySev := range counts {
		if i := strings.Index(key, ":"); i > 0 {
			key = key[:i]
		}
		m := rows[key]
		if m == nil {
			m = &matrixRow{OWASP: key, Counts: make([]int64, len(severities))}
			for _, s := range severities {
				m.Hrefs = append(m.Hrefs, "/findings?"+url.Values{"owasp": {key}, "severity": {s}}.Encode())
			}
			rows[key] = m
		}
		for sev, n := range bySev {
			if i := slices.Index(severities, string(sev)); i >= 0 {
				m.Counts[i] += int64(n)
			}
			m.Total += int64(n)
		}
	}
	out := make([]matrixRow, 0, len(rows))
	for _, k := range slices.Sorted(mapKeys(rows)) {
		out = append(out, *rows[k])
	}
	return out
}

// FindingTotals sums a finding matrix: every unresolved finding, and the
// critical and high ones among them.
func FindingTotals(counts map[string]map[steward.Severity]int) (open, severe int64) {
	for _, bySev := range counts {
		for sev, n := range bySev {
			open += int64(n)
			if sev == steward.SeverityCritical || sev == steward.SeverityHigh {
				severe += int64(n)
			}
		}
	}
	return open, severe
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
