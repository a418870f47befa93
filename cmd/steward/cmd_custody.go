package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/custody"
	"github.com/steward-nhi/steward/rotation"
)

// readSecretFile reads a secret from a file or stdin ("-"), without its
// trailing newline.
func (g *globals) readSecretFile(path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(g.stdin, custody.MaxSecretLen+2))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("--from-file: %w", err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("--from-file %s: the secret is empty", path)
	}
	return s, nil
}

// newCredentialStoreCmd is `steward credential store ID --from-file F|-`
// and `steward credential register IDENTITY_ID --ref ROLE --from-file F`.
func newCredentialStoreCmds(g *globals) []*cobra.Command {
	var from, reason string
	store := &cobra.Command{
		Use: "store CREDENTIAL_ID --from-file FILE|-", Short: "Keep a new version of an external secret in custody (encrypted at rest)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			secret, err := g.readSecretFile(from)
			if err != nil {
				return err
			}
			out, err := g.client().Custody().Put(cmd.Context(), args[0], custody.PutRequest{Secret: secret, Reason: reason})
			if err != nil {
				return err
			}
			return g.print(kv(out, "id", out.ID, "identity_id", out.IdentityID, "version", strconv.FormatInt(out.Version, 10), "fingerprint", out.Fingerprint))
		},
	}
	store.Flags().StringVar(&from, "from-file", "", "file holding the secret, or - for standard input (required)")
	store.Flags().StringVar(&reason, "reason", "", "why (recorded)")
	_ = store.MarkFlagRequired("from-file")

	var in custody.RegisterRequest
	var regFrom string
	register := &cobra.Command{
		Use: "register IDENTITY_ID --ref ACCOUNT --from-file FILE|- [--rotator NAME]", Short: "Register an external password of an identity, kept in custody", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if in.Secret, err = g.readSecretFile(regFrom); err != nil {
				return err
			}
			in.Type = steward.CredentialTypePassword
			out, err := g.client().Custody().Register(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return g.print(kv(out, "id", out.ID, "identity_id", out.IdentityID, "external_ref", out.ExternalRef, "rotator", out.Rotator, "fingerprint", out.Fingerprint))
		},
	}
	register.Flags().StringVar(&in.ExternalRef, "ref", "", "the account at the provider, e.g. the role name (required)")
	register.Flags().StringVar(&in.Rotator, "rotator", "", "the rotator that can rotate it")
	register.Flags().StringVar(&regFrom, "from-file", "", "file holding the secret, or - for standard input (required)")
	register.Flags().StringVar(&in.Reason, "reason", "", "why (recorded)")
	_ = register.MarkFlagRequired("ref")
	_ = register.MarkFlagRequired("from-file")
	read := &cobra.Command{
		Use: "secret CREDENTIAL_ID", Short: "Print the current secret (only for the identity itself, or one a policy allows; recorded)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := g.client().Custody().Read(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if g.output == "table" {
				fmt.Fprintln(g.stdout, out.Secret)
				return nil
			}
			return g.print(kv(out))
		},
	}
	return []*cobra.Command{store, register, read}
}

var rotationColumns = []string{"id", "status", "step", "rotator", "old_fingerprint", "new_fingerprint", "proof", "started_at", "finished_at", "seqs"}

func rotationRow(r *steward.Rotation) []string {
	seqs := make([]string, len(r.Seqs))
	for n, s := range r.Seqs {
		seqs[n] = strconv.FormatInt(s, 10)
	}
	return []string{r.ID, r.Status, r.Step, r.Rotator, short(r.OldFingerprint), short(r.NewFingerprint), r.Proof, tv(r.StartedAt), ts(r.FinishedAt), strings.Join(seqs, ",")}
}

// newRotationCmd is `steward rotation run|status|history ID` and the
// rotators.
func newRotationCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "rotation", Aliases: []string{"rotations"}, Short: "Rotate secrets in custody at their providers, with proof"}
	var in rotation.RotateRequest
	var overlap string
	run := &cobra.Command{
		Use: "run CREDENTIAL_ID [--rotator NAME] [--overlap 1h] [--dry-run]", Short: "Rotate now: create, set at the provider, test, finish and prove the old secret refused", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if in.Overlap, err = durationFlag("overlap", overlap); err != nil {
				return err
			}
			r, err := g.client().Custody().Rotate(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return g.print(table{columns: rotationColumns, rows: [][]string{rotationRow(r)}, raw: r})
		},
	}
	run.Flags().StringVar(&in.Rotator, "rotator", "", "rotator (default: the one the credential was registered with)")
	run.Flags().StringVar(&overlap, "overlap", "", "how long the old version stays readable by its identity (default 0)")
	run.Flags().BoolVar(&in.DryRun, "dry-run", false, "check the rotator and the current secret; change nothing")
	run.Flags().StringVar(&in.Reason, "reason", "", "why (recorded)")
	status := &cobra.Command{
		Use: "status CREDENTIAL_ID", Short: "Custody versions and the latest rotation of a credential", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := g.client().Custody().Status(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			t := table{columns: []string{"version", "state", "fingerprint", "created_at", "retire_at", "destroyed_at"}, raw: st}
			for _, v := range st.Custody.Versions {
				t.rows = append(t.rows, []string{strconv.FormatInt(v.Version, 10), v.State, short(v.Fingerprint), tv(v.CreatedAt), ts(v.RetireAt), ts(v.DestroyedAt)})
			}
			if st.Latest != nil && g.output == "table" {
				fmt.Fprintf(g.stderr, "latest rotation %s: %s (step %q) %s\n", st.Latest.ID, st.Latest.Status, st.Latest.Step, st.Latest.Proof)
			}
			return g.print(t)
		},
	}
	history := listCmd(g, "history CREDENTIAL_ID", "Rotations of a credential, newest first", cobra.ExactArgs(1), false, rotationColumns, rotationRow,
		func(ctx context.Context, args []string, _ int, _ string) (*steward.Page[*steward.Rotation], error) {
			return whole(g.client().Custody().History(ctx, args[0]))
		})

	var rin rotation.RotatorRequest
	var url string
	var extra map[string]string
	addRotator := &cobra.Command{
		Use: "add-rotator NAME --kind postgres|redis|webhook --url URL [--config KEY=VALUE]…", Short: "Create a rotator (its admin password or signing secret goes into custody)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rin.Name, rin.Config = args[0], map[string]string{"url": url}
			for k, v := range extra {
				if k == "url" {
					return usageError{fmt.Errorf("--config url=… duplicates --url")}
				}
				rin.Config[k] = v
			}
			r, err := g.client().Custody().CreateRotator(cmd.Context(), rin)
			if err != nil {
				return err
			}
			return g.print(kv(r, "name", r.Name, "kind", r.Kind, "url", r.Config["url"], "admin_credential_id", r.AdminCredentialID))
		},
	}
	addRotator.Flags().StringVar(&rin.Kind, "kind", "postgres", "provider kind: postgres, redis or webhook")
	addRotator.Flags().StringVar(&url, "url", "", "provider URL with the admin account (postgres://admin:pw@host/db, redis://admin:pw@host:6379) or the owner's rotation endpoint (https://…) (required)")
	addRotator.Flags().StringToStringVar(&extra, "config", nil, "further settings, e.g. acl_save=true (redis), secret=whsec_… and timeout=30s (webhook)")
	_ = addRotator.MarkFlagRequired("url")
	rotators := listCmd(g, "rotators", "List rotators", cobra.NoArgs, false, []string{"name", "kind", "url", "admin_credential_id"},
		func(r *steward.Rotator) []string {
			return []string{r.Name, r.Kind, r.Config["url"], r.AdminCredentialID}
		},
		func(ctx context.Context, _ []string, _ int, _ string) (*steward.Page[*steward.Rotator], error) {
			return whole(g.client().Custody().ListRotators(ctx))
		})
	showRotator := &cobra.Command{
		Use: "rotator NAME", Short: "Show a rotator (never its password)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := g.client().Custody().GetRotator(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(kv(r, "name", r.Name, "kind", r.Kind, "url", r.Config["url"], "admin_credential_id", r.AdminCredentialID))
		},
	}
	cmd.AddCommand(run, status, history, addRotator, rotators, showRotator)
	return cmd
}

var leaseColumns = []string{"id", "identity_id", "rotator", "username", "status", "expires_at", "max_expires_at", "revoked_where"}

func leaseRow(l *steward.Lease) []string {
	return []string{l.ID, l.IdentityID, l.Rotator, l.Username, l.Status, tv(l.ExpiresAt), tv(l.MaxExpiresAt), l.RevokedWhere}
}

// newLeaseCmd is `steward lease create|renew|revoke|list`.
func newLeaseCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "lease", Aliases: []string{"leases"}, Short: "Dynamic database credentials: created on request, dropped when the lease ends"}
	var in rotation.LeaseRequest
	var ttl string
	create := &cobra.Command{
		Use: "create --rotator NAME --identity ID --statement SQL [--ttl 10m]", Short: "Create a dynamic credential (the password is printed once)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if in.TTL, err = durationFlag("ttl", ttl); err != nil {
				return err
			}
			out, err := g.client().Custody().CreateLease(cmd.Context(), in)
			if err != nil {
				return err
			}
			return g.print(kv(out, "id", out.ID, "username", out.Username, "password", out.Password, "expires_at", tv(out.ExpiresAt),
				"ttl_capped", strconv.FormatBool(out.TTLCapped)))
		},
	}
	create.Flags().StringVar(&in.Rotator, "rotator", "", "rotator (required)")
	create.Flags().StringVar(&in.IdentityID, "identity", "", "identity the lease belongs to (required)")
	create.Flags().StringArrayVar(&in.CreationStatements, "statement", nil, `creation statement with {{name}}, {{password}}, {{expiration}} (repeatable; required)`)
	create.Flags().StringVar(&ttl, "ttl", "", "lifetime (default 1h; capped by the identity's tier)")
	create.Flags().StringVar(&in.Reason, "reason", "", "why (recorded)")
	for _, f := range []string{"rotator", "identity", "statement"} {
		_ = create.MarkFlagRequired(f)
	}
	var renewTTL string
	renew := &cobra.Command{
		Use: "renew LEASE_ID [--ttl 1h]", Short: "Renew a lease (capped by the tier, and said so)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := durationFlag("ttl", renewTTL)
			if err != nil {
				return err
			}
			out, err := g.client().Custody().RenewLease(cmd.Context(), args[0], rotation.RenewRequest{TTL: d})
			if err != nil {
				return err
			}
			if out.Warning != "" {
				fmt.Fprintln(g.stderr, "warning:", out.Warning)
			}
			return g.print(table{columns: leaseColumns, rows: [][]string{leaseRow(out.Lease)}, raw: out})
		},
	}
	renew.Flags().StringVar(&renewTTL, "ttl", "", "new lifetime from now (default 1h)")
	revoke := &cobra.Command{
		Use: "revoke LEASE_ID", Short: "Revoke a lease: its sessions end and its role is dropped at the provider", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := g.client().Custody().RevokeLease(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(table{columns: leaseColumns, rows: [][]string{leaseRow(l)}, raw: l})
		},
	}
	var identity, status string
	list := listCmd(g, "list", "List leases", cobra.NoArgs, false, leaseColumns, leaseRow,
		func(ctx context.Context, _ []string, _ int, _ string) (*steward.Page[*steward.Lease], error) {
			return whole(g.client().Custody().ListLeases(ctx, identity, status))
		})
	list.Flags().StringVar(&identity, "identity", "", "only this identity's leases")
	list.Flags().StringVar(&status, "status", "", "active, revoked or expired")
	cmd.AddCommand(create, renew, revoke, list)
	return cmd
}
