-- Settings every node of a cluster shares, such as the token issuer: the
-- first node to start records its own, later nodes take it from here.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
