package inventory_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/inventory"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

// slowTouches is the real store whose TouchToken waits on gate (closed:
// no wait) and counts its calls.
type slowTouches struct {
	steward.Store
	gate  chan struct{}
	mu    sync.Mutex
	calls int
}

func (s *slowTouches) TouchToken(ctx context.Context, id string, at time.Time) error {
	select {
	case <-s.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	return s.Store.TouchToken(ctx, id, at)
}

// TestTokenLastUseIsWrittenOffTheRequestPath: authenticating with an
// operator token records its last use eventually without waiting for the
// store; FlushTokenUse (shutdown) writes what is still waiting; and when
// the store is stuck, authentication neither blocks nor grows memory: the
// waiting set is bounded and the excess is dropped.
func TestTokenLastUseIsWrittenOffTheRequestPath(t *testing.T) {
	ctx := context.Background()
	sys := steward.WithPrincipal(ctx, steward.SystemPrincipal("test"))
	setup := func(t *testing.T, gate chan struct{}, tokens int) (*inventory.Service, *slowTouches, []string, []string) {
		t.Helper()
		st := &slowTouches{Store: sqltest.OpenSQLite(t), gate: gate}
		svc := inventory.New(inventory.Config{Store: st})
		var secrets, ids []string
		for i := range tokens {
			ct, err := svc.CreateToken(sys, steward.TokenCreate{Role: steward.RoleAuditor, Name: fmt.Sprintf("t%d", i)})
			if err != nil {
				t.Fatal(err)
			}
			secrets, ids = append(secrets, ct.Token), append(ids, ct.ID)
		}
		return svc, st, secrets, ids
	}
	lastUsed := func(t *testing.T, st steward.Store, id string) *time.Time {
		t.Helper()
		tok, err := st.GetToken(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return tok.LastUsedAt
	}
	open := make(chan struct{})
	close(open)

	t.Run("a use is recorded eventually", func(t *testing.T) {
		svc, st, secrets, ids := setup(t, open, 1)
		if _, err := svc.Authenticate(ctx, secrets[0]); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for lastUsed(t, st, ids[0]) == nil {
			if time.Now().After(deadline) {
				t.Fatal("the token's last use was never written")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})

	t.Run("authentication does not wait for the store, and the flush writes what waits", func(t *testing.T) {
		gate := make(chan struct{})
		svc, st, secrets, ids := setup(t, gate, 3)
		start := time.Now()
		for _, s := range secrets {
			if _, err := svc.Authenticate(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("authentication waited %s for a stuck store", d)
		}
		for _, id := range ids {
			if lastUsed(t, st, id) != nil {
				t.Fatalf("token %s recorded while the store was stuck", id)
			}
		}
		close(gate)
		if err := svc.FlushTokenUse(ctx); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if lastUsed(t, st, id) == nil {
				t.Fatalf("token %s: last use not written by the flush", id)
			}
		}
	})

	t.Run("a stuck store blocks no authentication, and each token is written once", func(t *testing.T) {
		// (Dropping beyond the bound is TestTokenTouchesAreBoundedAndCoalesced:
		// 4,096 tokens would take minutes to create here.) The writer is
		// stuck on the first token while the others wait.
		gate := make(chan struct{})
		svc, st, secrets, _ := setup(t, gate, 20)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for _, s := range secrets {
				if _, err := svc.Authenticate(ctx, s); err != nil {
					t.Error(err)
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("authentication blocked behind a stuck store")
		}
		close(gate)
		if err := svc.FlushTokenUse(ctx); err != nil {
			t.Fatal(err)
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.calls != len(secrets) {
			t.Fatalf("%d touches written, want %d (one per token, coalesced)", st.calls, len(secrets))
		}
	})

	t.Run("the flush gives up when its context ends", func(t *testing.T) {
		gate := make(chan struct{})
		svc, _, secrets, _ := setup(t, gate, 1)
		if _, err := svc.Authenticate(ctx, secrets[0]); err != nil {
			t.Fatal(err)
		}
		fctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := svc.FlushTokenUse(fctx); err == nil {
			t.Fatal("flush returned nil while the store was stuck")
		}
		close(gate)
	})
}
