package rules_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/steward-nhi/steward/scan/rules"
)

func TestDefaultRulesAreWellFormed(t *testing.T) {
	cfg, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	for _, r := range cfg.Rules {
		if len(r.Keywords) == 0 {
			t.Errorf("rule %s has no keywords: it would run on every byte", r.ID)
		}
		if r.Description == "" {
			t.Errorf("rule %s has no description", r.ID)
		}
	}
}

func TestLoadMergesAUserFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rules.yaml")
	body := "disable: [jwt]\nrules:\n  - id: jwt-strict\n    description: x\n    keywords: [eyj]\n    regex: 'eyJ[a-z]+'\n"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	def, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := rules.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range cfg.Rules {
		ids[r.ID] = true
	}
	if ids["jwt"] || !ids["jwt-strict"] || len(cfg.Rules) != len(def.Rules) {
		t.Errorf("merge result: %d rules, jwt=%v jwt-strict=%v", len(cfg.Rules), ids["jwt"], ids["jwt-strict"])
	}
}

func TestExtendDefaultFalseDropsEmbeddedRules(t *testing.T) {
	user, err := rules.Parse([]byte("extend_default: false\nrules:\n  - id: only\n    description: x\n    keywords: [k]\n    regex: 'k[0-9]+'\n"))
	if err != nil {
		t.Fatal(err)
	}
	def, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	if got := rules.Merge(def, user); len(got.Rules) != 1 || got.Rules[0].ID != "only" {
		t.Errorf("got %d rules", len(got.Rules))
	}
}

func TestCheckRejectsBadRules(t *testing.T) {
	tests := []struct {
		name string
		rule rules.Rule
	}{
		{"a bad regex", rules.Rule{ID: "a", Regex: "("}},
		{"an upper-case id", rules.Rule{ID: "Bad", Regex: "x"}},
		{"a missing secret group", rules.Rule{ID: "b", Regex: "x", SecretGroup: 2}},
		{"an upper-case keyword", rules.Rule{ID: "c", Regex: "x", Keywords: []string{"ABC"}}},
		{"an unknown gate", rules.Rule{ID: "d", Regex: "x", Gate: "nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := (rules.Config{Rules: []rules.Rule{tt.rule}}).Check(); err == nil {
				t.Error("no error")
			}
		})
	}
}
