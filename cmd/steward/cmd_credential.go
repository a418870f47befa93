package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
)

var credentialColumns = []string{"id", "type", "status", "client_id", "hint", "fingerprint", "scopes", "expires_at", "overlap_until", "last_used_at", "revoked_where"}

func credentialRow(c *steward.BrokerCredential) []string {
	return []string{c.ID, c.Type, string(c.Status), c.ClientID, c.Hint, c.Fingerprint, strings.Join(c.Scopes, ","), ts(c.ExpiresAt), ts(c.OverlapUntil), ts(c.LastUsedAt), c.RevokedWhere}
}

func credentialTable(raw any, cs ...*steward.BrokerCredential) table {
	t := table{columns: credentialColumns, raw: raw}
	for _, c := range cs {
		t.rows = append(t.rows, credentialRow(c))
	}
	return t
}

// durationFlag reads an optional duration flag (nil when empty).
func durationFlag(name, s string) (*steward.Duration, error) {
	if s == "" {
		return nil, nil
	}
	d, err := steward.ParseDuration(s)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", name, err)
	}
	return &d, nil
}

// readJWK reads the --public-jwk file (nil when none is named).
func readJWK(path string) (json.RawMessage, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--public-jwk: %w", err)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("--public-jwk %s is not JSON", path)
	}
	return b, nil
}

// printIssued prints a new secret: on a terminal the bare secret on stdout
// (so it can be piped) and the details on stderr.
func (g *globals) printIssued(out *broker.Issued) error {
	if g.output != "table" {
		return g.print(kv(out))
	}
	if out.Secret != "" {
		fmt.Fprintln(g.stdout, out.Secret)
	}
	fmt.Fprintf(g.stderr, "credential %s (%s) for identity %s, fingerprint %s, expires %s", out.ID, out.Type, out.IdentityID, out.Fingerprint, ts(out.ExpiresAt))
	if out.ClientID != "" {
		fmt.Fprintf(g.stderr, ", client_id %s", out.ClientID)
	}
	if out.Secret != "" {
		fmt.Fprint(g.stderr, "; the secret above is shown once")
	}
	fmt.Fprintln(g.stderr)
	return nil
}

// newCredentialCmd is `steward credential issue|list|rotate|revoke`.
func newCredentialCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "credential", Aliases: []string{"credentials", "cred"}, Short: "Issue, list, rotate, extend and revoke Steward-issued credentials"}

	var in broker.IssueRequest
	var ttl, jwkFile string
	issue := &cobra.Command{
		Use:   "issue IDENTITY_ID [--type api_key|client_secret|private_key_jwt]",
		Short: "Issue a credential for an identity (the secret is printed once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if in.TTL, err = durationFlag("ttl", ttl); err != nil {
				return err
			}
			if in.PublicJWK, err = readJWK(jwkFile); err != nil {
				return err
			}
			out, err := g.client().Broker().Issue(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return g.printIssued(out)
		},
	}
	f := issue.Flags()
	f.StringVar(&in.Type, "type", "api_key", "api_key, client_secret or private_key_jwt")
	f.StringVar(&ttl, "ttl", "", "lifetime, e.g. 720h or 30d (capped by the identity's tier; default the tier's maximum)")
	f.StringSliceVar(&in.Scopes, "scope", nil, "scopes (a subset of the identity's; default all of them)")
	f.StringSliceVar(&in.AllowedCIDRs, "cidr", nil, "networks the credential may be used from, e.g. 10.0.0.0/8")
	f.StringVar(&jwkFile, "public-jwk", "", "file with the client's public JWK (private_key_jwt)")
	f.StringVar(&in.Reason, "reason", "", "why (recorded)")

	list := listCmd(g, "list IDENTITY_ID", "List an identity's credentials (metadata and fingerprints)", cobra.ExactArgs(1), false,
		credentialColumns, credentialRow, func(ctx context.Context, args []string, _ int, _ string) (*steward.Page[*steward.BrokerCredential], error) {
			return whole(g.client().Broker().List(ctx, args[0]))
		})

	show := &cobra.Command{
		Use: "show CREDENTIAL_ID", Short: "Show a credential (metadata and fingerprint)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client().Broker().Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(credentialTable(c, c))
		},
	}

	var extTTL, extReason string
	extend := &cobra.Command{
		Use: "extend CREDENTIAL_ID --ttl 30d", Short: "Extend a credential's lifetime (capped by the tier; recorded)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := steward.ParseDuration(extTTL)
			if err != nil {
				return fmt.Errorf("--ttl: %w", err)
			}
			c, err := g.client().Broker().Extend(cmd.Context(), args[0], broker.ExtendRequest{TTL: d, Reason: extReason})
			if err != nil {
				return err
			}
			return g.print(credentialTable(c, c))
		},
	}
	extend.Flags().StringVar(&extTTL, "ttl", "", "new lifetime from now, e.g. 720h or 30d (required)")
	extend.Flags().StringVar(&extReason, "reason", "", "why (recorded)")
	_ = extend.MarkFlagRequired("ttl")

	var overlap, rotReason, rotJWK string
	rotate := &cobra.Command{
		Use: "rotate CREDENTIAL_ID [--overlap 1h]", Short: "Issue a successor; the old credential stays valid for the overlap only", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := broker.RotateRequest{Reason: rotReason}
			var err error
			if req.Overlap, err = durationFlag("overlap", overlap); err != nil {
				return err
			}
			if req.PublicJWK, err = readJWK(rotJWK); err != nil {
				return err
			}
			out, err := g.client().Broker().Rotate(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			if g.output == "table" {
				fmt.Fprintf(g.stderr, "credential %s replaced; it stays valid until %s\n", args[0], ts(out.Predecessor.OverlapUntil))
			}
			return g.printIssued(&out.Issued)
		},
	}
	rotate.Flags().StringVar(&overlap, "overlap", "", "how long the old credential stays valid (default 0: revoked at once)")
	rotate.Flags().StringVar(&rotReason, "reason", "", "why (recorded)")
	rotate.Flags().StringVar(&rotJWK, "public-jwk", "", "file with the successor's public JWK (private_key_jwt)")

	var revReason string
	revoke := &cobra.Command{
		Use: "revoke CREDENTIAL_ID", Short: "Revoke a credential at once", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client().Broker().Revoke(cmd.Context(), args[0], broker.RevokeRequest{Reason: revReason})
			if err != nil {
				return err
			}
			return g.print(credentialTable(c, c))
		},
	}
	revoke.Flags().StringVar(&revReason, "reason", "manual", "why (recorded)")
	cmd.AddCommand(issue, list, show, rotate, revoke, extend)
	cmd.AddCommand(newCredentialStoreCmds(g)...)
	return cmd
}

// newKeysCmd is `steward keys list|rotate`.
func newKeysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Aliases: []string{"key"}, Short: "Manage the access-token signing keys"}
	keyColumns := []string{"kid", "alg", "status", "created_at", "retired_at", "publish_until"}
	keyRow := func(k *steward.SigningKey) []string {
		return []string{k.KID, k.Algorithm, k.Status, tv(k.CreatedAt), ts(k.RetiredAt), ts(k.PublishUntil)}
	}
	list := listCmd(g, "list", "List signing keys", cobra.NoArgs, false, keyColumns, keyRow,
		func(ctx context.Context, _ []string, _ int, _ string) (*steward.Page[*steward.SigningKey], error) {
			return whole(g.client().Broker().ListKeys(ctx))
		})
	rotate := &cobra.Command{
		Use: "rotate", Short: "Make a new signing key; the old one stays published until its tokens expire", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := g.client().Broker().RotateKeys(cmd.Context())
			if err != nil {
				return err
			}
			return g.print(table{columns: keyColumns, rows: [][]string{keyRow(k)}, raw: k})
		},
	}
	cmd.AddCommand(list, rotate)
	return cmd
}
