-- Authorization (Cedar policies, their history, external entities, the
-- schema, a revision counter nodes poll) and usage (events and per-subject
-- aggregates). Times are UTC microseconds since the Unix epoch.
CREATE TABLE authz_policies (
    name       TEXT PRIMARY KEY,
    text       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    deleted    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE authz_policy_versions (
    name       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    text       TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    deleted    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, version)
);
CREATE INDEX authz_policy_versions_time ON authz_policy_versions (updated_at);

CREATE TABLE authz_entities (
    type TEXT NOT NULL,
    id   TEXT NOT NULL,
    doc  TEXT NOT NULL,
    PRIMARY KEY (type, id)
);

CREATE TABLE authz_schema (
    id         {{small_int}} PRIMARY KEY CHECK (id = 1),
    text       TEXT NOT NULL,
    format     TEXT NOT NULL,
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);

CREATE TABLE authz_revision (
    id       {{small_int}} PRIMARY KEY CHECK (id = 1),
    revision BIGINT NOT NULL
);
INSERT INTO authz_revision (id, revision) VALUES (1, 0);

CREATE TABLE usage_events (
    id            TEXT PRIMARY KEY,
    time          BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    identity_id   TEXT NOT NULL DEFAULT '',
    credential_id TEXT NOT NULL DEFAULT '',
    subject       TEXT NOT NULL DEFAULT '',
    action        TEXT NOT NULL DEFAULT '',
    resource      TEXT NOT NULL DEFAULT '',
    source        TEXT NOT NULL DEFAULT '',
    user_agent    TEXT NOT NULL DEFAULT '',
    environment   TEXT NOT NULL DEFAULT '',
    outcome       TEXT NOT NULL DEFAULT '',
    reason        TEXT NOT NULL DEFAULT '',
    policy_ids    TEXT NOT NULL DEFAULT '[]',
    latency_us    BIGINT NOT NULL DEFAULT 0,
    attributes    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX usage_events_time ON usage_events (time, id);
CREATE INDEX usage_events_identity ON usage_events (identity_id, time, id);
CREATE INDEX usage_events_subject ON usage_events (subject, time, id);

-- One row per (subject key, dimension, value): key is an identity id or
-- 'unknown:<subject>'; dimension 'all' with value '' holds the totals.
CREATE TABLE usage_aggregates (
    subject_key TEXT NOT NULL,
    dimension   TEXT NOT NULL,
    value       TEXT NOT NULL,
    count       BIGINT NOT NULL,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    PRIMARY KEY (subject_key, dimension, value)
);
CREATE INDEX usage_aggregates_last ON usage_aggregates (dimension, last_seen);
