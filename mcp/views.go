package mcp

import (
	"time"

	"github.com/steward-nhi/steward"
)

// The tools answer compact views of the domain types: the fields an
// assistant reasons with, empty ones left out, never a secret.

type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func pageOf[S, T any](p *steward.Page[S], view func(S) T) page[T] {
	return page[T]{Items: mapAll(p.Items, view), NextCursor: p.NextCursor}
}

func mapAll[S, T any](in []S, view func(S) T) []T {
	out := make([]T, 0, len(in))
	for _, s := range in {
		out = append(out, view(s))
	}
	return out
}

type identity struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Kind          string            `json:"kind"`
	Provider      string            `json:"provider"`
	Status        string            `json:"status"`
	OwnerID       string            `json:"owner_id,omitempty"`
	Team          string            `json:"team,omitempty"`
	Environment   string            `json:"environment,omitempty"`
	Sensitivity   string            `json:"sensitivity,omitempty"`
	Purpose       string            `json:"purpose,omitempty"`
	ExternalRef   string            `json:"external_ref,omitempty"`
	Scopes        []string          `json:"scopes,omitempty"`
	Source        string            `json:"source,omitempty"`
	ExpiresAt     *time.Time        `json:"expires_at,omitempty"`
	LastRotatedAt *time.Time        `json:"last_rotated_at,omitempty"`
	LastUsedAt    *time.Time        `json:"last_used_at,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
}

func identityView(i *steward.Identity) identity {
	return identity{ID: i.ID, Name: i.Name, Kind: string(i.Kind), Provider: i.Provider, Status: string(i.Status), OwnerID: i.OwnerID, Team: i.Team,
		Environment: i.Environment, Sensitivity: string(i.Sensitivity), Purpose: i.Purpose, ExternalRef: i.ExternalRef, Scopes: i.Scopes,
		Source: string(i.Source), ExpiresAt: i.ExpiresAt, LastRotatedAt: i.LastRotatedAt, LastUsedAt: i.LastUsedAt, Labels: i.Labels}
}

type identityDetail struct {
	Identity    identity     `json:"identity"`
	Owner       *ownerView   `json:"owner,omitempty"`
	Credentials []credential `json:"credentials"`
	History     []event      `json:"history"`
	Usage       *usageView   `json:"usage,omitempty"`
	sections
}

type ownerView struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Email  string `json:"email,omitempty"`
	Team   string `json:"team,omitempty"`
	Status string `json:"status"`
}

type credential struct {
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	Status      string     `json:"status"`
	Fingerprint string     `json:"fingerprint,omitempty"`
	Hint        string     `json:"hint,omitempty"`
	Scopes      []string   `json:"scopes,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

func credentialView(c *steward.Credential) credential {
	return credential{ID: c.ID, Type: c.Type, Status: string(c.Status), Fingerprint: c.Fingerprint, Hint: c.Hint, Scopes: c.Scopes,
		CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt, LastUsedAt: c.LastUsedAt, RevokedAt: c.RevokedAt}
}

type event struct {
	Seq    int64     `json:"seq"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Reason string    `json:"reason,omitempty"`
}

func eventView(e *steward.Event) event {
	return event{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Action: e.Action, Reason: e.Reason}
}

type usageView struct {
	Events       int64      `json:"events"`
	FirstSeen    *time.Time `json:"first_seen,omitempty"`
	LastSeen     *time.Time `json:"last_seen,omitempty"`
	Actions      []count    `json:"actions,omitempty"`
	Sources      []count    `json:"sources,omitempty"`
	Outcomes     []count    `json:"outcomes,omitempty"`
	UnusedScopes []string   `json:"unused_scopes,omitempty"`
}

type count struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

// topN bounds each usage breakdown.
const topN = 10

func top(in []steward.UsageCount) []count {
	out := make([]count, 0, min(len(in), topN))
	for _, c := range in[:min(len(in), topN)] {
		out = append(out, count{Value: c.Value, Count: c.Count})
	}
	return out
}

type finding struct {
	ID           string         `json:"id"`
	Check        string         `json:"check"`
	Title        string         `json:"title"`
	Severity     string         `json:"severity"`
	Status       string         `json:"status"`
	IdentityID   string         `json:"identity_id"`
	CredentialID string         `json:"credential_id,omitempty"`
	OwnerID      string         `json:"owner_id,omitempty"`
	OWASP        string         `json:"owasp,omitempty"`
	Evidence     map[string]any `json:"evidence,omitempty"`
	Remediation  string         `json:"remediation,omitempty"`
	FirstSeen    time.Time      `json:"first_seen"`
}

func findingView(f *steward.Finding) finding {
	return finding{ID: f.ID, Check: f.Check, Title: f.Title, Severity: string(f.Severity), Status: string(f.Status), IdentityID: f.IdentityID,
		CredentialID: f.CredentialID, OwnerID: f.OwnerID, OWASP: f.OWASP, Evidence: f.Evidence, Remediation: f.Remediation, FirstSeen: f.FirstSeen}
}

type alert struct {
	ID         string         `json:"id"`
	Detector   string         `json:"detector"`
	Title      string         `json:"title"`
	Severity   string         `json:"severity"`
	Status     string         `json:"status"`
	IdentityID string         `json:"identity_id,omitempty"`
	Count      int64          `json:"count"`
	FirstSeen  time.Time      `json:"first_seen"`
	LastSeen   time.Time      `json:"last_seen"`
	Evidence   map[string]any `json:"evidence,omitempty"`
}

func alertView(a *steward.Alert) alert {
	return alert{ID: a.ID, Detector: a.Detector, Title: a.Title, Severity: string(a.Severity), Status: string(a.Status), IdentityID: a.IdentityID,
		Count: a.Count, FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, Evidence: a.Evidence}
}

type accessView struct {
	Action      string `json:"action"`
	Resource    string `json:"resource"`
	SubjectType string `json:"subject_type"`
	Permitted   []any  `json:"permitted"`
	Total       int    `json:"total"`
	NextCursor  string `json:"next_cursor,omitempty"`
}

type summaryView struct {
	Inventory       *steward.InventoryStats `json:"inventory,omitempty"`
	Findings        *counts                 `json:"unresolved_findings,omitempty"`
	OpenAlerts      *counts                 `json:"open_alerts,omitempty"`
	RotationOverdue *int                    `json:"rotation_overdue,omitempty"`
	sections
}
