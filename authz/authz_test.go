package authz_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/internal/ids"
	"github.com/steward-nhi/steward/internal/testrec"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

var admin = steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:admin", Role: steward.RoleAdmin})

// recorder keeps usage events; tests read them when no decision runs.
type recorder = testrec.Usage

func newPDP(t *testing.T, s steward.Store, mod func(c *authz.Config)) (*authz.PDP, *recorder) {
	t.Helper()
	rec := &recorder{}
	c := authz.Config{Inventory: s, Store: s.(steward.AuthzStore), Usage: rec}
	if mod != nil {
		mod(&c)
	}
	p, err := authz.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return p, rec
}

func req(s string) *authz.Request {
	var r authz.Request
	if err := authz.DecodeBytes([]byte(s), &r); err != nil {
		panic(err)
	}
	return &r
}

// TestMapping checks the AuthZEN → Cedar mapping: types verbatim,
// properties merged over stored attributes (request wins), JSON values as
// Cedar values, action.properties as context.action, context as context.
func TestMapping(t *testing.T) {
	p, _ := newPDP(t, sqltest.OpenSQLite(t), nil)
	if _, err := p.PutEntities(admin, []byte(`[{"uid":{"type":"App::User","id":"u1"},"attrs":{"level":1,"dept":"ops"},"parents":[{"type":"Team","id":"t"}]}]`), true, "test"); err != nil {
		t.Fatal(err)
	}
	pols := map[string]string{
		"string":  `permit (principal is App::User, action == Action::"a1", resource is Doc) when { principal.dept == "ops" };`,
		"long":    `permit (principal, action == Action::"a2", resource) when { principal.level >= 3 };`,
		"set":     `permit (principal, action == Action::"a3", resource) when { resource.tags.contains("pii") };`,
		"record":  `permit (principal, action == Action::"a4", resource) when { resource.meta.owner.name == "ann" };`,
		"parents": `permit (principal in Team::"t", action == Action::"a5", resource);`,
		"context": `permit (principal, action == Action::"a6", resource) when { context.mfa && context.action.method == "GET" };`,
		"decimal": `permit (principal, action == Action::"a7", resource) when { resource.score.greaterThan(decimal("0.5")) };`,
		"entity":  `permit (principal, action == Action::"a8", resource) when { resource.owner == principal };`,
		"forbid":  `forbid (principal, action == Action::"a1", resource) when { context has deny && context.deny };`,
	}
	for name, text := range pols {
		if _, err := p.PutPolicy(admin, name, text, "test"); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	tests := []struct {
		name, body string
		want       bool
	}{
		{"a stored attribute", `{"subject":{"type":"App::User","id":"u1"},"action":{"name":"a1"},"resource":{"type":"Doc","id":"d"}}`, true},
		{"a property overrides the stored attribute", `{"subject":{"type":"App::User","id":"u1","properties":{"dept":"dev"}},"action":{"name":"a1"},"resource":{"type":"Doc","id":"d"}}`, false},
		{"the subject type is used verbatim", `{"subject":{"type":"app::user","id":"u1"},"action":{"name":"a1"},"resource":{"type":"Doc","id":"d"}}`, false},
		{"a forbid wins", `{"subject":{"type":"App::User","id":"u1"},"action":{"name":"a1"},"resource":{"type":"Doc","id":"d"},"context":{"deny":true}}`, false},
		{"integers are longs", `{"subject":{"type":"App::User","id":"u1","properties":{"level":3}},"action":{"name":"a2"},"resource":{"type":"Doc","id":"d"}}`, true},
		{"a stored long below the bar", `{"subject":{"type":"App::User","id":"u1"},"action":{"name":"a2"},"resource":{"type":"Doc","id":"d"}}`, false},
		{"arrays are sets", `{"subject":{"type":"U","id":"x"},"action":{"name":"a3"},"resource":{"type":"Doc","id":"d","properties":{"tags":["pii","eu"]}}}`, true},
		{"objects are records", `{"subject":{"type":"U","id":"x"},"action":{"name":"a4"},"resource":{"type":"Doc","id":"d","properties":{"meta":{"owner":{"name":"ann"}}}}}`, true},
		{"stored parents stay with properties", `{"subject":{"type":"App::User","id":"u1","properties":{"x":1}},"action":{"name":"a5"},"resource":{"type":"Doc","id":"d"}}`, true},
		{"context and action properties", `{"subject":{"type":"U","id":"x"},"action":{"name":"a6","properties":{"method":"GET"}},"resource":{"type":"Doc","id":"d"},"context":{"mfa":true}}`, true},
		{"action properties missing", `{"subject":{"type":"U","id":"x"},"action":{"name":"a6"},"resource":{"type":"Doc","id":"d"},"context":{"mfa":true}}`, false},
		{"fractions are decimals", `{"subject":{"type":"U","id":"x"},"action":{"name":"a7"},"resource":{"type":"Doc","id":"d","properties":{"score":0.75}}}`, true},
		{"__entity is an entity reference", `{"subject":{"type":"U","id":"x"},"action":{"name":"a8"},"resource":{"type":"Doc","id":"d","properties":{"owner":{"__entity":{"type":"U","id":"x"}}}}}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := p.Evaluate(admin, req(tc.body), authz.Call{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Decision != tc.want {
				t.Fatalf("decision %v, want %v (%v)", d.Decision, tc.want, d.Context)
			}
		})
	}
}

// withAct adds an RFC 8693 act chain as context.act.
func withAct(r *authz.Request, actor, before string) *authz.Request {
	act := map[string]any{"sub": actor, "iss": "https://steward.test"}
	if before != "" {
		act["act"] = map[string]any{"sub": before}
	}
	if r.Context == nil {
		r.Context = map[string]any{}
	}
	r.Context["act"] = act
	return r
}

// TestRuntimeGuard checks that suspended, revoked and expired identities
// and revoked or expired credentials are denied whatever the policies say.
func TestRuntimeGuard(t *testing.T) {
	s := sqltest.OpenSQLite(t)
	p, rec := newPDP(t, s, nil)
	if _, err := p.PutPolicy(admin, "all", `permit (principal, action, resource);`, "test"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	past := now.Add(-time.Hour)
	mk := func(name string, st steward.Status, exp *time.Time) *steward.Identity {
		i := &steward.Identity{ID: ids.New(ids.Identity, now), Name: name, Kind: steward.KindWorkload, Provider: "steward", Sensitivity: steward.SensitivityLow,
			Source: steward.SourceRegistered, Status: st, CreatedAt: now, UpdatedAt: now, ExpiresAt: exp, Version: 1, Scopes: []string{}, Labels: map[string]string{}}
		return i
	}
	active, suspended, expired := mk("a", steward.StatusActive, nil), mk("s", steward.StatusSuspended, nil), mk("e", steward.StatusActive, &past)
	cred := func(id, identity string, st steward.CredentialStatus, exp *time.Time) *steward.Credential {
		return &steward.Credential{ID: id, IdentityID: identity, Type: "api_key", Status: st, CreatedAt: now, ExpiresAt: exp, Scopes: []string{}, Metadata: map[string]string{}}
	}
	if err := s.Update(ctx, func(tx steward.Tx) error {
		for _, i := range []*steward.Identity{active, suspended, expired} {
			if err := tx.CreateIdentity(ctx, i); err != nil {
				return err
			}
		}
		for _, c := range []*steward.Credential{cred("crd_ok", active.ID, steward.CredentialActive, nil), cred("crd_rev", active.ID, steward.CredentialRevoked, nil),
			cred("crd_old", active.ID, steward.CredentialActive, &past), cred("crd_other", suspended.ID, steward.CredentialActive, nil)} {
			if err := tx.CreateCredential(ctx, c); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	body := func(id, cred string) *authz.Request {
		c := ""
		if cred != "" {
			c = `,"context":{"credential_id":"` + cred + `"}`
		}
		return req(`{"subject":{"type":"nhi","id":"` + id + `"},"action":{"name":"x"},"resource":{"type":"R","id":"r"}` + c + `}`)
	}
	tests := []struct {
		name   string
		r      *authz.Request
		reason string
	}{
		{"an active identity", body(active.ID, ""), ""},
		{"an active identity with its credential", body(active.ID, "crd_ok"), ""},
		{"a suspended identity", body(suspended.ID, ""), "is suspended"},
		{"an identity past its expiry", body(expired.ID, ""), "expired at"},
		{"an unknown identity", body("nhi_nope", ""), "not in Steward's inventory"},
		{"a revoked credential", body(active.ID, "crd_rev"), "is revoked"},
		{"an expired credential", body(active.ID, "crd_old"), "is expired"},
		{"another identity's credential", body(active.ID, "crd_other"), "does not belong"},
		{"an unknown credential", body(active.ID, "crd_none"), "is not known"},
		{"an active agent in the delegation chain", withAct(body(active.ID, ""), active.ID, ""), ""},
		{"a suspended agent acting", withAct(body(active.ID, ""), suspended.ID, ""), "actor " + suspended.ID},
		{"a suspended agent earlier in the chain", withAct(body(active.ID, ""), active.ID, suspended.ID), "actor " + suspended.ID},
		{"an agent unknown to Steward", withAct(body(active.ID, ""), "nhi_gone", ""), "not in Steward's inventory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := p.Evaluate(admin, tc.r, authz.Call{Source: "10.1.1.1"})
			if err != nil {
				t.Fatal(err)
			}
			reason, _ := d.Context["reason"].(string)
			if (tc.reason == "") != d.Decision || !strings.Contains(reason, tc.reason) {
				t.Fatalf("decision %v reason %q, want reason %q", d.Decision, reason, tc.reason)
			}
			evs := rec.All()
			ev := evs[len(evs)-1]
			if ev.Kind != steward.UsageDecision || ev.Source != "10.1.1.1" || (tc.reason != "" && ev.Reason != reason) || ev.ID != d.Context["decision_id"] {
				t.Fatalf("usage event %+v", ev)
			}
			if act, _ := tc.r.Context["act"].(map[string]any); act != nil && ev.Attributes["act_sub"] != act["sub"] {
				t.Fatalf("usage event names actor %q, want %v", ev.Attributes["act_sub"], act["sub"])
			}
		})
	}
}

// TestChangesReachOtherNodes checks that a second PDP on the same store
// picks up policy changes on Reload and identity changes on the event poll.
func TestChangesReachOtherNodes(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s := eng.Open(t)
			a, _ := newPDP(t, s, nil)
			b, _ := newPDP(t, s, nil)
			r := req(`{"subject":{"type":"U","id":"x"},"action":{"name":"read"},"resource":{"type":"Doc","id":"d"}}`)
			if _, err := a.PutPolicy(admin, "read", `permit (principal, action == Action::"read", resource);`, "test"); err != nil {
				t.Fatal(err)
			}
			if d, _ := b.Evaluate(admin, r, authz.Call{}); d.Decision {
				t.Fatal("node b decided before it reloaded")
			}
			if err := b.Reload(context.Background()); err != nil {
				t.Fatal(err)
			}
			if d, _ := b.Evaluate(admin, r, authz.Call{}); !d.Decision {
				t.Fatal("node b did not pick up the policy")
			}
			if err := a.DeletePolicy(admin, "read", "test"); err != nil {
				t.Fatal(err)
			}
			_ = b.Reload(context.Background())
			if d, _ := b.Evaluate(admin, r, authz.Call{}); d.Decision {
				t.Fatal("node b kept a deleted policy")
			}
		})
	}
}

func TestPolicyRules(t *testing.T) {
	p, _ := newPDP(t, sqltest.OpenSQLite(t), nil)
	operator := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "token:op", Role: steward.RoleOperator})
	nhi := steward.WithPrincipal(context.Background(), &steward.Principal{Actor: "nhi:x", IdentityID: "nhi_x", Scopes: []string{"read"}})
	r := req(`{"subject":{"type":"U","id":"x"},"action":{"name":"read"},"resource":{"type":"Doc","id":"d"}}`)
	tests := []struct {
		name string
		err  error
		code string
	}{
		{"an operator may not write policies", func() error {
			_, err := p.PutPolicy(operator, "x", `permit (principal, action, resource);`, "")
			return err
		}(), steward.EFORBIDDEN},
		{"a bad name", func() error {
			_, err := p.PutPolicy(admin, "../x", `permit (principal, action, resource);`, "")
			return err
		}(), steward.EINVALID},
		{"the name schema is reserved", func() error {
			_, err := p.PutPolicy(admin, "schema", `permit (principal, action, resource);`, "")
			return err
		}(), steward.EINVALID},
		{"a syntax error", func() error { _, err := p.PutPolicy(admin, "x", `permit (principal, action, resource`, ""); return err }(), steward.EINVALID},
		{"an NHI without the scope may not evaluate", func() error { _, err := p.Evaluate(nhi, r, authz.Call{}); return err }(), steward.EFORBIDDEN},
		{"an operator may evaluate", func() error { _, err := p.Evaluate(operator, r, authz.Call{}); return err }(), ""},
		{"no caller", func() error { _, err := p.Evaluate(context.Background(), r, authz.Call{}); return err }(), steward.EUNAUTHORIZED},
		{"a bad semantic", func() error {
			_, err := p.Evaluations(admin, &authz.EvaluationsRequest{Request: *r, Evaluations: []authz.Request{{}}, Options: struct {
				Semantic string `json:"evaluations_semantic"`
			}{"any"}}, authz.Call{})
			return err
		}(), steward.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := steward.ErrorCode(tc.err); got != tc.code {
				t.Fatalf("code %q (%v), want %q", got, tc.err, tc.code)
			}
		})
	}
}

func TestLearningModeAnswersPermitAndLogsTheDeny(t *testing.T) {
	p, rec := newPDP(t, sqltest.OpenSQLite(t), func(c *authz.Config) { c.Learning = true })
	d, err := p.Evaluate(admin, req(`{"subject":{"type":"U","id":"x"},"action":{"name":"read"},"resource":{"type":"Doc","id":"d"}}`), authz.Call{})
	if err != nil || !d.Decision || d.Context["learning"] != true || rec.All()[0].Outcome != "learn_deny" {
		t.Fatalf("learning: %+v %v %+v", d, err, rec.All())
	}
}

func TestDiff(t *testing.T) {
	tests := []struct{ a, b, want string }{
		{"x\n", "x\n", ""},
		{"", "a\nb\n", "+ a\n+ b\n"},
		{"a\nb\nc\n", "a\nc\nd\n", "  a\n- b\n  c\n+ d\n"},
	}
	for _, tc := range tests {
		if got := authz.Diff(tc.a, tc.b); got != tc.want {
			t.Errorf("Diff(%q, %q) = %q, want %q", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestConformanceFixtureOffline runs the fixture's cases through the
// policy test runner.
func TestConformanceFixtureOffline(t *testing.T) {
	pol, _ := os.ReadFile("testdata/conformance.cedar")
	ents, _ := os.ReadFile("testdata/conformance.entities.json")
	cases, _ := os.ReadFile("testdata/conformance.tests.json")
	tf, err := authz.ParseTestFile(cases)
	if err != nil {
		t.Fatal(err)
	}
	tf.Entities = ents
	es, err := tf.TestEntities()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := authz.Compile([]*steward.AuthzPolicy{{Name: "conformance", Text: string(pol)}}, es, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range authz.RunTests(eng, tf.Cases) {
		if !r.Pass {
			t.Errorf("%s: got %v want %v %s", r.Name, r.Got, r.Want, r.Problem)
		}
	}
}
