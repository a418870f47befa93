package kit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/steward-nhi/steward"
)

// Element is one value of a JSON array: its 1-based index, the line it
// starts on and its text.
type Element struct {
	Index int
	Line  int
	Raw   json.RawMessage
}

// JSONArray reads data as a JSON array, or as an object that holds the
// array under one of keys (for instance {"value": […]} from Microsoft
// Graph). An object without any of keys comes back as a single element with
// single set, for formats that accept one object. Anything else, and any
// syntax error, is an error naming the line.
func JSONArray(data []byte, keys ...string) (elems []Element, single bool, err error) {
	data = StripBOM(data)
	lines := newLineIndex(data)
	start := skipSpace(data, 0)
	if start == len(data) {
		return nil, false, Invalid(0, "the file is empty")
	}
	var top json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&top); err != nil {
		return nil, false, jsonError(err, lines, 0)
	}
	if rest := skipSpace(data, int(dec.InputOffset())); rest < len(data) {
		return nil, false, Invalid(lines.at(rest), "unexpected data after the JSON value")
	}
	switch data[start] {
	case '[':
		elems, err := arrayElements(data, start, lines)
		return elems, false, err
	case '{':
		key, off, ok, err := findKey(data, start, lines, keys)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return []Element{{Index: 1, Line: lines.at(start), Raw: top}}, true, nil
		}
		if data[off] != '[' {
			return nil, false, Invalid(lines.at(off), "%q must be an array", key)
		}
		elems, err := arrayElements(data, off, lines)
		return elems, false, err
	default:
		return nil, false, Invalid(lines.at(start), "expected a JSON array or object")
	}
}

// arrayElements splits the array starting at data[start] into elements.
func arrayElements(data []byte, start int, lines *lineIndex) ([]Element, error) {
	dec := json.NewDecoder(bytes.NewReader(data[start:]))
	if _, err := dec.Token(); err != nil {
		return nil, jsonError(err, lines, start)
	}
	var out []Element
	for dec.More() {
		off := skipSpaceComma(data, start+int(dec.InputOffset()))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, jsonError(err, lines, start)
		}
		out = append(out, Element{Index: len(out) + 1, Line: lines.at(off), Raw: raw})
	}
	return out, nil
}

// findKey returns the offset of the value of the first of keys in the
// object starting at data[start].
func findKey(data []byte, start int, lines *lineIndex, keys []string) (string, int, bool, error) {
	if len(keys) == 0 {
		return "", 0, false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data[start:]))
	if _, err := dec.Token(); err != nil {
		return "", 0, false, jsonError(err, lines, start)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", 0, false, jsonError(err, lines, start)
		}
		name, _ := tok.(string)
		if slices.ContainsFunc(keys, func(k string) bool { return strings.EqualFold(k, name) }) {
			off := start + int(dec.InputOffset())
			for off < len(data) && (isSpace(data[off]) || data[off] == ':') {
				off++
			}
			return name, off, true, nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", 0, false, jsonError(err, lines, start)
		}
	}
	return "", 0, false, nil
}

// Decode unmarshals one element into v. A type mismatch comes back as a
// record error naming the field.
func Decode(el Element, v any) *steward.RecordError {
	if err := json.Unmarshal(el.Raw, v); err != nil {
		re := &steward.RecordError{Record: el.Index, Line: el.Line, Message: err.Error()}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			re.Field = te.Field
			re.Message = fmt.Sprintf("a JSON %s cannot be read as %s", te.Value, te.Type)
		}
		return re
	}
	return nil
}

func jsonError(err error, lines *lineIndex, base int) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		off := base + int(se.Offset)
		return Invalid(lines.at(off), "column %d: %s", lines.column(off), se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return Invalid(lines.at(len(lines.data)), "unexpected end of the file: the JSON is incomplete")
	}
	return Invalid(0, "%s", err.Error())
}

// StripBOM replaces a leading UTF-8 byte order mark with spaces, keeping
// every offset, line and column where it was.
func StripBOM(data []byte) []byte {
	if !bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return data
	}
	out := slices.Clone(data)
	copy(out, "   ")
	return out
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

func skipSpace(data []byte, off int) int {
	for off < len(data) && isSpace(data[off]) {
		off++
	}
	return off
}

func skipSpaceComma(data []byte, off int) int {
	for off < len(data) && (isSpace(data[off]) || data[off] == ',') {
		off++
	}
	return off
}

// lineIndex turns byte offsets into 1-based lines and columns.
type lineIndex struct {
	data   []byte
	starts []int // offset of the first byte of each line
}

func newLineIndex(data []byte) *lineIndex {
	li := &lineIndex{data: data, starts: []int{0}}
	for i, b := range data {
		if b == '\n' {
			li.starts = append(li.starts, i+1)
		}
	}
	return li
}

func (li *lineIndex) at(off int) int {
	n, found := slices.BinarySearch(li.starts, off)
	if found {
		return n + 1
	}
	return n
}

func (li *lineIndex) column(off int) int {
	return off - li.starts[li.at(off)-1] + 1
}

// Decode unmarshals el into v, or records why it cannot and returns false.
func (c *Collector) Decode(el Element, v any) bool {
	if re := Decode(el, v); re != nil {
		c.Bad(re.Record, re.Line, "", re.Field, "%s", re.Message)
		return false
	}
	return true
}

// Records collects one record per element: each is decoded into a T and
// handed to build, which returns the record or the field at fault and why.
func Records[T any](elems []Element, build func(*T) (steward.ImportRecord, string, error)) Result {
	var c Collector
	for _, el := range elems {
		if c.Hopeless() {
			break
		}
		var v T
		if !c.Decode(el, &v) {
			continue
		}
		rec, field, err := build(&v)
		if err != nil {
			c.Bad(el.Index, el.Line, rec.Identity.ExternalRef, field, "%v", err)
			continue
		}
		rec.Line = el.Line
		c.Add(el.Index, rec)
	}
	return c.Result()
}
