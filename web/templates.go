package web

import (
	"bytes"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"time"

	"github.com/steward-nhi/steward"
)

// pageNames are the page templates; each is parsed with layout.html.
var pageNames = []string{"login", "error", "dashboard", "identities", "bulk", "identity", "action", "owners", "extra",
	"usage", "rotate", "rotated", "reviews", "review", "review_item"}

func (c *Console) parseTemplates() error {
	c.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("web: parse %s: %w", name, err)
		}
		c.pages[name] = t
	}
	return nil
}

var funcs = template.FuncMap{
	"num": func(n int64) string { return num(n) },
	"pct": pct,
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if v == nil {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		}
		return "—"
	},
	"date": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	},
	"iso": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.UTC().Format(time.RFC3339)
		case *time.Time:
			if v != nil {
				return v.UTC().Format(time.RFC3339)
			}
		}
		return ""
	},
	"ago":     ago,
	"has":     func(list []string, s string) bool { return slices.Contains(list, s) },
	"short":   func(s string, n int) string { return shorten(s, n) },
	"inv":     invURL,
	"itoa":    strconv.Itoa,
	"dict":    dict,
	"reasons": func() []steward.RevokeReason { return steward.RevokeReasons },
	"kind":    func(k string) string { return kindLabels[k] },
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func dict(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return m
}

// ago describes a time relative to now ("3 d ago", "in 5 h").
func ago(now time.Time, t any) string {
	var tt time.Time
	switch v := t.(type) {
	case time.Time:
		tt = v
	case *time.Time:
		if v == nil {
			return "never"
		}
		tt = *v
	default:
		return ""
	}
	d := now.Sub(tt)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		s = strconv.Itoa(int(d.Minutes())) + " min"
	case d < 48*time.Hour:
		s = strconv.Itoa(int(d.Hours())) + " h"
	case d < 730*24*time.Hour:
		s = strconv.Itoa(int(d.Hours()/24)) + " d"
	default:
		s = strconv.FormatFloat(d.Hours()/24/365, 'f', 1, 64) + " y"
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// The pages of the capabilities beyond the core (alerts_page.go,
// audit_page.go, discovery_page.go, findings_page.go, policies_page.go)
// render fragments: each page takes only the methods it shows, so
// cmd/steward passes the capability's API when it is wired.
var fragments = template.Must(template.New("").Funcs(funcs).ParseFS(files, "templates/frag_*.html"))

func fragment(name string, data any) (template.HTML, error) {
	var b bytes.Buffer
	if err := fragments.ExecuteTemplate(&b, name, data); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil
}
