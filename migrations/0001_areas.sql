-- The six-level tree of areas (city, district, town, village, grid, unit) in one table.
-- Why one table and not one per level: see docs/ARCHITECTURE.md ("Schema").
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE area (
    code         text        PRIMARY KEY CHECK (code ~ '^[0-9]{1,32}$'),
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- 0 city, 1 district, 2 town, 3 village, 4 grid, 5 unit
    level        smallint    NOT NULL CHECK (level BETWEEN 0 AND 5),
    parent_code  text,
    -- The level the parent must have; the composite foreign key below makes a unit's parent a
    -- grid, a grid's a village, and so on, without a trigger.
    parent_level smallint    GENERATED ALWAYS AS (CASE WHEN level > 0 THEN level - 1 END) STORED,
    geom         geometry(MultiPolygon, 4326) NOT NULL,
    props        jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(props) = 'object'),
    version      integer     NOT NULL DEFAULT 1,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT area_code_level_key UNIQUE (code, level),
    CONSTRAINT area_parent_fk FOREIGN KEY (parent_code, parent_level)
        REFERENCES area (code, level) DEFERRABLE INITIALLY IMMEDIATE,
    CONSTRAINT area_only_city_is_root CHECK ((level = 0) = (parent_code IS NULL))
);

CREATE INDEX area_geom_gist ON area USING gist (geom);
CREATE INDEX area_parent_idx ON area (parent_code);
CREATE INDEX area_level_idx ON area (level);
CREATE INDEX area_name_idx ON area (name text_pattern_ops);

-- Every write bumps version and updated_at, whoever makes it (API, import, or plain SQL).
CREATE FUNCTION area_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END $$;

CREATE TRIGGER area_bump_version BEFORE UPDATE ON area
    FOR EACH ROW
    WHEN ((OLD.name, OLD.level, OLD.parent_code, OLD.geom, OLD.props)
          IS DISTINCT FROM (NEW.name, NEW.level, NEW.parent_code, NEW.geom, NEW.props))
    EXECUTE FUNCTION area_bump_version();

-- The change feed that keeps every server's index and tile cache in step with this table.
-- Each statement that changes areas logs one row per changed area (with the bounding boxes
-- before and after, so caches can drop exactly the tiles that cover them) and sends one
-- NOTIFY whose payload is the range of log ids it wrote: "first:last".
CREATE TABLE area_change (
    id         bigserial   PRIMARY KEY,
    code       text        NOT NULL,
    level      smallint    NOT NULL,
    op         char(1)     NOT NULL CHECK (op IN ('I', 'U', 'D')),
    old_bbox   double precision[4],
    new_bbox   double precision[4],
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX area_change_time_idx ON area_change (changed_at);

CREATE FUNCTION area_bbox(g geometry) RETURNS double precision[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY[ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g)]
$$;

CREATE FUNCTION area_notify_range(first_id bigint, last_id bigint) RETURNS void LANGUAGE sql AS $$
    SELECT pg_notify('onemap_area_changed', first_id || ':' || last_id)
    WHERE last_id IS NOT NULL
$$;

CREATE FUNCTION area_log_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    WITH logged AS (
        INSERT INTO area_change (code, level, op, new_bbox)
        SELECT code, level, 'I', area_bbox(geom) FROM new_rows
        RETURNING id)
    SELECT min(id) AS lo, max(id) AS hi INTO r FROM logged;
    PERFORM area_notify_range(r.lo, r.hi);
    RETURN NULL;
END $$;

CREATE FUNCTION area_log_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    WITH logged AS (
        INSERT INTO area_change (code, level, op, old_bbox, new_bbox)
        SELECT n.code, n.level, 'U', area_bbox(o.geom), area_bbox(n.geom)
        FROM new_rows n JOIN old_rows o USING (code)
        WHERE o.* IS DISTINCT FROM n.*
        RETURNING id)
    SELECT min(id) AS lo, max(id) AS hi INTO r FROM logged;
    PERFORM area_notify_range(r.lo, r.hi);
    RETURN NULL;
END $$;

CREATE FUNCTION area_log_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    WITH logged AS (
        INSERT INTO area_change (code, level, op, old_bbox)
        SELECT code, level, 'D', area_bbox(geom) FROM old_rows
        RETURNING id)
    SELECT min(id) AS lo, max(id) AS hi INTO r FROM logged;
    PERFORM area_notify_range(r.lo, r.hi);
    RETURN NULL;
END $$;

CREATE TRIGGER area_log_insert AFTER INSERT ON area REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION area_log_insert();
CREATE TRIGGER area_log_update AFTER UPDATE ON area REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION area_log_update();
CREATE TRIGGER area_log_delete AFTER DELETE ON area REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION area_log_delete();

-- TRUNCATE logs nothing row by row: tell listeners to reload everything.
CREATE FUNCTION area_log_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('onemap_area_changed', 'reload');
    RETURN NULL;
END $$;
CREATE TRIGGER area_log_truncate AFTER TRUNCATE ON area
    FOR EACH STATEMENT EXECUTE FUNCTION area_log_truncate();
