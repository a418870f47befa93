-- The usage write path (decision log, ingested usage) does less b-tree
-- work per event:
-- * aggregates are keyed by their primary key alone (WITHOUT ROWID: one
--   b-tree instead of a table and its key index);
-- * the last-seen index covers only the totals of unknown callers, the one
--   query that needs it, instead of changing on every aggregate upsert;
-- * the identity index leaves out events that matched no identity (they
--   are found by subject).
CREATE TABLE usage_aggregates_v2 (
    subject_key TEXT NOT NULL,
    dimension   TEXT NOT NULL,
    value       TEXT NOT NULL,
    count       BIGINT NOT NULL,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    PRIMARY KEY (subject_key, dimension, value)
) WITHOUT ROWID;
INSERT INTO usage_aggregates_v2 (subject_key, dimension, value, count, first_seen, last_seen)
    SELECT subject_key, dimension, value, count, first_seen, last_seen FROM usage_aggregates;
DROP TABLE usage_aggregates;
ALTER TABLE usage_aggregates_v2 RENAME TO usage_aggregates;
CREATE INDEX usage_aggregates_unknown ON usage_aggregates (last_seen)
    WHERE dimension = 'all' AND subject_key LIKE 'unknown:%';

DROP INDEX usage_events_identity;
CREATE INDEX usage_events_identity ON usage_events (identity_id, time, id) WHERE identity_id <> '';
