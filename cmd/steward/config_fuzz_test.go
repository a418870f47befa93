package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzLoadConfig checks the config file parser: a file is refused with an
// error naming the config, or the configuration it gives is valid, and
// writing it back as YAML and reading that writes the same YAML again.
func FuzzLoadConfig(f *testing.F) {
	for _, s := range []string{
		"addr: 127.0.0.1:9090\ndata_dir: /var/lib/steward\nlog_level: debug\nlog_format: text\nrate_limit: 50\nshutdown_timeout: 10s\ndefault_sensitivity: high\n",
		"policy:\n  critical:\n    max_lifetime: 30d\n    rotation_period: 7d\n  low:\n    dormancy: 180d\n",
		"db: postgres://u:p@localhost/steward\nbroker:\n  token_ttl: 5m\n  algorithm: ES256\nweb:\n  enabled: false\n",
		"rate_limit: .nan\n",
		"adress: 127.0.0.1:1\n",
		"",
		"audit:\n  checkpoint_every: 1000\n  sinks:\n    - name: f\n      type: file\n      path: /tmp/a.log\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, doc string) {
		path := filepath.Join(dir, "steward.yaml")
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := newServeCmd(&globals{getenv: func(string) string { return "" }})
		c, err := loadConfig(path, func(string) string { return "" }, cmd.Flags())
		if err != nil {
			if !strings.HasPrefix(err.Error(), "config") {
				t.Fatalf("error not naming the config: %v", err)
			}
			return
		}
		if math.IsNaN(c.RateLimit) || c.RateLimit < 0 {
			t.Fatalf("accepted rate_limit %v", c.RateLimit)
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			return // a value yaml cannot write back is not the parser's concern
		}
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
		c2, err := loadConfig(path, func(string) string { return "" }, cmd.Flags())
		out2, _ := yaml.Marshal(c2)
		if err != nil || string(out) != string(out2) {
			t.Fatalf("the configuration does not survive a round trip (%v):\n%s", err, out)
		}
	})
}
