-- Posture: findings (one row per check:identity[:credential] key), waiver
-- history, access-review campaigns and items, offboarding records, posture
-- snapshots for trends, and job leases. Times are UTC microseconds.
CREATE TABLE findings (
    id              TEXT PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    check_id        TEXT NOT NULL,
    title           TEXT NOT NULL DEFAULT '',
    severity        TEXT NOT NULL,
    status          TEXT NOT NULL,
    identity_id     TEXT NOT NULL DEFAULT '',
    credential_id   TEXT NOT NULL DEFAULT '',
    owner_id        TEXT NOT NULL DEFAULT '',
    team            TEXT NOT NULL DEFAULT '',
    owasp           TEXT NOT NULL DEFAULT '',
    csf             TEXT NOT NULL DEFAULT '[]',
    evidence        TEXT NOT NULL DEFAULT '{}',
    remediation     TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    first_seen      BIGINT NOT NULL,
    reopened_at     BIGINT,
    acknowledged_at BIGINT,
    acknowledged_by TEXT NOT NULL DEFAULT '',
    resolved_at     BIGINT,
    resolved_by     TEXT NOT NULL DEFAULT '',
    resolved_seq    BIGINT NOT NULL DEFAULT 0,
    waiver          TEXT
);
CREATE INDEX findings_identity ON findings (identity_id, id);
CREATE INDEX findings_status ON findings (status, id);
CREATE INDEX findings_severity ON findings (severity, id);
CREATE INDEX findings_owasp ON findings (owasp, id);
CREATE INDEX findings_owner ON findings (owner_id, id);
CREATE INDEX findings_team ON findings (team, id);
CREATE INDEX findings_check ON findings (check_id, id);

-- One row per waiver ever granted (exception records, CSF ID.RA-07).
CREATE TABLE finding_waivers (
    id          TEXT PRIMARY KEY,
    finding_id  TEXT NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    reason      TEXT NOT NULL,
    approver    TEXT NOT NULL,
    until       BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    ended_at    BIGINT,
    end_reason  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX finding_waivers_finding ON finding_waivers (finding_id, created_at);
CREATE INDEX finding_waivers_created ON finding_waivers (created_at);

CREATE TABLE review_campaigns (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL DEFAULT '{}',
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    created_by   TEXT NOT NULL,
    deadline     BIGINT NOT NULL,
    closed_at    BIGINT,
    auto_suspend INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX review_campaigns_created ON review_campaigns (created_at, id);

CREATE TABLE review_items (
    id             TEXT PRIMARY KEY,
    campaign_id    TEXT NOT NULL REFERENCES review_campaigns(id) ON DELETE CASCADE,
    identity_id    TEXT NOT NULL,
    identity_name  TEXT NOT NULL DEFAULT '',
    owner_id       TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL,
    decision       TEXT NOT NULL DEFAULT '',
    justification  TEXT NOT NULL DEFAULT '',
    scopes         TEXT NOT NULL DEFAULT '[]',
    new_owner_id   TEXT NOT NULL DEFAULT '',
    decided_by     TEXT NOT NULL DEFAULT '',
    decided_at     BIGINT,
    event_seq      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX review_items_campaign ON review_items (campaign_id, id);
CREATE INDEX review_items_identity ON review_items (identity_id, status);
CREATE INDEX review_items_status ON review_items (status, campaign_id);

CREATE TABLE offboardings (
    owner_id     TEXT PRIMARY KEY,
    started_at   BIGINT NOT NULL,
    completed_at BIGINT,
    doc          TEXT NOT NULL
);
CREATE INDEX offboardings_open ON offboardings (completed_at, started_at);

CREATE TABLE posture_snapshots (
    time BIGINT PRIMARY KEY,
    doc  TEXT NOT NULL
);

CREATE TABLE job_leases (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  BIGINT NOT NULL
);
