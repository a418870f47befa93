-- Fewer, cheaper indexes on identities, credentials and events (every imported row maintains each
-- one; bench/README "PostgreSQL import"), with every list still served by
-- an index (sqlstore TestIdentityListsUseAnIndex checks the plans):
-- * provider is the leading column of identities_ref, and status that of
--   identities_dashboard: their keyset indexes go.
-- * kind, environment, sensitivity and source have a handful of values:
--   a plain index on the column finds a rare value's rows (then sorted), the
--   planner walks identities_created for a common one, and PostgreSQL
--   stores each value once (deduplicated) instead of one (value, created_at,
--   id) entry per row in a random place.
-- * the sorts by expiry, last use and last rotation order by
--   COALESCE(column, max bigint) (never sorts last), which the old
--   (column, id) indexes could not serve: they index that expression now.
DROP INDEX identities_provider;
DROP INDEX identities_status;
DROP INDEX identities_kind;
DROP INDEX identities_env;
DROP INDEX identities_sensitivity;
DROP INDEX identities_source;
CREATE INDEX identities_kind ON identities (kind);
CREATE INDEX identities_env ON identities (environment);
CREATE INDEX identities_sensitivity ON identities (sensitivity);
CREATE INDEX identities_source ON identities (source);
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
