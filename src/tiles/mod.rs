//! Vector tiles: the tile sources, their one cache, and the area layers (issue: "Vector tiles
//! of the whole city").
//!
//! Owns: tile math (`tile_id`), the `TileSource` abstraction and the `TileSources` registry
//! (`source`), the byte-bounded cache every source shares (`cache`), and the area layers:
//! per-zoom geometry, MVT encoding and invalidation from area changes. `TileService` holds the
//! area geometry (in `AppState`, registered as an `AreaSink` with the index sync loop) and
//! gives one `TileSource` per `Layer` (`TileService::sources`). No HTTP here: the handler is
//! `crate::api::tiles`.
//!
//! Data flow: the first `AreaUpdate::Reloaded` from the sync loop makes a background worker
//! load every area from PostGIS and build the `Model` (off the async runtime); until then the
//! area sources are not ready (503). Each later `Changed` re-reads the changed rows and patches
//! the model; the patch and the cache invalidation happen under the model's write lock, and a
//! miss renders and stores its tile under the read lock (an area source's `Renderer` holds
//! it), so a tile rendered from old geometry can never be stored after the invalidation that
//! should have dropped it.

pub mod cache;
mod clip;
mod encode;
pub mod layers;
mod model;
mod polylabel;
mod render;
pub mod source;
pub mod tile_id;
mod topology;

use crate::index::sync::{AreaSink, AreaUpdate};
use crate::model::Level;
use crate::store::{Store, StoreError};
use cache::{CacheStats, TileCache, TileRange};
use layers::{BUFFER, EXTENT, Layer, Part, label_minzoom, polygon_minzoom};
use model::{BuildStats, Model};
use serde::Serialize;
use source::{Query, QueryKey, Renderer, SourceError, SourceInfo, TileSource, VectorLayer};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};
use tile_id::{MAX_ZOOM, TileId, tiles_covering, to_mercator};
use tokio::sync::mpsc;

pub use model::Model as TileModel;
pub use source::{TileError, TileSources};

/// Tiles with at most this many areas (all layers together) are rendered on the async thread;
/// larger ones on the blocking pool.
const INLINE_MAX_AREAS: usize = 32;

/// State shared with the update worker.
struct Shared {
    store: Store,
    model: RwLock<Model>,
    loaded: AtomicBool,
    cache: Arc<TileCache>,
    patches: AtomicU64,
    last_update_ms: AtomicU64,
}

/// The area geometry behind the area tile sources.
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
    /// The cache every tile source shares.
    pub cache: CacheStats,
}

impl TileService {
    /// A service over `store` storing its tiles in `cache` (shared with the other sources).
    /// Nothing is loaded until the first `AreaUpdate` arrives (the sync loop sends `Reloaded`
    /// at start).
    pub fn new(store: Store, cache: Arc<TileCache>) -> TileService {
        TileService {
            shared: Arc::new(Shared {
                store,
                model: RwLock::new(Model::empty()),
                loaded: AtomicBool::new(false),
                cache,
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

    /// One tile source per `Layer`, in catalog order.
    pub fn sources(&self) -> Vec<Arc<dyn TileSource>> {
        Layer::all()
            .into_iter()
            .map(|layer| {
                Arc::new(AreaSource {
                    layer,
                    shared: self.shared.clone(),
                }) as Arc<dyn TileSource>
            })
            .collect()
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
            shared.cache.invalidate_sources(&area_source_ids());
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
                shared.cache.invalidate_sources(&area_source_ids());
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
            shared
                .cache
                .invalidate_ranges(&dirty_ranges(&outcome.dirty))
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

fn area_source_ids() -> Vec<&'static str> {
    Layer::all().into_iter().map(Layer::id).collect()
}

/// The tiles of every area source that show any of `boxes` (level, Mercator box), at every
/// zoom from the first at which the source shows that level.
fn dirty_ranges(boxes: &[(Level, [f64; 4])]) -> Vec<TileRange> {
    let mut ranges = Vec::new();
    for layer in Layer::all() {
        for &(level, b) in boxes {
            if !layer.depends_on(level) {
                continue;
            }
            for z in first_zoom(layer, level)..=MAX_ZOOM {
                if let Some((xs, ys)) = tiles_covering(b, z, EXTENT, BUFFER) {
                    ranges.push(TileRange {
                        source: layer.id(),
                        z,
                        xs,
                        ys,
                    });
                }
            }
        }
    }
    ranges
}

/// The lowest zoom at which `layer` shows anything of `level`.
fn first_zoom(layer: Layer, level: Level) -> u8 {
    let mut z = MAX_ZOOM;
    for p in layer.vector_layers() {
        match p {
            Part::Polygons(l) if l == level => z = z.min(polygon_minzoom(level)),
            Part::Labels => z = z.min(label_minzoom(level)),
            _ => {}
        }
    }
    z
}

/// One area layer as a tile source.
struct AreaSource {
    layer: Layer,
    shared: Arc<Shared>,
}

/// Renders from the model under its read lock (see the module docs).
struct ModelRenderer<'a> {
    model: RwLockReadGuard<'a, Model>,
    layer: Layer,
}

impl Renderer for ModelRenderer<'_> {
    fn render(&self, tile: TileId) -> Vec<u8> {
        render::render(&self.model, self.layer, tile)
    }
}

impl TileSource for AreaSource {
    fn id(&self) -> &'static str {
        self.layer.id()
    }

    fn info(&self) -> SourceInfo {
        let layer = self.layer;
        let vector_layers = layer
            .vector_layers()
            .into_iter()
            .map(|p| VectorLayer {
                id: p.name().to_string(),
                description: match p {
                    Part::Polygons(l) => Layer::Polygons(l).description(),
                    Part::Labels => Layer::Label.description(),
                },
                minzoom: p.minzoom(),
                maxzoom: layer.maxzoom(),
                fields: p
                    .fields()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            })
            .collect();
        SourceInfo {
            name: format!("onemap {}", layer.id()),
            description: layer.description(),
            minzoom: layer.minzoom(),
            maxzoom: layer.maxzoom(),
            bounds: self.shared.read().bounds_4326.filter(|_| self.is_ready()),
            center_zoom: layer.minzoom().max(9),
            extent: EXTENT,
            vector_layers,
            parameters: &[],
        }
    }

    fn is_ready(&self) -> bool {
        self.shared.loaded.load(Ordering::Acquire)
    }

    /// Area tiles take no parameters and ignore any they are given.
    fn normalise(&self, _query: &Query) -> Result<QueryKey, SourceError> {
        Ok(QueryKey::NONE)
    }

    /// A tile with a handful of areas renders in tens of microseconds, less than handing it to
    /// the blocking pool costs: render it on the async thread, but never wait for the lock
    /// there.
    fn light_renderer(
        &self,
        _query: &Query,
        tile: TileId,
    ) -> Result<Option<Box<dyn Renderer + '_>>, SourceError> {
        Ok(self.shared.model.try_read().ok().and_then(|model| {
            render::is_light(&model, self.layer, tile, INLINE_MAX_AREAS).then(|| {
                Box::new(ModelRenderer {
                    model,
                    layer: self.layer,
                }) as Box<dyn Renderer + '_>
            })
        }))
    }

    fn renderer(&self, _query: &Query) -> Result<Box<dyn Renderer + '_>, SourceError> {
        Ok(Box::new(ModelRenderer {
            model: self.shared.read(),
            layer: self.layer,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_box_dirties_only_the_tiles_over_it_in_the_sources_that_show_its_level() {
        // Tile 14/13607/6996 holds (119°E, 25.4°N).
        let (x, y) = to_mercator(119.0, 25.4);
        let ranges = dirty_ranges(&[(Level::Unit, [x - 1.0, y - 1.0, x + 1.0, y + 1.0])]);
        let sources: BTreeSet<&str> = ranges.iter().map(|r| r.source).collect();
        assert_eq!(sources, BTreeSet::from(["unit", "label", "areas"]));
        let unit14: Vec<&TileRange> = ranges
            .iter()
            .filter(|r| r.source == "unit" && r.z == 14)
            .collect();
        assert_eq!(unit14.len(), 1);
        assert!((unit14[0].xs[0]..=unit14[0].xs[1]).contains(&13607));
        assert!((unit14[0].ys[0]..=unit14[0].ys[1]).contains(&6996));
        assert!(!(unit14[0].xs[0]..=unit14[0].xs[1]).contains(&13600));
        // Units have no polygons below z14, and their labels start at z15.
        assert!(ranges.iter().all(|r| r.source != "unit" || r.z >= 14));
        assert!(ranges.iter().all(|r| r.source != "label" || r.z >= 15));
        assert!(ranges.iter().any(|r| r.source == "areas" && r.z == 14));
    }
}
