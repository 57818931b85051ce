//! Events: analytics — the in-memory event view and what is computed from it.
//!
//! Owns: `EventAnalytics` (held in `AppState::analytics`): the current `ViewSnapshot` behind an
//! `ArcSwap` and the area names used in answers, kept in step as a sink of the change feed;
//! the event heat tile source (`tiles::EventTiles`); statistics (`stats`) and hotspots
//! (`hotspots`) computed from the view. Their HTTP is `api::stats` and `api::tiles`.
//!
//! Data flow: `EventAnalytics` is a sink of the change feed (`crate::feed`). On
//! `EventsReload` (start, lost connection, TRUNCATE, a huge burst) every event is streamed into
//! columns (`store::event_view::load_all`) and a snapshot built off the runtime; each
//! `EventsChanged` carries the current rows of the changed events and the deleted ids, and a
//! changed snapshot is swapped in (milliseconds), so every server process reflects a change
//! well within a second. Area names used in answers come from the feed's area rows.
//! Readers take one snapshot per request and never hold a lock.

pub mod filter;
pub mod hotspots;
pub mod kpi;
pub mod stats;
pub mod tiles;
pub mod view;

use crate::feed::{Change, ChangeSink, EventDelta, SinkError};
use crate::model::Level;
use crate::store::areas::AreaShape;
use crate::store::{Store, StoreError, event_view};
use arc_swap::ArcSwap;
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use view::ViewSnapshot;

/// Name and level of an area, as answers show them.
#[derive(Debug, Clone)]
pub struct AreaName {
    pub name: Arc<str>,
    pub level: Level,
}

/// Area names by code; codes and names are the `AreaShape` rows' own allocations, shared with
/// the assignment index and the tile model.
pub type AreaNames = HashMap<Arc<str>, AreaName>;

/// The analytics state shared by all handlers.
pub struct EventAnalytics {
    store: Store,
    view: ArcSwap<ViewSnapshot>,
    names: Arc<ArcSwap<AreaNames>>,
    loaded: AtomicBool,
    names_loaded: AtomicBool,
}

/// The view has not been loaded yet (answered 503: retry shortly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("事件数据正在加载，请稍后重试 (the event view is still loading; retry shortly)")]
pub struct NotReady;

/// The view in force, once it has been loaded.
pub fn ready(a: &EventAnalytics) -> Result<Arc<ViewSnapshot>, NotReady> {
    if a.is_loaded() {
        Ok(a.snapshot())
    } else {
        Err(NotReady)
    }
}

impl EventAnalytics {
    /// An empty view over `store`.
    pub fn new(store: Store) -> EventAnalytics {
        EventAnalytics {
            store,
            view: ArcSwap::from_pointee(ViewSnapshot::default()),
            names: Arc::new(ArcSwap::from_pointee(HashMap::new())),
            loaded: AtomicBool::new(false),
            names_loaded: AtomicBool::new(false),
        }
    }

    /// True once the view and the area names have been loaded from the database.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire) && self.names_loaded.load(Ordering::Acquire)
    }

    /// The view in force now.
    pub fn snapshot(&self) -> Arc<ViewSnapshot> {
        self.view.load_full()
    }

    /// Area names (code → name, level).
    pub fn names(&self) -> Arc<AreaNames> {
        self.names.load_full()
    }

    /// Estimated bytes of the area names (code → name, level).
    pub fn names_bytes(&self) -> usize {
        let names = self.names.load();
        // The strings are the rows' own (counted with the area catalog): the table only.
        let entry = std::mem::size_of::<(Arc<str>, AreaName)>() + 1;
        names.capacity() * 8 / 7 * entry
    }

    /// Size and timing figures of the view.
    pub fn stats(&self) -> view::ViewStats {
        self.view.load().stats.clone()
    }

    /// Takes the names of every area.
    fn load_names(&self, rows: &[AreaShape]) {
        let names = rows
            .iter()
            .map(|r| {
                let name = AreaName {
                    name: r.name.clone(),
                    level: r.level,
                };
                (r.code.clone(), name)
            })
            .collect();
        self.names.store(Arc::new(names));
        self.names_loaded.store(true, Ordering::Release);
    }

    /// Takes the names of changed areas (a code without a row was deleted). Events keep their
    /// chain frozen at report time, so nothing else changes.
    fn patch_names(&self, codes: &[String], rows: &[AreaShape]) {
        let mut names = HashMap::clone(&self.names.load());
        for code in codes {
            names.remove(code.as_str());
        }
        for r in rows {
            let name = AreaName {
                name: r.name.clone(),
                level: r.level,
            };
            names.insert(r.code.clone(), name);
        }
        self.names.store(Arc::new(names));
    }

    /// Loads every event and puts a fresh view in force.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let started = Instant::now();
        let (cols, codes) = event_view::load_all(&self.store).await?;
        let fetch_ms = started.elapsed().as_millis() as u64;
        let generation = self.view.load().stats.generation + 1;
        let snapshot = tokio::task::spawn_blocking(move || {
            let load_ms = started.elapsed().as_millis() as u64;
            let mut s = ViewSnapshot::build(cols, codes, load_ms, generation);
            s.stats.load_ms = started.elapsed().as_millis() as u64;
            s
        })
        .await
        .map_err(|e| StoreError::Geometry(format!("building the event view panicked: {e}")))?;
        tracing::info!(
            events = snapshot.stats.events,
            fetch_ms,
            load_ms = snapshot.stats.load_ms,
            memory_mb = snapshot.stats.memory_bytes / (1 << 20),
            "event view loaded"
        );
        self.view.store(Arc::new(snapshot));
        self.loaded.store(true, Ordering::Release);
        Ok(())
    }

    /// Applies a change of the event table: the rows read back replace or add events, and the
    /// ids the feed found gone leave the view, in one new snapshot (one generation, so no
    /// cached tile from before the change is served).
    pub async fn apply_delta(&self, delta: Arc<EventDelta>) -> Result<(), SinkError> {
        let started = Instant::now();
        let current = self.snapshot();
        let next = tokio::task::spawn_blocking(move || {
            let mut gone = delta.deleted.clone();
            for r in &delta.deleted_ranges {
                gone.extend(
                    current
                        .ids_in(r.lo, r.hi)
                        .into_iter()
                        .filter(|id| r.survivors.binary_search(id).is_err()),
                );
            }
            current.changed(&delta.rows, &gone)
        })
        .await
        .map_err(|e| SinkError(format!("updating the event view panicked: {e}")))?;
        tracing::debug!(
            ms = started.elapsed().as_secs_f64() * 1000.0,
            delta = next.stats.delta_rows,
            "event view updated"
        );
        self.view.store(Arc::new(next));
        Ok(())
    }
}

impl ChangeSink for EventAnalytics {
    fn name(&self) -> &'static str {
        "event view"
    }

    fn apply<'a>(&'a self, change: &'a Change) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            match change {
                Change::AreasLoaded(rows) => self.load_names(rows),
                Change::AreasChanged(delta) => self.patch_names(&delta.codes, &delta.rows),
                Change::EventsReload => self.reload().await?,
                Change::EventsChanged(delta) => self.apply_delta(delta.clone()).await?,
                Change::AssetsLoaded(_)
                | Change::AssetsChanged(_)
                | Change::VesselsReload
                | Change::VesselsChanged(_) => {}
            }
            Ok(())
        })
    }
}
