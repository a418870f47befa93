package authz

import (
	"context"
	"encoding/base64"
	"sort"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/steward-nhi/steward"
)

// Search limits.
const (
	DefaultSearchLimit = 100
	MaxSearchLimit     = 1000
	// maxSearchCandidates bounds how many identities a search of type nhi
	// considers.
	maxSearchCandidates = 10000
)

// SearchSubject returns the subjects of the requested type that may
// perform the action on the resource: every known entity of that type
// (stored entities, and Steward identities for type nhi) is evaluated.
func (p *PDP) SearchSubject(ctx context.Context, r *SearchRequest, call Call) (*SearchResponse, error) {
	return p.search(ctx, r, "subject", r.Subject, func(q *Request) **Entity { return &q.Subject })
}

// SearchResource returns the resources of the requested type the subject
// may perform the action on.
func (p *PDP) SearchResource(ctx context.Context, r *SearchRequest, call Call) (*SearchResponse, error) {
	return p.search(ctx, r, "resource", r.Resource, func(q *Request) **Entity { return &q.Resource })
}

// search evaluates r once for every known entity of want's type put in
// the slot of the request that slot returns (named field), and pages the
// entities that are permitted.
func (p *PDP) search(ctx context.Context, r *SearchRequest, field string, want *Entity, slot func(q *Request) **Entity) (*SearchResponse, error) {
	if _, err := mayEvaluate(ctx); err != nil {
		return nil, err
	}
	if err := checkEntity(want, field, false); err != nil {
		return nil, err
	}
	probe := r.Request
	*slot(&probe) = &Entity{Type: want.Type, ID: "?", Properties: want.Properties}
	if err := probe.check(); err != nil {
		return nil, err
	}
	ids, err := p.candidateIDs(ctx, want.Type)
	if err != nil {
		return nil, err
	}
	eng := p.engine.Load()
	return paginate(r.Page, ids, func(id string) (any, bool) {
		q := probe
		*slot(&q) = &Entity{Type: want.Type, ID: id, Properties: want.Properties}
		if p.permits(ctx, eng, &q) {
			return Entity{Type: want.Type, ID: id}, true
		}
		return nil, false
	})
}

// ActionResult is one result of an action search.
type ActionResult struct {
	Name string `json:"name"`
}

// SearchAction returns the actions the subject may perform on the
// resource, among the actions named by a policy or an Action entity.
func (p *PDP) SearchAction(ctx context.Context, r *SearchRequest, call Call) (*SearchResponse, error) {
	if _, err := mayEvaluate(ctx); err != nil {
		return nil, err
	}
	probe := r.Request
	probe.Action = &Action{Name: "?"}
	if err := probe.check(); err != nil {
		return nil, err
	}
	eng := p.engine.Load()
	names := make([]string, 0, len(eng.actions))
	for _, a := range eng.actions {
		names = append(names, string(a.ID))
	}
	return paginate(r.Page, names, func(name string) (any, bool) {
		q := probe
		q.Action = &Action{Name: name}
		if p.permits(ctx, eng, &q) {
			return ActionResult{Name: name}, true
		}
		return nil, false
	})
}

// permits evaluates a search probe with the guard; errors deny.
func (p *PDP) permits(ctx context.Context, eng *Engine, r *Request) bool {
	if _, reason, err := p.guard(ctx, r); err != nil || reason != "" {
		return false
	}
	ok, _, err := eng.Decide(r, p.identityGetter(ctx))
	return err == nil && ok
}

// candidateIDs lists the known ids of an entity type, sorted.
func (p *PDP) candidateIDs(ctx context.Context, typ string) ([]string, error) {
	eng := p.engine.Load()
	var out []string
	for _, uid := range eng.byType[types.EntityType(typ)] {
		out = append(out, string(uid.ID))
	}
	if types.EntityType(typ) == IdentityType && p.cfg.Inventory != nil {
		f := steward.IdentityFilter{Limit: steward.MaxLimit}
		for len(out) < maxSearchCandidates {
			page, err := p.cfg.Inventory.ListIdentities(ctx, f)
			if err != nil {
				return nil, err
			}
			for _, i := range page.Items {
				out = append(out, i.ID)
			}
			if page.NextCursor == "" {
				break
			}
			f.Cursor = page.NextCursor
		}
		sort.Strings(out)
	}
	return out, nil
}

// paginate evaluates candidates in order after the page token until the
// page is full; the token is the last candidate examined.
func paginate(pg *Page, ids []string, match func(id string) (any, bool)) (*SearchResponse, error) {
	limit := DefaultSearchLimit
	after := ""
	if pg != nil {
		if pg.Limit < 0 || pg.Limit > MaxSearchLimit {
			return nil, steward.FieldError("page.limit", "must be between 1 and %d", MaxSearchLimit)
		}
		if pg.Limit > 0 {
			limit = pg.Limit
		}
		if pg.Token != "" {
			b, err := base64.RawURLEncoding.DecodeString(pg.Token)
			if err != nil || len(b) == 0 {
				return nil, steward.FieldError("page.token", "is not a token returned by this search")
			}
			after = string(b)
		}
	}
	start := sort.SearchStrings(ids, after)
	if after != "" && start < len(ids) && ids[start] == after {
		start++
	}
	resp := &SearchResponse{Results: []any{}}
	for i := start; i < len(ids); i++ {
		if len(resp.Results) == limit {
			resp.Page.NextToken = base64.RawURLEncoding.EncodeToString([]byte(ids[i-1]))
			break
		}
		if v, ok := match(ids[i]); ok {
			resp.Results = append(resp.Results, v)
		}
	}
	resp.Page.Count = len(resp.Results)
	if resp.Page.NextToken == "" && after == "" {
		resp.Page.Total = len(resp.Results)
	}
	return resp, nil
}
