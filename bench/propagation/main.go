// Command propagation measures how long a revocation made on one Steward
// node takes to be enforced on another: two nodes (each its own store
// pool, change fan-out, inventory, broker and PDP, wired as serve wires
// them, with the default poll intervals) share one PostgreSQL. For each of
// n identities it issues an API key on node A, uses it on node B (so B
// caches it), revokes the identity on A, and spins on B until B refuses
// both the key and a PDP decision for the identity; the latency runs from
// the moment A's revocation returned.
//
//	go run ./bench/propagation -db postgres://… [-n 1000] [-listen=false]
//
// -listen=false turns the LISTEN/NOTIFY listener off to measure the
// polling fallback alone.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/authz"
	"github.com/steward-nhi/steward/bench/internal/pgschema"
	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "propagation:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("propagation", flag.ContinueOnError)
	db := fs.String("db", getenv("STEWARD_TEST_POSTGRES_URL"), "PostgreSQL URL (a scratch schema is created and dropped)")
	n := fs.Int("n", 1000, "revocations to measure")
	listen := fs.Bool("listen", true, "follow changes through LISTEN/NOTIFY (false: polling only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *db == "" {
		return errors.New("no database: pass -db or set STEWARD_TEST_POSTGRES_URL")
	}
	dsn, drop, err := pgschema.New(context.Background(), *db)
	if err != nil {
		return err
	}
	defer drop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // before the stores close: stops the nodes' loops
	a, err := startNode(ctx, dsn, *listen)
	if err != nil {
		return err
	}
	defer a.store.Close()
	b, err := startNode(ctx, dsn, *listen)
	if err != nil {
		return err
	}
	defer b.store.Close()
	defer cancel()
	admin := steward.WithPrincipal(ctx, steward.SystemPrincipal("bench"))
	if _, err := a.pdp.PutPolicy(admin, "all", `permit (principal, action, resource);`, "bench"); err != nil {
		return err
	}
	if err := b.pdp.Reload(ctx); err != nil {
		return err
	}
	var lat, authLat, pdpLat []time.Duration
	for k := range *n {
		i, err := a.svc.CreateIdentity(admin, &steward.Identity{Name: fmt.Sprintf("prop-%d", k), Kind: steward.KindServiceAccount,
			Provider: "steward", Sensitivity: steward.SensitivityLow, Scopes: []string{"read"}})
		if err != nil {
			return err
		}
		key, err := a.b.Issue(admin, i.ID, broker.IssueRequest{})
		if err != nil {
			return err
		}
		if !b.authenticates(key.Secret) || !b.permits(admin, i.ID) {
			return fmt.Errorf("node B refused identity %s before its revocation", i.ID)
		}
		if _, err := a.svc.TransitionIdentity(admin, i.ID, steward.TransitionRevoke, steward.TransitionRequest{Reason: string(steward.ReasonManual)}); err != nil {
			return err
		}
		start := time.Now()
		var authAt, pdpAt time.Duration
		for authAt == 0 || pdpAt == 0 {
			if authAt == 0 && !b.authenticates(key.Secret) {
				authAt = time.Since(start)
			}
			if pdpAt == 0 && !b.permits(admin, i.ID) {
				pdpAt = time.Since(start)
			}
			if time.Since(start) > 10*time.Second {
				return fmt.Errorf("node B still accepts identity %s 10 s after its revocation", i.ID)
			}
		}
		lat, authLat, pdpLat = append(lat, max(authAt, pdpAt)), append(authLat, authAt), append(pdpLat, pdpAt)
	}
	mode := "LISTEN/NOTIFY (polls as fallback)"
	if !*listen {
		mode = "polling only"
	}
	fmt.Fprintf(stdout, "propagation of %d identity revocations from node A to node B, %s:\n", len(lat), mode)
	for _, r := range []struct {
		name string
		d    []time.Duration
	}{{"key refused and PDP denies", lat}, {"key refused (broker)", authLat}, {"PDP denies", pdpLat}} {
		slices.Sort(r.d)
		pct := func(p float64) time.Duration { return round(r.d[min(len(r.d)-1, int(p*float64(len(r.d))))]) }
		fmt.Fprintf(stdout, "  %-28s p50 %-9v p90 %-9v p99 %-9v max %v\n", r.name, pct(0.50), pct(0.90), pct(0.99), round(r.d[len(r.d)-1]))
	}
	return nil
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }

// node is one Steward node.
type node struct {
	store *sqlstore.Store
	svc   *inventory.Service
	b     *broker.Broker
	pdp   *authz.PDP
}

// authenticates reports whether the node accepts the key.
func (n *node) authenticates(key string) bool {
	_, err := n.b.Authenticate(context.Background(), key)
	return err == nil
}

// permits reports whether the node's PDP permits the identity (an error
// counts as a permit: it is not a refusal).
func (n *node) permits(ctx context.Context, identityID string) bool {
	d, err := n.pdp.Evaluate(ctx, &authz.Request{Subject: &authz.Entity{Type: "nhi", ID: identityID}, Action: &authz.Action{Name: "x"},
		Resource: &authz.Entity{Type: "R", ID: "r"}}, authz.Call{})
	return err != nil || d.Decision
}

// startNode opens a store and runs a node's background loops, with the
// default intervals, until ctx ends.
func startNode(ctx context.Context, dsn string, listen bool) (*node, error) {
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		return nil, err
	}
	changes := steward.NewChanges()
	box, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
	if err != nil {
		return nil, err
	}
	n := &node{store: st, svc: inventory.New(inventory.Config{Store: st, Changes: changes, Credentials: st})}
	if n.b, err = broker.New(ctx, broker.Config{Store: st, Box: box, Pepper: []byte("bench-pepper-bench-pepper"), DefaultIssuer: "http://bench",
		FailureRate: 1e9, Changes: changes, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}); err != nil {
		return nil, err
	}
	if n.pdp, err = authz.New(ctx, authz.Config{Inventory: st, Store: st, Changes: changes}); err != nil {
		return nil, err
	}
	go n.b.Run(ctx, 0, 0)
	go n.pdp.Run(ctx)
	if listen {
		go func() { _ = st.FollowChanges(ctx, changes, nil) }()
	}
	return n, nil
}
