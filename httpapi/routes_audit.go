package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/steward-nhi/steward"
)

// AuditAPI is what the audit routes need; cmd/steward sets it in Deps
// (audit.Service implements it). Each method checks the caller's role.
type AuditAPI interface {
	ListAudit(ctx context.Context, f steward.EventFilter) (*steward.Page[*steward.Event], error)
	VerifyChain(ctx context.Context) (*steward.VerifyReport, error)
	ListCheckpoints(ctx context.Context, limit int) ([]*steward.Checkpoint, error)
	CreateCheckpoint(ctx context.Context) (*steward.Checkpoint, error)
	Proof(ctx context.Context, seq, treeSize int64) (*steward.InclusionProof, error)
	PublicKey(ctx context.Context) (*steward.AuditPublicKey, error)
}

// auditRoutes lists the audit capability's routes.
func auditRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/audit", Summary: "The audit chain, oldest first by default (filters, cursor pagination)", Roles: auditors,
			Query: []string{"identity_id", "subject_id", "actor", "action", "since", "until", "order", "limit", "cursor"}, Reply: "EventPage", Status: 200, Needs: CapAudit, handler: (*Server).handleListAudit},
		{Method: "GET", Path: "/api/v1/audit/verify", Summary: "Re-compute the chain and the checkpoints; report the first bad entry", Roles: auditors, Reply: "VerifyReport", Status: 200, Needs: CapAudit, handler: (*Server).handleVerifyAudit},
		{Method: "GET", Path: "/api/v1/audit/checkpoints", Summary: "Signed checkpoints (Merkle tree heads), newest first", Roles: auditors, Query: []string{"limit"}, Reply: "CheckpointList", Status: 200, Needs: CapAudit, handler: (*Server).handleListCheckpoints},
		{Method: "POST", Path: "/api/v1/audit/checkpoints", Summary: "Sign a checkpoint over the chain now", Roles: admins, Reply: "Checkpoint", Status: 201, Needs: CapAudit, handler: (*Server).handleCreateCheckpoint},
		{Method: "GET", Path: "/api/v1/audit/proof/{seq}", Summary: "Inclusion proof of an entry in a signed checkpoint", Roles: auditors, Query: []string{"tree_size"}, Reply: "InclusionProof", Status: 200, Needs: CapAudit, handler: (*Server).handleAuditProof},
		{Method: "GET", Path: "/api/v1/audit/public-key", Summary: "The checkpoint signing public key (Ed25519)", Roles: anyone, Reply: "AuditPublicKey", Status: 200, Needs: CapAudit, handler: (*Server).handleAuditPublicKey},
	}
}

// auditSchemas adds the audit capability's OpenAPI schemas.
func auditSchemas() map[string]any {
	integer := obj{"type": "integer"}
	checkpoint := object(obj{"tree_size": integer, "root_hash": str(), "last_seq": integer, "last_entry_hash": str(), "time": timeT(),
		"key_id": str(), "signature": obj{"type": "string", "description": "base64 Ed25519 signature of the checkpoint body"}},
		"tree_size", "root_hash", "last_seq", "last_entry_hash", "time", "key_id", "signature")
	return map[string]any{
		"Checkpoint":     checkpoint,
		"CheckpointList": object(obj{"items": arr(ref("Checkpoint"))}, "items"),
		"VerifyReport": object(obj{"ok": obj{"type": "boolean"}, "entries": integer, "head_seq": integer, "head_hash": str(), "root_hash": str(),
			"checkpoints_checked": integer, "first_bad_seq": integer,
			"kind":   strEnum("edited", "deleted", "inserted", "reordered", "truncated", "rewritten", "checkpoint"),
			"detail": str()}, "ok", "entries", "head_seq"),
		"InclusionProof": object(obj{"seq": integer, "leaf_index": integer, "tree_size": integer, "entry_hash": str(), "leaf_hash": str(),
			"audit_path": arr(str()), "checkpoint": ref("Checkpoint"), "entry": ref("Event")}, "seq", "leaf_index", "tree_size", "entry_hash", "audit_path", "checkpoint"),
		"AuditPublicKey": object(obj{"key_id": str(), "algorithm": strEnum("Ed25519"), "public_key": obj{"type": "string", "description": "base64 of the 32-byte key"},
			"pem": str(), "created_at": timeT()}, "key_id", "algorithm", "public_key", "pem"),
	}
}

func auditFilter(r *http.Request) (steward.EventFilter, error) {
	q := newQuery(r)
	f, err := eventFilter(q, false)
	f.SubjectID = q.str("subject_id")
	if err != nil {
		return f, err
	}
	return f, q.done()
}

func (s *Server) handleListAudit() http.Handler { return filtered(auditFilter, s.Audit.ListAudit) }

func (s *Server) handleVerifyAudit() http.Handler {
	return filtered(noQuery, func(ctx context.Context, _ none) (*steward.VerifyReport, error) { return s.Audit.VerifyChain(ctx) })
}

func (s *Server) handleListCheckpoints() http.Handler {
	return filtered(limitParam, func(ctx context.Context, limit int) (itemList[*steward.Checkpoint], error) {
		if limit == 0 {
			limit = steward.DefaultLimit
		}
		return items(s.Audit.ListCheckpoints(ctx, min(limit, steward.MaxLimit)))
	})
}

func (s *Server) handleCreateCheckpoint() http.Handler {
	return noBody(http.StatusCreated, func(r *http.Request) (*steward.Checkpoint, error) { return s.Audit.CreateCheckpoint(r.Context()) })
}

func (s *Server) handleAuditProof() http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (*steward.InclusionProof, error) {
		seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
		if err != nil || seq < 1 {
			return nil, steward.FieldError("seq", "must be a positive sequence number, not %q", r.PathValue("seq"))
		}
		q := newQuery(r)
		size := q.int("tree_size")
		if err := q.done(); err != nil {
			return nil, err
		}
		return s.Audit.Proof(r.Context(), seq, int64(size))
	})
}

func (s *Server) handleAuditPublicKey() http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (*steward.AuditPublicKey, error) { return s.Audit.PublicKey(r.Context()) })
}
