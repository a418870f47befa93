-- Core inventory: owners, identities, credentials, operator tokens and the
-- event chain. Times are UTC microseconds since the Unix epoch.
CREATE TABLE owners (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    email           TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    team            TEXT NOT NULL DEFAULT '',
    manager_id      TEXT REFERENCES owners(id),
    backup_owner_id TEXT REFERENCES owners(id),
    external_ref    TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    departed_at     BIGINT,
    version         BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX owners_email ON owners (email);
CREATE INDEX owners_status ON owners (status, id);

CREATE TABLE identities (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    provider        TEXT NOT NULL,
    external_ref    TEXT,
    owner_id        TEXT REFERENCES owners(id),
    team            TEXT NOT NULL DEFAULT '',
    purpose         TEXT NOT NULL DEFAULT '',
    environment     TEXT NOT NULL DEFAULT '',
    scopes          TEXT NOT NULL DEFAULT '[]',
    sensitivity     TEXT NOT NULL,
    vendor_managed  INTEGER NOT NULL DEFAULT 0,
    source          TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    expires_at      BIGINT,
    last_rotated_at BIGINT,
    last_used_at    BIGINT,
    labels          TEXT NOT NULL DEFAULT '{}',
    exception       TEXT,
    version         BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX identities_ref ON identities (provider, external_ref);
CREATE INDEX identities_created ON identities (created_at, id);
CREATE INDEX identities_name ON identities (name, id);
CREATE INDEX identities_owner ON identities (owner_id, created_at, id);
CREATE INDEX identities_team ON identities (team, created_at, id);
CREATE INDEX identities_kind ON identities (kind, created_at, id);
CREATE INDEX identities_provider ON identities (provider, created_at, id);
CREATE INDEX identities_env ON identities (environment, created_at, id);
CREATE INDEX identities_status ON identities (status, created_at, id);
CREATE INDEX identities_sensitivity ON identities (sensitivity, created_at, id);
CREATE INDEX identities_source ON identities (source, created_at, id);
CREATE INDEX identities_expires ON identities (expires_at, id);
CREATE INDEX identities_last_used ON identities (last_used_at, id);
CREATE INDEX identities_last_rotated ON identities (last_rotated_at, id);

CREATE TABLE credentials (
    id              TEXT PRIMARY KEY,
    identity_id     TEXT NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    type            TEXT NOT NULL,
    external_ref    TEXT NOT NULL DEFAULT '',
    fingerprint     TEXT NOT NULL DEFAULT '',
    hint            TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    scopes          TEXT NOT NULL DEFAULT '[]',
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT,
    last_rotated_at BIGINT,
    last_used_at    BIGINT,
    revoked_at      BIGINT,
    metadata        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX credentials_identity ON credentials (identity_id, created_at);
CREATE INDEX credentials_fingerprint ON credentials (fingerprint);

CREATE TABLE operator_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL DEFAULT '',
    role         TEXT NOT NULL,
    owner_id     TEXT REFERENCES owners(id),
    digest       TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

-- The audit chain: append-only; entry_hash = SHA-256 of the RFC 8785 encoding
-- of the entry including prev_hash.
CREATE TABLE events (
    seq {{int_key}} PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    time         BIGINT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    subject_type TEXT NOT NULL DEFAULT '',
    subject_id   TEXT NOT NULL DEFAULT '',
    identity_id  TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL DEFAULT '',
    before       TEXT,
    after        TEXT,
    prev_hash    TEXT NOT NULL,
    entry_hash   TEXT NOT NULL
);
CREATE INDEX events_identity ON events (identity_id, seq);
CREATE INDEX events_subject ON events (subject_id, seq);
CREATE INDEX events_time ON events (time, seq);
CREATE INDEX events_actor ON events (actor, seq);
CREATE INDEX events_action ON events (action, seq);
