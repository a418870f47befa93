package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// fakeT records failures instead of stopping the test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Fatalf(string, ...any) { f.failed = true; panic(f) }
func (f *fakeT) Fatal(...any)          { f.failed = true; panic(f) }

func check(path string, got []byte) (failed bool) {
	f := &fakeT{}
	defer func() {
		if r := recover(); r != nil && r != f {
			panic(r)
		}
		failed = f.failed
	}()
	Check(f, path, got)
	return
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "out.golden")
	if !check(path, []byte("a\n")) {
		t.Fatal("a missing golden file passed")
	}
	*update = true
	if check(path, []byte("a\n")) {
		t.Fatal("-update did not write the golden file")
	}
	*update = false
	if b, _ := os.ReadFile(path); string(b) != "a\n" {
		t.Fatalf("golden file holds %q", b)
	}
	for _, tc := range []struct {
		got  string
		fail bool
	}{{"a\n", false}, {"b\n", true}, {"a", true}} {
		if got := check(path, []byte(tc.got)); got != tc.fail {
			t.Errorf("Check(%q) failed = %v, want %v", tc.got, got, tc.fail)
		}
	}
}
