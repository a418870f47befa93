// Package kit holds what every importer shares: the Result type, a Collector
// that validates and de-duplicates records, time parsing and JSON helpers
// that know which line each record starts on.
package kit

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// Result is what a parser read from one file: the good records, in file
// order, and the bad ones with the reason: the first MaxListedErrors of
// them, the others only counted in Unlisted.
type Result struct {
	Records []steward.ImportRecord `json:"records"`
	Bad     []steward.RecordError  `json:"bad"`
	// Unlisted counts the bad records beyond those listed in Bad.
	Unlisted int `json:"-"`
	// Stopped says why the parser gave up before the end of the file (the
	// records read made the import hopeless); "" when it read it all.
	Stopped string `json:"-"`
}

// BadCount is the number of bad records, listed or not.
func (r Result) BadCount() int { return len(r.Bad) + r.Unlisted }

// Bounds on what a parse keeps and reads, so that a file of millions of
// bad rows costs neither memory nor minutes: the first MaxListedErrors
// record errors are listed (with their lines) and the rest counted, and
// the parse stops, the file refused, once the records read make the
// import hopeless: more than HopelessBad bad records before a good one
// (the file is not this format), or, after HopelessAfter records, more than
// HopelessPercent of them bad (a corrupted or wrong export).
const (
	MaxListedErrors = steward.MaxImportErrors
	HopelessBad     = 1000
	HopelessAfter   = 10000
	HopelessPercent = 10
)

// Invalid returns the error for a file that cannot be read as the format at
// all. line is 1-based; 0 means unknown.
func Invalid(line int, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		msg = fmt.Sprintf("line %d: %s", line, msg)
	}
	return steward.Errorf(steward.EINVALID, "%s", msg)
}

// ReadAll reads the whole input. A read error (for instance a body over the
// caller's size limit) is wrapped, not turned into a format error, so that
// the caller can recognise it with errors.As.
func ReadAll(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read import: %w", err)
	}
	return b, nil
}

// NewIdentity returns an imported, active identity with non-nil labels and
// scopes. Sensitivity and environment stay empty for the caller to default.
func NewIdentity(kind steward.Kind, provider, externalRef, name string) steward.Identity {
	return steward.Identity{
		Name:        name,
		Kind:        kind,
		Provider:    provider,
		ExternalRef: externalRef,
		Source:      steward.SourceImported,
		Status:      steward.StatusActive,
		Scopes:      []string{},
		Labels:      map[string]string{},
	}
}

// ParseTime reads an RFC 3339 / ISO 8601 time that carries a zone (Z, +hh:mm
// or +hhmm) and returns it in UTC.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999Z07"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time with a time zone", s)
}

// Newest returns the latest of the non-nil times, or nil.
func Newest(ts ...*time.Time) *time.Time {
	var n *time.Time
	for _, t := range ts {
		if t != nil && (n == nil || t.After(*n)) {
			n = t
		}
	}
	if n == nil {
		return nil
	}
	c := *n
	return &c
}

// Ptr returns a pointer to a copy of t.
func Ptr(t time.Time) *time.Time { return &t }

// Collector gathers records and record errors. Add validates each record
// the way the store will (with a placeholder for fields the caller
// defaults) so that a record that could never be stored is reported here,
// with its line, rather than failing later.
//
// It lists the first MaxListedErrors record errors and counts the others;
// once the import is hopeless (see HopelessBad) it ignores what follows and
// Hopeless tells the parser to stop reading.
type Collector struct {
	res Result
	// The good records, in chunks of recordChunk: a large export grows no
	// slice of big records by copying it (Result joins the chunks once).
	chunks    [][]steward.ImportRecord
	records   []steward.ImportRecord // the chunk being filled
	seen      map[string]seenAt      // external_ref → where it was first seen
	good, bad int
}

// recordChunk is how many records a chunk of Collector holds.
const recordChunk = 1024

// seenAt is where a record was first seen.
type seenAt struct{ record, line int }

// Bad records a per-record problem.
func (c *Collector) Bad(record, line int, ref, field, format string, args ...any) {
	if c.res.Stopped != "" {
		return
	}
	c.bad++
	if len(c.res.Bad) < MaxListedErrors {
		c.res.Bad = append(c.res.Bad, steward.RecordError{Record: record, Line: line, Ref: ref, Field: field, Message: fmt.Sprintf(format, args...)})
	} else {
		c.res.Unlisted++
	}
	c.check(record, line)
}

// Hopeless reports whether the records so far make the import hopeless;
// the parser should then stop reading (the Result says why).
func (c *Collector) Hopeless() bool { return c.res.Stopped != "" }

// check stops the collection when the import has become hopeless.
func (c *Collector) check(record, line int) {
	n := c.good + c.bad
	var why string
	switch {
	case c.good == 0 && c.bad > HopelessBad:
		why = fmt.Sprintf("%d bad records before a good one: the file does not look like this export format", c.bad)
	case n >= HopelessAfter && c.bad*100 > n*HopelessPercent:
		why = fmt.Sprintf("%d of the first %d records are bad (more than %d%%): the export looks corrupted", c.bad, n, HopelessPercent)
	default:
		return
	}
	where := fmt.Sprintf("record %d", record)
	if line > 0 {
		where += fmt.Sprintf(" (line %d)", line)
	}
	c.res.Stopped = "stopped reading at " + where + ": " + why
}

// Add normalises rec, checks it and keeps it, or records why not. record is
// the 1-based index of the record in the file.
func (c *Collector) Add(record int, rec steward.ImportRecord) {
	if c.res.Stopped != "" {
		return
	}
	id := &rec.Identity
	id.Normalize()
	// Times as the store keeps them, so that a re-import compares equal.
	id.CreatedAt = id.CreatedAt.UTC().Truncate(time.Microsecond)
	ref := id.ExternalRef
	if rec.Credentials == nil {
		rec.Credentials = []steward.Credential{}
	}
	for n := range rec.Credentials {
		cr := &rec.Credentials[n]
		cr.Normalize()
		if cr.Scopes == nil {
			cr.Scopes = []string{}
		}
		if cr.Metadata == nil {
			cr.Metadata = map[string]string{}
		}
	}
	slices.SortStableFunc(rec.Credentials, func(a, b steward.Credential) int { return cmp.Compare(a.ExternalRef, b.ExternalRef) })

	probe := *id
	if probe.Sensitivity == "" {
		probe.Sensitivity = steward.SensitivityMedium
	}
	if err := probe.Validate(); err != nil {
		c.Bad(record, rec.Line, ref, steward.ErrorField(err), "%s", message(err))
		return
	}
	if ref == "" {
		c.Bad(record, rec.Line, ref, "external_ref", "is empty")
		return
	}
	for n, cr := range rec.Credentials {
		if n > 0 && cr.ExternalRef == rec.Credentials[n-1].ExternalRef {
			c.Bad(record, rec.Line, ref, "credentials", "credential %q appears twice", cr.ExternalRef)
			return
		}
		cr.IdentityID = "imported"
		if err := cr.Validate(); err != nil {
			c.Bad(record, rec.Line, ref, "credentials."+cr.ExternalRef+"."+steward.ErrorField(err), "%s", message(err))
			return
		}
	}
	if c.seen == nil {
		c.seen = map[string]seenAt{}
	}
	if first, dup := c.seen[ref]; dup {
		where := fmt.Sprintf("record %d", first.record)
		if first.line > 0 {
			where += fmt.Sprintf(" (line %d)", first.line)
		}
		c.Bad(record, rec.Line, ref, "external_ref", "%q appears again: first seen at %s", ref, where)
		return
	}
	c.seen[ref] = seenAt{record, rec.Line}
	if len(c.records) == cap(c.records) {
		if c.records != nil {
			c.chunks = append(c.chunks, c.records)
		}
		c.records = make([]steward.ImportRecord, 0, recordChunk)
	}
	c.records = append(c.records, rec)
	c.good++
	c.check(record, rec.Line)
}

func message(err error) string {
	var e *steward.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// Result returns the records in the order they were added and the record
// errors ordered by record and line. Both slices are non-nil.
func (c *Collector) Result() Result {
	r := c.res
	switch {
	case len(c.chunks) > 0:
		r.Records = slices.Concat(append(slices.Clip(c.chunks), c.records)...)
	case c.records != nil:
		r.Records = c.records
	default:
		r.Records = []steward.ImportRecord{}
	}
	if r.Bad == nil {
		r.Bad = []steward.RecordError{}
	}
	slices.SortStableFunc(r.Bad, func(a, b steward.RecordError) int {
		return cmp.Or(cmp.Compare(a.Record, b.Record), cmp.Compare(a.Line, b.Line))
	})
	return r
}
