package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/usage"
)

// newUsageCmd is `steward usage list|unknown|show|ingest`.
func newUsageCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "usage", Short: "Usage events: decisions, authentications and ingested logs"}

	var f steward.UsageFilter
	var since, until string
	filter := func(limit int, cursor string) (steward.UsageFilter, error) {
		ff := f
		ff.Limit, ff.Cursor = limit, cursor
		var err error
		if ff.Since, err = parseTime("since", since); err != nil {
			return ff, err
		}
		ff.Until, err = parseTime("until", until)
		return ff, err
	}
	list := listCmd(g, "list", "List usage events, newest first", cobra.NoArgs, true,
		[]string{"time", "kind", "identity_id", "subject", "action", "resource", "source", "outcome", "reason"},
		func(e *steward.UsageEvent) []string {
			return []string{tv(e.Time), e.Kind, e.IdentityID, e.Subject, e.Action, e.Resource, e.Source, e.Outcome, e.Reason}
		},
		func(ctx context.Context, _ []string, limit int, cursor string) (*steward.Page[*steward.UsageEvent], error) {
			ff, err := filter(limit, cursor)
			if err != nil {
				return nil, err
			}
			return g.client().Authz().ListUsage(ctx, ff)
		})
	fl := list.Flags()
	fl.StringVar(&f.IdentityID, "identity", "", "identity id")
	fl.StringVar(&f.Subject, "subject", "", "caller as named by the source")
	fl.StringVar(&f.Kind, "kind", "", "auth, decision, ingest or gateway")
	fl.StringVar(&f.Outcome, "outcome", "", "ok, allow, deny, revoked, …")
	fl.StringVar(&f.Action, "action", "", "action")
	fl.BoolVar(&f.Unknown, "unknown", false, "only events that matched no identity")
	fl.StringVar(&since, "since", "", "RFC 3339 time")
	fl.StringVar(&until, "until", "", "RFC 3339 time")

	unknown := listCmd(g, "unknown", "Callers seen in usage that match no identity (discovery leads)", cobra.NoArgs, false,
		[]string{"dimension", "value", "count", "first_seen", "last_seen"},
		func(c steward.UsageCount) []string {
			return []string{c.Dimension, c.Value, strconv.FormatInt(c.Count, 10), tv(c.FirstSeen), tv(c.LastSeen)}
		},
		func(ctx context.Context, _ []string, limit int, _ string) (*steward.Page[steward.UsageCount], error) {
			return whole(g.client().Authz().UnknownCallers(ctx, limit))
		})

	show := &cobra.Command{Use: "show IDENTITY_ID", Short: "An identity's usage: aggregates, unused scopes, recent events", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := g.client().Authz().IdentityUsage(cmd.Context(), args[0], steward.UsageFilter{})
			if err != nil {
				return err
			}
			counts := func(cs []steward.UsageCount) string {
				var out []string
				for _, c := range cs {
					out = append(out, fmt.Sprintf("%s=%d", c.Value, c.Count))
				}
				return strings.Join(out, " ")
			}
			return g.print(kv(u, "identity_id", u.IdentityID, "events", strconv.FormatInt(u.Events, 10), "first_seen", ts(u.FirstSeen),
				"last_seen", ts(u.LastSeen), "actions", counts(u.Actions), "sources", counts(u.Sources), "outcomes", counts(u.Outcomes),
				"unused_scopes", strings.Join(u.UnusedScopes, ",")))
		}}

	var opts usage.IngestOptions
	var fields []string
	ingest := &cobra.Command{Use: "ingest FORMAT FILE", Short: "Ingest a log: cloudtrail, vault, openbao, opa, gateway, jsonl (FILE - reads stdin)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Fields = map[string]string{}
			for _, kvp := range fields {
				k, v, ok := strings.Cut(kvp, "=")
				if !ok {
					return fmt.Errorf("--field %q: use name=source_field (time, subject, credential, action, resource, source, user_agent, outcome)", kvp)
				}
				opts.Fields[k] = v
			}
			r, err := g.open(args[1])
			if err != nil {
				return err
			}
			defer r.Close()
			sum, err := g.client().Authz().Ingest(cmd.Context(), args[0], r, opts)
			if err != nil {
				return err
			}
			t := kv(sum, "format", sum.Format, "records", strconv.Itoa(sum.Records), "accepted", strconv.Itoa(sum.Accepted),
				"matched", strconv.Itoa(sum.Matched), "unknown", strconv.Itoa(sum.Unknown), "rejected", strconv.Itoa(sum.Rejected))
			for _, e := range sum.Errors {
				t.rows = append(t.rows, []string{fmt.Sprintf("error line %d", e.Line), e.Message})
			}
			return g.print(t)
		}}
	ingest.Flags().StringVar(&opts.Provider, "provider", "", "provider of the identities the log names")
	ingest.Flags().StringSliceVar(&fields, "field", nil, "gateway logs: name=source_field (repeatable)")

	cmd.AddCommand(list, unknown, show, ingest)
	return cmd
}
