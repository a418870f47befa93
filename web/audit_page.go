package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"

	"github.com/steward-nhi/steward"
)

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
