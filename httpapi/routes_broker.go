package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/federation"
)

// BrokerAPI is what the broker routes need; cmd/steward sets it in Deps
// (*broker.Broker implements it).
type BrokerAPI interface {
	Issue(ctx context.Context, identityID string, in broker.IssueRequest) (*broker.Issued, error)
	Get(ctx context.Context, id string) (*steward.BrokerCredential, error)
	Rotate(ctx context.Context, id string, in broker.RotateRequest) (*broker.Rotated, error)
	Revoke(ctx context.Context, id string, in broker.RevokeRequest) (*steward.BrokerCredential, error)
	Extend(ctx context.Context, id string, in broker.ExtendRequest) (*steward.BrokerCredential, error)
	Token(ctx context.Context, req broker.TokenRequest, src steward.RequestSource) (*broker.TokenResponse, error)
	AuthenticateClient(ctx context.Context, a broker.ClientAuth, src steward.RequestSource, action string) (*broker.Client, error)
	Introspect(ctx context.Context, caller broker.Caller, tok string) (*broker.Introspection, error)
	RevokeToken(ctx context.Context, caller broker.Caller, tok string) error
	Metadata() map[string]any
	JWKS() jose.JSONWebKeySet
	ListKeys(ctx context.Context) ([]*steward.SigningKey, error)
	RotateKeys(ctx context.Context) (*steward.SigningKey, error)
}

var _ BrokerAPI = (*broker.Broker)(nil)

// brokerRoutes lists the broker capability's routes. The OAuth2 endpoints
// are public in the table because they authenticate clients themselves
// (RFC 6749 §2.3, RFC 7523); they also accept a bearer where the RFCs do.
func brokerRoutes() []Route {
	return []Route{
		{Method: "POST", Path: "/api/v1/identities/{id}/credentials", Summary: "Issue a credential (api_key, client_secret or private_key_jwt); the secret is shown once", Roles: writers, Own: true, Request: "CredentialIssue", Reply: "IssuedCredential", Status: 201, Needs: CapBroker, handler: (*Server).handleIssueCredential},
		{Method: "GET", Path: "/api/v1/credentials/{id}", Summary: "Get a credential (metadata and fingerprint)", Roles: staff, Own: true, Reply: "BrokerCredential", Status: 200, Needs: CapBroker, handler: (*Server).handleGetCredential},
		{Method: "POST", Path: "/api/v1/credentials/{id}/rotate", Summary: "Rotate a credential: issue its successor; the predecessor stays valid for the overlap only", Roles: writers, Own: true, Request: "CredentialRotate", Reply: "RotatedCredential", Status: 201, Needs: CapBroker, handler: (*Server).handleRotateCredential},
		{Method: "POST", Path: "/api/v1/credentials/{id}/revoke", Summary: "Revoke a credential at once", Roles: writers, Own: true, Request: "Reason", Reply: "BrokerCredential", Status: 200, Needs: CapBroker, handler: (*Server).handleRevokeCredential},
		{Method: "POST", Path: "/api/v1/credentials/{id}/extend", Summary: "Extend a credential's lifetime (capped by the tier; recorded)", Roles: writers, Own: true, Request: "CredentialExtend", Reply: "BrokerCredential", Status: 200, Needs: CapBroker, handler: (*Server).handleExtendCredential},
		{Method: "GET", Path: "/api/v1/keys", Summary: "List the token signing keys (public parts)", Roles: staff, Reply: "SigningKeyList", Status: 200, Needs: CapBroker, handler: (*Server).handleListKeys},
		{Method: "POST", Path: "/api/v1/keys/rotate", Summary: "Rotate the token signing key (the old key stays in the JWKS until its tokens expire)", Roles: admins, Reply: "SigningKey", Status: 201, Needs: CapBroker, handler: (*Server).handleRotateKeys},
		{Method: "POST", Path: "/oauth2/token", Summary: "OAuth2 token endpoint (client_credentials; client_secret_basic, client_secret_post, private_key_jwt; token-exchange and jwt-bearer with a federated or Steward token); form-encoded", Public: true, Request: "OAuthTokenForm", Reply: "TokenResponse", Status: 200, Needs: CapBroker, Errors: OAuthErrors, handler: (*Server).handleToken},
		{Method: "POST", Path: "/oauth2/introspect", Summary: "Token introspection (RFC 7662); caller: operator bearer, NHI bearer with oauth2:introspect, or client credentials; form-encoded", Public: true, Request: "OAuthIntrospectForm", Reply: "Introspection", Status: 200, Needs: CapBroker, Errors: OAuthErrors, handler: (*Server).handleIntrospect},
		{Method: "POST", Path: "/oauth2/revoke", Summary: "Token revocation (RFC 7009); form-encoded; answers 200 with an empty body", Public: true, Request: "OAuthRevokeForm", Status: 200, Needs: CapBroker, Errors: OAuthErrors, handler: (*Server).handleOAuthRevoke},
		{Method: "GET", Path: "/.well-known/oauth-authorization-server", Summary: "Authorization server metadata (RFC 8414)", Public: true, Reply: "OAuthMetadata", Status: 200, Needs: CapBroker, handler: (*Server).handleOAuthMetadata},
		{Method: "GET", Path: "/.well-known/jwks.json", Summary: "Public keys that verify access tokens (RFC 7517)", Public: true, Reply: "JWKS", Status: 200, Needs: CapBroker, handler: (*Server).handleJWKS},
	}
}

// brokerSchemas adds the broker capability's OpenAPI schemas.
func brokerSchemas() map[string]any {
	dur := obj{"type": "string", "description": "a duration like 720h or 30d"}
	credProps := obj{"id": str(), "identity_id": str(), "type": strEnum("api_key", "client_secret", "private_key_jwt"), "external_ref": str(),
		"fingerprint": obj{"type": "string", "description": "SHA-256 hex of the secret (or JWK thumbprint)"}, "hint": str(),
		"status": strEnum("active", "inactive", "revoked", "expired"), "scopes": arr(str()), "created_at": timeT(), "expires_at": timeT(),
		"last_rotated_at": timeT(), "last_used_at": timeT(), "revoked_at": timeT(),
		"revoked_where": obj{"type": "string", "enum": []string{"steward", "provider", "inventory only"}, "description": "where the revocation took effect: steward (Steward refuses it), provider (the provider confirmed it), inventory only (only marked here; the secret may still work)"}, "metadata": obj{"type": "object", "additionalProperties": str()},
		"allowed_cidrs": arr(str()), "client_id": str(), "public_jwk": str(), "predecessor_id": str(), "overlap_until": timeT()}
	issued := obj{"id": str(), "type": str(), "secret": obj{"type": "string", "description": "shown once; absent for private_key_jwt"},
		"fingerprint": str(), "expires_at": timeT(), "client_id": str(), "identity_id": str(), "scopes": arr(str()), "allowed_cidrs": arr(str()),
		"predecessor_id": str(), "ttl_capped": obj{"type": "boolean"}}
	rotated := obj{"predecessor": ref("BrokerCredential")}
	for k, v := range issued {
		rotated[k] = v
	}
	return map[string]any{
		"CredentialIssue": object(obj{"type": strEnum("api_key", "client_secret", "private_key_jwt"), "ttl": dur, "scopes": arr(str()),
			"allowed_cidrs": arr(str()), "public_jwk": obj{"type": "object", "description": "the client's public JWK (private_key_jwt)"}, "reason": str()}),
		"IssuedCredential":  object(issued, "id", "type", "fingerprint", "expires_at"),
		"RotatedCredential": object(rotated, "id", "type", "fingerprint", "predecessor"),
		"BrokerCredential":  object(credProps, "id", "identity_id", "type", "status"),
		"CredentialRotate":  object(obj{"overlap": dur, "public_jwk": obj{"type": "object"}, "reason": str()}),
		"CredentialExtend":  object(obj{"ttl": dur, "reason": str()}, "ttl"),
		"SigningKey": object(obj{"kid": str(), "alg": str(), "public_jwk": str(), "status": strEnum("active", "retired"), "created_at": timeT(),
			"retired_at": timeT(), "publish_until": timeT()}, "kid", "alg", "status"),
		"SigningKeyList": object(obj{"items": arr(ref("SigningKey"))}, "items"),
		"TokenResponse": object(obj{"access_token": str(), "token_type": str(), "expires_in": obj{"type": "integer"}, "scope": str()},
			"access_token", "token_type", "expires_in"),
		"Introspection": object(obj{"active": obj{"type": "boolean"}, "scope": str(), "client_id": str(), "token_type": str(), "exp": obj{"type": "integer"},
			"iat": obj{"type": "integer"}, "sub": str(), "aud": obj{}, "iss": str(), "jti": str(), "credential_id": str()}, "active"),
		"JWKS": object(obj{"keys": arr(obj{"type": "object"})}, "keys"),
	}
}

// source returns where a request came from.
func source(r *http.Request) steward.RequestSource {
	return steward.RequestSource{Addr: clientIP(r), UserAgent: r.UserAgent()}
}

// withSource adds the request's source to its context so that the
// authenticator can check network-bound credentials.
func withSource(r *http.Request) *http.Request {
	return r.WithContext(steward.WithRequestSource(r.Context(), source(r)))
}

func (s *Server) handleIssueCredential() http.Handler {
	return s.custodyIssue(actOnID(http.StatusCreated, false, s.Broker.Issue))
}

func (s *Server) handleGetCredential() http.Handler { return getByID(s.Broker.Get) }

func (s *Server) handleRotateCredential() http.Handler {
	return s.custodyRotate(actOnID(http.StatusCreated, true, s.Broker.Rotate))
}

func (s *Server) handleRevokeCredential() http.Handler {
	return actOnID(http.StatusOK, true, s.Broker.Revoke)
}

func (s *Server) handleExtendCredential() http.Handler {
	return actOnID(http.StatusOK, false, s.Broker.Extend)
}

func (s *Server) handleListKeys() http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (itemList[*steward.SigningKey], error) {
		return items(s.Broker.ListKeys(r.Context()))
	})
}

func (s *Server) handleRotateKeys() http.Handler {
	return noBody(http.StatusCreated, func(r *http.Request) (*steward.SigningKey, error) { return s.Broker.RotateKeys(r.Context()) })
}

// oauthError writes an RFC 6749 §5.2 error.
func oauthError(w http.ResponseWriter, err error) {
	var oe *broker.OAuthError
	if !errors.As(err, &oe) {
		code, status := "server_error", http.StatusInternalServerError
		switch steward.ErrorCode(err) {
		case steward.EUNAUTHORIZED:
			code, status = "invalid_client", http.StatusUnauthorized
		case steward.EFORBIDDEN:
			code, status = "unauthorized_client", http.StatusForbidden
		case steward.ERATELIMIT:
			code, status = "slow_down", http.StatusTooManyRequests
		case steward.EINVALID:
			code, status = "invalid_request", http.StatusBadRequest
		case steward.ENOTIMPLEMENTED:
			code, status = "server_error", http.StatusNotImplemented
		}
		oe = &broker.OAuthError{Code: code, Description: steward.ErrorMessage(err), Status: status}
	}
	if oe.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="steward"`)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	reply(w, oe.Status, oe)
}

// parseForm reads an application/x-www-form-urlencoded body of at most
// MaxBodyBytes and refuses repeated parameters (RFC 6749 §3.2).
func parseForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, &broker.OAuthError{Code: "invalid_request", Description: "the body must be application/x-www-form-urlencoded", Status: http.StatusBadRequest}
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		return nil, &broker.OAuthError{Code: "invalid_request", Description: "the form body cannot be read", Status: http.StatusBadRequest}
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return nil, &broker.OAuthError{Code: "invalid_request", Description: "parameter " + k + " is repeated", Status: http.StatusBadRequest}
		}
	}
	return r.PostForm, nil
}

// clientAuth reads the client's authentication from a request (RFC 6749
// §2.3.1, RFC 7523 §2.2); ok is false when the request carries none.
func clientAuth(r *http.Request, f url.Values) (broker.ClientAuth, bool, error) {
	var a broker.ClientAuth
	n := 0
	if id, secret, ok := r.BasicAuth(); ok {
		n++
		uid, err1 := url.QueryUnescape(id)
		usecret, err2 := url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return a, true, &broker.OAuthError{Code: "invalid_client", Description: "malformed basic credentials", Status: http.StatusUnauthorized}
		}
		a = broker.ClientAuth{Method: broker.AuthSecretBasic, ClientID: uid, ClientSecret: usecret}
	}
	if f.Get("client_secret") != "" {
		n++
		a = broker.ClientAuth{Method: broker.AuthSecretPost, ClientID: f.Get("client_id"), ClientSecret: f.Get("client_secret")}
	}
	if f.Get("client_assertion") != "" || f.Get("client_assertion_type") != "" {
		n++
		a = broker.ClientAuth{Method: broker.AuthPrivateKeyJWT, ClientID: f.Get("client_id"), AssertionType: f.Get("client_assertion_type"), Assertion: f.Get("client_assertion")}
	}
	if n > 1 {
		return a, true, &broker.OAuthError{Code: "invalid_request", Description: "use exactly one client authentication method", Status: http.StatusBadRequest}
	}
	return a, n == 1, nil
}

func (s *Server) handleToken() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := parseForm(w, r)
		if err != nil {
			oauthError(w, err)
			return
		}
		if federation.Handles(f.Get("grant_type")) {
			s.exchange(w, r, f)
			return
		}
		a, ok, err := clientAuth(r, f)
		if err != nil {
			oauthError(w, err)
			return
		}
		if !ok {
			oauthError(w, &broker.OAuthError{Code: "invalid_client", Description: "client authentication is required", Status: http.StatusUnauthorized})
			return
		}
		aud := f.Get("audience")
		if aud == "" {
			aud = f.Get("resource")
		}
		out, err := s.Broker.Token(r.Context(), broker.TokenRequest{GrantType: f.Get("grant_type"), Scope: f.Get("scope"), Audience: aud, Client: a}, source(r))
		if err != nil {
			oauthError(w, err)
			return
		}
		s.metrics.tokens.WithLabelValues(f.Get("grant_type")).Inc()
		w.Header().Set("Pragma", "no-cache")
		reply(w, http.StatusOK, out)
	})
}

// oauthCaller authenticates the caller of introspection or revocation: a
// bearer (operator token or NHI credential) or client credentials.
func (s *Server) oauthCaller(r *http.Request, f url.Values, action string) (broker.Caller, error) {
	if tok, ok := bearer(r); ok {
		ip := clientIP(r)
		p, err := s.auth(withSource(r).Context(), tok)
		if err != nil {
			if steward.ErrorCode(err) == steward.EUNAUTHORIZED {
				s.metrics.authFailures.Inc()
				if !s.failLimit.allow(ip) {
					return broker.Caller{}, steward.Errorf(steward.ERATELIMIT, "too many failed authentications from this address")
				}
			}
			return broker.Caller{}, err
		}
		if b, _ := r.Context().Value(actorBoxKey{}).(*actorBox); b != nil {
			b.p = p
		}
		return broker.Caller{Principal: p}, nil
	}
	a, ok, err := clientAuth(r, f)
	if err != nil {
		return broker.Caller{}, err
	}
	if !ok {
		return broker.Caller{}, &broker.OAuthError{Code: "invalid_client", Description: "authenticate with a bearer token or client credentials", Status: http.StatusUnauthorized}
	}
	cl, err := s.Broker.AuthenticateClient(r.Context(), a, source(r), action)
	if err != nil {
		return broker.Caller{}, err
	}
	return broker.Caller{Client: cl}, nil
}

// tokenCallHandler serves introspection and revocation: a form with the
// token, from an authenticated caller; fn answers the reply body (nil: an
// empty 200).
func (s *Server) tokenCallHandler(action string, fn func(r *http.Request, caller broker.Caller, tok string) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, err := func() (any, error) {
			f, err := parseForm(w, r)
			if err != nil {
				return nil, err
			}
			caller, err := s.oauthCaller(r, f, action)
			if err != nil {
				return nil, err
			}
			tok := f.Get("token")
			if tok == "" {
				return nil, &broker.OAuthError{Code: "invalid_request", Description: "token is required", Status: http.StatusBadRequest}
			}
			return fn(r, caller, tok)
		}()
		switch {
		case err != nil:
			oauthError(w, err)
		case out == nil:
			w.WriteHeader(http.StatusOK)
		default:
			reply(w, http.StatusOK, out)
		}
	})
}

func (s *Server) handleIntrospect() http.Handler {
	return s.tokenCallHandler("oauth2.introspect", func(r *http.Request, caller broker.Caller, tok string) (any, error) {
		return s.Broker.Introspect(r.Context(), caller, tok)
	})
}

func (s *Server) handleOAuthRevoke() http.Handler {
	return s.tokenCallHandler("oauth2.revoke", func(r *http.Request, caller broker.Caller, tok string) (any, error) {
		return nil, s.Broker.RevokeToken(r.Context(), caller, tok)
	})
}

func (s *Server) handleOAuthMetadata() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		reply(w, http.StatusOK, s.Broker.Metadata())
	})
}

func (s *Server) handleJWKS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(s.Broker.JWKS())
	})
}
