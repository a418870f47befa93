package main

import (
	"context"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward"
)

// newAlertsCmd is `steward alerts list|show|ack|resolve|false-positive|dead-letters|test`.
func newAlertsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "alerts", Aliases: []string{"alert"}, Short: "List and act on anomalous-usage alerts",
		Long: `Steward learns each identity's usage (networks, user agents, actions, resources,
hours, rate, environments, workloads) and alerts on use its baseline has never
seen, and on use that is always wrong: a revoked credential, a honeytoken, an
identity whose owner departed.`}

	var f steward.AlertFilter
	var severity, status string
	list := listCmd(g, "list [--identity ID] [--detector NAME] [--severity S] [--status S]", "List alerts, newest first", cobra.NoArgs, true,
		[]string{"id", "severity", "detector", "identity", "status", "count", "last_seen", "title"},
		func(a *steward.Alert) []string {
			return []string{a.ID, string(a.Severity), a.Detector, a.IdentityID, string(a.Status), strconv.FormatInt(a.Count, 10), tv(a.LastSeen), a.Title}
		},
		func(ctx context.Context, _ []string, limit int, cursor string) (*steward.Page[*steward.Alert], error) {
			ff := f
			ff.Severity, ff.Status, ff.Limit, ff.Cursor = steward.Severity(severity), steward.AlertStatus(status), limit, cursor
			return g.client().Alerts().ListAlerts(ctx, ff)
		})
	lf := list.Flags()
	lf.StringVar(&f.IdentityID, "identity", "", "only this identity's alerts")
	lf.StringVar(&f.Detector, "detector", "", "only this detector (revoked_use, honeytoken, new_network, …)")
	lf.StringVar(&severity, "severity", "", "critical, high, medium, low or info")
	lf.StringVar(&status, "status", "", "open, acknowledged, resolved or false_positive")

	printAlert := func(out *steward.Alert, err error) error {
		if err != nil {
			return err
		}
		return g.print(kv(out, "id", out.ID, "detector", out.Detector, "severity", string(out.Severity), "identity", out.IdentityID,
			"status", string(out.Status), "acted_by", out.ActedBy, "note", out.ActionNote, "title", out.Title))
	}
	show := &cobra.Command{Use: "show ALERT_ID", Short: "Show an alert", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return printAlert(g.client().Alerts().GetAlert(cmd.Context(), args[0]))
		}}

	act := func(use, short string, a steward.AlertAction) *cobra.Command {
		var note string
		c := &cobra.Command{
			Use:   use + " ALERT_ID [--note TEXT]",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return printAlert(g.client().Alerts().ActOnAlert(cmd.Context(), args[0], a, steward.AlertActionRequest{Note: note}))
			},
		}
		c.Flags().StringVar(&note, "note", "", "why (recorded in the audit chain)")
		return c
	}

	dead := listCmd(g, "dead-letters", "Notifications no sink could deliver, newest first", cobra.NoArgs, false,
		[]string{"id", "sink", "created_at", "attempts", "title", "error"},
		func(d *steward.DeadLetter) []string {
			return []string{d.ID, d.Sink, tv(d.CreatedAt), strconv.Itoa(d.Attempts), d.Notification.Title, d.Error}
		},
		func(ctx context.Context, _ []string, limit int, _ string) (*steward.Page[*steward.DeadLetter], error) {
			return whole(g.client().Alerts().ListDeadLetters(ctx, limit))
		})

	var sinks []string
	test := &cobra.Command{
		Use:   "test [--sink NAME]...",
		Short: "Send a test notification to the sinks now (admin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := g.client().Alerts().TestNotification(cmd.Context(), sinks)
			if err != nil {
				return err
			}
			t := table{columns: []string{"sink", "ok", "error"}, raw: steward.Page[steward.NotificationResult]{Items: res}}
			for _, r := range res {
				t.rows = append(t.rows, []string{r.Sink, strconv.FormatBool(r.OK), strings.TrimSpace(r.Error)})
			}
			return g.print(t)
		},
	}
	test.Flags().StringSliceVar(&sinks, "sink", nil, "only this sink (repeatable; default all)")

	cmd.AddCommand(list, show,
		act("ack", "Acknowledge an alert", steward.AlertActAck),
		act("resolve", "Resolve an alert", steward.AlertActResolve),
		act("false-positive", "Mark an alert a false positive (the baseline learns what it called new)", steward.AlertActFalsePositive),
		dead, test)
	return cmd
}
