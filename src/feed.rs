//! The change feed: one LISTEN connection per server process, one notice format
//! (`store::changes::Notice`), typed changes dispatched to every registered sink.
//!
//! Sinks are the views derived from PostGIS: the assignment index, the tile model, the event
//! view, and whatever comes later (the live stream). The feed fetches what a change needs once
//! and hands the same rows to every sink:
//!
//! - on (re)connection, before any notice is read: every area (`AreasLoaded`) and a request to
//!   read every event again (`EventsReload` — the event view streams a million rows straight
//!   into columns, so it reads them itself rather than through a shared copy);
//! - a burst of area notices: the change-log rows and the current rows of the changed codes
//!   (`AreasChanged`), or all areas again when too many changed or after a TRUNCATE;
//! - a burst of event notices: the current rows of the inserted or updated events and which
//!   deleted ids the table no longer holds (`EventsChanged`).
//!
//! Listening starts before the first load, so nothing written meanwhile is missed. If a sink
//! fails or the connection drops, the feed reconnects and every sink is loaded again: a missed
//! notification can delay a change, never lose it.

use crate::events::analytics::view::EventRow;
use crate::store::areas::AreaShape;
use crate::store::assets::AssetRow;
use crate::store::changes::{AreaChange, ChangeListener, Notice, Received, Topic};
use crate::store::vessels::VesselRow;
use crate::store::{Store, StoreError, event_view};
use futures_util::future::{BoxFuture, join_all};
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Above this many changed areas in one burst, every sink rebuilds from all areas.
const AREA_PATCH_LIMIT: usize = 20_000;
/// Above this many event ids named in one burst, the event sinks reload everything.
const EVENT_RELOAD_ABOVE: i64 = 200_000;
/// Notices arriving within this much of each other are applied together.
const COALESCE: Duration = Duration::from_millis(5);
/// At most this many notices in one burst.
const MAX_BURST: usize = 1000;

/// Some areas changed.
#[derive(Debug)]
pub struct AreaDelta {
    /// The change-log rows, with each area's box before and after.
    pub log: Vec<AreaChange>,
    /// The changed codes, sorted and unique.
    pub codes: Vec<String>,
    /// The current rows of those codes; a code without a row was deleted.
    pub rows: Vec<AreaShape>,
}

/// Some events changed.
#[derive(Debug, Default)]
pub struct EventDelta {
    /// The current rows of the events inserted or updated.
    pub rows: Vec<EventRow>,
    /// Ids named as deleted that the table no longer holds.
    pub deleted: Vec<i64>,
    /// Ranges named as deleted, with the ids in each that the table still holds: every other
    /// id a sink holds in the range is gone.
    pub deleted_ranges: Vec<DeletedRange>,
}

#[derive(Debug)]
pub struct DeletedRange {
    pub lo: i64,
    pub hi: i64,
    /// Sorted.
    pub survivors: Vec<i64>,
}

impl EventDelta {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.deleted.is_empty() && self.deleted_ranges.is_empty()
    }
}

/// What a sink is told.
#[derive(Debug, Clone)]
pub enum Change {
    /// Every area, sorted by level and code.
    AreasLoaded(Arc<Vec<AreaShape>>),
    AreasChanged(Arc<AreaDelta>),
    /// Read every event again.
    EventsReload,
    EventsChanged(Arc<EventDelta>),
    /// Every asset in service or out (retired ones excluded), by id.
    AssetsLoaded(Arc<Vec<AssetRow>>),
    /// Some assets changed: their current rows (retired ones included), and the ids named that
    /// the table no longer holds.
    AssetsChanged(Arc<AssetDelta>),
    /// Read the vessel registry, harbours, closures and zones again.
    VesselsReload,
    /// Some registry rows changed: the rows as they are now, and the MMSIs no longer there.
    VesselsChanged(Arc<VesselDelta>),
}

/// Some registry rows changed.
#[derive(Debug)]
pub struct VesselDelta {
    pub rows: Vec<VesselRow>,
    pub deleted: Vec<i32>,
}

/// Some assets changed.
#[derive(Debug)]
pub struct AssetDelta {
    pub rows: Vec<AssetRow>,
    pub deleted: Vec<i64>,
}

/// Why a sink could not apply a change (the feed then reloads everything).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

impl From<StoreError> for SinkError {
    fn from(e: StoreError) -> SinkError {
        SinkError(e.to_string())
    }
}

/// A view that follows the database. `apply` is called with every change, in order; a sink
/// ignores the kinds it does not derive from.
pub trait ChangeSink: Send + Sync {
    fn name(&self) -> &'static str;
    fn apply<'a>(&'a self, change: &'a Change) -> BoxFuture<'a, Result<(), SinkError>>;
}

/// The feed of one server process.
pub struct ChangeFeed {
    store: Store,
    sinks: Vec<Arc<dyn ChangeSink>>,
    followers: Vec<Arc<dyn ChangeSink>>,
}

impl ChangeFeed {
    pub fn new(store: Store, sinks: Vec<Arc<dyn ChangeSink>>) -> ChangeFeed {
        ChangeFeed {
            store,
            sinks,
            followers: Vec::new(),
        }
    }

    /// Adds sinks that are told of each change only after every other sink has applied it
    /// (the live stream: what it announces is already in the views).
    pub fn with_followers(mut self, followers: Vec<Arc<dyn ChangeSink>>) -> ChangeFeed {
        self.followers = followers;
        self
    }

    /// Runs forever: listen, load every sink, apply bursts of notices; after any failure,
    /// reconnect and load again.
    pub async fn run(self) {
        loop {
            let mut listener = match self.store.listen_changes().await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for changes; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(e) = self.load_all().await {
                tracing::warn!(error = %e, "loading the derived views failed; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            if let Err(e) = self.follow(&mut listener).await {
                tracing::warn!(error = %e, "applying changes failed; reconnecting to reload");
            }
        }
    }

    /// Loads every sink from scratch: the areas once for all, the events by each sink.
    async fn load_all(&self) -> Result<(), SinkError> {
        let areas = async {
            let change = self.all_areas().await?;
            self.dispatch(&change).await
        };
        let events = self.dispatch(&Change::EventsReload);
        let (a, e) = tokio::join!(areas, events);
        a.and(e)?;
        // Assets after the areas: what is derived from them (coverage) needs both.
        let assets = self.store.assets().await?;
        self.dispatch(&Change::AssetsLoaded(Arc::new(assets)))
            .await?;
        self.dispatch(&Change::VesselsReload).await
    }

    async fn all_areas(&self) -> Result<Change, SinkError> {
        let started = Instant::now();
        let rows = self.store.area_shapes().await?;
        tracing::info!(
            areas = rows.len(),
            ms = started.elapsed().as_millis() as u64,
            "areas read for the derived views"
        );
        Ok(Change::AreasLoaded(Arc::new(rows)))
    }

    /// Applies notices until the connection is lost (`Ok`) or a sink fails (`Err`).
    async fn follow(&self, listener: &mut ChangeListener) -> Result<(), SinkError> {
        loop {
            let first = match listener.next().await {
                Received::Notice(n) => n,
                Received::Quiet => continue,
                Received::Lost => {
                    tracing::warn!("lost the change listener's connection; reconnecting");
                    return Ok(());
                }
            };
            let mut burst = vec![first];
            let mut lost = false;
            while burst.len() < MAX_BURST {
                match listener.next_within(COALESCE).await {
                    Received::Notice(n) => burst.push(n),
                    Received::Quiet => break,
                    Received::Lost => {
                        lost = true;
                        break;
                    }
                }
            }
            if burst.contains(&Notice::ReloadAll) {
                self.load_all().await?;
            } else {
                if let Some(change) = self.area_change(&burst).await? {
                    self.dispatch(&change).await?;
                }
                if let Some(change) = self.event_change(&burst).await? {
                    self.dispatch(&change).await?;
                }
                if let Some(change) = self.asset_change(&burst).await? {
                    self.dispatch(&change).await?;
                }
                if let Some(change) = self.vessel_change(&burst).await? {
                    self.dispatch(&change).await?;
                }
            }
            if lost {
                tracing::warn!("lost the change listener's connection; reconnecting");
                return Ok(());
            }
        }
    }

    /// Tells every sink, all at once, then every follower; the first error wins.
    async fn dispatch(&self, change: &Change) -> Result<(), SinkError> {
        for group in [&self.sinks, &self.followers] {
            let results = join_all(group.iter().map(|s| async move {
                s.apply(change)
                    .await
                    .map_err(|e| SinkError(format!("{}: {e}", s.name())))
            }))
            .await;
            results.into_iter().collect::<Result<(), SinkError>>()?;
        }
        Ok(())
    }

    /// What the area notices of a burst amount to.
    async fn area_change(&self, burst: &[Notice]) -> Result<Option<Change>, SinkError> {
        if burst.contains(&Notice::Reload(Topic::Area)) {
            return self.all_areas().await.map(Some);
        }
        let spans = burst.iter().filter_map(|n| match n {
            Notice::AreaLog(lo, hi) => Some((*lo, *hi)),
            _ => None,
        });
        let Some((lo, hi)) = spans.reduce(|a, b| (a.0.min(b.0), a.1.max(b.1))) else {
            return Ok(None);
        };
        let log = self.store.area_changes(lo, hi).await?;
        if log.is_empty() {
            return Ok(None);
        }
        if log.len() > AREA_PATCH_LIMIT {
            return self.all_areas().await.map(Some);
        }
        let codes: Vec<String> = log
            .iter()
            .map(|c| c.code.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let rows = self.store.area_shapes_by_code(&codes).await?;
        Ok(Some(Change::AreasChanged(Arc::new(AreaDelta {
            log,
            codes,
            rows,
        }))))
    }

    /// What the asset notices of a burst amount to.
    async fn asset_change(&self, burst: &[Notice]) -> Result<Option<Change>, SinkError> {
        if burst.contains(&Notice::Reload(Topic::Asset)) {
            let rows = self.store.assets().await?;
            return Ok(Some(Change::AssetsLoaded(Arc::new(rows))));
        }
        let mut ids: Vec<i64> = burst
            .iter()
            .filter_map(|n| match n {
                Notice::AssetIds(v) => Some(v.iter().copied()),
                _ => None,
            })
            .flatten()
            .collect();
        if ids.is_empty() {
            return Ok(None);
        }
        ids.sort_unstable();
        ids.dedup();
        let rows = self.store.assets_by_id(&ids).await?;
        let read: HashSet<i64> = rows.iter().map(|r| r.id).collect();
        let deleted = ids.into_iter().filter(|id| !read.contains(id)).collect();
        Ok(Some(Change::AssetsChanged(Arc::new(AssetDelta {
            rows,
            deleted,
        }))))
    }

    /// What the vessel notices of a burst amount to.
    async fn vessel_change(&self, burst: &[Notice]) -> Result<Option<Change>, SinkError> {
        if burst.contains(&Notice::Reload(Topic::Vessel)) {
            return Ok(Some(Change::VesselsReload));
        }
        let mut ids: Vec<i32> = burst
            .iter()
            .filter_map(|n| match n {
                Notice::VesselIds(v) => Some(v.iter().map(|m| *m as i32)),
                _ => None,
            })
            .flatten()
            .collect();
        if ids.is_empty() {
            return Ok(None);
        }
        ids.sort_unstable();
        ids.dedup();
        let rows = self.store.vessels_by_mmsi(&ids).await?;
        let read: HashSet<i32> = rows.iter().map(|r| r.mmsi).collect();
        let deleted = ids.into_iter().filter(|m| !read.contains(m)).collect();
        Ok(Some(Change::VesselsChanged(Arc::new(VesselDelta {
            rows,
            deleted,
        }))))
    }

    /// What the event notices of a burst amount to, read from the table as it is now (so the
    /// order of notices within a burst does not matter: a row read back stays, and a later
    /// change sends its own notice).
    async fn event_change(&self, burst: &[Notice]) -> Result<Option<Change>, SinkError> {
        let mut ids = Vec::new();
        let mut ranges = Vec::new();
        let mut deleted = Vec::new();
        let mut deleted_ranges = Vec::new();
        let mut span = 0i64;
        for n in burst {
            match n {
                Notice::Reload(Topic::Event) => return Ok(Some(Change::EventsReload)),
                Notice::EventIds(v) => {
                    span += v.len() as i64;
                    ids.extend_from_slice(v);
                }
                Notice::EventRange(lo, hi) => {
                    span += hi - lo + 1;
                    ranges.push((*lo, *hi));
                }
                Notice::EventsDeleted(v) => {
                    span += v.len() as i64;
                    deleted.extend_from_slice(v);
                }
                Notice::EventsDeletedRange(lo, hi) => {
                    span += hi - lo + 1;
                    deleted_ranges.push((*lo, *hi));
                }
                _ => {}
            }
        }
        if span > EVENT_RELOAD_ABOVE {
            return Ok(Some(Change::EventsReload));
        }
        let mut delta = EventDelta::default();
        if !ids.is_empty() {
            ids.sort_unstable();
            ids.dedup();
            delta
                .rows
                .extend(event_view::events_by_id(&self.store, &ids).await?);
        }
        for (lo, hi) in ranges {
            delta
                .rows
                .extend(event_view::events_in_range(&self.store, lo, hi).await?);
        }
        let read: HashSet<i64> = delta.rows.iter().map(|r| r.id).collect();
        deleted.sort_unstable();
        deleted.dedup();
        deleted.retain(|id| !read.contains(id));
        if !deleted.is_empty() {
            let still: HashSet<i64> = event_view::existing_ids(&self.store, &deleted)
                .await?
                .into_iter()
                .collect();
            deleted.retain(|id| !still.contains(id));
        }
        delta.deleted = deleted;
        for (lo, hi) in deleted_ranges {
            let mut survivors = event_view::ids_in_range(&self.store, lo, hi).await?;
            survivors.extend(read.iter().filter(|id| (lo..=hi).contains(*id)));
            survivors.sort_unstable();
            survivors.dedup();
            delta
                .deleted_ranges
                .push(DeletedRange { lo, hi, survivors });
        }
        Ok((!delta.is_empty()).then(|| Change::EventsChanged(Arc::new(delta))))
    }
}
