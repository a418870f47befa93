package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigRefusesBadValues: each bad value is refused with an error that
// names the key, where it came from, and the problem; none falls back to a
// default silently.
func TestConfigRefusesBadValues(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.yaml")
	if err := os.WriteFile(unknown, []byte("adress: 127.0.0.1:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"an empty --db does not fall back to SQLite", []string{"--db", ""}, nil, []string{"config db (--db)", "is empty"}},
		{"an empty --data-dir", []string{"--data-dir", " "}, nil, []string{"config data_dir (--data-dir)", "is empty"}},
		{"an address without a port", []string{"--addr", "localhost"}, nil, []string{"config addr", "HOST:PORT"}},
		{"a rate limit that is not a number", nil, map[string]string{"STEWARD_RATE_LIMIT": "fast"}, []string{"config rate_limit (STEWARD_RATE_LIMIT)", "not a number"}},
		{"an unknown key in the file", []string{"--config", unknown}, nil, []string{"config file", "adress"}},
		{"a negative rotation interval", []string{"--config", file("interval.yaml", "rotation:\n  schedule:\n    enabled: true\n    interval: -5m\n")}, nil,
			[]string{"config rotation.schedule.interval", "negative"}},
		{"a negative rotation jitter", []string{"--config", file("jitter.yaml", "rotation:\n  schedule:\n    jitter: -1s\n")}, nil,
			[]string{"config rotation.schedule.jitter", "negative"}},
		{"a backoff cap below its base", []string{"--config", file("backoff.yaml", "rotation:\n  schedule:\n    backoff_base: 1h\n    backoff_max: 10m\n")}, nil,
			[]string{"config rotation.schedule.backoff_max", "backoff_base"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := newServeCmd(&globals{getenv: func(k string) string { return tc.env[k] }})
			if err := cmd.ParseFlags(tc.args); err != nil {
				t.Fatal(err)
			}
			path, _ := cmd.Flags().GetString("config")
			_, err := loadConfig(path, func(k string) string { return tc.env[k] }, cmd.Flags())
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestMetricsNeedAuth: metrics.require_auth defaults to on for any address
// but a loopback one, and an explicit value wins.
func TestMetricsNeedAuth(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		addr string
		set  *bool
		want bool
	}{
		{"127.0.0.1:8080", nil, false},
		{"[::1]:8080", nil, false},
		{"localhost:8080", nil, false},
		{"0.0.0.0:8080", nil, true},
		{":8080", nil, true},
		{"10.1.2.3:8080", nil, true},
		{"steward.example.com:443", nil, true},
		{"0.0.0.0:8080", &no, false},
		{"127.0.0.1:8080", &yes, true},
	} {
		c := defaultConfig()
		c.Addr, c.Metrics.RequireAuth = tc.addr, tc.set
		if got := c.metricsNeedAuth(); got != tc.want {
			t.Errorf("addr %s, require_auth %v: %v, want %v", tc.addr, tc.set, got, tc.want)
		}
	}
}
