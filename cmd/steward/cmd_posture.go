package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/httpapi"
)

var findingColumns = []string{"id", "check", "severity", "status", "identity_id", "owasp", "csf", "title"}

func findingRow(f *steward.Finding) []string {
	return []string{f.ID, f.Check, string(f.Severity), string(f.Status), f.IdentityID, f.OWASP, strings.Join(f.CSF, " "), f.Title}
}

func findingTable(raw any, fs ...*steward.Finding) table {
	t := table{columns: findingColumns, raw: raw}
	for _, f := range fs {
		t.rows = append(t.rows, findingRow(f))
	}
	return t
}

// newSchedulesCmd is `steward schedules rotation|expiring`.
func newSchedulesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "schedules", Aliases: []string{"schedule"}, Short: "Rotation and expiry schedules per tier"}
	columns := []string{"identity_id", "identity", "credential_id", "owner_id", "team", "sensitivity", "due_at", "state", "days_left"}
	row := func(it *steward.ScheduleItem) []string {
		return []string{it.IdentityID, it.IdentityName, it.CredentialID, it.OwnerID, it.Team, string(it.Sensitivity), tv(it.DueAt), it.State, strconv.Itoa(it.DaysLeft)}
	}
	sub := func(use, short string, which func(httpapi.PostureClient) func(context.Context, steward.ScheduleFilter) ([]*steward.ScheduleItem, error)) *cobra.Command {
		var f steward.ScheduleFilter
		c := listCmd(g, use, short, cobra.NoArgs, false, columns, row, func(ctx context.Context, _ []string, limit int, _ string) (*steward.Page[*steward.ScheduleItem], error) {
			ff := f
			ff.Limit = limit
			return whole(which(g.client().Posture())(ctx, ff))
		})
		c.Flags().IntVar(&f.Days, "days", 0, "due (or expiring) within this many days; overdue items always")
		c.Flags().StringVar(&f.OwnerID, "owner", "", "owner id")
		c.Flags().StringVar(&f.Team, "team", "", "team")
		return c
	}
	cmd.AddCommand(
		sub("rotation", "Identities due or overdue for rotation", func(c httpapi.PostureClient) func(context.Context, steward.ScheduleFilter) ([]*steward.ScheduleItem, error) {
			return c.RotationSchedule
		}),
		sub("expiring", "Identities and credentials expiring soon", func(c httpapi.PostureClient) func(context.Context, steward.ScheduleFilter) ([]*steward.ScheduleItem, error) {
			return c.Expiring
		}))
	return cmd
}

// newFindingsCmd is `steward findings list|show|ack|waive|reopen|run`.
func newFindingsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "findings", Aliases: []string{"finding"}, Short: "Posture findings: list, acknowledge, waive, reopen"}
	var f steward.FindingFilter
	var status string
	list := listCmd(g, "list", "List findings (filters: --severity --owasp --csf --owner --team --status --identity)", cobra.NoArgs, true,
		findingColumns, findingRow, func(ctx context.Context, _ []string, limit int, cursor string) (*steward.Page[*steward.Finding], error) {
			ff := f
			ff.Status, ff.Limit, ff.Cursor = steward.FindingStatus(status), limit, cursor
			if status == "unresolved" {
				ff.Status, ff.Unresolved = "", true
			}
			return g.client().Posture().ListFindings(ctx, ff)
		})
	fl := list.Flags()
	fl.StringVar((*string)(&f.Severity), "severity", "", "critical, high, medium, low or info")
	fl.StringVar(&f.OWASP, "owasp", "", "OWASP NHI Top 10 id, e.g. NHI1")
	fl.StringVar(&f.CSF, "csf", "", "NIST CSF 2.0 subcategory, e.g. PR.AA-01")
	fl.StringVar(&f.OwnerID, "owner", "", "owner id")
	fl.StringVar(&f.Team, "team", "", "team")
	fl.StringVar(&status, "status", "", "open, acknowledged, resolved, waived or unresolved")
	fl.StringVar(&f.IdentityID, "identity", "", "identity id")
	fl.StringVar(&f.Check, "check", "", "check id, e.g. owner.departed")

	show := &cobra.Command{Use: "show ID", Short: "Show a finding", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return printFinding(g)(g.client().Posture().GetFinding(cmd.Context(), args[0]))
		}}
	var note string
	ack := &cobra.Command{Use: "ack ID", Aliases: []string{"acknowledge"}, Short: "Acknowledge a finding", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return printFinding(g)(g.client().Posture().AcknowledgeFinding(cmd.Context(), args[0], note))
		}}
	ack.Flags().StringVar(&note, "note", "", "note (recorded)")
	var w steward.WaiverRequest
	var until string
	waive := &cobra.Command{Use: "waive ID --reason R --approver A --until DATE", Short: "Waive a finding until a date (an exception record)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := parseUntil(until)
			if err != nil {
				return err
			}
			w.Until = t
			return printFinding(g)(g.client().Posture().WaiveFinding(cmd.Context(), args[0], w))
		}}
	waive.Flags().StringVar(&w.Reason, "reason", "", "why the risk is accepted (required)")
	waive.Flags().StringVar(&w.Approver, "approver", "", "who approved it (required)")
	waive.Flags().StringVar(&until, "until", "", "end date, RFC 3339 or YYYY-MM-DD or a duration like 30d (required)")
	var reason string
	reopen := &cobra.Command{Use: "reopen ID", Short: "Reopen a finding", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return printFinding(g)(g.client().Posture().ReopenFinding(cmd.Context(), args[0], reason))
		}}
	reopen.Flags().StringVar(&reason, "reason", "", "why (recorded)")
	run := &cobra.Command{Use: "run", Short: "Run a full posture evaluation now", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := g.client().Posture().RunNow(cmd.Context())
			if err != nil {
				return err
			}
			return g.print(kv(out, "identities", strconv.Itoa(out.Identities), "opened", strconv.Itoa(out.Opened), "reopened", strconv.Itoa(out.Reopened),
				"resolved", strconv.Itoa(out.Resolved), "duration", out.Duration, "actions", strings.Join(out.Actions, "; ")))
		}}
	cmd.AddCommand(list, show, ack, waive, reopen, run)
	return cmd
}

func parseUntil(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("--until is required")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := steward.ParseDuration(s); err == nil {
		return time.Now().Add(time.Duration(d)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("--until %q is not a date (2026-12-31, RFC 3339) or a duration (30d)", s)
}

// printFinding prints the finding an action answers.
func printFinding(g *globals) func(*steward.Finding, error) error {
	return func(f *steward.Finding, err error) error {
		if err != nil {
			return err
		}
		return g.print(findingTable(f, f))
	}
}

// newReviewCmd is `steward review start|show|decide`.
func newReviewCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "review", Aliases: []string{"reviews"}, Short: "Access reviews: owners attest keep, reduce, revoke or reassign"}
	var req steward.ReviewRequest
	var scope []string
	var deadline string
	start := &cobra.Command{Use: "start --scope team=payments,sensitivity=critical", Short: "Start an access-review campaign", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, s := range scope {
				for _, part := range strings.Split(s, ",") {
					k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
					if !ok {
						return fmt.Errorf("--scope %q: use key=value (team, owner, sensitivity, provider, environment, kind)", part)
					}
					switch k {
					case "team":
						req.Scope.Team = v
					case "owner", "owner_id":
						req.Scope.OwnerID = v
					case "sensitivity", "tier":
						req.Scope.Sensitivity = steward.Sensitivity(v)
					case "provider":
						req.Scope.Provider = v
					case "environment", "env":
						req.Scope.Environment = v
					case "kind":
						req.Scope.Kind = steward.Kind(v)
					default:
						return fmt.Errorf("--scope: unknown key %q (team, owner, sensitivity, provider, environment, kind)", k)
					}
				}
			}
			if deadline != "" {
				t, err := parseUntil(deadline)
				if err != nil {
					return fmt.Errorf("--deadline: %w", err)
				}
				req.Deadline = &t
			}
			out, err := g.client().Posture().StartReview(cmd.Context(), req)
			if err != nil {
				return err
			}
			return g.print(reviewTable(out))
		}}
	sf := start.Flags()
	sf.StringSliceVar(&scope, "scope", nil, "identities to review: team=…, owner=…, sensitivity=…, provider=…, environment=…, kind=…")
	sf.StringVar(&req.Name, "name", "", "campaign name")
	sf.StringVar(&deadline, "deadline", "", "deadline (date or duration like 14d)")
	sf.BoolVar(&req.AutoSuspend, "auto-suspend", false, "suspend identities left unanswered past the deadline")
	show := &cobra.Command{Use: "show ID", Short: "Show a campaign and its items", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := g.client().Posture().GetReview(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(reviewTable(out))
		}}
	var d steward.ReviewDecisionRequest
	var scopes string
	decide := &cobra.Command{Use: "decide CAMPAIGN ITEM --decision keep|reduce|revoke|reassign", Short: "Decide one item (executed and recorded)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("scopes") {
				d.Scopes = []string{}
				for _, s := range strings.Split(scopes, ",") {
					if s = strings.TrimSpace(s); s != "" {
						d.Scopes = append(d.Scopes, s)
					}
				}
			}
			out, err := g.client().Posture().DecideReviewItem(cmd.Context(), args[0], args[1], d)
			if err != nil {
				return err
			}
			return g.print(kv(out, "item", out.ID, "identity", out.IdentityID, "decision", string(out.Decision), "decided_by", out.DecidedBy,
				"audit_seq", strconv.FormatInt(out.EventSeq, 10)))
		}}
	df := decide.Flags()
	df.StringVar((*string)(&d.Decision), "decision", "", "keep, reduce, revoke or reassign")
	df.StringVar(&d.Justification, "justification", "", "why (required to keep)")
	df.StringVar(&scopes, "scopes", "", "reduce: comma-separated scopes to keep")
	df.StringVar(&d.NewOwnerID, "new-owner", "", "reassign: the new owner id")
	cmd.AddCommand(start, show, decide)
	return cmd
}

func reviewTable(c *steward.ReviewCampaign) table {
	t := table{columns: []string{"campaign", "item", "identity_id", "identity", "owner_id", "status", "decision"}, raw: c}
	for _, it := range c.Items {
		t.rows = append(t.rows, []string{c.ID, it.ID, it.IdentityID, it.IdentityName, it.OwnerID, it.Status, string(it.Decision)})
	}
	return t
}

// newReportCmd is `steward report evidence --from --to -o DIR`.
func newReportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Reports: audit evidence packs"}
	var from, to, dir string
	ev := &cobra.Command{Use: "evidence --from DATE --to DATE -o DIR", Short: "Write an audit evidence pack (index.html, CSV, evidence.json, manifest.json) to DIR", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				if !slices.Contains([]string{"", "table", "json", "yaml", "csv"}, g.output) {
					return usageError{fmt.Errorf("-o/--output is the output format everywhere; write the pack with --dir %s", g.output)}
				}
				return usageError{fmt.Errorf("--dir DIR is required (the directory to write the pack to)")}
			}
			var period [2]time.Time
			for n, s := range []string{from, to} {
				if s == "" {
					continue
				}
				t, err := time.Parse(time.RFC3339, s)
				if err != nil {
					if t, err = time.Parse(time.DateOnly, s); err != nil {
						return fmt.Errorf("--%s %q is not a date (2026-01-31 or RFC 3339)", []string{"from", "to"}[n], s)
					}
				}
				period[n] = t
			}
			body, err := g.client().Posture().EvidencePack(cmd.Context(), period[0], period[1])
			if err != nil {
				return err
			}
			zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
			if err != nil {
				return fmt.Errorf("the server's evidence pack is not a zip: %w", err)
			}
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return err
			}
			var names []string
			for _, f := range zr.File {
				name := filepath.Base(f.Name)
				if name != f.Name || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
					return fmt.Errorf("the evidence pack has an unsafe file name %q", f.Name)
				}
				rc, err := f.Open()
				if err != nil {
					return err
				}
				b, err := io.ReadAll(io.LimitReader(rc, 1<<30))
				rc.Close()
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o640); err != nil {
					return err
				}
				names = append(names, name)
			}
			fmt.Fprintf(g.stderr, "wrote %d files to %s: %s\n", len(names), dir, strings.Join(names, ", "))
			return nil
		}}
	f := ev.Flags()
	f.StringVar(&from, "from", "", "start of the period (default 90 days before --to)")
	f.StringVar(&to, "to", "", "end of the period (default now)")
	f.StringVarP(&dir, "dir", "d", "", "directory to write the pack to")
	cmd.AddCommand(ev)
	return cmd
}
