package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/importer"
)

var ownerColumns = []string{"id", "name", "email", "kind", "team", "status", "backup_owner_id"}

func ownerRow(o *steward.Owner) []string {
	return []string{o.ID, o.Name, o.Email, string(o.Kind), o.Team, string(o.Status), o.BackupOwnerID}
}

func ownerTable(raw any, os ...*steward.Owner) table {
	t := table{columns: ownerColumns, raw: raw}
	for _, o := range os {
		t.rows = append(t.rows, ownerRow(o))
	}
	return t
}

func newOwnerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "owner", Aliases: []string{"owners"}, Short: "Manage the people and teams accountable for identities"}
	var in steward.Owner
	create := &cobra.Command{
		Use: "create --name NAME --email EMAIL", Short: "Register an owner", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := g.client().CreateOwner(cmd.Context(), &in)
			if err != nil {
				return err
			}
			return g.print(ownerTable(o, o))
		},
	}
	f := create.Flags()
	f.StringVar(&in.Name, "name", "", "name (required)")
	f.StringVar(&in.Email, "email", "", "email (required for a person)")
	f.StringVar((*string)(&in.Kind), "kind", "", "person (default) or team")
	f.StringVar(&in.Team, "team", "", "team")
	f.StringVar(&in.ManagerID, "manager", "", "manager's owner id")
	f.StringVar(&in.BackupOwnerID, "backup", "", "backup owner id")
	_ = create.MarkFlagRequired("name")

	var lf steward.OwnerFilter
	list := listCmd(g, "list", "List owners", cobra.NoArgs, true, ownerColumns, ownerRow,
		func(ctx context.Context, _ []string, limit int, cursor string) (*steward.Page[*steward.Owner], error) {
			f := lf
			f.Limit, f.Cursor = limit, cursor
			return g.client().ListOwners(ctx, f)
		})
	f = list.Flags()
	f.StringVar((*string)(&lf.Status), "status", "", "active or departed")
	f.StringVar(&lf.Team, "team", "", "team")
	f.StringVarP(&lf.Query, "query", "q", "", "text search")

	var patch steward.OwnerPatch
	patchFlags := []struct {
		flag, help string
		dst        *steward.Opt[string]
		val        string
	}{{"name", "name", &patch.Name, ""}, {"email", "email", &patch.Email, ""}, {"team", "team", &patch.Team, ""},
		{"manager", "manager's owner id", &patch.ManagerID, ""}, {"backup", "backup owner id", &patch.BackupOwnerID, ""},
		{"external-ref", "the owner's id in the identity provider", &patch.ExternalRef, ""}}
	update := &cobra.Command{
		Use: "update ID [flags]", Short: "Change an owner's attributes", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, pf := range patchFlags {
				if cmd.Flags().Changed(pf.flag) {
					*pf.dst = steward.Some(pf.val)
				}
			}
			o, err := g.client().UpdateOwner(cmd.Context(), args[0], patch)
			if err != nil {
				return err
			}
			return g.print(ownerTable(o, o))
		},
	}
	for i := range patchFlags {
		update.Flags().StringVar(&patchFlags[i].val, patchFlags[i].flag, "", patchFlags[i].help)
	}

	var re steward.ReassignRequest
	reassign := &cobra.Command{
		Use: "reassign FROM_OWNER_ID --to NEW_OWNER_ID [--identity ID]...", Short: "Move an owner's identities (all, or those named) to an active new owner",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := g.client().Posture().Reassign(cmd.Context(), args[0], re)
			if err != nil {
				return err
			}
			if g.output == "table" {
				fmt.Fprintf(g.stderr, "%d identities moved from %s to %s\n", len(res.Moved), res.FromOwnerID, res.ToOwnerID)
			}
			t := table{columns: []string{"identity_id"}, raw: res}
			for _, id := range res.Moved {
				t.rows = append(t.rows, []string{id})
			}
			return g.print(t)
		},
	}
	f = reassign.Flags()
	f.StringVar(&re.NewOwnerID, "to", "", "the new owner's id (required)")
	f.StringSliceVar(&re.IdentityIDs, "identity", nil, "only these identities (repeatable; default all)")
	f.StringVar(&re.Reason, "reason", "", "why (recorded)")
	_ = reassign.MarkFlagRequired("to")

	show := &cobra.Command{
		Use: "show ID", Short: "Show an owner", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := g.client().GetOwner(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(ownerTable(o, o))
		},
	}
	var reason string
	depart := &cobra.Command{
		Use: "depart ID", Short: "Mark an owner departed and list the identities that need a new owner", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := g.client().DepartOwner(cmd.Context(), args[0], reason)
			if err != nil {
				return err
			}
			if g.output == "table" {
				fmt.Fprintf(g.stderr, "%s (%s) departed; %d identities need a new owner:\n", d.Owner.Name, d.Owner.ID, len(d.Identities))
			}
			return g.print(identityTable(d, d.Identities...))
		},
	}
	depart.Flags().StringVar(&reason, "reason", "", "why (recorded)")
	cmd.AddCommand(create, list, show, update, depart, reassign)
	return cmd
}

func newTokenCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Aliases: []string{"tokens"}, Short: "Manage API operator tokens"}
	var in steward.TokenCreate
	var ttl string
	create := &cobra.Command{
		Use: "create --role ROLE [--owner ID]", Short: "Mint a token (the secret is printed once)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if in.TTL, err = durationFlag("ttl", ttl); err != nil {
				return err
			}
			t, err := g.client().CreateToken(cmd.Context(), in)
			if err != nil {
				return err
			}
			if g.output == "table" {
				fmt.Fprintln(g.stdout, t.Token)
				fmt.Fprintf(g.stderr, "token %s (role %s) created; the secret above is shown once\n", t.ID, t.Role)
				return nil
			}
			return g.print(kv(t))
		},
	}
	create.Flags().StringVar((*string)(&in.Role), "role", "", "admin, operator, auditor or owner (required)")
	create.Flags().StringVar(&in.OwnerID, "owner", "", "owner id (owner role)")
	create.Flags().StringVar(&in.Name, "name", "", "a name for the token")
	create.Flags().StringVar(&ttl, "ttl", "", "lifetime, e.g. 720h or 90d (default: no expiry)")
	_ = create.MarkFlagRequired("role")
	list := listCmd(g, "list", "List tokens", cobra.NoArgs, false,
		[]string{"id", "name", "role", "owner_id", "created_at", "expires_at", "last_used_at", "revoked_at"},
		func(k *steward.OperatorToken) []string {
			return []string{k.ID, k.Name, string(k.Role), k.OwnerID, tv(k.CreatedAt), ts(k.ExpiresAt), ts(k.LastUsedAt), ts(k.RevokedAt)}
		},
		func(ctx context.Context, _ []string, _ int, _ string) (*steward.Page[*steward.OperatorToken], error) {
			return whole(g.client().ListTokens(ctx))
		})
	revoke := &cobra.Command{
		Use: "revoke ID", Short: "Revoke a token", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := g.client().RevokeToken(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, "revoked", t.ID)
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke, newTokenExchangeCmd(g))
	return cmd
}

func newImportCmd(g *globals) *cobra.Command {
	var opts steward.ImportOptions
	cmd := &cobra.Command{
		Use:   "import FORMAT FILE",
		Short: "Import a provider export (aws-credential-report, gcp-sa-keys, kubernetes, github-pat-grants, github-app-installations, azure-app-credentials)",
		Long: `Import a provider export into the inventory. Identities are matched by provider
and external reference, so importing the same file twice changes nothing. A bad
record rejects the whole file unless --partial is given. FILE - reads stdin.`,
		Args: cobra.ExactArgs(2),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return importer.Names(), cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveDefault // FILE
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := g.open(args[1])
			if err != nil {
				return err
			}
			defer r.Close()
			var body io.Reader = r
			var bar *uploadProgress
			if isTerminal(g.stderr) {
				bar = newUploadProgress(g.stderr, r, "importing")
				body = bar
			}
			sum, err := g.client().Import(cmd.Context(), args[0], body, opts)
			if bar != nil {
				records := 0
				if sum != nil {
					records = sum.Records
				}
				bar.done(records)
			}
			if err != nil {
				return err
			}
			t := kv(sum, "format", sum.Format, "records", fmt.Sprint(sum.Records), "created", fmt.Sprint(sum.Created),
				"updated", fmt.Sprint(sum.Updated), "unchanged", fmt.Sprint(sum.Unchanged), "rejected", fmt.Sprint(sum.Rejected), "unowned", fmt.Sprint(sum.Unowned))
			for _, e := range sum.Errors {
				t.rows = append(t.rows, []string{fmt.Sprintf("error record %d line %d", e.Record, e.Line), e.Message})
			}
			return g.print(t)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.Partial, "partial", false, "import the good records and report the bad ones")
	f.StringVar(&opts.OwnerID, "owner", "", "owner of identities whose export names none")
	f.StringVar(&opts.Environment, "env", "", "environment of identities whose export does not say")
	f.StringVar((*string)(&opts.Sensitivity), "sensitivity", "", "tier of identities whose export does not say")
	return cmd
}
