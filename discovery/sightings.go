package discovery

import (
	"context"
	"sync"
	"time"

	"github.com/steward-nhi/steward"
)

// SightingCache gives posture the open sightings linked to identities. A
// full posture run asks batch by batch, so large requests share one read
// of every open sighting, kept for TTL; small requests (an incremental
// run, or a leak just reported) read their identities' sightings from the
// store, so a new leak is seen at once.
type SightingCache struct {
	Reader steward.DiscoveryReader
	// TTL is how long the read of every open sighting is reused (default
	// 30 s).
	TTL time.Duration
	// Fresh is the largest request read directly (default 64 identities).
	Fresh int

	mu   sync.Mutex
	at   time.Time
	byID map[string][]steward.Sighting
}

// DiscoveriesFor returns the open sightings of each of ids.
func (c *SightingCache) DiscoveriesFor(ctx context.Context, ids []string) (map[string][]steward.Sighting, error) {
	fresh, ttl := c.Fresh, c.TTL
	if fresh <= 0 {
		fresh = 64
	}
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	out := make(map[string][]steward.Sighting, len(ids))
	if len(ids) <= fresh {
		for _, id := range ids {
			err := c.each(ctx, steward.SightingFilter{IdentityID: id, Status: "open"}, func(d *steward.Sighting) {
				out[id] = append(out[id], *d)
			})
			if err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID == nil || time.Since(c.at) > ttl {
		m := map[string][]steward.Sighting{}
		err := c.each(ctx, steward.SightingFilter{Status: "open"}, func(d *steward.Sighting) {
			if d.IdentityID != "" {
				m[d.IdentityID] = append(m[d.IdentityID], *d)
			}
		})
		if err != nil {
			return nil, err
		}
		c.byID, c.at = m, time.Now()
	}
	for _, id := range ids {
		if d := c.byID[id]; d != nil {
			out[id] = d
		}
	}
	return out, nil
}

// each calls fn with every sighting f selects, page by page.
func (c *SightingCache) each(ctx context.Context, f steward.SightingFilter, fn func(d *steward.Sighting)) error {
	f.Limit = steward.MaxLimit
	return steward.EachPage(func(cursor string) (*steward.Page[*steward.Sighting], error) {
		f.Cursor = cursor
		return c.Reader.ListSightings(ctx, f)
	}, func(d *steward.Sighting) error { fn(d); return nil })
}
