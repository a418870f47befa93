// Command rotation benchmarks rotation against a real PostgreSQL: dynamic
// credentials created and dropped per second at concurrency 8 (p50/p99)
// beside the bare SQL cost (CREATE ROLE + GRANT + DROP ROLE over one pgx
// pool) in the same run, the time to drop 10,000 expired leases, and static
// rotations per second end to end (create, ALTER ROLE, test login, proof).
//
//	go run ./bench/rotation -pg postgres://postgres@127.0.0.1:54330/postgres?sslmode=disable [-n 400] [-expired 10000] [-json]
//	    [-cpuprofile F] [-mutexprofile F] [-blockprofile F]
//
// Beside the results it prints the parts of a dynamic credential (p50/p99
// of Steward's write transactions and of the provider's create and drop).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/custody"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/rotation"
	"github.com/steward-nhi/steward/rotation/postgres"
	"github.com/steward-nhi/steward/sqlstore"
)

type result struct {
	Name   string  `json:"name"`
	Ops    int     `json:"ops"`
	PerSec float64 `json:"per_sec"`
	P50ms  float64 `json:"p50_ms,omitempty"`
	P99ms  float64 `json:"p99_ms,omitempty"`
	Secs   float64 `json:"seconds"`
}

func main() {
	pg := flag.String("pg", os.Getenv("STEWARD_TEST_POSTGRES_URL"), "PostgreSQL URL of a superuser (the system rotated)")
	n := flag.Int("n", 400, "dynamic credentials to create and drop")
	expired := flag.Int("expired", 10000, "expired leases to drop")
	static := flag.Int("static", 60, "static rotations")
	warmup := flag.Int("warmup", 8, "untimed dynamic credentials (and bare SQL runs) before the timed ones, so both pools hold their connections (0: time the cold start too)")
	asJSON := flag.Bool("json", false, "print JSON")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	mutexProfile := flag.String("mutexprofile", "", "write a mutex contention profile to this file")
	blockProfile := flag.String("blockprofile", "", "write a blocking profile to this file")
	flag.Parse()
	stop, err := profile(*cpuProfile, *mutexProfile, *blockProfile)
	if err == nil {
		err = run(*pg, *n, *expired, *static, *warmup, *asJSON)
		if perr := stop(); err == nil {
			err = perr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/rotation:", err)
		os.Exit(1)
	}
}

func percentile(ds []time.Duration, p float64) float64 {
	slices.Sort(ds)
	if len(ds) == 0 {
		return 0
	}
	return float64(ds[int(float64(len(ds)-1)*p)]) / float64(time.Millisecond)
}

// parallel runs fn(i) for i < n on c workers and times each call.
func parallel(n, c int, fn func(i int) error) ([]time.Duration, time.Duration, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t := time.Now()
				if err := fn(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	if e, ok := firstErr.Load().(error); ok {
		return nil, 0, e
	}
	return lat, time.Since(start), nil
}

func run(pg string, n, expired, static, warmup int, asJSON bool) error {
	if pg == "" {
		return fmt.Errorf("-pg (or STEWARD_TEST_POSTGRES_URL) is required")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pg)
	if err != nil {
		return err
	}
	defer pool.Close()
	dir, err := os.MkdirTemp("", "bench-rotation")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := sqlstore.Open(ctx, filepath.Join(dir, "steward.db"), sqlstore.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	box, _ := secretbox.New(make([]byte, 32))
	cus, _ := custody.New(custody.Config{Store: store, Box: box})
	tm := &timings{}
	rot, err := rotation.New(rotation.Config{Store: timedStore{store, tm}, Custody: cus, Kinds: []rotation.Kind{timedKind(postgres.Kind(), tm)}})
	if err != nil {
		return err
	}
	defer rot.Close()
	admin := steward.WithPrincipal(ctx, &steward.Principal{Actor: "token:bench", Role: steward.RoleAdmin})
	u, _ := url.Parse(pg)
	pfx := fmt.Sprintf("bench_%d", time.Now().UnixNano()%1_000_000)
	adminRole := pfx + "_admin"
	if _, err := pool.Exec(ctx, fmt.Sprintf(`CREATE ROLE %q LOGIN SUPERUSER PASSWORD 'bench-admin'`, adminRole)); err != nil {
		return err
	}
	defer pool.Exec(context.Background(), fmt.Sprintf(`DROP ROLE IF EXISTS %q`, adminRole))
	u.User = url.UserPassword(adminRole, "bench-admin")
	if _, err := rot.CreateRotator(admin, rotation.RotatorRequest{Name: "pg", Kind: "postgres", Config: map[string]string{"url": u.String()}}); err != nil {
		return err
	}
	inv := inventory.New(inventory.Config{Store: store})
	ident, err := inv.CreateIdentity(admin, &steward.Identity{Name: "bench", Kind: steward.KindServiceAccount, Provider: "vendor:postgres",
		Sensitivity: steward.SensitivityMedium, UnownedReason: "benchmark"})
	if err != nil {
		return err
	}
	var results []result
	add := func(name string, lat []time.Duration, took time.Duration, ops int) {
		r := result{Name: name, Ops: ops, Secs: took.Seconds()}
		if took > 0 {
			r.PerSec = float64(ops) / took.Seconds()
		}
		if lat != nil {
			r.P50ms, r.P99ms = percentile(lat, 0.5), percentile(lat, 0.99)
		}
		results = append(results, r)
	}

	// Dynamic credentials: create (recorded lease, CREATE ROLE + GRANT)
	// then revoke (terminate, REASSIGN/DROP OWNED, DROP ROLE), c=8.
	stmts := []string{`CREATE ROLE "{{name}}" LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'`, `GRANT pg_read_all_data TO "{{name}}"`}
	dynamic := func(int) error {
		g, err := rot.CreateLease(admin, rotation.LeaseRequest{Rotator: "pg", IdentityID: ident.ID, CreationStatements: stmts})
		if err != nil {
			return err
		}
		_, err = rot.RevokeLease(admin, g.ID)
		return err
	}
	bare := func(i int) error {
		name := fmt.Sprintf("%s_bare_%d", pfx, i)
		for _, q := range []string{fmt.Sprintf(`CREATE ROLE %q LOGIN PASSWORD 'x-bare-pw'`, name), fmt.Sprintf(`GRANT pg_read_all_data TO %q`, name), fmt.Sprintf(`DROP ROLE %q`, name)} {
			if _, err := pool.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}
	// As `steward serve` does at start: the rotator's connections.
	t0 := time.Now()
	if _, err := rot.Warm(ctx); err != nil {
		return fmt.Errorf("warm: %w", err)
	}
	add(fmt.Sprintf("warm the rotator (%d admin connections, as serve does at start)", rotation.WarmConns), nil, time.Since(t0), 1)
	if warmup > 0 {
		// The first calls after the start (the bare pool still opens its
		// connections here), reported apart.
		cold, _, err := parallel(warmup, 8, dynamic)
		if err != nil {
			return fmt.Errorf("dynamic warm-up: %w", err)
		}
		add(fmt.Sprintf("dynamic credential first %d after start (c=8)", warmup), cold, 0, warmup)
		if _, _, err := parallel(warmup, 8, func(i int) error { return bare(n + i) }); err != nil {
			return fmt.Errorf("bare warm-up: %w", err)
		}
	}
	tm.reset()
	lat, took, err := parallel(n, 8, dynamic)
	if err != nil {
		return fmt.Errorf("dynamic: %w", err)
	}
	add("dynamic credential create+drop (c=8)", lat, took, n)
	var parts []result
	for _, name := range sortedKeys(tm.parts) {
		ds := tm.parts[name]
		parts = append(parts, result{Name: "  part: " + name, Ops: len(ds), P50ms: percentile(ds, 0.5), P99ms: percentile(ds, 0.99)})
	}

	lat, took, err = parallel(n, 8, bare)
	if err != nil {
		return fmt.Errorf("bare: %w", err)
	}
	add("bare SQL CREATE ROLE+GRANT+DROP ROLE (c=8)", lat, took, n)

	// Expired leases: roles created in bulk, leases recorded as expired,
	// then the sweep runs until none is left.
	now := time.Now().UTC()
	for start := 0; start < expired; start += 500 {
		end := min(start+500, expired)
		var sql strings.Builder
		leases := make([]*steward.Lease, 0, end-start)
		for i := start; i < end; i++ {
			name := fmt.Sprintf("%s_exp_%d", pfx, i)
			fmt.Fprintf(&sql, `CREATE ROLE %q LOGIN; `, name)
			leases = append(leases, &steward.Lease{ID: fmt.Sprintf("lse_%s_%06d", pfx, i), IdentityID: ident.ID, Rotator: "pg", Username: name,
				Status: steward.LeaseActive, CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute), MaxExpiresAt: now})
		}
		if _, err := pool.Exec(ctx, sql.String()); err != nil {
			return err
		}
		err := store.UpdateRotations(ctx, func(tx steward.RotationTx) error {
			for _, l := range leases {
				if err := tx.PutLease(ctx, l); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	t0 = time.Now()
	dropped, err := rot.ExpireDue(ctx)
	if err != nil {
		return fmt.Errorf("expiry sweep: %w", err)
	}
	var left int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE rolname LIKE $1`, pfx+"_exp_%").Scan(&left)
	if left != 0 || dropped != expired {
		return fmt.Errorf("expiry sweep dropped %d of %d; %d roles left", dropped, expired, left)
	}
	add(fmt.Sprintf("%d expired leases dropped (sweep, c=8)", expired), nil, time.Since(t0), expired)

	// Static rotations end to end: one role each, c=4.
	ids := make([]string, static)
	for i := range static {
		role := fmt.Sprintf("%s_static_%d", pfx, i)
		if _, err := pool.Exec(ctx, fmt.Sprintf(`CREATE ROLE %q LOGIN PASSWORD 'static-pw-0'`, role)); err != nil {
			return err
		}
		defer pool.Exec(context.Background(), fmt.Sprintf(`DROP ROLE IF EXISTS %q`, role))
		c, err := cus.Register(admin, ident.ID, custody.RegisterRequest{Type: "password", ExternalRef: role, Secret: "static-pw-0", Rotator: "pg"})
		if err != nil {
			return err
		}
		ids[i] = c.ID
	}
	zero := steward.Duration(0)
	lat, took, err = parallel(static, 4, func(i int) error {
		ro, err := rot.Rotate(admin, ids[i], rotation.RotateRequest{Overlap: &zero})
		if err == nil && !strings.Contains(ro.Proof, "refused") {
			err = fmt.Errorf("rotation %s not proven: %s", ro.ID, ro.Proof)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("static: %w", err)
	}
	add("static rotation end to end incl. test login and proof (c=4)", lat, took, static)

	if asJSON {
		return json.NewEncoder(os.Stdout).Encode(append(results, parts...))
	}
	for _, r := range results {
		fmt.Printf("%-62s %7d ops  %9.1f/s  p50 %7.2f ms  p99 %7.2f ms  %.2fs\n", r.Name, r.Ops, r.PerSec, r.P50ms, r.P99ms, r.Secs)
	}
	for _, r := range parts {
		fmt.Printf("%-62s %7d ops  %11s  p50 %7.2f ms  p99 %7.2f ms\n", r.Name, r.Ops, "", r.P50ms, r.P99ms)
	}
	return nil
}
