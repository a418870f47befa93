-- Settings every node of a cluster shares, such as the token issuer: the
-- first node to start records its own, later nodes take it from here.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Every statement that appends to the event chain notifies the nodes that
-- listen (sqlstore.Store.FollowChanges), on a channel named after the
-- schema so that several Stewards can share a server. The payload is the
-- newest sequence number and the subject types appended, e.g.
-- "1042 identity,credential"; it is delivered when the transaction commits
-- and never if it rolls back.
CREATE FUNCTION steward_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    payload TEXT;
BEGIN
    SELECT max(seq)::text || ' ' || coalesce(string_agg(DISTINCT subject_type, ','), '') INTO payload FROM new_events;
    IF payload IS NOT NULL THEN
        PERFORM pg_notify(left('steward_' || TG_TABLE_SCHEMA, 63), left(payload, 7000));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_notify AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION steward_notify_events();
