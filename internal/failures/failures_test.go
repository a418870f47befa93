package failures_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/steward-nhi/steward/internal/failures"
)

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name        string
		fails       int           // failures of "a" at t0
		at          time.Duration // when Blocked is asked, after t0
		wantBlocked bool
	}{
		{"a source that never failed is not blocked", 0, 0, false},
		{"failures within the burst leave one try", 2, 0, false},
		{"the burst used up blocks the source", 3, 0, true},
		{"the bucket refills at the rate", 3, time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := failures.New(1, 3, 100)
			for n := 0; n < tc.fails; n++ {
				if !l.Fail("a", t0) {
					t.Fatalf("failure %d refused within the burst", n+1)
				}
			}
			if got := l.Blocked("a", t0.Add(tc.at)); got != tc.wantBlocked {
				t.Fatalf("blocked %v, want %v", got, tc.wantBlocked)
			}
			if l.Blocked("b", t0) {
				t.Fatal("another source is blocked")
			}
		})
	}
	t.Run("a failure past the burst is refused", func(t *testing.T) {
		l := failures.New(1, 1, 100)
		if !l.Fail("a", t0) || l.Fail("a", t0) {
			t.Fatal("want the first failure allowed and the second refused")
		}
	})
	t.Run("past maxKeys the buckets are forgotten", func(t *testing.T) {
		l := failures.New(1, 1, 2)
		l.Fail("a", t0)
		for n := range 3 {
			l.Fail(fmt.Sprint("k", n), t0)
		}
		if l.Blocked("a", t0) {
			t.Fatal("the first source is still remembered")
		}
	})
}
