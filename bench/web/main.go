// Command web measures the server time of the web console's pages on a
// large inventory: it loads N identities (default 100,000) with owners,
// credentials and one creation event each into SQLite (a temporary
// directory) and, when STEWARD_TEST_POSTGRES_URL is set, PostgreSQL (a fresh
// schema, dropped afterwards), signs in, and renders each page repeatedly
// through the real handlers (httptest, no network), reporting p50 and p95.
// The dashboard's numbers are computed in the background; their computation
// is measured separately from the page. A second console, with every
// capability wired (posture, alerts, usage, policies, the broker, access
// reviews), then serves the identity page, the usage page, the rotation
// form and the access-review pages, after one usage event per identity,
// one identity's long history and an open access review of every live
// identity are added (capabilities.go).
//
// Run: go run ./bench/web [-n 100000] [-runs 30] [-engines sqlite,postgres]
// or bash bench/web/run.sh.
package main

import (
	"context"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/bench/internal/console"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore"
	"github.com/steward-nhi/steward/web"
)

func main() {
	n := flag.Int("n", 100_000, "identities to load")
	runs := flag.Int("runs", 30, "requests per page")
	engines := flag.String("engines", "", "sqlite,postgres (default sqlite, plus postgres when STEWARD_TEST_POSTGRES_URL is set)")
	flag.Parse()
	list := []string{"sqlite"}
	if os.Getenv("STEWARD_TEST_POSTGRES_URL") != "" {
		list = append(list, "postgres")
	}
	if *engines != "" {
		list = strings.Split(*engines, ",")
	}
	fmt.Printf("| engine | page | p50 ms | p95 ms | max ms |\n|---|---|---:|---:|---:|\n")
	for _, e := range list {
		if err := bench(e, *n, *runs); err != nil {
			fmt.Fprintln(os.Stderr, "web bench:", err)
			os.Exit(1)
		}
	}
}

// clock is a settable clock shared by the service and the console.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func open(ctx context.Context, engine string) (*sqlstore.Store, func(), error) {
	if engine == "postgres" {
		base := os.Getenv("STEWARD_TEST_POSTGRES_URL")
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return nil, nil, err
		}
		schema := fmt.Sprintf("webbench_%x", rand.Uint32())
		if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
			return nil, nil, err
		}
		u, _ := url.Parse(base)
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		st, err := sqlstore.Open(ctx, u.String(), sqlstore.Options{})
		if err != nil {
			return nil, nil, err
		}
		return st, func() { st.Close(); admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); admin.Close() }, nil
	}
	dir, err := os.MkdirTemp("", "steward-web-bench")
	if err != nil {
		return nil, nil, err
	}
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "steward.db"), sqlstore.Options{})
	if err != nil {
		return nil, nil, err
	}
	return st, func() { st.Close(); os.RemoveAll(dir) }, nil
}

func id(prefix string, n int) string { return fmt.Sprintf("%s%026d", prefix, n) }

// load writes n identities, n/50 owners (5% departed), one credential and
// one creation event per identity, in batches.
func load(ctx context.Context, st *sqlstore.Store, n int, now time.Time) error {
	r := rand.New(rand.NewPCG(1, 2))
	owners := max(n/50, 1)
	err := st.Update(ctx, func(tx steward.Tx) error {
		for i := range owners {
			o := &steward.Owner{ID: id("own_", i), Name: fmt.Sprintf("Owner %d", i), Email: fmt.Sprintf("owner%d@example.com", i),
				Kind: steward.OwnerPerson, Status: steward.OwnerActive, CreatedAt: now, UpdatedAt: now, Version: 1}
			if i%20 == 0 {
				o.Status, o.DepartedAt = steward.OwnerDeparted, &now
			}
			if err := tx.CreateOwner(ctx, o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	envs := []string{"prod", "staging", "dev"}
	provs := []string{"aws", "gcp", "azure", "github", "kubernetes", "vault", "okta", "vendor:stripe"}
	for start := 0; start < n; start += 5000 {
		err := st.Update(ctx, func(tx steward.Tx) error {
			for i := start; i < min(start+5000, n); i++ {
				created := now.Add(-time.Duration(r.IntN(730*24)) * time.Hour).Truncate(time.Microsecond)
				idn := &steward.Identity{ID: id("nhi_", i), Name: fmt.Sprintf("svc-%s-%06d", envs[i%3], i), Kind: steward.Kinds[r.IntN(len(steward.Kinds))],
					Provider: provs[r.IntN(len(provs))], ExternalRef: hex.EncodeToString([]byte(fmt.Sprint(i))), Environment: envs[r.IntN(3)],
					Sensitivity: steward.Sensitivities[r.IntN(4)], Source: steward.SourceImported, Status: steward.StatusActive,
					Team: fmt.Sprintf("team-%d", r.IntN(40)), Purpose: "synthetic workload", Scopes: []string{"read"}, Labels: map[string]string{},
					CreatedAt: created, UpdatedAt: created, Version: 1}
				if r.IntN(20) > 0 {
					idn.OwnerID = id("own_", r.IntN(owners))
				}
				if r.IntN(3) == 0 {
					t := now.Add(time.Duration(r.IntN(90*24)) * time.Hour).Truncate(time.Microsecond)
					idn.ExpiresAt = &t
				}
				if r.IntN(4) > 0 {
					t := now.Add(-time.Duration(r.IntN(200*24)) * time.Hour).Truncate(time.Microsecond)
					idn.LastUsedAt = &t
				}
				if r.IntN(2) == 0 {
					t := now.Add(-time.Duration(r.IntN(400*24)) * time.Hour).Truncate(time.Microsecond)
					idn.LastRotatedAt = &t
				}
				switch r.IntN(50) {
				case 0:
					idn.Status = steward.StatusSuspended
				case 1:
					idn.Status = steward.StatusRevoked
				}
				if err := tx.CreateIdentity(ctx, idn); err != nil {
					return err
				}
				if err := tx.CreateCredential(ctx, &steward.Credential{ID: id("crd_", i), IdentityID: idn.ID, Type: "api_key",
					Status: steward.CredentialActive, CreatedAt: created, LastRotatedAt: idn.LastRotatedAt, Scopes: []string{}, Metadata: map[string]string{}}); err != nil {
					return err
				}
				if err := tx.AppendEvent(ctx, &steward.Event{ID: id("evt_", i), Time: created, Actor: "system:bench", Action: steward.ActionIdentityCreate,
					SubjectType: steward.SubjectIdentity, SubjectID: idn.ID, IdentityID: idn.ID}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func bench(engine string, n, runs int) error {
	ctx := context.Background()
	st, cleanup, err := open(ctx, engine)
	if err != nil {
		return err
	}
	defer cleanup()
	clk := &clock{t: time.Now().UTC().Truncate(time.Microsecond)}
	t0 := time.Now()
	if err := load(ctx, st, n, clk.Now()); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	fmt.Fprintf(os.Stderr, "%s: loaded %d identities in %s\n", engine, n, time.Since(t0).Round(time.Millisecond))
	svc := inventory.New(inventory.Config{Store: st, Clock: clk})
	admin, err := svc.Bootstrap(ctx, "")
	if err != nil {
		return err
	}
	c, err := web.New(web.Config{Identities: svc, Owners: svc, Authenticate: svc.Authenticate, Sessions: st, Dashboard: st, Policy: svc.Policy(), Now: clk.Now,
		Stats: func(ctx context.Context) (*steward.InventoryStats, error) { return st.InventoryStats(ctx, clk.Now()) }})
	if err != nil {
		return err
	}
	base, stop := console.Serve(c)
	defer stop()
	cl, err := console.SignIn(base, admin)
	if err != nil {
		return err
	}
	// The dashboard's numbers are computed in the background (at start, then
	// when older than 10 s); measure that computation on its own.
	var comp []time.Duration
	for range max(runs/3, 3) {
		start := time.Now()
		if err := c.Refresh(ctx); err != nil {
			return err
		}
		comp = append(comp, time.Since(start))
	}
	report(engine, "dashboard numbers (background refresh)", comp)
	one := id("nhi_", n/2)
	pages := []page{
		{"dashboard page", "/", cl},
		{"inventory, first page of 50", "/identities", cl},
		{"inventory, filtered + sorted", "/identities?environment=prod&sensitivity=critical&status=active&sort=-last_used_at", cl},
		{"inventory, text search", "/identities?q=000123", cl},
		{"inventory, 250 rows all columns", "/identities?limit=250&cols=team&cols=source&cols=external_ref&cols=created_at&cols=last_rotated_at&cols=purpose&cols=id", cl},
		{"identity page", "/identities/" + one, cl},
		{"revoke confirmation", "/identities/" + one + "/revoke", cl},
		{"owners", "/owners", cl},
	}
	if err := measure(engine, clk, runs, pages); err != nil {
		return err
	}
	return benchCapabilities(ctx, engine, st, svc, clk, n, runs, admin)
}

// page is one page to measure, requested by one signed-in client.
type page struct {
	name, path string
	cl         *console.Client
}

// measure requests each page runs times, advancing the clock a second
// before each request, and reports the server times.
func measure(engine string, clk *clock, runs int, pages []page) error {
	for _, p := range pages {
		var ds []time.Duration
		for range runs {
			clk.advance(time.Second)
			start := time.Now()
			if _, err := p.cl.Get(p.path); err != nil {
				return err
			}
			ds = append(ds, time.Since(start))
			if os.Getenv("WEB_BENCH_DEBUG") != "" {
				fmt.Fprintf(os.Stderr, "%s %s\n", p.path, time.Since(start))
			}
		}
		report(engine, p.name, ds)
	}
	return nil
}

func report(engine, name string, ds []time.Duration) {
	slices.Sort(ds)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	fmt.Printf("| %s | %s | %s | %s | %s |\n", engine, name, ms(ds[len(ds)/2]), ms(ds[len(ds)*95/100]), ms(ds[len(ds)-1]))
}
