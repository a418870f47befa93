package httpapi

import (
	"bytes"
	"context"
	"io"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/usage"
)

// AuthzClient calls the policy, entity and usage routes.
type AuthzClient struct{ *Client }

func (c AuthzClient) put(ctx context.Context, path, reason, contentType string, body []byte, out any) error {
	return c.Do(ctx, "PUT", withQuery(path, params("reason", reason)), bytes.NewReader(body), contentType, out)
}

// PutPolicy creates or replaces a Cedar policy.
func (c AuthzClient) PutPolicy(ctx context.Context, name, text, reason string) (*steward.AuthzPolicy, error) {
	var out steward.AuthzPolicy
	return &out, c.put(ctx, "/api/v1/policies/"+esc(name), reason, "text/plain", []byte(text), &out)
}

// GetPolicy returns a policy.
func (c AuthzClient) GetPolicy(ctx context.Context, name string) (*steward.AuthzPolicy, error) {
	return call[steward.AuthzPolicy](ctx, c.Client, "GET", "/api/v1/policies/"+esc(name), nil)
}

// DeletePolicy deletes a policy (its history stays).
func (c AuthzClient) DeletePolicy(ctx context.Context, name, reason string) error {
	return c.doJSON(ctx, "DELETE", withQuery("/api/v1/policies/"+esc(name), params("reason", reason)), nil, nil)
}

// ListPolicies lists the policies (versions: with the history).
func (c AuthzClient) ListPolicies(ctx context.Context, versions bool) (*authz.PolicyList, error) {
	v := params()
	if versions {
		v.Set("versions", "true")
	}
	return call[authz.PolicyList](ctx, c.Client, "GET", withQuery("/api/v1/policies", v), nil)
}

// PutSchema sets the Cedar schema; format is cedar or json.
func (c AuthzClient) PutSchema(ctx context.Context, text, format, reason string) (*steward.AuthzSchema, error) {
	ct := "text/plain"
	if format == "json" {
		ct = "application/json"
	}
	var out steward.AuthzSchema
	return &out, c.put(ctx, "/api/v1/policies/schema", reason, ct, []byte(text), &out)
}

// PutEntities replaces (or, replace false, upserts) the Cedar entities.
func (c AuthzClient) PutEntities(ctx context.Context, body []byte, replace bool, reason string) (*authz.EntityChange, error) {
	method := "PATCH"
	if replace {
		method = "PUT"
	}
	var out authz.EntityChange
	return &out, c.Do(ctx, method, withQuery("/api/v1/entities", params("reason", reason)), bytes.NewReader(body), "application/json", &out)
}

// UsageQuery encodes a usage filter.
func UsageQuery(f steward.UsageFilter) string {
	unknown := ""
	if f.Unknown {
		unknown = "true"
	}
	return params("identity_id", f.IdentityID, "subject", f.Subject, "kind", f.Kind, "outcome", f.Outcome, "action", f.Action,
		"unknown", unknown, "since", timeParam(f.Since), "until", timeParam(f.Until), "limit", num(f.Limit), "cursor", f.Cursor).Encode()
}

// ListUsage lists usage events.
func (c AuthzClient) ListUsage(ctx context.Context, f steward.UsageFilter) (*steward.Page[*steward.UsageEvent], error) {
	return call[steward.Page[*steward.UsageEvent]](ctx, c.Client, "GET", "/api/v1/usage?"+UsageQuery(f), nil)
}

// IdentityUsage returns an identity's usage.
func (c AuthzClient) IdentityUsage(ctx context.Context, id string, f steward.UsageFilter) (*usage.IdentityUsage, error) {
	return call[usage.IdentityUsage](ctx, c.Client, "GET", "/api/v1/identities/"+esc(id)+"/usage?"+UsageQuery(f), nil)
}

// UnknownCallers lists callers that match no identity.
func (c AuthzClient) UnknownCallers(ctx context.Context, limit int) ([]steward.UsageCount, error) {
	return list[steward.UsageCount](ctx, c.Client, withQuery("/api/v1/usage/unknown", params("limit", num(limit))))
}

// Ingest uploads a usage log (format jsonl goes to POST /usage).
func (c AuthzClient) Ingest(ctx context.Context, format string, r io.Reader, opts usage.IngestOptions) (*usage.IngestSummary, error) {
	v := params("provider", opts.Provider)
	for k, f := range opts.Fields {
		v.Set(k+"_field", f)
	}
	path := "/api/v1/usage/import/" + esc(format)
	if format == "jsonl" && len(v) == 0 {
		path = "/api/v1/usage"
	}
	var out usage.IngestSummary
	if err := c.Do(ctx, "POST", withQuery(path, v), r, "application/octet-stream", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SearchSubject asks the PDP which subjects may perform the action on the
// resource (AuthZEN subject search); call is the server's to fill.
func (c AuthzClient) SearchSubject(ctx context.Context, r *authz.SearchRequest, _ authz.Call) (*authz.SearchResponse, error) {
	return call[authz.SearchResponse](ctx, c.Client, "POST", "/access/v1/search/subject", r)
}
