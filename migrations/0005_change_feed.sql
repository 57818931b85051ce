-- One change feed (issue #9): every trigger that tells servers about a change notifies on one
-- channel, `onemap_changes`, with one payload grammar, `<topic>:<what>`:
--   area:range:<lo>:<hi>          apply the area_change log rows lo..=hi
--   area:reload                   TRUNCATE of area: reload every area
--   event:ids:<id>,<id>,…         these events were inserted or updated
--   event:range:<lo>:<hi>         events with ids in lo..=hi were inserted or updated
--   event:deleted:<id>,<id>,…     these events were deleted
--   event:deleted-range:<lo>:<hi> events in lo..=hi that the table no longer holds were deleted
--   event:reload                  TRUNCATE of event: reload every event
-- A NOTIFY payload must stay under 8000 bytes: id lists are sent only while they are short
-- (at most 400 ids and 7000 characters), else the range. Server processes LISTEN on the one
-- channel with one connection (src/feed.rs) and parse with one parser (src/store/changes.rs).

CREATE OR REPLACE FUNCTION area_notify_range(first_id bigint, last_id bigint) RETURNS void LANGUAGE sql AS $$
    SELECT pg_notify('onemap_changes', 'area:range:' || first_id || ':' || last_id)
    WHERE last_id IS NOT NULL
$$;

CREATE OR REPLACE FUNCTION area_log_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('onemap_changes', 'area:reload');
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    SELECT count(*) AS n, min(id) AS lo, max(id) AS hi,
           CASE WHEN count(*) <= 400 THEN string_agg(id::text, ',' ORDER BY id) END AS ids
      INTO r FROM new_rows;
    IF r.n > 0 THEN
        PERFORM pg_notify('onemap_changes',
            CASE WHEN r.ids IS NOT NULL AND length(r.ids) <= 7000 THEN 'event:ids:' || r.ids
                 ELSE 'event:range:' || r.lo || ':' || r.hi END);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION event_notify_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    SELECT count(*) AS n, min(id) AS lo, max(id) AS hi,
           CASE WHEN count(*) <= 400 THEN string_agg(id::text, ',' ORDER BY id) END AS ids
      INTO r FROM old_rows;
    IF r.n > 0 THEN
        PERFORM pg_notify('onemap_changes',
            CASE WHEN r.ids IS NOT NULL AND length(r.ids) <= 7000 THEN 'event:deleted:' || r.ids
                 ELSE 'event:deleted-range:' || r.lo || ':' || r.hi END);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION event_notify_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('onemap_changes', 'event:reload');
    RETURN NULL;
END $$;
