package web

import (
	"context"
	"html/template"
	"net/http"

	"github.com/steward-nhi/steward"
)

// AlertsReader is the part of the alerts capability the console shows.
type AlertsReader interface {
	ListAlerts(ctx context.Context, f steward.AlertFilter) (*steward.Page[*steward.Alert], error)
}

type alertsData struct {
	Filter     steward.AlertFilter
	Items      []*steward.Alert
	Severities []string
	Statuses   []string
	NextHref   string
	Now        any
}

// AlertsPage lists anomalous-usage alerts, newest first, with filters.
// Acting on an alert (ack, resolve, false positive) is done through the API
// and CLI, which record who did it and why.
func AlertsPage(a AlertsReader) Page {
	return Page{Path: "/alerts", Title: "Alerts", Render: func(r *http.Request, v *View) (template.HTML, error) {
		q := r.URL.Query()
		f := steward.AlertFilter{IdentityID: q.Get("identity_id"), Detector: q.Get("detector"), Severity: steward.Severity(q.Get("severity")),
			Status: steward.AlertStatus(q.Get("status")), Limit: 100, Cursor: q.Get("cursor")}
		d := &alertsData{Filter: f, Now: v.Now, Severities: []string{"critical", "high", "medium", "low", "info"},
			Statuses: []string{"open", "acknowledged", "resolved", "false_positive"}}
		page, err := a.ListAlerts(v.Context(), f)
		if err != nil {
			return "", err
		}
		d.Items = page.Items
		if page.NextCursor != "" {
			q.Set("cursor", page.NextCursor)
			d.NextHref = "/alerts?" + q.Encode()
		}
		return fragment("alerts", d)
	}}
}
