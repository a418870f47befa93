-- Federation: trusted issuers (current version and history, each version
-- kept whole as JSON) and the bindings that map a verified token of an
-- issuer to one identity. A binding is also a credential of type
-- "federated" with the same id: its status is the binding's, and revoking
-- it revokes every token exchanged through it. Exchanged tokens' jti (or
-- digest) are remembered in assertion_jtis under "fed:<issuer>".
CREATE TABLE federation_issuers (
    name       TEXT PRIMARY KEY,
    issuer     TEXT NOT NULL,
    doc        TEXT NOT NULL,
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE federation_issuer_versions (
    name       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    doc        TEXT NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE federation_bindings (
    id          TEXT PRIMARY KEY REFERENCES credentials(id) ON DELETE CASCADE,
    identity_id TEXT NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    issuer      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    claims      TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL
);
CREATE INDEX federation_bindings_issuer ON federation_bindings (issuer, created_at);
CREATE INDEX federation_bindings_identity ON federation_bindings (identity_id, created_at);
