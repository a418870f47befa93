// Package secretbox encrypts secrets at rest with envelope encryption: each
// secret gets a random data key (AES-256-GCM), and the data key is sealed
// with the master key (AES-256-GCM). The master key never touches the
// database; it comes from STEWARD_MASTER_KEY or a key file.
package secretbox

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the master key length in bytes.
const KeySize = 32

const (
	version   = "sb1:"
	keyIDSize = 8
	nonceSize = 12
)

// Box seals and opens secrets with one master key.
type Box struct {
	master cipher.AEAD
	keyID  []byte
}

// New returns a Box for a 32-byte master key.
func New(master []byte) (*Box, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("master key must be %d bytes, got %d", KeySize, len(master))
	}
	aead, err := newGCM(master)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte("steward-master-key-id:"), master...))
	return &Box{master: aead, keyID: sum[:keyIDSize]}, nil
}

// KeyID returns a short, non-secret identifier of the master key.
func (b *Box) KeyID() string { return hex.EncodeToString(b.keyID) }

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal encrypts plaintext; aad (e.g. the record's id) is bound to the
// ciphertext so it cannot be moved to another record.
func (b *Box) Seal(plaintext, aad []byte) (string, error) {
	dk := make([]byte, KeySize)
	if _, err := rand.Read(dk); err != nil {
		return "", err
	}
	n1 := make([]byte, nonceSize)
	n2 := make([]byte, nonceSize)
	if _, err := rand.Read(n1); err != nil {
		return "", err
	}
	if _, err := rand.Read(n2); err != nil {
		return "", err
	}
	sealedDK := b.master.Seal(nil, n1, dk, aad)
	data, err := newGCM(dk)
	if err != nil {
		return "", err
	}
	ct := data.Seal(nil, n2, plaintext, aad)
	var out bytes.Buffer
	out.Write(b.keyID)
	out.Write(n1)
	out.Write(sealedDK)
	out.Write(n2)
	out.Write(ct)
	return version + base64.RawStdEncoding.EncodeToString(out.Bytes()), nil
}

// ErrWrongKey means the secret was sealed under another master key.
var ErrWrongKey = errors.New("secret was sealed with a different master key")

// Open decrypts a sealed secret.
func (b *Box) Open(sealed string, aad []byte) ([]byte, error) {
	raw, ok := strings.CutPrefix(sealed, version)
	if !ok {
		return nil, errors.New("not a sealed secret (unknown format)")
	}
	buf, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil {
		return nil, fmt.Errorf("sealed secret: %w", err)
	}
	dkLen := KeySize + b.master.Overhead()
	if len(buf) < keyIDSize+nonceSize+dkLen+nonceSize {
		return nil, errors.New("sealed secret is truncated")
	}
	if !bytes.Equal(buf[:keyIDSize], b.keyID) {
		return nil, ErrWrongKey
	}
	buf = buf[keyIDSize:]
	n1, sealedDK, rest := buf[:nonceSize], buf[nonceSize:nonceSize+dkLen], buf[nonceSize+dkLen:]
	dk, err := b.master.Open(nil, n1, sealedDK, aad)
	if err != nil {
		return nil, errors.New("sealed secret failed authentication (tampered, or sealed for another record)")
	}
	data, err := newGCM(dk)
	if err != nil {
		return nil, err
	}
	pt, err := data.Open(nil, rest[:nonceSize], rest[nonceSize:], aad)
	if err != nil {
		return nil, errors.New("sealed secret failed authentication (tampered, or sealed for another record)")
	}
	return pt, nil
}

// ParseKey reads a master key written as 64 hex characters or base64 of
// 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("a master key is 32 bytes written as 64 hex characters or base64 (generate one with: openssl rand -hex 32)")
}

// Source says where to find the master key.
type Source struct {
	Env     string // the value of STEWARD_MASTER_KEY
	File    string // a key file path (STEWARD_MASTER_KEY_FILE)
	DataDir string // when neither is set, keep a generated key here (single node only)
}

// Load returns the master key: from Env, else from File, else from (or
// created in) DataDir/master.key. Any key that is set but unreadable or
// malformed is an error that says which source is at fault.
func Load(src Source) (key []byte, origin string, err error) {
	switch {
	case src.Env != "":
		k, err := ParseKey(src.Env)
		if err != nil {
			return nil, "", fmt.Errorf("STEWARD_MASTER_KEY: %w", err)
		}
		return k, "STEWARD_MASTER_KEY", nil
	case src.File != "":
		b, err := os.ReadFile(src.File)
		if err != nil {
			return nil, "", fmt.Errorf("master key file %s is unreadable: %w", src.File, err)
		}
		k, err := ParseKey(string(b))
		if err != nil {
			return nil, "", fmt.Errorf("master key file %s: %w", src.File, err)
		}
		return k, src.File, nil
	case src.DataDir != "":
		path := filepath.Join(src.DataDir, "master.key")
		b, err := os.ReadFile(path)
		if err == nil {
			k, err := ParseKey(string(b))
			if err != nil {
				return nil, "", fmt.Errorf("master key file %s: %w", path, err)
			}
			return k, path, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("master key file %s is unreadable: %w", path, err)
		}
		k := make([]byte, KeySize)
		if _, err := rand.Read(k); err != nil {
			return nil, "", err
		}
		if err := os.MkdirAll(src.DataDir, 0o700); err != nil {
			return nil, "", err
		}
		if err := os.WriteFile(path, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
			return nil, "", fmt.Errorf("write master key %s: %w", path, err)
		}
		return k, path + " (generated)", nil
	}
	return nil, "", errors.New("no master key: set STEWARD_MASTER_KEY (64 hex characters) or STEWARD_MASTER_KEY_FILE; every node of a cluster needs the same key")
}
