//! What the in-memory event view (`crate::events::analytics`) reads: every event streamed
//! into columns at start, and the rows a change names.

use super::{Op, Store, StoreError};
use crate::events::analytics::view::{
    Codes, Columns, EventRow, NO_TIME, category_idx, priority_idx, source_idx, status_idx,
};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::Row;
use sqlx::postgres::PgRow;

const SELECT: &str = "SELECT id, ST_X(geom) AS lon, ST_Y(geom) AS lat,
        reported_at, category, source, status, priority, deadline, closed_at,
        district_code, town_code, village_code, grid_code, unit_code
   FROM event";

fn decode_row(row: &PgRow, with_codes: bool) -> Result<EventRow, sqlx::Error> {
    let text = |name: &str| -> Result<Option<String>, sqlx::Error> { row.try_get(name) };
    Ok(EventRow {
        id: row.try_get("id")?,
        lon: row.try_get("lon")?,
        lat: row.try_get("lat")?,
        t: row
            .try_get::<DateTime<Utc>, _>("reported_at")?
            .timestamp_micros(),
        category: category_idx(row.try_get::<&str, _>("category")?),
        source: source_idx(row.try_get::<&str, _>("source")?),
        status: status_idx(row.try_get::<&str, _>("status")?),
        priority: priority_idx(row.try_get::<&str, _>("priority")?),
        deadline: row
            .try_get::<DateTime<Utc>, _>("deadline")?
            .timestamp_micros(),
        closed_at: row
            .try_get::<Option<DateTime<Utc>>, _>("closed_at")?
            .map_or(NO_TIME, |t| t.timestamp_micros()),
        area: if with_codes {
            [
                text("district_code")?,
                text("town_code")?,
                text("village_code")?,
                text("grid_code")?,
                text("unit_code")?,
            ]
        } else {
            Default::default()
        },
    })
}

const CODE_COLUMNS: [&str; 5] = [
    "district_code",
    "town_code",
    "village_code",
    "grid_code",
    "unit_code",
];

fn decode(row: &PgRow) -> Result<EventRow, sqlx::Error> {
    decode_row(row, true)
}

/// Every event, streamed straight into columns (unsorted, cells unset).
pub async fn load_all(store: &Store) -> Result<(Columns, Codes), StoreError> {
    let mut cols = Columns::default();
    let mut codes = Codes::default();
    let mut rows = sqlx::query(SELECT).fetch(&store.pool);
    while let Some(row) = rows.try_next().await.op("loading events")? {
        // Codes are interned straight from the row's bytes: no String per code.
        let r = decode_row(&row, false).op("decoding an event")?;
        cols.push_row(&r, &mut codes, false);
        for (k, name) in CODE_COLUMNS.iter().enumerate() {
            if let Some(code) = row
                .try_get::<Option<&str>, _>(*name)
                .op("decoding an event")?
                && let Some(slot) = cols.area[k].last_mut()
            {
                *slot = codes.intern(code);
            }
        }
    }
    Ok((cols, codes))
}

/// The events with these ids.
pub async fn events_by_id(store: &Store, ids: &[i64]) -> Result<Vec<EventRow>, StoreError> {
    let sql = format!("{SELECT} WHERE id = ANY($1)");
    let rows = sqlx::query(&sql)
        .bind(ids)
        .fetch_all(&store.pool)
        .await
        .op("reading changed events")?;
    rows.iter()
        .map(decode)
        .collect::<Result<_, _>>()
        .op("decoding an event")
}

/// The events with `lo <= id <= hi`.
pub async fn events_in_range(store: &Store, lo: i64, hi: i64) -> Result<Vec<EventRow>, StoreError> {
    let sql = format!("{SELECT} WHERE id BETWEEN $1 AND $2");
    let rows = sqlx::query(&sql)
        .bind(lo)
        .bind(hi)
        .fetch_all(&store.pool)
        .await
        .op("reading changed events")?;
    rows.iter()
        .map(decode)
        .collect::<Result<_, _>>()
        .op("decoding an event")
}

/// Which of `ids` the event table still holds.
pub async fn existing_ids(store: &Store, ids: &[i64]) -> Result<Vec<i64>, StoreError> {
    sqlx::query_scalar("SELECT id FROM event WHERE id = ANY($1)")
        .bind(ids)
        .fetch_all(&store.pool)
        .await
        .op("checking deleted events")
}

/// The ids in `lo..=hi` that the event table holds.
pub async fn ids_in_range(store: &Store, lo: i64, hi: i64) -> Result<Vec<i64>, StoreError> {
    sqlx::query_scalar("SELECT id FROM event WHERE id BETWEEN $1 AND $2")
        .bind(lo)
        .bind(hi)
        .fetch_all(&store.pool)
        .await
        .op("checking deleted events")
}
