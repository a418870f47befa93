package inventory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/internal/ids"
)

// TokenPrefix starts every operator token, so scanners can recognise one.
const TokenPrefix = steward.OperatorTokenPrefix

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newTokenSecret returns an operator token with 256 random bits.
func newTokenSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	n := new(big.Int).SetBytes(b)
	var out []byte
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := 0; i < 43; i++ {
		n.DivMod(n, base, mod)
		out = append(out, base62[mod.Int64()])
	}
	return TokenPrefix + string(out)
}

// TokenDigest returns the stored digest of an operator token.
func TokenDigest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// tokenCache keeps recently verified tokens for a short time so that every
// request does not read the database; a revocation (on this node, or on
// another one through Config.Changes) clears it. Each clear bumps a
// generation, and a token read before the clear is not cached after it.
type tokenCache struct {
	mu      sync.Mutex
	gen     uint64
	entries map[string]cachedToken
}

type cachedToken struct {
	tok     *steward.OperatorToken
	expires time.Time
}

const tokenCacheTTL = 2 * time.Second

func newTokenCache() *tokenCache { return &tokenCache{entries: map[string]cachedToken{}} }

func (c *tokenCache) get(digest string, now time.Time) *steward.OperatorToken {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[digest]
	if !ok || now.After(e.expires) {
		return nil
	}
	return e.tok
}

func (c *tokenCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *tokenCache) put(digest string, t *steward.OperatorToken, now time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.entries) > 10000 {
		clear(c.entries)
	}
	c.entries[digest] = cachedToken{tok: t, expires: now.Add(tokenCacheTTL)}
}

func (c *tokenCache) clear() {
	c.mu.Lock()
	c.gen++
	clear(c.entries)
	c.mu.Unlock()
}

// Authenticate resolves a bearer operator token to its principal. Any
// failure is EUNAUTHORIZED with the same message, so callers learn nothing
// about which part was wrong.
func (s *Service) Authenticate(ctx context.Context, secret string) (*steward.Principal, error) {
	fail := steward.Errorf(steward.EUNAUTHORIZED, "invalid or expired token")
	if len(secret) < 8 || len(secret) > 512 {
		return nil, fail
	}
	digest := TokenDigest(secret)
	now := s.clock.Now()
	t := s.tokens.get(digest, time.Now())
	if t == nil {
		gen := s.tokens.generation()
		var err error
		t, err = s.store.FindTokenByDigest(ctx, digest)
		if steward.ErrorCode(err) == steward.ENOTFOUND {
			return nil, fail
		}
		if err != nil {
			return nil, err
		}
		s.tokens.put(digest, t, time.Now(), gen)
		// Last use is noted at most once per cache period, and written
		// in the background (FlushTokenUse at shutdown).
		s.touches.add(t.ID, now)
	}
	if subtle.ConstantTimeCompare([]byte(t.Digest), []byte(digest)) != 1 {
		return nil, fail
	}
	if t.RevokedAt != nil || (t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)) {
		return nil, fail
	}
	return &steward.Principal{Actor: "token:" + t.ID, Role: t.Role, OwnerID: t.OwnerID, TokenID: t.ID}, nil
}

// CreateToken mints an operator token; admin only.
func (s *Service) CreateToken(ctx context.Context, in steward.TokenCreate) (*steward.CreatedToken, error) {
	p, err := steward.Authorize(ctx, steward.PermAdmin)
	if err != nil {
		return nil, err
	}
	return s.createToken(ctx, p, in)
}

func (s *Service) createToken(ctx context.Context, p *steward.Principal, in steward.TokenCreate) (*steward.CreatedToken, error) {
	in.Name = strings.TrimSpace(in.Name)
	if err := in.Validate(); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	secret := newTokenSecret()
	t := steward.OperatorToken{
		ID: ids.New(ids.Token, now), Name: in.Name, Role: in.Role, OwnerID: in.OwnerID,
		Digest: TokenDigest(secret), CreatedAt: now, CreatedBy: p.Actor,
	}
	if in.TTL != nil {
		e := now.Add(time.Duration(*in.TTL))
		t.ExpiresAt = &e
	}
	err := s.store.Update(ctx, func(tx steward.Tx) error {
		if in.OwnerID != "" {
			if err := checkOwnerUsable(ctx, tx, in.OwnerID); err != nil {
				return err
			}
		}
		if err := tx.CreateToken(ctx, &t); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, s.newEvent(p, steward.ActionTokenCreate, steward.SubjectToken, t.ID, "", "", nil, &t))
	})
	if err != nil {
		return nil, err
	}
	return &steward.CreatedToken{OperatorToken: t, Token: secret}, nil
}

// ListTokens lists operator tokens (never their secrets).
func (s *Service) ListTokens(ctx context.Context) ([]*steward.OperatorToken, error) {
	if _, err := steward.Authorize(ctx, steward.PermReadTokens); err != nil {
		return nil, err
	}
	return s.store.ListTokens(ctx)
}

// RevokeToken revokes an operator token; admin only.
func (s *Service) RevokeToken(ctx context.Context, id string) (*steward.OperatorToken, error) {
	p, err := steward.Authorize(ctx, steward.PermAdmin)
	if err != nil {
		return nil, err
	}
	var out *steward.OperatorToken
	err = s.store.Update(ctx, func(tx steward.Tx) error {
		t, err := tx.GetToken(ctx, id)
		if err != nil {
			return err
		}
		if t.RevokedAt != nil {
			return steward.Errorf(steward.ECONFLICT, "token %s is already revoked", id)
		}
		before := *t
		now := s.clock.Now()
		t.RevokedAt = &now
		if err := tx.UpdateToken(ctx, t); err != nil {
			return err
		}
		out = t
		return tx.AppendEvent(ctx, s.newEvent(p, steward.ActionTokenRevoke, steward.SubjectToken, id, "", "", &before, t))
	})
	s.tokens.clear()
	if err != nil {
		return nil, err
	}
	s.changes.Publish(steward.Change{Subject: steward.SubjectToken, ID: id})
	return out, nil
}

// Bootstrap creates the first admin token when the store has none. It uses
// adminToken when set (it must have the operator-token format) and otherwise
// generates one; the returned secret is empty when tokens already exist.
func (s *Service) Bootstrap(ctx context.Context, adminToken string) (string, error) {
	toks, err := s.store.ListTokens(ctx)
	if err != nil {
		return "", err
	}
	if len(toks) > 0 {
		return "", nil
	}
	p := steward.SystemPrincipal("bootstrap")
	if adminToken == "" {
		ct, err := s.createToken(ctx, p, steward.TokenCreate{Name: "bootstrap admin", Role: steward.RoleAdmin})
		if err != nil {
			return "", err
		}
		return ct.Token, nil
	}
	if len(adminToken) < 16 || len(adminToken) > 512 {
		return "", steward.FieldError("STEWARD_ADMIN_TOKEN", "must be between 16 and 512 characters")
	}
	now := s.clock.Now()
	t := steward.OperatorToken{ID: ids.New(ids.Token, now), Name: "bootstrap admin (STEWARD_ADMIN_TOKEN)", Role: steward.RoleAdmin,
		Digest: TokenDigest(adminToken), CreatedAt: now, CreatedBy: p.Actor}
	err = s.store.Update(ctx, func(tx steward.Tx) error {
		if err := tx.CreateToken(ctx, &t); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, s.newEvent(p, steward.ActionTokenCreate, steward.SubjectToken, t.ID, "", "bootstrap", nil, &t))
	})
	return adminToken, err
}
