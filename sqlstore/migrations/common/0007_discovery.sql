-- Secrets found in code, history and pipelines: one row per secret and
-- location, linked to the credential (managed) or to a discovered identity.
CREATE TABLE discoveries (
    id              TEXT PRIMARY KEY,
    fingerprint     TEXT NOT NULL,
    rule            TEXT NOT NULL,
    source          TEXT NOT NULL DEFAULT '',
    repository      TEXT NOT NULL DEFAULT '',
    file            TEXT NOT NULL DEFAULT '',
    line            BIGINT NOT NULL DEFAULT 0,
    col             BIGINT NOT NULL DEFAULT 0,
    commit_sha      TEXT NOT NULL DEFAULT '',
    author          TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    context         TEXT NOT NULL DEFAULT '',
    severity        TEXT NOT NULL DEFAULT '',
    managed         INTEGER NOT NULL DEFAULT 0,
    credential_id   TEXT NOT NULL DEFAULT '',
    identity_id     TEXT NOT NULL DEFAULT '',
    suggested_owner TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'open',
    first_seen      BIGINT NOT NULL,
    last_seen       BIGINT NOT NULL,
    occurrences     BIGINT NOT NULL DEFAULT 1,
    auto_revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX discoveries_location ON discoveries (fingerprint, repository, file);
CREATE INDEX discoveries_identity ON discoveries (identity_id, id);
CREATE INDEX discoveries_fingerprint ON discoveries (fingerprint);
