-- Audit chain extras: signed checkpoints (Merkle tree heads over events),
-- checkpoint signing keys (private half sealed under the master key, which
-- never enters the database) and the cursors of streaming sinks.
CREATE TABLE audit_checkpoints (
    tree_size       BIGINT PRIMARY KEY,
    root_hash       TEXT NOT NULL,
    last_seq        BIGINT NOT NULL,
    last_entry_hash TEXT NOT NULL,
    time            BIGINT NOT NULL,
    key_id          TEXT NOT NULL,
    signature       TEXT NOT NULL
);

CREATE TABLE audit_keys (
    id             TEXT PRIMARY KEY,
    algorithm      TEXT NOT NULL,
    public_key     TEXT NOT NULL,
    sealed_private TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE TABLE audit_sink_cursors (
    name       TEXT PRIMARY KEY,
    seq        BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
