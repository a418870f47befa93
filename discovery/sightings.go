package discovery

import (
	"context"
	"sync"
	"time"

	"github.com/steward-nhi/steward"
)

// SightingCache gives posture the open sightings linked to identities. A
// full posture run asks batch by batch, so the open sightings are read once
// and kept for TTL (default 30 s) rather than queried per batch.
type SightingCache struct {
	Reader steward.DiscoveryReader
	TTL    time.Duration

	mu   sync.Mutex
	at   time.Time
	byID map[string][]steward.Sighting
}

// DiscoveriesFor returns the open sightings of each of ids.
func (c *SightingCache) DiscoveriesFor(ctx context.Context, ids []string) (map[string][]steward.Sighting, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ttl := c.TTL
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	if c.byID == nil || time.Since(c.at) > ttl {
		m := map[string][]steward.Sighting{}
		err := steward.EachPage(func(cursor string) (*steward.Page[*steward.Sighting], error) {
			return c.Reader.ListSightings(ctx, steward.SightingFilter{Status: "open", Limit: steward.MaxLimit, Cursor: cursor})
		}, func(d *steward.Sighting) error {
			if d.IdentityID != "" {
				m[d.IdentityID] = append(m[d.IdentityID], *d)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		c.byID, c.at = m, time.Now()
	}
	out := make(map[string][]steward.Sighting, len(ids))
	for _, id := range ids {
		if d := c.byID[id]; d != nil {
			out[id] = d
		}
	}
	return out, nil
}
