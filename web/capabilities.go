package web

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/steward-nhi/steward"
)

// Pages of the capabilities beyond the core. Each takes only the methods it
// shows, so cmd/steward passes the capability's API when it is wired.

var fragments = template.Must(template.New("").Funcs(funcs).ParseFS(files, "templates/frag_*.html"))

func fragment(name string, data any) (template.HTML, error) {
	var b bytes.Buffer
	if err := fragments.ExecuteTemplate(&b, name, data); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil
}

// AuditReader is the part of the audit capability the console shows.
type AuditReader interface {
	ListAudit(ctx context.Context, f steward.EventFilter) (*steward.Page[*steward.Event], error)
	VerifyChain(ctx context.Context) (*steward.VerifyReport, error)
	ListCheckpoints(ctx context.Context, limit int) ([]*steward.Checkpoint, error)
}

type auditData struct {
	Checkpoint *steward.Checkpoint
	Verified   *steward.VerifyReport
	Entries    []timelineEntry
	Subjects   []string
	NextHref   string
	Now        any
}

// AuditPage shows the audit chain: the last signed checkpoint, a verify
// button (re-computes the chain; GET, it changes nothing) and the newest
// entries.
func AuditPage(a AuditReader) Page {
	return Page{Path: "/audit", Title: "Audit", Render: func(r *http.Request, v *View) (template.HTML, error) {
		ctx := v.Context()
		d := &auditData{Now: v.Now}
		cps, err := a.ListCheckpoints(ctx, 1)
		if err != nil {
			return "", err
		}
		if len(cps) > 0 {
			d.Checkpoint = cps[0]
		}
		if r.URL.Query().Get("verify") == "1" {
			if d.Verified, err = a.VerifyChain(ctx); err != nil {
				return "", err
			}
		}
		page, err := a.ListAudit(ctx, steward.EventFilter{Limit: 50, Cursor: r.URL.Query().Get("cursor")})
		if err != nil {
			return "", err
		}
		for _, e := range page.Items {
			te := timelineOf(e)
			d.Entries = append(d.Entries, te)
			d.Subjects = append(d.Subjects, e.SubjectType+" "+e.SubjectID)
		}
		if page.NextCursor != "" {
			d.NextHref = "/audit?cursor=" + url.QueryEscape(page.NextCursor)
		}
		return fragment("audit", d)
	}}
}

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
		d := &findingsData{Filter: f, Now: v.Now}
		all, err := p.ListFindings(ctx, steward.FindingFilter{Unresolved: true, Limit: steward.MaxLimit})
		if err != nil {
			return "", err
		}
		d.Truncated = all.NextCursor != ""
		sevs := []string{"critical", "high", "medium", "low"}
		d.Severities = sevs
		rows := map[string]*matrixRow{}
		for _, fd := range all.Items {
			key := fd.OWASP
			if i := strings.Index(key, ":"); i > 0 {
				key = key[:i]
			}
			m := rows[key]
			if m == nil {
				m = &matrixRow{OWASP: key, Counts: make([]int64, len(sevs))}
				for _, s := range sevs {
					m.Hrefs = append(m.Hrefs, "/findings?"+url.Values{"owasp": {key}, "severity": {s}}.Encode())
				}
				rows[key] = m
			}
			if i := slices.Index(sevs, string(fd.Severity)); i >= 0 {
				m.Counts[i]++
			}
			m.Total++
		}
		for _, k := range slices.Sorted(mapKeys(rows)) {
			d.Matrix = append(d.Matrix, *rows[k])
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

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
