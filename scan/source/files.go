// Package source provides scan.Source implementations: files and
// directories, standard input, git history and the git index (staged
// changes).
package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/steward-nhi/steward/scan"
)

// Files walks directories and files. Paths in fragments are relative to
// the directory given (a file given directly keeps its base name).
// Symbolic links to files are read; symbolic links to directories are
// never followed, so link loops cannot trap the walk.
type Files struct {
	Paths []string
	// SkipDirs are directory base names not descended into (default: .git).
	SkipDirs []string
}

var _ scan.Source = (*Files)(nil)

// Fragments implements scan.Source.
func (s *Files) Fragments(ctx context.Context, yield func(scan.Fragment) error) error {
	skip := s.SkipDirs
	if skip == nil {
		skip = []string{".git"}
	}
	for _, root := range s.Paths {
		info, err := os.Stat(root)
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		if !info.IsDir() {
			if err := yield(fileFragment(root, filepath.Base(root), info.Size())); err != nil {
				return err
			}
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			if err != nil {
				if yerr := yield(scan.Fragment{Path: rel, Err: err}); yerr != nil {
					return yerr
				}
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				if p != root {
					for _, name := range skip {
						if d.Name() == name {
							return fs.SkipDir
						}
					}
				}
				return nil
			}
			var size int64
			switch {
			case d.Type()&fs.ModeSymlink != 0:
				fi, err := os.Stat(p)
				if err != nil {
					return yield(scan.Fragment{Path: rel, Err: err})
				}
				if !fi.Mode().IsRegular() {
					return yield(scan.Fragment{Path: rel, Skip: scan.SkipSymlink})
				}
				size = fi.Size()
			case !d.Type().IsRegular():
				return nil
			default:
				fi, err := d.Info()
				if err != nil {
					return yield(scan.Fragment{Path: rel, Err: err})
				}
				size = fi.Size()
			}
			return yield(fileFragment(p, rel, size))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func fileFragment(p, rel string, size int64) scan.Fragment {
	sniff := !scan.IsKeystorePath(rel)
	return scan.Fragment{
		Path: rel,
		Size: size,
		Read: func(dst []byte) ([]byte, error) { return readFile(p, dst, size, sniff) },
	}
}

// readFile reads p into dst's storage when it is large enough. With sniff,
// a file whose first 8 KiB hold a NUL byte is not read further (ErrBinary).
func readFile(p string, dst []byte, size int64, sniff bool) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if int64(cap(dst)) < size+1 {
		// Sniff the head first: binary files are not read whole.
		if sniff && size > 8<<10 {
			var head [8 << 10]byte
			n, err := io.ReadFull(f, head[:])
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("read %s: %w", p, err)
			}
			if bytes.IndexByte(head[:n], 0) >= 0 {
				return nil, scan.ErrBinary
			}
			dst = make([]byte, n, size+512)
			copy(dst, head[:n])
		} else {
			dst = make([]byte, 0, size+512)
		}
	} else {
		dst = dst[:0]
	}
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := f.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if errors.Is(err, io.EOF) {
			return dst, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
	}
}

// Reader scans one stream (standard input) as a single fragment.
type Reader struct {
	Name string // path reported in findings, e.g. "stdin"
	R    io.Reader
	// MaxSize bounds what is read; larger input is reported as too large.
	MaxSize int64
}

// Fragments implements scan.Source.
func (s *Reader) Fragments(ctx context.Context, yield func(scan.Fragment) error) error {
	max := s.MaxSize
	if max <= 0 {
		max = scan.DefaultMaxFileSize
	}
	data, err := io.ReadAll(io.LimitReader(s.R, max+1))
	if err != nil {
		return yield(scan.Fragment{Path: s.Name, Err: err})
	}
	if int64(len(data)) > max {
		return yield(scan.Fragment{Path: s.Name, Skip: scan.SkipTooLarge})
	}
	if data == nil {
		data = []byte{}
	}
	return yield(scan.Fragment{Path: s.Name, Content: data})
}
