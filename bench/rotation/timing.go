package main

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/rotation"
	"github.com/steward-nhi/steward/sqlstore"
)

// timings collects the durations of the parts of a dynamic credential, so
// that the report says where its latency goes: Steward's write
// transactions (the lease row and its event on the one writer) and the
// provider's CREATE and DROP at PostgreSQL.
type timings struct {
	mu    sync.Mutex
	parts map[string][]time.Duration
}

func (t *timings) add(part string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.parts == nil {
		t.parts = map[string][]time.Duration{}
	}
	t.parts[part] = append(t.parts[part], d)
}

func (t *timings) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.parts = nil
}

// timedStore times each write transaction of the rotation service.
type timedStore struct {
	*sqlstore.Store
	t *timings
}

func (s timedStore) UpdateRotations(ctx context.Context, fn func(tx steward.RotationTx) error) error {
	start := time.Now()
	err := s.Store.UpdateRotations(ctx, fn)
	s.t.add("store write tx", time.Since(start))
	return err
}

// timedKind times the provider's account calls.
func timedKind(k rotation.Kind, t *timings) rotation.Kind {
	open := k.Open
	k.Open = func(ctx context.Context, cfg map[string]string, secret []byte) (rotation.Provider, error) {
		p, err := open(ctx, cfg, secret)
		if err != nil {
			return nil, err
		}
		return timedDynamic{p.(rotation.Dynamic), t}, nil
	}
	return k
}

type timedDynamic struct {
	rotation.Dynamic
	t *timings
}

func (d timedDynamic) CreateAccount(ctx context.Context, spec rotation.LeaseSpec) error {
	start := time.Now()
	err := d.Dynamic.CreateAccount(ctx, spec)
	d.t.add("provider create account", time.Since(start))
	return err
}

func (d timedDynamic) DropAccount(ctx context.Context, username string) (string, error) {
	start := time.Now()
	a, err := d.Dynamic.DropAccount(ctx, username)
	d.t.add("provider drop account", time.Since(start))
	return a, err
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// Warm passes warming on to the provider.
func (d timedDynamic) Warm(ctx context.Context, conns int) error {
	if w, ok := d.Dynamic.(rotation.Warmer); ok {
		return w.Warm(ctx, conns)
	}
	return nil
}
