package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/steward-nhi/steward"
)

var _ steward.AlertStore = (*Store)(nil)

const alertColumns = `id, key, detector, title, severity, status, identity_id, credential_id, owner_id, team, environment, sensitivity,
	evidence, owasp, csf, first_seen, last_seen, count, response, updated_at, acted_at, acted_by, action_note`

func scanAlert(row rowScanner) (*steward.Alert, error) {
	var (
		a                       steward.Alert
		sev, status, tier       string
		ev, csf                 string
		first, last, updated    int64
		acted                   sql.NullInt64
		cred, owner, team, envr string
	)
	if err := row.Scan(&a.ID, &a.Key, &a.Detector, &a.Title, &sev, &status, &a.IdentityID, &cred, &owner, &team, &envr, &tier,
		&ev, &a.OWASP, &csf, &first, &last, &a.Count, &a.Response, &updated, &acted, &a.ActedBy, &a.ActionNote); err != nil {
		return nil, err
	}
	a.Severity, a.Status, a.Sensitivity = steward.Severity(sev), steward.AlertStatus(status), steward.Sensitivity(tier)
	a.CredentialID, a.OwnerID, a.Team, a.Environment = cred, owner, team, envr
	a.FirstSeen, a.LastSeen, a.UpdatedAt, a.ActedAt = fromMicros(first), fromMicros(last), fromMicros(updated), fromNullMicros(acted)
	if err := errors.Join(decodeMap("evidence", ev, &a.Evidence), decodeList("csf", csf, &a.CSF)); err != nil {
		return nil, fmt.Errorf("alert %s: %w", a.ID, err)
	}
	return &a, nil
}

func alertArgs(a *steward.Alert) ([]any, error) {
	ev, err := jsonText(a.Evidence, "{}")
	if err != nil {
		return nil, fmt.Errorf("alert %s: evidence: %w", a.ID, err)
	}
	csf, err := jsonText(a.CSF, "[]")
	if err != nil {
		return nil, err
	}
	return []any{a.ID, a.Key, a.Detector, a.Title, string(a.Severity), string(a.Status), a.IdentityID, a.CredentialID, a.OwnerID, a.Team,
		a.Environment, string(a.Sensitivity), ev, a.OWASP, csf, micros(a.FirstSeen), micros(a.LastSeen), a.Count, a.Response,
		micros(a.UpdatedAt), microsPtr(a.ActedAt), a.ActedBy, a.ActionNote}, nil
}

// insertAlert writes a new alert; saving a known id again updates only
// what the detectors change (occurrences, last seen, evidence, severity,
// response), never the status a person set.
const insertAlert = `INSERT INTO alerts (` + alertColumns + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
	ON CONFLICT (id) DO UPDATE SET severity = excluded.severity, evidence = excluded.evidence, last_seen = excluded.last_seen,
	count = excluded.count, response = excluded.response, updated_at = excluded.updated_at`

// replaceAlert writes every column of a stored alert.
const replaceAlert = `UPDATE alerts SET title = ?, severity = ?, status = ?, credential_id = ?, owner_id = ?, team = ?, environment = ?,
	sensitivity = ?, evidence = ?, owasp = ?, csf = ?, first_seen = ?, last_seen = ?, count = ?, response = ?, updated_at = ?, acted_at = ?,
	acted_by = ?, action_note = ? WHERE id = ?`

// SaveAlerts inserts new alerts and updates the occurrences of known ones
// in one transaction.
func (s *Store) SaveAlerts(ctx context.Context, as []*steward.Alert) (err error) {
	if len(as) == 0 {
		return nil
	}
	start := time.Now()
	defer func() { s.reader.track("save_alerts", start, err) }()
	t, err := s.writeDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save alerts: %w", err)
	}
	defer t.Rollback()
	st, err := t.PrepareContext(ctx, rebind(s.engine, insertAlert))
	if err != nil {
		return fmt.Errorf("save alerts: %w", err)
	}
	defer st.Close()
	for _, a := range as {
		args, err := alertArgs(a)
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("save alert %s: %w", a.ID, err)
		}
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("save alerts: %w", err)
	}
	return nil
}

// GetAlert returns one alert.
func (r *reader) GetAlert(ctx context.Context, id string) (*steward.Alert, error) {
	return getOne(ctx, r, "get alert", scanAlert, notFound("alert", id), `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id)
}

// ListAlerts lists alerts newest first with keyset pagination.
func (r *reader) ListAlerts(ctx context.Context, f steward.AlertFilter) (_ *steward.Page[*steward.Alert], err error) {
	start := time.Now()
	defer func() { r.track("list_alerts", start, err) }()
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var w filter
	w.eq("identity_id", f.IdentityID)
	w.eq("detector", f.Detector)
	w.eq("severity", string(f.Severity))
	w.eq("status", string(f.Status))
	w.eq("owner_id", f.OwnerID)
	if err := w.afterID(f.Cursor, "id < ?"); err != nil {
		return nil, err
	}
	return listPage(ctx, r, "list alerts", f.Limit, scanAlert, func(x *steward.Alert) string { return byID(x.ID) },
		`SELECT `+alertColumns+` FROM alerts`+w.where()+` ORDER BY id DESC`, w.args...)
}

// LiveAlerts returns open and acknowledged alerts last seen at or after since.
func (r *reader) LiveAlerts(ctx context.Context, since time.Time) ([]*steward.Alert, error) {
	return queryAll(ctx, r, "live alerts", scanAlert,
		`SELECT `+alertColumns+` FROM alerts WHERE status IN ('open', 'acknowledged') AND last_seen >= ? ORDER BY id`, micros(since))
}

// UpdateAlert reads the alert in a write transaction, lets fn change it
// (and append events through tx), and saves it.
func (s *Store) UpdateAlert(ctx context.Context, id string, fn func(tx steward.Tx, a *steward.Alert) error) (*steward.Alert, error) {
	var out *steward.Alert
	err := s.Update(ctx, func(stx steward.Tx) error {
		t := stx.(*tx)
		a, err := t.GetAlert(ctx, id)
		if err != nil {
			return err
		}
		if err := fn(stx, a); err != nil {
			return err
		}
		args, err := alertArgs(a)
		if err != nil {
			return err
		}
		// alertArgs: id, key, detector, then the columns replaceAlert sets.
		args = append(append(slices.Clone(args[3:6]), args[7:]...), a.ID)
		if _, err := t.q.ExecContext(ctx, rebind(s.engine, replaceAlert), args...); err != nil {
			return fmt.Errorf("update alert %s: %w", id, err)
		}
		out = a
		return nil
	})
	return out, err
}

// SaveBaselines inserts or replaces baselines in one transaction.
func (s *Store) SaveBaselines(ctx context.Context, bs []steward.Baseline) (err error) {
	if len(bs) == 0 {
		return nil
	}
	start := time.Now()
	defer func() { s.reader.track("save_baselines", start, err) }()
	t, err := s.writeDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save baselines: %w", err)
	}
	defer t.Rollback()
	st, err := t.PrepareContext(ctx, rebind(s.engine, `INSERT INTO alert_baselines (identity_id, data, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (identity_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`))
	if err != nil {
		return fmt.Errorf("save baselines: %w", err)
	}
	defer st.Close()
	for _, b := range bs {
		if _, err := st.ExecContext(ctx, b.IdentityID, string(b.Data), micros(b.UpdatedAt)); err != nil {
			return fmt.Errorf("save baseline %s: %w", b.IdentityID, err)
		}
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("save baselines: %w", err)
	}
	return nil
}

// LoadBaselines calls fn with every stored baseline.
func (r *reader) LoadBaselines(ctx context.Context, fn func(b steward.Baseline) error) error {
	return eachRow(ctx, r, "load baselines", func(row rowScanner) error {
		var b steward.Baseline
		var data string
		var at int64
		if err := row.Scan(&b.IdentityID, &data, &at); err != nil {
			return err
		}
		b.Data, b.UpdatedAt = []byte(data), fromMicros(at)
		return fn(b)
	}, `SELECT identity_id, data, updated_at FROM alert_baselines ORDER BY identity_id`)
}

// AddDeadLetter records an undeliverable notification.
func (s *Store) AddDeadLetter(ctx context.Context, d *steward.DeadLetter) error {
	n, err := json.Marshal(d.Notification)
	if err != nil {
		return err
	}
	_, err = s.writeDB.ExecContext(ctx, rebind(s.engine, `INSERT INTO alert_dead_letters (id, sink, notification, error, attempts, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
		d.ID, d.Sink, string(n), d.Error, d.Attempts, micros(d.CreatedAt))
	if err != nil {
		return fmt.Errorf("add dead letter: %w", err)
	}
	return nil
}

// ListDeadLetters returns the newest dead letters first.
func (r *reader) ListDeadLetters(ctx context.Context, limit int) ([]*steward.DeadLetter, error) {
	if limit <= 0 || limit > steward.MaxLimit {
		limit = steward.DefaultLimit
	}
	return queryAll(ctx, r, "list dead letters", func(row rowScanner) (*steward.DeadLetter, error) {
		var d steward.DeadLetter
		var n string
		var at int64
		if err := row.Scan(&d.ID, &d.Sink, &n, &d.Error, &d.Attempts, &at); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(n), &d.Notification); err != nil {
			return nil, fmt.Errorf("dead letter %s: %w", d.ID, err)
		}
		d.CreatedAt = fromMicros(at)
		return &d, nil
	}, fmt.Sprintf(`SELECT id, sink, notification, error, attempts, created_at FROM alert_dead_letters ORDER BY created_at DESC, id DESC LIMIT %d`, limit))
}
