package authz

import (
	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

// Mapping from AuthZEN to Cedar (docs/authz.md):
//
//	subject {type,id}       → principal type::"id" (type used verbatim)
//	action {name}           → Action::"name"
//	resource {type,id}      → resource type::"id"
//	subject/resource .properties → attributes of that entity for this
//	                          request, merged over the stored attributes
//	                          (the request wins); parents stay as stored
//	action.properties       → the record context.action
//	context                 → the Cedar context record

// getter layers the request's entities over the engine's store and an
// optional source of further entities (Steward identities).
type getter struct {
	eng        *Engine
	over1      *types.Entity
	over2      *types.Entity
	extra      types.EntityGetter
	extraTypes types.EntityType
}

func (g *getter) Get(uid types.EntityUID) (types.Entity, bool) {
	if g.over1 != nil && g.over1.UID == uid {
		return *g.over1, true
	}
	if g.over2 != nil && g.over2.UID == uid {
		return *g.over2, true
	}
	if e, ok := g.eng.entities[uid]; ok {
		return e, true
	}
	if g.extra != nil && uid.Type == g.extraTypes {
		return g.extra.Get(uid)
	}
	return types.Entity{}, false
}

// overlay returns the request entity with its properties merged over the
// stored entity, or nil when the request gives no properties.
func (g *getter) overlay(e *Entity, field string) (*types.Entity, error) {
	uid := types.NewEntityUID(types.EntityType(e.Type), types.String(e.ID))
	if len(e.Properties) == 0 {
		return nil, nil
	}
	props, err := toRecordMap(e.Properties, field+".properties", 1)
	if err != nil {
		return nil, err
	}
	base, _ := g.Get(uid)
	merged := make(types.RecordMap, base.Attributes.Len()+len(props))
	for k, v := range base.Attributes.All() {
		merged[k] = v
	}
	for k, v := range props {
		merged[k] = v
	}
	return &types.Entity{UID: uid, Parents: base.Parents, Attributes: types.NewRecord(merged), Tags: base.Tags}, nil
}

// cedarRequest maps an AuthZEN request (already checked) to a Cedar request
// and the entity getter for it.
func (e *Engine) cedarRequest(r *Request, extra types.EntityGetter) (types.Request, *getter, error) {
	g := &getter{eng: e, extra: extra, extraTypes: IdentityType}
	var err error
	if g.over1, err = g.overlay(r.Subject, "subject"); err != nil {
		return types.Request{}, nil, err
	}
	if g.over2, err = g.overlay(r.Resource, "resource"); err != nil {
		return types.Request{}, nil, err
	}
	var ctx types.RecordMap
	if len(r.Context) > 0 {
		if ctx, err = toRecordMap(r.Context, "context", 1); err != nil {
			return types.Request{}, nil, err
		}
	}
	if len(r.Action.Properties) > 0 {
		ap, err := toRecordMap(r.Action.Properties, "action.properties", 1)
		if err != nil {
			return types.Request{}, nil, err
		}
		if ctx == nil {
			ctx = types.RecordMap{}
		}
		ctx["action"] = types.NewRecord(ap)
	}
	req := types.Request{
		Principal: types.NewEntityUID(types.EntityType(r.Subject.Type), types.String(r.Subject.ID)),
		Action:    types.NewEntityUID(ActionType, types.String(r.Action.Name)),
		Resource:  types.NewEntityUID(types.EntityType(r.Resource.Type), types.String(r.Resource.ID)),
		Context:   types.NewRecord(ctx),
	}
	return req, g, nil
}

// Decide evaluates a checked request against the policies that can apply
// to it. extra supplies entities of type nhi that are not in the store.
func (e *Engine) Decide(r *Request, extra types.EntityGetter) (bool, types.Diagnostic, error) {
	if err := r.check(); err != nil {
		return false, types.Diagnostic{}, err
	}
	req, g, err := e.cedarRequest(r, extra)
	if err != nil {
		return false, types.Diagnostic{}, err
	}
	d, diag := cedar.Authorize(e.candidates(req.Action, req.Resource.Type, req.Principal.Type), g, req)
	return d == cedar.Allow, diag, nil
}
