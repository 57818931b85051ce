//! The change feed's database side: one channel, one payload grammar, one parser
//! (migrations/0005_change_feed.sql), the listener, and the reads a change needs (the area
//! change log). What is done with a change is `crate::feed`'s business.

use super::{Op, Store, StoreError};
use crate::model::Level;
use sqlx::Row;
use sqlx::postgres::PgListener;
use std::time::Duration;

/// The one channel every trigger notifies on.
pub const CHANNEL: &str = "onemap_changes";

/// Which table a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    Area,
    Event,
    Asset,
    /// The vessel registry, harbours, closures and zones (small: always reloaded whole).
    Vessel,
}

/// What one notification says.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// `area:range:lo:hi`: apply the `area_change` log rows with ids in `lo..=hi`.
    AreaLog(i64, i64),
    /// `event:ids:1,2,3`: these events were inserted or updated.
    EventIds(Vec<i64>),
    /// `event:range:lo:hi`: events with ids in `lo..=hi` were inserted or updated (not
    /// necessarily every id in it).
    EventRange(i64, i64),
    /// `event:deleted:1,2,3`: these events were deleted.
    EventsDeleted(Vec<i64>),
    /// `event:deleted-range:lo:hi`: events with ids in `lo..=hi` were deleted; the range may
    /// have gaps (ids still in the table), so only ids the table no longer holds are gone.
    EventsDeletedRange(i64, i64),
    /// `asset:ids:1,2,3`: these assets were inserted, updated or deleted.
    AssetIds(Vec<i64>),
    /// `vessel:ids:412000001,…`: these registry rows were inserted, updated or deleted.
    VesselIds(Vec<i64>),
    /// `<topic>:reload` (a TRUNCATE), or an unreadable payload of that topic: reload it all.
    Reload(Topic),
    /// A payload naming no known topic: reload everything, to be safe.
    ReloadAll,
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
        if let Some(rest) = payload.strip_prefix("area:") {
            return rest
                .strip_prefix("range:")
                .and_then(range)
                .map(|(lo, hi)| Notice::AreaLog(lo, hi))
                .unwrap_or(Notice::Reload(Topic::Area));
        }
        if let Some(rest) = payload.strip_prefix("event:") {
            let parsed = if let Some(list) = rest.strip_prefix("ids:") {
                ids(list).map(Notice::EventIds)
            } else if let Some(r) = rest.strip_prefix("range:") {
                range(r).map(|(lo, hi)| Notice::EventRange(lo, hi))
            } else if let Some(list) = rest.strip_prefix("deleted:") {
                ids(list).map(Notice::EventsDeleted)
            } else if let Some(r) = rest.strip_prefix("deleted-range:") {
                range(r).map(|(lo, hi)| Notice::EventsDeletedRange(lo, hi))
            } else {
                None
            };
            return parsed.unwrap_or(Notice::Reload(Topic::Event));
        }
        if let Some(rest) = payload.strip_prefix("asset:") {
            return rest
                .strip_prefix("ids:")
                .and_then(ids)
                .map(Notice::AssetIds)
                .unwrap_or(Notice::Reload(Topic::Asset));
        }
        if let Some(rest) = payload.strip_prefix("vessel:") {
            return rest
                .strip_prefix("ids:")
                .and_then(ids)
                .map(Notice::VesselIds)
                .unwrap_or(Notice::Reload(Topic::Vessel));
        }
        Notice::ReloadAll
    }

    /// The topic, `None` for `ReloadAll`.
    pub fn topic(&self) -> Option<Topic> {
        match self {
            Notice::AreaLog(..) => Some(Topic::Area),
            Notice::AssetIds(_) => Some(Topic::Asset),
            Notice::VesselIds(_) => Some(Topic::Vessel),
            Notice::Reload(t) => Some(*t),
            Notice::ReloadAll => None,
            _ => Some(Topic::Event),
        }
    }
}

/// The one listening connection of a server process.
pub struct ChangeListener {
    inner: PgListener,
}

/// What waiting on the listener gave.
pub enum Received {
    Notice(Notice),
    /// Nothing within the time asked for.
    Quiet,
    /// The connection is gone: reconnect, and reload since notices may have been missed.
    Lost,
}

impl ChangeListener {
    /// The next notice; `Lost` when the connection dropped or failed.
    pub async fn next(&mut self) -> Received {
        match self.inner.try_recv().await {
            Ok(Some(n)) => Received::Notice(Notice::parse(n.payload())),
            Ok(None) => Received::Lost,
            Err(e) => {
                tracing::warn!(error = %e, "the change listener failed");
                Received::Lost
            }
        }
    }

    /// The next notice if one arrives within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Received {
        match tokio::time::timeout(wait, self.next()).await {
            Ok(r) => r,
            Err(_) => Received::Quiet,
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
    pub async fn listen_changes(&self) -> Result<ChangeListener, StoreError> {
        let mut inner = PgListener::connect_with(&self.pool)
            .await
            .op("connecting the change listener")?;
        inner.listen(CHANNEL).await.op("listening for changes")?;
        Ok(ChangeListener { inner })
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
    fn area_payloads() {
        assert_eq!(Notice::parse("area:range:3:9"), Notice::AreaLog(3, 9));
        assert_eq!(Notice::parse("area:reload"), Notice::Reload(Topic::Area));
        assert_eq!(Notice::parse("area:range:9:3"), Notice::Reload(Topic::Area));
        assert_eq!(Notice::parse(""), Notice::ReloadAll);
        assert_eq!(Notice::parse("3:9"), Notice::ReloadAll);
    }

    #[test]
    fn event_payloads() {
        assert_eq!(
            Notice::parse("event:ids:1,2,3"),
            Notice::EventIds(vec![1, 2, 3])
        );
        assert_eq!(Notice::parse("event:range:5:9"), Notice::EventRange(5, 9));
        assert_eq!(
            Notice::parse("event:deleted:7"),
            Notice::EventsDeleted(vec![7])
        );
        assert_eq!(
            Notice::parse("event:deleted:1,20,300"),
            Notice::EventsDeleted(vec![1, 20, 300])
        );
        assert_eq!(
            Notice::parse("event:deleted-range:10:2000"),
            Notice::EventsDeletedRange(10, 2000)
        );
        assert_eq!(
            Notice::parse("event:deleted-range:5:5"),
            Notice::EventsDeletedRange(5, 5)
        );
        for bad in [
            "event:reload",
            "event:range:9:5",
            "event:ids:1,x",
            "event:what",
            "event:deleted:",
            "event:deleted:1,,2",
            "event:deleted:1;2",
            "event:deleted-range:9:5",
            "event:deleted-range:1:2:3",
            "event:deleted-range:1",
            "event:deleted-range:a:b",
            "event:ids:",
            "event:Deleted:1",
        ] {
            assert_eq!(Notice::parse(bad), Notice::Reload(Topic::Event), "{bad}");
        }
        assert_eq!(Notice::parse("ids:1,2"), Notice::ReloadAll);
    }

    #[test]
    fn asset_payloads() {
        assert_eq!(Notice::parse("asset:ids:4,5"), Notice::AssetIds(vec![4, 5]));
        for bad in [
            "asset:reload",
            "asset:ids:",
            "asset:ids:x",
            "asset:range:1:2",
        ] {
            assert_eq!(Notice::parse(bad), Notice::Reload(Topic::Asset), "{bad}");
        }
    }
}
