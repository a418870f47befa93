package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestVersionNamesTheBuild(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, strings.NewReader(""), &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "steward "+version+" (commit ") {
		t.Fatalf("version printed %q", out.String())
	}
}

func TestHealthcheckExitsByTheServersAnswer(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	}))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer down.Close()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		ok   bool
	}{
		{"a server that answers 200", map[string]string{"STEWARD_ADDR": strings.TrimPrefix(ok.URL, "http://")}, nil, true},
		{"a server that answers 503", nil, []string{"--url", down.URL + "/healthz"}, false},
		{"no server at all", map[string]string{"STEWARD_ADDR": freeAddr(t)}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), append([]string{"healthcheck"}, tc.args...), func(k string) string { return tc.env[k] }, strings.NewReader(""), &out, &out)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestLocalHealthURLAsksLoopbackForAWildcard(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:8080":  "http://127.0.0.1:8080/healthz",
		":9000":         "http://127.0.0.1:9000/healthz",
		"[::]:8443":     "http://[::1]:8443/healthz",
		"10.0.0.5:8080": "http://10.0.0.5:8080/healthz",
		"":              "http://127.0.0.1:8080/healthz",
	} {
		if got := localHealthURL(func(k string) string {
			if k == "STEWARD_ADDR" {
				return addr
			}
			return ""
		}); got != want {
			t.Errorf("%q → %q, want %q", addr, got, want)
		}
	}
}
