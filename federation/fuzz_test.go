package federation_test

import (
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/federation"
)

// FuzzParseUnverified feeds the token parser arbitrary input: it must
// never panic, and whatever it accepts has claims it can read.
func FuzzParseUnverified(f *testing.F) {
	f.Add("eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL3giLCJzdWIiOiJhIiwiZXhwIjoxfQ.sig")
	f.Add(b64(`{"alg":"none"}`) + "." + b64(`{"aud":["a",1]}`) + ".")
	f.Add(b64(`{"alg":"RS256","kid":"k"}`) + "." + b64(`{"exp":1e300,"nbf":-1,"iat":"x"}`) + ".x")
	f.Add("a.b")
	f.Add("..")
	f.Fuzz(func(t *testing.T, raw string) {
		h, c, err := federation.ParseUnverified(raw)
		if err != nil {
			return
		}
		if h == nil || c == nil || c.All == nil {
			t.Fatalf("accepted %q without header or claims", raw)
		}
		if strings.Count(raw, ".") != 2 {
			t.Fatalf("accepted %q, which is not three parts", raw)
		}
	})
}

// FuzzBindingMatch checks the glob matcher against its definition: a
// pattern without wildcards matches only itself, "*" matches everything,
// and a pattern always matches the string it was cut from with a "*"
// in place of any middle part.
func FuzzBindingMatch(f *testing.F) {
	f.Add("repo:acme/app:ref:refs/heads/main", 5, 12)
	f.Add("system:serviceaccount:prod:app", 0, 0)
	f.Add("spiffe://example.org/ns/prod/sa/x", 3, 30)
	f.Add("a?b*c", 1, 2)
	f.Fuzz(func(t *testing.T, s string, i, j int) {
		if len(s) > 512 {
			return
		}
		if !strings.ContainsAny(s, "*?") {
			if !federation.Glob(s, s) {
				t.Fatalf("%q does not match itself", s)
			}
			if federation.Glob(s, s+"x") {
				t.Fatalf("%q matches a longer string", s)
			}
		}
		if !federation.Glob("*", s) {
			t.Fatalf("* does not match %q", s)
		}
		if i < 0 || j < 0 {
			return
		}
		i, j = i%(len(s)+1), j%(len(s)+1)
		if i > j {
			i, j = j, i
		}
		if strings.ContainsAny(s, "*?") {
			return
		}
		pat := s[:i] + "*" + s[j:]
		if !federation.Glob(pat, s) {
			t.Fatalf("%q does not match %q", pat, s)
		}
		b := &steward.FederationBinding{Subject: pat, Claims: map[string]string{"k": s}}
		if !federation.Matches(b, s, map[string]any{"k": s}) {
			t.Fatalf("binding %+v does not match", b)
		}
		if federation.Matches(b, s, map[string]any{}) {
			t.Fatal("a binding matched without its claim")
		}
	})
}
