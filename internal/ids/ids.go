// Package ids makes identifiers: a short type prefix and 26 characters of
// Crockford base32 that sort by creation time (48-bit milliseconds, then 80
// random bits), like ULIDs.
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// Prefixes of Steward's identifiers.
const (
	Identity   = "nhi_"
	Owner      = "own_"
	Credential = "crd_"
	Event      = "evt_"
	Token      = "tok_"
)

// New returns prefix followed by a time-ordered random identifier.
func New(prefix string, now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic("ids: crypto/rand failed: " + err.Error())
	}
	out := make([]byte, len(prefix), len(prefix)+26)
	copy(out, prefix)
	// 128 bits → 26 base32 characters (the first carries 3 bits).
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var chars [26]byte
	for i := 25; i >= 0; i-- {
		chars[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(append(out, chars[:]...))
}
