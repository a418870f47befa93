package federation_test

import (
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/federation"
)

func TestGlob(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"repo:acme/app:ref:refs/heads/main", "repo:acme/app:ref:refs/heads/main", true},
		{"repo:acme/app:ref:refs/heads/main", "repo:acme/app:ref:refs/heads/mainx", false},
		{"repo:acme/app:*", "repo:acme/app:ref:refs/heads/main", true},
		{"repo:acme/app:*", "repo:acme/application:ref:x", false},
		{"spiffe://example.org/ns/*/sa/web", "spiffe://example.org/ns/prod/sa/web", true},
		{"spiffe://example.org/ns/*/sa/web", "spiffe://example.org/ns/prod/sa/worker", false},
		{"v?", "v1", true},
		{"v?", "v10", false},
		{"*a*b*", "xxaxxbxx", true},
		{"*a*b*", "xxbxxaxx", false},
		{"", "", true},
		{"", "x", false},
	}
	for _, c := range cases {
		if got := federation.Glob(c.pattern, c.s); got != c.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestClaimString(t *testing.T) {
	claims := map[string]any{"repository_id": "42", "kubernetes.io": map[string]any{"namespace": "prod", "serviceaccount": map[string]any{"name": "web"}},
		"ref_protected": true, "list": []any{"a"}}
	cases := []struct {
		path, want string
		ok         bool
	}{
		{"repository_id", "42", true},
		{"kubernetes.io.namespace", "prod", true},
		{"kubernetes.io.serviceaccount.name", "web", true},
		{"ref_protected", "true", true},
		{"list", "", false},
		{"kubernetes.io", "", false},
		{"missing", "", false},
	}
	for _, c := range cases {
		got, ok := federation.ClaimString(claims, c.path)
		if got != c.want || ok != c.ok {
			t.Errorf("ClaimString(%q) = %q %v, want %q %v", c.path, got, ok, c.want, c.ok)
		}
	}
}

func TestResolveRefusesAmbiguousMatches(t *testing.T) {
	b := func(id, identity, sub string) *steward.FederationBinding {
		return &steward.FederationBinding{ID: id, IdentityID: identity, Subject: sub}
	}
	cases := []struct {
		name      string
		bindings  []*steward.FederationBinding
		wantID    string
		ambiguous bool
	}{
		{"one match", []*steward.FederationBinding{b("b1", "i1", "repo:a:*"), b("b2", "i2", "repo:b:*")}, "b1", false},
		{"two bindings of one identity", []*steward.FederationBinding{b("b1", "i1", "repo:a:*"), b("b2", "i1", "repo:a:ref:*")}, "b1", false},
		{"bindings of two identities", []*steward.FederationBinding{b("b1", "i1", "repo:a:*"), b("b2", "i2", "repo:*")}, "", true},
		{"no match", []*steward.FederationBinding{b("b1", "i1", "repo:b:*")}, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, why := federation.Resolve(c.bindings, "repo:a:ref:main", nil)
			if (why != "") != c.ambiguous {
				t.Fatalf("ambiguity %q, want %v", why, c.ambiguous)
			}
			if (got == nil && c.wantID != "") || (got != nil && got.ID != c.wantID) {
				t.Fatalf("got %+v, want %s", got, c.wantID)
			}
		})
	}
}

func TestTooBroadBindings(t *testing.T) {
	cases := []struct {
		kind, sub string
		claims    map[string]string
		broad     bool
	}{
		{steward.IssuerGitHubActions, "*", nil, true},
		{steward.IssuerGitHubActions, "repo:acme/app:*", nil, true},
		{steward.IssuerGitHubActions, "repo:acme/app:*", map[string]string{"ref": "refs/heads/main"}, false},
		{steward.IssuerGitHubActions, "repo:acme/app:environment:prod", nil, false},
		{steward.IssuerGitLabCI, "project_path:acme/app:ref_type:branch:ref:main", nil, false},
		{steward.IssuerKubernetes, "system:serviceaccount:prod:*", nil, false},
		{steward.IssuerKubernetes, "**", nil, true},
	}
	for _, c := range cases {
		got := federation.TooBroad(&steward.FederationBinding{Subject: c.sub, Claims: c.claims}, c.kind)
		if (got != "") != c.broad {
			t.Errorf("TooBroad(%s %q %v) = %q, want broad %v", c.kind, c.sub, c.claims, got, c.broad)
		}
	}
}
