-- Fewer, cheaper filter indexes on identities on PostgreSQL (every imported
-- row maintains each one; bench/README "PostgreSQL import"; the sort,
-- credential and event indexes are the common migration 0017), with every
-- list still served by an index (sqlstore TestIdentityListsUseAnIndex checks the plans):
-- * provider is the leading column of identities_ref, and status that of
--   identities_dashboard: their keyset indexes go.
-- * kind, environment, sensitivity and source have a handful of values:
--   a plain index on the column finds a rare value's rows (then sorted), the
--   planner walks identities_created for a common one, and PostgreSQL
--   stores each value once (deduplicated) instead of one (value, created_at,
--   id) entry per row in a random place.
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
