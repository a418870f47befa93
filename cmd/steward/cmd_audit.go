package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/audit"
	"github.com/steward-nhi/steward/httpapi"
	"github.com/steward-nhi/steward/sqlstore"
)

// brokenChainError is a verification failure: exit code 2, one line.
type brokenChainError struct{ rep *steward.VerifyReport }

func (e *brokenChainError) Error() string { return e.rep.Summary() }
func (e *brokenChainError) ExitCode() int { return 2 }

// auditTarget is where an audit command reads the chain: a local database
// (--data-dir, --db) or the server.
type auditTarget struct {
	dataDir string
	db      string
}

func (t *auditTarget) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.dataDir, "data-dir", "", "read the SQLite database in this directory directly (server stopped)")
	cmd.Flags().StringVar(&t.db, "db", "", "read this PostgreSQL database directly (postgres://…)")
}

func (t *auditTarget) local() bool { return t.dataDir != "" || t.db != "" }

// open opens the local database, refusing to create one.
func (t *auditTarget) open(ctx context.Context) (*sqlstore.Store, error) {
	if t.dataDir != "" && t.db != "" {
		return nil, errors.New("give --data-dir or --db, not both")
	}
	if t.db != "" {
		return sqlstore.Open(ctx, t.db, sqlstore.Options{})
	}
	path := filepath.Join(t.dataDir, "steward.db")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no Steward database at %s: %w", path, err)
	}
	return sqlstore.Open(ctx, path, sqlstore.Options{})
}

// remote returns the audit API client, honouring the inherited --server,
// --token and -o flags.
func auditGlobals(cmd *cobra.Command, g *globals) *globals {
	c := *g
	if v, err := cmd.Flags().GetString("server"); err == nil && v != "" {
		c.server = v
	}
	if v, err := cmd.Flags().GetString("token"); err == nil && v != "" {
		c.token = v
	}
	if v, err := cmd.Flags().GetString("output"); err == nil {
		c.output = v
	}
	return &c
}

func newAuditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify, export and prove the tamper-evident audit chain",
		Long: `Every change and security-relevant act is an entry of a hash chain; signed
checkpoints (Merkle tree heads) make truncation and rewriting detectable.

  steward audit verify                      # against the server
  steward audit verify --data-dir ./steward-data --checkpoint cp.json
  steward audit export --since 24h -o jsonl > audit.jsonl
  steward audit checkpoint --file cp.json   # keep it where the DB admin cannot write
  steward audit prove 42 > proof.json
  steward audit verify-proof proof.json --public-key audit.pub`,
	}
	cmd.AddCommand(newAuditVerifyCmd(g), newAuditExportCmd(g), newAuditCheckpointCmd(g), newAuditProveCmd(g),
		newAuditVerifyProofCmd(g), newAuditPublicKeyCmd(g))
	return cmd
}

func readCheckpoints(paths []string) ([]*steward.Checkpoint, error) {
	var out []*steward.Checkpoint
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		// One checkpoint, or JSON lines of them.
		dec := json.NewDecoder(strings.NewReader(string(b)))
		for {
			var c steward.Checkpoint
			if err := dec.Decode(&c); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("checkpoint file %s: %w", p, err)
			}
			out = append(out, &c)
		}
	}
	return out, nil
}

func newAuditVerifyCmd(g *globals) *cobra.Command {
	var t auditTarget
	var cpFiles []string
	var pubFile string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Re-compute the chain and the checkpoints; exit 2 naming the first bad entry",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			g := auditGlobals(cmd, g)
			ctx := cmd.Context()
			extra, err := readCheckpoints(cpFiles)
			if err != nil {
				return err
			}
			if len(cpFiles) == 0 && t.dataDir != "" {
				// The server keeps its checkpoints beside the database too.
				cp, err := (&audit.CheckpointFile{Path: filepath.Join(t.dataDir, "audit-checkpoints.jsonl")}).Latest()
				if err != nil {
					return err
				}
				if cp != nil {
					extra = append(extra, cp)
				}
			}
			var keys audit.Keys
			if pubFile != "" {
				b, err := os.ReadFile(pubFile)
				if err != nil {
					return err
				}
				pub, err := audit.ParsePublicKey(b)
				if err != nil {
					return fmt.Errorf("%s: %w", pubFile, err)
				}
				keys = audit.KeyMap(pub)
			}
			var rep *steward.VerifyReport
			if t.local() {
				st, err := t.open(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				rep, err = audit.VerifyStore(ctx, st, extra, keys)
				if err != nil {
					return err
				}
			} else {
				c := g.client().Audit()
				cps, err := c.ListCheckpoints(ctx, steward.MaxLimit)
				if err != nil {
					return err
				}
				if keys == nil {
					pk, err := c.PublicKey(ctx)
					if err != nil && steward.ErrorCode(err) != steward.ENOTIMPLEMENTED {
						return err
					}
					keys = audit.Keys{}
					if pk != nil && pk.PublicKey != "" {
						pub, err := audit.ParsePublicKey([]byte(pk.PublicKey))
						if err != nil {
							return err
						}
						keys = audit.KeyMap(pub)
					}
				}
				rep, err = audit.Verify(ctx, remoteScan(c), audit.VerifyOptions{Checkpoints: append(cps, extra...), Keys: keys})
				if err != nil {
					return err
				}
			}
			rep.External = rep.External || len(extra) > 0
			if g.output == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else if rep.OK {
				fmt.Fprintln(g.stdout, rep.Summary())
			}
			if !rep.OK {
				return &brokenChainError{rep}
			}
			return nil
		},
	}
	t.flags(cmd)
	cmd.Flags().StringArrayVar(&cpFiles, "checkpoint", nil, "also check this exported checkpoint file (detects a truncated tail); repeatable")
	cmd.Flags().StringVar(&pubFile, "public-key", "", "verify checkpoint signatures with this public key only (PEM or base64)")
	return cmd
}

// remoteScan streams the chain through GET /api/v1/audit.
func remoteScan(c httpapi.AuditClient) audit.ScanFunc {
	return func(ctx context.Context, after int64, fn func([]*steward.Event) error) error {
		f := steward.EventFilter{Ascending: true, Limit: steward.MaxLimit}
		for {
			page, err := c.ListAudit(ctx, f)
			if err != nil {
				return err
			}
			if len(page.Items) > 0 {
				if err := fn(page.Items); err != nil {
					return err
				}
			}
			if page.NextCursor == "" {
				return nil
			}
			f.Cursor = page.NextCursor
		}
	}
}

// parseSince reads an RFC 3339 time, a date, or a duration ago (24h, 7d).
func parseSince(s string, now time.Time) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return &t, nil
		}
	}
	d, err := steward.ParseDuration(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an RFC 3339 time, a date or a duration like 24h or 7d", s)
	}
	t := now.Add(-time.Duration(d))
	return &t, nil
}

// toOutput calls write with the file at path (created or truncated, mode
// 0600), or with stdout when path is "" or "-", and closes the file: the
// first error wins.
func toOutput(g *globals, path string, write func(w io.Writer) error) error {
	if path == "" || path == "-" {
		return write(g.stdout)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func newAuditExportCmd(g *globals) *cobra.Command {
	var t auditTarget
	var since, until, file, actor, action string
	var afterSeq int64
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export chain entries as JSON lines (-o jsonl) for a SIEM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			g := auditGlobals(cmd, g)
			if g.output != "jsonl" && g.output != "json" && g.output != "table" {
				return fmt.Errorf("output format %q: export writes jsonl", g.output)
			}
			now := time.Now()
			s, err := parseSince(since, now)
			if err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			u, err := parseSince(until, now)
			if err != nil {
				return fmt.Errorf("--until: %w", err)
			}
			var list audit.Lister
			if t.local() {
				st, err := t.open(cmd.Context())
				if err != nil {
					return err
				}
				defer st.Close()
				list = st.ListEvents
			} else {
				list = g.client().Audit().ListAudit
			}
			var n int64
			err = toOutput(g, file, func(w io.Writer) (err error) {
				n, err = audit.ExportJSONL(cmd.Context(), list, audit.ExportFilter{Since: s, Until: u, Actor: actor, Action: action, AfterSeq: afterSeq}, w)
				return err
			})
			if err != nil {
				return err
			}
			if file != "" && file != "-" {
				fmt.Fprintf(g.stderr, "exported %d entries to %s\n", n, file)
			}
			return nil
		},
	}
	t.flags(cmd)
	cmd.Flags().StringVar(&since, "since", "", "entries at or after this time (RFC 3339, a date, or a duration ago like 24h)")
	cmd.Flags().StringVar(&until, "until", "", "entries before this time")
	cmd.Flags().Int64Var(&afterSeq, "after-seq", 0, "entries after this sequence number")
	cmd.Flags().StringVar(&actor, "actor", "", "only this actor")
	cmd.Flags().StringVar(&action, "action", "", "only this action")
	cmd.Flags().StringVar(&file, "file", "", "write to this file instead of stdout")
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newAuditCheckpointCmd(g *globals) *cobra.Command {
	var t auditTarget
	var file string
	cmd := &cobra.Command{
		Use:   "checkpoint",
		Short: "Sign a checkpoint over the chain now and print it (or write it to --file)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			g := auditGlobals(cmd, g)
			ctx := steward.WithPrincipal(cmd.Context(), steward.SystemPrincipal("cli"))
			var c *steward.Checkpoint
			if t.local() {
				st, err := t.open(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				box, err := masterBox(g.getenv, t.dataDir)
				if err != nil {
					return err
				}
				signer, err := audit.LoadSigner(ctx, st, box, time.Now())
				if err != nil {
					return err
				}
				if c, err = audit.NewService(audit.Config{Store: st, Signer: signer, TreeBase: 0}).Checkpoint(ctx); err != nil {
					return err
				}
			} else {
				var err error
				if c, err = g.client().Audit().CreateCheckpoint(cmd.Context()); err != nil {
					return err
				}
			}
			return toOutput(g, file, func(w io.Writer) error { return writeJSON(w, c) })
		},
	}
	t.flags(cmd)
	cmd.Flags().StringVar(&file, "file", "", "write the checkpoint to this file instead of stdout")
	return cmd
}

func newAuditProveCmd(g *globals) *cobra.Command {
	var t auditTarget
	var treeSize int64
	var file string
	cmd := &cobra.Command{
		Use:   "prove SEQ",
		Short: "Print the inclusion proof of entry SEQ in a signed checkpoint (JSON)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g := auditGlobals(cmd, g)
			ctx := steward.WithPrincipal(cmd.Context(), steward.SystemPrincipal("cli"))
			seq, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || seq < 1 {
				return fmt.Errorf("SEQ %q is not a positive sequence number", args[0])
			}
			var p *steward.InclusionProof
			if t.local() {
				st, err := t.open(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				var cp *steward.Checkpoint
				if treeSize > 0 {
					cp, err = st.CheckpointCovering(ctx, treeSize)
					if err == nil && (cp == nil || cp.TreeSize != treeSize) {
						err = fmt.Errorf("no checkpoint of tree size %d", treeSize)
					}
				} else if cs, lerr := st.ListCheckpoints(ctx, 1); lerr != nil {
					err = lerr
				} else if len(cs) == 0 {
					err = errors.New("no checkpoint yet: make one with steward audit checkpoint")
				} else {
					cp = cs[0]
				}
				if err != nil {
					return err
				}
				if seq > cp.TreeSize {
					return fmt.Errorf("entry %d is newer than the checkpoint of %d entries; make a checkpoint first", seq, cp.TreeSize)
				}
				tree, err := audit.BuildTree(ctx, st)
				if err != nil {
					return err
				}
				if p, err = audit.BuildProof(ctx, tree, st, seq, cp); err != nil {
					return err
				}
			} else if p, err = g.client().Audit().Proof(cmd.Context(), seq, treeSize); err != nil {
				return err
			}
			return toOutput(g, file, func(w io.Writer) error { return writeJSON(w, p) })
		},
	}
	t.flags(cmd)
	cmd.Flags().Int64Var(&treeSize, "tree-size", 0, "prove against the checkpoint of this tree size (default: the newest)")
	cmd.Flags().StringVar(&file, "file", "", "write the proof to this file instead of stdout")
	return cmd
}

func newAuditVerifyProofCmd(g *globals) *cobra.Command {
	var pubFile string
	cmd := &cobra.Command{
		Use:   "verify-proof FILE",
		Short: "Check an inclusion proof offline with only the public key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g := auditGlobals(cmd, g)
			if pubFile == "" {
				return errors.New("--public-key FILE is required (get it with steward audit public-key)")
			}
			kb, err := os.ReadFile(pubFile)
			if err != nil {
				return err
			}
			pub, err := audit.ParsePublicKey(kb)
			if err != nil {
				return fmt.Errorf("%s: %w", pubFile, err)
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var p steward.InclusionProof
			if err := json.Unmarshal(b, &p); err != nil {
				return fmt.Errorf("%s is not a proof: %w", args[0], err)
			}
			if err := audit.VerifyProof(&p, audit.KeyMap(pub)); err != nil {
				return &proofError{fmt.Sprintf("proof of entry %d is invalid: %v", p.Seq, err)}
			}
			fmt.Fprintf(g.stdout, "proof valid: entry %d (hash %s) is in the checkpoint of %d entries signed by key %s at %s\n",
				p.Seq, p.EntryHash, p.TreeSize, p.Checkpoint.KeyID, p.Checkpoint.Time.Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringVar(&pubFile, "public-key", "", "the checkpoint signing public key (PEM, base64, or the JSON of GET /api/v1/audit/public-key)")
	return cmd
}

type proofError struct{ msg string }

func (e *proofError) Error() string { return e.msg }
func (e *proofError) ExitCode() int { return 2 }

func newAuditPublicKeyCmd(g *globals) *cobra.Command {
	var t auditTarget
	var file string
	cmd := &cobra.Command{
		Use:   "public-key",
		Short: "Print the checkpoint signing public key (PEM; -o json for all fields)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			g := auditGlobals(cmd, g)
			var pk *steward.AuditPublicKey
			if t.local() {
				st, err := t.open(cmd.Context())
				if err != nil {
					return err
				}
				defer st.Close()
				keys, err := st.ListAuditKeys(cmd.Context())
				if err != nil {
					return err
				}
				if len(keys) == 0 {
					return &fs.PathError{Op: "read", Path: "audit_keys", Err: errors.New("no signing key yet (start the server once)")}
				}
				pk = audit.ExportPublicKey(keys[0])
			} else {
				var err error
				if pk, err = g.client().Audit().PublicKey(cmd.Context()); err != nil {
					return err
				}
			}
			return toOutput(g, file, func(w io.Writer) error {
				if g.output == "json" {
					return writeJSON(w, pk)
				}
				_, err := io.WriteString(w, pk.PEM)
				return err
			})
		},
	}
	t.flags(cmd)
	cmd.Flags().StringVar(&file, "file", "", "write the key to this file instead of stdout")
	return cmd
}
