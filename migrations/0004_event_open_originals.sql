-- Repeat detection reads, once per ingest batch, the open originals (not closed, not
-- rejected, not themselves repeats) in the batch's time window: this partial index holds just
-- those, a few thousand rows in a city with two years of history, where the GiST on every
-- event's point made each report's probe walk the whole neighbourhood's history (see
-- docs/BENCHMARKS.md, event ingest).
CREATE INDEX event_open_original_idx ON event (reported_at)
    WHERE status NOT IN ('closed', 'rejected') AND duplicate_of IS NULL;
