package main

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/steward-nhi/steward/httpapi"
)

// Log formats: auto is text for a person at a terminal and JSON for a log
// pipeline (stderr is not a terminal).
const (
	logAuto = "auto"
	logJSON = "json"
	logText = "text"
)

// newLogger returns the server's logger on w (tty: w is a terminal): JSON for pipelines; for
// people, text, coloured on a terminal unless NO_COLOR is set
// (https://no-color.org) or TERM is dumb. Every record passes through
// httpapi.LogHandler (the request id).
func newLogger(cfg Config, w io.Writer, tty bool, getenv func(string) string) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.LogFormat
	if format == logAuto || format == "" {
		format = logJSON
		if tty {
			format = logText
		}
	}
	var h slog.Handler
	switch {
	case format == logJSON:
		h = slog.NewJSONHandler(w, opts)
	case tty:
		color := getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
		h = newConsoleHandler(w, level, color)
	default:
		// Text into a file or a pipe: logfmt, which log tools parse.
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(httpapi.LogHandler{Handler: h})
}

// consoleHandler writes one short, aligned line per record for a person:
// time, level (coloured when asked), message, then key=value pairs.
type consoleHandler struct {
	mu     *sync.Mutex
	w      io.Writer
	level  slog.Leveler
	color  bool
	prefix string // open groups, "a.b."
	attrs  []byte // attributes added by WithAttrs, already formatted
}

func newConsoleHandler(w io.Writer, level slog.Leveler, color bool) *consoleHandler {
	return &consoleHandler{mu: &sync.Mutex{}, w: w, level: level, color: color}
}

// ANSI SGR sequences.
const (
	ansiReset  = "\x1b[0m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiGreen  = "\x1b[32m"
	ansiBlue   = "\x1b[34m"
)

func (h *consoleHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *consoleHandler) paint(b []byte, code, s string) []byte {
	if !h.color {
		return append(b, s...)
	}
	b = append(b, code...)
	b = append(b, s...)
	return append(b, ansiReset...)
}

func (h *consoleHandler) Handle(_ context.Context, r slog.Record) error {
	b := make([]byte, 0, 256)
	if !r.Time.IsZero() {
		b = h.paint(b, ansiDim, r.Time.Local().Format(time.TimeOnly+".000"))
		b = append(b, ' ')
	}
	name, code := "DBG", ansiBlue
	switch {
	case r.Level >= slog.LevelError:
		name, code = "ERR", ansiRed
	case r.Level >= slog.LevelWarn:
		name, code = "WRN", ansiYellow
	case r.Level >= slog.LevelInfo:
		name, code = "INF", ansiGreen
	}
	b = h.paint(b, code, name)
	b = append(b, ' ')
	b = append(b, strings.ReplaceAll(r.Message, "\n", " ")...)
	b = append(b, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		b = h.appendAttr(b, h.prefix, a)
		return true
	})
	b = append(b, '\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(b)
	return err
}

func (h *consoleHandler) appendAttr(b []byte, prefix string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return b
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			b = h.appendAttr(b, p, ga)
		}
		return b
	}
	b = append(b, ' ')
	b = h.paint(b, ansiDim, prefix+a.Key+"=")
	var v string
	switch a.Value.Kind() {
	case slog.KindTime:
		v = a.Value.Time().Format(time.RFC3339Nano)
	case slog.KindDuration:
		v = a.Value.Duration().String()
	default:
		v = a.Value.String()
	}
	if needsQuote(v) {
		v = strconv.Quote(v)
	}
	if a.Key == "err" || a.Key == "error" {
		return h.paint(b, ansiRed, v)
	}
	return append(b, v...)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if unicode.IsSpace(r) || r == '"' || r == '=' || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

func (h *consoleHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]byte(nil), h.attrs...)
	for _, a := range as {
		c.attrs = h.appendAttr(c.attrs, h.prefix, a)
	}
	return &c
}

func (h *consoleHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.prefix = h.prefix + name + "."
	return &c
}
