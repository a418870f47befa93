-- The usage write path (decision log, ingested usage) does less index
-- work per event: the last-seen index covers only the totals of unknown
-- callers, the one query that needs it, instead of changing on every
-- aggregate upsert; the identity index leaves out events that matched no
-- identity (they are found by subject).
DROP INDEX usage_aggregates_last;
CREATE INDEX usage_aggregates_unknown ON usage_aggregates (last_seen)
    WHERE dimension = 'all' AND subject_key LIKE 'unknown:%';

DROP INDEX usage_events_identity;
CREATE INDEX usage_events_identity ON usage_events (identity_id, time, id) WHERE identity_id <> '';
