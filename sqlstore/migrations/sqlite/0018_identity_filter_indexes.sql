-- PostgreSQL's version of this migration replaces the per-filter keyset
-- indexes of identities with fewer, cheaper ones. SQLite keeps its keyset
-- index per filter (its planner has no statistics unless ANALYZE ran, and a
-- large import rebuilds the indexes in one pass, sqlstore DeferIndexes).
SELECT 1;
