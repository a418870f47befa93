// Package rbac generates the RBAC authorization workload that Steward and
// OPA both run (bench/README.md): 50 roles, 150 grants over 10 resource
// types and 6 actions, 500 subjects with 1–3 roles, and 1,000 AuthZEN
// request bodies (half from a grant the subject holds, half uniform
// random), from math/rand with seed 42.
package rbac

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand"
	"slices"
	"sort"
	"strings"
)

// Resource types and actions of the workload.
var (
	Types   = []string{"Secret", "Token", "ApiKey", "Queue", "Bucket", "Database", "Function", "Topic", "Cluster", "Repo"}
	Actions = []string{"read", "write", "delete", "list", "issue", "rotate"}
)

// Workload is everything both engines need.
type Workload struct {
	// Grants[role][type] = sorted actions.
	Grants map[string]map[string][]string
	// Subjects[id] = roles.
	Subjects map[string][]string
	// Requests are AuthZEN evaluation bodies.
	Requests []Request
}

// Request is one AuthZEN evaluation body.
type Request struct {
	Subject  Ref            `json:"subject"`
	Action   Act            `json:"action"`
	Resource Ref            `json:"resource"`
	Context  map[string]any `json:"context"`
}

// Ref is an AuthZEN entity reference.
type Ref struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Act is an AuthZEN action.
type Act struct {
	Name string `json:"name"`
}

// Generate builds the workload from seed.
func Generate(seed int64) *Workload {
	rng := rand.New(rand.NewSource(seed))
	w := &Workload{Grants: map[string]map[string][]string{}, Subjects: map[string][]string{}}
	roles := make([]string, 50)
	for r := range roles {
		roles[r] = fmt.Sprintf("role-%02d", r)
		g := map[string][]string{}
		for _, ti := range rng.Perm(len(Types))[:3] {
			n := 1 + rng.Intn(3)
			var acts []string
			for _, ai := range rng.Perm(len(Actions))[:n] {
				acts = append(acts, Actions[ai])
			}
			sort.Strings(acts)
			g[Types[ti]] = acts
		}
		w.Grants[roles[r]] = g
	}
	subjects := make([]string, 500)
	for s := range subjects {
		subjects[s] = fmt.Sprintf("svc-%03d", s)
		n := 1 + rng.Intn(3)
		var rs []string
		for _, ri := range rng.Perm(len(roles))[:n] {
			rs = append(rs, roles[ri])
		}
		sort.Strings(rs)
		w.Subjects[subjects[s]] = rs
	}
	for i := range 1000 {
		sub := subjects[rng.Intn(len(subjects))]
		var typ, act string
		if i%2 == 0 {
			rs := w.Subjects[sub]
			role := rs[rng.Intn(len(rs))]
			types := make([]string, 0, 3)
			for t := range w.Grants[role] {
				types = append(types, t)
			}
			sort.Strings(types)
			typ = types[rng.Intn(len(types))]
			acts := w.Grants[role][typ]
			act = acts[rng.Intn(len(acts))]
		} else {
			typ, act = Types[rng.Intn(len(Types))], Actions[rng.Intn(len(Actions))]
		}
		w.Requests = append(w.Requests, Request{Subject: Ref{"Service", sub}, Action: Act{act}, Resource: Ref{typ, fmt.Sprintf("%s-%d", strings.ToLower(typ), rng.Intn(100))}, Context: map[string]any{}})
	}
	return w
}

// Allowed is the reference decision.
func (w *Workload) Allowed(r Request) bool {
	for _, role := range w.Subjects[r.Subject.ID] {
		if slices.Contains(w.Grants[role][r.Resource.Type], r.Action.Name) {
			return true
		}
	}
	return false
}

// Rego is the OPA policy (v1 syntax).
const Rego = `package authz

# RBAC: allow if any role of the subject grants action.name on resource.type.
default allow := false

allow if {
	some role in data.subjects[input.subject.id].roles
	input.action.name in data.roles[role].grants[input.resource.type]
}
`

// OPAData is OPA's data.json.
func (w *Workload) OPAData() ([]byte, error) {
	subjects := map[string]any{}
	for s, rs := range w.Subjects {
		subjects[s] = map[string]any{"roles": rs}
	}
	roles := map[string]any{}
	for r, g := range w.Grants {
		roles[r] = map[string]any{"grants": g}
	}
	return json.MarshalIndent(map[string]any{"subjects": subjects, "roles": roles}, "", " ")
}

// CedarPolicies is one permit per role and resource type.
func (w *Workload) CedarPolicies() string {
	var b strings.Builder
	for _, role := range sortedKeys(w.Grants) {
		for _, typ := range sortedKeys(w.Grants[role]) {
			var acts []string
			for _, a := range w.Grants[role][typ] {
				acts = append(acts, fmt.Sprintf("Action::%q", a))
			}
			fmt.Fprintf(&b, "permit (\n  principal in Role::%q,\n  action in [%s],\n  resource is %s\n);\n", role, strings.Join(acts, ", "), typ)
		}
	}
	return b.String()
}

// CedarEntities are the services (with Role parents), roles and actions.
func (w *Workload) CedarEntities() ([]byte, error) {
	type uid struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	type entity struct {
		UID     uid            `json:"uid"`
		Attrs   map[string]any `json:"attrs"`
		Parents []uid          `json:"parents"`
	}
	var out []entity
	for _, s := range sortedKeys(w.Subjects) {
		e := entity{UID: uid{"Service", s}, Attrs: map[string]any{}, Parents: []uid{}}
		for _, r := range w.Subjects[s] {
			e.Parents = append(e.Parents, uid{"Role", r})
		}
		out = append(out, e)
	}
	for _, r := range sortedKeys(w.Grants) {
		out = append(out, entity{UID: uid{"Role", r}, Attrs: map[string]any{}, Parents: []uid{}})
	}
	for _, a := range Actions {
		out = append(out, entity{UID: uid{"Action", a}, Attrs: map[string]any{}, Parents: []uid{}})
	}
	return json.Marshal(out)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := slices.AppendSeq(make([]string, 0, len(m)), maps.Keys(m))
	slices.Sort(ks)
	return ks
}
