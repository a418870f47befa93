package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
)

// policyFiles reads Cedar policy documents from files and directories
// (*.cedar); each document is named after its file without the extension.
func policyFiles(paths []string) ([]*steward.AuthzPolicy, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		m, err := filepath.Glob(filepath.Join(p, "*.cedar"))
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	var out []*steward.AuthzPolicy
	seen := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		if err := steward.ValidatePolicyName(name); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if prev, dup := seen[name]; dup {
			return nil, fmt.Errorf("%s and %s both name policy %q", prev, f, name)
		}
		seen[name] = f
		out = append(out, &steward.AuthzPolicy{Name: name, Text: string(b)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no policy files (*.cedar) in %s", strings.Join(paths, ", "))
	}
	return out, nil
}

func readSchema(path string) (*steward.AuthzSchema, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	format := "cedar"
	if strings.HasSuffix(path, ".json") {
		format = "json"
	}
	return &steward.AuthzSchema{Text: string(b), Format: format}, nil
}

func readEntities(path string) ([]steward.AuthzEntity, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tf := authz.TestFile{Entities: b}
	return tf.TestEntities()
}

func newPolicyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Aliases: []string{"policies"}, Short: "Manage and test the Cedar policies of the AuthZEN decision point"}
	var schemaPath, entitiesPath, reason string

	validate := &cobra.Command{
		Use: "validate FILE|DIR...", Short: "Check policy files offline (syntax, and the schema with --schema)", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pols, err := policyFiles(args)
			if err != nil {
				return err
			}
			sch, err := readSchema(schemaPath)
			if err != nil {
				return err
			}
			ents, err := readEntities(entitiesPath)
			if err != nil {
				return err
			}
			eng, err := authz.Compile(pols, ents, sch)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%d policy files, %d statements: valid\n", len(pols), eng.PolicyCount())
			return nil
		},
	}
	validate.Flags().StringVar(&schemaPath, "schema", "", "Cedar schema file (.cedarschema, or .json)")
	validate.Flags().StringVar(&entitiesPath, "entities", "", "Cedar JSON entities file")

	apply := &cobra.Command{
		Use: "apply FILE|DIR...", Short: "Upload policy files (and --schema, --entities) to the server", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pols, err := policyFiles(args)
			if err != nil {
				return err
			}
			c := g.client().Authz()
			if schemaPath != "" {
				b, err := os.ReadFile(schemaPath)
				if err != nil {
					return err
				}
				format := "cedar"
				if strings.HasSuffix(schemaPath, ".json") {
					format = "json"
				}
				if _, err := c.PutSchema(cmd.Context(), string(b), format, reason); err != nil {
					return fmt.Errorf("schema: %w", err)
				}
			}
			if entitiesPath != "" {
				if err := putEntities(cmd.Context(), g, entitiesPath, true, reason); err != nil {
					return err
				}
			}
			t := table{columns: []string{"name", "version", "updated_by"}}
			var raw []*steward.AuthzPolicy
			for _, p := range pols {
				out, err := c.PutPolicy(cmd.Context(), p.Name, p.Text, reason)
				if err != nil {
					return fmt.Errorf("policy %s: %w", p.Name, err)
				}
				raw = append(raw, out)
				t.rows = append(t.rows, []string{out.Name, strconv.FormatInt(out.Version, 10), out.UpdatedBy})
			}
			t.raw = raw
			return g.print(t)
		},
	}
	apply.Flags().StringVar(&reason, "reason", "", "why (recorded in the audit chain)")
	apply.Flags().StringVar(&schemaPath, "schema", "", "also set this Cedar schema")
	apply.Flags().StringVar(&entitiesPath, "entities", "", "also replace the entities with this Cedar JSON file")

	var versions bool
	list := listCmd(g, "list", "List the server's policies (--versions for the history)", cobra.NoArgs, false,
		[]string{"name", "version", "updated_at", "updated_by", "deleted", "reason"},
		func(p *steward.AuthzPolicy) []string {
			return []string{p.Name, strconv.FormatInt(p.Version, 10), p.UpdatedAt.Format("2006-01-02T15:04:05Z"), p.UpdatedBy, strconv.FormatBool(p.Deleted), p.Reason}
		},
		func(ctx context.Context, _ []string, _ int, _ string) (*steward.Page[*steward.AuthzPolicy], error) {
			out, err := g.client().Authz().ListPolicies(ctx, versions)
			if err != nil {
				return nil, err
			}
			if versions {
				return whole(out.Versions, nil)
			}
			return whole(out.Items, nil)
		})
	list.Flags().BoolVar(&versions, "versions", false, "list every version")

	show := &cobra.Command{Use: "show NAME", Short: "Print a policy's Cedar text", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.client().Authz().GetPolicy(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if g.output == "table" {
				_, err = fmt.Fprintln(g.stdout, strings.TrimRight(p.Text, "\n"))
				return err
			}
			return g.print(kv(p))
		}}
	var delReason string
	del := &cobra.Command{Use: "delete NAME", Short: "Delete a policy (its history stays)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.client().Authz().DeletePolicy(cmd.Context(), args[0], delReason); err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, "deleted", args[0])
			return nil
		}}
	del.Flags().StringVar(&delReason, "reason", "", "why (recorded in the audit chain)")
	var entReason string
	var upsert bool
	entities := &cobra.Command{Use: "entities FILE", Short: "Replace the external Cedar entities (--upsert: add or change only these)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return putEntities(cmd.Context(), g, args[0], !upsert, entReason)
		}}
	entities.Flags().StringVar(&entReason, "reason", "", "why (recorded in the audit chain)")
	entities.Flags().BoolVar(&upsert, "upsert", false, "add or change these entities, keep the others")

	diff := &cobra.Command{
		Use: "diff FILE|DIR...", Short: "Show how local policy files differ from the server's", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pols, err := policyFiles(args)
			if err != nil {
				return err
			}
			remote, err := g.client().Authz().ListPolicies(cmd.Context(), false)
			if err != nil {
				return err
			}
			have := map[string]string{}
			for _, p := range remote.Items {
				have[p.Name] = p.Text
			}
			changed := 0
			for _, p := range pols {
				old, ok := have[p.Name]
				if d := authz.Diff(old, p.Text); d != "" {
					changed++
					state := "changed"
					if !ok {
						state = "new"
					}
					fmt.Fprintf(g.stdout, "=== %s (%s)\n%s", p.Name, state, d)
				}
				delete(have, p.Name)
			}
			for name := range have {
				fmt.Fprintf(g.stdout, "=== %s (only on the server)\n", name)
			}
			if changed == 0 && len(have) == 0 {
				fmt.Fprintln(g.stdout, "no differences")
			}
			return nil
		},
	}

	var policyPaths []string
	test := &cobra.Command{
		Use: "test CASES.json --policies FILE|DIR", Short: "Run request → expected decision cases against policy files offline (CI)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pols, err := policyFiles(policyPaths)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			tf, err := authz.ParseTestFile(b)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			ents, err := tf.TestEntities()
			if err != nil {
				return err
			}
			if entitiesPath != "" {
				more, err := readEntities(entitiesPath)
				if err != nil {
					return err
				}
				ents = append(more, ents...)
			}
			sch, err := readSchema(schemaPath)
			if err != nil {
				return err
			}
			eng, err := authz.Compile(pols, ents, sch)
			if err != nil {
				return err
			}
			res := authz.RunTests(eng, tf.Cases)
			t := table{columns: []string{"result", "name", "want", "got", "policies", "problem"}, raw: res}
			failed := 0
			for _, r := range res {
				mark := "PASS"
				if !r.Pass {
					mark = "FAIL"
					failed++
				}
				t.rows = append(t.rows, []string{mark, r.Name, strconv.FormatBool(r.Want), strconv.FormatBool(r.Got), strings.Join(r.Policies, " "), r.Problem})
			}
			if err := g.print(t); err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d policy tests failed", failed, len(res))
			}
			fmt.Fprintf(g.stderr, "%d policy tests passed\n", len(res))
			return nil
		},
	}
	test.Flags().StringSliceVar(&policyPaths, "policies", []string{"."}, "policy files or directories (*.cedar)")
	test.Flags().StringVar(&entitiesPath, "entities", "", "Cedar JSON entities file")
	test.Flags().StringVar(&schemaPath, "schema", "", "Cedar schema file")

	cmd.AddCommand(validate, apply, list, show, del, entities, diff, test)
	return cmd
}

// putEntities uploads a Cedar JSON entities file (replace: all of them).
func putEntities(ctx context.Context, g *globals, path string, replace bool, reason string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	ch, err := g.client().Authz().PutEntities(ctx, b, replace, reason)
	if err != nil {
		return fmt.Errorf("entities: %w", err)
	}
	fmt.Fprintf(g.stdout, "entities: %d (%d added, %d changed, %d removed)\n", ch.Entities, len(ch.Added), len(ch.Changed), len(ch.Removed))
	return nil
}
