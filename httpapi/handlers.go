package httpapi

import (
	"bytes"
	"context"
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

// decodeLimit reads a JSON body of at most limit bytes into v, refusing
// unknown fields, trailing data, a wrong content type, and NUL or invalid
// UTF-8 in any string.
func decodeLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return steward.Errorf(steward.EINVALID, "Content-Type must be application/json, not %q", ct)
		}
	}
	raw, err := readBody(w, r, limit)
	if err != nil {
		return jsonError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return steward.Errorf(steward.EINVALID, "request body has data after the JSON object")
	}
	return checkJSONText(raw)
}

// limitedBody is a request body capped at a limit that remembers hitting
// it, so the reply is 413 however the reader's caller wrapped the error.
type limitedBody struct {
	r    io.Reader
	over *http.MaxBytesError
}

func limitBody(w http.ResponseWriter, r *http.Request, n int64) (*limitedBody, error) {
	body, err := bodyOf(w, r, n)
	return &limitedBody{r: body}, err
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
	return noBody(http.StatusOK, func(r *http.Request) (map[string]string, error) {
		return map[string]string{"status": "ok", "version": s.Version}, nil
	})
}

func (s *Server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Ready != nil {
			if err := s.Ready(r.Context()); err != nil {
				s.log.WarnContext(r.Context(), "not ready", "err", err)
				// Steward's own reasons (a broken audit chain) are said;
				// a driver's error is not shown to unauthenticated callers.
				msg := "database is not reachable"
				var se *steward.Error
				if errors.As(err, &se) {
					msg = "not ready: " + se.Message
				}
				statusProblem(w, r, http.StatusServiceUnavailable, msg)
				return
			}
		}
		reply(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

func (s *Server) handleWhoami() http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (map[string]any, error) {
		p := steward.PrincipalFrom(r.Context())
		out := map[string]any{"actor": p.Actor, "role": string(p.Role), "owner_id": p.OwnerID, "token_id": p.TokenID}
		if p.IsNHI() {
			out["kind"] = "nhi"
			out["identity_id"], out["credential_id"], out["scopes"] = p.IdentityID, p.CredentialID, p.Scopes
			if p.Delegation != nil {
				out["delegation"] = p.Delegation
			}
		} else {
			out["kind"] = "operator"
		}
		return out, nil
	})
}

// handleStats serves estate-wide counts to staff only: admin, operator and
// auditor; neither the owner role nor an NHI credential (which has no role).
func (s *Server) handleStats() http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (*steward.InventoryStats, error) {
		if _, err := steward.AuthorizeStaff(r.Context(), steward.PermRead); err != nil {
			return nil, err
		}
		return s.Stats(r.Context())
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

// bool reads true/false (empty is false).
func (q *query) bool(name string) bool {
	switch s := q.str(name); s {
	case "", "false", "0":
	case "true", "1":
		return true
	default:
		if q.err == nil {
			q.err = steward.FieldError(name, "must be true or false, not %q", s)
		}
	}
	return false
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

// noQuery accepts no query parameters.
func noQuery(r *http.Request) (none, error) { return none{}, newQuery(r).done() }

func (s *Server) handleCreateIdentity() http.Handler {
	return createdJSON(func(r *http.Request, in IdentityCreate) (*steward.Identity, error) {
		return s.Identities.CreateIdentity(r.Context(), in.identity())
	}, func(i *steward.Identity) string { return "/api/v1/identities/" + i.ID })
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

// ownerParam reads owner (or its alias owner_id).
func (q *query) ownerParam() string {
	o, alias := q.str("owner"), q.str("owner_id")
	if o == "" {
		return alias
	}
	return o
}

// identityFilter reads the list filters of GET /identities.
func identityFilter(r *http.Request) (steward.IdentityFilter, error) {
	q := newQuery(r)
	f := steward.IdentityFilter{
		OwnerID: q.ownerParam(), Team: q.str("team"), Kind: steward.Kind(q.str("kind")), Provider: q.str("provider"),
		Environment: q.str("environment"), Status: steward.Status(q.str("status")), Sensitivity: steward.Sensitivity(q.str("sensitivity")),
		Source: steward.Source(q.str("source")), Query: q.str("q"), Sort: q.str("sort"), Cursor: q.str("cursor"),
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
	return filtered(identityFilter, s.Identities.ListIdentities)
}

func (s *Server) handleGetIdentity() http.Handler { return getByID(s.Identities.GetIdentity) }

func (s *Server) handleUpdateIdentity() http.Handler {
	return actOnID(http.StatusOK, false, s.Identities.UpdateIdentity)
}

func (s *Server) handleDeleteIdentity() http.Handler {
	return noContent(func(r *http.Request, id string) error { return s.Identities.DeleteIdentity(r.Context(), id) })
}

func transitionHandler(op steward.Transition) func(s *Server) http.Handler {
	return func(s *Server) http.Handler {
		return actOnID(http.StatusOK, true, func(ctx context.Context, id string, in steward.TransitionRequest) (*steward.Identity, error) {
			return s.Identities.TransitionIdentity(ctx, id, op, in)
		})
	}
}

// eventFilter reads the filters of the event lists from q; desc is the
// default order (the audit chain reads oldest first). The caller reads
// its own parameters and calls q.done.
func eventFilter(q *query, desc bool) (steward.EventFilter, error) {
	f := steward.EventFilter{IdentityID: q.str("identity_id"), Actor: q.str("actor"), Action: q.str("action"), Cursor: q.str("cursor"), Ascending: !desc}
	f.Since, f.Until = q.time("since"), q.time("until")
	f.Limit = q.int("limit")
	switch order := q.str("order"); order {
	case "":
	case "asc", "desc":
		f.Ascending = order == "asc"
	default:
		return f, steward.FieldError("order", "must be asc or desc, not %q", order)
	}
	if f.Limit > steward.MaxLimit {
		return f, steward.FieldError("limit", "must be between 1 and %d", steward.MaxLimit)
	}
	return f, nil
}

func inventoryEvents(r *http.Request) (steward.EventFilter, error) {
	q := newQuery(r)
	f, err := eventFilter(q, true)
	if err != nil {
		return f, err
	}
	return f, q.done()
}

func (s *Server) handleListEvents() http.Handler {
	return filtered(inventoryEvents, s.Identities.ListEvents)
}

func (s *Server) handleIdentityEvents() http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (*steward.Page[*steward.Event], error) {
		f, err := inventoryEvents(r)
		if err != nil {
			return nil, err
		}
		id := r.PathValue("id")
		if _, err := s.Identities.GetIdentity(r.Context(), id); err != nil {
			return nil, err
		}
		f.IdentityID = id
		return s.Identities.ListEvents(r.Context(), f)
	})
}

func (s *Server) handleIdentityCredentials() http.Handler {
	return getByID(func(ctx context.Context, id string) (itemList[*steward.Credential], error) {
		return items(s.Identities.ListCredentials(ctx, id))
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
	return createdJSON(func(r *http.Request, in OwnerCreate) (*steward.Owner, error) {
		return s.Owners.CreateOwner(r.Context(), &steward.Owner{Name: in.Name, Email: in.Email, Kind: in.Kind, Team: in.Team,
			ManagerID: in.ManagerID, BackupOwnerID: in.BackupOwnerID, ExternalRef: in.ExternalRef})
	}, func(o *steward.Owner) string { return "/api/v1/owners/" + o.ID })
}

func ownerFilter(r *http.Request) (steward.OwnerFilter, error) {
	q := newQuery(r)
	f := steward.OwnerFilter{Status: steward.OwnerStatus(q.str("status")), Team: q.str("team"), Query: q.str("q"), Email: q.str("email"), Cursor: q.str("cursor")}
	f.Limit = q.int("limit")
	return f, q.done()
}

func (s *Server) handleListOwners() http.Handler { return filtered(ownerFilter, s.Owners.ListOwners) }

func (s *Server) handleGetOwner() http.Handler { return getByID(s.Owners.GetOwner) }

func (s *Server) handleUpdateOwner() http.Handler {
	return actOnID(http.StatusOK, false, s.Owners.UpdateOwner)
}

// Reason is a body carrying only a reason.
type Reason struct {
	Reason string `json:"reason"`
}

// withReason adapts a method taking a reason string to a Reason body.
func withReason[Resp any](fn func(ctx context.Context, id, reason string) (Resp, error)) func(ctx context.Context, id string, in Reason) (Resp, error) {
	return func(ctx context.Context, id string, in Reason) (Resp, error) { return fn(ctx, id, in.Reason) }
}

func (s *Server) handleDepartOwner() http.Handler {
	return actOnID(http.StatusOK, true, withReason(s.Owners.DepartOwner))
}

func (s *Server) handleImport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := newQuery(r)
		opts := steward.ImportOptions{OwnerID: q.str("owner_id"), Environment: q.str("environment"), Sensitivity: steward.Sensitivity(q.str("sensitivity"))}
		opts.Partial = q.bool("partial")
		if err := q.done(); err != nil {
			Error(w, r, err)
			return
		}
		if s.IsDiscoveryFormat != nil && s.IsDiscoveryFormat(r.PathValue("format")) {
			s.importDiscovery(w, r, r.PathValue("format"), opts.Partial)
			return
		}
		body, err := limitBody(w, r, MaxImportBytes)
		if err != nil {
			Error(w, r, err)
			return
		}
		sum, err := s.Imports.Import(r.Context(), r.PathValue("format"), body, opts)
		if err != nil {
			if body.over != nil {
				err = body.over
			}
			var extra any
			if sum != nil && body.over == nil {
				extra = sum.Errors
			}
			writeProblem(w, r, err, extra)
			return
		}
		reply(w, http.StatusOK, sum)
	})
}

func (s *Server) handleCreateToken() http.Handler {
	return jsonHandler(http.StatusCreated, func(r *http.Request, in steward.TokenCreate) (*steward.CreatedToken, error) {
		return s.Tokens.CreateToken(r.Context(), in)
	})
}

func (s *Server) handleListTokens() http.Handler {
	return noBody(http.StatusOK, func(r *http.Request) (itemList[*steward.OperatorToken], error) {
		return items(s.Tokens.ListTokens(r.Context()))
	})
}

func (s *Server) handleRevokeToken() http.Handler { return getByID(s.Tokens.RevokeToken) }
