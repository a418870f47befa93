package discovery

import (
	"bufio"
	"io"
	"path"
	"strings"
)

// CodeOwners is a parsed CODEOWNERS file: the last matching rule wins.
type CodeOwners struct {
	rules []coRule
}

type coRule struct {
	pattern string
	owners  []string
}

// ParseCodeOwners reads a CODEOWNERS file (GitHub/GitLab syntax; sections
// and comments ignored).
func ParseCodeOwners(r io.Reader) *CodeOwners {
	co := &CodeOwners{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") || strings.HasPrefix(line, "^[") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		co.rules = append(co.rules, coRule{pattern: fields[0], owners: fields[1:]})
	}
	return co
}

// Owners returns the owners of a slash-separated path relative to the
// repository root.
func (c *CodeOwners) Owners(file string) []string {
	if c == nil {
		return nil
	}
	file = strings.TrimPrefix(file, "/")
	var out []string
	for _, r := range c.rules {
		if matchOwnerPattern(r.pattern, file) {
			out = r.owners
		}
	}
	return out
}

// Email returns the first owner of file written as an email address.
func (c *CodeOwners) Email(file string) string {
	for _, o := range c.Owners(file) {
		if strings.Contains(o, "@") && !strings.HasPrefix(o, "@") {
			return strings.ToLower(o)
		}
	}
	return ""
}

func matchOwnerPattern(p, file string) bool {
	anchored := strings.HasPrefix(p, "/")
	p = strings.TrimPrefix(p, "/")
	if p == "*" {
		return true
	}
	dirOnly := strings.HasSuffix(p, "/")
	p = strings.TrimSuffix(p, "/")
	p = strings.ReplaceAll(p, "**/", "")
	candidates := []string{file}
	// A pattern also matches any directory prefix of the file.
	parts := strings.Split(file, "/")
	for i := 1; i < len(parts); i++ {
		candidates = append(candidates, strings.Join(parts[:i], "/"))
	}
	for _, cand := range candidates {
		if dirOnly && cand == file {
			continue
		}
		if ok, _ := path.Match(p, cand); ok {
			return true
		}
		if !anchored && !strings.Contains(p, "/") {
			if ok, _ := path.Match(p, path.Base(cand)); ok {
				return true
			}
		}
	}
	return false
}
