-- Rotation: the rotators (provider connections; their admin secrets are in
-- custody), the persisted state of each rotation (create, set, test,
-- finish) so that a rerun resumes, and the leases of dynamic credentials.
CREATE TABLE rotators (
    name       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    doc        TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE rotations (
    id            TEXT PRIMARY KEY,
    credential_id TEXT NOT NULL,
    identity_id   TEXT NOT NULL,
    status        TEXT NOT NULL,
    started_at    BIGINT NOT NULL,
    doc           TEXT NOT NULL
);
-- One running rotation per credential: of two nodes asking at once, the
-- second insert fails and that node reports the rotation in progress.
CREATE UNIQUE INDEX rotations_one_running ON rotations (credential_id) WHERE status = 'running';
CREATE INDEX rotations_credential ON rotations (credential_id, started_at);
CREATE INDEX rotations_status ON rotations (status, started_at);

CREATE TABLE leases (
    id          TEXT PRIMARY KEY,
    identity_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX leases_due ON leases (status, expires_at);
CREATE INDEX leases_identity ON leases (identity_id, expires_at);
