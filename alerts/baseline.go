package alerts

import (
	"math"
	"net/netip"
	"strings"
	"time"
)

// maxSetSize bounds each learned set; an identity that uses more distinct
// values than this is too varied for "never seen before" to mean anything,
// and the set is marked full (its detector stays quiet).
const maxSetSize = 256

// Set counts the values of one dimension of behaviour.
type Set struct {
	M    map[string]uint32 `json:"m,omitempty"`
	Full bool              `json:"full,omitempty"`
}

// Has reports whether v was learned.
func (s *Set) Has(v string) bool { _, ok := s.M[v]; return ok }

// Add learns v.
func (s *Set) Add(v string) {
	if v == "" {
		return
	}
	if s.M == nil {
		s.M = map[string]uint32{}
	}
	if n, ok := s.M[v]; ok {
		if n < math.MaxUint32 {
			s.M[v] = n + 1
		}
		return
	}
	if len(s.M) >= maxSetSize {
		s.Full = true
		return
	}
	s.M[v] = 1
}

// Known returns up to n learned values, most used first (evidence).
func (s *Set) Known(n int) []string {
	type kv struct {
		k string
		v uint32
	}
	var all []kv
	for k, v := range s.M {
		all = append(all, kv{k, v})
	}
	// Small sets: a simple selection keeps this allocation-light.
	out := make([]string, 0, min(n, len(all)))
	for len(out) < n && len(all) > 0 {
		best := 0
		for i := range all {
			if all[i].v > all[best].v || (all[i].v == all[best].v && all[i].k < all[best].k) {
				best = i
			}
		}
		out = append(out, all[best].k)
		all = append(all[:best], all[best+1:]...)
	}
	return out
}

// Baseline is one identity's learned behaviour, updated incrementally from
// its usage events and persisted as JSON.
type Baseline struct {
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
	Events int64     `json:"events"`

	Networks  Set `json:"networks"`
	Agents    Set `json:"agents"`
	Actions   Set `json:"actions"`
	Resources Set `json:"resources"`
	Envs      Set `json:"envs"`
	Workloads Set `json:"workloads"`

	Hours [24]uint32 `json:"hours"`
	Days  [7]uint32  `json:"days"`

	// Rate: events per minute, an exponentially weighted mean and
	// variance over finished minutes.
	Minute      int64   `json:"minute"` // Unix minute of the current bucket
	MinuteCount float64 `json:"minute_count"`
	Mean        float64 `json:"mean"`
	Var         float64 `json:"var"`
	Samples     int64   `json:"samples"`
	SpikedAt    int64   `json:"spiked_at,omitempty"`    // minute already alerted
	SilentSince int64   `json:"silent_since,omitempty"` // Unix time of the last silence alert's gap start

	// Pending are the values an alert called new ("network=10.1.2.0/24")
	// and no one has judged yet, with the alert's id: further uses group
	// into that alert instead of raising new ones. A false positive
	// learns the value; a resolution forgets it (a recurrence alerts).
	Pending map[string]string `json:"pending,omitempty"`
}

// maxPending bounds the unjudged values kept per identity.
const maxPending = 64

func pendingKey(dim, v string) string { return dim + "=" + v }

// rateAlpha weights a finished minute in the rate's EWMA (a memory of
// about 100 minutes).
const rateAlpha = 0.02

// Learned reports whether the learning period is over at now: the
// identity was first seen at least period ago and made minEvents events.
func (b *Baseline) Learned(period time.Duration, minEvents int64, now time.Time) bool {
	return b.Events >= minEvents && now.Sub(b.First) >= period
}

// observeRate advances the per-minute buckets to t's minute and counts one
// event; it returns the count of the current minute.
func (b *Baseline) observeRate(t time.Time) float64 {
	m := t.Unix() / 60
	switch {
	case b.Samples == 0 && b.Minute == 0:
		b.Minute = m
	case m > b.Minute:
		b.push(b.MinuteCount)
		gap := min(m-b.Minute-1, 120) // quiet minutes count as zeros, up to two hours
		for range gap {
			b.push(0)
		}
		b.Minute, b.MinuteCount = m, 0
	}
	if m >= b.Minute {
		b.MinuteCount++
	}
	return b.MinuteCount
}

func (b *Baseline) push(x float64) {
	if b.Samples == 0 {
		b.Mean, b.Var = x, 0
	} else {
		d := x - b.Mean
		b.Mean += rateAlpha * d
		b.Var = (1 - rateAlpha) * (b.Var + rateAlpha*d*d)
	}
	b.Samples++
}

// expectedPerHour estimates how many events the identity makes in hour h
// of a day, from its history.
func (b *Baseline) expectedPerHour(h int) float64 {
	days := b.Last.Sub(b.First).Hours() / 24
	if days < 1 {
		days = 1
	}
	return float64(b.Hours[h]) / days
}

// usualHour reports whether the identity has been active in hour h or the
// hours beside it.
func (b *Baseline) usualHour(h int) bool {
	return b.Hours[h] > 0 || b.Hours[(h+23)%24] > 0 || b.Hours[(h+1)%24] > 0
}

// activeHours counts the hours of the day with any activity.
func (b *Baseline) activeHours() int {
	n := 0
	for _, c := range b.Hours {
		if c > 0 {
			n++
		}
	}
	return n
}

// Network returns the /24 (IPv4) or /48 (IPv6) network of a source address,
// or "" when it is not an address.
func Network(src string) string {
	if src == "" {
		return ""
	}
	if h, _, ok := strings.Cut(src, "%"); ok {
		src = h
	}
	a, err := netip.ParseAddr(src)
	if err != nil {
		if ap, err2 := netip.ParseAddrPort(src); err2 == nil {
			a = ap.Addr()
		} else {
			return ""
		}
	}
	a = a.Unmap()
	bits := 24
	if a.Is6() {
		bits = 48
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// normalizeResource replaces identifiers in a path-like resource (numbers,
// UUIDs, long hex) with "*" so that /orders/123 and /orders/456 are one
// resource.
func normalizeResource(r string) string {
	if r == "" || !strings.ContainsAny(r, "0123456789") {
		return r
	}
	parts := strings.Split(r, "/")
	changed := false
	for i, p := range parts {
		if isIdentifier(p) {
			parts[i], changed = "*", true
		}
	}
	if !changed {
		return r
	}
	return strings.Join(parts, "/")
}

func isIdentifier(p string) bool {
	if p == "" {
		return false
	}
	digits, hex := 0, 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			hex++
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			hex++
		case c == '-':
		default:
			return false
		}
	}
	return digits == len(p) || (len(p) >= 16 && digits > 0 && hex+strings.Count(p, "-") == len(p))
}

// workloadKeys are the usage-event attributes that name the workload
// calling (the first present wins).
var workloadKeys = []string{"workload", "spiffe_id", "k8s.workload", "service", "client_app"}

func workloadOf(attrs map[string]string) string {
	for _, k := range workloadKeys {
		if v := attrs[k]; v != "" {
			return v
		}
	}
	return ""
}

// set returns the set of values the baseline keeps for a dimension an
// alert may call new (network, agent, action, resource, environment,
// workload), or nil for any other name.
func (b *Baseline) set(dim string) *Set {
	for _, d := range [...]struct {
		name string
		set  *Set
	}{{"network", &b.Networks}, {"agent", &b.Agents}, {"action", &b.Actions},
		{"resource", &b.Resources}, {"environment", &b.Envs}, {"workload", &b.Workloads}} {
		if d.name == dim {
			return d.set
		}
	}
	return nil
}
