package main

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward"
)

// newDiscoveryCmd is `steward discovery list`; `steward scan --push`
// uploads reports.
func newDiscoveryCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "discovery", Short: "Secrets found in code and pipelines, linked to identities"}
	var f steward.SightingFilter
	var managed string
	list := listCmd(g, "list", "List sightings (filters: --identity --fingerprint --repository --managed --status)", cobra.NoArgs, true,
		[]string{"id", "rule", "repository", "file", "line", "managed", "identity_id", "status", "last_seen"},
		func(s *steward.Sighting) []string {
			return []string{s.ID, s.Rule, s.Repository, s.File, strconv.Itoa(s.Line), strconv.FormatBool(s.Managed), s.IdentityID, s.Status, tv(s.LastSeen)}
		},
		func(ctx context.Context, _ []string, limit int, cursor string) (*steward.Page[*steward.Sighting], error) {
			ff := f
			ff.Limit, ff.Cursor = limit, cursor
			if managed != "" {
				b, err := strconv.ParseBool(managed)
				if err != nil {
					return nil, steward.FieldError("managed", "must be true or false, not %q", managed)
				}
				ff.Managed = &b
			}
			return g.client().Discovery().ListSightings(ctx, ff)
		})
	fl := list.Flags()
	fl.StringVar(&f.IdentityID, "identity", "", "identity id")
	fl.StringVar(&f.Fingerprint, "fingerprint", "", "SHA-256 hex of the secret")
	fl.StringVar(&f.Repository, "repository", "", "repository")
	fl.StringVar(&managed, "managed", "", "true: governed credentials only; false: unmanaged only")
	fl.StringVar(&f.Status, "status", "", "status")
	cmd.AddCommand(list)
	return cmd
}
