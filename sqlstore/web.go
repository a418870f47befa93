package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

var (
	_ steward.WebSessionStore = (*Store)(nil)
	_ steward.DashboardStore  = (*Store)(nil)
)

// CreateWebSession stores a new console session.
func (s *Store) CreateWebSession(ctx context.Context, ws *steward.WebSession) error {
	_, err := s.writeDB.ExecContext(ctx, rebind(s.engine,
		`INSERT INTO web_sessions (digest, token_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`),
		ws.Digest, ws.TokenID, ws.CSRF, micros(ws.CreatedAt), micros(ws.ExpiresAt))
	switch {
	case isForeignKeyViolation(err):
		return steward.FieldError("token_id", "token %q does not exist", ws.TokenID)
	case err != nil:
		return fmt.Errorf("create web session: %w", err)
	}
	return nil
}

// WebSession returns the live session with this digest, joined with its
// operator token: a revoked or expired token ends the session.
func (s *Store) WebSession(ctx context.Context, digest string, now time.Time) (*steward.WebSession, error) {
	var (
		ws               steward.WebSession
		created, expires int64
		role             string
		owner            sql.NullString
	)
	n := micros(now)
	err := s.readDB.QueryRowContext(ctx, rebind(s.engine, `SELECT w.digest, w.token_id, w.csrf, w.created_at, w.expires_at, t.role, t.owner_id
		FROM web_sessions w JOIN operator_tokens t ON t.id = w.token_id
		WHERE w.digest = ? AND w.expires_at > ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)`),
		digest, n, n).Scan(&ws.Digest, &ws.TokenID, &ws.CSRF, &created, &expires, &role, &owner)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, steward.Errorf(steward.ENOTFOUND, "no such session")
	}
	if err != nil {
		return nil, fmt.Errorf("get web session: %w", err)
	}
	ws.CreatedAt, ws.ExpiresAt = fromMicros(created), fromMicros(expires)
	ws.Role, ws.OwnerID = steward.Role(role), owner.String
	return &ws, nil
}

// DeleteWebSession ends a session; deleting a missing one is not an error.
func (s *Store) DeleteWebSession(ctx context.Context, digest string) error {
	if _, err := s.writeDB.ExecContext(ctx, rebind(s.engine, `DELETE FROM web_sessions WHERE digest = ?`), digest); err != nil {
		return fmt.Errorf("delete web session: %w", err)
	}
	return nil
}

// DeleteExpiredWebSessions removes sessions that ended before now.
func (s *Store) DeleteExpiredWebSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.writeDB.ExecContext(ctx, rebind(s.engine, `DELETE FROM web_sessions WHERE expires_at <= ?`), micros(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired web sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// credentialAgeBuckets are the credential age histogram's upper bounds.
var credentialAgeBuckets = []struct {
	label string
	upTo  time.Duration // 0: no bound
}{
	{"< 30 d", 30 * 24 * time.Hour},
	{"30–90 d", 90 * 24 * time.Hour},
	{"90–180 d", 180 * 24 * time.Hour},
	{"180 d–1 y", 365 * 24 * time.Hour},
	{"1–2 y", 730 * 24 * time.Hour},
	{"> 2 y", 0},
}

const week = 7 * 24 * time.Hour

// DashboardCounts computes the dashboard's aggregates with one scan of the
// active identities, one of the active credentials and two range scans for
// the weekly trends.
func (s *Store) DashboardCounts(ctx context.Context, now time.Time, p steward.Policy, weeks int) (_ *steward.DashboardCounts, err error) {
	start := time.Now()
	defer func() { s.track("dashboard_counts", start, err) }()
	out := &steward.DashboardCounts{RotationOverdue: map[steward.Sensitivity]int64{}, Dormant: map[steward.Sensitivity]int64{}}
	n := micros(now)

	// Per-tier cutoffs as CASE expressions over the sensitivity column.
	cutoff := func(f func(steward.TierPolicy) steward.Duration) (string, []any) {
		var b strings.Builder
		var args []any
		b.WriteString("CASE sensitivity")
		for _, t := range steward.Sensitivities {
			b.WriteString(" WHEN ? THEN CAST(? AS BIGINT)")
			args = append(args, string(t), n-time.Duration(f(p[t])).Microseconds())
		}
		b.WriteString(" ELSE 0 END")
		return b.String(), args
	}
	rotExpr, rotArgs := cutoff(func(tp steward.TierPolicy) steward.Duration { return tp.RotationPeriod })
	dormExpr, dormArgs := cutoff(func(tp steward.TierPolicy) steward.Duration { return tp.Dormancy })
	q := `SELECT sensitivity,
		SUM(CASE WHEN COALESCE(last_rotated_at, created_at) < ` + rotExpr + ` THEN 1 ELSE 0 END),
		SUM(CASE WHEN COALESCE(last_used_at, created_at) < ` + dormExpr + ` THEN 1 ELSE 0 END),
		SUM(CASE WHEN expires_at >= ? AND expires_at < ? THEN 1 ELSE 0 END),
		SUM(CASE WHEN expires_at >= ? AND expires_at < ? THEN 1 ELSE 0 END)
		FROM identities WHERE status = 'active' GROUP BY sensitivity`
	args := append(append(rotArgs, dormArgs...), n, n+(7*24*time.Hour).Microseconds(), n, n+(30*24*time.Hour).Microseconds())
	err = eachRow(ctx, s.readPool(), "dashboard counts", func(row rowScanner) error {
		var tier string
		var rot, dorm, e7, e30 sql.NullInt64
		if err := row.Scan(&tier, &rot, &dorm, &e7, &e30); err != nil {
			return err
		}
		out.RotationOverdue[steward.Sensitivity(tier)] = rot.Int64
		out.Dormant[steward.Sensitivity(tier)] = dorm.Int64
		out.Expiring7 += e7.Int64
		out.Expiring30 += e30.Int64
		return nil
	}, q, args...)
	if err != nil {
		return nil, err
	}

	// Credential ages: bucket by the time since creation or rotation.
	var cb strings.Builder
	var cargs []any
	cb.WriteString("SELECT CASE")
	for i, bk := range credentialAgeBuckets {
		if bk.upTo == 0 {
			fmt.Fprintf(&cb, " ELSE %d END", i)
			break
		}
		fmt.Fprintf(&cb, " WHEN COALESCE(last_rotated_at, created_at) > ? THEN %d", i)
		cargs = append(cargs, n-bk.upTo.Microseconds())
	}
	cb.WriteString(" AS b, COUNT(*) FROM credentials WHERE status = 'active' GROUP BY b")
	counts := make([]int64, len(credentialAgeBuckets))
	if err := s.scanBuckets(ctx, cb.String(), cargs, func(b, c int64) {
		if b >= 0 && int(b) < len(counts) {
			counts[b] = c
		}
	}); err != nil {
		return nil, err
	}
	for i, bk := range credentialAgeBuckets {
		out.CredentialAge = append(out.CredentialAge, steward.Bucket{Label: bk.label, Count: counts[i]})
	}

	// Weekly trends over the last weeks, aligned to now.
	if weeks > 0 {
		from := n - int64(weeks)*week.Microseconds()
		wk := week.Microseconds()
		series := func() []steward.TimePoint {
			ps := make([]steward.TimePoint, weeks)
			for i := range ps {
				ps[i].Time = fromMicros(from + int64(i)*wk)
			}
			return ps
		}
		out.CreatedPerWeek = series()
		if err := s.scanBuckets(ctx, `SELECT (created_at - CAST(? AS BIGINT)) / CAST(? AS BIGINT) AS b, COUNT(*) FROM identities WHERE created_at >= ? AND created_at < ? GROUP BY b`,
			[]any{from, wk, from, n}, func(b, c int64) {
				if b >= 0 && int(b) < weeks {
					out.CreatedPerWeek[b].Value = c
				}
			}); err != nil {
			return nil, err
		}
		out.ChangesPerWeek, out.RevocationsPerWeek = series(), series()
		err := eachRow(ctx, s.readPool(), "dashboard trends", func(row rowScanner) error {
			var b, c int64
			var rv sql.NullInt64
			if err := row.Scan(&b, &c, &rv); err != nil {
				return err
			}
			if b >= 0 && int(b) < weeks {
				out.ChangesPerWeek[b].Value, out.RevocationsPerWeek[b].Value = c, rv.Int64
			}
			return nil
		}, `SELECT (time - CAST(? AS BIGINT)) / CAST(? AS BIGINT) AS b, COUNT(*),
			SUM(CASE WHEN action = ? THEN 1 ELSE 0 END) FROM events WHERE time >= ? AND time < ? GROUP BY b`,
			from, wk, steward.IdentityAction(steward.TransitionRevoke), from, n)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) scanBuckets(ctx context.Context, q string, args []any, fn func(b, c int64)) error {
	return eachRow(ctx, s.readPool(), "dashboard counts", func(row rowScanner) error {
		var b, c int64
		if err := row.Scan(&b, &c); err != nil {
			return err
		}
		fn(b, c)
		return nil
	}, q, args...)
}

// OwnerIdentityCounts returns how many identities each of the owners owns
// (owners without identities are absent).
func (s *Store) OwnerIdentityCounts(ctx context.Context, ownerIDs []string) (map[string]int64, error) {
	out := map[string]int64{}
	if len(ownerIDs) == 0 {
		return out, nil
	}
	return out, eachRow(ctx, s.readPool(), "owner identity counts", func(row rowScanner) error {
		var id string
		var c int64
		err := row.Scan(&id, &c)
		out[id] = c
		return err
	}, `SELECT owner_id, COUNT(*) FROM identities WHERE owner_id IN (`+placeholders(len(ownerIDs))+`) GROUP BY owner_id`, anySlice(ownerIDs)...)
}

// RecordDailyStats stores or replaces one day's snapshot.
func (s *Store) RecordDailyStats(ctx context.Context, d steward.DailyStats) error {
	day := d.Day.UTC().Truncate(24 * time.Hour)
	_, err := s.writeDB.ExecContext(ctx, rebind(s.engine, `INSERT INTO web_daily_stats (day, identities, live, unowned, orphaned, expired,
		open_findings, severe_findings, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (day) DO UPDATE SET identities = excluded.identities, live = excluded.live, unowned = excluded.unowned,
		orphaned = excluded.orphaned, expired = excluded.expired, open_findings = excluded.open_findings,
		severe_findings = excluded.severe_findings, recorded_at = excluded.recorded_at`),
		micros(day), d.Identities, d.Live, d.Unowned, d.Orphaned, d.Expired, d.OpenFindings, d.SevereFindings, micros(time.Now()))
	if err != nil {
		return fmt.Errorf("record daily stats: %w", err)
	}
	return nil
}

// ListDailyStats returns the snapshots since a day, oldest first.
func (s *Store) ListDailyStats(ctx context.Context, since time.Time) ([]steward.DailyStats, error) {
	return queryAll(ctx, s.readPool(), "list daily stats", func(row rowScanner) (d steward.DailyStats, err error) {
		var day int64
		err = row.Scan(&day, &d.Identities, &d.Live, &d.Unowned, &d.Orphaned, &d.Expired, &d.OpenFindings, &d.SevereFindings)
		d.Day = fromMicros(day)
		return d, err
	}, `SELECT day, identities, live, unowned, orphaned, expired, open_findings, severe_findings
		FROM web_daily_stats WHERE day >= ? ORDER BY day`, micros(since))
}
