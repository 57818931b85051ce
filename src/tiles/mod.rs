//! Vector tiles of the area tree (issue: "Vector tiles of the whole city").
//!
//! Owns: tile math, per-zoom geometry, MVT encoding, the byte-bounded tile cache and its
//! invalidation from area changes. Exposes `TileService` (held in `AppState`, a sink of the
//! change feed) and `routes()` merged into the API router.
//!
//! Data flow: the feed's `AreasLoaded` (every area, read once for all views) builds the
//! `Model` off the async runtime; until then tile requests get 503. Each `AreasChanged`
//! carries the changed rows and patches the model; the patch and the cache invalidation
//! happen under the model's write lock, and a miss renders and stores its tile under the read
//! lock, so a tile rendered from old geometry can never be stored after the invalidation that
//! should have dropped it.

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
use crate::feed::{AreaDelta, Change, ChangeSink, SinkError};
use crate::store::areas::AreaShape;
use futures_util::future::BoxFuture;
use axum::Router;
use cache::{CacheStats, Coding, Encoded, Key, TileCache};
use layers::Layer;
use model::{BuildStats, Model};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;
use tile_id::{TileId, to_mercator};

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

/// State shared with the blocking pool.
struct Shared {
    model: RwLock<Model>,
    loaded: AtomicBool,
    cache: TileCache,
    patches: AtomicU64,
    last_update_ms: AtomicU64,
}

/// Tile serving state shared by all handlers.
pub struct TileService {
    shared: Arc<Shared>,
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
    /// A service with a cache of at most `cache_bytes` (0 disables it). Nothing is loaded
    /// until the change feed sends every area.
    pub fn new(cache_bytes: usize) -> TileService {
        TileService {
            shared: Arc::new(Shared {
                model: RwLock::new(Model::empty()),
                loaded: AtomicBool::new(false),
                cache: TileCache::new(cache_bytes),
                patches: AtomicU64::new(0),
                last_update_ms: AtomicU64::new(0),
            }),
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
}

impl ChangeSink for TileService {
    fn name(&self) -> &'static str {
        "tile model"
    }

    fn apply<'a>(&'a self, change: &'a Change) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            match change {
                Change::AreasLoaded(rows) => self.shared.load(rows.clone()).await,
                Change::AreasChanged(delta) => self.shared.patch(delta.clone()).await,
                Change::EventsReload | Change::EventsChanged(_) => Ok(()),
            }
        })
    }
}

impl Shared {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Model> {
        // A panic while patching leaves a model that is at worst partly patched; serving it
        // beats serving nothing, and the next reload replaces it.
        self.model.read().unwrap_or_else(|e| e.into_inner())
    }

    async fn load(self: &Arc<Self>, rows: Arc<Vec<AreaShape>>) -> Result<(), SinkError> {
        let started = Instant::now();
        let shared = self.clone();
        let stats = tokio::task::spawn_blocking(move || {
            let model = Model::build(&rows);
            let stats = model.stats.clone();
            let mut guard = shared.model.write().unwrap_or_else(|e| e.into_inner());
            *guard = model;
            shared.cache.clear();
            shared.loaded.store(true, Ordering::Release);
            stats
        })
        .await
        .map_err(|e| SinkError(format!("building tile geometry panicked: {e}")))?;
        self.last_update_ms
            .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        tracing::info!(
            areas = stats.areas,
            vertices = stats.vertices,
            junctions = stats.junctions,
            build_ms = stats.build_ms,
            "tile geometry loaded"
        );
        Ok(())
    }

    async fn patch(self: &Arc<Self>, delta: Arc<AreaDelta>) -> Result<(), SinkError> {
        let started = Instant::now();
        let shared = self.clone();
        let n = delta.codes.len();
        let dropped = tokio::task::spawn_blocking(move || {
            let mut guard = shared.model.write().unwrap_or_else(|e| e.into_inner());
            let mut outcome = guard.patch(&delta.codes, &delta.rows);
            if outcome.everything {
                shared.cache.clear();
                return u64::MAX;
            }
            // The logged boxes too: they are the truth even if this process never had the area.
            for c in &delta.log {
                for b in [c.old_bbox, c.new_bbox].into_iter().flatten() {
                    let (x0, y0) = to_mercator(b[0], b[1]);
                    let (x1, y1) = to_mercator(b[2], b[3]);
                    outcome.dirty.push((c.level, [x0, y0, x1, y1]));
                }
            }
            shared.cache.invalidate(&outcome.dirty)
        })
        .await
        .map_err(|e| SinkError(format!("patching tile geometry panicked: {e}")))?;
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

/// Routes under /tiles.
pub fn routes() -> Router<AppState> {
    http::routes()
}
