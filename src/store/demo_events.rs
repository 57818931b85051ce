//! Writing demo events in bulk: one transaction that locks the event table, reserves ids in
//! COPY order, streams events and their transitions with COPY, checks the ids and commits.
//! What the rows say is `crate::events::demo::load`'s business.

use super::{Op, Store, StoreError};
use sqlx::postgres::{PgConnection, PgCopyIn};
use sqlx::{Postgres, Transaction};

const COPY_EVENTS: &str = "COPY event (category, subcategory, source, priority, description, \
     reporter, geom, reported_at, received_at, assigned, unit_code, grid_code, village_code, \
     town_code, district_code, nearest_grid_code, nearest_grid_m, status, deadline, resolved_at, \
     closed_at, duplicate_of, repeat_count, updated_at) FROM STDIN";
const COPY_TRANSITIONS: &str =
    "COPY event_transition (event_id, from_status, to_status, actor, at) FROM STDIN";

/// The transaction of a bulk load. Dropped without `commit`, it rolls back.
pub struct EventLoad {
    tx: Transaction<'static, Postgres>,
    /// The id the first copied event gets; row i gets `first_id + i`.
    pub first_id: i64,
}

/// A COPY in progress.
pub struct CopyIn<'t> {
    inner: PgCopyIn<&'t mut PgConnection>,
    what: &'static str,
}

impl CopyIn<'_> {
    /// Sends rows in COPY text format.
    pub async fn send(&mut self, rows: &[u8]) -> Result<(), StoreError> {
        self.inner.send(rows).await.op(self.what)?;
        Ok(())
    }

    pub async fn finish(self) -> Result<u64, StoreError> {
        self.inner.finish().await.op(self.what)
    }
}

impl Store {
    /// `(code, deadline hours, repeat radius m, repeat window h)` of every category.
    pub async fn category_settings(&self) -> Result<Vec<(String, i32, f32, f32)>, StoreError> {
        sqlx::query_as(
            "SELECT code, deadline_hours, repeat_radius_m, repeat_window_h FROM event_category",
        )
        .fetch_all(&self.pool)
        .await
        .op("reading event categories")
    }

    /// How many events the table holds.
    pub async fn event_count(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT count(*) FROM event")
            .fetch_one(&self.pool)
            .await
            .op("counting events")
    }

    /// Starts a bulk load: with `replace`, empties the event tables first (same transaction);
    /// locks the event table so ids are taken in COPY order and reserves them.
    pub async fn begin_event_load(&self, replace: bool) -> Result<EventLoad, StoreError> {
        let mut tx = self.pool.begin().await.op("starting the load")?;
        if replace {
            sqlx::query("TRUNCATE event_transition, event_request, event RESTART IDENTITY")
                .execute(&mut *tx)
                .await
                .op("emptying the event tables")?;
        }
        sqlx::query("LOCK TABLE event IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .op("locking the event table")?;
        let first_id: i64 = sqlx::query_scalar(
            "SELECT setval(pg_get_serial_sequence('event', 'id'), coalesce(max(id), 0) + 1, false) FROM event",
        )
        .fetch_one(&mut *tx)
        .await
        .op("reserving event ids")?;
        Ok(EventLoad { tx, first_id })
    }
}

impl EventLoad {
    /// COPY into `event`, columns as in `COPY_EVENTS`.
    pub async fn copy_events(&mut self) -> Result<CopyIn<'_>, StoreError> {
        let inner = self
            .tx
            .copy_in_raw(COPY_EVENTS)
            .await
            .op("starting COPY of events")?;
        Ok(CopyIn {
            inner,
            what: "copying events",
        })
    }

    /// COPY into `event_transition (event_id, from_status, to_status, actor, at)`.
    pub async fn copy_transitions(&mut self) -> Result<CopyIn<'_>, StoreError> {
        let inner = self
            .tx
            .copy_in_raw(COPY_TRANSITIONS)
            .await
            .op("starting COPY of transitions")?;
        Ok(CopyIn {
            inner,
            what: "copying transitions",
        })
    }

    /// `(min id, max id, count)` of the events from `first_id` on.
    pub async fn copied_ids(&mut self) -> Result<(Option<i64>, Option<i64>, i64), StoreError> {
        sqlx::query_as("SELECT min(id), max(id), count(*) FROM event WHERE id >= $1")
            .bind(self.first_id)
            .fetch_one(&mut *self.tx)
            .await
            .op("checking event ids")
    }

    /// Commits, then refreshes the planner's statistics of the two tables.
    pub async fn commit(self, store: &Store) -> Result<(), StoreError> {
        self.tx.commit().await.op("committing the events")?;
        for t in ["event", "event_transition"] {
            sqlx::query(&format!("ANALYZE {t}"))
                .execute(&store.pool)
                .await
                .op("analyzing")?;
        }
        Ok(())
    }
}
