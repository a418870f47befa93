package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/steward-nhi/steward"
)

var _ steward.SettingStore = (*Store)(nil)

// GetSetting returns a shared setting, or ENOTFOUND.
func (s *Store) GetSetting(ctx context.Context, key string) (_ string, err error) {
	defer func(start time.Time) { s.track("get_setting", start, err) }(time.Now())
	var v string
	err = s.writeDB.QueryRowContext(ctx, rebind(s.engine, `SELECT value FROM settings WHERE key = ?`), key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("setting", key)
	}
	if err != nil {
		return "", fmt.Errorf("get setting %s: %w", key, err)
	}
	return v, nil
}

// InitSetting records value under key unless a value is there already,
// and returns the value in force: of several nodes starting at once, the
// first to write wins and every one reads the same answer.
func (s *Store) InitSetting(ctx context.Context, key, value string) (_ string, err error) {
	defer func(start time.Time) { s.track("init_setting", start, err) }(time.Now())
	if _, err := s.writeDB.ExecContext(ctx, rebind(s.engine, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING`),
		key, value, micros(time.Now())); err != nil {
		return "", fmt.Errorf("init setting %s: %w", key, err)
	}
	return s.GetSetting(ctx, key)
}

// PutSetting records value under key, replacing any other.
func (s *Store) PutSetting(ctx context.Context, key, value string) (err error) {
	defer func(start time.Time) { s.track("put_setting", start, err) }(time.Now())
	_, err = s.writeDB.ExecContext(ctx, rebind(s.engine, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`), key, value, micros(time.Now()))
	if err != nil {
		return fmt.Errorf("put setting %s: %w", key, err)
	}
	return nil
}
