package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/steward-nhi/steward"
)

// Key cache bounds.
const (
	// RefetchInterval is the least time between two fetches of an
	// issuer's keys caused by an unknown kid.
	RefetchInterval = 30 * time.Second
	// DefaultKeyTTL is how long fetched keys are kept when the response
	// has no usable Cache-Control max-age.
	DefaultKeyTTL = 5 * time.Minute
	minKeyTTL     = 30 * time.Second
	maxKeyTTL     = 24 * time.Hour
	maxKeyDoc     = 1 << 20
)

// errNoKeys means an issuer's keys could not be had: verification fails
// closed.
var errNoKeys = errors.New("the issuer's keys could not be fetched")

// keySet is one issuer's verification keys: parsed once from inline data
// or fetched from the issuer and cached.
type keySet struct {
	issuer *steward.TrustedIssuer
	client *http.Client
	now    func() time.Time
	// fetches counts network fetches (tests and benchmarks).
	fetches func()

	mu        sync.Mutex
	keys      map[string]*jose.JSONWebKey
	expires   time.Time // fetched keys: when to fetch again
	lastFetch time.Time // the last fetch attempt (refetch limiter)
	fetched   bool
	inline    bool
}

func newKeySet(ti *steward.TrustedIssuer, client *http.Client, now func() time.Time, fetches func()) (*keySet, error) {
	ks := &keySet{issuer: ti, client: client, now: now, fetches: fetches}
	switch {
	case len(ti.JWKS) > 0:
		keys, err := parseKeys(ti.JWKS, false)
		if err != nil {
			return nil, steward.FieldError("jwks", "%v", err)
		}
		ks.keys, ks.inline = keys, true
	case len(ti.SPIFFEBundle) > 0:
		keys, err := parseKeys(ti.SPIFFEBundle, true)
		if err != nil {
			return nil, steward.FieldError("spiffe_bundle", "%v", err)
		}
		ks.keys, ks.inline = keys, true
	}
	return ks, nil
}

// parseKeys reads a JWKS (or a SPIFFE bundle, whose x509-svid keys are
// skipped) into public verification keys by kid. Private and symmetric
// keys are refused.
func parseKeys(doc []byte, spiffe bool) (map[string]*jose.JSONWebKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %v", err)
	}
	out := map[string]*jose.JSONWebKey{}
	for n, raw := range set.Keys {
		var head struct {
			Use string `json:"use"`
			Kty string `json:"kty"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return nil, fmt.Errorf("key %d: %v", n, err)
		}
		if spiffe && head.Use != "jwt-svid" {
			continue
		}
		if head.Kty == "oct" {
			return nil, fmt.Errorf("key %d is a symmetric key; only public keys verify federated tokens", n)
		}
		if !spiffe && head.Use != "" && head.Use != "sig" {
			continue
		}
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("key %d: %v", n, err)
		}
		if !k.IsPublic() {
			return nil, fmt.Errorf("key %d is a private key: publish only public keys", n)
		}
		out[k.KeyID] = &k
	}
	return out, nil
}

// lookup returns the key with this kid, fetching the keys when the cache
// is empty or stale, and once more (at most every RefetchInterval) when
// the kid is unknown. An empty kid finds the only key of a one-key set.
func (ks *keySet) lookup(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.inline {
		return ks.find(kid), nil
	}
	now := ks.now()
	if !ks.fetched || !now.Before(ks.expires) {
		if err := ks.fetch(ctx, now); err != nil && !ks.fetched {
			return nil, err
		}
	}
	if k := ks.find(kid); k != nil {
		return k, nil
	}
	if now.Sub(ks.lastFetch) >= RefetchInterval {
		if err := ks.fetch(ctx, now); err != nil {
			return nil, err
		}
	}
	return ks.find(kid), nil
}

func (ks *keySet) find(kid string) *jose.JSONWebKey {
	if kid == "" && len(ks.keys) == 1 {
		for _, k := range ks.keys {
			return k
		}
	}
	return ks.keys[kid]
}

// fetch reads the keys from the network. A failure keeps the keys held
// until they expire, after which verification fails closed.
func (ks *keySet) fetch(ctx context.Context, now time.Time) error {
	ks.lastFetch = now
	if ks.fetches != nil {
		ks.fetches()
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	uri := ks.issuer.JWKSURI
	if ks.issuer.Discovery {
		var meta struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		body, _, err := ks.get(ctx, strings.TrimRight(ks.issuer.Issuer, "/")+"/.well-known/openid-configuration")
		if err != nil {
			return ks.failed(now, err)
		}
		if err := json.Unmarshal(body, &meta); err != nil || meta.JWKSURI == "" {
			return ks.failed(now, fmt.Errorf("discovery document has no jwks_uri"))
		}
		if meta.Issuer != ks.issuer.Issuer {
			return ks.failed(now, fmt.Errorf("discovery names issuer %q, not %q", meta.Issuer, ks.issuer.Issuer))
		}
		uri = meta.JWKSURI
	}
	body, ttl, err := ks.get(ctx, uri)
	if err != nil {
		return ks.failed(now, err)
	}
	keys, err := parseKeys(body, ks.issuer.Kind == steward.IssuerSPIFFE && looksLikeBundle(body))
	if err != nil {
		return ks.failed(now, err)
	}
	ks.keys, ks.expires, ks.fetched = keys, now.Add(ttl), true
	return nil
}

func (ks *keySet) failed(now time.Time, err error) error {
	if ks.fetched && now.After(ks.expires) {
		// Stale keys are dropped: fail closed rather than trust keys the
		// issuer may have withdrawn.
		ks.keys, ks.fetched = nil, false
	}
	return fmt.Errorf("%w: %v", errNoKeys, err)
}

func looksLikeBundle(b []byte) bool { return strings.Contains(string(b), `"jwt-svid"`) }

// get fetches a document and the lifetime its Cache-Control allows.
func (ks *keySet) get(ctx context.Context, uri string) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := ks.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("GET %s: %s", uri, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyDoc+1))
	if err != nil {
		return nil, 0, err
	}
	if len(body) > maxKeyDoc {
		return nil, 0, fmt.Errorf("GET %s: document larger than %d bytes", uri, maxKeyDoc)
	}
	return body, cacheTTL(resp.Header.Get("Cache-Control")), nil
}

// cacheTTL reads max-age from Cache-Control, bounded to [30 s, 24 h];
// no-store or no-cache keep keys for the least time.
func cacheTTL(cc string) time.Duration {
	ttl := DefaultKeyTTL
	for _, d := range strings.Split(cc, ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		switch {
		case d == "no-store" || d == "no-cache":
			return minKeyTTL
		case strings.HasPrefix(d, "max-age="):
			if n, err := strconv.Atoi(strings.TrimPrefix(d, "max-age=")); err == nil && n >= 0 {
				ttl = time.Duration(n) * time.Second
			}
		}
	}
	return min(max(ttl, minKeyTTL), maxKeyTTL)
}
