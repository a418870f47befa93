package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
)

// filter collects a query's WHERE conditions and their arguments.
type filter struct {
	conds []string
	args  []any
}

// add adds a condition and the arguments of its placeholders.
func (f *filter) add(cond string, args ...any) {
	f.conds = append(f.conds, cond)
	f.args = append(f.args, args...)
}

// eq adds "col = v" when v is not empty (an empty filter field selects
// everything).
func (f *filter) eq(col, v string) {
	if v != "" {
		f.add(col+" = ?", v)
	}
}

// during adds col >= since and col < until for the bounds that are set.
func (f *filter) during(col string, since, until *time.Time) {
	if since != nil {
		f.add(col+" >= ?", micros(*since))
	}
	if until != nil {
		f.add(col+" < ?", micros(*until))
	}
}

// where returns " WHERE c1 AND c2…", or "" without conditions.
func (f *filter) where() string {
	if len(f.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(f.conds, " AND ")
}

// eachRow runs q on r and calls fn with each row; op names the operation
// in errors.
func eachRow(ctx context.Context, r *reader, op string, fn func(row rowScanner) error, q string, args ...any) error {
	rows, err := r.q.QueryContext(ctx, rebind(r.d, q), args...)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// queryAll runs q on r and scans every row; op names the operation in
// errors. It returns an empty slice, never nil, when no row matches.
func queryAll[T any](ctx context.Context, r *reader, op string, scan func(rowScanner) (T, error), q string, args ...any) ([]T, error) {
	out := []T{}
	err := eachRow(ctx, r, op, func(row rowScanner) error {
		v, err := scan(row)
		out = append(out, v)
		return err
	}, q, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// getOne runs q on r and scans its one row; no row is the error missing.
func getOne[T any](ctx context.Context, r *reader, op string, scan func(rowScanner) (T, error), missing error, q string, args ...any) (T, error) {
	v, err := scan(r.q.QueryRowContext(ctx, rebind(r.d, q), args...))
	if errors.Is(err, sql.ErrNoRows) {
		var zero T
		return zero, missing
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%s: %w", op, err)
	}
	return v, nil
}

// listPage reads one keyset page: q selects the rows after the cursor in
// page order (its ORDER BY last); listPage reads limit+1 of them, returns
// limit, and when there is one more sets the next cursor to next(the last
// row returned).
func listPage[T any](ctx context.Context, r *reader, op string, limit int, scan func(rowScanner) (T, error), next func(last T) string,
	q string, args ...any) (*steward.Page[T], error) {
	items, err := queryAll(ctx, r, op, scan, q+fmt.Sprintf(" LIMIT %d", limit+1), args...)
	if err != nil {
		return nil, err
	}
	page := &steward.Page[T]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		page.NextCursor = next(items[limit-1])
	}
	return page, nil
}

// byID is the cursor after the row with this id, for pages in id order.
func byID(id string) string { return encodeCursor(cursor{ID: id}) }

// afterID adds cond (such as "id > ?") with the id of cursor text c, when
// there is one.
func (f *filter) afterID(c, cond string) error {
	if c == "" {
		return nil
	}
	cur, err := decodeCursor(c)
	if err != nil {
		return err
	}
	f.add(cond, cur.ID)
	return nil
}

// pageLimit checks a list's limit and puts the default in place of 0.
func pageLimit(limit *int) error {
	if *limit < 0 || *limit > steward.MaxLimit {
		return steward.FieldError("limit", "must be between 1 and %d", steward.MaxLimit)
	}
	if *limit == 0 {
		*limit = steward.DefaultLimit
	}
	return nil
}

// readPool reads straight from the read pool, without the statement cache
// (queries whose text varies).
func (s *Store) readPool() *reader { return &reader{q: s.readDB, d: s.engine} }

// scanDoc scans a row of one JSON document column into a T.
func scanDoc[T any](row rowScanner) (*T, error) {
	var doc string
	if err := row.Scan(&doc); err != nil {
		return nil, err
	}
	var v T
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// inChunks calls fn with slices of at most n ids.
func inChunks(ids []string, n int, fn func(chunk []string) error) error {
	for len(ids) > 0 {
		k := min(n, len(ids))
		if err := fn(ids[:k]); err != nil {
			return err
		}
		ids = ids[k:]
	}
	return nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// decodeList decodes the JSON array in column col; null decodes to an
// empty list, never nil.
func decodeList[E any](col, text string, dst *[]E) error {
	if err := json.Unmarshal([]byte(text), dst); err != nil {
		return fmt.Errorf("%s: %w", col, err)
	}
	if *dst == nil {
		*dst = []E{}
	}
	return nil
}

// decodeMap decodes the JSON object in column col; null decodes to an
// empty map, never nil.
func decodeMap[V any](col, text string, dst *map[string]V) error {
	if err := json.Unmarshal([]byte(text), dst); err != nil {
		return fmt.Errorf("%s: %w", col, err)
	}
	if *dst == nil {
		*dst = map[string]V{}
	}
	return nil
}

// decodeOptional decodes the JSON document in nullable column col into a
// new T, or leaves *dst nil when the column is NULL or empty.
func decodeOptional[T any](col string, text sql.NullString, dst **T) error {
	if !text.Valid || text.String == "" {
		return nil
	}
	*dst = new(T)
	if err := json.Unmarshal([]byte(text.String), *dst); err != nil {
		return fmt.Errorf("%s: %w", col, err)
	}
	return nil
}

// execOne runs query (an UPDATE or DELETE of one row of what, the one with
// id): op names it in an error, and a query that touches no row is
// ENOTFOUND.
func (t *tx) execOne(ctx context.Context, op, what, id, query string, args ...any) error {
	res, err := t.q.ExecContext(ctx, rebind(t.d, query), args...)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(what, id)
	}
	return nil
}
