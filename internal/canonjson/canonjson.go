// Package canonjson is the fast path of the event entry hash: it writes the
// RFC 8785 encoding of an event in one pass, without decoding before/after
// into maps, and defers to the reference encoder in the root package
// (steward.Event.CanonicalBytes, steward.Canonicalize) for anything unusual.
// Its tests hold both to identical bytes.
package canonjson

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/steward-nhi/steward"
)

var canonPool = sync.Pool{New: func() any { return new(canonicalizer) }}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// EntryHash returns the event's entry hash: SHA-256 hex of its canonical
// bytes, the same value as steward.Event.ComputeHash.
func EntryHash(e *steward.Event) (string, error) {
	var sum [sha256.Size]byte
	if err := EntryHashInto(e, &sum); err != nil {
		return "", err
	}
	return hex.EncodeToString(sum[:]), nil
}

// EntryHashInto writes the raw entry hash of e into sum.
func EntryHashInto(e *steward.Event, sum *[sha256.Size]byte) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	b, ok := appendEvent((*bp)[:0], e)
	if !ok {
		ref, err := e.CanonicalBytes()
		if err != nil {
			return err
		}
		*sum = sha256.Sum256(ref)
		return nil
	}
	*bp = b
	*sum = sha256.Sum256(b)
	return nil
}

// appendEvent appends the RFC 8785 encoding of the event's hashed fields
// (keys in sorted order); ok is false when the reference encoder must decide.
func appendEvent(b []byte, e *steward.Event) ([]byte, bool) {
	if e.Seq > 1<<53 || e.Seq < -(1<<53) {
		return b, false
	}
	ok := true
	field := func(name string) { b = append(b, name...) }
	b = append(b, `{"action":`...)
	b = appendString(b, e.Action)
	field(`,"actor":`)
	b = appendString(b, e.Actor)
	field(`,"after":`)
	if b, ok = appendRawOrNull(b, e.After); !ok {
		return b, false
	}
	field(`,"before":`)
	if b, ok = appendRawOrNull(b, e.Before); !ok {
		return b, false
	}
	field(`,"id":`)
	b = appendString(b, e.ID)
	field(`,"identity_id":`)
	b = appendString(b, e.IdentityID)
	field(`,"prev_hash":`)
	b = appendString(b, e.PrevHash)
	field(`,"reason":`)
	b = appendString(b, e.Reason)
	field(`,"seq":`)
	b = strconv.AppendInt(b, e.Seq, 10)
	field(`,"subject_id":`)
	b = appendString(b, e.SubjectID)
	field(`,"subject_type":`)
	b = appendString(b, e.SubjectType)
	field(`,"time":"`)
	b = e.Time.UTC().AppendFormat(b, steward.ChainTimeFormat)
	b = append(b, `"}`...)
	return b, true
}

func appendRawOrNull(b []byte, raw json.RawMessage) ([]byte, bool) {
	if len(raw) == 0 {
		return append(b, "null"...), true
	}
	c := canonPool.Get().(*canonicalizer)
	defer func() { c.src = nil; canonPool.Put(c) }()
	c.src, c.pos, c.members = raw, 0, c.members[:0]
	start := len(b)
	b, ok := c.value(b)
	if !ok {
		return b[:start], false
	}
	c.skipSpace()
	if c.pos != len(c.src) {
		return b[:start], false
	}
	return b, true
}

// appendString writes s as a JSON string the way the reference
// does after a json.Marshal round trip: invalid UTF-8 bytes become U+FFFD,
// only '"', '\\' and control characters are escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < utf8.RuneSelf && s[i] != '"' && s[i] != '\\' {
		i++
	}
	b = append(b, s[:i]...)
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"':
				b = append(b, '\\', '"')
			case c == '\\':
				b = append(b, '\\', '\\')
			case c >= 0x20:
				b = append(b, c)
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigit(c>>4), hexDigit(c&0xf))
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

func hexDigit(n byte) byte { return "0123456789abcdef"[n] }

// canonicalizer rewrites one JSON document into RFC 8785 form in a single
// pass. Objects are written as they come and their members reordered in
// place afterwards, so nothing is decoded into maps.
type canonicalizer struct {
	src     []byte
	pos     int
	members []member // stack of the members of the objects being written
	scratch []byte
}

type member struct {
	key        string
	start, end int // span of `"key":value` in the output
}

func (c *canonicalizer) skipSpace() {
	for c.pos < len(c.src) {
		switch c.src[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

func (c *canonicalizer) value(b []byte) ([]byte, bool) {
	c.skipSpace()
	if c.pos >= len(c.src) {
		return b, false
	}
	switch ch := c.src[c.pos]; {
	case ch == '{':
		return c.object(b)
	case ch == '[':
		return c.array(b)
	case ch == '"':
		start := c.pos
		s, simple, ok := c.str()
		if !ok {
			return b, false
		}
		if simple {
			return append(b, c.src[start:c.pos]...), true
		}
		return appendString(b, s), true
	case ch == 't':
		return c.literal(b, "true")
	case ch == 'f':
		return c.literal(b, "false")
	case ch == 'n':
		return c.literal(b, "null")
	default:
		return c.number(b)
	}
}

func (c *canonicalizer) literal(b []byte, lit string) ([]byte, bool) {
	if !strings.HasPrefix(string(c.src[c.pos:min(len(c.src), c.pos+len(lit))]), lit) {
		return b, false
	}
	c.pos += len(lit)
	return append(b, lit...), true
}

// str reads a JSON string and returns its decoded value; simple means it
// holds only printable ASCII without escapes, so its source is canonical.
func (c *canonicalizer) str() (s string, simple, ok bool) {
	start := c.pos
	c.pos++
	simple = true
	for c.pos < len(c.src) {
		ch := c.src[c.pos]
		switch {
		case ch == '"':
			c.pos++
			if simple {
				if c.pos-1 == start+1 {
					return "", true, true
				}
				// Zero-copy: src outlives every use of the string.
				return unsafe.String(&c.src[start+1], c.pos-1-start-1), true, true
			}
			return decodeString(c.src[start:c.pos])
		case ch == '\\':
			simple = false
			c.pos += 2
			continue
		case ch < 0x20:
			return "", false, false
		case ch >= utf8.RuneSelf:
			simple = false
		}
		c.pos++
	}
	return "", false, false
}

func decodeString(lit []byte) (string, bool, bool) {
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return "", false, false
	}
	return s, false, true
}

func (c *canonicalizer) array(b []byte) ([]byte, bool) {
	c.pos++
	b = append(b, '[')
	c.skipSpace()
	if c.pos < len(c.src) && c.src[c.pos] == ']' {
		c.pos++
		return append(b, ']'), true
	}
	for {
		var ok bool
		if b, ok = c.value(b); !ok {
			return b, false
		}
		c.skipSpace()
		if c.pos >= len(c.src) {
			return b, false
		}
		switch c.src[c.pos] {
		case ',':
			c.pos++
			b = append(b, ',')
		case ']':
			c.pos++
			return append(b, ']'), true
		default:
			return b, false
		}
	}
}

func (c *canonicalizer) object(b []byte) ([]byte, bool) {
	c.pos++
	b = append(b, '{')
	c.skipSpace()
	if c.pos < len(c.src) && c.src[c.pos] == '}' {
		c.pos++
		return append(b, '}'), true
	}
	base := len(c.members)
	sorted := true
	for {
		c.skipSpace()
		if c.pos >= len(c.src) || c.src[c.pos] != '"' {
			return b, false
		}
		keyStart := c.pos
		key, simple, ok := c.str()
		if !ok {
			return b, false
		}
		keyEnd := c.pos
		c.skipSpace()
		if c.pos >= len(c.src) || c.src[c.pos] != ':' {
			return b, false
		}
		c.pos++
		start := len(b)
		if simple {
			b = append(b, c.src[keyStart:keyEnd]...)
		} else {
			b = appendString(b, key)
		}
		b = append(b, ':')
		if b, ok = c.value(b); !ok {
			return b, false
		}
		if n := len(c.members); n > base {
			switch cmp := compareKeys(c.members[n-1].key, key); {
			case cmp == 0:
				return b, false // duplicate key: the reference keeps the last one
			case cmp > 0:
				sorted = false
			}
		}
		c.members = append(c.members, member{key: key, start: start, end: len(b)})
		c.skipSpace()
		if c.pos >= len(c.src) {
			return b, false
		}
		if c.src[c.pos] == ',' {
			c.pos++
			b = append(b, ',')
			continue
		}
		if c.src[c.pos] != '}' {
			return b, false
		}
		c.pos++
		break
	}
	ms := c.members[base:]
	if !sorted {
		slices.SortFunc(ms, func(x, y member) int { return compareKeys(x.key, y.key) })
		for i := 1; i < len(ms); i++ {
			if ms[i-1].key == ms[i].key {
				return b, false
			}
		}
		regionStart := len(b)
		for _, m := range ms {
			regionStart = min(regionStart, m.start)
		}
		c.scratch = append(c.scratch[:0], b[regionStart:]...)
		b = b[:regionStart]
		for i, m := range ms {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, c.scratch[m.start-regionStart:m.end-regionStart]...)
		}
	}
	c.members = c.members[:base]
	return append(b, '}'), true
}

// compareKeys orders keys by UTF-16 code units, as RFC 8785 requires.
func compareKeys(a, b string) int {
	ascii := true
	for i := 0; i < len(a) && ascii; i++ {
		ascii = a[i] < utf8.RuneSelf
	}
	for i := 0; i < len(b) && ascii; i++ {
		ascii = b[i] < utf8.RuneSelf
	}
	if ascii {
		return strings.Compare(a, b)
	}
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

func (c *canonicalizer) number(b []byte) ([]byte, bool) {
	start := c.pos
	p := c.pos
	if p < len(c.src) && c.src[p] == '-' {
		p++
	}
	var digits, n int
	if p < len(c.src) && c.src[p] == '0' {
		p, digits = p+1, 1
	} else {
		p, digits = c.digits(p)
	}
	if digits == 0 {
		return b, false
	}
	integer := true
	if p < len(c.src) && c.src[p] == '.' {
		integer = false
		if p, n = c.digits(p + 1); n == 0 {
			return b, false
		}
	}
	if p < len(c.src) && (c.src[p] == 'e' || c.src[p] == 'E') {
		integer = false
		p++
		if p < len(c.src) && (c.src[p] == '+' || c.src[p] == '-') {
			p++
		}
		if p, n = c.digits(p); n == 0 {
			return b, false
		}
	}
	c.pos = p
	lit := c.src[start:p]
	if integer && digits <= 15 {
		if string(lit) == "-0" {
			return append(b, '0'), true
		}
		return append(b, lit...), true
	}
	// Fractions, exponents and long integers are rare in event snapshots:
	// the reference formats them as ECMAScript's Number.prototype.toString.
	canon, err := steward.Canonicalize(lit)
	if err != nil {
		return b, false
	}
	return append(b, canon...), true
}

// digits returns the end of the run of decimal digits that starts at p, and
// its length.
func (c *canonicalizer) digits(p int) (end, n int) {
	end = p
	for end < len(c.src) && c.src[end] >= '0' && c.src[end] <= '9' {
		end++
	}
	return end, end - p
}
