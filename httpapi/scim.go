package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/steward-nhi/steward"
)

// The provisioning triggers: SCIM 2.0 (RFC 7643/7644), enough of /Users for
// an identity provider to find a person and deprovision them, and the Okta
// event hook. Both offboard owners through the posture capability; each
// authenticates with its own secret, compared in constant time.

// provisioningRoutes lists the SCIM and Okta hook routes.
func provisioningRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/scim/v2/Users", Summary: "SCIM 2.0: find users (filter userName eq)", Public: true, Auth: "SCIM token", Query: []string{"filter"}, Status: 200, Needs: CapPosture, Errors: SCIMErrors, handler: (*Server).handleSCIMList},
		{Method: "GET", Path: "/scim/v2/Users/{id}", Summary: "SCIM 2.0: get a user", Public: true, Auth: "SCIM token", Status: 200, Needs: CapPosture, Errors: SCIMErrors, handler: (*Server).handleSCIMGet},
		{Method: "PATCH", Path: "/scim/v2/Users/{id}", Summary: "SCIM 2.0: active:false marks the owner departed and offboards", Public: true, Auth: "SCIM token", Status: 200, Needs: CapPosture, Errors: SCIMErrors, handler: (*Server).handleSCIMPatch},
		{Method: "DELETE", Path: "/scim/v2/Users/{id}", Summary: "SCIM 2.0: delete marks the owner departed and offboards", Public: true, Auth: "SCIM token", Status: 204, Needs: CapPosture, Errors: SCIMErrors, handler: (*Server).handleSCIMDelete},
		{Method: "GET", Path: "/hooks/okta", Summary: "Okta event hook one-time verification", Public: true, Auth: "Okta hook secret", Status: 200, Needs: CapPosture, handler: (*Server).handleOktaVerify},
		{Method: "POST", Path: "/hooks/okta", Summary: "Okta event hook: user.lifecycle.deactivate / suspend offboard the owner", Public: true, Auth: "Okta hook secret", Status: 200, Needs: CapPosture, handler: (*Server).handleOktaEvents},
	}
}

const scimUserSchema = "urn:ietf:params:scim:schemas:core:2.0:User"

// scimReply writes a SCIM body.
func scimReply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func scimError(w http.ResponseWriter, status int, detail string) {
	scimReply(w, status, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"}, "status": http.StatusText(status), "detail": detail})
}

// scimFail writes a domain error as a SCIM error.
func scimFail(w http.ResponseWriter, err error) {
	status, ok := statusOf[steward.ErrorCode(err)]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusNotFound {
		scimError(w, status, "no such user")
		return
	}
	scimError(w, status, steward.ErrorMessage(err))
}

// scimHandler checks the SCIM bearer token, then runs fn, which answers
// the status and body of its reply (nil: no body) or an error.
func (s *Server) scimHandler(fn func(r *http.Request) (int, any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !s.Posture.CheckSCIMToken(strings.TrimSpace(tok)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="steward-scim"`)
			scimError(w, http.StatusUnauthorized, "a valid SCIM bearer token is required")
			return
		}
		status, out, err := fn(r)
		switch {
		case err != nil:
			scimFail(w, err)
		case out == nil:
			w.WriteHeader(status)
		default:
			scimReply(w, status, out)
		}
	})
}

func scimUser(o *steward.Owner) map[string]any {
	return map[string]any{"schemas": []string{scimUserSchema}, "id": o.ID, "externalId": o.ExternalRef, "userName": o.Email,
		"displayName": o.Name, "active": o.Status == steward.OwnerActive, "emails": []map[string]any{{"value": o.Email, "primary": true}},
		"meta": map[string]any{"resourceType": "User", "created": o.CreatedAt, "lastModified": o.UpdatedAt, "location": "/scim/v2/Users/" + o.ID}}
}

func (s *Server) handleSCIMList() http.Handler {
	return s.scimHandler(func(r *http.Request) (int, any, error) {
		filter := strings.TrimSpace(r.URL.Query().Get("filter"))
		res := []any{}
		if filter != "" {
			attr, val, ok := strings.Cut(filter, " eq ")
			attr = strings.TrimSpace(attr)
			if !ok || (attr != "userName" && attr != "externalId" && attr != "emails.value") {
				return 0, nil, steward.Errorf(steward.EINVALID, `only filter=userName eq "…" (or externalId, emails.value) is supported`)
			}
			if o, err := s.Posture.LookupOwner(r.Context(), strings.Trim(strings.TrimSpace(val), `"`)); err == nil {
				res = append(res, scimUser(o))
			}
		}
		return http.StatusOK, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
			"totalResults": len(res), "startIndex": 1, "itemsPerPage": len(res), "Resources": res}, nil
	})
}

// scimUserReply answers the user named by the path, as it is now.
func (s *Server) scimUserReply(r *http.Request) (int, any, error) {
	o, err := s.Posture.LookupOwner(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, steward.Errorf(steward.ENOTFOUND, "no such user")
	}
	return http.StatusOK, scimUser(o), nil
}

func (s *Server) handleSCIMGet() http.Handler { return s.scimHandler(s.scimUserReply) }

// scimPatch is a PatchOp: {"Operations":[{"op":"replace","path":"active","value":false}]}
// or {"op":"replace","value":{"active":false}}.
type scimPatch struct {
	Schemas    []string `json:"schemas"`
	Operations []struct {
		Op    string          `json:"op"`
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	} `json:"Operations"`
}

func (p *scimPatch) deactivates() bool {
	for _, op := range p.Operations {
		if !strings.EqualFold(op.Op, "replace") && !strings.EqualFold(op.Op, "add") {
			continue
		}
		if strings.EqualFold(op.Path, "active") {
			var v any
			if json.Unmarshal(op.Value, &v) == nil && (v == false || v == "false" || v == "False") {
				return true
			}
		}
		if op.Path == "" {
			var m map[string]any
			if json.Unmarshal(op.Value, &m) == nil && (m["active"] == false || m["active"] == "false") {
				return true
			}
		}
	}
	return false
}

// scimDepart offboards the owner named by the path.
func (s *Server) scimDepart(r *http.Request, reason string) error {
	_, err := s.Posture.DepartByRef(r.Context(), "scim", r.PathValue("id"), reason)
	return err
}

func (s *Server) handleSCIMPatch() http.Handler {
	return s.scimHandler(func(r *http.Request) (int, any, error) {
		var p scimPatch
		body, err := bodyOf(nil, r, MaxBodyBytes)
		if err != nil {
			return 0, nil, steward.Errorf(steward.ETOOLARGE, "request body is larger than the limit of %d bytes", MaxBodyBytes)
		}
		if err := json.NewDecoder(body).Decode(&p); err != nil {
			return 0, nil, steward.Errorf(steward.EINVALID, "body is not a SCIM PatchOp")
		}
		if p.deactivates() {
			if err := s.scimDepart(r, "deactivated via SCIM"); err != nil {
				return 0, nil, err
			}
		}
		return s.scimUserReply(r)
	})
}

func (s *Server) handleSCIMDelete() http.Handler {
	return s.scimHandler(func(r *http.Request) (int, any, error) {
		return http.StatusNoContent, nil, s.scimDepart(r, "deleted via SCIM")
	})
}

func (s *Server) oktaAuth(w http.ResponseWriter, r *http.Request) bool {
	if !s.Posture.CheckOktaSecret(strings.TrimSpace(r.Header.Get("Authorization"))) {
		statusProblem(w, r, http.StatusUnauthorized, "the Okta event hook secret is missing or wrong")
		return false
	}
	return true
}

func (s *Server) handleOktaVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.oktaAuth(w, r) {
			return
		}
		challenge := r.Header.Get("X-Okta-Verification-Challenge")
		if challenge == "" || len(challenge) > 512 {
			Error(w, r, steward.FieldError("X-Okta-Verification-Challenge", "header is required"))
			return
		}
		reply(w, http.StatusOK, map[string]string{"verification": challenge})
	})
}

// oktaHook is the part of an Okta event hook delivery Steward reads.
type oktaHook struct {
	Data struct {
		Events []struct {
			EventType string `json:"eventType"`
			Target    []struct {
				ID          string `json:"id"`
				Type        string `json:"type"`
				AlternateID string `json:"alternateId"`
			} `json:"target"`
		} `json:"events"`
	} `json:"data"`
}

func (s *Server) handleOktaEvents() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.oktaAuth(w, r) {
			return
		}
		var h oktaHook
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes)).Decode(&h); err != nil {
			Error(w, r, steward.FieldError("data", "body is not an Okta event hook delivery"))
			return
		}
		var departed, unknown []string
		for _, ev := range h.Data.Events {
			if ev.EventType != "user.lifecycle.deactivate" && ev.EventType != "user.lifecycle.suspend" {
				continue
			}
			for _, t := range ev.Target {
				if t.Type != "User" {
					continue
				}
				var done bool
				for _, ref := range []string{t.AlternateID, t.ID} {
					if ref == "" {
						continue
					}
					ob, err := s.Posture.DepartByRef(r.Context(), "okta", ref, "Okta "+ev.EventType)
					if err == nil {
						departed, done = append(departed, ob.OwnerID), true
						break
					}
					if steward.ErrorCode(err) != steward.ENOTFOUND {
						Error(w, r, err)
						return
					}
				}
				if !done {
					unknown = append(unknown, t.AlternateID)
				}
			}
		}
		reply(w, http.StatusOK, map[string]any{"departed": nonNil(departed), "unknown": nonNil(unknown)})
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
