//! Loading demo events into PostgreSQL: assigned with the index, written as COPY rows in one
//! transaction (events, then their transition log; the SQL is `store::demo_events`).

use super::generate::DemoEvent;
use super::text;
use crate::events::model::{Category, Status};
use crate::index::Snapshot;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::fmt::Write;

/// Per-category settings from `event_category`: deadline hours (normal priority), repeat
/// radius (m) and window (h).
pub async fn category_settings(
    store: &Store,
) -> Result<HashMap<Category, (f64, f64, f64)>, StoreError> {
    Ok(store
        .category_settings()
        .await?
        .into_iter()
        .filter_map(|(c, d, r, w)| Some((Category::parse(&c)?, (d as f64, r as f64, w as f64))))
        .collect())
}

/// How many events the table holds.
pub async fn event_count(store: &Store) -> Result<i64, StoreError> {
    store.event_count().await
}

/// Why a load failed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("event ids were not taken in order ({0}); nothing was loaded")]
    IdsOutOfOrder(String),
}

/// What a load wrote.
#[derive(Debug, Clone, Copy)]
pub struct Loaded {
    pub events: u64,
    pub transitions: u64,
    pub unassigned: u64,
    pub first_id: i64,
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S+00").to_string()
}

/// Writes `events` (sorted by report time) with COPY. With `replace`, every existing event,
/// transition and idempotency record is deleted first, in the same transaction.
/// `progress(rows)` is called as rows are sent.
pub async fn load(
    store: &Store,
    snapshot: &Snapshot,
    events: &[DemoEvent],
    deadline_hours: &dyn Fn(Category) -> f64,
    replace: bool,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Loaded, LoadError> {
    // Ids are taken in COPY order with the table locked, so row i gets first_id + i (checked
    // below), which lets the rows refer to each other (duplicate_of) and the transitions
    // refer to their events.
    let mut load = store.begin_event_load(replace).await?;
    let first_id = load.first_id;
    let mut copy = load.copy_events().await?;
    let mut buf = String::with_capacity(1 << 21);
    let mut unassigned = 0u64;
    let code = |a: &Option<crate::model::AreaRef>| {
        a.as_ref()
            .map(|r| r.code.clone())
            .unwrap_or_else(|| "\\N".into())
    };
    for (i, e) in events.iter().enumerate() {
        let a = snapshot.assign(e.lon, e.lat, 50.0);
        let (sub, template) = text::subcategories(e.category)[e.sub as usize];
        let place = a
            .chain
            .village
            .as_ref()
            .or(a.nearest.as_ref().and_then(|n| n.chain.village.as_ref()))
            .map(|v| v.name.as_str())
            .unwrap_or("沿海");
        let description = template.replace("{}", place);
        let reporter = text::reporter(e.source, e.pick);
        let deadline = e.reported_at
            + chrono::Duration::seconds(
                (e.priority
                    .deadline_hours(deadline_hours(e.category).round() as u32)
                    * 3600.0) as i64,
            );
        let updated = e.steps.last().map(|s| s.1).unwrap_or(e.reported_at);
        if !a.assigned {
            unassigned += 1;
        }
        let (near_code, near_m) = match &a.nearest {
            Some(n) => (code(&n.chain.grid), format!("{}", n.distance_m)),
            None => ("\\N".into(), "\\N".into()),
        };
        let _ = writeln!(
            buf,
            "{}\t{}\t{}\t{}\t{}\t{}\tSRID=4326;POINT({:.7} {:.7})\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            e.category.code(),
            sub,
            e.source.code(),
            e.priority.code(),
            description,
            reporter,
            e.lon,
            e.lat,
            ts(e.reported_at),
            ts(e.reported_at + chrono::Duration::seconds(2)),
            if a.assigned { "t" } else { "f" },
            code(&a.chain.unit),
            code(&a.chain.grid),
            code(&a.chain.village),
            code(&a.chain.town),
            code(&a.chain.district),
            near_code,
            near_m,
            e.status().code(),
            ts(deadline),
            e.resolved_at().map(ts).unwrap_or_else(|| "\\N".into()),
            e.closed_at().map(ts).unwrap_or_else(|| "\\N".into()),
            e.duplicate_of
                .map(|o| (first_id + o as i64).to_string())
                .unwrap_or_else(|| "\\N".into()),
            e.repeat_count,
            ts(updated),
        );
        if buf.len() > (1 << 21) {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
            progress(i as u64 + 1);
        }
    }
    copy.send(buf.as_bytes()).await?;
    copy.finish().await?;
    buf.clear();

    let n = events.len() as i64;
    let (lo, hi, count) = load.copied_ids().await?;
    if n > 0 && (lo != Some(first_id) || hi != Some(first_id + n - 1) || count != n) {
        return Err(LoadError::IdsOutOfOrder(format!(
            "{lo:?}..{hi:?}, {count} rows for {n}"
        )));
    }

    let mut copy = load.copy_transitions().await?;
    let mut transitions = 0u64;
    for (i, e) in events.iter().enumerate() {
        let id = first_id + i as i64;
        let reporter = text::reporter(e.source, e.pick);
        let _ = writeln!(
            buf,
            "{id}\t\\N\treported\t{reporter}\t{}",
            ts(e.reported_at)
        );
        let mut from = Status::Reported;
        for &(to, at) in &e.steps {
            let _ = writeln!(
                buf,
                "{id}\t{}\t{}\t{}\t{}",
                from.code(),
                to.code(),
                text::actor(to),
                ts(at)
            );
            from = to;
        }
        transitions += 1 + e.steps.len() as u64;
        if buf.len() > (1 << 21) {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
            progress(events.len() as u64 + i as u64 + 1);
        }
    }
    copy.send(buf.as_bytes()).await?;
    copy.finish().await?;
    load.commit(store).await?;
    Ok(Loaded {
        events: events.len() as u64,
        transitions,
        unassigned,
        first_id,
    })
}
