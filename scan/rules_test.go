package scan

import (
	"strings"
	"testing"

	"github.com/steward-nhi/steward/scan/rules"
)

func defaultDetector(t testing.TB) *Detector {
	t.Helper()
	cfg, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDetector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func ruleIDs(fs []Finding) []string {
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.Rule)
	}
	return ids
}

func hasRule(fs []Finding, id string) bool {
	for _, f := range fs {
		if f.Rule == id {
			return true
		}
	}
	return false
}

// TestRuleExamples runs every rule's own true- and false-positive examples.
func TestRuleExamples(t *testing.T) {
	cfg, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	d := defaultDetector(t)
	for _, r := range cfg.Rules {
		t.Run(r.ID, func(t *testing.T) {
			if len(r.TP) == 0 {
				t.Fatalf("rule %s has no true-positive example", r.ID)
			}
			for _, tp := range r.TP {
				fs, _ := d.Detect("examples/config.txt", []byte(tp))
				if !hasRule(fs, r.ID) {
					t.Errorf("true positive not detected by %s (got %v):\n%s", r.ID, ruleIDs(fs), tp)
				}
			}
			for _, fp := range r.FP {
				fs, _ := d.Detect("examples/config.txt", []byte(fp))
				if hasRule(fs, r.ID) {
					t.Errorf("false positive detected by %s:\n%s", r.ID, fp)
				}
			}
		})
	}
}

func TestAtLeast120ProviderRules(t *testing.T) {
	cfg, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range cfg.Rules {
		if !strings.HasPrefix(r.ID, "generic-") {
			n++
		}
	}
	if n < 120 {
		t.Fatalf("have %d provider-specific rules, want at least 120", n)
	}
}
