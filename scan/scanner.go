package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultMaxFileSize is the largest input scanned unless configured.
const DefaultMaxFileSize = 10 << 20

// ErrBinary is returned by a Fragment's Read when the content turned out to
// be binary (a NUL byte in the first 8 KiB); the scanner counts it as
// skipped, not as an error.
var ErrBinary = errors.New("binary content")

// retainMax bounds the read buffer a worker keeps between fragments.
const retainMax = 1 << 20

// Skip reasons reported in Summary.Skipped.
const (
	SkipBinary   = "binary"
	SkipTooLarge = "too-large"
	SkipSymlink  = "symlink"
	SkipIgnored  = "ignored"
)

// Options configure a scan.
type Options struct {
	Detector    *Detector
	Workers     int   // 0 means GOMAXPROCS
	MaxFileSize int64 // 0 means DefaultMaxFileSize
	// ShowSecret keeps the secret in findings; otherwise only the
	// fingerprint and a redacted preview are kept.
	ShowSecret bool
	// Ignore holds .stewardignore entries (may be nil).
	Ignore *Ignore
	// Baseline fingerprints are not reported (may be nil).
	Baseline map[string]bool
	// Progress, when set, is called after each fragment with the running
	// totals of fragments and bytes done.
	Progress func(files int, bytes int64)
}

// Scan reads every fragment of src, detects secrets with a pool of workers
// and returns the findings sorted by file, line, column and rule.
func Scan(ctx context.Context, src Source, opts Options) ([]Finding, Summary, error) {
	if opts.Detector == nil {
		return nil, Summary{}, errors.New("scan: no detector")
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	maxSize := opts.MaxFileSize
	if maxSize <= 0 {
		maxSize = DefaultMaxFileSize
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		mu       sync.Mutex
		findings []Finding
		sum      = Summary{Skipped: map[string]int{}}
		files    atomic.Int64
		nbytes   atomic.Int64
	)
	skip := func(reason string) {
		mu.Lock()
		sum.Skipped[reason]++
		mu.Unlock()
	}
	fail := func(path string, err error) {
		mu.Lock()
		sum.Errors = append(sum.Errors, fmt.Sprintf("%s: %v", path, err))
		mu.Unlock()
	}

	ch := make(chan Fragment, workers*4)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for fr := range ch {
				if ctx.Err() != nil {
					continue
				}
				data := fr.Content
				if data == nil && fr.Read != nil {
					var err error
					data, err = fr.Read(buf[:0])
					if errors.Is(err, ErrBinary) {
						skip(SkipBinary)
						continue
					}
					if err != nil {
						fail(fr.Path, err)
						continue
					}
					if cap(data) <= retainMax {
						buf = data
					}
				}
				if int64(len(data)) > maxSize {
					skip(SkipTooLarge)
					continue
				}
				if f, ok := keystoreFinding(fr, data); ok {
					files.Add(1)
					nbytes.Add(int64(len(data)))
					mu.Lock()
					findings = append(findings, f)
					mu.Unlock()
					continue
				}
				if isBinary(data) {
					skip(SkipBinary)
					continue
				}
				fs, suppressed := opts.Detector.Detect(fr.Path, data)
				if k := classify(fr.Path); k == kindYAML || k == kindHelmValues {
					decoded, values := opts.Detector.detectK8sSecrets(fr.Path, data)
					fs = mergeDecoded(fs, decoded, values)
				}
				var cc *contextCache
				for i := range fs {
					f := &fs[i]
					f.Commit, f.Author, f.Email = fr.Commit, fr.Author, fr.Email
					if !fr.Date.IsZero() {
						f.Date = fr.Date.UTC().Format("2006-01-02T15:04:05Z")
					}
					if cc == nil {
						cc = newContextCache(fr.Path, data)
					}
					if c := cc.at(f.Line); c != "" {
						if f.Context != "" {
							f.Context = c + " " + f.Context
						} else {
							f.Context = c
						}
					}
					if !opts.ShowSecret {
						f.Secret = ""
					}
				}
				n := files.Add(1)
				b := nbytes.Add(int64(len(data)))
				mu.Lock()
				findings = append(findings, fs...)
				sum.Suppressed += suppressed
				if opts.Progress != nil {
					opts.Progress(int(n), b)
				}
				mu.Unlock()
			}
		}()
	}

	srcErr := src.Fragments(ctx, func(fr Fragment) error {
		if fr.Err != nil {
			fail(fr.Path, fr.Err)
			return nil
		}
		if fr.Skip != "" {
			skip(fr.Skip)
			return nil
		}
		if opts.Ignore.MatchPath(fr.Path) {
			skip(SkipIgnored)
			return nil
		}
		if fr.Size > maxSize {
			skip(SkipTooLarge)
			return nil
		}
		select {
		case ch <- fr:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(ch)
	wg.Wait()
	sum.Files = int(files.Load())
	sum.Bytes = nbytes.Load()

	findings = dedupe(findings)
	kept := findings[:0]
	for _, f := range findings {
		if opts.Ignore.MatchFingerprint(f.Fingerprint) || opts.Baseline[f.Fingerprint] {
			sum.Suppressed++
			continue
		}
		kept = append(kept, f)
	}
	findings = kept
	sum.Findings = len(findings)
	if len(sum.Skipped) == 0 {
		sum.Skipped = nil
	}
	sort.Strings(sum.Errors)
	if srcErr != nil {
		return findings, sum, fmt.Errorf("scan: %w", srcErr)
	}
	return findings, sum, ctx.Err()
}

// dedupe sorts findings and drops repeats of the same rule, place and
// secret (a secret found both as text and through a decoder).
func dedupe(fs []Finding) []Finding {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Commit < b.Commit
	})
	out := fs[:0]
	for i, f := range fs {
		if i > 0 {
			p := out[len(out)-1]
			if p.File == f.File && p.Line == f.Line && p.Column == f.Column && p.Rule == f.Rule && p.Fingerprint == f.Fingerprint && p.Commit == f.Commit {
				continue
			}
		}
		out = append(out, f)
	}
	return out
}

// mergeDecoded adds findings from decoded Kubernetes Secret values and
// drops findings that matched the encoded text of those values: the
// decoded findings (with the real secret's fingerprint) replace them.
func mergeDecoded(fs, decoded []Finding, values map[[2]int]bool) []Finding {
	if len(values) == 0 {
		return append(fs, decoded...)
	}
	out := fs[:0]
	for _, f := range fs {
		if !values[[2]int{f.Line, f.Column}] {
			out = append(out, f)
		}
	}
	return append(out, decoded...)
}

// keystoreExts name binary key containers: PKCS#12 and Java keystores.
var keystoreExts = map[string]string{".p12": "PKCS#12", ".pfx": "PKCS#12", ".jks": "Java keystore", ".keystore": "Java keystore"}

// IsKeystorePath reports whether a path names a key container file that the
// scanner reports whole; sources should read such files even when binary.
func IsKeystorePath(p string) bool {
	_, ok := keystoreExts[strings.ToLower(path.Ext(p))]
	return ok
}

// keystoreFinding reports a committed key container file (a PKCS#12 hint):
// its content is binary, so no rule can match inside it. The fingerprint is
// the SHA-256 of the whole file.
func keystoreFinding(fr Fragment, data []byte) (Finding, bool) {
	ext := strings.ToLower(path.Ext(fr.Path))
	kind, ok := keystoreExts[ext]
	if !ok || len(data) == 0 || !isBinary(data) && !bytes.HasPrefix(data, []byte{0x30, 0x82}) {
		return Finding{}, false
	}
	f := Finding{
		Rule: "pkcs12-file", Description: kind + " key container file", File: fr.Path,
		Line: 1, Column: 1, EndLine: 1, EndColumn: 1,
		Commit: fr.Commit, Author: fr.Author, Email: fr.Email,
		Severity: "high", Confidence: "medium", Tags: []string{"pkcs12", "private-key"},
		Preview: "binary " + kind + " file (" + ext + ")", Fingerprint: Fingerprint(data),
	}
	if !fr.Date.IsZero() {
		f.Date = fr.Date.UTC().Format("2006-01-02T15:04:05Z")
	}
	return f, true
}

// isBinary reports whether data has a NUL byte in its first 8 KiB.
func isBinary(data []byte) bool {
	if len(data) > 8<<10 {
		data = data[:8<<10]
	}
	return bytes.IndexByte(data, 0) >= 0
}
