package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/steward-nhi/steward"
)

// table is a list of rows for every output format.
type table struct {
	columns []string
	rows    [][]string
	// raw is what json and yaml print (the API's objects).
	raw any
}

func (g *globals) print(t table) error {
	switch g.output {
	case "json":
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(t.raw)
	case "yaml":
		b, err := json.Marshal(t.raw)
		if err != nil {
			return err
		}
		var v any
		if err := yaml.Unmarshal(b, &v); err != nil {
			return err
		}
		out, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = g.stdout.Write(out)
		return err
	case "csv":
		w := csv.NewWriter(g.stdout)
		if err := w.Write(t.columns); err != nil {
			return err
		}
		for _, r := range t.rows {
			if err := w.Write(r); err != nil {
				return err
			}
		}
		w.Flush()
		return w.Error()
	case "table", "":
		return writeTable(g.stdout, t)
	}
	return fmt.Errorf("output format %q is not one of table, json, yaml, csv", g.output)
}

func writeTable(w io.Writer, t table) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(t.columns, "\t")))
	for _, r := range t.rows {
		cells := make([]string, len(r))
		for n, c := range r {
			cells[n] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// kv prints one object as key/value rows.
func kv(raw any, pairs ...string) table {
	t := table{columns: []string{"field", "value"}, raw: raw}
	for i := 0; i+1 < len(pairs); i += 2 {
		t.rows = append(t.rows, []string{pairs[i], pairs[i+1]})
	}
	return t
}

func ts(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func tv(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// pageFlags are the flags every list command has: --all, --limit and,
// for lists the server pages, --cursor.
type pageFlags struct {
	all    bool
	limit  int
	cursor string
}

// listCmd makes a list command: the paging flags, one way to fetch pages
// and one output shape ({"items": [...], "next_cursor": "..."} in JSON
// and YAML; a table with a "more:" hint on stderr). paged says whether
// the server pages the list (fetch gets --limit and --cursor) or returns
// it whole (--limit keeps the first items, --all changes nothing).
func listCmd[T any](g *globals, use, short string, args cobra.PositionalArgs, paged bool, columns []string, row func(T) []string,
	fetch func(ctx context.Context, args []string, limit int, cursor string) (*steward.Page[T], error)) *cobra.Command {
	var pf pageFlags
	cmd := &cobra.Command{Use: use, Short: short, Args: args,
		RunE: func(cmd *cobra.Command, args []string) error {
			page, err := fetchPages(cmd.Context(), pf, paged, func(ctx context.Context, limit int, cursor string) (*steward.Page[T], error) {
				return fetch(ctx, args, limit, cursor)
			})
			if err != nil {
				return err
			}
			t := table{columns: columns, raw: page}
			for _, it := range page.Items {
				t.rows = append(t.rows, row(it))
			}
			if err := g.print(t); err != nil {
				return err
			}
			if page.NextCursor != "" && (g.output == "table" || g.output == "") {
				fmt.Fprintf(g.stderr, "more: --cursor %s (or --all)\n", page.NextCursor)
			}
			return nil
		}}
	f := cmd.Flags()
	f.BoolVar(&pf.all, "all", false, "fetch every page")
	f.IntVar(&pf.limit, "limit", 0, "page size (default 50, at most 1000)")
	if paged {
		f.StringVar(&pf.cursor, "cursor", "", "cursor of the next page")
	}
	return cmd
}

// fetchPages fetches one page, or every page with --all.
func fetchPages[T any](ctx context.Context, pf pageFlags, paged bool, fetch func(ctx context.Context, limit int, cursor string) (*steward.Page[T], error)) (*steward.Page[T], error) {
	out := &steward.Page[T]{Items: []T{}}
	cursor := pf.cursor
	for {
		page, err := fetch(ctx, pf.limit, cursor)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, page.Items...)
		out.NextCursor = page.NextCursor
		if !pf.all || page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if !paged && pf.limit > 0 && !pf.all && len(out.Items) > pf.limit {
		out.Items = out.Items[:pf.limit]
	}
	return out, nil
}

// whole turns an unpaged list into a page.
func whole[T any](items []T, err error) (*steward.Page[T], error) {
	if err != nil {
		return nil, err
	}
	return &steward.Page[T]{Items: items}, nil
}
