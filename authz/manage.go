package authz

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/steward-nhi/steward"
)

// requireAdmin allows operator tokens with role admin only: policies and
// entities decide every other caller's access.
func requireAdmin(ctx context.Context) (*steward.Principal, error) {
	p := steward.PrincipalFrom(ctx)
	switch {
	case p == nil:
		return nil, steward.Errorf(steward.EUNAUTHORIZED, "authentication required")
	case p.IsNHI() || p.Role != steward.RoleAdmin:
		return nil, steward.Errorf(steward.EFORBIDDEN, "only an admin may change policies, entities or the schema")
	}
	return p, nil
}

// requireReader allows admin, operator and auditor tokens.
func requireReader(ctx context.Context) (*steward.Principal, error) {
	p := steward.PrincipalFrom(ctx)
	switch {
	case p == nil:
		return nil, steward.Errorf(steward.EUNAUTHORIZED, "authentication required")
	case p.IsNHI() || (p.Role != steward.RoleAdmin && p.Role != steward.RoleOperator && p.Role != steward.RoleAuditor):
		return nil, steward.Errorf(steward.EFORBIDDEN, "role %s may not read policies", p.Role)
	}
	return p, nil
}

// policyChange is the before/after snapshot of a policy event.
type policyChange struct {
	Name    string `json:"name"`
	Version int64  `json:"version"`
	Text    string `json:"text"`
	Diff    string `json:"diff,omitempty"`
}

func (p *PDP) newEvent(pr *steward.Principal, action, subjectType, subjectID, reason string, before, after any) *steward.Event {
	return steward.NewEvent(p.cfg.Clock.Now(), pr, action, subjectType, subjectID, "", trimString(reason, steward.MaxTextLen), before, after)
}

// change runs fn in a transaction, bumps the revision and reloads this node.
func (p *PDP) change(ctx context.Context, fn func(tx steward.AuthzTx) error) error {
	if err := p.cfg.Store.UpdateAuthz(ctx, func(tx steward.AuthzTx) error {
		if err := fn(tx); err != nil {
			return err
		}
		_, err := tx.BumpAuthzRevision(ctx)
		return err
	}); err != nil {
		if err == errNoChange {
			return nil
		}
		return err
	}
	return p.Reload(ctx)
}

var errNoChange = steward.Errorf(steward.ECONFLICT, "no change")

// PutPolicy creates or replaces the policy document name with Cedar text,
// after checking its syntax, the schema (when set) and that the whole set
// still compiles. An unchanged text writes nothing.
func (p *PDP) PutPolicy(ctx context.Context, name, text, reason string) (*steward.AuthzPolicy, error) {
	pr, err := requireAdmin(ctx)
	if err != nil {
		return nil, err
	}
	if err := steward.ValidatePolicyName(name); err != nil {
		return nil, err
	}
	if len(text) > MaxPolicyBytes {
		return nil, steward.FieldError("policy", "is larger than %d bytes", MaxPolicyBytes)
	}
	if _, err := ParsePolicy(name, text); err != nil {
		return nil, err
	}
	var out *steward.AuthzPolicy
	err = p.change(ctx, func(tx steward.AuthzTx) error {
		cur, err := tx.GetAuthzPolicy(ctx, name)
		if err != nil && steward.ErrorCode(err) != steward.ENOTFOUND {
			return err
		}
		if cur != nil && cur.Text == text {
			out = cur
			return errNoChange
		}
		if err := p.checkSet(ctx, tx, func(pols []*steward.AuthzPolicy) []*steward.AuthzPolicy {
			return append(without(pols, name), &steward.AuthzPolicy{Name: name, Text: text})
		}, nil, nil); err != nil {
			return err
		}
		v, err := tx.NextPolicyVersion(ctx, name)
		if err != nil {
			return err
		}
		out = &steward.AuthzPolicy{Name: name, Text: text, Version: v, UpdatedAt: p.cfg.Clock.Now(), UpdatedBy: pr.Actor, Reason: trimString(reason, steward.MaxTextLen)}
		if err := tx.PutAuthzPolicy(ctx, out); err != nil {
			return err
		}
		var before any
		oldText := ""
		if cur != nil {
			before = policyChange{Name: name, Version: cur.Version, Text: cur.Text}
			oldText = cur.Text
		}
		after := policyChange{Name: name, Version: v, Text: text, Diff: Diff(oldText, text)}
		return tx.AppendEvent(ctx, p.newEvent(pr, steward.ActionPolicyPut, steward.SubjectPolicy, name, reason, before, after))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MaxPolicyBytes bounds one policy document.
const MaxPolicyBytes = 1 << 20

func without(pols []*steward.AuthzPolicy, name string) []*steward.AuthzPolicy {
	out := make([]*steward.AuthzPolicy, 0, len(pols)+1)
	for _, p := range pols {
		if p.Name != name {
			out = append(out, p)
		}
	}
	return out
}

// checkSet compiles the stored set with a change applied (policies edited
// by editPolicies, entities or schema replaced when not nil).
func (p *PDP) checkSet(ctx context.Context, tx steward.AuthzTx, editPolicies func([]*steward.AuthzPolicy) []*steward.AuthzPolicy,
	entities []steward.AuthzEntity, sch *steward.AuthzSchema) error {
	pols, err := tx.ListAuthzPolicies(ctx)
	if err != nil {
		return err
	}
	if editPolicies != nil {
		pols = editPolicies(pols)
	}
	if entities == nil {
		if entities, err = tx.ListAuthzEntities(ctx); err != nil {
			return err
		}
	}
	if sch == nil {
		if sch, err = tx.GetAuthzSchema(ctx); err != nil {
			return err
		}
	}
	_, err = Compile(pols, entities, sch)
	return err
}

// DeletePolicy removes a policy document (its history stays).
func (p *PDP) DeletePolicy(ctx context.Context, name, reason string) error {
	pr, err := requireAdmin(ctx)
	if err != nil {
		return err
	}
	return p.change(ctx, func(tx steward.AuthzTx) error {
		cur, err := tx.GetAuthzPolicy(ctx, name)
		if err != nil {
			return err
		}
		v, err := tx.NextPolicyVersion(ctx, name)
		if err != nil {
			return err
		}
		del := &steward.AuthzPolicy{Name: name, Text: cur.Text, Version: v, UpdatedAt: p.cfg.Clock.Now(), UpdatedBy: pr.Actor,
			Reason: trimString(reason, steward.MaxTextLen), Deleted: true}
		if err := tx.PutAuthzPolicy(ctx, del); err != nil {
			return err
		}
		before := policyChange{Name: name, Version: cur.Version, Text: cur.Text}
		after := policyChange{Name: name, Version: v, Diff: Diff(cur.Text, "")}
		return tx.AppendEvent(ctx, p.newEvent(pr, steward.ActionPolicyDelete, steward.SubjectPolicy, name, reason, before, after))
	})
}

// GetPolicy returns the current version of a policy.
func (p *PDP) GetPolicy(ctx context.Context, name string) (*steward.AuthzPolicy, error) {
	if _, err := requireReader(ctx); err != nil {
		return nil, err
	}
	return p.cfg.Store.GetAuthzPolicy(ctx, name)
}

// PolicyList is the answer of ListPolicies.
type PolicyList struct {
	Revision int64                  `json:"revision"`
	Items    []*steward.AuthzPolicy `json:"items"`
	Versions []*steward.AuthzPolicy `json:"versions,omitempty"`
	Schema   *steward.AuthzSchema   `json:"schema,omitempty"`
}

// ListPolicies returns the current policies and, when versions is true,
// the history (newest first).
func (p *PDP) ListPolicies(ctx context.Context, versions bool) (*PolicyList, error) {
	if _, err := requireReader(ctx); err != nil {
		return nil, err
	}
	out := &PolicyList{}
	var err error
	if out.Revision, err = p.cfg.Store.AuthzRevision(ctx); err != nil {
		return nil, err
	}
	if out.Items, err = p.cfg.Store.ListAuthzPolicies(ctx); err != nil {
		return nil, err
	}
	if versions {
		if out.Versions, err = p.cfg.Store.ListAuthzPolicyVersions(ctx, "", steward.MaxLimit); err != nil {
			return nil, err
		}
	}
	if out.Schema, err = p.cfg.Store.GetAuthzSchema(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// PutSchema sets the Cedar schema (format "cedar" or "json"); the stored
// policies and entities must validate against it. Empty text removes it.
func (p *PDP) PutSchema(ctx context.Context, text, format, reason string) (*steward.AuthzSchema, error) {
	pr, err := requireAdmin(ctx)
	if err != nil {
		return nil, err
	}
	if format != "json" {
		format = "cedar"
	}
	s := &steward.AuthzSchema{Text: text, Format: format, UpdatedAt: p.cfg.Clock.Now(), UpdatedBy: pr.Actor}
	if _, err := ParseSchema(s); err != nil {
		return nil, err
	}
	err = p.change(ctx, func(tx steward.AuthzTx) error {
		cur, err := tx.GetAuthzSchema(ctx)
		if err != nil {
			return err
		}
		if err := p.checkSet(ctx, tx, nil, nil, s); err != nil {
			return err
		}
		s.Version = 1
		var before any
		if cur != nil {
			s.Version = cur.Version + 1
			before = cur
		}
		if err := tx.PutAuthzSchema(ctx, s); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, p.newEvent(pr, steward.ActionSchemaPut, steward.SubjectPolicySchema, "schema", reason, before, s))
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// EntityChange summarises an entity write.
type EntityChange struct {
	Revision int64    `json:"revision"`
	Entities int      `json:"entities"`
	Added    []string `json:"added"`
	Changed  []string `json:"changed"`
	Removed  []string `json:"removed"`
}

// PutEntities replaces the whole external entity set (replace) or upserts
// the given entities, from a Cedar JSON entity array.
func (p *PDP) PutEntities(ctx context.Context, body []byte, replace bool, reason string) (*EntityChange, error) {
	pr, err := requireAdmin(ctx)
	if err != nil {
		return nil, err
	}
	given, _, err := ParseEntities(body)
	if err != nil {
		return nil, err
	}
	out := &EntityChange{Added: []string{}, Changed: []string{}, Removed: []string{}}
	err = p.change(ctx, func(tx steward.AuthzTx) error {
		cur, err := tx.ListAuthzEntities(ctx)
		if err != nil {
			return err
		}
		old := map[string]steward.AuthzEntity{}
		for _, e := range cur {
			old[uidString(e.Type, e.ID)] = e
		}
		next := map[string]steward.AuthzEntity{}
		if !replace {
			for k, e := range old {
				next[k] = e
			}
		}
		for _, e := range given {
			k := uidString(e.Type, e.ID)
			next[k] = e
			if o, ok := old[k]; !ok {
				out.Added = append(out.Added, k)
			} else if !bytes.Equal(o.Doc, e.Doc) {
				out.Changed = append(out.Changed, k)
			}
		}
		if replace {
			for k := range old {
				if _, ok := next[k]; !ok {
					out.Removed = append(out.Removed, k)
				}
			}
		}
		all := make([]steward.AuthzEntity, 0, len(next))
		for _, k := range sortedKeys(next) {
			all = append(all, next[k])
		}
		out.Entities = len(all)
		if err := p.checkSet(ctx, tx, nil, all, nil); err != nil {
			return err
		}
		if replace {
			err = tx.ReplaceAuthzEntities(ctx, given)
		} else {
			err = tx.UpsertAuthzEntities(ctx, given)
		}
		if err != nil {
			return err
		}
		action := steward.ActionEntitiesPatch
		if replace {
			action = steward.ActionEntitiesPut
		}
		summary := map[string]any{"entities": out.Entities, "added": capList(out.Added), "changed": capList(out.Changed), "removed": capList(out.Removed)}
		return tx.AppendEvent(ctx, p.newEvent(pr, action, steward.SubjectAuthzEntities, "entities", reason, map[string]int{"entities": len(cur)}, summary))
	})
	if err != nil {
		return nil, err
	}
	if eng := p.engine.Load(); eng != nil {
		out.Revision = eng.Revision
	}
	return out, nil
}

func capList(s []string) []string {
	if len(s) > 1000 {
		return append(s[:1000:1000], fmt.Sprintf("… and %d more", len(s)-1000))
	}
	return s
}

// Entities returns the stored external entities as a Cedar JSON array.
func (p *PDP) Entities(ctx context.Context) (json.RawMessage, error) {
	if _, err := requireReader(ctx); err != nil {
		return nil, err
	}
	es, err := p.cfg.Store.ListAuthzEntities(ctx)
	if err != nil {
		return nil, err
	}
	docs := make([]string, len(es))
	for i, e := range es {
		docs[i] = string(e.Doc)
	}
	return json.RawMessage("[" + strings.Join(docs, ",") + "]"), nil
}
