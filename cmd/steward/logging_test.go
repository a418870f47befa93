package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/steward-nhi/steward/httpapi"
)

// TestLogFormatFollowsTheReader: text for a person at a terminal
// (coloured unless NO_COLOR or TERM=dumb), JSON for a pipeline, and what
// --log-format says when it says json or text.
func TestLogFormatFollowsTheReader(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format string
		tty    bool
		env    map[string]string
		json   bool
		color  bool
		says   []string
	}{
		{"auto on a terminal is coloured text", logAuto, true, nil, false, true, []string{"ERR", "request_id=req-1", "component=x", "g.k=\"v w\"", "err="}},
		{"auto on a terminal with NO_COLOR is plain text", logAuto, true, map[string]string{"NO_COLOR": "1"}, false, false, []string{"ERR hello", "request_id=req-1"}},
		{"auto on a dumb terminal is plain text", logAuto, true, map[string]string{"TERM": "dumb"}, false, false, []string{"ERR hello"}},
		{"auto into a pipe is JSON", logAuto, false, nil, true, false, nil},
		{"json on a terminal is JSON", logJSON, true, nil, true, false, nil},
		{"text into a pipe is logfmt without colour", logText, false, nil, false, false, []string{"level=ERROR", "msg=hello", "request_id=req-1", "g.k=\"v w\""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			cfg := defaultConfig()
			cfg.LogFormat = tc.format
			log := newLogger(cfg, &buf, tc.tty, func(k string) string { return tc.env[k] })
			ctx := httpapi.WithRequestID(context.Background(), "req-1")
			log.With("component", "x").ErrorContext(ctx, "hello", slog.Group("g", "k", "v w"), "err", errors.New("boom"))
			log.Debug("below the level")
			out := buf.String()
			if strings.Count(out, "\n") != 1 {
				t.Fatalf("want one line, got %q", out)
			}
			var m map[string]any
			isJSON := json.Unmarshal(buf.Bytes(), &m) == nil
			if isJSON != tc.json {
				t.Fatalf("JSON = %v, want %v: %q", isJSON, tc.json, out)
			}
			if isJSON && (m["request_id"] != "req-1" || m["msg"] != "hello") {
				t.Errorf("JSON line %v", m)
			}
			if got := strings.Contains(out, "\x1b["); got != tc.color {
				t.Errorf("colour = %v, want %v: %q", got, tc.color, out)
			}
			plain := stripANSI(out)
			for _, s := range tc.says {
				if !strings.Contains(plain, s) {
					t.Errorf("%q does not say %q", plain, s)
				}
			}
		})
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestLogFormatRefusesUnknownValues(t *testing.T) {
	c := defaultConfig()
	c.LogFormat = "xml"
	if err := c.validate(); err == nil || !strings.Contains(err.Error(), "auto, json or text") {
		t.Fatalf("validate: %v", err)
	}
}
