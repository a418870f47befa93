// Package discovery links secrets found by scanners to the inventory: a
// fingerprint that matches a credential Steward knows is a leaked managed
// credential (critical; optionally revoked at once when Steward issued it);
// an unknown one becomes a discovered identity with a suggested owner.
package discovery

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/internal/ids"
)

// Event actions recorded by discovery.
const (
	ActionLeak     = "discovery.leak"
	ActionDiscover = "identity.discover"
)

// Evaluator re-evaluates the posture of some identities at once (the
// posture engine).
type Evaluator interface {
	Evaluate(ctx context.Context, identityIDs []string) (*steward.PostureRun, error)
}

// Service implements steward.DiscoveryService.
type Service struct {
	store steward.DiscoveryStore
	clock clock.Clock
	log   *slog.Logger
	// AutoRevoke revokes a leaked credential at once when Steward issued it
	// (API keys and client secrets), with reason incident, through Revoker.
	AutoRevoke bool
	// Revoker revokes the credentials AutoRevoke acts on: the credential
	// broker, as an API revoke does, so that every cache of the node (and,
	// through the database, of the other nodes) forgets the credential
	// before Ingest returns. Ingest refuses to run with AutoRevoke on and
	// no Revoker.
	Revoker CredentialRevoker
	// Sensitivity of identities created for unmanaged secrets.
	Sensitivity steward.Sensitivity
	// Alerts, when set, raises a critical alert for each governed
	// credential newly found leaked, as soon as the ingest is committed
	// (the alert engine: stored, notified and answered as its rules say).
	Alerts steward.AlertRaiser
	// Posture, when set, re-evaluates the identities of leaked credentials
	// before Ingest returns, so that their secret.leaked findings exist at
	// once rather than after the next posture run.
	Posture Evaluator
	// PostureWait bounds how long Ingest waits for that evaluation
	// (default 5 s); it goes on in the background past it.
	PostureWait time.Duration
}

// CredentialRevoker revokes one credential and records it (the credential
// broker's revoke, which publishes the change to the node's caches).
type CredentialRevoker interface {
	RevokeCredential(ctx context.Context, credentialID, reason string) error
}

// DetSecretLeaked names the alerts raised for leaked governed credentials.
const DetSecretLeaked = "secret_leaked"

// leak is one governed credential newly found leaked by an ingest.
type leak struct {
	item   steward.DiscoveryItem
	sight  *steward.Sighting
	source string
	// revoke lists the Steward-issued credentials to revoke once the
	// ingest committed (auto-revoke); revoked says whether one was.
	revoke  []string
	revoked bool
}

var _ steward.DiscoveryService = (*Service)(nil)

// New returns a discovery service.
func New(store steward.DiscoveryStore, clk clock.Clock, log *slog.Logger) *Service {
	if clk == nil {
		clk = clock.System{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, clock: clk, log: log, Sensitivity: steward.SensitivityHigh}
}

// steward-issued credential types that auto-revocation may act on.
var issuedTypes = map[string]bool{"api_key": true, "client_secret": true}

// Ingest records a scanner report: every item is stored by (fingerprint,
// repository, file) and linked to the inventory, in one transaction.
func (s *Service) Ingest(ctx context.Context, r *steward.DiscoveryReport) (*steward.DiscoverySummary, error) {
	p, err := steward.AuthorizeStaff(ctx, steward.PermWrite)
	if err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if s.AutoRevoke && s.Revoker == nil {
		return nil, steward.Errorf(steward.EINTERNAL, "discovery: auto-revoke is on but no credential revoker is configured")
	}
	if r.Source == "" {
		r.Source = "steward-scan"
	}
	items, dups := dedupeItems(r)
	sum := &steward.DiscoverySummary{Findings: len(items), Duplicates: dups, LeakedIdentities: []string{}}
	now := s.clock.Now()
	var leaks []leak
	err = s.store.UpdateDiscovery(ctx, func(tx steward.DiscoveryTx) error {
		leaks = leaks[:0]
		leaked := map[string]bool{}
		for _, it := range items {
			d := &steward.Sighting{
				ID: ids.New("dsc_", now), Fingerprint: it.Fingerprint, Rule: it.Rule, Source: r.Source, Repository: it.Repository,
				File: it.File, Line: it.Line, Column: it.Column, Commit: it.Commit, Author: it.Author, Email: strings.ToLower(it.Email),
				Context: it.Context, Severity: it.Severity, Status: "open", FirstSeen: now, LastSeen: now, Occurrences: 1,
				SuggestedOwner: strings.ToLower(firstNonEmpty(it.OwnerHint, it.Email)),
			}
			creds, err := tx.FindCredentialsByFingerprint(ctx, it.Fingerprint)
			if err != nil {
				return err
			}
			if len(creds) > 0 {
				c := creds[0]
				d.Managed, d.CredentialID, d.IdentityID = true, c.ID, c.IdentityID
			}
			created, err := tx.UpsertSighting(ctx, d)
			if err != nil {
				return err
			}
			if !created {
				sum.Seen++
				continue
			}
			sum.New++
			where := location(it)
			if d.Managed {
				sum.ManagedLeaks++
				if !leaked[d.IdentityID] {
					leaked[d.IdentityID] = true
					sum.LeakedIdentities = append(sum.LeakedIdentities, d.IdentityID)
				}
				if err := tx.AppendEvent(ctx, s.event(p, ActionLeak, steward.SubjectCredential, d.CredentialID, d.IdentityID,
					"leaked managed credential found at "+where, nil, d)); err != nil {
					return err
				}
				l := leak{item: it, sight: d, source: r.Source}
				if s.AutoRevoke {
					l.revoke = revocable(creds)
				}
				leaks = append(leaks, l)
				continue
			}
			sum.Unmanaged++
			idn, isNew, err := s.discoveredIdentity(ctx, tx, p, d, now)
			if err != nil {
				return err
			}
			if isNew {
				sum.IdentitiesNew++
			}
			d.IdentityID = idn
		}
		return tx.AppendEvent(ctx, s.event(p, "discovery.ingest", "scan", r.Repository, "", "", nil, map[string]any{
			"source": r.Source, "repository": r.Repository, "findings": sum.Findings, "new": sum.New, "managed_leaks": sum.ManagedLeaks,
			"unmanaged": sum.Unmanaged, "auto_revoke": s.AutoRevoke}))
	})
	if err != nil {
		return nil, err
	}
	sum.AutoRevoked = s.revokeLeaked(ctx, leaks)
	if sum.ManagedLeaks > 0 {
		s.log.WarnContext(ctx, "leaked managed credentials found", "count", sum.ManagedLeaks, "identities", sum.LeakedIdentities, "repository", r.Repository)
	}
	s.respond(ctx, leaks, sum.LeakedIdentities)
	return sum, nil
}

// dedupeItems returns the report's items with their repository filled in,
// one per secret and location: the same secret matched by several rules at
// the same place (fingerprint, repository, file, line, commit) is one
// sighting, under the first rule that matched it. It also returns how many
// items it dropped.
func dedupeItems(r *steward.DiscoveryReport) ([]steward.DiscoveryItem, int) {
	type loc struct {
		fp, repo, file, commit string
		line                   int
	}
	seen := make(map[loc]bool, len(r.Items))
	out := make([]steward.DiscoveryItem, 0, len(r.Items))
	for _, it := range r.Items {
		if it.Repository == "" {
			it.Repository = r.Repository
		}
		k := loc{it.Fingerprint, it.Repository, it.File, it.Commit, it.Line}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, it)
	}
	return out, len(r.Items) - len(out)
}

// respond acts on the leaks an ingest committed: a critical alert for each
// leaked credential, then the posture of their identities at once. The
// ingest stands whatever happens here; failures are logged.
func (s *Service) respond(ctx context.Context, leaks []leak, identities []string) {
	if s.Alerts != nil {
		for _, l := range leaks {
			if _, err := s.Alerts.RaiseAlert(ctx, leakAlert(l, s.clock.Now())); err != nil {
				s.log.ErrorContext(ctx, "discovery: leak alert failed", "identity_id", l.sight.IdentityID, "credential_id", l.sight.CredentialID, "err", err)
			}
		}
	}
	if s.Posture == nil || len(identities) == 0 {
		return
	}
	// A full posture run in progress delays the evaluation; past
	// PostureWait the ingest answers and the evaluation goes on.
	wait := s.PostureWait
	if wait <= 0 {
		wait = 5 * time.Second
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Posture.Evaluate(context.WithoutCancel(ctx), identities)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			s.log.ErrorContext(ctx, "discovery: posture evaluation of leaked identities failed", "identities", identities, "err", err)
		}
	case <-time.After(wait):
		s.log.WarnContext(ctx, "discovery: posture evaluation of leaked identities goes on in the background", "identities", identities, "waited", wait)
	}
}

// leakAlert is the critical alert of one leak.
func leakAlert(l leak, now time.Time) steward.RaisedAlert {
	d := l.sight
	where := location(l.item)
	ev := map[string]any{"location": where, "rule": d.Rule, "source": l.source, "repository": d.Repository, "file": d.File,
		"line": d.Line, "commit": d.Commit, "fingerprint": d.Fingerprint, "sighting_id": d.ID, "auto_revoked": l.revoked}
	return steward.RaisedAlert{Detector: DetSecretLeaked, Title: "Governed credential leaked at " + where, Severity: steward.SeverityCritical,
		IdentityID: d.IdentityID, CredentialID: d.CredentialID, Evidence: ev, OWASP: steward.OWASPID("NHI2"),
		CSF: []string{"PR.AA-01", "DE.CM-09"}, Time: now}
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func location(it steward.DiscoveryItem) string {
	w := it.File
	if it.Repository != "" {
		w = it.Repository + ":" + w
	}
	if it.Line > 0 {
		w += fmt.Sprintf(":%d", it.Line)
	}
	if it.Commit != "" {
		w += " @" + it.Commit[:min(12, len(it.Commit))]
	}
	return w
}

func (s *Service) event(p *steward.Principal, action, subjectType, subjectID, identityID, reason string, before, after any) *steward.Event {
	return steward.NewEvent(s.clock.Now(), p, action, subjectType, subjectID, identityID, reason, before, after)
}

// revocable returns the active Steward-issued credentials among creds.
func revocable(creds []*steward.Credential) []string {
	var out []string
	for _, c := range creds {
		if issuedTypes[c.Type] && c.Status == steward.CredentialActive {
			out = append(out, c.ID)
		}
	}
	return out
}

// revokeLeaked revokes the leaked credentials of a committed ingest
// through the Revoker, the path of an API revoke, so the node's caches
// (and other nodes') forget them before Ingest returns. A client that
// goes away does not stop it. A credential revoked meanwhile by someone
// else counts as not revoked here; another failure is logged, and the
// leak's alert says the credential was not revoked. It returns how many
// credentials it revoked.
func (s *Service) revokeLeaked(ctx context.Context, leaks []leak) int {
	ctx = context.WithoutCancel(ctx)
	n := 0
	for i := range leaks {
		l := &leaks[i]
		for _, id := range l.revoke {
			err := s.Revoker.RevokeCredential(ctx, id, "incident: automatically revoked, leaked at "+location(l.item))
			switch {
			case err == nil:
				n++
				l.revoked = true
			case steward.ErrorCode(err) == steward.ECONFLICT:
				s.log.InfoContext(ctx, "discovery: leaked credential was already revoked", "credential_id", id)
			default:
				s.log.ErrorContext(ctx, "discovery: auto-revoke of a leaked credential failed", "credential_id", id, "identity_id", l.sight.IdentityID, "err", err)
			}
		}
	}
	return n
}

// discoveredIdentity returns the identity for an unmanaged secret, creating
// a discovered identity (with the fingerprint as its credential) the first
// time the secret is seen anywhere.
func (s *Service) discoveredIdentity(ctx context.Context, tx steward.Tx, p *steward.Principal, d *steward.Sighting, now time.Time) (string, bool, error) {
	provider := ProviderOf(d.Rule)
	ref := "discovered:" + d.Fingerprint[:24]
	if old, err := tx.FindIdentityByRef(ctx, provider, ref); err == nil {
		return old.ID, false, nil
	} else if steward.ErrorCode(err) != steward.ENOTFOUND {
		return "", false, err
	}
	i := &steward.Identity{
		ID: ids.New(ids.Identity, now), Name: fmt.Sprintf("%s found in %s", d.Rule, shortPath(d)), Kind: kindOf(d.Rule), Provider: provider,
		ExternalRef: ref, Sensitivity: s.Sensitivity, Source: steward.SourceDiscovered, Status: steward.StatusActive,
		Purpose: "unmanaged secret found by a scanner; confirm its owner, rotate it and register it", CreatedAt: now, UpdatedAt: now, Version: 1,
		Labels: map[string]string{"discovered_rule": truncate(d.Rule, 200), "discovered_in": truncate(shortPath(d), 256)},
	}
	if d.SuggestedOwner != "" {
		i.Labels["suggested_owner"] = truncate(d.SuggestedOwner, 256)
		page, err := tx.ListOwners(ctx, steward.OwnerFilter{Email: d.SuggestedOwner, Status: steward.OwnerActive, Limit: 1})
		if err != nil {
			return "", false, err
		}
		if len(page.Items) > 0 {
			i.OwnerID = page.Items[0].ID
		}
	}
	i.Normalize()
	if err := i.Validate(); err != nil {
		return "", false, fmt.Errorf("discovered identity: %w", err)
	}
	if err := tx.CreateIdentity(ctx, i); err != nil {
		return "", false, err
	}
	c := &steward.Credential{ID: ids.New(ids.Credential, now), IdentityID: i.ID, Type: "discovered_secret", ExternalRef: "fingerprint",
		Fingerprint: d.Fingerprint, Status: steward.CredentialActive, Scopes: []string{}, CreatedAt: now, Metadata: map[string]string{"rule": truncate(d.Rule, 200)}}
	if err := tx.CreateCredential(ctx, c); err != nil {
		return "", false, err
	}
	if err := tx.AppendEvent(ctx, s.event(p, ActionDiscover, steward.SubjectIdentity, i.ID, i.ID, "unmanaged secret found at "+shortPath(d), nil, i)); err != nil {
		return "", false, err
	}
	return i.ID, true, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func shortPath(d *steward.Sighting) string {
	if d.Repository != "" {
		return d.Repository + ":" + d.File
	}
	return d.File
}

var vendorRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// known maps rule-id prefixes to Steward providers.
var known = map[string]string{
	"aws": "aws", "gcp": "gcp", "google": "gcp", "azure": "azure", "github": "github", "gitlab": "gitlab", "slack": "slack",
	"kubernetes": "kubernetes", "k8s": "kubernetes", "vault": "vault", "hashicorp": "vault", "okta": "okta", "datadog": "datadog",
	"steward": "steward", "stw": "steward",
}

// ProviderOf guesses the provider from a scanner rule id.
func ProviderOf(rule string) string {
	r := strings.ToLower(rule)
	head, _, _ := strings.Cut(strings.NewReplacer("_", "-", ".", "-").Replace(r), "-")
	if p, ok := known[head]; ok {
		return p
	}
	switch head {
	case "generic", "private", "jwt", "pem", "openssh", "pkcs12", "basic", "url", "password", "high", "entropy", "":
		return "other"
	}
	if vendorRE.MatchString(head) {
		return "vendor:" + head
	}
	return "other"
}

func kindOf(rule string) steward.Kind {
	r := strings.ToLower(rule)
	switch {
	case strings.Contains(r, "private-key") || strings.Contains(r, "ssh"):
		return steward.KindSSHKey
	case strings.Contains(r, "service-account") || strings.Contains(r, "gcp-sa"):
		return steward.KindServiceAccount
	case strings.Contains(r, "pat") || strings.Contains(r, "personal"):
		return steward.KindPAT
	}
	return steward.KindAPIKey
}

// ListSightings lists sightings; owner-role callers see their identities'.
func (s *Service) ListSightings(ctx context.Context, f steward.SightingFilter) (*steward.Page[*steward.Sighting], error) {
	p, err := steward.Authorize(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	if p.Role == steward.RoleOwner {
		if f.IdentityID == "" {
			return nil, steward.FieldError("identity_id", "an owner token must name one of its identities")
		}
		i, err := s.store.GetIdentity(ctx, f.IdentityID)
		if err != nil {
			return nil, err
		}
		if i.OwnerID != p.OwnerID {
			return nil, steward.Errorf(steward.EFORBIDDEN, "identity %s is not owned by owner %s", i.ID, p.OwnerID)
		}
	}
	return s.store.ListSightings(ctx, f)
}
