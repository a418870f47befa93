package audit_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/steward-nhi/steward/audit"
	"github.com/steward-nhi/steward/internal/secretbox"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
)

func TestOpenStoredKeysTellsWhetherTheMasterKeyIsTheOne(t *testing.T) {
	st := sqltest.SQLite(t)
	ctx := context.Background()
	box := func(b byte) *secretbox.Box {
		bx, err := secretbox.New(bytes.Repeat([]byte{b}, secretbox.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		return bx
	}
	if n, err := audit.OpenStoredKeys(ctx, st, box(1)); n != 0 || err != nil {
		t.Fatalf("no keys yet: n=%d err=%v", n, err)
	}
	if _, err := audit.LoadSigner(ctx, st, box(1), time.Now()); err != nil {
		t.Fatal(err)
	}
	if n, err := audit.OpenStoredKeys(ctx, st, box(1)); n != 1 || err != nil {
		t.Fatalf("the sealing key: n=%d err=%v", n, err)
	}
	if n, err := audit.OpenStoredKeys(ctx, st, box(2)); n != 0 || !errors.Is(err, secretbox.ErrWrongKey) {
		t.Fatalf("another key: n=%d err=%v", n, err)
	}
}
