package scan

import (
	"crypto/sha256"
	"regexp"
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

var exampleKeyRE = regexp.MustCompile(`\{\{steward-key:(\d+)\}\}`)

// expandExample replaces {{steward-key:N}} in a rule example with a Steward
// API key generated for the test: 30 base62 characters derived from N and
// their CRC32 checksum. The rules file then holds no real-looking key.
func expandExample(s string) string {
	return exampleKeyRE.ReplaceAllStringFunc(s, func(m string) string {
		n := exampleKeyRE.FindStringSubmatch(m)[1]
		sum := sha256.Sum256([]byte("steward rule example " + n))
		const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		body := make([]byte, 30)
		for i := range body {
			body[i] = alphabet[int(sum[i])%len(alphabet)]
		}
		return "stw_" + string(body) + Base62CRC32(string(body))
	})
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
				tp = expandExample(tp)
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
