package httpapi

import (
	"context"
	"strconv"

	"github.com/steward-nhi/steward"
)

// AuditClient calls the audit routes; it implements AuditAPI.
type AuditClient struct{ *Client }

var _ AuditAPI = AuditClient{}

// ListAudit lists chain entries.
func (c AuditClient) ListAudit(ctx context.Context, f steward.EventFilter) (*steward.Page[*steward.Event], error) {
	return call[steward.Page[*steward.Event]](ctx, c.Client, "GET", withQuery("/api/v1/audit", eventQuery(f, true)), nil)
}

// VerifyChain asks the server to verify its chain.
func (c AuditClient) VerifyChain(ctx context.Context) (*steward.VerifyReport, error) {
	return call[steward.VerifyReport](ctx, c.Client, "GET", "/api/v1/audit/verify", nil)
}

// ListCheckpoints lists signed checkpoints, newest first.
func (c AuditClient) ListCheckpoints(ctx context.Context, limit int) ([]*steward.Checkpoint, error) {
	return list[*steward.Checkpoint](ctx, c.Client, "/api/v1/audit/checkpoints?limit="+strconv.Itoa(max(1, limit)))
}

// CreateCheckpoint signs a checkpoint now.
func (c AuditClient) CreateCheckpoint(ctx context.Context) (*steward.Checkpoint, error) {
	return call[steward.Checkpoint](ctx, c.Client, "POST", "/api/v1/audit/checkpoints", nil)
}

// Proof fetches an inclusion proof.
func (c AuditClient) Proof(ctx context.Context, seq, treeSize int64) (*steward.InclusionProof, error) {
	path := withQuery("/api/v1/audit/proof/"+strconv.FormatInt(seq, 10), params("tree_size", num(treeSize)))
	return call[steward.InclusionProof](ctx, c.Client, "GET", path, nil)
}

// PublicKey fetches the checkpoint signing key.
func (c AuditClient) PublicKey(ctx context.Context) (*steward.AuditPublicKey, error) {
	return call[steward.AuditPublicKey](ctx, c.Client, "GET", "/api/v1/audit/public-key", nil)
}
