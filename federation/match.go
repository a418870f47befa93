package federation

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/steward-nhi/steward"
)

// Glob reports whether s matches pattern, where * matches any run of
// characters (slashes and colons included) and ? any one character; every
// other character matches itself. A pattern without * or ? is an exact
// match.
func Glob(pattern, s string) bool {
	// Iterative matching with one backtrack point: linear in practice,
	// never exponential.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]) && pattern[p] != '*':
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// ClaimString returns the value of a named claim as a string: a top-level
// claim, or a dotted path into nested objects ("kubernetes.io.namespace"
// finds {"kubernetes.io":{"namespace":…}}). Strings are themselves,
// numbers and booleans their JSON text; objects, arrays and missing claims
// are not found.
func ClaimString(claims map[string]any, path string) (string, bool) {
	if v, ok := claims[path]; ok {
		return scalar(v)
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '.' {
			continue
		}
		if sub, ok := claims[path[:i]].(map[string]any); ok {
			if s, ok := ClaimString(sub, path[i+1:]); ok {
				return s, true
			}
		}
	}
	return "", false
}

func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// Matches reports whether a verified token (its subject and claims)
// matches a binding: the subject pattern and every claim pattern.
func Matches(b *steward.FederationBinding, subject string, claims map[string]any) bool {
	if !Glob(b.Subject, subject) {
		return false
	}
	for k, pat := range b.Claims {
		v, ok := ClaimString(claims, k)
		if !ok || !Glob(pat, v) {
			return false
		}
	}
	return true
}

// Resolve finds the one identity the token is bound to among an issuer's
// active bindings: the first matching binding, provided no binding of
// another identity matches too. It returns nil and "" when none matches,
// and nil and a reason when the match is ambiguous.
func Resolve(bindings []*steward.FederationBinding, subject string, claims map[string]any) (*steward.FederationBinding, string) {
	var found *steward.FederationBinding
	for _, b := range bindings {
		if !Matches(b, subject, claims) {
			continue
		}
		if found == nil {
			found = b
			continue
		}
		if b.IdentityID != found.IdentityID {
			return nil, "the token matches bindings of two identities (" + found.IdentityID + ", " + b.IdentityID + ")"
		}
	}
	return found, ""
}

// TooBroad reports why a binding is too broad to be safe, or "": a
// wildcard subject, or a CI issuer's binding without a branch or
// environment constraint.
func TooBroad(b *steward.FederationBinding, kind string) string {
	if strings.Trim(b.Subject, "*?") == "" {
		return "the subject pattern matches every subject"
	}
	switch kind {
	case steward.IssuerGitHubActions, steward.IssuerGitLabCI:
		constrained := false
		for _, k := range []string{"ref", "environment"} {
			if p, ok := b.Claims[k]; ok && !strings.ContainsAny(p, "*?") {
				constrained = true
			}
		}
		if !constrained && !strings.Contains(b.Subject, ":ref:") && !strings.Contains(b.Subject, ":environment:") || strings.HasSuffix(b.Subject, ":*") && !constrained {
			return "a CI binding without a fixed branch (ref) or environment lets any branch of the repository in"
		}
	}
	return ""
}
