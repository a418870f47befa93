package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/steward-nhi/steward"
)

// Findings (one per check and identity) and the waivers that suspend them.

const findingColumns = `id, key, check_id, title, severity, status, identity_id, credential_id, owner_id, team, owasp, csf, evidence,
	remediation, created_at, updated_at, first_seen, reopened_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, resolved_seq, waiver`

func scanFinding(row rowScanner) (*steward.Finding, error) {
	var (
		f                            steward.Finding
		sev, status, csf, ev         string
		created, updated, first      int64
		reopened, acked, resolved    sql.NullInt64
		waiver                       sql.NullString
		ackBy, resBy, cred, owner, t string
	)
	if err := row.Scan(&f.ID, &f.Key, &f.Check, &f.Title, &sev, &status, &f.IdentityID, &cred, &owner, &t, &f.OWASP, &csf, &ev,
		&f.Remediation, &created, &updated, &first, &reopened, &acked, &ackBy, &resolved, &resBy, &f.ResolvedSeq, &waiver); err != nil {
		return nil, err
	}
	f.Severity, f.Status = steward.Severity(sev), steward.FindingStatus(status)
	f.CredentialID, f.OwnerID, f.Team, f.AcknowledgedBy, f.ResolvedBy = cred, owner, t, ackBy, resBy
	f.CreatedAt, f.UpdatedAt, f.FirstSeen = fromMicros(created), fromMicros(updated), fromMicros(first)
	f.ReopenedAt, f.AcknowledgedAt, f.ResolvedAt = fromNullMicros(reopened), fromNullMicros(acked), fromNullMicros(resolved)
	if err := errors.Join(decodeList("csf", csf, &f.CSF), decodeMap("evidence", ev, &f.Evidence),
		decodeOptional("waiver", waiver, &f.Waiver)); err != nil {
		return nil, fmt.Errorf("finding %s: %w", f.ID, err)
	}
	return &f, nil
}

func findingArgs(f *steward.Finding) ([]any, error) {
	csf, err := jsonText(f.CSF, "[]")
	if err != nil {
		return nil, err
	}
	ev, err := jsonText(f.Evidence, "{}")
	if err != nil {
		return nil, err
	}
	var waiver any
	if f.Waiver != nil {
		b, err := json.Marshal(f.Waiver)
		if err != nil {
			return nil, err
		}
		waiver = string(b)
	}
	return []any{f.ID, f.Key, f.Check, f.Title, string(f.Severity), string(f.Status), f.IdentityID, f.CredentialID, f.OwnerID, f.Team,
		f.OWASP, csf, ev, f.Remediation, micros(f.CreatedAt), micros(f.UpdatedAt), micros(f.FirstSeen),
		microsPtr(f.ReopenedAt), microsPtr(f.AcknowledgedAt), f.AcknowledgedBy, microsPtr(f.ResolvedAt), f.ResolvedBy, f.ResolvedSeq, waiver}, nil
}

func (r *reader) GetFinding(ctx context.Context, id string) (*steward.Finding, error) {
	return getOne(ctx, r, "get finding", scanFinding, notFound("finding", id), `SELECT `+findingColumns+` FROM findings WHERE id = ?`, id)
}

func (r *reader) ListFindings(ctx context.Context, f steward.FindingFilter) (_ *steward.Page[*steward.Finding], err error) {
	defer func(start time.Time) { r.track("list_findings", start, err) }(time.Now())
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var w filter
	w.eq("severity", string(f.Severity))
	w.eq("owasp", f.OWASP)
	if f.CSF != "" {
		w.add(`csf LIKE ? ESCAPE '\'`, `%"`+escapeLike(f.CSF)+`"%`)
	}
	w.eq("owner_id", f.OwnerID)
	w.eq("team", f.Team)
	w.eq("status", string(f.Status))
	if f.Unresolved {
		w.add("status <> 'resolved'")
	}
	w.eq("identity_id", f.IdentityID)
	w.eq("check_id", f.Check)
	if err := w.afterID(f.Cursor, "id > ?"); err != nil {
		return nil, err
	}
	return listPage(ctx, r, "list findings", f.Limit, scanFinding, func(x *steward.Finding) string { return byID(x.ID) },
		`SELECT `+findingColumns+` FROM findings`+w.where()+` ORDER BY id`, w.args...)
}

func (r *reader) queryFindings(ctx context.Context, q string, args ...any) ([]*steward.Finding, error) {
	return queryAll(ctx, r, "findings", scanFinding, q, args...)
}

func (r *reader) FindingsFor(ctx context.Context, ids []string) ([]*steward.Finding, error) {
	var out []*steward.Finding
	err := inChunks(ids, 500, func(c []string) error {
		fs, err := r.queryFindings(ctx, `SELECT `+findingColumns+` FROM findings WHERE identity_id IN (`+placeholders(len(c))+`)`, anySlice(c)...)
		out = append(out, fs...)
		return err
	})
	return out, err
}

func (r *reader) FindingsInRange(ctx context.Context, after, through string) ([]*steward.Finding, error) {
	var w filter
	if after != "" {
		w.add("identity_id > ?", after)
	}
	if through != "" {
		w.add("identity_id <= ?", through)
	}
	return r.queryFindings(ctx, `SELECT `+findingColumns+` FROM findings`+w.where(), w.args...)
}

func (r *reader) FindingCounts(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	return out, eachRow(ctx, r, "finding counts", func(row rowScanner) error {
		var k string
		var n int
		err := row.Scan(&k, &n)
		out[k] = n
		return err
	}, `SELECT owasp, COUNT(*) FROM findings WHERE status <> 'resolved' GROUP BY owasp`)
}

func (r *reader) FindingMatrix(ctx context.Context) (map[string]map[steward.Severity]int, error) {
	out := map[string]map[steward.Severity]int{}
	return out, eachRow(ctx, r, "finding matrix", func(row rowScanner) error {
		var k string
		var sev steward.Severity
		var n int
		if err := row.Scan(&k, &sev, &n); err != nil {
			return err
		}
		if out[k] == nil {
			out[k] = map[steward.Severity]int{}
		}
		out[k][sev] = n
		return nil
	}, `SELECT owasp, severity, COUNT(*) FROM findings WHERE status <> 'resolved' GROUP BY owasp, severity`)
}

const waiverColumns = `id, finding_id, reason, approver, until, created_at, created_by, ended_at, end_reason`

func scanWaiver(row rowScanner) (*steward.Waiver, error) {
	var w steward.Waiver
	var until, created int64
	var ended sql.NullInt64
	if err := row.Scan(&w.ID, &w.FindingID, &w.Reason, &w.Approver, &until, &created, &w.CreatedBy, &ended, &w.EndReason); err != nil {
		return nil, err
	}
	w.Until, w.CreatedAt, w.EndedAt = fromMicros(until), fromMicros(created), fromNullMicros(ended)
	return &w, nil
}

func (r *reader) ListWaivers(ctx context.Context, findingID string) ([]*steward.Waiver, error) {
	var w filter
	w.eq("finding_id", findingID)
	return queryAll(ctx, r, "list waivers", scanWaiver, `SELECT `+waiverColumns+` FROM finding_waivers`+w.where()+` ORDER BY created_at, id`, w.args...)
}

// WriteFindings inserts or updates a batch of findings.
func (t *tx) WriteFindings(ctx context.Context, ws []steward.FindingWrite) error {
	if len(ws) == 0 {
		return nil
	}
	var ins, upd *sql.Stmt
	defer func() {
		if ins != nil {
			ins.Close()
		}
		if upd != nil {
			upd.Close()
		}
	}()
	for _, w := range ws {
		args, err := findingArgs(w.Finding)
		if err != nil {
			return fmt.Errorf("write finding: %w", err)
		}
		if w.Insert {
			if ins == nil {
				if ins, err = t.sqltx.PrepareContext(ctx, rebind(t.d, `INSERT INTO findings (`+findingColumns+`) VALUES (`+placeholders(24)+`)`)); err != nil {
					return fmt.Errorf("write finding: %w", err)
				}
			}
			if _, err := ins.ExecContext(ctx, args...); err != nil {
				if isUniqueViolation(err) {
					return steward.Errorf(steward.ECONFLICT, "finding %s already exists", w.Finding.Key)
				}
				return fmt.Errorf("insert finding: %w", err)
			}
			continue
		}
		if upd == nil {
			if upd, err = t.sqltx.PrepareContext(ctx, rebind(t.d, `UPDATE findings SET key=?, check_id=?, title=?, severity=?, status=?, identity_id=?,
				credential_id=?, owner_id=?, team=?, owasp=?, csf=?, evidence=?, remediation=?, created_at=?, updated_at=?, first_seen=?, reopened_at=?,
				acknowledged_at=?, acknowledged_by=?, resolved_at=?, resolved_by=?, resolved_seq=?, waiver=? WHERE id = ?`)); err != nil {
				return fmt.Errorf("write finding: %w", err)
			}
		}
		res, err := upd.ExecContext(ctx, append(args[1:], w.Finding.ID)...)
		if err != nil {
			return fmt.Errorf("update finding: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("finding", w.Finding.ID)
		}
	}
	return nil
}

func waiverArgs(w *steward.Waiver) []any {
	return []any{w.ID, w.FindingID, w.Reason, w.Approver, micros(w.Until), micros(w.CreatedAt), w.CreatedBy, microsPtr(w.EndedAt), w.EndReason}
}

func (t *tx) CreateWaiver(ctx context.Context, w *steward.Waiver) error {
	_, err := t.q.ExecContext(ctx, rebind(t.d, `INSERT INTO finding_waivers (`+waiverColumns+`) VALUES (?,?,?,?,?,?,?,?,?)`), waiverArgs(w)...)
	if isForeignKeyViolation(err) {
		return notFound("finding", w.FindingID)
	}
	if err != nil {
		return fmt.Errorf("create waiver: %w", err)
	}
	return nil
}

func (t *tx) UpdateWaiver(ctx context.Context, w *steward.Waiver) error {
	a := waiverArgs(w)
	return t.execOne(ctx, "update waiver", "waiver", w.ID,
		`UPDATE finding_waivers SET finding_id=?, reason=?, approver=?, until=?, created_at=?, created_by=?,
		ended_at=?, end_reason=? WHERE id = ?`, append(a[1:], w.ID)...)
}
