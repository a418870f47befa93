package posture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/internal/ids"
)

// UsageSource gives per-identity usage aggregates (the usage capability).
type UsageSource interface {
	UsageFor(ctx context.Context, identityIDs []string) (map[string]*steward.UsageSummary, error)
}

// DiscoverySource gives the open sightings of secrets the scanner found,
// by identity (discovery.SightingCache).
type DiscoverySource interface {
	DiscoveriesFor(ctx context.Context, identityIDs []string) (map[string][]steward.Sighting, error)
}

// FederationSource gives the trusted issuers and the federation bindings
// (the store, when federation is configured).
type FederationSource interface {
	ListTrustedIssuers(ctx context.Context) ([]*steward.TrustedIssuer, error)
	// ListFederationBindings returns an identity's bindings, or every
	// binding when identityID is "".
	ListFederationBindings(ctx context.Context, identityID string) ([]*steward.FederationBinding, error)
}

// Rotator rotates the credentials of an identity (the credential broker).
type Rotator interface {
	RotateIdentity(ctx context.Context, identityID, reason string) error
}

// CredentialRevoker revokes one credential and records it (the credential
// broker's revoke), leaving the identity's other credentials alone.
type CredentialRevoker interface {
	RevokeCredential(ctx context.Context, credentialID, reason string) error
}

// Inventory is what posture changes identities through: the inventory
// service, so that every change is recorded in the audit chain.
type Inventory interface {
	steward.IdentityService
	steward.OwnerService
}

// DormancyPolicy configures dormancy enforcement.
type DormancyPolicy struct {
	Enabled bool
	// DryRun reports what enforcement would do without doing it.
	DryRun bool
	// Grace is how long a dormant identity stays suspended before it is
	// revoked.
	Grace time.Duration
}

// OffboardingPolicy configures what happens when an owner departs.
type OffboardingPolicy struct {
	// ReassignWithin is how long the manager or backup has to reassign the
	// identities before they are suspended.
	ReassignWithin time.Duration
	// Suspend suspends identities not reassigned in time.
	Suspend bool
	// Rotate rotates the credentials the person could have seen.
	Rotate bool
}

// Options configure New.
type Options struct {
	Store     steward.PostureStore
	Inventory Inventory
	Policy    steward.Policy
	Clock     clock.Clock
	Logger    *slog.Logger
	Checks    []Check
	Config    Config
	// Optional sources and sinks; checks needing an absent source produce
	// nothing.
	Usage     UsageSource
	Discovery DiscoverySource
	// Federation feeds the federation checks; nil leaves them silent.
	Federation FederationSource
	Notifier   steward.Notifier
	Rotator    Rotator
	// Rotations feeds rotation.failed; nil leaves it silent.
	Rotations RotationSource
	// Credentials revokes single credentials (dormant credentials); nil
	// leaves them to people.
	Credentials CredentialRevoker
	Dormancy    DormancyPolicy
	Offboarding OffboardingPolicy
	// ReviewDays is the default length of a review campaign.
	ReviewDays int
	// Batch is how many identities a full run reads at once.
	Batch int
	// Evidence signs evidence manifests when set.
	Signer Signer
	// SCIMToken and OktaSecret authenticate the provisioning endpoints.
	SCIMToken  string
	OktaSecret string
}

// Engine evaluates posture and runs the governance jobs.
type Engine struct {
	o      Options
	log    *slog.Logger
	checks []Check
	mu     sync.Mutex // one evaluation at a time
}

// New returns an engine.
func New(o Options) *Engine {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Policy == nil {
		o.Policy = steward.DefaultPolicy()
	}
	if o.Checks == nil {
		o.Checks = Checks()
	}
	if o.Config.UnusedScopeDays == 0 && o.Config.ReuseSources == 0 && o.Config.MaxExtensions == 0 {
		o.Config = DefaultConfig()
	}
	if o.Batch <= 0 {
		o.Batch = 2000
	}
	if o.ReviewDays <= 0 {
		o.ReviewDays = 14
	}
	if o.Offboarding.ReassignWithin <= 0 {
		o.Offboarding.ReassignWithin = 14 * 24 * time.Hour
	}
	if o.Dormancy.Grace <= 0 {
		o.Dormancy.Grace = 30 * 24 * time.Hour
	}
	return &Engine{o: o, log: o.Logger, checks: o.Checks}
}

// system returns ctx acting as Steward's posture job.
func system(ctx context.Context) context.Context {
	return steward.WithPrincipal(ctx, steward.SystemPrincipal("posture"))
}

// owners caches owners for one run.
type owners struct {
	store steward.Reader
	m     map[string]*steward.Owner
}

func (o *owners) get(ctx context.Context, id string) *steward.Owner {
	if id == "" {
		return nil
	}
	if ow, ok := o.m[id]; ok {
		return ow
	}
	ow, err := o.store.GetOwner(ctx, id)
	if err != nil {
		ow = nil
	}
	o.m[id] = ow
	return ow
}

func (o *owners) loadAll(ctx context.Context) error {
	f := steward.OwnerFilter{Limit: steward.MaxLimit}
	for {
		p, err := o.store.ListOwners(ctx, f)
		if err != nil {
			return err
		}
		for _, ow := range p.Items {
			o.m[ow.ID] = ow
		}
		if p.NextCursor == "" {
			return nil
		}
		f.Cursor = p.NextCursor
	}
}

// runState is what one evaluation shares across batches.
type runState struct {
	full       bool
	now        time.Time
	owners     *owners
	shared     map[string][]steward.SharedCredential
	extensions map[string]int
	overdue    map[string][]*steward.ReviewItem
	// issuers and bindings (by identity) when federation is configured.
	issuers  map[string]*steward.TrustedIssuer
	bindings map[string][]*steward.FederationBinding
	run      *steward.PostureRun
	snap     *steward.PostureSnapshot

	// failedRotations by identity, when rotation is configured.
	failedRotations map[string][]*steward.Rotation
}

type batch struct {
	is    []*steward.Identity
	creds map[string][]*steward.Credential
	after string // full runs: findings in (after, last] belong to this batch
	last  string
	tail  bool // the last batch of a full run: also (last, ∞)
	// Usage and discoveries read ahead by a full run's reader.
	prefetched bool
	usage      map[string]*steward.UsageSummary
	disc       map[string][]steward.Sighting
}

// prefetch reads the batch's usage and discoveries.
func (e *Engine) prefetch(ctx context.Context, b *batch) error {
	ids := make([]string, len(b.is))
	for n, i := range b.is {
		ids[n] = i.ID
	}
	var err error
	if e.o.Usage != nil && len(ids) > 0 {
		if b.usage, err = e.o.Usage.UsageFor(ctx, ids); err != nil {
			return fmt.Errorf("posture: usage: %w", err)
		}
	}
	if e.o.Discovery != nil && len(ids) > 0 {
		if b.disc, err = e.o.Discovery.DiscoveriesFor(ctx, ids); err != nil {
			return fmt.Errorf("posture: discoveries: %w", err)
		}
	}
	b.prefetched = true
	return nil
}

// Evaluate runs every check over the identities named in ids, or over
// the whole inventory when ids is nil, and brings the findings up to date.
func (e *Engine) Evaluate(ctx context.Context, identityIDs []string) (*steward.PostureRun, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.evaluate(ctx, identityIDs)
}

func (e *Engine) evaluate(ctx context.Context, identityIDs []string) (*steward.PostureRun, error) {
	start := time.Now()
	st := &runState{full: identityIDs == nil, now: e.o.Clock.Now(), owners: &owners{store: e.o.Store, m: map[string]*steward.Owner{}}}
	st.run = &steward.PostureRun{Mode: "incremental", StartedAt: st.now}
	if st.full {
		st.run.Mode = "full"
		st.snap = &steward.PostureSnapshot{Time: st.now}
	}
	if head, err := e.o.Store.LastEvent(ctx); err != nil {
		return nil, err
	} else if head != nil {
		st.run.HeadSeq = head.Seq
	}
	if !st.full && len(identityIDs) == 0 {
		st.run.Duration = time.Since(start).String()
		return st.run, nil
	}
	var err error
	var scope []string // nil on a full run: every identity
	if st.full {
		if err := st.owners.loadAll(ctx); err != nil {
			return nil, err
		}
		if st.shared, err = e.o.Store.SharedFingerprints(ctx, nil); err != nil {
			return nil, err
		}
	} else {
		identityIDs = dedupe(identityIDs)
		scope = identityIDs
	}
	if st.extensions, err = e.o.Store.ExpiryExtensions(ctx, scope); err != nil {
		return nil, err
	}
	items, err := e.o.Store.OverdueReviewItems(ctx, st.now, scope)
	if err != nil {
		return nil, err
	}
	st.overdue = groupItems(items)
	if err := e.loadFederation(ctx, st, scope); err != nil {
		return nil, err
	}
	if e.o.Rotations != nil {
		rs, err := e.o.Rotations.FailedRotations(ctx, scope)
		if err != nil {
			return nil, fmt.Errorf("posture: failed rotations: %w", err)
		}
		st.failedRotations = map[string][]*steward.Rotation{}
		for _, ro := range rs {
			st.failedRotations[ro.IdentityID] = append(st.failedRotations[ro.IdentityID], ro)
		}
	}

	if !st.full {
		var got []string
		err := e.o.Store.ScanSubjects(ctx, identityIDs, 500, func(is []*steward.Identity, creds map[string][]*steward.Credential) error {
			for _, i := range is {
				got = append(got, i.ID)
			}
			return e.process(ctx, st, &batch{is: is, creds: creds}, identityIDs)
		})
		if err != nil {
			return nil, err
		}
		// Identities that no longer exist: resolve their findings.
		if missing := without(identityIDs, got); len(missing) > 0 {
			if err := e.process(ctx, st, &batch{}, missing); err != nil {
				return nil, err
			}
		}
	} else {
		// A three-stage pipeline: read identities and credentials, read
		// their usage and discoveries, evaluate and write.
		scanned := make(chan *batch, 2)
		ch := make(chan *batch, 2)
		errc := make(chan error, 2)
		rctx, cancel := context.WithCancel(ctx)
		go func() {
			defer close(scanned)
			after := ""
			errc <- e.o.Store.ScanSubjects(rctx, nil, e.o.Batch, func(is []*steward.Identity, creds map[string][]*steward.Credential) error {
				b := &batch{is: is, creds: creds, after: after, last: is[len(is)-1].ID}
				after = b.last
				select {
				case scanned <- b:
					return nil
				case <-rctx.Done():
					return rctx.Err()
				}
			})
		}()
		go func() {
			defer close(ch)
			var err error
			for b := range scanned {
				if err == nil {
					err = e.prefetch(rctx, b)
				}
				if err != nil {
					cancel()
					continue
				}
				select {
				case ch <- b:
				case <-rctx.Done():
				}
			}
			errc <- err
		}()
		var perr error
		last := ""
		for b := range ch {
			if perr != nil {
				continue
			}
			if perr = e.process(ctx, st, b, nil); perr != nil {
				cancel()
			}
			last = b.last
		}
		cancel()
		for range 2 {
			if err := <-errc; err != nil && perr == nil && !errors.Is(err, context.Canceled) {
				perr = err
			}
		}
		if perr == nil && ctx.Err() != nil {
			perr = ctx.Err()
		}
		if perr != nil {
			return nil, perr
		}
		// Findings of identities after the last one (deleted since).
		if err := e.process(ctx, st, &batch{after: last, tail: true}, nil); err != nil {
			return nil, err
		}
		counts, err := e.o.Store.FindingCounts(ctx)
		if err != nil {
			return nil, err
		}
		st.run.Open = counts
		st.snap.OpenByOWASP = counts
		if err := e.o.Store.UpdatePosture(ctx, func(tx steward.PostureTx) error { return tx.SaveSnapshot(ctx, st.snap) }); err != nil {
			return nil, err
		}
	}
	st.run.Duration = time.Since(start).String()
	return st.run, nil
}

// loadFederation reads the trusted issuers and the bindings of the run's
// identities (every binding on a full run) once per run.
func (e *Engine) loadFederation(ctx context.Context, st *runState, scope []string) error {
	if e.o.Federation == nil {
		return nil
	}
	list, err := e.o.Federation.ListTrustedIssuers(ctx)
	if err != nil {
		return fmt.Errorf("posture: trusted issuers: %w", err)
	}
	st.issuers = make(map[string]*steward.TrustedIssuer, len(list))
	for _, ti := range list {
		st.issuers[ti.Name] = ti
	}
	st.bindings = map[string][]*steward.FederationBinding{}
	if len(list) == 0 {
		return nil
	}
	add := func(id string) error {
		bs, err := e.o.Federation.ListFederationBindings(ctx, id)
		if err != nil {
			return fmt.Errorf("posture: federation bindings: %w", err)
		}
		for _, b := range bs {
			st.bindings[b.IdentityID] = append(st.bindings[b.IdentityID], b)
		}
		return nil
	}
	if scope == nil {
		return add("")
	}
	for _, id := range scope {
		if err := add(id); err != nil {
			return err
		}
	}
	return nil
}

func groupItems(items []*steward.ReviewItem) map[string][]*steward.ReviewItem {
	out := map[string][]*steward.ReviewItem{}
	for _, it := range items {
		out[it.IdentityID] = append(out[it.IdentityID], it)
	}
	return out
}

func dedupe(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func without(all, got []string) []string {
	have := map[string]bool{}
	for _, g := range got {
		have[g] = true
	}
	var out []string
	for _, a := range all {
		if !have[a] {
			out = append(out, a)
		}
	}
	return out
}

// desired is one finding the checks want to exist.
type desired struct {
	check Check
	res   Result
	i     *steward.Identity
}

// process evaluates one batch and writes the differences. For incremental
// runs, ids names the identities whose findings the batch owns.
func (e *Engine) process(ctx context.Context, st *runState, b *batch, scope []string) error {
	var batchIDs []string
	for _, i := range b.is {
		batchIDs = append(batchIDs, i.ID)
	}
	var err error
	if !b.prefetched {
		if err := e.prefetch(ctx, b); err != nil {
			return err
		}
	}
	usage, disc := b.usage, b.disc
	shared := st.shared
	if !st.full && len(b.is) > 0 {
		var fps []string
		for _, cs := range b.creds {
			for _, c := range cs {
				if c.Fingerprint != "" {
					fps = append(fps, c.Fingerprint)
				}
			}
		}
		if shared, err = e.o.Store.SharedFingerprints(ctx, fps); err != nil {
			return err
		}
	}

	want := map[string]desired{}
	for _, i := range b.is {
		in := &Input{
			PostureSubject: &steward.PostureSubject{Identity: i, Credentials: b.creds[i.ID], ExpiryExtensions: st.extensions[i.ID],
				SharedWith: map[string][]steward.SharedCredential{}, OverdueReviews: st.overdue[i.ID]},
			Now: st.now, Tier: e.o.Policy[i.Sensitivity], Config: &e.o.Config,
		}
		for _, c := range in.Credentials {
			if s, ok := shared[c.Fingerprint]; ok && c.Fingerprint != "" {
				in.SharedWith[c.Fingerprint] = s
			}
		}
		in.Owner = st.owners.get(ctx, i.OwnerID)
		if in.Owner != nil {
			in.Backup = st.owners.get(ctx, in.Owner.BackupOwnerID)
		}
		if e.o.Usage != nil {
			in.Usage = usage[i.ID]
			if in.Usage == nil {
				in.Usage = &steward.UsageSummary{}
			}
		}
		if e.o.Discovery != nil {
			in.Discoveries = disc[i.ID]
			if in.Discoveries == nil {
				in.Discoveries = []steward.Sighting{}
			}
		}
		if st.issuers != nil {
			in.Federation = &Federation{Bindings: st.bindings[i.ID], Issuers: st.issuers}
		}
		if st.failedRotations != nil {
			in.FailedRotations = st.failedRotations[i.ID]
		}
		if st.snap != nil && i.Status != steward.StatusRevoked {
			st.snap.Identities++
			switch {
			case in.Owner == nil:
				st.snap.Unowned++
			case in.Owner.Status == steward.OwnerDeparted:
				st.snap.Orphaned++
			default:
				st.snap.Owned++
			}
		}
		st.run.Identities++
		for _, c := range e.checks {
			for _, r := range c.Eval(in) {
				k := c.ID + ":" + i.ID
				if r.CredentialID != "" {
					k += ":" + r.CredentialID
				}
				want[k] = desired{check: c, res: r, i: i}
			}
		}
	}

	var existing []*steward.Finding
	switch {
	case st.full && b.tail:
		existing, err = e.o.Store.FindingsInRange(ctx, b.after, "")
	case st.full:
		existing, err = e.o.Store.FindingsInRange(ctx, b.after, b.last)
	default:
		existing, err = e.o.Store.FindingsFor(ctx, scope)
	}
	if err != nil {
		return err
	}
	if !st.full {
		// Only the findings of this batch's identities (or of missing ones).
		own := map[string]bool{}
		for _, id := range batchIDs {
			own[id] = true
		}
		if len(b.is) == 0 {
			for _, id := range scope {
				own[id] = true
			}
		}
		existing = slices.DeleteFunc(existing, func(f *steward.Finding) bool { return !own[f.IdentityID] })
	}
	now := st.now
	var writes []steward.FindingWrite
	var waivers []*steward.Waiver
	var resolved []*steward.Finding
	byKey := map[string]*steward.Finding{}
	for _, f := range existing {
		byKey[f.Key] = f
	}
	for _, f := range existing {
		if _, ok := want[f.Key]; ok || !f.Status.Unresolved() {
			continue
		}
		f.Status, f.ResolvedAt, f.ResolvedBy, f.UpdatedAt = steward.FindingResolved, &now, "system:posture", now
		if f.Waiver != nil && f.Waiver.EndedAt == nil {
			f.Waiver.EndedAt, f.Waiver.EndReason = &now, "resolved"
			waivers = append(waivers, f.Waiver)
		}
		resolved = append(resolved, f)
		writes = append(writes, steward.FindingWrite{Finding: f})
		st.run.Resolved++
	}
	if len(resolved) > 0 {
		var rids []string
		for _, f := range resolved {
			rids = append(rids, f.IdentityID)
		}
		seqs, err := e.o.Store.LatestSeqs(ctx, dedupe(rids))
		if err != nil {
			return err
		}
		for _, f := range resolved {
			f.ResolvedSeq = seqs[f.IdentityID]
		}
	}
	for _, k := range sortedKeys(want) {
		d := want[k]
		nf := e.build(k, d, now)
		f := byKey[k]
		switch {
		case f == nil:
			nf.ID = ids.New("fnd_", now)
			writes = append(writes, steward.FindingWrite{Finding: nf, Insert: true})
			st.run.Opened++
		case f.Status == steward.FindingResolved:
			f.Status, f.ReopenedAt, f.ResolvedAt, f.ResolvedBy, f.ResolvedSeq = steward.FindingOpen, &now, nil, "", 0
			f.AcknowledgedAt, f.AcknowledgedBy, f.Waiver = nil, "", nil
			copyFields(f, nf)
			f.UpdatedAt = now
			writes = append(writes, steward.FindingWrite{Finding: f})
			st.run.Reopened++
		case f.Status == steward.FindingWaived && f.Waiver != nil && !f.Waiver.Until.After(now):
			f.Waiver.EndedAt, f.Waiver.EndReason = &now, "expired"
			waivers = append(waivers, f.Waiver)
			f.Status, f.ReopenedAt, f.Waiver = steward.FindingOpen, &now, nil
			copyFields(f, nf)
			f.UpdatedAt = now
			writes = append(writes, steward.FindingWrite{Finding: f})
			st.run.Reopened++
		case changed(f, nf):
			copyFields(f, nf)
			f.UpdatedAt = now
			writes = append(writes, steward.FindingWrite{Finding: f})
			st.run.Unchanged++
		default:
			st.run.Unchanged++
		}
	}
	if len(writes) == 0 {
		return nil
	}
	return e.o.Store.UpdatePosture(ctx, func(tx steward.PostureTx) error {
		if err := tx.WriteFindings(ctx, writes); err != nil {
			return err
		}
		for _, w := range waivers {
			if err := tx.UpdateWaiver(ctx, w); err != nil {
				return err
			}
		}
		return nil
	})
}

func (e *Engine) build(key string, d desired, now time.Time) *steward.Finding {
	title := d.res.Title
	if title == "" {
		title = d.check.Title
	}
	ev := d.res.Evidence
	if ev == nil {
		ev = map[string]any{}
	}
	return &steward.Finding{
		Key: key, Check: d.check.ID, Title: title, Severity: d.res.Severity, Status: steward.FindingOpen,
		IdentityID: d.i.ID, CredentialID: d.res.CredentialID, OwnerID: d.i.OwnerID, Team: d.i.Team,
		OWASP: d.check.OWASP, CSF: slices.Clone(d.check.CSF), Evidence: ev, Remediation: d.res.Remediation,
		CreatedAt: now, UpdatedAt: now, FirstSeen: now,
	}
}

func copyFields(dst, src *steward.Finding) {
	dst.Title, dst.Severity, dst.OwnerID, dst.Team = src.Title, src.Severity, src.OwnerID, src.Team
	dst.OWASP, dst.CSF, dst.Evidence, dst.Remediation, dst.Check = src.OWASP, src.CSF, src.Evidence, src.Remediation, src.Check
}

// changed reports whether the stored finding a differs from the wanted b.
// Evidence is compared as JSON (map keys sorted, numbers as JSON numbers),
// since the stored one went through a JSON round trip.
func changed(a, b *steward.Finding) bool {
	if a.Title != b.Title || a.Severity != b.Severity || a.OwnerID != b.OwnerID || a.Team != b.Team || a.OWASP != b.OWASP ||
		a.Remediation != b.Remediation || !slices.Equal(a.CSF, b.CSF) || len(a.Evidence) != len(b.Evidence) {
		return true
	}
	x, _ := json.Marshal(a.Evidence)
	y, _ := json.Marshal(b.Evidence)
	return string(x) != string(y)
}
