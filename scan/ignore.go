package scan

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"
)

// Ignore holds the entries of a .stewardignore file: fingerprints (64 hex
// digits, optionally followed by ":path" or a comment) and path globs
// ("*" within a path segment, "**" across segments, a trailing "/" for a
// directory). Lines starting with "#" are comments. A nil *Ignore ignores
// nothing.
type Ignore struct {
	fingerprints map[string]bool
	globs        []*regexp.Regexp
}

// IgnoreFile is the name of the suppression file at a scanned root.
const IgnoreFile = ".stewardignore"

var fpRE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// ParseIgnore reads .stewardignore entries.
func ParseIgnore(r io.Reader) (*Ignore, error) {
	ig := &Ignore{fingerprints: map[string]bool{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if f := strings.FieldsFunc(line, func(r rune) bool { return r == ':' || r == ' ' || r == '\t' }); len(f) > 0 && fpRE.MatchString(f[0]) {
			ig.fingerprints[strings.ToLower(f[0])] = true
			continue
		}
		re, err := globRegexp(line)
		if err != nil {
			return nil, fmt.Errorf("scan: %s: bad pattern %q: %w", IgnoreFile, line, err)
		}
		ig.globs = append(ig.globs, re)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scan: read %s: %w", IgnoreFile, err)
	}
	return ig, nil
}

// LoadIgnore reads path; a missing file yields an empty Ignore.
func LoadIgnore(path string) (*Ignore, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Ignore{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	defer f.Close()
	return ParseIgnore(f)
}

// MatchPath reports whether a slash-separated relative path is ignored.
func (ig *Ignore) MatchPath(path string) bool {
	if ig == nil {
		return false
	}
	for _, re := range ig.globs {
		if re.MatchString(path) {
			return true
		}
	}
	return false
}

// MatchFingerprint reports whether a fingerprint is ignored.
func (ig *Ignore) MatchFingerprint(fp string) bool {
	return ig != nil && ig.fingerprints[fp]
}

// globRegexp turns a gitignore-like glob into a regexp over relative
// paths. A pattern without "/" matches at any depth.
func globRegexp(glob string) (*regexp.Regexp, error) {
	dir := strings.HasSuffix(glob, "/")
	glob = strings.TrimSuffix(glob, "/")
	anchored := strings.Contains(glob, "/")
	glob = strings.TrimPrefix(glob, "/")
	var b strings.Builder
	b.WriteString("^")
	if !anchored {
		b.WriteString("(?:.*/)?")
	}
	for i := 0; i < len(glob); i++ {
		c := glob[i]
		switch {
		case c == '*' && i+1 < len(glob) && glob[i+1] == '*':
			i++
			if i+1 < len(glob) && glob[i+1] == '/' {
				i++
				b.WriteString("(?:.*/)?")
			} else {
				b.WriteString(".*")
			}
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	if dir {
		b.WriteString("/.*$")
	} else {
		b.WriteString("(?:/.*)?$")
	}
	return regexp.Compile(b.String())
}

// LoadBaseline reads a previous JSON report and returns its fingerprints.
func LoadBaseline(path string) (map[string]bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scan: baseline: %w", err)
	}
	var prev []struct {
		Fingerprint string `json:"fingerprint"`
	}
	if err := json.Unmarshal(data, &prev); err != nil {
		return nil, fmt.Errorf("scan: baseline %s: %w", path, err)
	}
	out := make(map[string]bool, len(prev))
	for _, p := range prev {
		if p.Fingerprint != "" {
			out[strings.ToLower(p.Fingerprint)] = true
		}
	}
	return out, nil
}
