package secretbox

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSealOpen(t *testing.T) {
	box, _ := New(key(1))
	sealed, err := box.Seal([]byte("private key bytes"), []byte("kid-1"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "private") {
		t.Fatal("plaintext visible")
	}
	got, err := box.Open(sealed, []byte("kid-1"))
	if err != nil || string(got) != "private key bytes" {
		t.Fatalf("open = %q, %v", got, err)
	}
	tests := []struct {
		name   string
		box    *Box
		sealed string
		aad    string
	}{
		{"wrong aad", box, sealed, "kid-2"},
		{"wrong key", mustNew(t, key(2)), sealed, "kid-1"},
		{"tampered", box, sealed[:len(sealed)-4] + "AAAA", "kid-1"},
		{"truncated", box, sealed[:20], "kid-1"},
		{"not sealed", box, "hello", "kid-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.box.Open(tc.sealed, []byte(tc.aad)); err == nil {
				t.Fatal("opened")
			}
		})
	}
}

func mustNew(t *testing.T, k []byte) *Box {
	b, err := New(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	hexKey := strings.Repeat("ab", 32)
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("short"), 0o600)
	tests := []struct {
		name    string
		src     Source
		wantErr string
	}{
		{"env hex", Source{Env: hexKey}, ""},
		{"env malformed", Source{Env: "nope"}, "STEWARD_MASTER_KEY"},
		{"missing file", Source{File: filepath.Join(dir, "none")}, "unreadable"},
		{"malformed file", Source{File: bad}, bad},
		{"generated in data dir", Source{DataDir: filepath.Join(dir, "data")}, ""},
		{"nothing", Source{}, "no master key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, _, err := Load(tc.src)
			if tc.wantErr == "" {
				if err != nil || len(k) != KeySize {
					t.Fatalf("load: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
	// The generated key is private and stable.
	k1, _, _ := Load(Source{DataDir: filepath.Join(dir, "data")})
	k2, _, _ := Load(Source{DataDir: filepath.Join(dir, "data")})
	if !bytes.Equal(k1, k2) {
		t.Fatal("generated key changed")
	}
	fi, _ := os.Stat(filepath.Join(dir, "data", "master.key"))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o", fi.Mode().Perm())
	}
}
