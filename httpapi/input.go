package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/steward-nhi/steward"
)

// bodyOf returns r's body capped at limit. A body that declares a
// Content-Length over the limit is refused before a byte is read, so it
// gets 413 whatever it holds; a chunked body is cut by the streaming limit.
func bodyOf(w http.ResponseWriter, r *http.Request, limit int64) (io.Reader, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	return http.MaxBytesReader(w, r.Body, limit), nil
}

// readBody reads all of r's body up to limit.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := bodyOf(w, r, limit)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(body)
}

// cleanText refuses text that the stores cannot hold the same way on both
// engines: NUL (U+0000) and invalid UTF-8.
func cleanText(field, s string) error {
	switch {
	case !utf8.ValidString(s):
		return steward.FieldError(field, "must be valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		return steward.FieldError(field, "must not contain NUL (U+0000)")
	}
	return nil
}

// checkRequestText checks the path parameters and the query of r.
func checkRequestText(r *http.Request, params []string) error {
	for _, p := range params {
		if err := cleanText(p, r.PathValue(p)); err != nil {
			return err
		}
	}
	for k, vs := range r.URL.Query() {
		if err := cleanText("query parameter", k); err != nil {
			return err
		}
		for _, v := range vs {
			if err := cleanText(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkJSONText refuses a JSON document holding a NUL (as the escape
// \u0000) or invalid UTF-8, naming the field that holds it. (The decoder
// would silently turn invalid UTF-8 into U+FFFD.)
func checkJSONText(raw []byte) error {
	bad, what := -1, ""
	if !utf8.Valid(raw) {
		for i := 0; i < len(raw); {
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n == 1 {
				bad, what = i, "must be valid UTF-8"
				break
			}
			i += n
		}
	}
	for i := 0; ; {
		j := bytes.Index(raw[i:], []byte(`u0000`))
		if j < 0 || (bad >= 0 && i+j > bad) {
			break
		}
		j += i
		slashes := 0
		for k := j - 1; k >= 0 && raw[k] == '\\'; k-- {
			slashes++
		}
		if slashes%2 == 1 {
			bad, what = j, "must not contain NUL (U+0000)"
			break
		}
		i = j + 1
	}
	if bad < 0 {
		return nil
	}
	return steward.FieldError(jsonPathAt(raw, int64(bad)), "%s", what)
}

// jsonPathAt names the field whose key or value holds byte offset off of
// a JSON document: object keys joined by dots ("labels.team"); "body" at
// the top level.
func jsonPathAt(raw []byte, off int64) string {
	type frame struct {
		obj, wantKey bool
		key          string
	}
	var st []*frame
	path := func() string {
		var keys []string
		for _, f := range st {
			if f.obj && f.key != "" {
				keys = append(keys, f.key)
			}
		}
		if len(keys) == 0 {
			return "body"
		}
		return strings.Join(keys, ".")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err != nil {
			return path()
		}
		if n := len(st); n > 0 && st[n-1].obj && st[n-1].wantKey {
			if k, ok := tok.(string); ok {
				st[n-1].key, st[n-1].wantKey = k, false
				if dec.InputOffset() > off {
					return path()
				}
				continue
			}
		}
		if dec.InputOffset() > off {
			return path()
		}
		switch tok {
		case json.Delim('{'):
			st = append(st, &frame{obj: true, wantKey: true})
			continue
		case json.Delim('['):
			st = append(st, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			st = st[:len(st)-1]
		}
		if n := len(st); n > 0 && st[n-1].obj {
			st[n-1].wantKey = true
		}
	}
}
