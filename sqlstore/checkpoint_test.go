package sqlstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
)

// The WAL is copied back by the store's checkpointer, not by the commit
// that fills it: with the writer's own automatic checkpoint set out of
// reach, bursts of writes with pauses between them leave a WAL no larger
// than about one burst, because each burst finds it copied and restarts it.
func TestTheCheckpointerCopiesTheWAL(t *testing.T) {
	defer func(n int) { backstopPages = n }(backstopPages)
	backstopPages = 1 << 20 // 4 GiB: never reached here
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.ckpt == nil {
		t.Fatal("a SQLite store has no checkpointer")
	}
	ctx := context.Background()
	pad := strings.Repeat("x", 8<<10)
	const bursts, per = 8, 400 // 8 bursts of 400 events of 8 KiB: ≈ 25 MiB written
	start := time.Now()
	for b := range bursts {
		for k := range per / 20 {
			evs := make([]steward.UsageEvent, 20)
			for i := range evs {
				evs[i] = steward.UsageEvent{ID: fmt.Sprintf("use_%02d_%02d_%02d", b, k, i), Time: start, Kind: steward.UsageDecision,
					Subject: "user:x", Action: "read", Outcome: "allow", Attributes: map[string]string{"pad": pad}}
			}
			if err := s.AppendUsage(ctx, evs); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(3 * checkpointEvery) // a checkpoint copies the whole burst
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	written := int64(bursts * per * len(pad))
	// The WAL file keeps its largest size; without the checkpointer it
	// would hold every page written.
	if fi.Size() > written/3 {
		t.Fatalf("the WAL grew to %d bytes for %d bytes written: it is not being checkpointed between bursts", fi.Size(), written)
	}
	if s.ckpt.runs.Load() == 0 {
		t.Fatal("the checkpointer never ran")
	}
	t.Logf("WAL at most %d KiB for %d KiB written, %d checkpoints", fi.Size()>>10, written>>10, s.ckpt.runs.Load())
}
