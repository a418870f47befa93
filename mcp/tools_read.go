package mcp

import (
	"context"
	"errors"
	"strings"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
)

// Default and largest page sizes of the list tools: assistants read every
// byte, so pages are small.
const (
	defaultLimit = 20
	maxLimit     = 100
)

func limitOf(n int) int {
	if n <= 0 {
		return defaultLimit
	}
	return min(n, maxLimit)
}

func readOnly() *sdk.ToolAnnotations {
	return &sdk.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: new(false)}
}

// PageArgs are the paging arguments of the list tools.
type PageArgs struct {
	Limit  int    `json:"limit,omitempty" jsonschema:"page size, 1 to 100 (default 20)"`
	Cursor string `json:"cursor,omitempty" jsonschema:"next_cursor of the previous page"`
}

// SearchIdentitiesArgs are search_identities' arguments: the inventory's
// list filters.
type SearchIdentitiesArgs struct {
	Query         string `json:"query,omitempty" jsonschema:"text searched in name, external reference, purpose and team"`
	OwnerID       string `json:"owner_id,omitempty" jsonschema:"owner id (own_...); 'none' selects identities without an owner"`
	Team          string `json:"team,omitempty" jsonschema:"team name, exact"`
	Kind          string `json:"kind,omitempty" jsonschema:"api_key, service_account, oauth_app, workload, bot, ai_agent, ssh_key, certificate or pat"`
	Provider      string `json:"provider,omitempty" jsonschema:"steward, aws, gcp, azure, github, gitlab, kubernetes, vault, okta, slack, datadog, other or vendor:NAME"`
	Environment   string `json:"environment,omitempty" jsonschema:"prod, staging, dev..."`
	Status        string `json:"status,omitempty" jsonschema:"pending, active, suspended, revoked or expired"`
	Sensitivity   string `json:"sensitivity,omitempty" jsonschema:"critical, high, medium or low"`
	Source        string `json:"source,omitempty" jsonschema:"registered, imported or discovered"`
	ExpiresBefore string `json:"expires_before,omitempty" jsonschema:"RFC 3339 time: identities expiring before it"`
	UnusedSince   string `json:"unused_since,omitempty" jsonschema:"RFC 3339 time: identities never used or last used before it (dormant)"`
	Sort          string `json:"sort,omitempty" jsonschema:"name, created_at, expires_at, last_used_at or last_rotated_at; a leading - sorts descending"`
	PageArgs
}

// GetIdentityArgs are get_identity's arguments.
type GetIdentityArgs struct {
	ID           string `json:"id" jsonschema:"identity id (nhi_...)"`
	HistoryLimit int    `json:"history_limit,omitempty" jsonschema:"how many recent audit events to include, 1 to 100 (default 10)"`
}

// ListFindingsArgs are list_findings' arguments.
type ListFindingsArgs struct {
	Severity   string `json:"severity,omitempty" jsonschema:"critical, high, medium, low or info"`
	Status     string `json:"status,omitempty" jsonschema:"open, acknowledged, resolved, waived, or unresolved (open and acknowledged; the default)"`
	OWASP      string `json:"owasp,omitempty" jsonschema:"OWASP NHI Top 10 id, NHI1 to NHI10"`
	OwnerID    string `json:"owner_id,omitempty" jsonschema:"owner id (own_...)"`
	Team       string `json:"team,omitempty" jsonschema:"team name, exact"`
	IdentityID string `json:"identity_id,omitempty" jsonschema:"identity id (nhi_...)"`
	Check      string `json:"check,omitempty" jsonschema:"check name, for example dormant, rotation.overdue, owner.departed, secret.leaked"`
	PageArgs
}

// ListAlertsArgs are list_alerts' arguments.
type ListAlertsArgs struct {
	IdentityID string `json:"identity_id,omitempty" jsonschema:"identity id (nhi_...)"`
	Detector   string `json:"detector,omitempty" jsonschema:"detector name, for example new_source, new_action, volume_spike, secret_leaked"`
	Severity   string `json:"severity,omitempty" jsonschema:"critical, high, medium, low or info"`
	Status     string `json:"status,omitempty" jsonschema:"open, acknowledged, resolved or false_positive"`
	PageArgs
}

// ExplainAccessArgs are explain_access' arguments.
type ExplainAccessArgs struct {
	Action       string `json:"action" jsonschema:"the action name as the policies write it, for example read or Action::\"read\" without the prefix"`
	ResourceType string `json:"resource_type" jsonschema:"the resource's entity type, for example Document or Route"`
	ResourceID   string `json:"resource_id" jsonschema:"the resource's entity id"`
	SubjectType  string `json:"subject_type,omitempty" jsonschema:"the type of subject to look for (default nhi: Steward's identities)"`
	PageArgs
}

// PostureSummaryArgs are posture_summary's arguments (none).
type PostureSummaryArgs struct{}

func readTools() []tool {
	return []tool{
		define(&sdk.Tool{Name: "search_identities", Title: "Search non-human identities", Annotations: readOnly(),
			InputSchema: schema[SearchIdentitiesArgs](map[string][]any{"kind": oneOf(steward.Kinds...), "status": oneOf(steward.Statuses...),
				"sensitivity": oneOf(steward.Sensitivities...), "source": oneOf(steward.Sources...)}),
			Description: "Search Steward's inventory of non-human identities (API keys, service accounts, OAuth apps, workloads, bots, AI agents...). " +
				"All filters combine with AND; leave them out to list everything. Returns a compact page {items, next_cursor}; pass next_cursor as cursor for the next page. " +
				"Use get_identity for credentials, owner, history and usage of one identity."},
			readers, nil, searchIdentities),
		define(&sdk.Tool{Name: "get_identity", Title: "Show one identity in full", Annotations: readOnly(),
			Description: "Show one identity by id: its attributes, its owner (name, email, status), its credentials (type, status, fingerprint, expiry, last use; never secrets), " +
				"its most recent audit events (who did what, when, why) and a usage summary (call counts, actions, sources, unused scopes)."},
			readers, nil, getIdentity),
		define(&sdk.Tool{Name: "list_findings", Title: "List posture findings", Annotations: readOnly(),
			InputSchema: schema[ListFindingsArgs](map[string][]any{"severity": oneOf(steward.Severities...),
				"status": append(oneOf(steward.FindingStatuses...), "unresolved"), "owasp": oneOf(steward.OWASPOrder...)}),
			Description: "List posture findings (risks Steward found: dormant or over-privileged identities, overdue rotations, departed owners, leaked secrets...), " +
				"each with severity, OWASP NHI Top 10 id, the identity, evidence and remediation. By default only unresolved findings (open or acknowledged)."},
			readers, func(s Services) bool { return s.Posture != nil }, listFindings),
		define(&sdk.Tool{Name: "list_alerts", Title: "List anomalous-usage alerts", Annotations: readOnly(),
			InputSchema: schema[ListAlertsArgs](map[string][]any{"severity": oneOf(steward.Severities...), "status": oneOf(steward.AlertStatuses...)}),
			Description: "List alerts raised by anomaly detection on identities' usage (new source address, new action, volume spike, leaked secret...), newest first, " +
				"with severity, status, the identity and evidence."},
			readers, func(s Services) bool { return s.Alerts != nil }, listAlerts),
		define(&sdk.Tool{Name: "explain_access", Title: "Who can perform an action on a resource", Annotations: readOnly(),
			Description: "Answer \"who can perform action A on resource R\": evaluates Steward's Cedar policies (an AuthZEN subject search) for every known subject of subject_type " +
				"and returns those that are permitted. Subjects of type nhi are Steward identities."},
			evaluators, func(s Services) bool { return s.Access != nil }, explainAccess),
		define(&sdk.Tool{Name: "posture_summary", Title: "Summarise the security posture", Annotations: readOnly(),
			Description: "Summarise the estate's posture in one call: inventory counts by status, kind, tier and environment (staff roles), unresolved findings by severity and " +
				"OWASP NHI id, open alerts by severity, and identities overdue for rotation. A section the caller's role may not read is left out and named in omitted."},
			readers, nil, postureSummary),
	}
}

// parseTime reads an optional RFC 3339 argument.
func parseTime(field, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, steward.FieldError(field, "%q is not an RFC 3339 time (2006-01-02T15:04:05Z)", s)
	}
	return &t, nil
}

func searchIdentities(ctx context.Context, svc Services, in SearchIdentitiesArgs) (any, error) {
	f := steward.IdentityFilter{Query: in.Query, OwnerID: in.OwnerID, Team: in.Team, Kind: steward.Kind(in.Kind), Provider: in.Provider,
		Environment: in.Environment, Status: steward.Status(in.Status), Sensitivity: steward.Sensitivity(in.Sensitivity), Source: steward.Source(in.Source),
		Sort: in.Sort, Limit: limitOf(in.Limit), Cursor: in.Cursor}
	var err error
	if f.ExpiresBefore, err = parseTime("expires_before", in.ExpiresBefore); err != nil {
		return nil, err
	}
	if f.UnusedSince, err = parseTime("unused_since", in.UnusedSince); err != nil {
		return nil, err
	}
	page, err := svc.Inventory.ListIdentities(ctx, f)
	if err != nil {
		return nil, err
	}
	return pageOf(page, identityView), nil
}

func getIdentity(ctx context.Context, svc Services, in GetIdentityArgs) (any, error) {
	i, err := svc.Inventory.GetIdentity(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	out := identityDetail{Identity: identityView(i)}
	if i.OwnerID != "" {
		o, err := svc.Inventory.GetOwner(ctx, i.OwnerID)
		if err := out.part("owner", err, func() {
			out.Owner = &ownerView{ID: o.ID, Name: o.Name, Email: o.Email, Team: o.Team, Status: string(o.Status)}
		}); err != nil {
			return nil, err
		}
	}
	creds, err := svc.Inventory.ListCredentials(ctx, i.ID)
	if err := out.part("credentials", err, func() { out.Credentials = mapAll(creds, credentialView) }); err != nil {
		return nil, err
	}
	events, err := svc.Inventory.ListEvents(ctx, steward.EventFilter{IdentityID: i.ID, Limit: historyLimit(in.HistoryLimit)})
	if err := out.part("history", err, func() { out.History = mapAll(events.Items, eventView) }); err != nil {
		return nil, err
	}
	if svc.Usage != nil {
		u, err := svc.Usage.IdentityUsage(ctx, i.ID, steward.UsageFilter{Limit: 1})
		if err := out.part("usage", err, func() {
			out.Usage = &usageView{Events: u.Events, FirstSeen: u.FirstSeen, LastSeen: u.LastSeen, Actions: top(u.Actions), Sources: top(u.Sources),
				Outcomes: top(u.Outcomes), UnusedScopes: u.UnusedScopes}
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func historyLimit(n int) int {
	if n <= 0 {
		return 10
	}
	return min(n, maxLimit)
}

func listFindings(ctx context.Context, svc Services, in ListFindingsArgs) (any, error) {
	f := steward.FindingFilter{Severity: steward.Severity(in.Severity), OWASP: in.OWASP, OwnerID: in.OwnerID, Team: in.Team,
		IdentityID: in.IdentityID, Check: in.Check, Limit: limitOf(in.Limit), Cursor: in.Cursor}
	switch in.Status {
	case "", "unresolved":
		f.Unresolved = true
	default:
		f.Status = steward.FindingStatus(in.Status)
	}
	page, err := svc.Posture.ListFindings(ctx, f)
	if err != nil {
		return nil, err
	}
	return pageOf(page, findingView), nil
}

func listAlerts(ctx context.Context, svc Services, in ListAlertsArgs) (any, error) {
	page, err := svc.Alerts.ListAlerts(ctx, steward.AlertFilter{IdentityID: in.IdentityID, Detector: in.Detector, Severity: steward.Severity(in.Severity),
		Status: steward.AlertStatus(in.Status), Limit: limitOf(in.Limit), Cursor: in.Cursor})
	if err != nil {
		return nil, err
	}
	return pageOf(page, alertView), nil
}

func explainAccess(ctx context.Context, svc Services, in ExplainAccessArgs) (any, error) {
	for _, f := range []struct{ name, v string }{{"action", in.Action}, {"resource_type", in.ResourceType}, {"resource_id", in.ResourceID}} {
		if strings.TrimSpace(f.v) == "" {
			return nil, steward.FieldError(f.name, "is required")
		}
	}
	typ := in.SubjectType
	if typ == "" {
		typ = string(authz.IdentityType)
	}
	res, err := svc.Access.SearchSubject(ctx, &authz.SearchRequest{
		Request: authz.Request{Subject: &authz.Entity{Type: typ}, Action: &authz.Action{Name: in.Action},
			Resource: &authz.Entity{Type: in.ResourceType, ID: in.ResourceID}},
		Page: &authz.Page{Token: in.Cursor, Limit: limitOf(in.Limit)}}, authz.Call{UserAgent: "steward-mcp"})
	if err != nil {
		return nil, err
	}
	return accessView{Action: in.Action, Resource: in.ResourceType + "::" + in.ResourceID, SubjectType: typ,
		Permitted: res.Results, Total: res.Page.Total, NextCursor: res.Page.NextToken}, nil
}

// summaryPages bounds how many findings or alerts posture_summary counts.
const summaryPages = 20

func postureSummary(ctx context.Context, svc Services, _ PostureSummaryArgs) (any, error) {
	out := summaryView{}
	st, err := svc.Inventory.Stats(ctx)
	if err := out.part("inventory", err, func() { out.Inventory = st }); err != nil {
		return nil, err
	}
	if svc.Posture != nil {
		counts, err := countAll(ctx, steward.FindingFilter{Unresolved: true, Limit: maxLimit}, svc.Posture.ListFindings,
			func(f *steward.FindingFilter, c string) { f.Cursor = c },
			func(f *steward.Finding) []string { return []string{string(f.Severity), owaspID(f.OWASP)} })
		if err := out.part("findings", err, func() { out.Findings = counts }); err != nil {
			return nil, err
		}
		items, err := svc.Posture.RotationSchedule(ctx, steward.ScheduleFilter{Limit: steward.MaxLimit})
		if err := out.part("rotation", err, func() {
			n := 0
			for _, it := range items {
				if it.State == "overdue" {
					n++
				}
			}
			out.RotationOverdue = &n
		}); err != nil {
			return nil, err
		}
	}
	if svc.Alerts != nil {
		counts, err := countAll(ctx, steward.AlertFilter{Status: steward.AlertOpen, Limit: maxLimit}, svc.Alerts.ListAlerts,
			func(f *steward.AlertFilter, c string) { f.Cursor = c },
			func(a *steward.Alert) []string { return []string{string(a.Severity)} })
		if err := out.part("alerts", err, func() { out.OpenAlerts = counts }); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// counts tallies items by severity (and, for findings, OWASP id).
type counts struct {
	Total      int            `json:"total"`
	BySeverity map[string]int `json:"by_severity"`
	ByOWASP    map[string]int `json:"by_owasp,omitempty"`
	// Truncated says more items exist than were counted.
	Truncated bool `json:"truncated,omitempty"`
}

// countAll pages through a list (at most summaryPages pages) and counts
// each item by the keys of keyOf: severity first, then OWASP id.
func countAll[F, T any](ctx context.Context, f F, list func(context.Context, F) (*steward.Page[T], error), next func(*F, string), keyOf func(T) []string) (*counts, error) {
	c := &counts{BySeverity: map[string]int{}}
	for range summaryPages {
		page, err := list(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			c.Total++
			k := keyOf(it)
			c.BySeverity[k[0]]++
			if len(k) > 1 && k[1] != "" {
				if c.ByOWASP == nil {
					c.ByOWASP = map[string]int{}
				}
				c.ByOWASP[k[1]]++
			}
		}
		if page.NextCursor == "" {
			return c, nil
		}
		next(&f, page.NextCursor)
	}
	c.Truncated = true
	return c, nil
}

// owaspID drops the edition: "NHI7:2025" counts as "NHI7".
func owaspID(s string) string {
	if i := strings.IndexByte(s, ':'); i > 0 {
		return s[:i]
	}
	return s
}

// omittable reports whether err only says the caller may not read a
// section (or the capability is off), so the rest of an answer stands.
func omittable(err error) bool {
	switch steward.ErrorCode(err) {
	case steward.EFORBIDDEN, steward.ENOTIMPLEMENTED:
		return true
	}
	return false
}

// sections records the parts of an answer left out, and why.
type sections struct {
	Omitted map[string]string `json:"omitted,omitempty"`
}

// part fills one section of an answer: set runs when err is nil; a
// refusal leaves the section out, named in s; any other error is returned
// for the whole call to fail.
func (s *sections) part(name string, err error, set func()) error {
	if err != nil {
		return s.omit(name, err)
	}
	set()
	return nil
}

// omit records a section left out because of err; an error that is not a
// refusal is returned for the whole call to fail.
func (s *sections) omit(name string, err error) error {
	if !omittable(err) && !errors.Is(err, context.Canceled) && steward.ErrorCode(err) != steward.ENOTFOUND {
		return err
	}
	if s.Omitted == nil {
		s.Omitted = map[string]string{}
	}
	s.Omitted[name] = steward.ErrorMessage(err)
	return nil
}
