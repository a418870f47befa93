package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/secretbox"
)

// Algorithm is the checkpoint signature algorithm.
const Algorithm = "Ed25519"

// KeyID is the id of a public key: hex of the first 8 bytes of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Signer signs checkpoints with one Ed25519 key.
type Signer struct {
	id   string
	priv ed25519.PrivateKey
	key  *steward.AuditKey
}

// NewSigner returns a signer for a private key (tests and tools).
func NewSigner(priv ed25519.PrivateKey) *Signer {
	pub := priv.Public().(ed25519.PublicKey)
	return &Signer{id: KeyID(pub), priv: priv, key: &steward.AuditKey{ID: KeyID(pub), Algorithm: Algorithm, PublicKey: pub}}
}

// KeyID is the signer's key id.
func (s *Signer) KeyID() string { return s.id }

// PublicKey is the exportable public key.
func (s *Signer) PublicKey() *steward.AuditPublicKey { return ExportPublicKey(s.key) }

func keyAAD(id string) []byte { return []byte("steward-audit-signing-key:" + id) }

// LoadSigner returns the oldest signing key of the store, generating and
// storing one (sealed under box) when there is none. Several nodes
// starting at once settle on the same key: the oldest wins.
func LoadSigner(ctx context.Context, st steward.AuditStore, box *secretbox.Box, now time.Time) (*Signer, error) {
	keys, err := st.ListAuditKeys(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		id := KeyID(pub)
		sealed, err := box.Seal(priv.Seed(), keyAAD(id))
		if err != nil {
			return nil, fmt.Errorf("seal audit signing key: %w", err)
		}
		k := &steward.AuditKey{ID: id, Algorithm: Algorithm, PublicKey: pub, SealedPrivate: sealed, CreatedAt: now.UTC()}
		if err := st.CreateAuditKey(ctx, k); err != nil && steward.ErrorCode(err) != steward.ECONFLICT {
			return nil, err
		}
		if keys, err = st.ListAuditKeys(ctx); err != nil {
			return nil, err
		}
		if len(keys) == 0 {
			return nil, errors.New("audit signing key vanished after it was stored")
		}
	}
	k := keys[0]
	seed, err := box.Open(k.SealedPrivate, keyAAD(k.ID))
	if err != nil {
		return nil, fmt.Errorf("open audit signing key %s (is this the master key it was sealed with?): %w", k.ID, err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("audit signing key %s is malformed", k.ID)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if !priv.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(k.PublicKey)) || KeyID(k.PublicKey) != k.ID {
		return nil, fmt.Errorf("audit signing key %s does not match its public key", k.ID)
	}
	return &Signer{id: k.ID, priv: priv, key: k}, nil
}

// PublicKeyBytes is the raw public key.
func (s *Signer) PublicKeyBytes() ed25519.PublicKey { return ed25519.PublicKey(s.key.PublicKey) }

// Sign fills in the checkpoint's key id and signature.
func (s *Signer) Sign(c *steward.Checkpoint) {
	c.KeyID = s.id
	c.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(s.priv, c.SignedBody()))
}

// Message signs an arbitrary message with the audit key, for documents that
// must be provably Steward's (evidence-pack manifests). Callers prefix the
// message with a context string so it cannot be confused with a checkpoint.
type Message struct{ S *Signer }

// KeyID returns the audit key's id.
func (m Message) KeyID() string { return m.S.id }

// Sign returns the Ed25519 signature of msg.
func (m Message) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(m.S.priv, msg), nil }

// VerifyCheckpoint checks a checkpoint's signature with the key it names.
func VerifyCheckpoint(c *steward.Checkpoint, keys map[string]ed25519.PublicKey) error {
	pub, ok := keys[c.KeyID]
	if !ok {
		return fmt.Errorf("signed by unknown key %q", c.KeyID)
	}
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return errors.New("signature is not base64 of 64 bytes")
	}
	if !ed25519.Verify(pub, c.SignedBody(), sig) {
		return errors.New("signature does not verify")
	}
	if c.TreeSize != c.LastSeq {
		return fmt.Errorf("tree size %d differs from last seq %d", c.TreeSize, c.LastSeq)
	}
	return nil
}

// Keys are public keys by key id.
type Keys = map[string]ed25519.PublicKey

// KeyMap indexes public keys by key id.
func KeyMap(keys ...ed25519.PublicKey) map[string]ed25519.PublicKey {
	m := map[string]ed25519.PublicKey{}
	for _, k := range keys {
		m[KeyID(k)] = k
	}
	return m
}

// StoredKeys returns the public keys of a store's signing keys.
func StoredKeys(ctx context.Context, st steward.AuditStore) (map[string]ed25519.PublicKey, error) {
	keys, err := st.ListAuditKeys(ctx)
	if err != nil {
		return nil, err
	}
	m := map[string]ed25519.PublicKey{}
	for _, k := range keys {
		if len(k.PublicKey) == ed25519.PublicKeySize && KeyID(k.PublicKey) == k.ID {
			m[k.ID] = ed25519.PublicKey(k.PublicKey)
		}
	}
	return m, nil
}

// ExportPublicKey returns the public half of a key as base64 and PEM.
func ExportPublicKey(k *steward.AuditKey) *steward.AuditPublicKey {
	der, _ := x509.MarshalPKIXPublicKey(ed25519.PublicKey(k.PublicKey))
	return &steward.AuditPublicKey{
		KeyID: k.ID, Algorithm: Algorithm, CreatedAt: k.CreatedAt,
		PublicKey: base64.StdEncoding.EncodeToString(k.PublicKey),
		PEM:       string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
	}
}

// ParsePublicKey reads an Ed25519 public key written as PEM, as the JSON of
// GET /api/v1/audit/public-key, or as base64 of the 32 bytes.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	if blk, _ := pem.Decode(data); blk != nil {
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key is %T, not Ed25519", k)
		}
		return pub, nil
	}
	var j steward.AuditPublicKey
	if json.Unmarshal(data, &j) == nil && j.PublicKey != "" {
		data = []byte(j.PublicKey)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("public key is neither PEM nor base64 of 32 bytes")
	}
	return ed25519.PublicKey(raw), nil
}

// OpenStoredKeys unseals every stored checkpoint-signing key with box and
// returns how many it opened: it tells whether box holds the master key
// they were sealed with (steward doctor).
func OpenStoredKeys(ctx context.Context, st interface {
	ListAuditKeys(ctx context.Context) ([]*steward.AuditKey, error)
}, box *secretbox.Box) (int, error) {
	keys, err := st.ListAuditKeys(ctx)
	if err != nil {
		return 0, err
	}
	for i, k := range keys {
		if _, err := box.Open(k.SealedPrivate, keyAAD(k.ID)); err != nil {
			return i, fmt.Errorf("audit signing key %s: %w", k.ID, err)
		}
	}
	return len(keys), nil
}
