package scan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/coregx/ahocorasick"

	"github.com/steward-nhi/steward/scan/rules"
)

// matcher is the part of a compiled regular expression the detector uses;
// both regexp.Regexp and go-re2 satisfy it.
type matcher interface {
	FindAllSubmatchIndex(b []byte, n int) [][]int
	NumSubexp() int
}

// Window sizes around a keyword hit. A window runs from the start of the
// hit's line (at most windowBefore bytes back) to the end of the line (at
// most windowAfter bytes on); multiline rules get windowMultiline bytes on.
const (
	windowBefore    = 512
	windowAfter     = 1024
	windowMultiline = 16 << 10
	keywordChunk    = 256 << 10
	maxDecodeDepth  = 2
)

type compiledRule struct {
	rules.Rule
	re        matcher
	group     int
	pathAllow []*regexp.Regexp
	secAllow  []*regexp.Regexp
	stop      []string
	validate  func(secret string) bool
	generic   bool
}

// Detector applies a compiled rule set to content. It is safe for
// concurrent use.
type Detector struct {
	rules     []*compiledRule
	ac        *ahocorasick.Automaton
	kwRules   [][]int32
	always    []int32
	pathAllow []*regexp.Regexp
	secAllow  []*regexp.Regexp
	stop      []string
	maxKW     int
	pool      sync.Pool
}

// DetectorOption configures NewDetector.
type DetectorOption func(*detectorConfig)

type detectorConfig struct {
	compile func(string) (matcher, error)
}

func compileStd(expr string) (matcher, error) { return regexp.Compile(expr) }

// NewDetector compiles a rule configuration.
func NewDetector(cfg rules.Config, opts ...DetectorOption) (*Detector, error) {
	dc := detectorConfig{compile: defaultCompile}
	for _, o := range opts {
		o(&dc)
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	d := &Detector{}
	var err error
	if d.pathAllow, err = compileAll(cfg.Allowlist.Paths); err != nil {
		return nil, fmt.Errorf("scan: global allowlist paths: %w", err)
	}
	if d.secAllow, err = compileAll(cfg.Allowlist.Regexes); err != nil {
		return nil, fmt.Errorf("scan: global allowlist regexes: %w", err)
	}
	d.stop = lowerAll(cfg.Allowlist.Stopwords)

	kwIndex := map[string]int{}
	var keywords []string
	for _, r := range cfg.Rules {
		cr := &compiledRule{Rule: r}
		if cr.re, err = dc.compile(r.Regex); err != nil {
			return nil, fmt.Errorf("scan: rule %s: %w", r.ID, err)
		}
		cr.group = r.SecretGroup
		if cr.group == 0 && cr.re.NumSubexp() > 0 {
			cr.group = 1
		}
		if cr.pathAllow, err = compileAll(r.Allowlist.Paths); err != nil {
			return nil, fmt.Errorf("scan: rule %s: allowlist paths: %w", r.ID, err)
		}
		if cr.secAllow, err = compileAll(r.Allowlist.Regexes); err != nil {
			return nil, fmt.Errorf("scan: rule %s: allowlist regexes: %w", r.ID, err)
		}
		cr.stop = lowerAll(r.Allowlist.Stopwords)
		cr.generic = strings.HasPrefix(r.ID, "generic-")
		if r.Validate != "" {
			v, ok := validators[r.Validate]
			if !ok {
				return nil, fmt.Errorf("scan: rule %s: unknown validator %q", r.ID, r.Validate)
			}
			cr.validate = v
		}
		if cr.Severity == "" {
			cr.Severity = "high"
		}
		if cr.Confidence == "" {
			cr.Confidence = "high"
		}
		ri := int32(len(d.rules))
		d.rules = append(d.rules, cr)
		if len(r.Keywords) == 0 {
			d.always = append(d.always, ri)
			continue
		}
		for _, k := range r.Keywords {
			k = strings.ToLower(k)
			id, ok := kwIndex[k]
			if !ok {
				id = len(keywords)
				kwIndex[k] = id
				keywords = append(keywords, k)
				d.kwRules = append(d.kwRules, nil)
			}
			d.kwRules[id] = append(d.kwRules[id], ri)
			d.maxKW = max(d.maxKW, len(k))
		}
	}
	if len(keywords) > 0 {
		d.ac, err = ahocorasick.NewBuilder().AddStrings(keywords).Build()
		if err != nil {
			return nil, fmt.Errorf("scan: keyword automaton: %w", err)
		}
	}
	d.pool.New = func() any { return &scratch{wins: make([][]window, len(d.rules))} }
	return d, nil
}

func compileAll(exprs []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(exprs))
	for _, e := range exprs {
		re, err := regexp.Compile(e)
		if err != nil {
			return nil, err
		}
		out = append(out, re)
	}
	return out, nil
}

func lowerAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(s)
	}
	return out
}

// NumRules returns the number of compiled rules.
func (d *Detector) NumRules() int { return len(d.rules) }

type window struct{ start, end int }

type scratch struct {
	lower   []byte
	wins    [][]window
	touched []int32
}

// match is a raw detection before locations are resolved.
type match struct {
	rule       *compiledRule
	start, end int // the secret's span in the top-level content
	mstart     int // start of the whole match (for the preview)
	mend       int
	secret     string
	entropy    float64
	confidence string
	encoded    string // "base64" when found in decoded content
}

// Detect scans one piece of content. path is used for path allowlists and
// context; the returned findings carry locations but no git metadata.
// suppressed counts matches hidden by an inline steward:allow comment (or
// gitleaks:allow, or detect-secrets' "pragma: allowlist secret").
func (d *Detector) Detect(path string, data []byte) (findings []Finding, suppressed int) {
	if d.pathAllowed(path) {
		return nil, 0
	}
	ms := d.detect(path, data, 0, nil)
	if len(ms) == 0 {
		return nil, 0
	}
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].start != ms[j].start {
			return ms[i].start < ms[j].start
		}
		return ms[i].rule.ID < ms[j].rule.ID
	})
	ms = dropShadowedGeneric(ms)
	li := newLineIndex(data)
	seen := make(map[string]bool)
	allowed := map[int]bool{}
	for _, m := range ms {
		fp := Fingerprint([]byte(m.secret))
		key := fmt.Sprintf("%s|%d|%s", m.rule.ID, m.start, fp)
		if seen[key] {
			continue
		}
		seen[key] = true
		line, col := li.pos(m.start)
		endLine, endCol := li.pos(max(m.start, m.end-1))
		a, ok := allowed[line]
		if !ok {
			a = allowedInline(li.lineBytes(line))
			allowed[line] = a
		}
		if a {
			suppressed++
			continue
		}
		f := Finding{
			Rule:        m.rule.ID,
			Description: m.rule.Description,
			File:        path,
			Line:        line,
			Column:      col,
			EndLine:     endLine,
			EndColumn:   endCol,
			Severity:    m.rule.Severity,
			Confidence:  m.confidence,
			Tags:        m.rule.Tags,
			Entropy:     math.Round(m.entropy*1000) / 1000,
			Preview:     Redact(m.secret),
			Secret:      m.secret,
			Fingerprint: fp,
		}
		if m.encoded != "" {
			f.Context = "encoding=" + m.encoded
		} else {
			f.Preview = preview(li.lineBytes(line), m.start-li.lineStart(line), m.end-li.lineStart(line), m.secret)
		}
		findings = append(findings, f)
	}
	return findings, suppressed
}

// dropShadowedGeneric removes generic-rule matches whose secret overlaps a
// provider-specific match: the specific rule says more about the same secret.
func dropShadowedGeneric(ms []match) []match {
	hasGeneric := false
	for _, m := range ms {
		if m.rule.generic {
			hasGeneric = true
			break
		}
	}
	if !hasGeneric {
		return ms
	}
	out := ms[:0]
	for i, m := range ms {
		if m.rule.generic {
			shadowed := false
			for j, o := range ms {
				if j != i && !o.rule.generic && o.start < m.end && m.start < o.end {
					shadowed = true
					break
				}
			}
			if shadowed {
				continue
			}
		}
		out = append(out, m)
	}
	return out
}

// inlineMarkers suppress a finding on their line: Steward's own, and those
// of other scanners so that a codebase's existing suppressions keep working.
var inlineMarkers = [][]byte{[]byte("steward:allow"), []byte("gitleaks:allow"), []byte("pragma: allowlist secret")}

func allowedInline(line []byte) bool {
	for _, m := range inlineMarkers {
		if bytes.Contains(line, m) {
			return true
		}
	}
	return false
}

func (d *Detector) pathAllowed(path string) bool {
	for _, re := range d.pathAllow {
		if re.MatchString(path) {
			return true
		}
	}
	return false
}

// detect returns matches in data; offsets are relative to data.
func (d *Detector) detect(path string, data []byte, depth int, out []match) []match {
	sc := d.pool.Get().(*scratch)
	defer func() {
		if cap(sc.lower) > retainMax {
			sc.lower = nil
		}
		d.pool.Put(sc)
	}()
	if d.ac != nil && len(data) > 0 {
		// Lowercase and search in chunks so that the scratch buffer stays
		// small on big inputs; chunks overlap by the longest keyword.
		for off := 0; off < len(data); off += keywordChunk {
			end := min(len(data), off+keywordChunk+d.maxKW-1)
			sc.lower = asciiLower(sc.lower[:0], data[off:end])
			for _, h := range d.ac.FindAllOverlapping(sc.lower) {
				if h.Start >= keywordChunk {
					continue // found again by the next chunk
				}
				h.Start += off
				h.End += off
				for _, ri := range d.kwRules[h.PatternID] {
					r := d.rules[ri]
					if r.Gate != "" && !gateOK(r.Gate, data, h.End) {
						continue
					}
					ws := h.Start - windowBefore
					if ws < 0 {
						ws = 0
					}
					if i := bytes.LastIndexByte(data[ws:h.Start], '\n'); i >= 0 {
						ws += i + 1
					}
					var we int
					if r.Multiline {
						we = min(len(data), h.End+windowMultiline)
					} else {
						we = min(len(data), h.End+windowAfter)
						if i := bytes.IndexByte(data[h.End:we], '\n'); i >= 0 {
							we = h.End + i
						}
					}
					w := sc.wins[ri]
					if n := len(w); n > 0 && ws <= w[n-1].end {
						if we > w[n-1].end {
							w[n-1].end = we
						}
						if ws < w[n-1].start {
							w[n-1].start = ws
						}
						continue
					}
					if len(w) == 0 {
						sc.touched = append(sc.touched, ri)
					}
					sc.wins[ri] = append(w, window{ws, we})
				}
			}
		}
	}
	for _, ri := range d.always {
		if len(sc.wins[ri]) == 0 {
			sc.touched = append(sc.touched, ri)
		}
		sc.wins[ri] = append(sc.wins[ri][:0], window{0, len(data)})
	}
	for _, ri := range sc.touched {
		r := d.rules[ri]
		wins := sc.wins[ri]
		sc.wins[ri] = wins[:0]
		if d.rulePathAllowed(r, path) {
			continue
		}
		for _, w := range wins {
			out = d.runRule(r, data, w, out)
		}
	}
	sc.touched = sc.touched[:0]
	if depth < maxDecodeDepth {
		out = d.detectEncoded(path, data, depth, out)
	}
	return out
}

func (d *Detector) rulePathAllowed(r *compiledRule, path string) bool {
	for _, re := range r.pathAllow {
		if re.MatchString(path) {
			return true
		}
	}
	return false
}

func (d *Detector) runRule(r *compiledRule, data []byte, w window, out []match) []match {
	sub := data[w.start:w.end]
	for _, loc := range r.re.FindAllSubmatchIndex(sub, -1) {
		g := r.group
		if 2*g+1 >= len(loc) || loc[2*g] < 0 {
			continue
		}
		s, e := loc[2*g], loc[2*g+1]
		if s == e {
			continue
		}
		if r.RequireDigit && !hasDigitOrSymbol(sub[s:e]) {
			continue
		}
		secret := string(sub[s:e])
		ent := shannon(secret)
		if r.Entropy > 0 && ent < r.Entropy {
			continue
		}
		if d.secretAllowed(r, secret) {
			continue
		}
		conf := r.Confidence
		if r.validate != nil && !r.validate(secret) {
			conf = "low"
		}
		out = append(out, match{
			rule: r, start: w.start + s, end: w.start + e,
			mstart: w.start + loc[0], mend: w.start + loc[1],
			secret: secret, entropy: ent, confidence: conf,
		})
	}
	return out
}

func (d *Detector) secretAllowed(r *compiledRule, secret string) bool {
	low := strings.ToLower(secret)
	for _, sw := range r.stop {
		if strings.Contains(low, sw) {
			return true
		}
	}
	for _, sw := range d.stop {
		if strings.Contains(low, sw) {
			return true
		}
	}
	for _, re := range r.secAllow {
		if re.MatchString(secret) {
			return true
		}
	}
	for _, re := range d.secAllow {
		if re.MatchString(secret) {
			return true
		}
	}
	return false
}

func gateOK(gate string, data []byte, end int) bool {
	switch gate {
	case "assign":
		return assignGate(data, end)
	case "token":
		n := 0
		for i := end; i < len(data) && n < 16; i++ {
			c := data[i]
			if !(isIdent(c) && c != '.') {
				break
			}
			n++
		}
		return n >= 16
	case "userinfo":
		return userinfoGate(data, end)
	}
	return true
}

// userinfoGate reports whether the "://" ending at i is followed by
// "user:password@" before any separator.
func userinfoGate(data []byte, i int) bool {
	lim := min(len(data), i+200)
	colon := false
	for ; i < lim; i++ {
		switch data[i] {
		case ':':
			colon = true
		case '@':
			return colon
		case '/', ' ', '\t', '\n', '"', '\'', '`', '<', '>':
			return false
		}
	}
	return false
}

// hasDigitOrSymbol reports whether b holds a decimal digit or a
// password-style symbol: identifiers and prose have neither.
func hasDigitOrSymbol(b []byte) bool {
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			return true
		case c == '!' || c == '@' || c == '#' || c == '%' || c == '~':
			return true
		}
	}
	return false
}

// assignGate reports whether the keyword ending at i is followed, on the
// same line, by an identifier tail and an assignment operator.
func assignGate(data []byte, i int) bool {
	lim := min(len(data), i+64)
	for i < lim {
		c := data[i]
		if isIdent(c) || c == '"' || c == '\'' || c == ']' || c == '`' || c == ')' {
			i++
			continue
		}
		break
	}
	for i < lim && (data[i] == ' ' || data[i] == '\t') {
		i++
	}
	if i >= lim {
		return false
	}
	switch data[i] {
	case '=', ':':
		return true
	case '<', '>', '!':
		return i+1 < len(data) && data[i+1] == '='
	}
	return false
}

func isIdent(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// asciiLower appends the ASCII-lowercased data to dst. Offsets are kept:
// non-ASCII bytes are copied unchanged.
func asciiLower(dst, data []byte) []byte {
	if cap(dst) < len(data) {
		dst = make([]byte, len(data))
	}
	dst = dst[:len(data)]
	for i, c := range data {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst[i] = c
	}
	return dst
}

// shannon returns the Shannon entropy of s in bits per byte.
func shannon(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n := float64(len(s))
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// Fingerprint is the lowercase hex SHA-256 of the secret bytes.
func Fingerprint(secret []byte) string {
	sum := sha256.Sum256(secret)
	return hex.EncodeToString(sum[:])
}

// Redact keeps a short prefix of a secret and masks the rest.
func Redact(secret string) string {
	keep := 0
	switch n := utf8.RuneCountInString(secret); {
	case n >= 20:
		keep = 4
	case n >= 10:
		keep = 2
	}
	i := 0
	for k := 0; k < keep; k++ {
		_, size := utf8.DecodeRuneInString(secret[i:])
		i += size
	}
	return strings.ToValidUTF8(secret[:i], "?") + "*****"
}

// preview renders the line around a match with the secret redacted, cut to
// a readable length.
func preview(line []byte, s, e int, secret string) string {
	if s < 0 || e > len(line) || s > e {
		// The secret was found in decoded content: show only the redaction.
		return Redact(secret)
	}
	const ctx = 40
	from := max(0, s-ctx)
	to := min(len(line), e+ctx)
	var b strings.Builder
	if from > 0 {
		b.WriteString("…")
	}
	b.WriteString(strings.ToValidUTF8(string(line[from:s]), "?"))
	b.WriteString(Redact(secret))
	b.WriteString(strings.ToValidUTF8(string(line[e:to]), "?"))
	if to < len(line) {
		b.WriteString("…")
	}
	return strings.TrimSpace(b.String())
}

// lineIndex maps byte offsets to 1-based line and column (column counted in
// Unicode code points; invalid bytes count as one each).
type lineIndex struct {
	data []byte
	nl   []int // offsets of '\n'
	// the last position resolved, to resume rune counting
	lastLine, lastOff, lastCol int
}

func newLineIndex(data []byte) *lineIndex {
	li := &lineIndex{data: data}
	for i := 0; ; {
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 {
			break
		}
		li.nl = append(li.nl, i+j)
		i += j + 1
	}
	return li
}

func (li *lineIndex) pos(off int) (line, col int) {
	if off > len(li.data) {
		off = len(li.data)
	}
	line = sort.SearchInts(li.nl, off) + 1
	start := li.lineStart(line)
	// Count runes from the last position on the same line when it is
	// behind off: findings come in offset order, so long (minified) lines
	// are walked once, not once per finding.
	from, n := start, 0
	if li.lastLine == line && li.lastOff <= off {
		from, n = li.lastOff, li.lastCol-1
	}
	col = n + utf8.RuneCount(li.data[from:off]) + 1
	if off == len(li.data) || utf8.RuneStart(li.data[off]) {
		li.lastLine, li.lastOff, li.lastCol = line, off, col
	}
	return line, col
}

func (li *lineIndex) lineStart(line int) int {
	if line <= 1 {
		return 0
	}
	return li.nl[line-2] + 1
}

func (li *lineIndex) lineBytes(line int) []byte {
	s := li.lineStart(line)
	e := len(li.data)
	if line-1 < len(li.nl) {
		e = li.nl[line-1]
	}
	return li.data[s:e]
}
