package sqlstore

import (
	"context"

	"github.com/steward-nhi/steward"
)

// The posture capability's persistence (migrations 0006, 0010, 0011), one
// file per sub-domain: findings and waivers (posture_findings.go), what the
// checks read about identities (posture_subjects.go), access reviews
// (posture_reviews.go), offboarding (posture_offboarding.go), snapshots and
// the job lease of posture runs (posture_runs.go), usage (posture_usage.go).

var (
	_ steward.PostureStore = (*Store)(nil)
	_ steward.PostureTx    = (*tx)(nil)
)

// UpdatePosture runs fn in one write transaction with the posture methods.
func (s *Store) UpdatePosture(ctx context.Context, fn func(tx steward.PostureTx) error) error {
	return s.update(ctx, func(t *tx) error { return fn(t) })
}
