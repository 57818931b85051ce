//! The area change feed: `area_change` rows written by triggers, announced by NOTIFY.

use super::{Op, Store, StoreError};
use crate::model::Level;
use sqlx::Row;
use sqlx::postgres::PgListener;

/// The channel the triggers notify on.
pub const CHANNEL: &str = "onemap_area_changed";

/// What a notification asks listeners to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// Apply the change-log rows with ids in this range (inclusive).
    Range(i64, i64),
    /// Too much changed (TRUNCATE, bulk import): reload everything.
    Reload,
}

impl Notice {
    /// Parses a payload ("first:last" or "reload"); anything else means reload, to be safe.
    pub fn parse(payload: &str) -> Notice {
        let mut parts = payload.split(':');
        match (
            parts.next().map(str::parse::<i64>),
            parts.next().map(str::parse::<i64>),
        ) {
            (Some(Ok(lo)), Some(Ok(hi))) if lo <= hi => Notice::Range(lo, hi),
            _ => Notice::Reload,
        }
    }
}

/// One logged change of one area.
#[derive(Debug, Clone)]
pub struct AreaChange {
    pub id: i64,
    pub code: String,
    pub level: Level,
    pub op: char,
    pub old_bbox: Option<[f64; 4]>,
    pub new_bbox: Option<[f64; 4]>,
}

fn bbox(v: Option<Vec<f64>>) -> Option<[f64; 4]> {
    v.filter(|b| b.len() == 4).map(|b| [b[0], b[1], b[2], b[3]])
}

impl Store {
    /// A listener subscribed to the change channel.
    pub async fn listen_area_changes(&self) -> Result<PgListener, StoreError> {
        let mut listener = PgListener::connect_with(&self.pool)
            .await
            .op("connecting the listener")?;
        listener
            .listen(CHANNEL)
            .await
            .op("listening for area changes")?;
        Ok(listener)
    }

    /// Change-log rows with ids in `lo..=hi`.
    pub async fn area_changes(&self, lo: i64, hi: i64) -> Result<Vec<AreaChange>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, code, level, op, old_bbox, new_bbox FROM area_change
             WHERE id BETWEEN $1 AND $2 ORDER BY id",
        )
        .bind(lo)
        .bind(hi)
        .fetch_all(&self.pool)
        .await
        .op("reading the area change log")?;
        rows.iter()
            .map(|r| {
                let rank: i16 = r.try_get("level").op("reading the area change log")?;
                let op: String = r.try_get("op").op("reading the area change log")?;
                Ok(AreaChange {
                    id: r.try_get("id").op("reading the area change log")?,
                    code: r.try_get("code").op("reading the area change log")?,
                    level: Level::from_rank(rank).unwrap_or(Level::Unit),
                    op: op.chars().next().unwrap_or('U'),
                    old_bbox: bbox(r.try_get("old_bbox").op("reading the area change log")?),
                    new_bbox: bbox(r.try_get("new_bbox").op("reading the area change log")?),
                })
            })
            .collect()
    }

    /// Forgets change-log rows older than `hours`; listeners only ever read fresh ones.
    pub async fn prune_area_changes(&self, hours: i32) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "DELETE FROM area_change WHERE changed_at < now() - make_interval(hours => $1)",
        )
        .bind(hours)
        .execute(&self.pool)
        .await
        .op("pruning the area change log")?;
        Ok(r.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads() {
        assert_eq!(Notice::parse("3:9"), Notice::Range(3, 9));
        assert_eq!(Notice::parse("reload"), Notice::Reload);
        assert_eq!(Notice::parse("9:3"), Notice::Reload);
        assert_eq!(Notice::parse(""), Notice::Reload);
    }
}
