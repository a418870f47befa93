package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/federation"
)

func newFederationCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "federation", Short: "Trusted issuers of workload tokens and the bindings that map their tokens to identities"}
	issuer := &cobra.Command{Use: "issuer", Aliases: []string{"issuers"}, Short: "Manage trusted issuers"}
	issuer.AddCommand(newIssuerAddCmd(g), newIssuerUpdateCmd(g), newIssuerListCmd(g), newIssuerShowCmd(g), newIssuerRemoveCmd(g))
	cmd.AddCommand(issuer, newBindCmd(g), newBindingsCmd(g), newUnbindCmd(g))
	return cmd
}

var issuerColumns = []string{"name", "kind", "issuer", "keys", "audiences", "algorithms", "version", "updated_at", "updated_by"}

func issuerRow(t *steward.TrustedIssuer) []string {
	keys := "discovery"
	switch {
	case t.JWKSURI != "":
		keys = t.JWKSURI
	case len(t.JWKS) > 0:
		keys = "inline jwks"
	case len(t.SPIFFEBundle) > 0:
		keys = "spiffe bundle"
	}
	return []string{t.Name, t.Kind, t.Issuer, keys, strings.Join(t.Audiences, " "), strings.Join(t.Algorithms, " "), fmt.Sprint(t.Version), tv(t.UpdatedAt), t.UpdatedBy}
}

func newIssuerAddCmd(g *globals) *cobra.Command {
	var in steward.TrustedIssuer
	var jwksFile, bundleFile, maxAge, skew string
	c := &cobra.Command{
		Use:   "add NAME --kind KIND --issuer URL (--discovery | --jwks-uri URL | --jwks FILE | --spiffe-bundle FILE)",
		Short: "Trust an issuer (kubernetes, github-actions, gitlab-ci, spiffe, oidc)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in.Name = args[0]
			var err error
			if in.JWKS, err = g.readJSONFile(jwksFile); err != nil {
				return fmt.Errorf("--jwks: %w", err)
			}
			if in.SPIFFEBundle, err = g.readJSONFile(bundleFile); err != nil {
				return fmt.Errorf("--spiffe-bundle: %w", err)
			}
			for flag, dst := range map[string]*steward.Duration{maxAge: &in.MaxTokenAge, skew: &in.ClockSkew} {
				if flag == "" {
					continue
				}
				d, err := steward.ParseDuration(flag)
				if err != nil {
					return err
				}
				*dst = d
			}
			out, err := g.client().Federation().CreateIssuer(cmd.Context(), &in)
			if err != nil {
				return err
			}
			return g.print(kvRow(out, issuerColumns, issuerRow(out)))
		},
	}
	f := c.Flags()
	f.StringVar(&in.Kind, "kind", "", "kubernetes, github-actions, gitlab-ci, spiffe or oidc (required)")
	f.StringVar(&in.Issuer, "issuer", "", "the issuer URL its tokens carry as iss (spiffe://TRUST-DOMAIN for SPIFFE)")
	f.BoolVar(&in.Discovery, "discovery", false, "fetch keys through OIDC discovery of the issuer URL")
	f.StringVar(&in.JWKSURI, "jwks-uri", "", "fetch keys from this JWKS URL")
	f.StringVar(&jwksFile, "jwks", "", "an inline JWKS file (- for stdin)")
	f.StringVar(&bundleFile, "spiffe-bundle", "", "a SPIFFE bundle file, as spire-server bundle show -format spiffe prints it (- for stdin)")
	f.StringSliceVar(&in.Audiences, "audience", nil, "an accepted audience (repeat; default: this server's issuer and token endpoint)")
	f.StringSliceVar(&in.Algorithms, "alg", nil, "an accepted algorithm: RS256, ES256, EdDSA (repeat; default all)")
	f.StringVar(&maxAge, "max-token-age", "", "refuse tokens issued longer ago than this, e.g. 1h")
	f.StringVar(&skew, "clock-skew", "", "tolerated clock skew (default 1m)")
	f.StringVar(&in.Reason, "reason", "", "why (recorded)")
	_ = c.MarkFlagRequired("kind")
	_ = c.MarkFlagRequired("issuer")
	return c
}

// readJSONFile reads a JSON document from a file or stdin ("-").
func (g *globals) readJSONFile(path string) (json.RawMessage, error) {
	if path == "" {
		return nil, nil
	}
	r, err := g.open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, steward.MaxInlineKeySet+1))
	if err != nil {
		return nil, err
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("%s is not JSON", path)
	}
	return json.RawMessage(b), nil
}

// kvRow shows one record as field/value rows.
func kvRow(raw any, cols, row []string) table {
	var pairs []string
	for n, c := range cols {
		pairs = append(pairs, c, row[n])
	}
	return kv(raw, pairs...)
}

func newIssuerListCmd(g *globals) *cobra.Command {
	return listCmd(g, "list", "List trusted issuers", cobra.NoArgs, false, issuerColumns, issuerRow,
		func(ctx context.Context, _ []string, _ int, _ string) (*steward.Page[*steward.TrustedIssuer], error) {
			return whole(g.client().Federation().ListIssuers(ctx))
		})
}

func newIssuerShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "show NAME", Short: "Show a trusted issuer", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := g.client().Federation().GetIssuer(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(kvRow(out, issuerColumns, issuerRow(out)))
		},
	}
}

func newIssuerRemoveCmd(g *globals) *cobra.Command {
	var reason string
	c := &cobra.Command{
		Use: "remove NAME", Short: "Stop trusting an issuer", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.client().Federation().DeleteIssuer(cmd.Context(), args[0], reason); err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, "removed", args[0])
			return nil
		},
	}
	c.Flags().StringVar(&reason, "reason", "", "why (recorded)")
	return c
}

var bindingColumns = []string{"id", "identity_id", "issuer", "subject", "claims", "status", "created_at", "created_by"}

func bindingRow(b *steward.FederationBinding) []string {
	var claims []string
	for k, v := range b.Claims {
		claims = append(claims, k+"="+v)
	}
	sort.Strings(claims)
	return []string{b.ID, b.IdentityID, b.Issuer, b.Subject, strings.Join(claims, " "), string(b.Status), tv(b.CreatedAt), b.CreatedBy}
}

func newBindCmd(g *globals) *cobra.Command {
	var in federation.BindingInput
	var claims []string
	c := &cobra.Command{
		Use:   "bind IDENTITY --issuer NAME --sub PATTERN [--claim k=PATTERN…]",
		Short: "Bind tokens of a trusted issuer to an identity (patterns: exact, or globs with * and ?)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in.Claims = map[string]string{}
			for _, kv := range claims {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("--claim %q: want NAME=PATTERN", kv)
				}
				in.Claims[k] = v
			}
			out, err := g.client().Federation().Bind(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return g.print(kvRow(out, bindingColumns, bindingRow(out)))
		},
	}
	f := c.Flags()
	f.StringVar(&in.Issuer, "issuer", "", "the trusted issuer's name (required)")
	f.StringVar(&in.Subject, "sub", "", "the subject pattern (required)")
	f.StringArrayVar(&claims, "claim", nil, "a claim pattern NAME=PATTERN (repeat; nested claims as kubernetes.io.namespace)")
	f.StringVar(&in.Reason, "reason", "", "why (recorded)")
	_ = c.MarkFlagRequired("issuer")
	_ = c.MarkFlagRequired("sub")
	return c
}

func newBindingsCmd(g *globals) *cobra.Command {
	return listCmd(g, "bindings IDENTITY", "List an identity's bindings", cobra.ExactArgs(1), false, bindingColumns, bindingRow,
		func(ctx context.Context, args []string, _ int, _ string) (*steward.Page[*steward.FederationBinding], error) {
			return whole(g.client().Federation().ListBindings(ctx, args[0]))
		})
}

func newUnbindCmd(g *globals) *cobra.Command {
	var reason string
	c := &cobra.Command{
		Use: "unbind BINDING", Short: "Remove a binding: tokens exchanged through it become inactive at once", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := g.client().Federation().Unbind(cmd.Context(), args[0], reason)
			if err != nil {
				return err
			}
			return g.print(kvRow(out, bindingColumns, bindingRow(out)))
		},
	}
	c.Flags().StringVar(&reason, "reason", "", "why (recorded)")
	return c
}

// newTokenExchangeCmd trades a platform token for a Steward token: what a
// CI job or a pod runs instead of reading a stored secret.
func newTokenExchangeCmd(g *globals) *cobra.Command {
	var subject, actor, audience, subjectType string
	var scopes []string
	c := &cobra.Command{
		Use:   "exchange --subject-token FILE|- [--actor-token FILE] [--scope S…] [--audience A]",
		Short: "Exchange a workload token (Kubernetes, GitHub Actions, GitLab CI, SPIFFE, OIDC) for a short-lived Steward token",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := federation.ExchangeRequest{GrantType: federation.GrantTokenExchange, SubjectTokenType: subjectType, Scope: strings.Join(scopes, " ")}
			var err error
			if req.SubjectToken, err = g.readToken(subject); err != nil {
				return fmt.Errorf("--subject-token: %w", err)
			}
			if strings.HasPrefix(req.SubjectToken, steward.OperatorTokenPrefix) && !cmd.Flags().Changed("subject-token-type") {
				// A person's operator token delegating to an agent.
				req.SubjectTokenType = federation.TokenTypeAccess
			}
			if actor != "" {
				if req.ActorToken, err = g.readToken(actor); err != nil {
					return fmt.Errorf("--actor-token: %w", err)
				}
				req.ActorTokenType = federation.TokenTypeJWT
			}
			if audience != "" {
				req.Audiences = []string{audience}
			}
			out, err := g.client().Federation().Exchange(cmd.Context(), req)
			if err != nil {
				return err
			}
			if g.output == "table" {
				fmt.Fprintln(g.stdout, out.AccessToken)
				return nil
			}
			return g.print(kv(out))
		},
	}
	f := c.Flags()
	f.StringVar(&subject, "subject-token", "", "file holding the token to exchange (- for stdin; required)")
	f.StringVar(&subjectType, "subject-token-type", federation.TokenTypeJWT, "the subject token's type URI (an operator token delegating to an agent: access_token, chosen by itself)")
	f.StringVar(&actor, "actor-token", "", "file holding the acting agent's token (delegation)")
	f.StringSliceVar(&scopes, "scope", nil, "a scope to ask for (repeat; default: all the identity holds)")
	f.StringVar(&audience, "audience", "", "the audience (or resource URI) of the issued token")
	_ = c.MarkFlagRequired("subject-token")
	return c
}

// readToken reads a token from a file or stdin, trimmed.
func (g *globals) readToken(path string) (string, error) {
	r, err := g.open(path)
	if err != nil {
		return "", err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, federation.MaxTokenSize+1))
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" || len(tok) > federation.MaxTokenSize {
		return "", fmt.Errorf("%s holds no token (or one larger than %d bytes)", path, federation.MaxTokenSize)
	}
	return tok, nil
}

func newIssuerUpdateCmd(g *globals) *cobra.Command {
	var p federation.IssuerPatch
	var audiences, algs []string
	var jwksURI, jwksFile, bundleFile string
	var discovery bool
	c := &cobra.Command{
		Use:   "update NAME [--audience A…] [--alg ALG…] [--discovery | --jwks-uri URL | --jwks FILE | --spiffe-bundle FILE]",
		Short: "Change a trusted issuer (a new version, recorded)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			if fl.Changed("audience") {
				p.Audiences = &audiences
			}
			if fl.Changed("alg") {
				p.Algorithms = &algs
			}
			if fl.Changed("discovery") {
				p.Discovery = &discovery
			}
			if fl.Changed("jwks-uri") {
				p.JWKSURI = &jwksURI
			}
			for file, dst := range map[string]**json.RawMessage{jwksFile: &p.JWKS, bundleFile: &p.SPIFFEBundle} {
				if file == "" {
					continue
				}
				doc, err := g.readJSONFile(file)
				if err != nil {
					return err
				}
				*dst = &doc
			}
			out, err := g.client().Federation().UpdateIssuer(cmd.Context(), args[0], p)
			if err != nil {
				return err
			}
			return g.print(kvRow(out, issuerColumns, issuerRow(out)))
		},
	}
	f := c.Flags()
	f.StringSliceVar(&audiences, "audience", nil, "the accepted audiences (replaces them)")
	f.StringSliceVar(&algs, "alg", nil, "the accepted algorithms (replaces them)")
	f.BoolVar(&discovery, "discovery", false, "fetch keys through OIDC discovery")
	f.StringVar(&jwksURI, "jwks-uri", "", "fetch keys from this JWKS URL")
	f.StringVar(&jwksFile, "jwks", "", "an inline JWKS file")
	f.StringVar(&bundleFile, "spiffe-bundle", "", "a SPIFFE bundle file")
	f.StringVar(&p.Reason, "reason", "", "why (recorded)")
	return c
}
