// Package scan finds credentials in files, standard input and git history.
//
// A Source yields Fragments (a file, a blob of git history, stdin); the
// Detector runs the rules of package scan/rules over each fragment: an
// Aho-Corasick keyword prefilter over the lowercased bytes, then the rule
// regexes only in windows around keyword hits, then entropy, allowlists and
// checksum validation. Scanner drives sources through a worker pool and
// applies suppressions (.stewardignore, inline steward:allow, a baseline).
package scan

import (
	"context"
	"time"
)

// Finding is one detected secret. The secret itself is only set when the
// caller asked for it (--show-secret); Fingerprint is always set.
type Finding struct {
	Rule        string   `json:"rule"`
	Description string   `json:"description"`
	File        string   `json:"file"`
	Line        int      `json:"line"`
	Column      int      `json:"column"`
	EndLine     int      `json:"end_line"`
	EndColumn   int      `json:"end_column"`
	Commit      string   `json:"commit"`
	Author      string   `json:"author,omitempty"`
	Email       string   `json:"email,omitempty"`
	Date        string   `json:"date,omitempty"`
	Context     string   `json:"context,omitempty"`
	Severity    string   `json:"severity"`
	Confidence  string   `json:"confidence"`
	Tags        []string `json:"tags,omitempty"`
	Entropy     float64  `json:"entropy"`
	Preview     string   `json:"preview"`
	Secret      string   `json:"secret,omitempty"`
	Fingerprint string   `json:"fingerprint"`
}

// Fragment is one unit of input: a file, a git blob, stdin.
type Fragment struct {
	// Path is slash-separated and relative to the scanned root.
	Path string
	// Content is the data; when nil, Read is called to load it.
	Content []byte
	// Read loads the content, reusing dst's storage when it can.
	Read func(dst []byte) ([]byte, error)
	// Size is the content size when known before reading (0 otherwise).
	Size int64

	Commit string
	Author string
	Email  string
	Date   time.Time

	// Skip, when not empty, tells the scanner that the source skipped this
	// input and why ("too-large", "symlink", "binary"…); Err reports an
	// input that could not be read.
	Skip string
	Err  error
}

// Source yields fragments. It stops early when yield returns an error and
// returns that error.
type Source interface {
	Fragments(ctx context.Context, yield func(Fragment) error) error
}

// Multi chains sources one after the other.
type Multi []Source

// Fragments implements Source.
func (m Multi) Fragments(ctx context.Context, yield func(Fragment) error) error {
	for _, s := range m {
		if err := s.Fragments(ctx, yield); err != nil {
			return err
		}
	}
	return nil
}

// Summary describes what a scan looked at.
type Summary struct {
	Files      int            `json:"files"`
	Bytes      int64          `json:"bytes"`
	Findings   int            `json:"findings"`
	Suppressed int            `json:"suppressed"`
	Skipped    map[string]int `json:"skipped,omitempty"`
	Errors     []string       `json:"errors,omitempty"`
}

// ExitError is returned by the CLI when findings remain (Code 1 or the
// --exit-code value) or the scan failed (Code 2, with Err); its ExitCode is
// the process exit status.
type ExitError struct {
	Code int
	Err  error
}

// Error returns the underlying error's message, or "" when the exit status
// only reports remaining findings (the report already said so; the CLI's
// main prints nothing for an empty message).
func (e ExitError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return ""
}

// Unwrap returns the underlying error, if any.
func (e ExitError) Unwrap() error { return e.Err }

// ExitCode returns the process exit status.
func (e ExitError) ExitCode() int { return e.Code }
