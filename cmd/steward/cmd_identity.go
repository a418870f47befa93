package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward"
)

var identityColumns = []string{"id", "name", "kind", "provider", "environment", "sensitivity", "status", "owner_id", "expires_at", "last_used_at"}

func identityRow(i *steward.Identity) []string {
	return []string{i.ID, i.Name, string(i.Kind), i.Provider, i.Environment, string(i.Sensitivity), string(i.Status), i.OwnerID, ts(i.ExpiresAt), ts(i.LastUsedAt)}
}

func identityTable(raw any, is ...*steward.Identity) table {
	t := table{columns: identityColumns, raw: raw}
	for _, i := range is {
		t.rows = append(t.rows, identityRow(i))
	}
	return t
}

func identityDetail(i *steward.Identity) table {
	labels := []string{}
	for k, v := range i.Labels {
		labels = append(labels, k+"="+v)
	}
	return kv(i, "id", i.ID, "name", i.Name, "kind", string(i.Kind), "provider", i.Provider, "external_ref", i.ExternalRef,
		"owner_id", i.OwnerID, "team", i.Team, "purpose", i.Purpose, "environment", i.Environment, "scopes", strings.Join(i.Scopes, ","),
		"sensitivity", string(i.Sensitivity), "source", string(i.Source), "status", string(i.Status), "created_at", tv(i.CreatedAt),
		"expires_at", ts(i.ExpiresAt), "last_rotated_at", ts(i.LastRotatedAt), "last_used_at", ts(i.LastUsedAt), "labels", strings.Join(labels, ","))
}

// parseLabels reads k=v pairs.
func parseLabels(ls []string) (map[string]string, error) {
	m := map[string]string{}
	for _, l := range ls {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--label %q: use key=value", l)
		}
		m[k] = v
	}
	return m, nil
}

func parseTime(flag, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	if d, err := steward.ParseDuration(s); err == nil {
		t := time.Now().UTC().Add(time.Duration(d))
		return &t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, fmt.Errorf("--%s %q: use an RFC 3339 time (2026-12-31T00:00:00Z) or a duration from now (720h, 30d)", flag, s)
	}
	return &t, nil
}

func newIdentityCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "identity", Aliases: []string{"identities", "id"}, Short: "Manage non-human identities"}

	var in steward.Identity
	var labels []string
	var expires, excReason, excUntil string
	create := &cobra.Command{
		Use:   "create --name NAME --kind KIND [flags]",
		Short: "Register an identity",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if in.Labels, err = parseLabels(labels); err != nil {
				return err
			}
			if in.ExpiresAt, err = parseTime("expires", expires); err != nil {
				return err
			}
			if excReason != "" || excUntil != "" {
				until, err := parseTime("exception-until", excUntil)
				if err != nil {
					return err
				}
				in.Exception = &steward.Exception{Reason: excReason}
				if until != nil {
					in.Exception.Until = *until
				}
			}
			i, err := g.client().CreateIdentity(cmd.Context(), &in)
			if err != nil {
				return err
			}
			return g.print(identityDetail(i))
		},
	}
	f := create.Flags()
	f.StringVar(&in.Name, "name", "", "name (required)")
	f.StringVar((*string)(&in.Kind), "kind", "", "api_key, service_account, oauth_app, workload, bot, ai_agent, ssh_key, certificate or pat")
	f.StringVar(&in.Provider, "provider", "", "provider: steward, aws, gcp, azure, github, kubernetes, vault, okta, vendor:<name>…")
	f.StringVar(&in.ExternalRef, "external-ref", "", "the provider's reference (ARN, client id…)")
	f.StringVar(&in.OwnerID, "owner", "", "owner id (required unless --unowned-reason says why there is none)")
	f.StringVar(&in.UnownedReason, "unowned-reason", "", "why the identity has no owner (recorded in its creation event)")
	f.StringVar(&in.Team, "team", "", "team")
	f.StringVar(&in.Purpose, "purpose", "", "what it is for")
	f.StringVar(&in.Environment, "env", "", "environment: prod, staging, dev…")
	f.StringSliceVar(&in.Scopes, "scope", nil, "granted scope (repeatable)")
	f.StringVar((*string)(&in.Sensitivity), "sensitivity", "", "critical, high, medium (default) or low")
	f.StringVar((*string)(&in.Status), "status", "", "pending or active (default)")
	f.StringArrayVar(&labels, "label", nil, "label key=value (repeatable)")
	f.StringVar(&expires, "expires", "", "expiry: RFC 3339 time or duration from now (30d)")
	f.StringVar(&excReason, "exception-reason", "", "reason for an expiry beyond the tier's maximum")
	f.StringVar(&excUntil, "exception-until", "", "end of that exception")
	_ = create.MarkFlagRequired("name")
	_ = create.MarkFlagRequired("kind")

	var lf steward.IdentityFilter
	var expiresBefore, unusedSince string
	list := listCmd(g, "list", "List identities (filters, --owner none for unowned)", cobra.NoArgs, true, identityColumns, identityRow,
		func(ctx context.Context, _ []string, limit int, cursor string) (*steward.Page[*steward.Identity], error) {
			f := lf
			f.Limit, f.Cursor = limit, cursor
			var err error
			if f.ExpiresBefore, err = parseTime("expires-before", expiresBefore); err != nil {
				return nil, err
			}
			if unusedSince != "" {
				if d, derr := steward.ParseDuration(unusedSince); derr == nil {
					t := time.Now().UTC().Add(-time.Duration(d))
					f.UnusedSince = &t
				} else if f.UnusedSince, err = parseTime("unused-since", unusedSince); err != nil {
					return nil, err
				}
			}
			return g.client().ListIdentities(ctx, f)
		})
	f = list.Flags()
	f.StringVar(&lf.OwnerID, "owner", "", "owner id, or none for unowned")
	f.StringVar(&lf.Team, "team", "", "team")
	f.StringVar((*string)(&lf.Kind), "kind", "", "kind")
	f.StringVar(&lf.Provider, "provider", "", "provider")
	f.StringVar(&lf.Environment, "env", "", "environment")
	f.StringVar((*string)(&lf.Status), "status", "", "status")
	f.StringVar((*string)(&lf.Sensitivity), "sensitivity", "", "tier")
	f.StringVar((*string)(&lf.Source), "source", "", "registered, imported or discovered")
	f.StringVarP(&lf.Query, "query", "q", "", "text search")
	f.StringVar(&lf.Sort, "sort", "", "name, created_at, expires_at, last_used_at, last_rotated_at (prefix - for descending)")
	f.StringVar(&expiresBefore, "expires-before", "", "RFC 3339 time or duration from now")
	f.StringVar(&unusedSince, "unused-since", "", "RFC 3339 time, or a duration ago (90d)")

	show := &cobra.Command{
		Use: "show ID", Short: "Show an identity and its credentials", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			i, err := g.client().GetIdentity(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(identityDetail(i))
		},
	}

	var upd struct {
		name, owner, team, purpose, env, sensitivity, expires, reason string
		scopes, labels                                                []string
	}
	update := &cobra.Command{
		Use: "update ID [flags]", Short: "Change an identity's attributes", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p steward.IdentityPatch
			fl := cmd.Flags()
			setStr := func(name string, dst *steward.Opt[string], v string) {
				if fl.Changed(name) {
					*dst = steward.Some(v)
				}
			}
			setStr("name", &p.Name, upd.name)
			setStr("owner", &p.OwnerID, upd.owner)
			setStr("team", &p.Team, upd.team)
			setStr("purpose", &p.Purpose, upd.purpose)
			setStr("env", &p.Environment, upd.env)
			if fl.Changed("sensitivity") {
				p.Sensitivity = steward.Some(steward.Sensitivity(upd.sensitivity))
			}
			if fl.Changed("scope") {
				p.Scopes = steward.Some(upd.scopes)
			}
			if fl.Changed("label") {
				m, err := parseLabels(upd.labels)
				if err != nil {
					return err
				}
				p.Labels = steward.Some(steward.SetLabels(m))
			}
			if fl.Changed("expires") {
				if upd.expires == "never" {
					p.ExpiresAt = steward.Opt[time.Time]{Set: true, Null: true}
				} else {
					t, err := parseTime("expires", upd.expires)
					if err != nil {
						return err
					}
					p.ExpiresAt = steward.Some(*t)
				}
			}
			p.Reason = upd.reason
			i, err := g.client().UpdateIdentity(cmd.Context(), args[0], p)
			if err != nil {
				return err
			}
			return g.print(identityDetail(i))
		},
	}
	f = update.Flags()
	f.StringVar(&upd.name, "name", "", "name")
	f.StringVar(&upd.owner, "owner", "", "owner id (empty to clear)")
	f.StringVar(&upd.team, "team", "", "team")
	f.StringVar(&upd.purpose, "purpose", "", "purpose")
	f.StringVar(&upd.env, "env", "", "environment")
	f.StringVar(&upd.sensitivity, "sensitivity", "", "tier")
	f.StringSliceVar(&upd.scopes, "scope", nil, "granted scopes (replaces the list)")
	f.StringArrayVar(&upd.labels, "label", nil, "labels key=value (replaces the set)")
	f.StringVar(&upd.expires, "expires", "", "new expiry (RFC 3339, duration from now, or never)")
	f.StringVar(&upd.reason, "reason", "", "why (recorded in the history)")

	cmd.AddCommand(create, list, show, update)
	for _, op := range []struct {
		t     steward.Transition
		short string
	}{
		{steward.TransitionActivate, "Activate a pending identity"},
		{steward.TransitionSuspend, "Suspend an active identity"},
		{steward.TransitionResume, "Resume a suspended identity"},
		{steward.TransitionRevoke, "Revoke an identity and all its credentials (final)"},
	} {
		var req steward.TransitionRequest
		c := &cobra.Command{
			Use: string(op.t) + " ID", Short: op.short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				i, err := g.client().TransitionIdentity(cmd.Context(), args[0], op.t, req)
				if err != nil {
					return err
				}
				return g.print(identityDetail(i))
			},
		}
		help := "why"
		if op.t == steward.TransitionRevoke {
			help = "owner_departed, incident, dormant, decommissioned, rotation or manual (required)"
		}
		c.Flags().StringVar(&req.Reason, "reason", "", help)
		c.Flags().StringVar(&req.Note, "note", "", "free-text note")
		cmd.AddCommand(c)
	}

	del := &cobra.Command{
		Use: "delete ID", Short: "Delete a pending identity (others must be revoked)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.client().DeleteIdentity(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, "deleted", args[0])
			return nil
		},
	}
	var hlimit int
	history := &cobra.Command{
		Use: "history ID", Short: "Show an identity's change history", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			page, err := g.client().ListEvents(cmd.Context(), steward.EventFilter{IdentityID: args[0], Limit: hlimit})
			if err != nil {
				return err
			}
			return g.print(eventTable(page, page.Items...))
		},
	}
	history.Flags().IntVar(&hlimit, "limit", 100, "number of events")
	cmd.AddCommand(del, history)
	return cmd
}

func eventTable(raw any, es ...*steward.Event) table {
	t := table{columns: []string{"seq", "time", "actor", "action", "subject_id", "reason"}, raw: raw}
	for _, e := range es {
		t.rows = append(t.rows, []string{fmt.Sprint(e.Seq), tv(e.Time), e.Actor, e.Action, e.SubjectID, e.Reason})
	}
	return t
}
