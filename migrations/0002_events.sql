-- Events: every reported problem, its closed loop, and what makes ingest idempotent.
-- The data flow and the state machine are described in docs/EVENTS.md.

-- The themes events are filed under, with what varies per theme: the deadline by priority and
-- the radius and window within which a new report counts as a repeat of an open one.
-- Operators tune these with plain SQL; servers read them at start and on NOTIFY.
CREATE TABLE event_category (
    code             text     PRIMARY KEY CHECK (code ~ '^[a-z_]{1,40}$'),
    name             text     NOT NULL UNIQUE,          -- zh-CN label shown to users
    sort             smallint NOT NULL,
    deadline_hours   integer  NOT NULL CHECK (deadline_hours > 0),      -- priority 'normal'
    repeat_radius_m  real     NOT NULL CHECK (repeat_radius_m >= 0),
    repeat_window_h  real     NOT NULL CHECK (repeat_window_h >= 0)
);

INSERT INTO event_category (code, name, sort, deadline_hours, repeat_radius_m, repeat_window_h) VALUES
    ('dispute',         '矛盾纠纷', 1, 72,  50,  72),
    ('city_management', '城市管理', 2, 48,  50,  72),
    ('safety_hazard',   '安全隐患', 3, 24,  30,  48),
    ('food_safety',     '食品安全', 4, 48,  30, 168),
    ('environment',     '生态环境', 5, 72, 100, 168),
    ('forest_fire',     '森林防火', 6, 6,  500,  24),
    ('public_service',  '民生服务', 7, 120, 50, 168),
    ('public_order',    '社会治安', 8, 24,  50,  48),
    ('traffic',         '交通',     9, 24,  50,  24),
    ('other',           '其他',    10, 120, 30,  72);

CREATE TABLE event (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- A client-supplied id (e.g. the hotline's record number): unique, so a retry that carries
    -- it cannot create a second event.
    client_id      text        UNIQUE CHECK (length(client_id) BETWEEN 1 AND 128),
    category       text        NOT NULL REFERENCES event_category (code),
    subcategory    text        CHECK (length(subcategory) <= 100),
    source         text        NOT NULL CHECK (source IN
                       ('grid_worker', 'unit_head', 'patrol', 'hotline', 'police', 'petition', 'qr_scan')),
    priority       text        NOT NULL DEFAULT 'normal'
                       CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    description    text        NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    reporter       text        CHECK (length(reporter) <= 200),
    geom           geometry(Point, 4326) NOT NULL,
    reported_at    timestamptz NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    -- The assignment chain frozen at report time: kept as it was even if areas are redrawn
    -- later, so no foreign keys to area.
    assigned       boolean     NOT NULL,
    unit_code      text,
    grid_code      text,
    village_code   text,
    town_code      text,
    district_code  text,
    -- For a point in no unit: the nearest grid within the tolerance, for manual assignment.
    nearest_grid_code text,
    nearest_grid_m    real,
    status         text        NOT NULL DEFAULT 'reported' CHECK (status IN
                       ('reported', 'accepted', 'dispatched', 'in_progress', 'resolved',
                        'verified', 'closed', 'rejected')),
    deadline       timestamptz NOT NULL,
    resolved_at    timestamptz,
    closed_at      timestamptz,
    duplicate_of   bigint      REFERENCES event (id),
    repeat_count   integer     NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX event_reported_at_idx ON event (reported_at, id);
CREATE INDEX event_geom_gist ON event USING gist (geom);
CREATE INDEX event_grid_idx ON event (grid_code, reported_at);
CREATE INDEX event_village_idx ON event (village_code, reported_at);
-- Towns, districts and categories are large slices: a query on them walks
-- event_reported_at_idx and filters (a town is ~1/57 of the city), so they get no index of their
-- own; every index costs ingest time (see docs/BENCHMARKS.md, event ingest).
-- Open events, for overdue lists. Repeat detection probes event_geom_gist (a second, partial
-- GiST on open originals cost more at ingest than it saved per probe).
CREATE INDEX event_open_idx ON event (deadline)
    WHERE status NOT IN ('closed', 'rejected');
CREATE INDEX event_unassigned_idx ON event (id) WHERE NOT assigned;
CREATE INDEX event_duplicate_idx ON event (duplicate_of) WHERE duplicate_of IS NOT NULL;

-- The closed loop's log: one row per status change (the first row has from_status NULL).
CREATE TABLE event_transition (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     bigint      NOT NULL REFERENCES event (id),
    from_status  text,
    to_status    text        NOT NULL,
    actor        text        NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
    at           timestamptz NOT NULL DEFAULT now(),
    note         text        CHECK (length(note) <= 4000)
);
CREATE INDEX event_transition_event_idx ON event_transition (event_id, id);

-- Idempotent requests: the first answer to a request with an Idempotency-Key, replayed for a
-- retry with the same body; a different body under the same key is a conflict (409).
CREATE TABLE event_request (
    key          text        PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 200),
    body_hash    bytea       NOT NULL,
    status       smallint    NOT NULL,
    response     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Change feed for other server processes' in-memory event views (tiles, hotspots): each
-- statement that writes events sends the ids it touched, as "ids:1,2,3" when they are few
-- (a NOTIFY payload must stay under 8000 bytes) or as "range:lo:hi" for a large batch.
CREATE FUNCTION event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    SELECT count(*) AS n, min(id) AS lo, max(id) AS hi,
           CASE WHEN count(*) <= 400 THEN string_agg(id::text, ',' ORDER BY id) END AS ids
      INTO r FROM new_rows;
    IF r.n > 0 THEN
        PERFORM pg_notify('onemap_event_changed',
            CASE WHEN r.ids IS NOT NULL THEN 'ids:' || r.ids ELSE 'range:' || r.lo || ':' || r.hi END);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER event_notify_insert AFTER INSERT ON event
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION event_notify();
CREATE TRIGGER event_notify_update AFTER UPDATE ON event
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION event_notify();
