// Package rules holds Steward's secret-detection rules as data: an embedded
// YAML file of provider-specific rules, each with its own true- and
// false-positive examples, and the merge logic for a user's rules file.
package rules

import (
	_ "embed"
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed default.yaml
var defaultYAML []byte

// Allowlist lists what a rule (or the whole configuration) ignores.
type Allowlist struct {
	// Paths are regular expressions matched against the slash-separated
	// path relative to the scanned root.
	Paths []string `yaml:"paths,omitempty"`
	// Regexes are matched against the captured secret.
	Regexes []string `yaml:"regexes,omitempty"`
	// Stopwords are case-insensitive substrings of the secret that mark it
	// as a placeholder.
	Stopwords []string `yaml:"stopwords,omitempty"`
}

// Rule is one detection rule.
type Rule struct {
	ID          string   `yaml:"id"`
	Description string   `yaml:"description"`
	Keywords    []string `yaml:"keywords"`
	Regex       string   `yaml:"regex"`
	// SecretGroup is the capture group holding the secret; 0 means "group 1
	// when the regex has one, else the whole match".
	SecretGroup int `yaml:"secret_group,omitempty"`
	// Entropy is the minimum Shannon entropy (bits per byte) of the secret.
	Entropy  float64  `yaml:"entropy,omitempty"`
	Severity string   `yaml:"severity,omitempty"`
	Tags     []string `yaml:"tags,omitempty"`
	// Validate names a checksum validator (see scan.validators); a failed
	// check lowers the finding's confidence, it never hides the finding.
	Validate string `yaml:"validate,omitempty"`
	// Multiline rules get a large window after each keyword hit.
	Multiline bool `yaml:"multiline,omitempty"`
	// Gate names a cheap pre-check run before the regex: "assign" (the
	// keyword is followed on its line by an assignment), "token" (the
	// keyword is followed by at least 16 token characters), "userinfo" (a
	// "://" is followed by "user:password@").
	Gate string `yaml:"gate,omitempty"`
	// RequireDigit drops secrets with neither a decimal digit nor a
	// password symbol (!@#%~): identifiers and words.
	RequireDigit bool      `yaml:"require_digit,omitempty"`
	Confidence   string    `yaml:"confidence,omitempty"`
	Allowlist    Allowlist `yaml:"allowlist,omitempty"`
	TP           []string  `yaml:"tp,omitempty"`
	FP           []string  `yaml:"fp,omitempty"`
}

// Config is a rules file: the embedded default or a user's --config file.
type Config struct {
	// ExtendDefault, in a user file, keeps the embedded rules (default true).
	ExtendDefault *bool     `yaml:"extend_default,omitempty"`
	Disable       []string  `yaml:"disable,omitempty"`
	Allowlist     Allowlist `yaml:"allowlist,omitempty"`
	Rules         []Rule    `yaml:"rules"`
}

// Default returns the embedded rule set.
func Default() (Config, error) {
	return Parse(defaultYAML)
}

// Parse decodes a rules file.
func Parse(data []byte) (Config, error) {
	var c Config
	if err := yaml.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("rules: parse: %w", err)
	}
	return c, nil
}

// Load reads the embedded rules and, when path is not empty, merges the
// user's rules file into them.
func Load(path string) (Config, error) {
	def, err := Default()
	if err != nil {
		return Config{}, err
	}
	if path == "" {
		return def, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("rules: read %s: %w", path, err)
	}
	user, err := Parse(data)
	if err != nil {
		return Config{}, fmt.Errorf("rules: %s: %w", path, err)
	}
	return Merge(def, user), nil
}

// Merge applies user on top of base: rules with a known id replace the base
// rule, new ids are appended, ids in Disable are removed, and allowlists are
// concatenated. When user.ExtendDefault is false, base rules are dropped.
func Merge(base, user Config) Config {
	out := Config{Allowlist: base.Allowlist}
	if user.ExtendDefault != nil && !*user.ExtendDefault {
		out = Config{}
	} else {
		out.Rules = append(out.Rules, base.Rules...)
	}
	idx := make(map[string]int, len(out.Rules))
	for i, r := range out.Rules {
		idx[r.ID] = i
	}
	for _, r := range user.Rules {
		if i, ok := idx[r.ID]; ok {
			out.Rules[i] = r
			continue
		}
		idx[r.ID] = len(out.Rules)
		out.Rules = append(out.Rules, r)
	}
	disabled := make(map[string]bool)
	for _, id := range append(append([]string(nil), base.Disable...), user.Disable...) {
		disabled[id] = true
	}
	kept := out.Rules[:0]
	for _, r := range out.Rules {
		if !disabled[r.ID] {
			kept = append(kept, r)
		}
	}
	out.Rules = kept
	out.Allowlist.Paths = append(out.Allowlist.Paths, user.Allowlist.Paths...)
	out.Allowlist.Regexes = append(out.Allowlist.Regexes, user.Allowlist.Regexes...)
	out.Allowlist.Stopwords = append(out.Allowlist.Stopwords, user.Allowlist.Stopwords...)
	return out
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Check reports structural problems: missing fields, duplicate ids, bad
// regexes, a secret group the regex does not have.
func (c Config) Check() error {
	seen := make(map[string]bool)
	var errs []string
	for _, r := range c.Rules {
		if !idRE.MatchString(r.ID) {
			errs = append(errs, fmt.Sprintf("rule %q: id must match %s", r.ID, idRE))
		}
		if seen[r.ID] {
			errs = append(errs, fmt.Sprintf("rule %q: duplicate id", r.ID))
		}
		seen[r.ID] = true
		re, err := regexp.Compile(r.Regex)
		if err != nil {
			errs = append(errs, fmt.Sprintf("rule %q: regex: %v", r.ID, err))
			continue
		}
		if r.SecretGroup > re.NumSubexp() {
			errs = append(errs, fmt.Sprintf("rule %q: secret_group %d but regex has %d groups", r.ID, r.SecretGroup, re.NumSubexp()))
		}
		for _, k := range r.Keywords {
			if k != strings.ToLower(k) || k == "" {
				errs = append(errs, fmt.Sprintf("rule %q: keyword %q must be non-empty lowercase", r.ID, k))
			}
		}
		switch r.Gate {
		case "", "assign", "token", "userinfo":
		default:
			errs = append(errs, fmt.Sprintf("rule %q: unknown gate %q", r.ID, r.Gate))
		}
		switch r.Severity {
		case "", "critical", "high", "medium", "low", "info":
		default:
			errs = append(errs, fmt.Sprintf("rule %q: unknown severity %q", r.ID, r.Severity))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("rules: %s", strings.Join(errs, "; "))
	}
	return nil
}
