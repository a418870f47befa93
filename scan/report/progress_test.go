package report

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressShowsTotalsAndRate(t *testing.T) {
	var out bytes.Buffer
	pr := NewProgress(&out)
	start := pr.start
	pr.now = func() time.Time { return start.Add(2 * time.Second) }
	pr.Update(12, 3_400_000)
	if got, want := pr.Totals(), "12 files, 3.2 MiB, 1.6 MiB/s"; got != want {
		t.Fatalf("totals %q, want %q", got, want)
	}
	pr.Done()
	if !strings.Contains(out.String(), "scanned 12 files, 3.2 MiB, 1.6 MiB/s in 2s") {
		t.Fatalf("final line missing: %q", out.String())
	}
}
