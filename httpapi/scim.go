package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/steward-nhi/steward"
)

// The provisioning triggers: SCIM 2.0 (RFC 7643/7644) /Users over the
// owners (an HR system or identity provider creates, renames, finds and
// deprovisions people), with the discovery endpoints clients read first,
// and the Okta event hook. Both offboard owners through the posture
// capability; each authenticates with its own secret, compared in
// constant time. Teams are not SCIM Users: listings hold people only.

// provisioningRoutes lists the SCIM and Okta hook routes.
func provisioningRoutes() []Route {
	scim := func(method, path, summary string, status int, request string, h func(*Server) http.Handler, query ...string) Route {
		return Route{Method: method, Path: path, Summary: "SCIM 2.0: " + summary, Public: true, Auth: "SCIM token", Status: status,
			Query: query, Request: request, Reply: "SCIMResource", Needs: CapPosture, Errors: SCIMErrors, handler: h}
	}
	return []Route{
		scim("GET", "/scim/v2/ServiceProviderConfig", "what this service provider supports (RFC 7643 §5)", 200, "", (*Server).handleSCIMConfig),
		scim("GET", "/scim/v2/Schemas", "the User and enterprise extension schemas", 200, "", (*Server).handleSCIMSchemas),
		scim("GET", "/scim/v2/Schemas/{id}", "one schema by URI", 200, "", (*Server).handleSCIMSchema),
		scim("GET", "/scim/v2/ResourceTypes", "the resource types (User)", 200, "", (*Server).handleSCIMResourceTypes),
		scim("GET", "/scim/v2/ResourceTypes/{id}", "one resource type", 200, "", (*Server).handleSCIMResourceType),
		scim("GET", "/scim/v2/Users", "list and filter users (and, or, not; every operator)", 200, "", (*Server).handleSCIMList, "filter", "startIndex", "count"),
		scim("POST", "/scim/v2/Users", "create a user (an owner)", 201, "SCIMUser", (*Server).handleSCIMCreate),
		scim("GET", "/scim/v2/Users/{id}", "get a user", 200, "", (*Server).handleSCIMGet),
		scim("PUT", "/scim/v2/Users/{id}", "replace a user; active:false marks the owner departed and offboards", 200, "SCIMUser", (*Server).handleSCIMReplace),
		scim("PATCH", "/scim/v2/Users/{id}", "modify a user; active:false marks the owner departed and offboards", 200, "SCIMPatchOp", (*Server).handleSCIMPatch),
		{Method: "DELETE", Path: "/scim/v2/Users/{id}", Summary: "SCIM 2.0: delete marks the owner departed and offboards", Public: true, Auth: "SCIM token", Status: 204, Needs: CapPosture, Errors: SCIMErrors, handler: (*Server).handleSCIMDelete},
		{Method: "GET", Path: "/hooks/okta", Summary: "Okta event hook one-time verification", Public: true, Auth: "Okta hook secret", Reply: "OktaVerification", Status: 200, Needs: CapPosture, handler: (*Server).handleOktaVerify},
		{Method: "POST", Path: "/hooks/okta", Summary: "Okta event hook: user.lifecycle.deactivate / suspend offboard the owner", Public: true, Auth: "Okta hook secret", Request: "OktaHook", Reply: "OktaResult", Status: 200, Needs: CapPosture, handler: (*Server).handleOktaEvents},
	}
}

const (
	scimUserSchema  = "urn:ietf:params:scim:schemas:core:2.0:User"
	scimErrorSchema = "urn:ietf:params:scim:api:messages:2.0:Error"
	scimListSchema  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	scimPatchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	// scimSource is the actor name of SCIM changes in the audit chain.
	scimSource = "scim"
	// scimMaxCount bounds one page of a listing.
	scimMaxCount = 1000
)

// scimProblem is a SCIM error with its scimType (RFC 7644 §3.12).
type scimProblem struct {
	status           int
	scimType, detail string
}

func (p scimProblem) Error() string { return p.detail }

// scimReply writes a SCIM body.
func scimReply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func scimError(w http.ResponseWriter, status int, scimType, detail string) {
	body := map[string]any{"schemas": []string{scimErrorSchema}, "status": strconv.Itoa(status), "detail": detail}
	if scimType != "" {
		body["scimType"] = scimType
	}
	scimReply(w, status, body)
}

// scimFail writes an error as a SCIM error: a scimProblem as it is, a
// domain error through the one status table.
func scimFail(w http.ResponseWriter, err error) {
	var p scimProblem
	if errors.As(err, &p) {
		scimError(w, p.status, p.scimType, p.detail)
		return
	}
	status, ok := statusOf[steward.ErrorCode(err)]
	if !ok {
		status = http.StatusInternalServerError
	}
	switch status {
	case http.StatusNotFound:
		scimError(w, status, "", "no such user")
	case http.StatusBadRequest:
		scimError(w, status, "invalidValue", steward.ErrorMessage(err))
	case http.StatusRequestEntityTooLarge:
		scimError(w, status, "tooMany", steward.ErrorMessage(err))
	default:
		scimError(w, status, "", steward.ErrorMessage(err))
	}
}

// scimHandler checks the SCIM bearer token, then runs fn, which answers
// the status and body of its reply (nil: no body) or an error.
func (s *Server) scimHandler(fn func(r *http.Request) (int, any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !s.Posture.CheckSCIMToken(strings.TrimSpace(tok)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="steward-scim"`)
			scimError(w, http.StatusUnauthorized, "", "a valid SCIM bearer token is required")
			return
		}
		status, out, err := fn(r)
		switch {
		case err != nil:
			scimFail(w, err)
		case out == nil:
			w.WriteHeader(status)
		default:
			if u, ok := out.(map[string]any); ok && status == http.StatusCreated {
				if meta, ok := u["meta"].(map[string]any); ok {
					w.Header().Set("Location", fmt.Sprint(meta["location"]))
				}
			}
			scimReply(w, status, out)
		}
	})
}

// baseURL is the scheme and host the client called, for absolute URLs.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func scimUser(r *http.Request, o *steward.Owner) map[string]any {
	u := map[string]any{"schemas": []string{scimUserSchema}, "id": o.ID, "userName": o.Email,
		"displayName": o.Name, "name": map[string]any{"formatted": o.Name}, "active": o.Status == steward.OwnerActive,
		"emails": []map[string]any{{"value": o.Email, "primary": true, "type": "work"}},
		"meta": map[string]any{"resourceType": "User", "created": o.CreatedAt, "lastModified": o.UpdatedAt,
			"location": baseURL(r) + "/scim/v2/Users/" + o.ID, "version": fmt.Sprintf(`W/"%d"`, o.Version)}}
	if o.ExternalRef != "" {
		u["externalId"] = o.ExternalRef
	}
	if o.Team != "" {
		u["schemas"] = []string{scimUserSchema, scimEnterpriseSchema}
		u[scimEnterpriseSchema] = map[string]any{"department": o.Team}
	}
	return u
}

// scimIndex reads a positive integer query parameter (startIndex, count).
func scimIndex(r *http.Request, name string, def, lo int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, scimProblem{400, "invalidValue", fmt.Sprintf("%s %q is not an integer", name, v)}
	}
	return max(n, lo), nil
}

func (s *Server) handleSCIMList() http.Handler {
	return s.scimHandler(func(r *http.Request) (int, any, error) {
		start, err := scimIndex(r, "startIndex", 1, 1)
		if err != nil {
			return 0, nil, err
		}
		count, err := scimIndex(r, "count", 100, 0)
		if err != nil {
			return 0, nil, err
		}
		count = min(count, scimMaxCount)
		var expr filter.Expression
		if f := strings.TrimSpace(r.URL.Query().Get("filter")); f != "" {
			if expr, err = parseSCIMFilter(f); err != nil {
				return 0, nil, err
			}
		}
		owners, err := s.Posture.Owners(r.Context())
		if err != nil {
			return 0, nil, err
		}
		res := []any{}
		total := 0
		for _, o := range owners {
			if o.Kind != steward.OwnerPerson {
				continue
			}
			if expr != nil {
				ok, err := evalSCIM(expr, scimAttrs(o))
				if err != nil {
					return 0, nil, err
				}
				if !ok {
					continue
				}
			}
			total++
			if total >= start && len(res) < count {
				res = append(res, scimUser(r, o))
			}
		}
		return http.StatusOK, map[string]any{"schemas": []string{scimListSchema},
			"totalResults": total, "startIndex": start, "itemsPerPage": len(res), "Resources": res}, nil
	})
}

// scimUserReply answers the user named by the path, as it is now.
func (s *Server) scimUserReply(r *http.Request) (int, any, error) {
	o, err := s.Posture.LookupOwner(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, steward.Errorf(steward.ENOTFOUND, "no such user")
	}
	return http.StatusOK, scimUser(r, o), nil
}

func (s *Server) handleSCIMGet() http.Handler { return s.scimHandler(s.scimUserReply) }

// scimBody decodes a request body; bad JSON is invalidSyntax.
func scimBody(r *http.Request, v any) error {
	body, err := bodyOf(nil, r, MaxBodyBytes)
	if err != nil {
		return steward.Errorf(steward.ETOOLARGE, "request body is larger than the limit of %d bytes", MaxBodyBytes)
	}
	if err := json.NewDecoder(body).Decode(v); err != nil {
		return scimProblem{400, "invalidSyntax", "body is not valid SCIM JSON: " + err.Error()}
	}
	return nil
}

// scimInUser is a User as clients send it (POST and PUT).
type scimInUser struct {
	UserName    string `json:"userName"`
	DisplayName string `json:"displayName"`
	ExternalID  string `json:"externalId"`
	Name        struct {
		Formatted, GivenName, FamilyName string
	} `json:"name"`
	Active     *bool `json:"active"`
	Enterprise *struct {
		Department string `json:"department"`
	} `json:"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`
}

// owner maps the User to an owner; userName is the owner's email.
func (u *scimInUser) owner() (*steward.Owner, error) {
	email := strings.ToLower(strings.TrimSpace(u.UserName))
	if email == "" {
		return nil, scimProblem{400, "invalidValue", "userName is required"}
	}
	o := &steward.Owner{Email: email, Kind: steward.OwnerPerson, ExternalRef: u.ExternalID, Name: u.displayName()}
	if u.Enterprise != nil {
		o.Team = u.Enterprise.Department
	}
	o.Normalize()
	o.Status = steward.OwnerActive
	if err := o.Validate(); err != nil {
		if steward.ErrorCode(err) == steward.EINVALID && strings.Contains(steward.ErrorMessage(err), "email") {
			return nil, scimProblem{400, "invalidValue", fmt.Sprintf("userName %q must be an email address", u.UserName)}
		}
		return nil, scimProblem{400, "invalidValue", steward.ErrorMessage(err)}
	}
	return o, nil
}

// displayName is displayName, else the formatted or given and family
// names, else userName: an owner always has a name.
func (u *scimInUser) displayName() string {
	for _, n := range []string{u.DisplayName, u.Name.Formatted, strings.TrimSpace(u.Name.GivenName + " " + u.Name.FamilyName), u.UserName} {
		if n = strings.TrimSpace(n); n != "" {
			return n
		}
	}
	return ""
}

// scimUserBody reads a User body (POST, PUT) as an owner.
func scimUserBody(r *http.Request) (*scimInUser, *steward.Owner, error) {
	var in scimInUser
	if err := scimBody(r, &in); err != nil {
		return nil, nil, err
	}
	o, err := in.owner()
	return &in, o, err
}

// scimUnique turns a duplicate (ECONFLICT) into SCIM's uniqueness error.
func scimUnique(err error) error {
	if steward.ErrorCode(err) == steward.ECONFLICT {
		return scimProblem{409, "uniqueness", steward.ErrorMessage(err)}
	}
	return err
}

func (s *Server) handleSCIMCreate() http.Handler {
	return s.scimHandler(func(r *http.Request) (int, any, error) {
		in, o, err := scimUserBody(r)
		if err != nil {
			return 0, nil, err
		}
		created, err := s.Posture.ProvisionOwner(r.Context(), scimSource, o)
		if err != nil {
			return 0, nil, scimUnique(err)
		}
		if in.Active != nil && !*in.Active {
			if _, err := s.Posture.DepartByRef(r.Context(), scimSource, created.ID, "created inactive via SCIM"); err != nil {
				return 0, nil, err
			}
			if created, err = s.Posture.LookupOwner(r.Context(), created.ID); err != nil {
				return 0, nil, err
			}
		}
		return http.StatusCreated, scimUser(r, created), nil
	})
}

// scimChange is what a PUT or PATCH asks of an owner.
type scimChange struct {
	patch  steward.OwnerPatch
	active *bool
}

// apply writes the change: the patch, then a departure for active:false.
// A departed owner is not brought back: that is a new user.
func (s *Server) scimApply(r *http.Request, c scimChange) (int, any, error) {
	ref := r.PathValue("id")
	o, err := s.Posture.LookupOwner(r.Context(), ref)
	if err != nil {
		return 0, nil, steward.Errorf(steward.ENOTFOUND, "no such user")
	}
	if c.active != nil && *c.active && o.Status == steward.OwnerDeparted {
		return 0, nil, scimProblem{409, "", fmt.Sprintf("user %s has departed and cannot be reactivated; create a new user", o.ID)}
	}
	if c.patch != (steward.OwnerPatch{}) {
		if _, err := s.Posture.UpdateOwnerByRef(r.Context(), scimSource, o.ID, c.patch); err != nil {
			return 0, nil, scimUnique(err)
		}
	}
	if c.active != nil && !*c.active {
		if err := s.scimDepart(r, "deactivated via SCIM"); err != nil {
			return 0, nil, err
		}
	}
	return s.scimUserReply(r)
}

func (s *Server) handleSCIMReplace() http.Handler {
	return s.scimHandler(func(r *http.Request) (int, any, error) {
		in, o, err := scimUserBody(r)
		if err != nil {
			return 0, nil, err
		}
		set := func(v string) steward.Opt[string] { return steward.Opt[string]{Set: true, Value: v} }
		c := scimChange{active: in.Active, patch: steward.OwnerPatch{Name: set(o.Name), Email: set(o.Email), ExternalRef: set(o.ExternalRef), Team: set(o.Team)}}
		return s.scimApply(r, c)
	})
}

// scimPatch is a PatchOp (RFC 7644 §3.5.2).
type scimPatch struct {
	Schemas    []string `json:"schemas"`
	Operations []struct {
		Op    string          `json:"op"`
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	} `json:"Operations"`
}

// change turns the operations into one change of the owner. Paths and
// attribute names compare without case; an unknown path is invalidPath.
func (p *scimPatch) change() (scimChange, error) {
	var c scimChange
	if len(p.Operations) == 0 {
		return c, scimProblem{400, "invalidValue", "a PatchOp needs at least one operation"}
	}
	for i, op := range p.Operations {
		kind := strings.ToLower(op.Op)
		if kind != "add" && kind != "replace" && kind != "remove" {
			return c, scimProblem{400, "invalidSyntax", fmt.Sprintf("Operations[%d].op %q is not add, replace or remove", i, op.Op)}
		}
		if op.Path == "" {
			if kind == "remove" {
				return c, scimProblem{400, "noTarget", fmt.Sprintf("Operations[%d]: remove needs a path", i)}
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(op.Value, &m); err != nil {
				return c, scimProblem{400, "invalidValue", fmt.Sprintf("Operations[%d].value must be an object when there is no path", i)}
			}
			for k, v := range m {
				if strings.EqualFold(k, "schemas") {
					continue
				}
				if err := c.set(k, kind, v); err != nil {
					return c, err
				}
			}
			continue
		}
		if err := c.set(op.Path, kind, op.Value); err != nil {
			return c, err
		}
	}
	return c, nil
}

// set applies one operation on one path.
func (c *scimChange) set(path, kind string, raw json.RawMessage) error {
	p, err := parseSCIMPath(path)
	if err != nil {
		return err
	}
	remove := kind == "remove"
	str := func() (steward.Opt[string], error) {
		if remove {
			return steward.Opt[string]{Set: true}, nil
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return steward.Opt[string]{}, scimProblem{400, "invalidValue", fmt.Sprintf("%s must be a string", path)}
		}
		return steward.Opt[string]{Set: true, Value: v}, nil
	}
	required := func() error {
		if remove {
			return scimProblem{400, "mutability", fmt.Sprintf("%s is required and cannot be removed", path)}
		}
		return nil
	}
	switch p {
	case "displayname", "name.formatted":
		if err := required(); err != nil {
			return err
		}
		c.patch.Name, err = str()
	case "username", "emails.value":
		if err := required(); err != nil {
			return err
		}
		if c.patch.Email, err = str(); err == nil {
			c.patch.Email.Value = strings.ToLower(strings.TrimSpace(c.patch.Email.Value))
		}
	case "externalid":
		c.patch.ExternalRef, err = str()
	case strings.ToLower(scimEnterpriseSchema) + ":department":
		c.patch.Team, err = str()
	case strings.ToLower(scimEnterpriseSchema):
		var ext struct{ Department *string }
		if !remove && json.Unmarshal(raw, &ext) == nil && ext.Department != nil {
			c.patch.Team = steward.Opt[string]{Set: true, Value: *ext.Department}
		}
	case "active":
		if err := required(); err != nil {
			return err
		}
		var v any
		_ = json.Unmarshal(raw, &v)
		switch v {
		case true, "true", "True":
			t := true
			c.active = &t
		case false, "false", "False":
			f := false
			c.active = &f
		default:
			return scimProblem{400, "invalidValue", "active must be a boolean"}
		}
	default:
		return scimProblem{400, "invalidPath", fmt.Sprintf("path %q is not a modifiable attribute of User (displayName, userName, externalId, active, name.formatted, emails.value, department)", path)}
	}
	return err
}

// parseSCIMPath normalises a PATCH path with the filter parser: lower-case
// names, the core schema URI dropped, value filters on emails accepted
// (Steward keeps one email).
func parseSCIMPath(path string) (key string, err error) {
	if len(path) > maxFilterLen {
		return "", scimProblem{400, "invalidPath", "path is too long"}
	}
	defer func() {
		if r := recover(); r != nil {
			key, err = "", scimProblem{400, "invalidPath", fmt.Sprintf("path %q does not parse", path)}
		}
	}()
	p, perr := filter.ParsePath([]byte(path))
	if perr != nil {
		// An extension schema URI alone is a path too.
		if strings.EqualFold(path, scimEnterpriseSchema) {
			return strings.ToLower(scimEnterpriseSchema), nil
		}
		return "", scimProblem{400, "invalidPath", fmt.Sprintf("path %q does not parse: %v", path, perr)}
	}
	key = strings.ToLower(p.AttributePath.AttributeName)
	if sub := p.AttributePath.SubAttributeName(); sub != "" {
		key += "." + strings.ToLower(sub)
	}
	if sub := p.SubAttributeName(); sub != "" {
		key += "." + strings.ToLower(sub)
	}
	if uri := p.AttributePath.URI(); uri != "" && !strings.EqualFold(uri, scimUserSchema) {
		key = strings.ToLower(uri) + ":" + key
	}
	return key, nil
}

func (s *Server) handleSCIMPatch() http.Handler {
	return s.scimHandler(func(r *http.Request) (int, any, error) {
		var p scimPatch
		if err := scimBody(r, &p); err != nil {
			return 0, nil, err
		}
		c, err := p.change()
		if err != nil {
			return 0, nil, err
		}
		return s.scimApply(r, c)
	})
}

// scimDepart offboards the owner named by the path.
func (s *Server) scimDepart(r *http.Request, reason string) error {
	_, err := s.Posture.DepartByRef(r.Context(), scimSource, r.PathValue("id"), reason)
	return err
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
