package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"regexp"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"go.yaml.in/yaml/v3"

	"github.com/steward-nhi/steward/internal/secretbox"
)

// problem is a start-up failure told in one line: what is wrong, and what
// to do about it. serve and doctor print the same lines.
type problem struct {
	what string // names the problem (and the value at fault)
	fix  string // one action that fixes it
	err  error  // the cause, for errors.Is/As
}

func (p *problem) Error() string { return p.what + ": " + p.fix }
func (p *problem) Unwrap() error { return p.err }

// explain turns a known start-up failure into a problem; other errors are
// returned as they are. cfg names the settings the fix should mention.
func explain(err error, cfg Config) error {
	if err == nil {
		return nil
	}
	var p *problem
	if errors.As(err, &p) {
		return p
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "28P01", "28000":
			return &problem{fmt.Sprintf("the database refused the credentials of %s (%s)", dbUser(cfg.DB), pg.Message),
				"fix the user or password in --db / STEWARD_DB (or the Secret that holds the URL)", err}
		case "3D000":
			return &problem{fmt.Sprintf("the database server has no such database (%s)", pg.Message),
				"create it (CREATE DATABASE …) or fix the database name in --db / STEWARD_DB", err}
		}
	}
	var op *net.OpError
	if cfg.DB != "" && errors.As(err, &op) && op.Op == "dial" {
		return &problem{fmt.Sprintf("cannot reach the database at %s (%v)", dbHost(cfg.DB), op.Err),
			"start PostgreSQL, or fix the host and port in --db / STEWARD_DB", err}
	}
	if errors.Is(err, secretbox.ErrWrongKey) {
		return &problem{"the master key is not the one the stored keys were sealed with",
			"set the STEWARD_MASTER_KEY the other nodes use, or restore the original key file (data_dir/master.key) from backup", err}
	}
	var se *startError
	if errors.As(err, &se) {
		return se.explain(cfg)
	}
	return err
}

// startError marks an error with the step that failed, so explain can name
// the setting behind it.
type startError struct {
	step string // "listen", "data_dir", "master_key"
	err  error
}

func (e *startError) Error() string { return e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

func (e *startError) explain(cfg Config) error {
	switch e.step {
	case "listen":
		switch {
		case errors.Is(e.err, syscall.EADDRINUSE):
			return &problem{fmt.Sprintf("address %s is already in use (another Steward or another program listens there)", cfg.Addr),
				"stop that program, or choose another address with --addr / STEWARD_ADDR", e}
		case errors.Is(e.err, fs.ErrPermission):
			return &problem{fmt.Sprintf("not allowed to listen on %s (ports below 1024 need privileges)", cfg.Addr),
				"listen on a port above 1024 with --addr / STEWARD_ADDR, or grant CAP_NET_BIND_SERVICE", e}
		}
		return &problem{fmt.Sprintf("cannot listen on %s (%v)", cfg.Addr, e.err), "fix --addr / STEWARD_ADDR (HOST:PORT on this machine)", e}
	case "data_dir":
		switch {
		case errors.Is(e.err, fs.ErrPermission), errors.Is(e.err, syscall.EROFS):
			return &problem{fmt.Sprintf("data directory %s is not writable by user %d", cfg.DataDir, os.Getuid()),
				"give that user write access (chown/chmod), or choose another directory with --data-dir / STEWARD_DATA_DIR", e}
		case errors.Is(e.err, syscall.ENOTDIR), errors.Is(e.err, fs.ErrExist):
			return &problem{fmt.Sprintf("data directory %s is not a directory (a file is in the way)", cfg.DataDir),
				"move the file, or choose another directory with --data-dir / STEWARD_DATA_DIR", e}
		}
		return &problem{fmt.Sprintf("data directory %s cannot be used (%v)", cfg.DataDir, e.err),
			"check the disk and permissions, or choose another directory with --data-dir / STEWARD_DATA_DIR", e}
	case "master_key":
		fix := "set STEWARD_MASTER_KEY to 64 hex characters (openssl rand -hex 32), or STEWARD_MASTER_KEY_FILE to a readable file holding them"
		if errors.Is(e.err, fs.ErrNotExist) || errors.Is(e.err, fs.ErrPermission) {
			fix = "make STEWARD_MASTER_KEY_FILE name a file this user can read (restore it from your backup: a new key cannot open the stored keys)"
		}
		return &problem{"the master key cannot be used (" + e.err.Error() + ")", fix, e}
	}
	return e.err
}

// dataDirWritable reports whether dir (or, if it does not exist yet, the
// nearest existing parent, where it would be created) takes a new file.
func dataDirWritable(dir string) error {
	probe := dir
	for {
		fi, err := os.Stat(probe)
		if err == nil {
			if !fi.IsDir() {
				return &fs.PathError{Op: "stat", Path: probe, Err: syscall.ENOTDIR}
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		parent := parentDir(probe)
		if parent == probe {
			return err
		}
		probe = parent
	}
	f, err := os.CreateTemp(probe, ".steward-write-check-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func parentDir(p string) string {
	p = strings.TrimRight(p, string(os.PathSeparator))
	i := strings.LastIndexByte(p, os.PathSeparator)
	switch {
	case i < 0:
		return "."
	case i == 0:
		return string(os.PathSeparator)
	}
	return p[:i]
}

// dbUser and dbHost name the user and host of a database URL (never the
// password).
func dbUser(dsn string) string {
	if c, err := pgconn.ParseConfig(dsn); err == nil {
		return fmt.Sprintf("user %q", c.User)
	}
	return "the configured user"
}

func dbHost(dsn string) string {
	if c, err := pgconn.ParseConfig(dsn); err == nil {
		return net.JoinHostPort(c.Host, fmt.Sprint(c.Port))
	}
	return redactURL(dsn)
}

var yamlUnknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type`)

// configFileError turns a YAML decoding error into one line; an unknown key
// names the key, its line and the fix.
func configFileError(path string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		more := ""
		if n := len(te.Errors) - 1; n > 0 {
			more = fmt.Sprintf(" (and %d more problem(s))", n)
		}
		if m := yamlUnknownField.FindStringSubmatch(te.Errors[0]); m != nil {
			return &problem{fmt.Sprintf("config file %s line %s: unknown key %q%s", path, m[1], m[2], more),
				"remove it or correct its spelling (every key is listed in docs/config.md)", err}
		}
		return &problem{fmt.Sprintf("config file %s %s%s", path, te.Errors[0], more), "correct that value (see docs/config.md)", err}
	}
	msg := strings.ReplaceAll(yamlMessage(err), "\n", " ")
	return &problem{fmt.Sprintf("config file %s: %s", path, msg), "correct the YAML (see docs/config.md)", err}
}
