-- The sorts by expiry, last use and last rotation order by
-- COALESCE(column, max bigint) (never sorts last), which the old
-- (column, id) indexes could not serve: they index that expression now.
DROP INDEX identities_expires;
DROP INDEX identities_last_used;
DROP INDEX identities_last_rotated;
CREATE INDEX identities_expires ON identities ((COALESCE(expires_at, 9223372036854775807)), id);
CREATE INDEX identities_last_used ON identities ((COALESCE(last_used_at, 9223372036854775807)), id);
CREATE INDEX identities_last_rotated ON identities ((COALESCE(last_rotated_at, 9223372036854775807)), id);

-- Credentials: the broker's lookups (by digest, by client id, the expiry
-- sweep) only ever ask for credentials Steward issued, which have a digest
-- (a client secret also a client id); imported and discovered credentials
-- have neither and stay out of these indexes.
DROP INDEX credentials_digest;
DROP INDEX credentials_client_id;
DROP INDEX credentials_broker_due;
CREATE UNIQUE INDEX credentials_digest ON credentials (digest) WHERE digest IS NOT NULL;
CREATE INDEX credentials_client_id ON credentials (client_id, created_at) WHERE client_id IS NOT NULL;
CREATE INDEX credentials_broker_due ON credentials (status, expires_at) WHERE digest IS NOT NULL;

-- Events: a time range reads events_time_action (time, action), which leads
-- with the same column; events_time added nothing to it.
DROP INDEX events_time;
