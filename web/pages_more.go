package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
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

// DiscoveryReader is the part of discovery the console shows.
type DiscoveryReader interface {
	ListSightings(ctx context.Context, f steward.SightingFilter) (*steward.Page[*steward.Sighting], error)
}

type discoveryData struct {
	Managed  string
	Items    []*steward.Sighting
	NextHref string
	Now      any
}

// DiscoveryPage lists secrets found in code and pipelines: leaked managed
// credentials first in severity, unmanaged ones linked to the discovered
// identities created for them.
func DiscoveryPage(d DiscoveryReader) Page {
	return Page{Path: "/discovery", Title: "Discovery", Render: func(r *http.Request, v *View) (template.HTML, error) {
		q := r.URL.Query()
		f := steward.SightingFilter{Repository: q.Get("repository"), Limit: 100, Cursor: q.Get("cursor")}
		data := &discoveryData{Managed: q.Get("managed"), Now: v.Now}
		switch data.Managed {
		case "true":
			t := true
			f.Managed = &t
		case "false":
			b := false
			f.Managed = &b
		}
		page, err := d.ListSightings(v.Context(), f)
		if err != nil {
			return "", err
		}
		data.Items = page.Items
		if page.NextCursor != "" {
			next := url.Values{"cursor": {page.NextCursor}}
			if data.Managed != "" {
				next.Set("managed", data.Managed)
			}
			data.NextHref = "/discovery?" + next.Encode()
		}
		return fragment("discovery", data)
	}}
}

// PoliciesReader is the part of the authorization capability the console
// shows.
type PoliciesReader interface {
	ListPolicies(ctx context.Context, versions bool) (*authz.PolicyList, error)
}

type policyVersion struct {
	*steward.AuthzPolicy
	Diff string
}

type policiesData struct {
	Revision int64
	Items    []*steward.AuthzPolicy
	Name     string
	Versions []policyVersion
	Now      any
}

// PoliciesPage lists the Cedar policies in force; with ?name= it shows that
// policy's versions, newest first, each with its diff from the previous one.
func PoliciesPage(p PoliciesReader) Page {
	return Page{Path: "/policies", Title: "Policies", Render: func(r *http.Request, v *View) (template.HTML, error) {
		name := r.URL.Query().Get("name")
		list, err := p.ListPolicies(v.Context(), name != "")
		if err != nil {
			return "", err
		}
		d := &policiesData{Revision: list.Revision, Items: list.Items, Name: name, Now: v.Now}
		if name != "" {
			var hist []*steward.AuthzPolicy // newest first
			for _, pv := range list.Versions {
				if pv.Name == name {
					hist = append(hist, pv)
				}
			}
			for i, pv := range hist {
				prev := ""
				if i+1 < len(hist) && !hist[i+1].Deleted {
					prev = hist[i+1].Text
				}
				cur := pv.Text
				if pv.Deleted {
					cur = ""
				}
				d.Versions = append(d.Versions, policyVersion{AuthzPolicy: pv, Diff: authz.Diff(prev, cur)})
			}
		}
		return fragment("policies", d)
	}}
}
