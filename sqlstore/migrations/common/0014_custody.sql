-- Custody: external secrets (database passwords, third-party keys) kept
-- encrypted at rest. Each version is sealed with its own data key under the
-- master key (internal/secretbox), with the identity id, credential id and
-- version as additional data. A retired version's ciphertext is destroyed
-- (sealed set to NULL) once its overlap ends; the row stays as the record.
CREATE TABLE custody_secrets (
    credential_id   TEXT PRIMARY KEY REFERENCES credentials(id) ON DELETE CASCADE,
    identity_id     TEXT NOT NULL,
    rotator         TEXT NOT NULL DEFAULT '',
    current_version BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX custody_secrets_identity ON custody_secrets (identity_id);

CREATE TABLE secret_versions (
    credential_id TEXT NOT NULL REFERENCES custody_secrets(credential_id) ON DELETE CASCADE,
    version       BIGINT NOT NULL,
    identity_id   TEXT NOT NULL,
    sealed        TEXT,
    fingerprint   TEXT NOT NULL,
    state         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    retire_at     BIGINT,
    destroyed_at  BIGINT,
    PRIMARY KEY (credential_id, version)
);
CREATE INDEX secret_versions_retire ON secret_versions (state, retire_at);
