package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// decode reads a JSON body of at most MaxBodyBytes into v, refusing unknown
// fields, trailing data and a wrong content type.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeLimit(w, r, v, MaxBodyBytes)
}

// decodeLimit is decode with another body limit.
func decodeLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return steward.Errorf(steward.EINVALID, "Content-Type must be application/json, not %q", ct)
		}
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return steward.Errorf(steward.EINVALID, "request body has data after the JSON object")
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		return jsonError(err)
	}
	return nil
}

// limitedBody is a request body capped at a limit that remembers hitting
// it, so the reply is 413 however the reader's caller wrapped the error.
type limitedBody struct {
	r    io.Reader
	over *http.MaxBytesError
}

func limitBody(w http.ResponseWriter, r *http.Request, n int64) *limitedBody {
	return &limitedBody{r: http.MaxBytesReader(w, r.Body, n)}
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		b.over = mbe
	}
	return n, err
}

// jsonError turns a decoding error into a domain error naming the field.
func jsonError(err error) error {
	var mbe *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return steward.Errorf(steward.EINVALID, "request body is empty; a JSON object is required")
	case errors.As(err, &syn):
		return steward.Errorf(steward.EINVALID, "request body is not valid JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return steward.FieldError(field, "must be %s, not JSON %s", jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return steward.Errorf(steward.EINVALID, "request body is truncated JSON")
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return steward.FieldError(f, "unknown field")
	}
	var perr *time.ParseError
	if errors.As(err, &perr) {
		return steward.Errorf(steward.EINVALID, "a time is not RFC 3339 (like 2026-01-31T12:00:00Z): %q", perr.Value)
	}
	return steward.Errorf(steward.EINVALID, "invalid request body: %s", strings.TrimPrefix(msg, "json: "))
}

func jsonKind(k string) string {
	switch k {
	case "slice":
		return "an array"
	case "map", "struct":
		return "an object"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	}
	return "a " + k
}

// reply writes v as JSON with status.
func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

func (s *Server) handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, map[string]string{"status": "ok", "version": s.Version})
	})
}

func (s *Server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Ready != nil {
			if err := s.Ready(r.Context()); err != nil {
				s.log.WarnContext(r.Context(), "not ready", "err", err)
				statusProblem(w, r, http.StatusServiceUnavailable, "database is not reachable")
				return
			}
		}
		reply(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

func (s *Server) handleWhoami() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := steward.PrincipalFrom(r.Context())
		out := map[string]any{"actor": p.Actor, "role": string(p.Role), "owner_id": p.OwnerID, "token_id": p.TokenID}
		if p.IsNHI() {
			out["kind"] = "nhi"
			out["identity_id"], out["credential_id"], out["scopes"] = p.IdentityID, p.CredentialID, p.Scopes
		} else {
			out["kind"] = "operator"
		}
		reply(w, http.StatusOK, out)
	})
}

func (s *Server) handleStats() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := steward.PrincipalFrom(r.Context())
		if p.Role == steward.RoleOwner {
			Error(w, r, steward.Errorf(steward.EFORBIDDEN, "role owner may not read estate-wide counts"))
			return
		}
		st, err := s.Stats(r.Context())
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, st)
	})
}

// query reads list parameters, rejecting unknown ones so typos are not
// silently ignored.
type query struct {
	v     url.Values
	err   error
	known map[string]bool
}

func newQuery(r *http.Request) *query { return &query{v: r.URL.Query(), known: map[string]bool{}} }

func (q *query) str(name string) string {
	q.known[name] = true
	return strings.TrimSpace(q.v.Get(name))
}

func (q *query) int(name string) int {
	s := q.str(name)
	if s == "" || q.err != nil {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		q.err = steward.FieldError(name, "must be a positive integer, not %q", s)
	}
	return n
}

func (q *query) time(name string) *time.Time {
	s := q.str(name)
	if s == "" || q.err != nil {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		q.err = steward.FieldError(name, "must be an RFC 3339 time (like 2026-01-31T00:00:00Z), not %q", s)
		return nil
	}
	return &t
}

func (q *query) done() error {
	if q.err != nil {
		return q.err
	}
	for k := range q.v {
		if !q.known[k] {
			return steward.FieldError(k, "unknown query parameter")
		}
	}
	return nil
}

func (s *Server) handleCreateIdentity() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in IdentityCreate
		if err := decode(w, r, &in); err != nil {
			Error(w, r, err)
			return
		}
		i, err := s.Identities.CreateIdentity(r.Context(), in.identity())
		if err != nil {
			Error(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/identities/"+i.ID)
		reply(w, http.StatusCreated, i)
	})
}

// IdentityCreate is the body of POST /identities: the writable fields.
type IdentityCreate struct {
	Name          string              `json:"name"`
	Kind          steward.Kind        `json:"kind"`
	Provider      string              `json:"provider"`
	ExternalRef   string              `json:"external_ref"`
	OwnerID       string              `json:"owner_id"`
	Team          string              `json:"team"`
	Purpose       string              `json:"purpose"`
	Environment   string              `json:"environment"`
	Scopes        []string            `json:"scopes"`
	Sensitivity   steward.Sensitivity `json:"sensitivity"`
	VendorManaged bool                `json:"vendor_managed"`
	Status        steward.Status      `json:"status"`
	ExpiresAt     *time.Time          `json:"expires_at"`
	LastRotatedAt *time.Time          `json:"last_rotated_at"`
	LastUsedAt    *time.Time          `json:"last_used_at"`
	Labels        map[string]string   `json:"labels"`
	Exception     *steward.Exception  `json:"exception"`
	UnownedReason string              `json:"unowned_reason"`
}

func (c *IdentityCreate) identity() *steward.Identity {
	return &steward.Identity{Name: c.Name, Kind: c.Kind, Provider: c.Provider, ExternalRef: c.ExternalRef, OwnerID: c.OwnerID,
		Team: c.Team, Purpose: c.Purpose, Environment: c.Environment, Scopes: c.Scopes, Sensitivity: c.Sensitivity,
		VendorManaged: c.VendorManaged, Status: c.Status, ExpiresAt: c.ExpiresAt, LastRotatedAt: c.LastRotatedAt,
		LastUsedAt: c.LastUsedAt, Labels: c.Labels, Exception: c.Exception, UnownedReason: c.UnownedReason}
}

// identityFilter reads the list filters of GET /identities.
func identityFilter(r *http.Request) (steward.IdentityFilter, error) {
	q := newQuery(r)
	f := steward.IdentityFilter{
		OwnerID: q.str("owner"), Team: q.str("team"), Kind: steward.Kind(q.str("kind")), Provider: q.str("provider"),
		Environment: q.str("environment"), Status: steward.Status(q.str("status")), Sensitivity: steward.Sensitivity(q.str("sensitivity")),
		Source: steward.Source(q.str("source")), Query: q.str("q"), Sort: q.str("sort"), Cursor: q.str("cursor"),
	}
	if f.OwnerID == "" {
		f.OwnerID = q.str("owner_id")
	} else {
		q.str("owner_id")
	}
	f.ExpiresBefore = q.time("expires_before")
	f.UnusedSince = q.time("unused_since")
	f.Limit = q.int("limit")
	if err := q.done(); err != nil {
		return f, err
	}
	return f, f.Validate()
}

func (s *Server) handleListIdentities() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := identityFilter(r)
		if err != nil {
			Error(w, r, err)
			return
		}
		page, err := s.Identities.ListIdentities(r.Context(), f)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, page)
	})
}

func (s *Server) handleGetIdentity() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := s.Identities.GetIdentity(r.Context(), r.PathValue("id"))
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, i)
	})
}

func (s *Server) handleUpdateIdentity() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p steward.IdentityPatch
		if err := decode(w, r, &p); err != nil {
			Error(w, r, err)
			return
		}
		i, err := s.Identities.UpdateIdentity(r.Context(), r.PathValue("id"), p)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, i)
	})
}

func (s *Server) handleDeleteIdentity() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.Identities.DeleteIdentity(r.Context(), r.PathValue("id")); err != nil {
			Error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func transitionHandler(op steward.Transition) func(s *Server) http.Handler {
	return func(s *Server) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var req steward.TransitionRequest
			if r.ContentLength != 0 {
				if err := decode(w, r, &req); err != nil {
					Error(w, r, err)
					return
				}
			}
			i, err := s.Identities.TransitionIdentity(r.Context(), r.PathValue("id"), op, req)
			if err != nil {
				Error(w, r, err)
				return
			}
			reply(w, http.StatusOK, i)
		})
	}
}

func eventFilter(r *http.Request) (steward.EventFilter, error) {
	q := newQuery(r)
	f := steward.EventFilter{IdentityID: q.str("identity_id"), Actor: q.str("actor"), Action: q.str("action"), Cursor: q.str("cursor")}
	f.Since, f.Until = q.time("since"), q.time("until")
	f.Limit = q.int("limit")
	switch order := q.str("order"); order {
	case "", "desc":
	case "asc":
		f.Ascending = true
	default:
		return f, steward.FieldError("order", "must be asc or desc, not %q", order)
	}
	if f.Limit > steward.MaxLimit {
		return f, steward.FieldError("limit", "must be between 1 and %d", steward.MaxLimit)
	}
	return f, q.done()
}

func (s *Server) handleListEvents() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := eventFilter(r)
		if err != nil {
			Error(w, r, err)
			return
		}
		page, err := s.Identities.ListEvents(r.Context(), f)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, page)
	})
}

func (s *Server) handleIdentityEvents() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := eventFilter(r)
		if err != nil {
			Error(w, r, err)
			return
		}
		id := r.PathValue("id")
		if _, err := s.Identities.GetIdentity(r.Context(), id); err != nil {
			Error(w, r, err)
			return
		}
		f.IdentityID = id
		page, err := s.Identities.ListEvents(r.Context(), f)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, page)
	})
}

func (s *Server) handleIdentityCredentials() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs, err := s.Identities.ListCredentials(r.Context(), r.PathValue("id"))
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, map[string]any{"items": cs})
	})
}

// OwnerCreate is the body of POST /owners.
type OwnerCreate struct {
	Name          string            `json:"name"`
	Email         string            `json:"email"`
	Kind          steward.OwnerKind `json:"kind"`
	Team          string            `json:"team"`
	ManagerID     string            `json:"manager_id"`
	BackupOwnerID string            `json:"backup_owner_id"`
	ExternalRef   string            `json:"external_ref"`
}

func (s *Server) handleCreateOwner() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in OwnerCreate
		if err := decode(w, r, &in); err != nil {
			Error(w, r, err)
			return
		}
		o, err := s.Owners.CreateOwner(r.Context(), &steward.Owner{Name: in.Name, Email: in.Email, Kind: in.Kind, Team: in.Team,
			ManagerID: in.ManagerID, BackupOwnerID: in.BackupOwnerID, ExternalRef: in.ExternalRef})
		if err != nil {
			Error(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/owners/"+o.ID)
		reply(w, http.StatusCreated, o)
	})
}

func (s *Server) handleListOwners() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := newQuery(r)
		f := steward.OwnerFilter{Status: steward.OwnerStatus(q.str("status")), Team: q.str("team"), Query: q.str("q"), Email: q.str("email"), Cursor: q.str("cursor")}
		f.Limit = q.int("limit")
		if err := q.done(); err != nil {
			Error(w, r, err)
			return
		}
		page, err := s.Owners.ListOwners(r.Context(), f)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, page)
	})
}

func (s *Server) handleGetOwner() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, err := s.Owners.GetOwner(r.Context(), r.PathValue("id"))
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, o)
	})
}

func (s *Server) handleUpdateOwner() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p steward.OwnerPatch
		if err := decode(w, r, &p); err != nil {
			Error(w, r, err)
			return
		}
		o, err := s.Owners.UpdateOwner(r.Context(), r.PathValue("id"), p)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, o)
	})
}

// Reason is a body carrying only a reason.
type Reason struct {
	Reason string `json:"reason"`
}

func (s *Server) handleDepartOwner() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in Reason
		if r.ContentLength != 0 {
			if err := decode(w, r, &in); err != nil {
				Error(w, r, err)
				return
			}
		}
		d, err := s.Owners.DepartOwner(r.Context(), r.PathValue("id"), in.Reason)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, d)
	})
}

func (s *Server) handleImport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := newQuery(r)
		opts := steward.ImportOptions{OwnerID: q.str("owner_id"), Environment: q.str("environment"), Sensitivity: steward.Sensitivity(q.str("sensitivity"))}
		switch p := q.str("partial"); p {
		case "", "false", "0":
		case "true", "1":
			opts.Partial = true
		default:
			Error(w, r, steward.FieldError("partial", "must be true or false, not %q", p))
			return
		}
		if err := q.done(); err != nil {
			Error(w, r, err)
			return
		}
		if s.IsDiscoveryFormat != nil && s.IsDiscoveryFormat(r.PathValue("format")) {
			s.importDiscovery(w, r, r.PathValue("format"), opts.Partial)
			return
		}
		body := limitBody(w, r, MaxImportBytes)
		sum, err := s.Imports.Import(r.Context(), r.PathValue("format"), body, opts)
		if err != nil {
			if body.over != nil {
				Error(w, r, body.over)
				return
			}
			var extra any
			if sum != nil {
				extra = sum.Errors
			}
			writeProblem(w, r, err, extra)
			return
		}
		reply(w, http.StatusOK, sum)
	})
}

func (s *Server) handleCreateToken() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in steward.TokenCreate
		if err := decode(w, r, &in); err != nil {
			Error(w, r, err)
			return
		}
		t, err := s.Tokens.CreateToken(r.Context(), in)
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusCreated, t)
	})
}

func (s *Server) handleListTokens() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts, err := s.Tokens.ListTokens(r.Context())
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, map[string]any{"items": ts})
	})
}

func (s *Server) handleRevokeToken() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := s.Tokens.RevokeToken(r.Context(), r.PathValue("id"))
		if err != nil {
			Error(w, r, err)
			return
		}
		reply(w, http.StatusOK, t)
	})
}
