-- Registry writes name the boats they touched (as asset writes do), so the fleet patches those
-- rows instead of reading 100,000 again; harbours, closures and zones still reload whole.
CREATE FUNCTION vessel_ids_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    SELECT count(*) AS n,
           CASE WHEN count(*) <= 400 THEN string_agg(mmsi::text, ',' ORDER BY mmsi) END AS ids
      INTO r FROM changed_rows;
    IF r.n > 0 THEN
        PERFORM pg_notify('onemap_changes',
            CASE WHEN r.ids IS NOT NULL AND length(r.ids) <= 7000 THEN 'vessel:ids:' || r.ids
                 ELSE 'vessel:reload' END);
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER vessel_notify ON vessel;
CREATE TRIGGER vessel_ids_insert AFTER INSERT ON vessel REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vessel_ids_notify();
CREATE TRIGGER vessel_ids_update AFTER UPDATE ON vessel REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vessel_ids_notify();
CREATE TRIGGER vessel_ids_delete AFTER DELETE ON vessel REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vessel_ids_notify();
CREATE TRIGGER vessel_truncate_notify AFTER TRUNCATE ON vessel
    FOR EACH STATEMENT EXECUTE FUNCTION vessel_notify();
