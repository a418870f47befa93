package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/custody"
	"github.com/steward-nhi/steward/rotation"
)

// CustodyAPI is what the custody routes need (*custody.Service).
type CustodyAPI interface {
	Register(ctx context.Context, identityID string, in custody.RegisterRequest) (*custody.Registered, error)
	Put(ctx context.Context, credentialID string, in custody.PutRequest) (*custody.Registered, error)
	Read(ctx context.Context, credentialID string) (*custody.SecretRead, error)
}

// RotationAPI is what the rotation routes need (*rotation.Service).
type RotationAPI interface {
	Rotate(ctx context.Context, credentialID string, in rotation.RotateRequest) (*steward.Rotation, error)
	Status(ctx context.Context, credentialID string) (*rotation.Status, error)
	History(ctx context.Context, credentialID string) (*rotation.History, error)
	CreateRotator(ctx context.Context, in rotation.RotatorRequest) (*steward.Rotator, error)
	GetRotator(ctx context.Context, name string) (*steward.Rotator, error)
	ListRotators(ctx context.Context) (*rotation.RotatorList, error)
	CreateLease(ctx context.Context, in rotation.LeaseRequest) (*rotation.LeaseGrant, error)
	RenewLease(ctx context.Context, id string, in rotation.RenewRequest) (*rotation.Renewed, error)
	RevokeLease(ctx context.Context, id string) (*steward.Lease, error)
	ListLeases(ctx context.Context, identityID, status string) (*rotation.LeaseList, error)
}

var (
	_ CustodyAPI  = (*custody.Service)(nil)
	_ RotationAPI = (*rotation.Service)(nil)
)

// custodyRoutes lists the custody and rotation routes. Registering a
// password and rotating at a provider share the broker's paths
// (POST /api/v1/identities/{id}/credentials with type password,
// POST /api/v1/credentials/{id}/rotate of a secret in custody).
func custodyRoutes() []Route {
	return []Route{
		{Method: "PUT", Path: "/api/v1/credentials/{id}/secret", Summary: "Keep a new version of an external secret in custody (encrypted; never shown in lists)", Roles: writers, Own: true, Request: "SecretPut", Reply: "CustodyCredential", Status: 200, Needs: CapCustody, handler: (*Server).handlePutSecret},
		{Method: "GET", Path: "/api/v1/credentials/{id}/secret", Summary: "Read the current secret: only the identity itself (its own credential) or an NHI a Cedar policy allows (credential:read_secret); a usage and an audit event", NHI: true, Reply: "SecretRead", Status: 200, Needs: CapCustody, handler: (*Server).handleReadSecret},
		{Method: "GET", Path: "/api/v1/credentials/{id}/custody", Summary: "Custody and rotation state of a credential (versions, fingerprints, latest rotation; never a secret)", Roles: staff, Own: true, Reply: "CustodyStatus", Status: 200, Needs: CapRotation, handler: (*Server).handleCustodyStatus},
		{Method: "GET", Path: "/api/v1/credentials/{id}/rotations", Summary: "Rotations of a credential, newest first, with proofs and audit sequence numbers", Roles: staff, Own: true, Reply: "RotationList", Status: 200, Needs: CapRotation, handler: (*Server).handleRotationHistory},
		{Method: "POST", Path: "/api/v1/rotators", Summary: "Create a rotator (its admin secret goes into custody)", Roles: admins, Request: "RotatorCreate", Reply: "Rotator", Status: 201, Needs: CapRotation, handler: (*Server).handleCreateRotator},
		{Method: "GET", Path: "/api/v1/rotators", Summary: "List rotators", Roles: staff, Reply: "RotatorList", Status: 200, Needs: CapRotation, handler: (*Server).handleListRotators},
		{Method: "GET", Path: "/api/v1/rotators/{name}", Summary: "Get a rotator (never its password)", Roles: staff, Reply: "Rotator", Status: 200, Needs: CapRotation, handler: (*Server).handleGetRotator},
		{Method: "POST", Path: "/api/v1/leases", Summary: "Create a dynamic credential (a role at the provider, dropped when the lease ends); the password is shown once", Roles: writers, Own: true, Request: "LeaseCreate", Reply: "LeaseGrant", Status: 201, Needs: CapRotation, handler: (*Server).handleCreateLease},
		{Method: "GET", Path: "/api/v1/leases", Summary: "List leases", Roles: staff, Query: []string{"identity_id", "status"}, Reply: "LeaseList", Status: 200, Needs: CapRotation, handler: (*Server).handleListLeases},
		{Method: "POST", Path: "/api/v1/leases/{id}/renew", Summary: "Renew a lease (capped by the tier, and said so)", Roles: writers, Own: true, Request: "LeaseRenew", Reply: "LeaseRenewed", Status: 200, Needs: CapRotation, handler: (*Server).handleRenewLease},
		{Method: "POST", Path: "/api/v1/leases/{id}/revoke", Summary: "Revoke a lease: end its sessions and drop its role at the provider", Roles: writers, Own: true, Reply: "Lease", Status: 200, Needs: CapRotation, handler: (*Server).handleRevokeLease},
	}
}

func custodySchemas() map[string]any {
	version := object(obj{"version": obj{"type": "integer"}, "fingerprint": str(), "state": strEnum("pending", "current", "previous", "destroyed"),
		"created_at": timeT(), "retire_at": timeT(), "destroyed_at": timeT()})
	rot := object(obj{"id": str(), "credential_id": str(), "identity_id": str(), "rotator": str(), "status": strEnum("running", "succeeded", "failed", "rolled_back"),
		"step": strEnum("", "create", "set", "test", "finish"), "overlap": str(), "old_fingerprint": str(), "new_fingerprint": str(), "provider_answer": str(),
		"test_result": str(), "proof": str(), "error": str(), "node": str(), "started_at": timeT(), "finished_at": timeT(), "seqs": arr(obj{"type": "integer"})})
	lease := object(obj{"id": str(), "identity_id": str(), "rotator": str(), "username": str(), "status": strEnum("active", "revoked", "expired"),
		"expires_at": timeT(), "max_expires_at": timeT(), "revoked_at": timeT(), "revoked_where": strEnum("steward", "provider", "inventory only")})
	return map[string]any{
		"SecretPut":         object(obj{"secret": str(), "reason": str()}, "secret"),
		"CustodyCredential": object(obj{"id": str(), "identity_id": str(), "type": str(), "external_ref": str(), "fingerprint": str(), "rotator": str(), "version": obj{"type": "integer"}}, "id", "fingerprint"),
		"SecretRead":        object(obj{"secret": str(), "version": obj{"type": "integer"}, "fingerprint": str(), "previous": obj{"type": "object"}}, "secret"),
		"CustodyStatus":     object(obj{"custody": object(obj{"credential_id": str(), "current_version": obj{"type": "integer"}, "versions": arr(version)}), "latest": rot}),
		"Rotation":          rot,
		"RotationList":      object(obj{"items": arr(ref("Rotation"))}, "items"),
		"RotatorCreate":     object(obj{"name": str(), "kind": strEnum("postgres", "redis", "webhook"), "config": obj{"type": "object", "additionalProperties": str()}, "reason": str()}, "name", "kind", "config"),
		"Rotator":           object(obj{"name": str(), "kind": str(), "config": obj{"type": "object", "additionalProperties": str()}, "admin_identity_id": str(), "admin_credential_id": str(), "created_at": timeT()}, "name", "kind"),
		"RotatorList":       object(obj{"items": arr(ref("Rotator"))}, "items"),
		"RotateRequest":     object(obj{"rotator": str(), "overlap": str(), "dry_run": obj{"type": "boolean"}, "reason": str()}),
		"LeaseCreate":       object(obj{"rotator": str(), "identity_id": str(), "ttl": str(), "creation_statements": arr(str()), "reason": str()}, "rotator", "identity_id", "creation_statements"),
		"LeaseGrant":        object(obj{"id": str(), "username": str(), "password": str(), "expires_at": timeT(), "ttl_capped": obj{"type": "boolean"}}, "id", "username", "password", "expires_at"),
		"Lease":             lease,
		"LeaseList":         object(obj{"items": arr(ref("Lease"))}, "items"),
		"LeaseRenew":        object(obj{"ttl": str()}),
		"LeaseRenewed":      lease,
	}
}

func (s *Server) handlePutSecret() http.Handler { return actOnID(http.StatusOK, false, s.Custody.Put) }

func (s *Server) handleReadSecret() http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (*custody.SecretRead, error) {
		return s.Custody.Read(withSource(r).Context(), r.PathValue("id"))
	})
}

func (s *Server) handleCustodyStatus() http.Handler   { return getByID(s.Rotation.Status) }
func (s *Server) handleRotationHistory() http.Handler { return getByID(s.Rotation.History) }

func (s *Server) handleCreateRotator() http.Handler {
	return createdJSON(func(r *http.Request, in rotation.RotatorRequest) (*steward.Rotator, error) {
		return s.Rotation.CreateRotator(r.Context(), in)
	}, func(rt *steward.Rotator) string { return "/api/v1/rotators/" + rt.Name })
}

func (s *Server) handleListRotators() http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (*rotation.RotatorList, error) { return s.Rotation.ListRotators(r.Context()) })
}

func (s *Server) handleGetRotator() http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (*steward.Rotator, error) {
		return s.Rotation.GetRotator(r.Context(), r.PathValue("name"))
	})
}

func (s *Server) handleCreateLease() http.Handler {
	return createdJSON(func(r *http.Request, in rotation.LeaseRequest) (*rotation.LeaseGrant, error) {
		return s.Rotation.CreateLease(r.Context(), in)
	}, func(g *rotation.LeaseGrant) string { return "/api/v1/leases/" + g.ID })
}

func (s *Server) handleListLeases() http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (*rotation.LeaseList, error) {
		q := newQuery(r)
		id, status := q.str("identity_id"), q.str("status")
		if err := q.done(); err != nil {
			return nil, err
		}
		return s.Rotation.ListLeases(r.Context(), id, status)
	})
}

func (s *Server) handleRenewLease() http.Handler {
	return actOnID(http.StatusOK, true, s.Rotation.RenewLease)
}

func (s *Server) handleRevokeLease() http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (*steward.Lease, error) {
		return s.Rotation.RevokeLease(r.Context(), r.PathValue("id"))
	})
}

// custodyIssue sends POST /api/v1/identities/{id}/credentials with type
// password to custody, anything else to broker.
func (s *Server) custodyIssue(broker http.Handler) http.Handler {
	reg := actOnID(http.StatusCreated, false, func(ctx context.Context, id string, in custody.RegisterRequest) (*custody.Registered, error) {
		return s.Custody.Register(ctx, id, in)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var peek struct {
			Type string `json:"type"`
		}
		if s.Custody != nil && peekBody(w, r, &peek) && peek.Type == steward.CredentialTypePassword {
			reg.ServeHTTP(w, r)
			return
		}
		broker.ServeHTTP(w, r)
	})
}

// custodyRotate sends POST /api/v1/credentials/{id}/rotate of a secret in
// custody (or naming a rotator) to the rotation service.
func (s *Server) custodyRotate(broker http.Handler) http.Handler {
	rot := actOnID(http.StatusCreated, true, s.rotate)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var peek struct {
			Rotator *string `json:"rotator"`
		}
		if s.Rotation != nil && s.Custody != nil {
			peekBody(w, r, &peek)
			if peek.Rotator != nil || s.inCustody(r) {
				rot.ServeHTTP(w, r)
				return
			}
		}
		broker.ServeHTTP(w, r)
	})
}

func (s *Server) rotate(ctx context.Context, id string, in rotation.RotateRequest) (*steward.Rotation, error) {
	return s.Rotation.Rotate(ctx, id, in)
}

// inCustody reports whether the path's credential has a secret in custody.
func (s *Server) inCustody(r *http.Request) bool {
	_, err := s.Rotation.Status(r.Context(), r.PathValue("id"))
	return err == nil
}

// peekBody decodes the JSON body leniently into v and puts the body back
// for the handler that will read it; false when there is no readable body.
func peekBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.Body == nil || r.ContentLength == 0 {
		return false
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if err != nil {
		return false
	}
	return json.Unmarshal(raw, v) == nil
}
