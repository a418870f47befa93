package broker_test

import (
	"strings"
	"testing"

	"github.com/steward-nhi/steward/broker"
	"github.com/steward-nhi/steward/scan"
)

// FuzzWellFormed checks the stw_ key parser against the generator and the
// scanner: every key NewSecret makes is well formed; a key with one
// character changed is refused (the CRC-32 catches every single-character
// change); and broker and scanner agree on every input, so that a key the
// broker would check is one the scanner flags as a valid Steward key.
func FuzzWellFormed(f *testing.F) {
	key := broker.NewSecret()
	f.Add(key, uint8(0), byte('x'))
	f.Add(key, uint8(39), byte('0'))
	f.Add(key[:39], uint8(5), byte('A'))
	f.Add("stw_"+strings.Repeat("0", 36), uint8(10), byte('z'))
	f.Add("STW_"+key[4:], uint8(3), byte('_'))
	f.Add(key+"\n", uint8(40), byte(0))
	f.Add("eyJhbGciOiJFZERTQSJ9.e30.sig", uint8(1), byte('.'))
	f.Fuzz(func(t *testing.T, s string, pos uint8, c byte) {
		ok := broker.WellFormed(s)
		if ok != scan.ValidStewardKey(s) {
			t.Fatalf("broker says %v, scanner says %v for %q", ok, !ok, s)
		}
		if ok && (len(s) != 40 || !strings.HasPrefix(s, broker.KeyPrefix) || !broker.IsStewardToken(s)) {
			t.Fatalf("accepted %q, which is not stw_ and 36 characters", s)
		}
		// A fresh key parses; changing any one character breaks it.
		k := broker.NewSecret()
		if !broker.WellFormed(k) || !scan.ValidStewardKey(k) {
			t.Fatalf("a generated key %q is refused", k)
		}
		if broker.Hint(k) != k[:8] {
			t.Fatalf("hint %q of %q", broker.Hint(k), k)
		}
		i := int(pos) % len(k)
		if k[i] == c {
			return
		}
		m := k[:i] + string(c) + k[i+1:]
		if broker.WellFormed(m) {
			t.Fatalf("the key %q with byte %d changed to %q is accepted", k, i, c)
		}
	})
}
