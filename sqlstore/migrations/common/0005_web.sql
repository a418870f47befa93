-- The web console: sessions (only the SHA-256 digest of the session id is
-- stored; a session ends with its operator token) and one inventory snapshot
-- per day for the dashboard's trends. Times are UTC microseconds.
CREATE TABLE web_sessions (
    digest     TEXT PRIMARY KEY,
    token_id   TEXT NOT NULL REFERENCES operator_tokens(id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

CREATE TABLE web_daily_stats (
    day         BIGINT PRIMARY KEY,
    identities  BIGINT NOT NULL,
    live        BIGINT NOT NULL,
    unowned     BIGINT NOT NULL,
    orphaned    BIGINT NOT NULL,
    expired     BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL
);

-- Covering indexes for the dashboard's aggregates (index-only scans instead
-- of reading whole rows).
CREATE INDEX identities_dashboard ON identities (status, sensitivity, created_at, last_rotated_at, last_used_at, expires_at);
CREATE INDEX credentials_age ON credentials (status, created_at, last_rotated_at);
CREATE INDEX events_time_action ON events (time, action);
