//! Vector tiles of the area tree (issue: "Vector tiles of the whole city").
//!
//! Owns: tile math, per-zoom geometry, MVT encoding, the byte-bounded tile cache and its
//! invalidation from area changes. Exposes `TileService` (held in `AppState`, registered as an
//! `AreaSink` with the index sync loop) and `routes()` merged into the API router.
//!
//! Data flow: the first `AreaUpdate::Reloaded` from the sync loop makes a background worker
//! load every area from PostGIS and build the `Model` (off the async runtime); until then tile
//! requests get 503. Each later `Changed` re-reads the changed rows and patches the model; the
//! patch and the cache invalidation happen under the model's write lock, and a miss renders
//! and stores its tile under the read lock, so a tile rendered from old geometry can never be
//! stored after the invalidation that should have dropped it.

pub mod cache;
mod clip;
mod encode;
mod http;
pub(crate) use http::parse_tile_address;
pub mod layers;
mod model;
mod polylabel;
mod render;
pub mod tile_id;
mod topology;

use crate::api::AppState;
use crate::index::sync::{AreaSink, AreaUpdate};
use crate::store::{Store, StoreError};
use axum::Router;
use cache::{CacheStats, Coding, Encoded, Key, TileCache};
use layers::Layer;
use model::{BuildStats, Model};
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tile_id::{TileId, to_mercator};
use tokio::sync::mpsc;

pub use model::Model as TileModel;

/// Failures of the tile service.
#[derive(Debug, thiserror::Error)]
pub enum TileError {
    #[error("tile geometry is still loading")]
    NotReady,
    #[error("rendering tile {layer}/{tile} failed: {cause}")]
    Render {
        layer: Layer,
        tile: TileId,
        cause: String,
    },
}

/// Tiles with at most this many areas (all layers together) are rendered on the async thread;
/// larger ones on the blocking pool.
const INLINE_MAX_AREAS: usize = 32;

/// State shared with the update worker.
struct Shared {
    store: Store,
    model: RwLock<Model>,
    loaded: AtomicBool,
    cache: TileCache,
    patches: AtomicU64,
    last_update_ms: AtomicU64,
}

/// Tile serving state shared by all handlers.
pub struct TileService {
    shared: Arc<Shared>,
    updates: Mutex<Option<mpsc::UnboundedSender<AreaUpdate>>>,
}

/// What `/tiles/stats` shows.
#[derive(Debug, Clone, Serialize)]
pub struct TileStats {
    pub loaded: bool,
    pub model: BuildStats,
    pub patches: u64,
    /// How long the last load or patch took, from notification to fresh tiles.
    pub last_update_ms: u64,
    pub cache: CacheStats,
}

impl TileService {
    /// A service over `store` with a cache of at most `cache_bytes` (0 disables it). Nothing is
    /// loaded until the first `AreaUpdate` arrives (the sync loop sends `Reloaded` at start).
    pub fn new(store: Store, cache_bytes: usize) -> TileService {
        TileService {
            shared: Arc::new(Shared {
                store,
                model: RwLock::new(Model::empty()),
                loaded: AtomicBool::new(false),
                cache: TileCache::new(cache_bytes),
                patches: AtomicU64::new(0),
                last_update_ms: AtomicU64::new(0),
            }),
            updates: Mutex::new(None),
        }
    }

    /// True once the geometry has been loaded.
    pub fn is_loaded(&self) -> bool {
        self.shared.loaded.load(Ordering::Acquire)
    }

    pub fn stats(&self) -> TileStats {
        let s = &self.shared;
        TileStats {
            loaded: self.is_loaded(),
            model: s.read().stats.clone(),
            patches: s.patches.load(Ordering::Relaxed),
            last_update_ms: s.last_update_ms.load(Ordering::Relaxed),
            cache: s.cache.stats(),
        }
    }

    /// Extent of the data in degrees, once loaded.
    pub fn bounds_4326(&self) -> Option<[f64; 4]> {
        self.shared.read().bounds_4326
    }

    /// Loads everything now (what the worker does on `Reloaded`).
    pub async fn reload(&self) -> Result<(), StoreError> {
        self.shared.reload().await
    }

    /// The tile, from the cache or rendered off the async runtime, with `coding` ready.
    pub async fn tile(
        &self,
        layer: Layer,
        tile: TileId,
        coding: Coding,
    ) -> Result<Arc<Encoded>, TileError> {
        if !self.is_loaded() {
            return Err(TileError::NotReady);
        }
        let key = Key { layer, tile };
        if let Some(e) = self.shared.cache.get(&key)
            && (e.has(coding) || e.is_empty())
        {
            return Ok(e);
        }
        // A tile with a handful of areas renders in tens of microseconds, less than handing it
        // to the blocking pool costs: do it here. Never wait for the lock on this thread.
        if let Ok(model) = self.shared.model.try_read()
            && render::is_light(&model, layer, tile, INLINE_MAX_AREAS)
        {
            let encoded = self
                .shared
                .cache
                .get_or_render(key, || render::render(&model, layer, tile));
            drop(model);
            if !encoded.is_empty() {
                encoded.body(coding);
            }
            return Ok(encoded);
        }
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            let encoded = {
                // Held while the tile is stored: see the module docs.
                let model = shared.read();
                shared
                    .cache
                    .get_or_render(key, || render::render(&model, layer, tile))
            };
            if !encoded.is_empty() {
                encoded.body(coding);
            }
            encoded
        })
        .await
        .map_err(|e| TileError::Render {
            layer,
            tile,
            cause: e.to_string(),
        })
    }

    fn sender(&self) -> Option<mpsc::UnboundedSender<AreaUpdate>> {
        let mut guard = self.updates.lock().unwrap_or_else(|e| e.into_inner());
        if guard.as_ref().is_none_or(|tx| tx.is_closed()) {
            let handle = tokio::runtime::Handle::try_current().ok()?;
            let (tx, rx) = mpsc::unbounded_channel();
            handle.spawn(worker(self.shared.clone(), rx));
            *guard = Some(tx);
        }
        guard.clone()
    }
}

impl AreaSink for TileService {
    fn area_update(&self, update: &AreaUpdate) {
        match self.sender() {
            Some(tx) => {
                if tx.send(update.clone()).is_err() {
                    tracing::warn!("the tile update worker has stopped; tiles may be stale");
                }
            }
            None => tracing::warn!("no async runtime to load tiles on; ignoring an area update"),
        }
    }
}

impl Shared {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Model> {
        // A panic while patching leaves a model that is at worst partly patched; serving it
        // beats serving nothing, and the next reload replaces it.
        self.model.read().unwrap_or_else(|e| e.into_inner())
    }

    async fn reload(self: &Arc<Self>) -> Result<(), StoreError> {
        let started = Instant::now();
        let rows = self.store.tile_rows().await?;
        let fetch_ms = started.elapsed().as_millis() as u64;
        let shared = self.clone();
        let stats = tokio::task::spawn_blocking(move || {
            let model = Model::build(rows);
            let stats = model.stats.clone();
            let mut guard = shared.model.write().unwrap_or_else(|e| e.into_inner());
            *guard = model;
            shared.cache.clear();
            shared.loaded.store(true, Ordering::Release);
            stats
        })
        .await
        .map_err(|e| StoreError::Geometry(format!("building tile geometry panicked: {e}")))?;
        self.last_update_ms
            .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        tracing::info!(
            areas = stats.areas,
            vertices = stats.vertices,
            junctions = stats.junctions,
            fetch_ms,
            build_ms = stats.build_ms,
            "tile geometry loaded"
        );
        Ok(())
    }

    async fn apply(
        self: &Arc<Self>,
        changes: Vec<crate::store::changes::AreaChange>,
    ) -> Result<(), StoreError> {
        let started = Instant::now();
        let codes: Vec<String> = changes
            .iter()
            .map(|c| c.code.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let rows = self.store.tile_rows_by_code(&codes).await?;
        let shared = self.clone();
        let n = codes.len();
        let dropped = tokio::task::spawn_blocking(move || {
            let mut guard = shared.model.write().unwrap_or_else(|e| e.into_inner());
            let mut outcome = guard.patch(&codes, rows);
            if outcome.everything {
                shared.cache.clear();
                return u64::MAX;
            }
            // The logged boxes too: they are the truth even if this process never had the area.
            for c in &changes {
                for b in [c.old_bbox, c.new_bbox].into_iter().flatten() {
                    let (x0, y0) = to_mercator(b[0], b[1]);
                    let (x1, y1) = to_mercator(b[2], b[3]);
                    outcome.dirty.push((c.level, [x0, y0, x1, y1]));
                }
            }
            shared.cache.invalidate(&outcome.dirty)
        })
        .await
        .map_err(|e| StoreError::Geometry(format!("patching tile geometry panicked: {e}")))?;
        self.patches.fetch_add(1, Ordering::Relaxed);
        self.last_update_ms
            .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        tracing::info!(
            areas = n,
            tiles_dropped = dropped,
            ms = started.elapsed().as_millis() as u64,
            "tile geometry patched"
        );
        Ok(())
    }
}

/// Applies area updates in order; a burst is coalesced into one reload or one patch.
async fn worker(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<AreaUpdate>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(u) = rx.try_recv() {
            batch.push(u);
        }
        let mut reload = false;
        let mut changes = Vec::new();
        for u in batch {
            match u {
                AreaUpdate::Reloaded => reload = true,
                AreaUpdate::Changed(c) => changes.extend(c),
            }
        }
        // A reload reads every row, so it covers the changes that came with it.
        if !reload
            && !changes.is_empty()
            && let Err(e) = shared.apply(changes).await
        {
            tracing::warn!(error = %e, "patching tile geometry failed; reloading it all");
            reload = true;
        }
        while reload {
            match shared.reload().await {
                Ok(()) => reload = false,
                Err(e) => {
                    tracing::warn!(error = %e, "loading tile geometry failed; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

/// Routes under /tiles.
pub fn routes() -> Router<AppState> {
    http::routes()
}
