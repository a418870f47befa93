package usage_test

import (
	"strings"
	"testing"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/sqlstore/sqltest"
	"github.com/steward-nhi/steward/usage"
)

// TestIngestKeepsLinesWithNUL: a log line whose subject holds NUL bytes or
// invalid UTF-8 is stored (cleaned), on both engines, and never costs the
// other lines of its batch.
func TestIngestKeepsLinesWithNUL(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			st := eng.Store(t)
			rec := usage.NewRecorder(usage.RecorderConfig{Store: st})
			svc := usage.New(usage.Config{Store: st, Inventory: st, Credentials: st, Recorder: rec, Pipeline: rec})
			body := `{"subject":"good-1","action":"read"}` + "\n" +
				`{"subject":"bad\u0000one","action":"read"}` + "\n" +
				"{\"subject\":\"bad-\xff-two\",\"action\":\"read\"}\n" +
				`{"subject":"good-2","action":"read"}` + "\n"
			sum, err := svc.Ingest(admin, "jsonl", strings.NewReader(body), usage.IngestOptions{})
			if err != nil || sum.Accepted != 4 {
				t.Fatalf("ingest: %+v %v", sum, err)
			}
			page, err := st.ListUsage(admin, steward.UsageFilter{Limit: 10})
			if err != nil || len(page.Items) != 4 {
				t.Fatalf("stored %d events (%v), want 4", len(page.Items), err)
			}
			// The JSON decoder already turns invalid UTF-8 into U+FFFD; the
			// NUL is the recorder's to clean.
			if rec.Stats().Cleaned != 1 {
				t.Fatalf("cleaned %d, want 1", rec.Stats().Cleaned)
			}
			for _, ev := range page.Items {
				if strings.ContainsRune(ev.Subject, 0) {
					t.Fatalf("stored a NUL: %q", ev.Subject)
				}
			}
		})
	}
}
