package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
)

func credentialTable(raw any, cs ...*steward.BrokerCredential) table {
	t := table{columns: []string{"id", "type", "status", "client_id", "hint", "fingerprint", "scopes", "expires_at", "last_used_at"}, raw: raw}
	for _, c := range cs {
		t.rows = append(t.rows, []string{c.ID, c.Type, string(c.Status), c.ClientID, c.Hint, c.Fingerprint, strings.Join(c.Scopes, ","), ts(c.ExpiresAt), ts(c.LastUsedAt)})
	}
	return t
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
	cmd := &cobra.Command{Use: "credential", Aliases: []string{"credentials", "cred"}, Short: "Issue, list, rotate and revoke Steward-issued credentials"}

	var in broker.IssueRequest
	var ttl, jwkFile string
	issue := &cobra.Command{
		Use:   "issue IDENTITY_ID [--type api_key|client_secret|private_key_jwt]",
		Short: "Issue a credential for an identity (the secret is printed once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ttl != "" {
				d, err := steward.ParseDuration(ttl)
				if err != nil {
					return fmt.Errorf("--ttl: %w", err)
				}
				in.TTL = &d
			}
			if jwkFile != "" {
				b, err := os.ReadFile(jwkFile)
				if err != nil {
					return fmt.Errorf("--public-jwk: %w", err)
				}
				if !json.Valid(b) {
					return fmt.Errorf("--public-jwk %s is not JSON", jwkFile)
				}
				in.PublicJWK = b
			}
			out, err := g.client().IssueCredential(cmd.Context(), args[0], in)
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

	list := &cobra.Command{
		Use: "list IDENTITY_ID", Short: "List an identity's credentials (metadata and fingerprints)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cs, err := g.client().ListBrokerCredentials(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(credentialTable(cs, cs...))
		},
	}

	var overlap, rotReason, rotJWK string
	rotate := &cobra.Command{
		Use: "rotate CREDENTIAL_ID [--overlap 1h]", Short: "Issue a successor; the old credential stays valid for the overlap only", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := broker.RotateRequest{Reason: rotReason}
			if overlap != "" {
				d, err := steward.ParseDuration(overlap)
				if err != nil {
					return fmt.Errorf("--overlap: %w", err)
				}
				req.Overlap = &d
			}
			if rotJWK != "" {
				b, err := os.ReadFile(rotJWK)
				if err != nil {
					return fmt.Errorf("--public-jwk: %w", err)
				}
				req.PublicJWK = b
			}
			out, err := g.client().RotateCredential(cmd.Context(), args[0], req)
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
			c, err := g.client().RevokeCredential(cmd.Context(), args[0], broker.RevokeRequest{Reason: revReason})
			if err != nil {
				return err
			}
			return g.print(credentialTable(c, c))
		},
	}
	revoke.Flags().StringVar(&revReason, "reason", "manual", "why (recorded)")
	cmd.AddCommand(issue, list, rotate, revoke)
	return cmd
}

// newKeysCmd is `steward keys list|rotate`.
func newKeysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Aliases: []string{"key"}, Short: "Manage the access-token signing keys"}
	keyTable := func(raw any, ks ...*steward.SigningKey) table {
		t := table{columns: []string{"kid", "alg", "status", "created_at", "retired_at", "publish_until"}, raw: raw}
		for _, k := range ks {
			t.rows = append(t.rows, []string{k.KID, k.Algorithm, k.Status, tv(k.CreatedAt), ts(k.RetiredAt), ts(k.PublishUntil)})
		}
		return t
	}
	list := &cobra.Command{
		Use: "list", Short: "List signing keys", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, err := g.client().ListSigningKeys(cmd.Context())
			if err != nil {
				return err
			}
			return g.print(keyTable(ks, ks...))
		},
	}
	rotate := &cobra.Command{
		Use: "rotate", Short: "Make a new signing key; the old one stays published until its tokens expire", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := g.client().RotateSigningKey(cmd.Context())
			if err != nil {
				return err
			}
			return g.print(keyTable(k, k))
		},
	}
	cmd.AddCommand(list, rotate)
	return cmd
}
