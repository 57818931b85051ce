-- Deletions reach the in-memory event views too (issue #15): rows deleted by any client (a
-- clean-up, a retention job, another tool) must leave statistics, hotspots and tiles.
-- Each DELETE statement sends the ids it removed on the channel of 0002's inserts and updates:
-- "deleted:1,2,3" when they are few (a NOTIFY payload must stay under 8000 bytes), else
-- "deleted-range:lo:hi". A range may have gaps (ids it spans that were not deleted): listeners
-- drop only the ids in it that the table no longer holds. TRUNCATE logs no rows: "reload".
CREATE FUNCTION event_notify_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    SELECT count(*) AS n, min(id) AS lo, max(id) AS hi,
           CASE WHEN count(*) <= 400 THEN string_agg(id::text, ',' ORDER BY id) END AS ids
      INTO r FROM old_rows;
    IF r.n > 0 THEN
        PERFORM pg_notify('onemap_event_changed',
            CASE WHEN r.ids IS NOT NULL AND length(r.ids) <= 7000 THEN 'deleted:' || r.ids
                 ELSE 'deleted-range:' || r.lo || ':' || r.hi END);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER event_notify_delete AFTER DELETE ON event
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION event_notify_delete();

CREATE FUNCTION event_notify_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('onemap_event_changed', 'reload');
    RETURN NULL;
END $$;

CREATE TRIGGER event_notify_truncate AFTER TRUNCATE ON event
    FOR EACH STATEMENT EXECUTE FUNCTION event_notify_truncate();
