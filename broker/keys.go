package broker

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/secretbox"
)

// keySet holds the signing keys in memory: the newest active one signs,
// every published one verifies.
type keySet struct {
	b          *Broker
	mu         sync.RWMutex
	active     *loadedKey
	byKID      map[string]*loadedKey
	all        []*steward.SigningKey
	lastReload time.Time
}

type loadedKey struct {
	meta   *steward.SigningKey
	public crypto.PublicKey
	signer jose.Signer // nil for keys that no longer sign
}

func (k *keySet) signer() *loadedKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.active
}

func (k *keySet) lookup(kid string) *loadedKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.byKID[kid]
}

// load reads the keys from the store and opens the active one.
func (k *keySet) load(ctx context.Context) error {
	keys, err := k.b.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("broker: load signing keys: %w", err)
	}
	byKID := map[string]*loadedKey{}
	var active *loadedKey
	for _, m := range keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON([]byte(m.PublicJWK)); err != nil {
			return fmt.Errorf("broker: signing key %s: public key: %w", m.KID, err)
		}
		lk := &loadedKey{meta: m, public: jwk.Key}
		if m.Status == steward.SigningKeyActive {
			// The newest active key signs (two nodes starting at once may
			// each have created one; both verify).
			if active == nil || m.CreatedAt.After(active.meta.CreatedAt) || (m.CreatedAt.Equal(active.meta.CreatedAt) && m.KID > active.meta.KID) {
				active = lk
			}
		}
		byKID[m.KID] = lk
	}
	if active != nil {
		s, err := k.b.openSigner(active.meta)
		if err != nil {
			return err
		}
		active.signer = s
	}
	k.mu.Lock()
	k.active, k.byKID, k.all, k.lastReload = active, byKID, keys, time.Now()
	k.mu.Unlock()
	return nil
}

// reloadForUnknown reloads the keys when a token names an unknown kid
// (another node rotated), at most once a second.
func (k *keySet) reloadForUnknown(ctx context.Context, kid string) *loadedKey {
	k.mu.RLock()
	recent := time.Since(k.lastReload) < time.Second
	k.mu.RUnlock()
	if recent {
		return nil
	}
	if err := k.load(ctx); err != nil {
		k.b.log.Warn("broker: reload signing keys", "err", err)
		return nil
	}
	return k.lookup(kid)
}

// openSigner unseals a private key and returns a JWS signer for it.
func (b *Broker) openSigner(m *steward.SigningKey) (jose.Signer, error) {
	der, err := b.box.Open(m.PrivateSealed, []byte("signing_key:"+m.KID))
	if err != nil {
		return nil, fmt.Errorf("broker: cannot open signing key %s with this master key (%w); every node needs the same STEWARD_MASTER_KEY", m.KID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("broker: signing key %s: %w", m.KID, err)
	}
	opts := (&jose.SignerOptions{}).WithType("at+jwt")
	return jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(m.Algorithm), Key: jose.JSONWebKey{Key: priv, KeyID: m.KID, Algorithm: m.Algorithm}}, opts)
}

// newKeyMaterial generates a key pair for alg.
func newKeyMaterial(alg string) (crypto.PrivateKey, crypto.PublicKey, error) {
	switch alg {
	case AlgEdDSA:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, pub, err
	case AlgES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		return priv, &priv.PublicKey, nil
	}
	return nil, nil, fmt.Errorf("unsupported algorithm %q", alg)
}

// createKey generates a signing key, seals it and stores it as the active
// one; with retire, the previous active keys stop signing and stay in the
// JWKS until every token they signed has expired.
func (b *Broker) createKey(ctx context.Context, p *steward.Principal, retire bool) (*steward.SigningKey, error) {
	priv, pub, err := newKeyMaterial(b.alg)
	if err != nil {
		return nil, fmt.Errorf("broker: generate signing key: %w", err)
	}
	now := b.now()
	pubJWK := jose.JSONWebKey{Key: pub, Algorithm: b.alg, Use: "sig"}
	tp, err := pubJWK.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	pubJWK.KeyID = hex.EncodeToString(tp[:12])
	pubJSON, err := json.Marshal(pubJWK)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	sealed, err := b.box.Seal(der, []byte("signing_key:"+pubJWK.KeyID))
	if err != nil {
		return nil, fmt.Errorf("broker: seal signing key: %w", err)
	}
	k := &steward.SigningKey{KID: pubJWK.KeyID, Algorithm: b.alg, PublicJWK: string(pubJSON), PrivateSealed: sealed, Status: steward.SigningKeyActive, CreatedAt: now}
	err = b.update(ctx, func(tx steward.BrokerTx) error {
		if retire {
			keys, err := tx.ListSigningKeys(ctx)
			if err != nil {
				return err
			}
			for _, old := range keys {
				if old.Status != steward.SigningKeyActive {
					continue
				}
				before := *old
				// Tokens are capped at the token TTL; a minute covers skew.
				until := now.Add(max(b.tokenTTL, steward.DefaultExchangedLifetime) + time.Minute)
				old.Status, old.RetiredAt, old.PublishUntil = steward.SigningKeyRetired, &now, &until
				if err := tx.UpdateSigningKey(ctx, old); err != nil {
					return err
				}
				if err := tx.AppendEvent(ctx, b.newEvent(p, steward.ActionSigningKeyRotate, steward.SubjectSigningKey, old.KID, "", "rotated; published until its tokens expire", &before, old)); err != nil {
					return err
				}
			}
		}
		if err := tx.CreateSigningKey(ctx, k); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, b.newEvent(p, steward.ActionSigningKeyCreate, steward.SubjectSigningKey, k.KID, "", "", nil, k))
	})
	if err != nil {
		return nil, err
	}
	if err := b.keys.load(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// RotateKeys makes a new signing key; the old one stops signing and stays
// in the JWKS until every token it signed has expired. Admin only.
func (b *Broker) RotateKeys(ctx context.Context) (*steward.SigningKey, error) {
	p, err := require(ctx, steward.PermAdmin)
	if err != nil {
		return nil, err
	}
	return b.createKey(ctx, p, true)
}

// ListKeys lists the signing keys (public parts and state).
func (b *Broker) ListKeys(ctx context.Context) ([]*steward.SigningKey, error) {
	p, err := require(ctx, steward.PermRead)
	if err != nil {
		return nil, err
	}
	if p.Role == steward.RoleOwner {
		return nil, steward.Errorf(steward.EFORBIDDEN, "role owner may not list signing keys")
	}
	return b.store.ListSigningKeys(ctx)
}

// JWKS returns the public keys that verify current tokens (RFC 7517).
func (b *Broker) JWKS() jose.JSONWebKeySet {
	now := b.now()
	b.keys.mu.RLock()
	defer b.keys.mu.RUnlock()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, m := range b.keys.all {
		if m.Status != steward.SigningKeyActive && (m.PublishUntil == nil || !now.Before(*m.PublishUntil)) {
			continue
		}
		lk := b.keys.byKID[m.KID]
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: lk.public, KeyID: m.KID, Algorithm: m.Algorithm, Use: "sig"})
	}
	return set
}

// OpenStoredKeys unseals every stored token-signing key with box and
// returns how many it opened: it tells whether box holds the master key
// they were sealed with (steward doctor). The first key that does not open
// is the error.
func OpenStoredKeys(ctx context.Context, st interface {
	ListSigningKeys(ctx context.Context) ([]*steward.SigningKey, error)
}, box *secretbox.Box) (int, error) {
	keys, err := st.ListSigningKeys(ctx)
	if err != nil {
		return 0, err
	}
	for i, m := range keys {
		if _, err := box.Open(m.PrivateSealed, []byte("signing_key:"+m.KID)); err != nil {
			return i, fmt.Errorf("signing key %s: %w", m.KID, err)
		}
	}
	return len(keys), nil
}
