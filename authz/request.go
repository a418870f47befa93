package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/steward-nhi/steward"
)

// Entity is an AuthZEN subject or resource.
type Entity struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties,omitempty"`
}

// Action is an AuthZEN action.
type Action struct {
	Name       string         `json:"name"`
	Properties map[string]any `json:"properties,omitempty"`
}

// Request is an AuthZEN access evaluation request.
type Request struct {
	Subject  *Entity        `json:"subject,omitempty"`
	Action   *Action        `json:"action,omitempty"`
	Resource *Entity        `json:"resource,omitempty"`
	Context  map[string]any `json:"context,omitempty"`
}

// Decision is an AuthZEN decision. Context carries the decision id, the
// determining policies and, for a deny by the runtime guard, the reason.
type Decision struct {
	Decision bool           `json:"decision"`
	Context  map[string]any `json:"context,omitempty"`
}

// EvaluationsRequest is an AuthZEN batch: defaults plus items.
type EvaluationsRequest struct {
	Request
	Evaluations []Request `json:"evaluations"`
	Options     struct {
		Semantic string `json:"evaluations_semantic"`
	} `json:"options"`
}

// Evaluation semantics.
const (
	ExecuteAll          = "execute_all"
	DenyOnFirstDeny     = "deny_on_first_deny"
	PermitOnFirstPermit = "permit_on_first_permit"
)

// EvaluationsResponse answers a batch: one decision per item, in order.
// When the request had no items it is a single Decision instead.
type EvaluationsResponse struct {
	Evaluations []Decision `json:"evaluations"`
}

// Page is a search page request.
type Page struct {
	Token string `json:"token,omitempty"`
	Limit int    `json:"limit,omitempty"`
}

// SearchRequest is an AuthZEN subject, resource or action search.
type SearchRequest struct {
	Request
	Page *Page `json:"page,omitempty"`
}

// PageResult is the page of a search response.
type PageResult struct {
	NextToken string `json:"next_token"`
	Count     int    `json:"count"`
	Total     int    `json:"total"`
}

// SearchResponse lists the entities (or actions) the search found.
type SearchResponse struct {
	Page    PageResult `json:"page"`
	Results []any      `json:"results"`
}

// Decode reads one JSON request body into v: numbers keep their text (so
// integers become Cedar longs), unknown fields are ignored, a body that is
// empty, not JSON or followed by more data is EINVALID, and a field of the
// wrong type is EINVALID naming it.
func Decode(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return steward.Errorf(steward.EINVALID, "request body is empty; a JSON object is required")
		case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
			return steward.Errorf(steward.EINVALID, "request body is not valid JSON")
		case errors.As(err, &typ):
			f := typ.Field
			if f == "" {
				f = "body"
			}
			return steward.FieldError(f, "has the wrong JSON type (%s)", typ.Value)
		}
		return err
	}
	if dec.More() {
		return steward.Errorf(steward.EINVALID, "request body has data after the JSON object")
	}
	return nil
}

// DecodeBytes is Decode over a byte slice.
func DecodeBytes(b []byte, v any) error { return Decode(bytes.NewReader(b), v) }

// check validates the fields an evaluation needs.
func (r *Request) check() error {
	if err := checkEntity(r.Subject, "subject", true); err != nil {
		return err
	}
	switch {
	case r.Action == nil:
		return steward.FieldError("action", "is required")
	case r.Action.Name == "":
		return steward.FieldError("action.name", "is required")
	}
	return checkEntity(r.Resource, "resource", true)
}

// checkEntity checks that the entity in field is there with a type, and an
// id when withID.
func checkEntity(e *Entity, field string, withID bool) error {
	switch {
	case e == nil:
		return steward.FieldError(field, "is required")
	case e.Type == "":
		return steward.FieldError(field+".type", "is required")
	case withID && e.ID == "":
		return steward.FieldError(field+".id", "is required")
	}
	return nil
}

// merge returns item with the batch defaults filled in: a key absent from
// the item is taken from the defaults; an entity given by the item
// replaces the default one whole, except that a missing type or id falls
// back to the default's.
func merge(def, item Request) Request {
	out := item
	out.Subject = mergeEntity(def.Subject, item.Subject)
	out.Resource = mergeEntity(def.Resource, item.Resource)
	if out.Action == nil {
		out.Action = def.Action
	} else if out.Action.Name == "" && def.Action != nil {
		a := *out.Action
		a.Name = def.Action.Name
		out.Action = &a
	}
	if out.Context == nil {
		out.Context = def.Context
	}
	return out
}

func mergeEntity(def, item *Entity) *Entity {
	if item == nil {
		return def
	}
	if def == nil {
		return item
	}
	e := *item
	if e.Type == "" {
		e.Type = def.Type
	}
	if e.ID == "" {
		e.ID = def.ID
	}
	return &e
}

func trimString(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n]
	}
	return s
}
