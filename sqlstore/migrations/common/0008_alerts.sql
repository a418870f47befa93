-- Alerts: anomalies found in usage events (one row per grouped alert),
-- the per-identity baselines the detectors learn (opaque JSON, so a restart
-- does not relearn), and the notifications sinks could not deliver.
-- Times are UTC microseconds.
CREATE TABLE alerts (
    id            TEXT PRIMARY KEY,
    key           TEXT NOT NULL,
    detector      TEXT NOT NULL,
    title         TEXT NOT NULL DEFAULT '',
    severity      TEXT NOT NULL,
    status        TEXT NOT NULL,
    identity_id   TEXT NOT NULL DEFAULT '',
    credential_id TEXT NOT NULL DEFAULT '',
    owner_id      TEXT NOT NULL DEFAULT '',
    team          TEXT NOT NULL DEFAULT '',
    environment   TEXT NOT NULL DEFAULT '',
    sensitivity   TEXT NOT NULL DEFAULT '',
    evidence      TEXT NOT NULL DEFAULT '{}',
    owasp         TEXT NOT NULL DEFAULT '',
    csf           TEXT NOT NULL DEFAULT '[]',
    first_seen    BIGINT NOT NULL,
    last_seen     BIGINT NOT NULL,
    count         BIGINT NOT NULL DEFAULT 1,
    response      TEXT NOT NULL DEFAULT '',
    updated_at    BIGINT NOT NULL,
    acted_at      BIGINT,
    acted_by      TEXT NOT NULL DEFAULT '',
    action_note   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alerts_identity ON alerts (identity_id, id);
CREATE INDEX alerts_detector ON alerts (detector, id);
CREATE INDEX alerts_severity ON alerts (severity, id);
CREATE INDEX alerts_status ON alerts (status, id);
CREATE INDEX alerts_owner ON alerts (owner_id, id);
CREATE INDEX alerts_live ON alerts (status, last_seen);

CREATE TABLE alert_baselines (
    identity_id TEXT PRIMARY KEY,
    data        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE alert_dead_letters (
    id           TEXT PRIMARY KEY,
    sink         TEXT NOT NULL,
    notification TEXT NOT NULL,
    error        TEXT NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);
CREATE INDEX alert_dead_letters_created ON alert_dead_letters (created_at);
