-- Credential broker: what Steward needs to verify the credentials it issues
-- (never the secrets), its signing keys (private parts sealed with the
-- master key), and the deny list of access tokens revoked before expiry.
ALTER TABLE credentials ADD COLUMN digest TEXT;
ALTER TABLE credentials ADD COLUMN allowed_cidrs TEXT NOT NULL DEFAULT '[]';
ALTER TABLE credentials ADD COLUMN client_id TEXT;
ALTER TABLE credentials ADD COLUMN public_jwk TEXT;
ALTER TABLE credentials ADD COLUMN predecessor_id TEXT;
ALTER TABLE credentials ADD COLUMN overlap_until BIGINT;
CREATE UNIQUE INDEX credentials_digest ON credentials (digest);
CREATE INDEX credentials_client_id ON credentials (client_id, created_at);
CREATE INDEX credentials_broker_due ON credentials (status, expires_at);

CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,
    algorithm      TEXT NOT NULL,
    public_jwk     TEXT NOT NULL,
    private_sealed TEXT NOT NULL,
    status         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    retired_at     BIGINT,
    publish_until  BIGINT
);

CREATE TABLE revoked_jtis (
    jti           TEXT PRIMARY KEY,
    credential_id TEXT NOT NULL DEFAULT '',
    identity_id   TEXT NOT NULL DEFAULT '',
    expires_at    BIGINT NOT NULL,
    revoked_at    BIGINT NOT NULL
);
CREATE INDEX revoked_jtis_expires ON revoked_jtis (expires_at);

-- jti of private_key_jwt client assertions, kept until they expire so that
-- an assertion cannot be replayed (RFC 7523 section 3).
CREATE TABLE assertion_jtis (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX assertion_jtis_expires ON assertion_jtis (expires_at);
