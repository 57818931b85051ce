//! Events: analytics — the in-memory event view and what is computed from it.
//!
//! Owns: `EventAnalytics` (held in `AppState::analytics`): the current `ViewSnapshot` behind an
//! `ArcSwap`, the area names used in answers, and the event tile cache; the loop that keeps
//! the view in step with the `event` table (`run`); and the routes
//! `/tiles/events[/{z}/{x}/{y}]` (statistics and hotspots are answered by `api::stats`).
//!
//! Data flow: at start every event is streamed into columns (`store::load_all`) and a
//! snapshot built off the runtime. The loop LISTENs on `onemap_event_changed` *before* that
//! load, so nothing written meanwhile is missed; each notification (`ids:…` or `range:lo:hi`
//! for inserts and updates, `deleted:…` or `deleted-range:lo:hi` for deletes, `reload` for
//! TRUNCATE) re-reads those rows or checks which deleted ids are gone, and swaps in a changed
//! snapshot (milliseconds), so every server process reflects a change well within a second.
//! A lost connection means a full reload.
//! Readers take one snapshot per request and never hold a lock.

pub mod filter;
pub mod hotspots;
pub mod stats;
pub mod store;
pub mod tiles;
pub mod view;

use crate::api::AppState;
use crate::index::sync::{AreaSink, AreaUpdate};
use crate::store::{Store, StoreError};
use crate::tiles::cache::Encoded;
use arc_swap::ArcSwap;
use axum::Router;
use axum::routing::get;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use store::{AreaName, Notice};
use view::ViewSnapshot;

/// Above this many ids in one batch of notifications, a full reload is cheaper.
const RELOAD_ABOVE: i64 = 200_000;

/// The analytics state shared by all handlers.
pub struct EventAnalytics {
    store: Store,
    view: ArcSwap<ViewSnapshot>,
    names: Arc<ArcSwap<HashMap<String, AreaName>>>,
    loaded: AtomicBool,
    tile_cache: moka::sync::Cache<tiles::TileKey, Arc<Encoded>>,
}

/// The view has not been loaded yet (answered 503: retry shortly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("事件数据正在加载，请稍后重试 (the event view is still loading; retry shortly)")]
pub struct NotReady;

pub(crate) fn not_ready() -> NotReady {
    NotReady
}

/// The view in force, once it has been loaded.
pub fn ready(a: &EventAnalytics) -> Result<Arc<ViewSnapshot>, NotReady> {
    if a.is_loaded() {
        Ok(a.snapshot())
    } else {
        Err(NotReady)
    }
}

impl EventAnalytics {
    /// An empty view over `store`, with a tile cache of at most `cache_bytes`.
    pub fn new(store: Store, cache_bytes: u64) -> EventAnalytics {
        EventAnalytics {
            store,
            view: ArcSwap::from_pointee(ViewSnapshot::default()),
            names: Arc::new(ArcSwap::from_pointee(HashMap::new())),
            loaded: AtomicBool::new(false),
            tile_cache: tiles::new_cache(cache_bytes),
        }
    }

    /// True once the view has been loaded from the database.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// The view in force now.
    pub fn snapshot(&self) -> Arc<ViewSnapshot> {
        self.view.load_full()
    }

    /// Area names (code → name, level).
    pub fn names(&self) -> Arc<HashMap<String, AreaName>> {
        self.names.load_full()
    }

    /// Size and timing figures of the view.
    pub fn stats(&self) -> view::ViewStats {
        self.view.load().stats.clone()
    }

    /// Reads the area names again.
    pub async fn reload_names(&self) -> Result<(), StoreError> {
        let names = store::area_names(&self.store).await?;
        self.names.store(Arc::new(names));
        Ok(())
    }

    /// Loads every event and puts a fresh view in force.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let started = Instant::now();
        self.reload_names().await?;
        let (cols, codes) = store::load_all(&self.store).await?;
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

    /// Applies a batch of notifications: re-reads the rows named as inserted or updated,
    /// drops the events named as deleted that the table no longer holds, and swaps in one
    /// new snapshot (one generation, so no cached tile from before the batch is served).
    ///
    /// Every answer comes from the table as it is now, so the order of the notices in a batch
    /// does not matter: a row read back stays (an id deleted and inserted again is kept), and
    /// a later change sends its own notice.
    pub async fn apply(&self, notices: &[Notice]) -> Result<(), StoreError> {
        let mut ids = Vec::new();
        let mut ranges = Vec::new();
        let mut deleted = Vec::new();
        let mut deleted_ranges = Vec::new();
        let mut span = 0i64;
        for n in notices {
            match n {
                Notice::Reload => return self.reload().await,
                Notice::Ids(v) => {
                    span += v.len() as i64;
                    ids.extend_from_slice(v);
                }
                Notice::Range(lo, hi) => {
                    span += hi - lo + 1;
                    ranges.push((*lo, *hi));
                }
                Notice::Deleted(v) => {
                    span += v.len() as i64;
                    deleted.extend_from_slice(v);
                }
                Notice::DeletedRange(lo, hi) => {
                    span += hi - lo + 1;
                    deleted_ranges.push((*lo, *hi));
                }
            }
        }
        if span > RELOAD_ABOVE {
            return self.reload().await;
        }
        let started = Instant::now();
        let mut rows = Vec::new();
        if !ids.is_empty() {
            ids.sort_unstable();
            ids.dedup();
            rows.extend(store::events_by_id(&self.store, &ids).await?);
        }
        for (lo, hi) in ranges {
            rows.extend(store::events_in_range(&self.store, lo, hi).await?);
        }
        let current = self.snapshot();
        let gone = self.gone(&current, deleted, &deleted_ranges, &rows).await?;
        if rows.is_empty() && gone.is_empty() {
            return Ok(());
        }
        let (n, removed) = (rows.len(), gone.len());
        let next = tokio::task::spawn_blocking(move || current.changed(&rows, &gone))
            .await
            .map_err(|e| StoreError::Geometry(format!("updating the event view panicked: {e}")))?;
        tracing::debug!(
            rows = n,
            removed,
            ms = started.elapsed().as_secs_f64() * 1000.0,
            delta = next.stats.delta_rows,
            "event view updated"
        );
        self.view.store(Arc::new(next));
        Ok(())
    }

    /// The events named as deleted (listed, or held by `view` within a deleted range) that
    /// the table no longer holds and that were not just read back in `rows`.
    async fn gone(
        &self,
        view: &ViewSnapshot,
        mut named: Vec<i64>,
        ranges: &[(i64, i64)],
        rows: &[view::EventRow],
    ) -> Result<Vec<i64>, StoreError> {
        for &(lo, hi) in ranges {
            named.extend(view.ids_in(lo, hi));
        }
        if named.is_empty() {
            return Ok(named);
        }
        named.sort_unstable();
        named.dedup();
        let read: HashSet<i64> = rows.iter().map(|r| r.id).collect();
        named.retain(|id| !read.contains(id));
        if named.is_empty() {
            return Ok(named);
        }
        let still: HashSet<i64> = store::existing_ids(&self.store, &named)
            .await?
            .into_iter()
            .collect();
        named.retain(|id| !still.contains(id));
        Ok(named)
    }
}

/// Runs forever: listen, (re)load, apply notifications; reconnect and reload after failures.
pub async fn run(analytics: Arc<EventAnalytics>) {
    loop {
        let mut listener = match store::listen(&analytics.store).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for event changes; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = analytics.reload().await {
            tracing::warn!(error = %e, "loading the event view failed; retrying in 1 s");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        loop {
            let first = match listener.try_recv().await {
                Ok(Some(n)) => Notice::parse(n.payload()),
                Ok(None) => {
                    tracing::warn!("lost the event listener's connection; reconnecting");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "event listener failed; reconnecting");
                    break;
                }
            };
            // Coalesce a burst into one update.
            let mut notices = vec![first];
            while let Ok(Ok(Some(n))) =
                tokio::time::timeout(Duration::from_millis(5), listener.try_recv()).await
            {
                notices.push(Notice::parse(n.payload()));
                if notices.len() >= 1000 {
                    break;
                }
            }
            if let Err(e) = analytics.apply(&notices).await {
                tracing::warn!(error = %e, "applying event changes failed; reconnecting to reload");
                break;
            }
        }
    }
}

impl AreaSink for EventAnalytics {
    /// Area names appear in answers: re-read them after any area change. (Events keep the
    /// chain frozen at report time, so nothing else changes.)
    fn area_update(&self, _update: &AreaUpdate) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = self.store.clone();
        let names = self.names.clone();
        handle.spawn(async move {
            match store::area_names(&store).await {
                Ok(n) => names.store(Arc::new(n)),
                Err(e) => tracing::warn!(error = %e, "re-reading area names failed"),
            }
        });
    }
}

/// Routes under /tiles/events (statistics and hotspots are routed in `api`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tiles/events", get(tiles::tilejson))
        .route("/tiles/events.json", get(tiles::tilejson))
        .route("/tiles/events/{z}/{x}/{y}", get(tiles::tile))
}
