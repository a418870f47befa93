package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// dataset is what the load wrote, for building queries and requests.
type dataset struct {
	now    time.Time
	owners []string
	sample []string // identity ids, one in every hundred
}

var (
	loadProviders = []string{"aws", "aws", "aws", "gcp", "gcp", "azure", "github", "github", "kubernetes", "kubernetes", "kubernetes", "vault", "okta", "steward", "vendor:stripe", "vendor:datadog", "vendor:openai"}
	loadEnvs      = []string{"prod", "prod", "staging", "dev"}
	loadTeams     = []string{"payments", "data", "platform", "security", "growth", "ml", "identity", "search", "mobile", "web"}
	loadServices  = []string{"api", "worker", "etl", "deployer", "scheduler", "gateway", "indexer", "agent", "sync", "exporter"}
)

// loadStatus draws a status: mostly active, a few of each other state.
func loadStatus(rng *rand.Rand) steward.Status {
	switch r := rng.IntN(100); {
	case r < 4:
		return steward.StatusSuspended
	case r < 10:
		return steward.StatusExpired
	case r < 12:
		return steward.StatusRevoked
	case r < 14:
		return steward.StatusPending
	}
	return steward.StatusActive
}

// loadInventory writes c.rows identities (and up to 2,000 owners) through
// store.Update in batches of c.batch, with one event per batch in the audit
// chain (or, with -row-events, one creation event per identity, as the
// service writes them). Events do not take part in identity queries.
func loadInventory(ctx context.Context, c *config, db *benchDB) (*dataset, []result, error) {
	rng := rand.New(rand.NewPCG(c.seed, 0x6c697374))
	now := time.Now().UTC().Truncate(time.Microsecond)
	ds := &dataset{now: now}
	actor := "system:bench"
	mkEvent := func(t time.Time, action, subjectType, id, identityID string, after any) *steward.Event {
		return &steward.Event{ID: ids.New(ids.Event, t), Time: t, Actor: actor, Action: action, SubjectType: subjectType,
			SubjectID: id, IdentityID: identityID, After: steward.Snapshot(after)}
	}
	nOwners := min(2000, max(10, c.rows/500)) // 500 identities per owner at most
	start := time.Now()
	err := db.store.Update(ctx, func(tx steward.Tx) error {
		for n := range nOwners {
			o := &steward.Owner{ID: ids.New(ids.Owner, now), Name: fmt.Sprintf("Owner %d", n), Email: fmt.Sprintf("owner%d@example.com", n),
				Kind: steward.OwnerPerson, Status: steward.OwnerActive, Team: loadTeams[n%len(loadTeams)], CreatedAt: now, UpdatedAt: now, Version: 1}
			if n%50 == 0 {
				o.Status = steward.OwnerDeparted
				o.DepartedAt = &now
			}
			if err := tx.CreateOwner(ctx, o); err != nil {
				return err
			}
			ds.owners = append(ds.owners, o.ID)
			if err := tx.AppendEvent(ctx, mkEvent(now, steward.ActionOwnerCreate, steward.SubjectOwner, o.ID, "", o)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	stop, err := profile(c, db.engine, "load")
	if err != nil {
		return nil, nil, err
	}
	defer stop()
	logf(c, "%s: loading %d identities in batches of %d", db.engine, c.rows, c.batch)
	lastLog := time.Now()
	twoYears := int64(730 * 24 * time.Hour)
	for done := 0; done < c.rows; {
		n := min(c.batch, c.rows-done)
		err := db.store.Update(ctx, func(tx steward.Tx) error {
			for k := range n {
				seq := done + k
				created := now.Add(-time.Duration(rng.Int64N(twoYears))).Truncate(time.Microsecond)
				team := loadTeams[rng.IntN(len(loadTeams))]
				env := loadEnvs[rng.IntN(len(loadEnvs))]
				provider := loadProviders[rng.IntN(len(loadProviders))]
				at := time.Now()
				i := &steward.Identity{
					ID:          ids.New(ids.Identity, at),
					Name:        fmt.Sprintf("%s-%s-%s-%d", team, loadServices[rng.IntN(len(loadServices))], env, seq),
					Kind:        steward.Kinds[rng.IntN(len(steward.Kinds))],
					Provider:    provider,
					ExternalRef: fmt.Sprintf("bench/%s/%d", strings.ReplaceAll(provider, ":", "-"), seq),
					Team:        team,
					Purpose:     "synthetic identity for the list benchmark",
					Environment: env,
					Scopes:      []string{"read", fmt.Sprintf("%s:write", team)},
					Sensitivity: steward.Sensitivities[rng.IntN(len(steward.Sensitivities))],
					Source:      steward.Sources[rng.IntN(len(steward.Sources))],
					Status:      loadStatus(rng),
					CreatedAt:   created,
					UpdatedAt:   created,
					Labels:      map[string]string{"cost-center": "cc-" + team},
					Version:     1,
				}
				if rng.IntN(100) >= 8 {
					i.OwnerID = ds.owners[rng.IntN(len(ds.owners))]
				}
				if rng.IntN(100) >= 15 {
					used := created.Add(time.Duration(rng.Int64N(int64(now.Sub(created)) + 1))).Truncate(time.Microsecond)
					i.LastUsedAt = &used
				}
				rotated := created
				i.LastRotatedAt = &rotated
				if err := tx.CreateIdentity(ctx, i); err != nil {
					return err
				}
				if c.rowEvents {
					if err := tx.AppendEvent(ctx, mkEvent(at, steward.ActionIdentityCreate, steward.SubjectIdentity, i.ID, i.ID, i)); err != nil {
						return err
					}
				}
				if seq%100 == 0 {
					ds.sample = append(ds.sample, i.ID)
				}
			}
			if c.rowEvents {
				return nil
			}
			after := map[string]any{"identities": n, "first": done, "dataset": "bench"}
			return tx.AppendEvent(ctx, mkEvent(time.Now(), steward.ActionImport, steward.SubjectImport, "bench", "", after))
		})
		if err != nil {
			return nil, nil, err
		}
		done += n
		if time.Since(lastLog) > 15*time.Second {
			rate := float64(done) / time.Since(start).Seconds()
			logf(c, "%s: loaded %d/%d (%.0f rows/s)", db.engine, done, c.rows, rate)
			lastLog = time.Now()
		}
	}
	elapsed := time.Since(start)
	stop()
	events := "1 event per transaction"
	if c.rowEvents {
		events = "1 event per identity"
	}
	note := fmt.Sprintf("%d identities, %d per transaction, %s, in %.1f s", c.rows, c.batch, events, elapsed.Seconds())
	return ds, []result{{db.engine, "load rows/s", float64(c.rows) / elapsed.Seconds(), "rows/s", note}}, nil
}

// query is one list request of the benchmark mix.
type query struct {
	kind   string
	filter steward.IdentityFilter
	second bool // time the second page, reached through the cursor
}

func buildQueries(c *config, ds *dataset) []query {
	rng := rand.New(rand.NewPCG(c.seed, 0x71756572))
	unused := ds.now.AddDate(0, 0, -90)
	var qs []query
	for n := range c.queries {
		var q query
		f := steward.IdentityFilter{Limit: 50}
		switch n % 8 {
		case 0:
			q.kind = "kind+environment"
			f.Kind, f.Environment = steward.Kinds[rng.IntN(len(steward.Kinds))], loadEnvs[rng.IntN(len(loadEnvs))]
		case 1:
			q.kind = "owner"
			f.OwnerID = ds.owners[rng.IntN(len(ds.owners))]
		case 2:
			q.kind = "status+sensitivity"
			f.Status = []steward.Status{steward.StatusActive, steward.StatusSuspended, steward.StatusExpired, steward.StatusRevoked}[rng.IntN(4)]
			f.Sensitivity = steward.Sensitivities[rng.IntN(len(steward.Sensitivities))]
		case 3:
			q.kind = "provider"
			f.Provider = loadProviders[rng.IntN(len(loadProviders))]
		case 4:
			q.kind = "unused_since+environment"
			f.UnusedSince, f.Environment = &unused, "prod"
		case 5:
			q.kind = "sort -created_at"
			f.Sort = "-created_at"
		case 6:
			q.kind = "owner=none (unowned)"
			f.OwnerID = "none"
		case 7:
			q.second = true
			switch rng.IntN(3) {
			case 0:
				q.kind = "page 2: kind+environment"
				f.Kind, f.Environment = steward.Kinds[rng.IntN(len(steward.Kinds))], loadEnvs[rng.IntN(len(loadEnvs))]
			case 1:
				q.kind = "page 2: -created_at"
				f.Sort = "-created_at"
			default:
				q.kind = "page 2: status+sensitivity"
				f.Status = steward.StatusActive
				f.Sensitivity = steward.Sensitivities[rng.IntN(len(steward.Sensitivities))]
			}
		}
		q.filter = f
		qs = append(qs, q)
	}
	return qs
}

// benchList runs the query mix through (*inventory.Service).ListIdentities,
// as GET /api/v1/identities does, and reports latency percentiles, overall
// and per kind of query.
func benchList(ctx context.Context, c *config, db *benchDB, ds *dataset) ([]result, error) {
	actx := admin(ctx)
	qs := buildQueries(c, ds)
	// Warm up: one pass over the first queries (caches, prepared plans).
	for _, q := range qs[:min(len(qs), 50)] {
		if _, err := db.svc.ListIdentities(actx, q.filter); err != nil {
			return nil, err
		}
	}
	stop, err := profile(c, db.engine, "list")
	if err != nil {
		return nil, err
	}
	defer stop()
	var all latencies
	byKind := map[string]latencies{}
	var kinds []string
	short, noSecond := 0, 0
	for _, q := range qs {
		f := q.filter
		if q.second {
			first, err := db.svc.ListIdentities(actx, f)
			if err != nil {
				return nil, err
			}
			if first.NextCursor == "" {
				noSecond++ // a small data set
				continue
			}
			f.Cursor = first.NextCursor
		}
		start := time.Now()
		page, err := db.svc.ListIdentities(actx, f)
		d := time.Since(start)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.kind, err)
		}
		if len(page.Items) < f.Limit {
			short++
		}
		all = append(all, d)
		if _, ok := byKind[q.kind]; !ok {
			kinds = append(kinds, q.kind)
		}
		byKind[q.kind] = append(byKind[q.kind], d)
	}
	stop()
	note := fmt.Sprintf("%d queries of 50 rows over %d identities", len(all), c.rows)
	if short > 0 {
		note += fmt.Sprintf("; %d returned fewer rows", short)
	}
	if noSecond > 0 {
		note += fmt.Sprintf("; %d had no second page", noSecond)
	}
	out := []result{
		{db.engine, "list p50", ms(all.percentile(0.50)), "ms", note},
		{db.engine, "list p99", ms(all.percentile(0.99)), "ms", fmt.Sprintf("max %.2f ms", ms(all.percentile(1)))},
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		l := byKind[k]
		out = append(out, result{db.engine, "list p99 " + k, ms(l.percentile(0.99)), "ms", fmt.Sprintf("p50 %.2f ms, n=%d", ms(l.percentile(0.5)), len(l))})
	}
	return out, nil
}
