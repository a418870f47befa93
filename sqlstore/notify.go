package sqlstore

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/steward-nhi/steward"
)

// FollowChanges publishes what other nodes (and this one) append to the
// event chain, as Remote changes, until ctx ends. On PostgreSQL a trigger
// notifies every statement that appends events (migration 0012) and this
// listens on a connection of its own: a node hears of a revocation on
// another node a few milliseconds after it commits. After each connection
// (the first and every reconnection, with backoff) it publishes a change
// that names no subjects, so that caches read the chain for whatever they
// missed; the caches' chain polls stay as the fallback. On SQLite (one
// node) it returns nil at once.
func (s *Store) FollowChanges(ctx context.Context, changes *steward.Changes, log *slog.Logger) error {
	if s.engine != Postgres {
		return nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	const minBackoff, maxBackoff = 50 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	for {
		start := time.Now()
		err := s.listen(ctx, changes)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > maxBackoff {
			backoff = minBackoff
		}
		log.WarnContext(ctx, "change notifications: listener lost its connection; the chain poll covers the gap", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listen opens a connection of its own (with the pool's settings, outside
// the pool), LISTENs and publishes each notification until the connection
// fails or ctx ends.
func (s *Store) listen(ctx context.Context, changes *steward.Changes) error {
	var cfg *pgx.ConnConfig
	conn, err := s.writeDB.Conn(ctx)
	if err != nil {
		return err
	}
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("listen: driver connection is %T, not pgx", dc)
		}
		cfg = sc.Conn().Config().Copy()
		// The pool connection's handler would take our notifications.
		cfg.OnNotification = nil
		return nil
	})
	conn.Close()
	if err != nil {
		return err
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	return follow(ctx, c, changes)
}

// changeChannelQuery names the notification channel of the schema that
// holds the events table, as the migration's trigger does.
const changeChannelQuery = `SELECT left('steward_' || n.nspname, 63) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = 'events'::regclass`

func follow(ctx context.Context, c *pgx.Conn, changes *steward.Changes) error {
	var channel string
	if err := c.QueryRow(ctx, changeChannelQuery).Scan(&channel); err != nil {
		return fmt.Errorf("listen: find the channel: %w", err)
	}
	if _, err := c.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen on %s: %w", channel, err)
	}
	// Whatever happened while nobody listened: resync.
	changes.Publish(steward.Change{Remote: true})
	for {
		n, err := c.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		changes.Publish(parseChange(n.Payload))
	}
}

// parseChange reads a notification payload: "seq subject,subject…". A
// payload it cannot read becomes a change of unknown subjects.
func parseChange(payload string) steward.Change {
	ch := steward.Change{Remote: true}
	seq, subjects, _ := strings.Cut(payload, " ")
	n, err := strconv.ParseInt(seq, 10, 64)
	if err != nil {
		return ch
	}
	ch.Seq = n
	for _, s := range strings.Split(subjects, ",") {
		if s == "" {
			// An event without a subject type: no telling what changed.
			ch.Subjects = nil
			return ch
		}
		ch.Subjects = append(ch.Subjects, s)
	}
	return ch
}
