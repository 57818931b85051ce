//! The SQL of the analytics part: reading events into columns, area names, and the change
//! channel. (Kept here rather than in `crate::store` so the part owns its queries; every
//! statement binds its values.)

use super::view::{
    Codes, Columns, EventRow, NO_TIME, category_idx, priority_idx, source_idx, status_idx,
};
use crate::model::Level;
use crate::store::{Op, Store, StoreError};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::Row;
use sqlx::postgres::{PgListener, PgRow};
use std::collections::HashMap;

/// The channel the `event` triggers notify on (migrations/0002_events.sql).
pub const CHANNEL: &str = "onemap_event_changed";

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

/// A listener subscribed to the event change channel.
pub async fn listen(store: &Store) -> Result<PgListener, StoreError> {
    let mut listener = PgListener::connect_with(&store.pool)
        .await
        .op("connecting the event listener")?;
    listener
        .listen(CHANNEL)
        .await
        .op("listening for event changes")?;
    Ok(listener)
}

/// Name and level of an area.
#[derive(Debug, Clone)]
pub struct AreaName {
    pub name: String,
    pub level: Level,
}

/// code → (name, level) of every area.
pub async fn area_names(store: &Store) -> Result<HashMap<String, AreaName>, StoreError> {
    let rows = sqlx::query("SELECT code, name, level FROM area")
        .fetch_all(&store.pool)
        .await
        .op("reading area names")?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let code: String = r.try_get("code").op("reading an area code")?;
        let name: String = r.try_get("name").op("reading an area name")?;
        let rank: i16 = r.try_get("level").op("reading an area level")?;
        if let Some(level) = Level::from_rank(rank) {
            out.insert(code, AreaName { name, level });
        }
    }
    Ok(out)
}

/// What a notification on `CHANNEL` names (payloads written by the triggers of
/// migrations/0002_events.sql and 0003_event_deletes.sql).
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// `ids:1,2,3`: rows inserted or updated.
    Ids(Vec<i64>),
    /// `range:lo:hi`: rows inserted or updated, all with ids in `lo..=hi` (not every id in it).
    Range(i64, i64),
    /// `deleted:1,2,3`: rows deleted.
    Deleted(Vec<i64>),
    /// `deleted-range:lo:hi`: rows deleted, all with ids in `lo..=hi`. The range may have gaps
    /// (ids still in the table): only the ids the table no longer holds leave the view.
    DeletedRange(i64, i64),
    /// `reload` (TRUNCATE) or an unreadable payload: reload everything, to be safe.
    Reload,
}

impl Notice {
    pub fn parse(payload: &str) -> Notice {
        fn ids(list: &str) -> Option<Vec<i64>> {
            list.split(',').map(|s| s.trim().parse().ok()).collect()
        }
        fn range(r: &str) -> Option<(i64, i64)> {
            let mut p = r.split(':').map(str::parse::<i64>);
            match (p.next(), p.next(), p.next()) {
                (Some(Ok(lo)), Some(Ok(hi)), None) if lo <= hi => Some((lo, hi)),
                _ => None,
            }
        }
        let parsed = if let Some(list) = payload.strip_prefix("ids:") {
            ids(list).map(Notice::Ids)
        } else if let Some(r) = payload.strip_prefix("range:") {
            range(r).map(|(lo, hi)| Notice::Range(lo, hi))
        } else if let Some(list) = payload.strip_prefix("deleted:") {
            ids(list).map(Notice::Deleted)
        } else if let Some(r) = payload.strip_prefix("deleted-range:") {
            range(r).map(|(lo, hi)| Notice::DeletedRange(lo, hi))
        } else {
            None
        };
        parsed.unwrap_or(Notice::Reload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_payloads() {
        assert_eq!(Notice::parse("ids:1,2,3"), Notice::Ids(vec![1, 2, 3]));
        assert_eq!(Notice::parse("range:5:9"), Notice::Range(5, 9));
        assert_eq!(Notice::parse("range:9:5"), Notice::Reload);
        assert_eq!(Notice::parse("ids:1,x"), Notice::Reload);
        assert_eq!(Notice::parse("what"), Notice::Reload);
        assert_eq!(Notice::parse("deleted:7"), Notice::Deleted(vec![7]));
        assert_eq!(
            Notice::parse("deleted:1,20,300"),
            Notice::Deleted(vec![1, 20, 300])
        );
        assert_eq!(
            Notice::parse("deleted-range:10:2000"),
            Notice::DeletedRange(10, 2000)
        );
        assert_eq!(
            Notice::parse("deleted-range:5:5"),
            Notice::DeletedRange(5, 5)
        );
        for bad in [
            "reload",
            "deleted:",
            "deleted:1,,2",
            "deleted:1;2",
            "deleted-range:9:5",
            "deleted-range:1:2:3",
            "deleted-range:1",
            "deleted-range:a:b",
            "ids:",
            "Deleted:1",
        ] {
            assert_eq!(Notice::parse(bad), Notice::Reload, "{bad}");
        }
    }
}
