package broker_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/internal/secretbox"
)

func TestOpenStoredKeysTellsWhetherTheMasterKeyIsTheOne(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, tc := range []struct {
		name     string
		key      byte
		wrongKey bool
	}{
		{"the master key the keys were sealed with opens them", 7, false},
		{"another master key opens none", 8, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			box, err := secretbox.New(bytes.Repeat([]byte{tc.key}, secretbox.KeySize))
			if err != nil {
				t.Fatal(err)
			}
			n, err := broker.OpenStoredKeys(context.Background(), e.store, box)
			if tc.wrongKey {
				if !errors.Is(err, secretbox.ErrWrongKey) || n != 0 {
					t.Fatalf("wrong key: n=%d err=%v", n, err)
				}
				return
			}
			if err != nil || n < 1 {
				t.Fatalf("right key: n=%d err=%v", n, err)
			}
		})
	}
}
