// Command posture benchmarks Steward's posture evaluation and evidence
// packs on generated data: a full evaluation over N identities (2
// credentials each, 10 usage aggregates each), an incremental
// re-evaluation after one change, and an evidence pack.
//
//	go run ./bench/posture -identities 1000000            # SQLite
//	go run ./bench/posture -identities 1000000 -db postgres://…
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/clock"
	"github.com/steward-nhi/steward/internal/ids"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/posture"
	"github.com/steward-nhi/steward/sqlstore"
)

func main() {
	n := flag.Int("identities", 100000, "identities to generate (2 credentials and 10 usage aggregates each)")
	pack := flag.Int("pack-identities", 100000, "identities of the evidence-pack database (0: skip)")
	dsn := flag.String("db", "", "postgres:// URL (default: a SQLite file in -dir)")
	dir := flag.String("dir", os.TempDir(), "directory for SQLite files")
	incr := flag.Int("incremental", 25, "incremental runs to time")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the full evaluations")
	reuse := flag.Bool("reuse", false, "reuse an existing SQLite database of this size (skip generation)")
	flag.Parse()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)

	path := filepath.Join(*dir, fmt.Sprintf("posture-bench-%d.db", *n))
	t := time.Now()
	var s *sqlstore.Store
	if _, err := os.Stat(path); *reuse && *dsn == "" && err == nil {
		if s, err = sqlstore.Open(ctx, path, sqlstore.Options{}); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("reusing %s\n", path)
	} else {
		s = open(ctx, *dsn, path)
		gen(ctx, s, *n, now)
	}
	fmt.Printf("generate %d identities, %d credentials, %d usage aggregates (%s): %s\n", *n, 2**n, 10**n, s.Engine(), time.Since(t).Round(time.Millisecond))

	clk := clock.NewFake(now)
	svc := inventory.New(inventory.Config{Store: s, Clock: clk})
	e := posture.New(posture.Options{Store: s, Inventory: svc, Clock: clk, Usage: s})
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		_ = pprof.StartCPUProfile(f)
	}
	for _, label := range []string{"full evaluation (cold: creates every finding)", "full evaluation (steady state)"} {
		t = time.Now()
		run, err := e.Evaluate(ctx, nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s (identities %d, opened %d, resolved %d, unchanged %d)\n", label, time.Since(t).Round(time.Millisecond),
			run.Identities, run.Opened, run.Resolved, run.Unchanged)
	}
	pprof.StopCPUProfile()
	admin := steward.WithPrincipal(ctx, steward.SystemPrincipal("bench"))
	page, err := s.ListIdentities(ctx, steward.IdentityFilter{Limit: 200})
	if err != nil {
		log.Fatal(err)
	}
	var ds []time.Duration
	for k := range *incr {
		i := page.Items[k%len(page.Items)]
		if _, err := svc.UpdateIdentity(admin, i.ID, steward.IdentityPatch{Purpose: steward.Some(fmt.Sprintf("bench %d", k))}); err != nil {
			log.Fatal(err)
		}
		head, _ := s.LastEvent(ctx)
		t = time.Now()
		if _, err := e.Incremental(ctx, head.Seq-1); err != nil {
			log.Fatal(err)
		}
		ds = append(ds, time.Since(t))
	}
	slices.Sort(ds)
	fmt.Printf("incremental re-evaluation after one change: median %s, p90 %s, max %s (%d runs)\n",
		ds[len(ds)/2].Round(10*time.Microsecond), ds[len(ds)*9/10].Round(10*time.Microsecond), ds[len(ds)-1].Round(10*time.Microsecond), len(ds))
	s.Close()

	if *pack > 0 {
		ps := s
		if *pack != *n {
			ps = open(ctx, *dsn, filepath.Join(*dir, fmt.Sprintf("posture-bench-%d.db", *pack)))
			gen(ctx, ps, *pack, now)
		} else {
			var err error
			if ps, err = sqlstore.Open(ctx, orDefault(*dsn, filepath.Join(*dir, fmt.Sprintf("posture-bench-%d.db", *n))), sqlstore.Options{}); err != nil {
				log.Fatal(err)
			}
		}
		pe := posture.New(posture.Options{Store: ps, Inventory: inventory.New(inventory.Config{Store: ps, Clock: clk}), Clock: clk, Usage: ps})
		if _, err := pe.Evaluate(ctx, nil); err != nil {
			log.Fatal(err)
		}
		t = time.Now()
		files, err := pe.EvidencePack(admin, now.AddDate(0, -3, 0), now.Add(time.Hour))
		if err != nil {
			log.Fatal(err)
		}
		size := 0
		for _, f := range files {
			size += len(f.Content)
		}
		fmt.Printf("evidence pack for %d identities: %s (%d files, %.1f MB)\n", *pack, time.Since(t).Round(time.Millisecond), len(files), float64(size)/1e6)
		ps.Close()
	}
}

func orDefault(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func open(ctx context.Context, dsn, path string) *sqlstore.Store {
	if dsn == "" {
		for _, suf := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suf)
		}
		dsn = path
	}
	s, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if s.Engine() == sqlstore.Postgres {
		for _, tbl := range []string{"findings", "finding_waivers", "review_items", "review_campaigns", "offboardings", "posture_snapshots", "usage_aggregates", "credentials", "identities", "owners", "events"} {
			if _, err := s.DB().ExecContext(ctx, "TRUNCATE "+tbl+" CASCADE"); err != nil {
				log.Fatal(err)
			}
		}
	}
	return s
}

// gen writes owners, identities, credentials and usage aggregates directly
// (bulk SQL, like an import would) — about 10 % of identities have a
// posture problem.
func gen(ctx context.Context, s *sqlstore.Store, n int, now time.Time) {
	rng := rand.New(rand.NewPCG(1, 2))
	db := s.DB()
	bind := s.Rebind
	day := 24 * time.Hour
	us := func(t time.Time) int64 { return t.UnixMicro() }
	nOwners := max(10, n/100)
	owners := make([]string, nOwners)
	chunk := func(rows int, fn func(tx *sql.Tx, from, to int)) {
		const step = 20000
		for from := 0; from < rows; from += step {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				log.Fatal(err)
			}
			fn(tx, from, min(rows, from+step))
			if err := tx.Commit(); err != nil {
				log.Fatal(err)
			}
		}
	}
	must := func(_ sql.Result, err error) {
		if err != nil {
			log.Fatal(err)
		}
	}
	chunk(nOwners, func(tx *sql.Tx, from, to int) {
		st, _ := tx.PrepareContext(ctx, bind(`INSERT INTO owners (id, name, email, kind, status, team, external_ref, created_at, updated_at, departed_at, version) VALUES (?,?,?,?,?,?,?,?,?,?,1)`))
		defer st.Close()
		for k := from; k < to; k++ {
			owners[k] = ids.New(ids.Owner, now)
			status, dep := "active", any(nil)
			if k%50 == 0 {
				status, dep = "departed", us(now.Add(-10*day))
			}
			must(st.ExecContext(ctx, owners[k], fmt.Sprintf("Owner %d", k), fmt.Sprintf("owner%d@example.com", k), "person", status, fmt.Sprintf("team%d", k%40), "", us(now), us(now), dep))
		}
	})
	envs := []string{"prod", "staging", "dev"}
	tiers := []string{"critical", "high", "medium", "low"}
	chunk(n, func(tx *sql.Tx, from, to int) {
		si, _ := tx.PrepareContext(ctx, bind(`INSERT INTO identities (id, name, kind, provider, external_ref, owner_id, team, purpose, environment, scopes, sensitivity,
			vendor_managed, source, status, created_at, updated_at, expires_at, last_rotated_at, last_used_at, labels, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)`))
		sc, _ := tx.PrepareContext(ctx, bind(`INSERT INTO credentials (id, identity_id, type, external_ref, fingerprint, hint, status, scopes, created_at, expires_at,
			last_rotated_at, last_used_at, metadata) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'{}')`))
		su, _ := tx.PrepareContext(ctx, bind(`INSERT INTO usage_aggregates (subject_key, dimension, value, count, first_seen, last_seen) VALUES (?,?,?,?,?,?)`))
		defer si.Close()
		defer sc.Close()
		defer su.Close()
		for k := from; k < to; k++ {
			id := ids.New(ids.Identity, now)
			bad := rng.IntN(10) == 0
			owner := any(owners[rng.IntN(nOwners)])
			tier := tiers[rng.IntN(4)]
			created := now.Add(-time.Duration(200+rng.IntN(400)) * day)
			rotated := now.Add(-time.Duration(rng.IntN(5)) * day)
			used := now.Add(-time.Duration(rng.IntN(3)) * day)
			expires := any(us(now.Add(time.Duration(1+rng.IntN(6)) * day)))
			if bad {
				switch rng.IntN(4) {
				case 0:
					owner = nil
				case 1:
					rotated = now.Add(-400 * day)
				case 2:
					used = now.Add(-200 * day)
				case 3:
					expires = nil
				}
			}
			env := envs[rng.IntN(3)]
			must(si.ExecContext(ctx, id, fmt.Sprintf("svc-%d", k), "service_account", "steward", fmt.Sprintf("ref-%d", k), owner, "team", "bench", env,
				`["s3:GetObject","s3:PutObject"]`, tier, 0, "imported", "active", us(created), us(created), expires, us(rotated), us(used), `{"app":"bench"}`))
			for c := range 2 {
				fp := fmt.Sprintf("%064x", uint64(k)*2+uint64(c))
				must(sc.ExecContext(ctx, ids.New(ids.Credential, now), id, "oidc_federation", "", fp, "", "active", "[]", us(rotated), expires, us(rotated), us(used)))
			}
			first := us(created)
			for _, a := range [][2]string{{"all", ""}, {"action", "s3:GetObject"}, {"action", "s3:PutObject"}, {"action", "s3:ListBucket"}, {"resource", "bucket-a"},
				{"resource", "bucket-b"}, {"source", "10.0.0.1"}, {"source", "10.0.0.2"}, {"environment", env}, {"user_agent", "aws-sdk-go-v2"}} {
				must(su.ExecContext(ctx, id, a[0], a[1], 42, first, us(used)))
			}
		}
	})
}
