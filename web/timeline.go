package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/steward-nhi/steward"
)

// UsageReader is the part of the usage capability the console shows: an
// identity's usage events, newest first.
type UsageReader interface {
	ListUsage(ctx context.Context, f steward.UsageFilter) (*steward.Page[*steward.UsageEvent], error)
}

// timelineLimit is the most entries of each kind an identity's timeline
// shows; each kind links to its own page for the rest.
const timelineLimit = 50

// The kinds of timeline entries.
const (
	kindChange  = "change"
	kindUsage   = "usage"
	kindAlert   = "alert"
	kindFinding = "finding"
)

// timelineKinds are the kinds in the order of the filter, with the value
// of ?show= that selects each alone.
var timelineKinds = []struct{ Kind, Show, Label string }{
	{kindChange, "changes", "Changes"},
	{kindUsage, "usage", "Usage"},
	{kindAlert, "alerts", "Alerts"},
	{kindFinding, "findings", "Findings"},
}

// kindLabels name the kinds on their entries.
var kindLabels = map[string]string{kindChange: "Change", kindUsage: "Usage", kindAlert: "Alert", kindFinding: "Finding"}

type timelineFilter struct {
	Label   string
	Href    string
	Current bool
}

type moreLink struct {
	Label string
	Href  string
}

// timeline fills d.Timeline with the identity's entries of every wired
// kind (at most timelineLimit of each), newest first, and the links to
// filter it and to see more. ?show= keeps one kind; ?events= pages through
// older changes, alone.
func (c *Console) timeline(r *http.Request, v *View, d *identityData) error {
	ctx, i, q := v.Context(), d.I, r.URL.Query()
	base := "/identities/" + url.PathEscape(i.ID)
	show, cursor := q.Get("show"), q.Get("events")
	if cursor != "" {
		show = "changes"
	}
	wired := map[string]bool{kindChange: true, kindUsage: c.cfg.Usage != nil, kindAlert: c.cfg.Alerts != nil, kindFinding: c.cfg.Findings != nil}
	want := map[string]bool{}
	for _, k := range timelineKinds {
		if !wired[k.Kind] {
			continue
		}
		if show == "" || show == k.Show {
			want[k.Kind] = true
		}
	}
	if len(want) == 0 { // an unknown ?show= shows everything
		show = ""
		for k, ok := range wired {
			want[k] = ok
		}
	}
	if wired[kindUsage] || wired[kindAlert] || wired[kindFinding] {
		d.Filters = append(d.Filters, timelineFilter{Label: "All", Href: base + "#timeline", Current: show == ""})
		for _, k := range timelineKinds {
			if wired[k.Kind] {
				d.Filters = append(d.Filters, timelineFilter{Label: k.Label, Href: base + "?show=" + k.Show + "#timeline", Current: show == k.Show})
			}
		}
	}

	var entries []timelineEntry
	if want[kindChange] {
		ev, err := c.cfg.Identities.ListEvents(ctx, steward.EventFilter{IdentityID: i.ID, Limit: timelineLimit, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, e := range ev.Items {
			entries = append(entries, timelineOf(e))
		}
		if ev.NextCursor != "" {
			d.MoreHref = base + "?events=" + url.QueryEscape(ev.NextCursor) + "#timeline"
		}
	}
	if want[kindUsage] {
		page, err := c.cfg.Usage.ListUsage(ctx, steward.UsageFilter{IdentityID: i.ID, Limit: timelineLimit})
		if c.optional(ctx, d, "usage", err) {
			for _, u := range page.Items {
				entries = append(entries, usageEntry(base, u))
			}
			d.More = append(d.More, moreLink{Label: "All usage", Href: base + "/usage"})
		}
	}
	if want[kindAlert] {
		page, err := c.cfg.Alerts.ListAlerts(ctx, steward.AlertFilter{IdentityID: i.ID, Limit: timelineLimit})
		if c.optional(ctx, d, "alerts", err) {
			for _, a := range page.Items {
				entries = append(entries, alertEntry(i.ID, a))
			}
			d.More = append(d.More, moreLink{Label: "All alerts", Href: "/alerts?" + url.Values{"identity_id": {i.ID}}.Encode()})
		}
	}
	if want[kindFinding] {
		for _, f := range d.allFindings {
			entries = append(entries, findingEntries(i.ID, f)...)
		}
	}
	slices.SortStableFunc(entries, func(a, b timelineEntry) int { return b.Time.Compare(a.Time) })
	d.Timeline = entries
	return nil
}

// optional reports whether a capability's answer can be shown. A role
// that may not read it leaves its part out quietly; any other failure is
// logged and noted on the page, which still renders.
func (c *Console) optional(ctx context.Context, d *identityData, what string, err error) bool {
	if err == nil {
		return true
	}
	switch statusOf(err) {
	case http.StatusForbidden, http.StatusUnauthorized:
		return false
	}
	if statusOf(err) >= 500 {
		c.log.ErrorContext(ctx, "web identity page", "part", what, "identity_id", d.I.ID, "err", err)
	}
	d.Notes = append(d.Notes, fmt.Sprintf("The identity's %s could not be loaded.", what))
	return false
}

// badOutcomes are usage outcomes that mark a refused or failed use.
var badOutcomes = map[string]bool{"deny": true, "revoked": true, "expired": true, "unknown": true, "bad_signature": true,
	"cidr_denied": true, "error": true}

// usageEntry describes one usage event.
func usageEntry(base string, u *steward.UsageEvent) timelineEntry {
	t := timelineEntry{Kind: kindUsage, Time: u.Time, Action: "usage." + u.Kind, Href: base + "/usage#use-" + u.ID}
	ok := u.Outcome == "" || u.Outcome == "ok" || u.Outcome == "allow"
	switch {
	case u.Action == steward.UsageActionTokenExchange && ok:
		t.Label = "Token exchanged"
		if u.Attributes["act_sub"] != "" {
			t.Label = "Token exchanged (delegated)"
		}
	case u.Action == steward.UsageActionTokenExchange:
		t.Label = "Token exchange refused (" + u.Outcome + ")"
	case u.Kind == steward.UsageAuth && ok && u.Attributes["federated_iss"] != "":
		t.Label = "Authenticated with an exchanged token"
	case u.Kind == steward.UsageAuth && ok:
		t.Label = "Authenticated"
	case u.Kind == steward.UsageAuth:
		t.Label = "Authentication refused (" + u.Outcome + ")"
	case u.Kind == steward.UsageDecision:
		t.Label = "Authorization decision: " + u.Outcome
	case ok:
		t.Label = "Used"
	default:
		t.Label = "Used (" + u.Outcome + ")"
	}
	if badOutcomes[u.Outcome] {
		t.Class = "ev-bad"
	}
	var what []string
	if u.Action != "" {
		s := u.Action
		if u.Resource != "" {
			s += " on " + shorten(u.Resource, 120)
		}
		what = append(what, s)
	}
	if u.Source != "" {
		what = append(what, "from "+u.Source)
	}
	if u.UserAgent != "" {
		what = append(what, shorten(u.UserAgent, 60))
	}
	if u.CredentialID != "" {
		what = append(what, "credential "+u.CredentialID)
	}
	if iss := u.Attributes["federated_iss"]; iss != "" {
		what = append(what, "federated token of "+shorten(iss, 120)+" for "+shorten(u.Attributes["federated_sub"], 120))
	} else if u.Action == steward.UsageActionTokenExchange && u.Subject != "" {
		what = append(what, "presented "+shorten(u.Subject, 160))
	}
	if act := u.Attributes["act_sub"]; act != "" {
		what = append(what, "acting: "+act)
	}
	t.Detail = strings.Join(what, " · ")
	t.Reason = u.Reason
	return t
}

// alertEntry describes an alert at its latest occurrence.
func alertEntry(identityID string, a *steward.Alert) timelineEntry {
	t := timelineEntry{Kind: kindAlert, Time: a.LastSeen, Action: "alert." + a.Detector, Label: a.Title,
		Href: "/alerts?" + url.Values{"identity_id": {identityID}}.Encode() + "#alert-" + a.ID}
	t.Detail = fmt.Sprintf("%s · %s · %s", a.Severity, a.Detector, a.Status)
	if a.Count > 1 {
		t.Detail += fmt.Sprintf(" · %d occurrences since %s", a.Count, a.FirstSeen.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if a.Response != "" {
		t.Detail += " · response: " + a.Response
	}
	switch {
	case !a.Status.Live():
	case a.Severity == steward.SeverityCritical || a.Severity == steward.SeverityHigh:
		t.Class = "ev-bad"
	default:
		t.Class = "ev-warn"
	}
	return t
}

// findingEntries describe a finding when it was found (or last reopened)
// and, once resolved, its resolution.
func findingEntries(identityID string, f *steward.Finding) []timelineEntry {
	href := "/findings?" + url.Values{"identity_id": {identityID}, "status": {string(f.Status)}}.Encode() + "#finding-" + f.ID
	found := f.FirstSeen
	if f.ReopenedAt != nil && f.ReopenedAt.After(found) {
		found = *f.ReopenedAt
	}
	t := timelineEntry{Kind: kindFinding, Time: found, Action: "finding." + f.Check, Label: f.Title, Href: href,
		Detail: fmt.Sprintf("%s · %s · %s", f.Severity, f.OWASPName(), f.Status)}
	switch f.Severity {
	case steward.SeverityCritical, steward.SeverityHigh:
		t.Class = "ev-bad"
	case steward.SeverityMedium:
		t.Class = "ev-warn"
	}
	out := []timelineEntry{t}
	if f.Status == steward.FindingResolved && f.ResolvedAt != nil {
		out = append(out, timelineEntry{Kind: kindFinding, Time: *f.ResolvedAt, Action: "finding.resolved", Label: "Finding resolved: " + f.Title,
			Href: href, Class: "ev-good", Actor: f.ResolvedBy})
	}
	return out
}

// policiesNaming returns the names of the authorization policies whose text
// names the identity (at most 20).
func (c *Console) policiesNaming(ctx context.Context, d *identityData) {
	if c.cfg.Policies == nil {
		return
	}
	list, err := c.cfg.Policies.ListPolicies(ctx, false)
	if !c.optional(ctx, d, "policies", err) {
		return
	}
	d.HasPolicies = true
	for _, p := range list.Items {
		if strings.Contains(p.Text, d.I.ID) {
			d.Policies = append(d.Policies, p.Name)
			if len(d.Policies) == 20 {
				break
			}
		}
	}
}

type usagePageData struct {
	I        *steward.Identity
	Items    []*steward.UsageEvent
	NextHref string
	First    bool
}

// usagePage lists an identity's usage events, newest first, 50 a page.
func (c *Console) usagePage(w http.ResponseWriter, r *http.Request, v *View) error {
	ctx := v.Context()
	i, err := c.cfg.Identities.GetIdentity(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	cursor := r.URL.Query().Get("cursor")
	page, err := c.cfg.Usage.ListUsage(ctx, steward.UsageFilter{IdentityID: i.ID, Limit: timelineLimit, Cursor: cursor})
	if err != nil {
		return err
	}
	d := &usagePageData{I: i, Items: page.Items, First: cursor == ""}
	if page.NextCursor != "" {
		d.NextHref = "/identities/" + url.PathEscape(i.ID) + "/usage?" + url.Values{"cursor": {page.NextCursor}}.Encode()
	}
	return c.renderPage(w, r, v, "usage", "Usage of "+i.Name, d)
}
