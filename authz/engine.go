package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"

	"github.com/steward-nhi/steward"
)

// ActionType is the Cedar entity type of AuthZEN actions.
const ActionType = types.EntityType("Action")

// IdentityType is the Cedar entity type of Steward's own identities.
const IdentityType = types.EntityType("nhi")

// compiled is one policy statement with what the index needs.
type compiled struct {
	id      cedar.PolicyID
	policy  *cedar.Policy
	actions map[types.EntityUID]bool // nil: any action
	rtype   types.EntityType         // "": any resource type
	ptype   types.EntityType         // "": any principal type
}

// Engine is an immutable, compiled policy set with its entities, indexed
// so that a request evaluates only the policies that can apply to it: by
// action, resource type and principal type.
type Engine struct {
	Revision int64
	policies []compiled
	entities types.EntityMap
	byType   map[types.EntityType][]types.EntityUID // sorted, for search
	actions  []types.EntityUID                      // every action named by a policy or an entity
	// FullScan disables the index (benchmarks and the agreement check).
	FullScan bool

	cache  sync.Map // candKey → policySlice
	cached atomic.Int64
}

const maxCachedKeys = 50000

type candKey struct {
	action       types.EntityUID
	rtype, ptype types.EntityType
}

// policySlice is a cedar.PolicyIterator over a fixed list.
type policySlice []compiled

func (ps policySlice) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] {
	return func(yield func(cedar.PolicyID, *cedar.Policy) bool) {
		for _, c := range ps {
			if !yield(c.id, c.policy) {
				return
			}
		}
	}
}

// PolicyIDs returns the ids of the statements of a policy document named
// name with n statements: the name itself for one statement, name#i for more.
func policyID(name string, i, n int) cedar.PolicyID {
	if n == 1 {
		return cedar.PolicyID(name)
	}
	return cedar.PolicyID(fmt.Sprintf("%s#%d", name, i))
}

// ParsePolicy parses a Cedar policy document into its statements.
func ParsePolicy(name, text string) (cedar.PolicyList, error) {
	list, err := cedar.NewPolicyListFromBytes(name, []byte(text))
	if err != nil {
		return nil, steward.FieldError("policy", "%s", strings.TrimSpace(err.Error()))
	}
	if len(list) == 0 {
		return nil, steward.FieldError("policy", "%s has no policy statement", name)
	}
	return list, nil
}

// ParseEntities parses a Cedar JSON entity array.
func ParseEntities(b []byte) ([]steward.AuthzEntity, types.EntityMap, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, nil, steward.FieldError("entities", "must be a JSON array of Cedar entities: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	out := make([]steward.AuthzEntity, 0, len(raw))
	m := make(types.EntityMap, len(raw))
	for i, r := range raw {
		var e types.Entity
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, nil, steward.FieldError(fmt.Sprintf("entities[%d]", i), "is not a Cedar entity: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		if e.UID.Type == "" || e.UID.ID == "" {
			return nil, nil, steward.FieldError(fmt.Sprintf("entities[%d].uid", i), "needs a type and an id")
		}
		if e.UID.Type == IdentityType {
			return nil, nil, steward.FieldError(fmt.Sprintf("entities[%d].uid.type", i), "type nhi is reserved for Steward's identities")
		}
		if _, dup := m[e.UID]; dup {
			return nil, nil, steward.FieldError(fmt.Sprintf("entities[%d].uid", i), "%s appears twice", e.UID)
		}
		m[e.UID] = e
		var compact bytes.Buffer
		if err := json.Compact(&compact, r); err != nil {
			return nil, nil, steward.FieldError(fmt.Sprintf("entities[%d]", i), "is not JSON")
		}
		out = append(out, steward.AuthzEntity{Type: string(e.UID.Type), ID: string(e.UID.ID), Doc: compact.Bytes()})
	}
	return out, m, nil
}

// Validator checks policies and entities against a schema.
type Validator struct{ v *validate.Validator }

// ParseSchema parses a Cedar schema (format "cedar" or "json").
func ParseSchema(s *steward.AuthzSchema) (*Validator, error) {
	if s == nil || strings.TrimSpace(s.Text) == "" {
		return nil, nil
	}
	var sc schema.Schema
	var err error
	switch s.Format {
	case "json":
		err = sc.UnmarshalJSON([]byte(s.Text))
	default:
		err = sc.UnmarshalCedar([]byte(s.Text))
	}
	if err != nil {
		return nil, steward.FieldError("schema", "%s", strings.TrimSpace(err.Error()))
	}
	res, err := sc.Resolve()
	if err != nil {
		return nil, steward.FieldError("schema", "%s", strings.TrimSpace(err.Error()))
	}
	return &Validator{v: validate.New(res)}, nil
}

// Policy validates one statement.
func (v *Validator) Policy(id string, p *cedar.Policy) error {
	if v == nil {
		return nil
	}
	if err := v.v.Policy(id, (*xast.Policy)(p.AST())); err != nil {
		return steward.FieldError("policy", "%s does not match the schema: %s", id, err.Error())
	}
	return nil
}

// Entities validates an entity set.
func (v *Validator) Entities(m types.EntityMap) error {
	if v == nil {
		return nil
	}
	if err := v.v.Entities(m); err != nil {
		return steward.FieldError("entities", "do not match the schema: %s", err.Error())
	}
	return nil
}

// Compile builds an engine from stored policies, entities and schema,
// validating each policy against the schema when one is set.
func Compile(policies []*steward.AuthzPolicy, entities []steward.AuthzEntity, sch *steward.AuthzSchema) (*Engine, error) {
	v, err := ParseSchema(sch)
	if err != nil {
		return nil, err
	}
	e := &Engine{entities: types.EntityMap{}, byType: map[types.EntityType][]types.EntityUID{}}
	for _, se := range entities {
		var ent types.Entity
		if err := json.Unmarshal(se.Doc, &ent); err != nil {
			return nil, fmt.Errorf("entity %s::%q: %w", se.Type, se.ID, err)
		}
		e.entities[ent.UID] = ent
	}
	if err := v.Entities(e.entities); err != nil {
		return nil, err
	}
	var errs []error
	for _, p := range policies {
		list, err := ParsePolicy(p.Name, p.Text)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for i, st := range list {
			id := policyID(p.Name, i, len(list))
			if err := v.Policy(string(id), st); err != nil {
				errs = append(errs, err)
				continue
			}
			e.policies = append(e.policies, compiled{id: id, policy: st})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	e.index()
	return e, nil
}

// index computes each policy's scope constraints and the search lists.
func (e *Engine) index() {
	slices.SortFunc(e.policies, func(a, b compiled) int { return strings.Compare(string(a.id), string(b.id)) })
	// Action hierarchy: which actions are (transitively) in which group.
	descendants := map[types.EntityUID][]types.EntityUID{}
	actionSet := map[types.EntityUID]bool{}
	for uid, ent := range e.entities {
		e.byType[uid.Type] = append(e.byType[uid.Type], uid)
		if uid.Type != ActionType {
			continue
		}
		actionSet[uid] = true
		for anc := range e.ancestors(uid) {
			descendants[anc] = append(descendants[anc], uid)
		}
		_ = ent
	}
	for t := range e.byType {
		slices.SortFunc(e.byType[t], func(a, b types.EntityUID) int { return strings.Compare(string(a.ID), string(b.ID)) })
	}
	expand := func(uid types.EntityUID, into map[types.EntityUID]bool) {
		into[uid] = true
		for _, d := range descendants[uid] {
			into[d] = true
		}
	}
	for i := range e.policies {
		c := &e.policies[i]
		a := (*xast.Policy)(c.policy.AST())
		switch s := a.Action.(type) {
		case xast.ScopeTypeEq:
			c.actions = map[types.EntityUID]bool{s.Entity: true}
		case xast.ScopeTypeIn:
			c.actions = map[types.EntityUID]bool{}
			expand(s.Entity, c.actions)
		case xast.ScopeTypeInSet:
			c.actions = map[types.EntityUID]bool{}
			for _, uid := range s.Entities {
				expand(uid, c.actions)
			}
		}
		for uid := range c.actions {
			actionSet[uid] = true
		}
		c.rtype = scopeType(a.Resource)
		c.ptype = scopeType(a.Principal)
	}
	for uid := range actionSet {
		if uid.Type == ActionType {
			e.actions = append(e.actions, uid)
		}
	}
	slices.SortFunc(e.actions, func(a, b types.EntityUID) int { return strings.Compare(string(a.ID), string(b.ID)) })
}

// scopeType returns the entity type a principal or resource scope pins, or
// "" when any type can match.
func scopeType(n any) types.EntityType {
	switch s := n.(type) {
	case xast.ScopeTypeEq:
		return s.Entity.Type
	case xast.ScopeTypeIs:
		return s.Type
	case xast.ScopeTypeIsIn:
		return s.Type
	}
	return ""
}

// ancestors returns the transitive parents of uid in the entity store.
func (e *Engine) ancestors(uid types.EntityUID) map[types.EntityUID]bool {
	out := map[types.EntityUID]bool{}
	stack := []types.EntityUID{uid}
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ent, ok := e.entities[u]
		if !ok {
			continue
		}
		for p := range ent.Parents.All() {
			if !out[p] {
				out[p] = true
				stack = append(stack, p)
			}
		}
	}
	return out
}

// candidates returns the policies that can apply to a request with this
// action, resource type and principal type.
func (e *Engine) candidates(action types.EntityUID, rtype, ptype types.EntityType) policySlice {
	if e.FullScan {
		return e.policies
	}
	k := candKey{action, rtype, ptype}
	if v, ok := e.cache.Load(k); ok {
		return v.(policySlice)
	}
	var out policySlice
	for _, c := range e.policies {
		if (c.actions == nil || c.actions[action]) && (c.rtype == "" || c.rtype == rtype) && (c.ptype == "" || c.ptype == ptype) {
			out = append(out, c)
		}
	}
	if e.cached.Load() < maxCachedKeys {
		if _, loaded := e.cache.LoadOrStore(k, out); !loaded {
			e.cached.Add(1)
		}
	}
	return out
}

// PolicyCount returns the number of compiled statements.
func (e *Engine) PolicyCount() int { return len(e.policies) }

// Entity returns a stored entity.
func (e *Engine) Entity(uid types.EntityUID) (types.Entity, bool) {
	ent, ok := e.entities[uid]
	return ent, ok
}
