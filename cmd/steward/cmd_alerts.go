package main

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward"
)

// newAlertsCmd is `steward alerts list|ack|resolve|false-positive|dead-letters|test`.
func newAlertsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "alerts", Aliases: []string{"alert"}, Short: "List and act on anomalous-usage alerts",
		Long: `Steward learns each identity's usage (networks, user agents, actions, resources,
hours, rate, environments, workloads) and alerts on use its baseline has never
seen, and on use that is always wrong: a revoked credential, a honeytoken, an
identity whose owner departed.`}

	var f steward.AlertFilter
	var severity, status string
	list := &cobra.Command{
		Use:   "list [--identity ID] [--detector NAME] [--severity S] [--status S]",
		Short: "List alerts, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"identity_id": f.IdentityID, "detector": f.Detector, "severity": severity, "status": status, "cursor": f.Cursor} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if f.Limit > 0 {
				q.Set("limit", strconv.Itoa(f.Limit))
			}
			var page steward.Page[*steward.Alert]
			if err := g.client().Do(cmd.Context(), "GET", "/api/v1/alerts?"+q.Encode(), nil, "", &page); err != nil {
				return err
			}
			t := table{columns: []string{"id", "severity", "detector", "identity", "status", "count", "last_seen", "title"}, raw: page}
			for _, a := range page.Items {
				t.rows = append(t.rows, []string{a.ID, string(a.Severity), a.Detector, a.IdentityID, string(a.Status), strconv.FormatInt(a.Count, 10), tv(a.LastSeen), a.Title})
			}
			if err := g.print(t); err != nil {
				return err
			}
			if page.NextCursor != "" && (g.output == "table" || g.output == "") {
				_, err := g.stdout.Write([]byte("more: --cursor " + page.NextCursor + "\n"))
				return err
			}
			return nil
		},
	}
	lf := list.Flags()
	lf.StringVar(&f.IdentityID, "identity", "", "only this identity's alerts")
	lf.StringVar(&f.Detector, "detector", "", "only this detector (revoked_use, honeytoken, new_network, …)")
	lf.StringVar(&severity, "severity", "", "critical, high, medium, low or info")
	lf.StringVar(&status, "status", "", "open, acknowledged, resolved or false_positive")
	lf.IntVar(&f.Limit, "limit", 0, "alerts per page (default 50)")
	lf.StringVar(&f.Cursor, "cursor", "", "the next page's cursor")

	act := func(use, short string, a steward.AlertAction) *cobra.Command {
		var note string
		c := &cobra.Command{
			Use:   use + " ALERT_ID [--note TEXT]",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				body, _ := json.Marshal(steward.AlertActionRequest{Note: note})
				var out steward.Alert
				if err := g.client().Do(cmd.Context(), "POST", "/api/v1/alerts/"+url.PathEscape(args[0])+"/"+string(a), bytes.NewReader(body), "application/json", &out); err != nil {
					return err
				}
				return g.print(kv(out, "id", out.ID, "detector", out.Detector, "severity", string(out.Severity), "identity", out.IdentityID,
					"status", string(out.Status), "acted_by", out.ActedBy, "note", out.ActionNote))
			},
		}
		c.Flags().StringVar(&note, "note", "", "why (recorded in the audit chain)")
		return c
	}

	var limit int
	dead := &cobra.Command{
		Use:   "dead-letters",
		Short: "Notifications no sink could deliver, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Items []*steward.DeadLetter `json:"items"`
			}
			path := "/api/v1/alerts/dead-letters"
			if limit > 0 {
				path += "?limit=" + strconv.Itoa(limit)
			}
			if err := g.client().Do(cmd.Context(), "GET", path, nil, "", &out); err != nil {
				return err
			}
			t := table{columns: []string{"id", "sink", "created_at", "attempts", "title", "error"}, raw: out}
			for _, d := range out.Items {
				t.rows = append(t.rows, []string{d.ID, d.Sink, tv(d.CreatedAt), strconv.Itoa(d.Attempts), d.Notification.Title, d.Error})
			}
			return g.print(t)
		},
	}
	dead.Flags().IntVar(&limit, "limit", 0, "how many (default 50)")

	var sinks []string
	test := &cobra.Command{
		Use:   "test [--sink NAME]...",
		Short: "Send a test notification to the sinks now (admin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			body, _ := json.Marshal(map[string][]string{"sinks": sinks})
			var out struct {
				Items []steward.NotificationResult `json:"items"`
			}
			if err := g.client().Do(cmd.Context(), "POST", "/api/v1/alerts/test-notification", bytes.NewReader(body), "application/json", &out); err != nil {
				return err
			}
			t := table{columns: []string{"sink", "ok", "error"}, raw: out}
			for _, r := range out.Items {
				t.rows = append(t.rows, []string{r.Sink, strconv.FormatBool(r.OK), strings.TrimSpace(r.Error)})
			}
			return g.print(t)
		},
	}
	test.Flags().StringSliceVar(&sinks, "sink", nil, "only this sink (repeatable; default all)")

	cmd.AddCommand(list,
		act("ack", "Acknowledge an alert", steward.AlertActAck),
		act("resolve", "Resolve an alert", steward.AlertActResolve),
		act("false-positive", "Mark an alert a false positive (the baseline learns what it called new)", steward.AlertActFalsePositive),
		dead, test)
	return cmd
}
