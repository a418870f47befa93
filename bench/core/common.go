package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/bench/internal/pgschema"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore"
)

// benchDB is a store on a fresh database: a new SQLite file, or a new
// PostgreSQL schema dropped on close.
type benchDB struct {
	engine string
	store  *sqlstore.Store
	svc    *inventory.Service
	drop   func()
}

func (b *benchDB) close() {
	b.store.Close()
	if b.drop != nil {
		b.drop()
	}
}

// admin returns ctx acting as an admin (Steward's own jobs use the same).
func admin(ctx context.Context) context.Context {
	return steward.WithPrincipal(ctx, steward.SystemPrincipal("bench"))
}

func openStore(ctx context.Context, c *config, engine, name string) (*benchDB, error) {
	return openStoreCache(ctx, c, engine, name, c.cacheMiB)
}

// openStoreCache is openStore with the SQLite write connection's page cache
// set to cacheMiB (0 keeps the store's default).
func openStoreCache(ctx context.Context, c *config, engine, name string, cacheMiB int) (*benchDB, error) {
	b := &benchDB{engine: engine}
	dsn := filepath.Join(c.dir, name+".db")
	if engine == "postgres" {
		var err error
		dsn, b.drop, err = pgschema.New(ctx, c.pgURL)
		if err != nil {
			return nil, err
		}
	}
	s, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		if b.drop != nil {
			b.drop()
		}
		return nil, err
	}
	b.store = s
	if engine == "sqlite" && cacheMiB > 0 {
		// The write handle has one connection that lives as long as the
		// store, so a PRAGMA on it sticks.
		if _, err := s.DB().ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", cacheMiB*1024)); err != nil {
			s.Close()
			return nil, err
		}
	}
	b.svc = inventory.New(inventory.Config{Store: s})
	return b, nil
}

// result is one measured number.
type result struct {
	engine, name string
	value        float64
	unit         string
	note         string
}

func (r result) text() string {
	s := fmt.Sprintf("%10.2f %s", r.value, r.unit)
	if r.note != "" {
		s += "  (" + r.note + ")"
	}
	return s
}

func printTable(w io.Writer, rs []result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "engine\tmeasure\tvalue\tunit\tnote")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%s\t%s\n", r.engine, r.name, r.value, r.unit, r.note)
	}
	tw.Flush()
}

// latencies summarises a set of durations.
type latencies []time.Duration

func (l latencies) percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	i = max(0, min(i, len(s)-1))
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// profile starts a CPU profile of a phase when -profile is set and
// returns the function that stops it.
func profile(c *config, engine, phase string) (func(), error) {
	if c.profileDir == "" {
		return func() {}, nil
	}
	f, err := os.Create(filepath.Join(c.profileDir, engine+"-"+phase+".pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func logf(c *config, format string, args ...any) {
	fmt.Fprintf(c.log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// machine describes where the numbers were taken.
func machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s %s/%s, GOMAXPROCS=%d, NumCPU=%d, %s", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU(), model)
}
