package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/federation"
)

// FederationAPI is what the federation routes need; cmd/steward sets it in
// Deps (*federation.Service implements it).
type FederationAPI interface {
	CreateIssuer(ctx context.Context, in *steward.TrustedIssuer) (*steward.TrustedIssuer, error)
	UpdateIssuer(ctx context.Context, name string, p federation.IssuerPatch) (*steward.TrustedIssuer, error)
	DeleteIssuer(ctx context.Context, name, reason string) error
	GetIssuer(ctx context.Context, name string) (*steward.TrustedIssuer, error)
	ListIssuers(ctx context.Context) ([]*steward.TrustedIssuer, error)
	Bind(ctx context.Context, identityID string, in federation.BindingInput) (*steward.FederationBinding, error)
	Unbind(ctx context.Context, bindingID, reason string) (*steward.FederationBinding, error)
	ListBindings(ctx context.Context, identityID string) ([]*steward.FederationBinding, error)
	Exchange(ctx context.Context, req federation.ExchangeRequest, src steward.RequestSource) (*broker.TokenResponse, error)
}

var _ FederationAPI = (*federation.Service)(nil)

// federationRoutes lists the federation capability's routes. Token
// exchange itself is served by /oauth2/token (grant types
// token-exchange and jwt-bearer).
func federationRoutes() []Route {
	return []Route{
		{Method: "POST", Path: "/api/v1/federation/issuers", Summary: "Trust an issuer of workload tokens (kubernetes, github-actions, gitlab-ci, spiffe, oidc)", Roles: admins, Request: "TrustedIssuerInput", Reply: "TrustedIssuer", Status: 201, Needs: CapFederation, handler: (*Server).handleCreateIssuer},
		{Method: "GET", Path: "/api/v1/federation/issuers", Summary: "List trusted issuers", Roles: staff, Reply: "TrustedIssuerList", Status: 200, Needs: CapFederation, handler: (*Server).handleListIssuers},
		{Method: "GET", Path: "/api/v1/federation/issuers/{id}", Summary: "Get a trusted issuer", Roles: staff, Reply: "TrustedIssuer", Status: 200, Needs: CapFederation, handler: (*Server).handleGetIssuer},
		{Method: "PATCH", Path: "/api/v1/federation/issuers/{id}", Summary: "Change a trusted issuer (a new version, recorded)", Roles: admins, Request: "TrustedIssuerPatch", Reply: "TrustedIssuer", Status: 200, Needs: CapFederation, handler: (*Server).handleUpdateIssuer},
		{Method: "DELETE", Path: "/api/v1/federation/issuers/{id}", Summary: "Stop trusting an issuer", Roles: admins, Query: []string{"reason"}, Status: 204, Needs: CapFederation, handler: (*Server).handleDeleteIssuer},
		{Method: "POST", Path: "/api/v1/identities/{id}/federation/bindings", Summary: "Bind tokens of a trusted issuer (subject and claim patterns) to an identity", Roles: writers, Own: true, Request: "BindingInput", Reply: "FederationBinding", Status: 201, Needs: CapFederation, handler: (*Server).handleBind},
		{Method: "GET", Path: "/api/v1/identities/{id}/federation/bindings", Summary: "List an identity's federation bindings", Roles: staff, Own: true, Reply: "FederationBindingList", Status: 200, Needs: CapFederation, handler: (*Server).handleListBindings},
		{Method: "POST", Path: "/api/v1/federation/bindings/{id}/remove", Summary: "Remove a binding: tokens exchanged through it become inactive at once", Roles: writers, Own: true, Request: "Reason", Reply: "FederationBinding", Status: 200, Needs: CapFederation, handler: (*Server).handleUnbind},
	}
}

func (s *Server) handleCreateIssuer() http.Handler {
	return jsonHandler(http.StatusCreated, func(r *http.Request, in steward.TrustedIssuer) (*steward.TrustedIssuer, error) {
		return s.Federation.CreateIssuer(r.Context(), &in)
	})
}

func (s *Server) handleListIssuers() http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (itemList[*steward.TrustedIssuer], error) {
		return items(s.Federation.ListIssuers(r.Context()))
	})
}

func (s *Server) handleGetIssuer() http.Handler { return getByID(s.Federation.GetIssuer) }

func (s *Server) handleUpdateIssuer() http.Handler {
	return actOnID(http.StatusOK, false, s.Federation.UpdateIssuer)
}

func (s *Server) handleDeleteIssuer() http.Handler {
	return noContent(func(r *http.Request, id string) error {
		reason, err := reasonParam(r)
		if err != nil {
			return err
		}
		return s.Federation.DeleteIssuer(r.Context(), id, reason)
	})
}

func (s *Server) handleBind() http.Handler {
	return actOnID(http.StatusCreated, false, s.Federation.Bind)
}

func (s *Server) handleListBindings() http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (itemList[*steward.FederationBinding], error) {
		return items(s.Federation.ListBindings(r.Context(), r.PathValue("id")))
	})
}

func (s *Server) handleUnbind() http.Handler {
	return actOnID(http.StatusOK, true, func(ctx context.Context, id string, in reasonBody) (*steward.FederationBinding, error) {
		return s.Federation.Unbind(ctx, id, in.Reason)
	})
}

type reasonBody struct {
	Reason string `json:"reason"`
}

// exchange answers the token endpoint's federation grants: the subject
// token (or assertion) is the proof, so no client authentication is
// needed (RFC 8693 §2.1).
func (s *Server) exchange(w http.ResponseWriter, r *http.Request, f map[string][]string) {
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if s.Federation == nil {
		oauthError(w, &broker.OAuthError{Code: "unsupported_grant_type", Description: "federation is not enabled on this server", Status: http.StatusBadRequest})
		return
	}
	out, err := s.Federation.Exchange(r.Context(), federation.ExchangeRequest{GrantType: get("grant_type"), SubjectToken: get("subject_token"),
		SubjectTokenType: get("subject_token_type"), ActorToken: get("actor_token"), ActorTokenType: get("actor_token_type"),
		Assertion: get("assertion"), Scope: get("scope"), Resources: f["resource"], Audiences: f["audience"],
		RequestedTokenType: get("requested_token_type")}, source(r))
	if err != nil {
		code := "error"
		var oe *broker.OAuthError
		if errors.As(err, &oe) {
			code = oe.Code
		}
		s.metrics.exchanges.WithLabelValues(get("grant_type"), code).Inc()
		oauthError(w, err)
		return
	}
	s.metrics.exchanges.WithLabelValues(get("grant_type"), "issued").Inc()
	s.metrics.tokens.WithLabelValues(get("grant_type")).Inc()
	w.Header().Set("Pragma", "no-cache")
	reply(w, http.StatusOK, out)
}

// federationSchemas adds the federation capability's OpenAPI schemas.
func federationSchemas() map[string]any {
	dur := obj{"type": "string", "description": "a duration like 10m"}
	jwks := obj{"type": "object", "description": "a JSON Web Key Set"}
	issuer := obj{"name": str(), "kind": strEnum(steward.IssuerKinds...), "issuer": str(), "discovery": obj{"type": "boolean"}, "jwks_uri": str(),
		"jwks": jwks, "spiffe_bundle": obj{"type": "object", "description": "a SPIFFE bundle as spire-server bundle show -format spiffe prints it"},
		"audiences": arr(str()), "algorithms": arr(strEnum(steward.FederationAlgorithms...)), "max_token_age": dur, "clock_skew": dur, "reason": str()}
	full := obj{"version": obj{"type": "integer"}, "created_at": timeT(), "updated_at": timeT(), "updated_by": str()}
	for k, v := range issuer {
		full[k] = v
	}
	patch := obj{}
	for k, v := range issuer {
		if k != "name" {
			patch[k] = v
		}
	}
	binding := obj{"id": str(), "identity_id": str(), "issuer": str(), "subject": str(), "claims": obj{"type": "object", "additionalProperties": str()},
		"created_at": timeT(), "created_by": str(), "status": strEnum("active", "revoked")}
	return map[string]any{
		"TrustedIssuerInput":    object(issuer, "name", "kind", "issuer"),
		"TrustedIssuer":         object(full, "name", "kind", "issuer", "version"),
		"TrustedIssuerPatch":    object(patch),
		"TrustedIssuerList":     object(obj{"items": arr(ref("TrustedIssuer"))}, "items"),
		"BindingInput":          object(obj{"issuer": str(), "subject": str(), "claims": obj{"type": "object", "additionalProperties": str()}, "reason": str()}, "issuer", "subject"),
		"FederationBinding":     object(binding, "id", "identity_id", "issuer", "subject", "status"),
		"FederationBindingList": object(obj{"items": arr(ref("FederationBinding"))}, "items"),
	}
}
