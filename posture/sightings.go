package posture

import (
	"context"
	"sync"
	"time"

	"github.com/steward-nhi/steward"
)

// Sightings is the DiscoverySource over the scanner's stored sightings.
// Full runs ask batch by batch, so large requests share one read of every
// open sighting, kept for CacheFor; small requests (an incremental run, or
// a leak discovery just reported) read their identities' sightings from the
// store, so a new leak is seen at once.
type Sightings struct {
	R steward.DiscoveryReader
	// CacheFor is how long the read of every open sighting is reused
	// (default 30 s).
	CacheFor time.Duration
	// Fresh is the largest request read directly (default 64 identities).
	Fresh int

	mu   sync.Mutex
	at   time.Time
	byID map[string][]Discovery
}

// NewSightings returns a DiscoverySource over r.
func NewSightings(r steward.DiscoveryReader) *Sightings { return &Sightings{R: r} }

var _ DiscoverySource = (*Sightings)(nil)

// DiscoveriesFor returns the open sightings of these identities.
func (s *Sightings) DiscoveriesFor(ctx context.Context, ids []string) (map[string][]Discovery, error) {
	fresh, ttl := s.Fresh, s.CacheFor
	if fresh <= 0 {
		fresh = 64
	}
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	out := map[string][]Discovery{}
	if len(ids) <= fresh {
		for _, id := range ids {
			err := s.each(ctx, steward.SightingFilter{IdentityID: id, Status: "open", Limit: steward.MaxLimit}, func(d *steward.Sighting) {
				out[id] = append(out[id], discoveryOf(d))
			})
			if err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID == nil || time.Since(s.at) > ttl {
		m := map[string][]Discovery{}
		err := s.each(ctx, steward.SightingFilter{Status: "open", Limit: steward.MaxLimit}, func(d *steward.Sighting) {
			if d.IdentityID != "" {
				m[d.IdentityID] = append(m[d.IdentityID], discoveryOf(d))
			}
		})
		if err != nil {
			return nil, err
		}
		s.byID, s.at = m, time.Now()
	}
	for _, id := range ids {
		if d := s.byID[id]; d != nil {
			out[id] = d
		}
	}
	return out, nil
}

// each calls fn with every sighting f selects, page by page.
func (s *Sightings) each(ctx context.Context, f steward.SightingFilter, fn func(d *steward.Sighting)) error {
	for {
		p, err := s.R.ListSightings(ctx, f)
		if err != nil {
			return err
		}
		for _, d := range p.Items {
			fn(d)
		}
		if p.NextCursor == "" {
			return nil
		}
		f.Cursor = p.NextCursor
	}
}

func discoveryOf(d *steward.Sighting) Discovery {
	return Discovery{IdentityID: d.IdentityID, CredentialID: d.CredentialID, Fingerprint: d.Fingerprint, Rule: d.Rule,
		Repository: d.Repository, File: d.File, Line: d.Line, Managed: d.Managed, Status: d.Status, FirstSeen: d.FirstSeen}
}
