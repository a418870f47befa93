package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

func TestUploadProgressCountsBytesAndRecords(t *testing.T) {
	var out bytes.Buffer
	u := newUploadProgress(&out, strings.NewReader(strings.Repeat("x", 3<<20)), "importing")
	start := u.start
	u.now = func() time.Time { return start.Add(2 * time.Second) }
	if n, err := io.Copy(io.Discard, u); err != nil || n != 3<<20 {
		t.Fatalf("read %d, %v", n, err)
	}
	if got, want := u.sentText(), "3.0 MiB sent, 1.5 MiB/s"; got != want {
		t.Fatalf("live text %q, want %q", got, want)
	}
	u.done(50000)
	if !strings.Contains(out.String(), "50000 records (3.0 MiB) in 2s, 25000 records/s") {
		t.Fatalf("final line missing: %q", out.String())
	}
}
