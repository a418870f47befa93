package main

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
)

// TestSmoke runs every phase at a tiny size: the program works, and the
// heavy runs stay behind `go run ./bench/core` and the benchmarks.
func TestSmoke(t *testing.T) {
	var out, errs bytes.Buffer
	args := []string{"-engines", "sqlite", "-import", "100", "-rows", "600", "-batch", "300", "-queries", "16",
		"-duration", "200ms", "-concurrency", "4", "-dir", t.TempDir()}
	if err := run(context.Background(), args, func(string) string { return "" }, &out, &errs); err != nil {
		t.Fatalf("run: %v\n%s", err, errs.String())
	}
	for _, want := range []string{"import identities/s", "load rows/s", "list p50", "list p99", "http GET identity req/s", "http GET identity p99"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestCredentialReportParses(t *testing.T) {
	report := credentialReport(100, time.Now(), 1)
	if got := bytes.Count(report, []byte("\n")); got != 101 {
		t.Fatalf("report has %d lines, want 101", got)
	}
	db := benchConfigDB(t, "import")
	sum, err := db.svc.Import(admin(context.Background()), "aws-credential-report", bytes.NewReader(report), steward.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Created != 100 || sum.Rejected != 0 {
		t.Errorf("import: %+v", sum)
	}
}

func TestFlagsRejectNonsense(t *testing.T) {
	for _, args := range [][]string{
		{"-engines", "mysql"},
		{"-engines", "postgres"}, // no URL
		{"-phases", "everything"},
		{"-rows", "0"},
		{"extra"},
	} {
		if _, err := parseFlags(args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

func benchConfig(tb testing.TB) *config {
	return &config{dir: tb.TempDir(), seed: 1, batch: 10_000, queries: 400, log: io.Discard}
}

func benchConfigDB(tb testing.TB, name string) *benchDB {
	tb.Helper()
	db, err := openStore(context.Background(), benchConfig(tb), "sqlite", name)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.close)
	return db
}

// BenchmarkImport imports a 1,000-user credential report into a new store
// per operation.
func BenchmarkImport(b *testing.B) {
	const users = 1000
	report := credentialReport(users, time.Now(), 1)
	ctx := admin(context.Background())
	var spent time.Duration
	for b.Loop() {
		b.StopTimer()
		db, err := openStore(context.Background(), benchConfig(b), "sqlite", "import")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if _, err := db.svc.Import(ctx, "aws-credential-report", bytes.NewReader(report), steward.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
		spent += time.Since(start)
		b.StopTimer()
		db.close()
		b.StartTimer()
	}
	b.ReportMetric(float64(users*b.N)/spent.Seconds(), "identities/s")
}

// listFixture is a 100k-identity store shared by the list and HTTP
// benchmarks (the program measures 1M).
var listFixture = sync.OnceValues(func() (*fixture, error) {
	c := &config{seed: 1, rows: 100_000, batch: 10_000, queries: 1000, log: io.Discard}
	dir, err := os.MkdirTemp("", "steward-bench-")
	if err != nil {
		return nil, err
	}
	c.dir = dir
	db, err := openStore(context.Background(), c, "sqlite", "inventory")
	if err != nil {
		return nil, err
	}
	ds, _, err := loadInventory(context.Background(), c, db)
	if err != nil {
		db.close()
		return nil, err
	}
	return &fixture{c: c, db: db, ds: ds}, nil
})

// fixtureUsed records that a benchmark built the shared fixture, so that
// TestMain removes it.
var fixtureUsed bool

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureUsed {
		if f, err := listFixture(); err == nil {
			f.db.close()
			os.RemoveAll(f.c.dir)
		}
	}
	os.Exit(code)
}

type fixture struct {
	c  *config
	db *benchDB
	ds *dataset
}

func getFixture(b *testing.B) *fixture {
	b.Helper()
	fixtureUsed = true
	f, err := listFixture()
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkListFiltered runs the program's query mix, one query per
// operation, over 100k identities.
func BenchmarkListFiltered(b *testing.B) {
	f := getFixture(b)
	qs := buildQueries(f.c, f.ds)
	ctx := admin(context.Background())
	var lat latencies
	n := 0
	for b.Loop() {
		q := qs[n%len(qs)]
		n++
		start := time.Now()
		if _, err := f.db.svc.ListIdentities(ctx, q.filter); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.ReportMetric(ms(lat.percentile(0.99)), "p99-ms")
}

// BenchmarkGetIdentityHTTP reads identities over HTTP with 32 concurrent
// clients (16 per CPU on the 2-core reference machine).
func BenchmarkGetIdentityHTTP(b *testing.B) {
	f := getFixture(b)
	s, err := startServer(context.Background(), f.db)
	if err != nil {
		b.Fatal(err)
	}
	defer s.close()
	client := newClient(32)
	defer client.CloseIdleConnections()
	b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
		for pb.Next() {
			if err := get(context.Background(), client, s, f.ds.sample[rng.IntN(len(f.ds.sample))]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
