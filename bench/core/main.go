// Command core measures Steward's core inventory on SQLite (a temporary
// directory) and, when STEWARD_TEST_POSTGRES_URL names a server, PostgreSQL
// (a fresh schema, dropped afterwards):
//
//  1. import: a 100k-user AWS IAM credential report through the real import
//     path, (*inventory.Service).Import → identities/s;
//  2. list: 1M identities loaded through the Store, then ~1,000 filtered
//     pages of 50 (and second pages through the cursor) → p50, p99;
//  3. http: GET /api/v1/identities/{id} over real HTTP at concurrency 32
//     → req/s, p50, p99.
//
// Run: go run ./bench/core [-engines sqlite,postgres] [-import 100000]
// [-rows 1000000] [-queries 1000] [-duration 10s] [-concurrency 32]
// [-phases import,list,http] [-profile DIR].
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "core:", err)
		os.Exit(1)
	}
}

// postgresEnv names the variable with a PostgreSQL server URL.
const postgresEnv = "STEWARD_TEST_POSTGRES_URL"

type config struct {
	engines     []string
	phases      map[string]bool
	importN     int
	rows        int
	batch       int
	queries     int
	duration    time.Duration
	concurrency int
	profileDir  string
	pgURL       string
	dir         string
	seed        uint64
	cacheMiB    int
	loadCache   int
	rowEvents   bool
	verify      bool
	log         io.Writer
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("core", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{log: stderr}
	engines := fs.String("engines", "", "comma-separated engines: sqlite, postgres (default: sqlite, and postgres when "+postgresEnv+" is set)")
	phases := fs.String("phases", "import,list,http", "comma-separated phases to run: import, list, http")
	fs.IntVar(&c.importN, "import", 100_000, "IAM users in the imported credential report")
	fs.IntVar(&c.rows, "rows", 1_000_000, "identities loaded for the list and http phases")
	fs.IntVar(&c.batch, "batch", 10_000, "identities per load transaction")
	fs.IntVar(&c.queries, "queries", 1000, "filtered list queries")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "duration of the HTTP load")
	fs.IntVar(&c.concurrency, "concurrency", 32, "concurrent HTTP clients")
	fs.StringVar(&c.profileDir, "profile", "", "write a CPU profile of each phase into this directory")
	fs.StringVar(&c.pgURL, "postgres", getenv(postgresEnv), "PostgreSQL server URL")
	fs.StringVar(&c.dir, "dir", "", "directory for SQLite files (default: a new temporary directory, removed afterwards)")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the synthetic data")
	fs.BoolVar(&c.verify, "verify", false, "import: verify the audit chain of the imported store afterwards (untimed); fail if it does not verify")
	fs.BoolVar(&c.rowEvents, "row-events", false, "load: append one creation event per identity (as the service does) instead of one per batch; about 35% slower")
	fs.IntVar(&c.cacheMiB, "sqlite-cache-mib", 0, "experiment: set the SQLite write connection's page cache to this many MiB for the import (0: the store's default: 32 MiB, raised to 256 MiB for a bulk batch)")
	fs.IntVar(&c.loadCache, "load-cache-mib", 256, "SQLite write connection's page cache in MiB while loading the list data set (harness speed only; reads use their own connections)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *engines == "" {
		c.engines = []string{"sqlite"}
		if c.pgURL != "" {
			c.engines = append(c.engines, "postgres")
		}
	} else {
		c.engines = strings.Split(*engines, ",")
	}
	for _, e := range c.engines {
		switch e {
		case "sqlite":
		case "postgres":
			if c.pgURL == "" {
				return nil, fmt.Errorf("engine postgres needs -postgres or %s", postgresEnv)
			}
		default:
			return nil, fmt.Errorf("unknown engine %q (sqlite, postgres)", e)
		}
	}
	c.phases = map[string]bool{}
	for _, p := range strings.Split(*phases, ",") {
		switch p {
		case "import", "list", "http":
			c.phases[p] = true
		default:
			return nil, fmt.Errorf("unknown phase %q (import, list, http)", p)
		}
	}
	if c.importN < 1 || c.rows < 1 || c.batch < 1 || c.queries < 1 || c.concurrency < 1 || c.duration <= 0 {
		return nil, errors.New("sizes, duration and concurrency must be positive")
	}
	return c, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	if c.dir == "" {
		dir, err := os.MkdirTemp("", "steward-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c.dir = dir
	}
	if c.profileDir != "" {
		if err := os.MkdirAll(c.profileDir, 0o755); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "%s\n", machine())
	var results []result
	for _, engine := range c.engines {
		r, err := runEngine(ctx, c, engine, stdout)
		results = append(results, r...)
		if err != nil {
			return fmt.Errorf("%s: %w", engine, err)
		}
	}
	fmt.Fprintln(stdout)
	printTable(stdout, results)
	return nil
}

// runEngine runs the chosen phases on one engine.
func runEngine(ctx context.Context, c *config, engine string, stdout io.Writer) ([]result, error) {
	var out []result
	if c.phases["import"] {
		r, err := benchImport(ctx, c, engine)
		if err != nil {
			return out, fmt.Errorf("import: %w", err)
		}
		report(stdout, r)
		out = append(out, r...)
	}
	if !c.phases["list"] && !c.phases["http"] {
		return out, nil
	}
	db, err := openStoreCache(ctx, c, engine, "inventory", c.loadCache)
	if err != nil {
		return out, err
	}
	defer db.close()
	ds, r, err := loadInventory(ctx, c, db)
	if err != nil {
		return out, fmt.Errorf("load: %w", err)
	}
	report(stdout, r)
	out = append(out, r...)
	if c.phases["list"] {
		r, err := benchList(ctx, c, db, ds)
		if err != nil {
			return out, fmt.Errorf("list: %w", err)
		}
		report(stdout, r)
		out = append(out, r...)
	}
	if c.phases["http"] {
		r, err := benchHTTP(ctx, c, db, ds)
		if err != nil {
			return out, fmt.Errorf("http: %w", err)
		}
		report(stdout, r)
		out = append(out, r...)
	}
	return out, nil
}

func report(w io.Writer, rs []result) {
	for _, r := range rs {
		fmt.Fprintf(w, "%-9s %-28s %s\n", r.engine, r.name, r.text())
	}
}
