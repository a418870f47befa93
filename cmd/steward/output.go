package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"
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
