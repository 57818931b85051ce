-- Repeat detection looks, for each report of a batch, for open originals (not closed, not
-- rejected, not themselves repeats) within its category's radius: this partial GiST holds just
-- those, a few thousand points in a city with two years of history, where the GiST on every
-- event's point made each report's probe walk the whole neighbourhood's history (see
-- docs/BENCHMARKS.md, event ingest).
CREATE INDEX event_open_original_gist ON event USING gist (geom)
    WHERE status NOT IN ('closed', 'rejected') AND duplicate_of IS NULL;

-- Client ids are optional and most reports carry none: a partial unique index keeps them
-- unique without an index entry for every report that has none (one btree insert less per
-- event at ingest). The ingest's ON CONFLICT names the same predicate.
ALTER TABLE event DROP CONSTRAINT event_client_id_key;
CREATE UNIQUE INDEX event_client_id_key ON event (client_id) WHERE client_id IS NOT NULL;
