package scan

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward/scan/rules"
)

func TestBase62CRC32MatchesTheKeyFormat(t *testing.T) {
	body := "Xk9pQ2mWv7Lr4tYz8Nb3Hc6Jd1Fg5S"
	sum := Base62CRC32(body)
	if len(sum) != 6 {
		t.Fatalf("checksum %q is not 6 characters", sum)
	}
	tests := []struct {
		name string
		key  string
		want bool
	}{
		{"a well-formed key validates", "stw_" + body + sum, true},
		{"a changed body fails", "stw_" + "Y" + body[1:] + sum, false},
		{"a short key fails", "stw_" + body, false},
		{"a non-base62 key fails", "stw_" + body[:29] + "-" + sum, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidStewardKey(tt.key); got != tt.want {
				t.Errorf("ValidStewardKey(%q) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
	if Base62CRC32("") != "000000" {
		t.Errorf("checksum of empty string = %q, want zero-padded 000000", Base62CRC32(""))
	}
}

func TestDetectorRunsRegexesOnlyNearKeywords(t *testing.T) {
	cfg := rules.Config{Rules: []rules.Rule{{
		ID: "demo", Description: "demo", Keywords: []string{"demo_"}, Regex: `demo_[a-z0-9]{12}`, Severity: "low",
	}}}
	d, err := NewDetector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name  string
		input string
		want  int
	}{
		{"no keyword, no finding", long, 0},
		{"keyword mid-file", long + "\nDEMO_ab12cd34ef56 demo_ab12cd34ef56\n" + long, 1},
		{"two hits on one line", "demo_aaaaaaaaaaa1 demo_bbbbbbbbbbb2", 2},
		{"keyword across a chunk boundary", strings.Repeat("x\n", keywordChunk/2-1) + "\ndemo_ab12cd34ef56\n", 1},
		{"keyword at a chunk start", strings.Repeat("x\n", keywordChunk/2) + "demo_ab12cd34ef56\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := d.Detect("f.txt", []byte(tt.input))
			if len(fs) != tt.want {
				t.Errorf("got %d findings (%v), want %d", len(fs), ruleIDs(fs), tt.want)
			}
		})
	}
}

func TestUserConfigAddsOverridesAndDisables(t *testing.T) {
	def, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	user, err := rules.Parse([]byte(`
disable: [jwt]
rules:
  - id: github-pat
    description: overridden
    keywords: [ghp_]
    regex: 'ghp_[A-Za-z0-9]{36}'
    severity: low
  - id: acme-token
    description: ACME internal token
    keywords: [acme_]
    regex: '\b(acme_[0-9a-f]{16})\b'
    severity: high
    tp: ['acme_0123456789abcdef']
`))
	if err != nil {
		t.Fatal(err)
	}
	merged := rules.Merge(def, user)
	d, err := NewDetector(merged)
	if err != nil {
		t.Fatal(err)
	}
	if d.NumRules() != len(def.Rules) {
		t.Errorf("rules = %d, want %d (one added, one disabled)", d.NumRules(), len(def.Rules))
	}
	fs, _ := d.Detect("x", []byte("a = acme_0123456789abcdef\nb = ghp_"+strings.Repeat("Ab1", 12)+"\nc = eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4eHh4eHgifQ.c2lnbmF0dXJlc2lnbmF0dXJl"))
	got := map[string]string{}
	for _, f := range fs {
		got[f.Rule] = f.Severity
	}
	if got["acme-token"] != "high" {
		t.Errorf("user rule not applied: %v", got)
	}
	if got["github-pat"] != "low" {
		t.Errorf("override not applied: %v", got)
	}
	if _, ok := got["jwt"]; ok {
		t.Errorf("disabled rule still ran: %v", got)
	}
}

func TestGlobIgnore(t *testing.T) {
	ig, err := ParseIgnore(strings.NewReader("vendor/\n*.pem\ndocs/**/*.md\n/root-only.txt\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want bool
	}{
		{"vendor/a/b.go", true},
		{"x/vendor/b.go", true},
		{"keys/server.pem", true},
		{"docs/a/b/c.md", true},
		{"docs/c.md", true},
		{"root-only.txt", true},
		{"sub/root-only.txt", false},
		{"main.go", false},
	}
	for _, tt := range tests {
		if got := ig.MatchPath(tt.path); got != tt.want {
			t.Errorf("MatchPath(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestManyFindingsOnOneLongLineStayLinear(t *testing.T) {
	var b strings.Builder
	const n = 5000
	for i := range n {
		fmt.Fprintf(&b, "var k%d=\"key-%s\";", i, Fingerprint([]byte(fmt.Sprint(i)))[:32])
	}
	d := defaultDetector(t)
	start := time.Now()
	fs, _ := d.Detect("min.js", []byte(b.String()))
	if len(fs) != n {
		t.Fatalf("got %d findings, want %d", len(fs), n)
	}
	last := fs[len(fs)-1]
	if last.Line != 1 || last.Column != strings.LastIndex(b.String(), "key-")+1 {
		t.Errorf("last finding at %d:%d", last.Line, last.Column)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v: location resolution is not linear", el)
	}
}
