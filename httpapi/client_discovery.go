package httpapi

import (
	"context"
	"strconv"

	"github.com/steward-nhi/steward"
)

// DiscoveryClient calls the discovery routes.
type DiscoveryClient struct{ *Client }

var _ steward.DiscoveryService = DiscoveryClient{}

// Ingest uploads a scan report.
func (c DiscoveryClient) Ingest(ctx context.Context, rep *steward.DiscoveryReport) (*steward.DiscoverySummary, error) {
	return call[steward.DiscoverySummary](ctx, c.Client, "POST", "/api/v1/discovery/reports", rep)
}

// ListSightings lists secrets found in code, linked to identities.
func (c DiscoveryClient) ListSightings(ctx context.Context, f steward.SightingFilter) (*steward.Page[*steward.Sighting], error) {
	managed := ""
	if f.Managed != nil {
		managed = strconv.FormatBool(*f.Managed)
	}
	v := params("identity_id", f.IdentityID, "fingerprint", f.Fingerprint, "repository", f.Repository, "managed", managed,
		"status", f.Status, "cursor", f.Cursor, "limit", num(f.Limit))
	return call[steward.Page[*steward.Sighting]](ctx, c.Client, "GET", withQuery("/api/v1/discovery", v), nil)
}
