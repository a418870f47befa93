package broker

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"hash/crc32"
	"strings"
	"sync"
)

// KeyPrefix starts every secret the broker issues (API keys and client
// secrets), so that a scanner can find a leaked one.
const KeyPrefix = "stw_"

const (
	base62       = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	keyBodyLen   = 30 // 30 base62 characters: 178 random bits
	keyCheckLen  = 6
	keyLen       = len(KeyPrefix) + keyBodyLen + keyCheckLen
	maxTokenSize = 8192
)

// NewSecret returns a new secret: "stw_", 30 uniformly random base62
// characters and the 6-character base62 CRC-32 of those 30.
func NewSecret() string {
	var out [keyLen]byte
	copy(out[:], KeyPrefix)
	body := out[len(KeyPrefix) : len(KeyPrefix)+keyBodyLen]
	var buf [64]byte
	n := 0
	for n < keyBodyLen {
		if _, err := rand.Read(buf[:]); err != nil {
			panic("broker: crypto/rand failed: " + err.Error())
		}
		for _, b := range buf {
			// Rejection sampling keeps every character equally likely:
			// 248 = 4×62.
			if b >= 248 {
				continue
			}
			body[n] = base62[b%62]
			n++
			if n == keyBodyLen {
				break
			}
		}
	}
	copy(out[len(KeyPrefix)+keyBodyLen:], checksum(string(body)))
	return string(out[:])
}

// checksum is the CRC-32 (IEEE) of s in base62, left-padded with '0' to 6
// characters; the scanner checks the same.
func checksum(s string) string {
	v := crc32.ChecksumIEEE([]byte(s))
	var buf [keyCheckLen]byte
	for i := len(buf) - 1; i >= 0; i-- {
		buf[i] = base62[v%62]
		v /= 62
	}
	return string(buf[:])
}

// WellFormed reports whether s has the format of a Steward secret with a
// correct checksum. It needs no lookup, so mistyped and truncated keys are
// refused before the database is asked.
func WellFormed(s string) bool {
	if len(s) != keyLen || !strings.HasPrefix(s, KeyPrefix) {
		return false
	}
	for i := len(KeyPrefix); i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	body := s[len(KeyPrefix) : len(KeyPrefix)+keyBodyLen]
	return hmac.Equal([]byte(checksum(body)), []byte(s[len(KeyPrefix)+keyBodyLen:]))
}

// Hint is the non-secret start of a secret shown in listings.
func Hint(s string) string {
	if len(s) < len(KeyPrefix)+4 {
		return ""
	}
	return s[:len(KeyPrefix)+4]
}

// digester computes the keyed digest of secrets: HMAC-SHA256 with the
// server's pepper. Secrets carry ≥160 random bits, so a slow KDF would add
// nothing but a denial-of-service lever.
type digester struct {
	pool sync.Pool
}

func newDigester(pepper []byte) *digester {
	p := append([]byte(nil), pepper...)
	return &digester{pool: sync.Pool{New: func() any { return hmac.New(sha256.New, p) }}}
}

// digest returns the hex HMAC-SHA256 of secret.
func (d *digester) digest(secret string) string {
	h := d.pool.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(secret))
	var sum [sha256.Size]byte
	out := hex.EncodeToString(h.Sum(sum[:0]))
	d.pool.Put(h)
	return out
}
