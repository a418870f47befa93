// Command audit benchmarks the audit chain on SQLite: appends per second
// (one entry per transaction and batched), verification speed over a
// chain of -n entries, and inclusion-proof generation time.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/audit"
	"github.com/steward-nhi/steward/sqlstore"
)

var snapshot = steward.Snapshot(map[string]any{"id": "nhi_01JABCDEF", "name": "payments-api", "kind": "service_account", "provider": "aws",
	"scopes": []string{"s3:read", "sqs:send"}, "labels": map[string]string{"app": "pay"}, "status": "active", "version": 3})

func event(i int) *steward.Event {
	return &steward.Event{ID: fmt.Sprintf("evt_%09d", i), Time: time.Now().UTC(), Actor: "token:bench", Action: steward.ActionIdentityUpdate,
		SubjectType: steward.SubjectIdentity, SubjectID: "nhi_01JABCDEF", IdentityID: "nhi_01JABCDEF", Reason: "bench", Before: snapshot, After: snapshot}
}

func open(dir string) *sqlstore.Store {
	st, err := sqlstore.OpenDataDir(context.Background(), dir, sqlstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	return st
}

func main() {
	n := flag.Int("n", 1_000_000, "entries in the chain to verify")
	appends := flag.Int("appends", 20_000, "entries to append in each append benchmark")
	batch := flag.Int("batch", 1000, "entries per transaction in the batched append benchmark")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the verification to this file")
	flag.Parse()
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "steward-audit-bench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	// Appends through AppendEvent, as the inventory does.
	for _, b := range []int{1, *batch} {
		st := open(filepath.Join(tmp, fmt.Sprintf("append-%d", b)))
		total := *appends
		if b == 1 {
			total = min(total, 5000)
		}
		start := time.Now()
		for i := 0; i < total; i += b {
			err := st.Update(ctx, func(tx steward.Tx) error {
				for j := i; j < min(i+b, total); j++ {
					if err := tx.AppendEvent(ctx, event(j)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				log.Fatal(err)
			}
		}
		d := time.Since(start)
		fmt.Printf("append (%4d per tx): %8d entries in %v = %.0f appends/s\n", b, total, d.Round(time.Millisecond), float64(total)/d.Seconds())
		st.Close()
	}

	// A chain of n entries, written directly (the fast hash), to verify.
	st := open(filepath.Join(tmp, "verify"))
	defer st.Close()
	start := time.Now()
	prev := steward.GenesisHash
	const chunk = 20000
	for i := 0; i < *n; i += chunk {
		tx, err := st.DB().BeginTx(ctx, nil)
		if err != nil {
			log.Fatal(err)
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO events (seq, id, time, actor, action, subject_type, subject_id, identity_id, reason, before, after, prev_hash, entry_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`)
		if err != nil {
			log.Fatal(err)
		}
		for j := i; j < min(i+chunk, *n); j++ {
			e := event(j)
			e.Seq, e.PrevHash, e.Time = int64(j+1), prev, e.Time.Truncate(time.Microsecond)
			if e.EntryHash, err = audit.EntryHash(e); err != nil {
				log.Fatal(err)
			}
			if _, err := ins.ExecContext(ctx, e.Seq, e.ID, e.Time.UnixMicro(), e.Actor, e.Action, e.SubjectType, e.SubjectID, e.IdentityID, e.Reason, string(e.Before), string(e.After), e.PrevHash, e.EntryHash); err != nil {
				log.Fatal(err)
			}
			prev = e.EntryHash
		}
		ins.Close()
		if err := tx.Commit(); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("chain of %d entries written in %v\n", *n, time.Since(start).Round(time.Millisecond))

	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
	}
	start = time.Now()
	cpu0 := cpuTime()
	rep, err := audit.VerifyStore(ctx, st, nil, nil)
	pprof.StopCPUProfile()
	if err != nil {
		log.Fatal(err)
	}
	d, cpu := time.Since(start), cpuTime()-cpu0
	if !rep.OK {
		log.Fatalf("verify: %s", rep.Summary())
	}
	fmt.Printf("verify: %d entries in %v = %.0f entries/s (CPU time %v: %.0f entries per CPU-second; the machine has %d CPUs)\n",
		rep.Entries, d.Round(time.Millisecond), float64(rep.Entries)/d.Seconds(), cpu.Round(time.Millisecond), float64(rep.Entries)/cpu.Seconds(), runtime.NumCPU())

	// Proofs through the service (in-memory tree above 16-leaf blocks, the
	// rest read from the database), against a checkpoint of the chain.
	signer := audit.NewSigner(mustKey())
	svc := audit.NewService(audit.Config{Store: st, Signer: signer})
	start = time.Now()
	if _, err := svc.Checkpoint(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("first checkpoint (tree built from the chain, every entry re-hashed): %v\n", time.Since(start).Round(time.Millisecond))
	actx := steward.WithPrincipal(ctx, steward.SystemPrincipal("bench"))
	var ds []time.Duration
	for range 2000 {
		seq := rand.Int64N(int64(*n)) + 1
		s := time.Now()
		if _, err := svc.Proof(actx, seq, 0); err != nil {
			log.Fatal(err)
		}
		ds = append(ds, time.Since(s))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	fmt.Printf("inclusion proof (tree of %d): p50 %v, p99 %v\n", *n, ds[len(ds)/2], ds[len(ds)*99/100])
}
