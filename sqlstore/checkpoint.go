package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// The SQLite WAL is copied back into the database file by a checkpointer
// of its own, off the write path. SQLite's automatic checkpoint runs inside
// the commit that fills the WAL past its threshold, so every so many
// thousand pages one writer's commit — and every caller queued behind the
// single write connection, a token exchange or a batch of logged decisions
// — waited for the copy and its fsync (a 50 ms stall measured in
// bench/federation, the whole of its p99). A passive checkpoint on another
// connection does not block the writer. The writer's own automatic
// checkpoint stays, as a backstop and to restart the WAL under steady
// writes (a WAL restarts only when a write finds it wholly copied, which a
// checkpointer racing the writer rarely leaves): by the time it runs, the
// checkpointer has copied nearly every frame, so it has little left to do.

// checkpointEvery is how often the checkpointer runs. A passive
// checkpoint of a WAL already copied costs a read of the WAL index.
const checkpointEvery = 100 * time.Millisecond

// backstopPages is the writer's own automatic checkpoint threshold (4 KiB
// pages: 32 MiB of WAL); a variable for the test that shows the
// checkpointer, not the backstop, copies the WAL.
var backstopPages = 8000

// checkpointer copies the WAL into the database file on its own connection.
type checkpointer struct {
	db     *sql.DB
	cancel context.CancelFunc
	done   sync.WaitGroup
	// runs counts checkpoints that succeeded (tests).
	runs atomic.Int64
}

// startCheckpointer opens a connection to the SQLite database at dsn and
// checkpoints the WAL every interval until stop.
func startCheckpointer(dsn string, interval time.Duration) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, cancel: cancel}
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			// PASSIVE: copy what no reader still needs, wait for no lock.
			// A failure (busy, a closed database at shutdown) is retried at
			// the next tick; the writer's backstop bounds the WAL meanwhile.
			if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`); err == nil {
				c.runs.Add(1)
			}
		}
	}()
	return c, nil
}

// stop ends the checkpointer and closes its connection.
func (c *checkpointer) stop() error {
	c.cancel()
	c.done.Wait()
	return c.db.Close()
}
