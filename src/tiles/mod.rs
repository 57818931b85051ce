//! Vector tiles: the tile sources, their one cache, and the area layers (issue: "Vector tiles
//! of the whole city").
//!
//! Owns: tile math (`tile_id`), the `TileSource` abstraction and the `TileSources` registry
//! (`source`), the byte-bounded cache every source shares (`cache`), and the area layers:
//! per-zoom geometry, MVT encoding and invalidation from area changes. `TileService` holds the
//! area geometry (in `AppState`, a sink of the change feed `crate::feed`) and
//! gives one `TileSource` per `Layer` (`TileService::sources`). No HTTP here: the handler is
//! `api/tiles.rs`.
//!
//! Data flow: the feed's `AreasLoaded` (every area, read once for all views) builds the
//! `Model` off the async runtime; until then the area sources are not ready (503). Each
//! `AreasChanged` carries the changed rows and patches the model; the patch and the cache invalidation happen under the model's write lock, and a
//! miss renders and stores its tile under the read lock (an area source's `Renderer` holds
//! it), so a tile rendered from old geometry can never be stored after the invalidation that
//! should have dropped it.

pub mod cache;
pub mod clip;
mod encode;
pub mod layer_out;
pub mod layers;
mod model;
mod polylabel;
mod render;
pub mod scope;
pub mod source;
pub mod tile_id;
mod topology;

use crate::feed::{AreaDelta, Change, ChangeSink, SinkError};
use crate::model::Level;
use crate::store::areas::AreaShape;
use cache::{CacheStats, TileCache, TileRange};
use futures_util::future::BoxFuture;
use layers::{BUFFER, EXTENT, Layer, Part, label_minzoom, polygon_minzoom};
use model::{BuildStats, Model};
use serde::Serialize;
use source::{
    Query, QueryKey, Renderer, SourceError, SourceInfo, TileScoping, TileSource, VectorLayer,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Instant;
use tile_id::{MAX_ZOOM, TileId, tiles_covering, to_mercator};

pub use model::Model as TileModel;
pub use source::{TileError, TileSources};

/// Tiles with at most this many areas (all layers together) are rendered on the async thread;
/// larger ones on the blocking pool.
const INLINE_MAX_AREAS: usize = 32;

/// State shared with the blocking pool.
struct Shared {
    model: RwLock<Model>,
    loaded: AtomicBool,
    cache: Arc<TileCache>,
    patches: AtomicU64,
    last_update_ms: AtomicU64,
}

/// The area geometry behind the area tile sources.
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
    /// The cache every tile source shares.
    pub cache: CacheStats,
}

impl TileService {
    /// A service storing its tiles in `cache` (shared with the other sources). Nothing is
    /// loaded until the change feed sends every area.
    pub fn new(cache: Arc<TileCache>) -> TileService {
        TileService {
            shared: Arc::new(Shared {
                model: RwLock::new(Model::empty()),
                loaded: AtomicBool::new(false),
                cache,
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
                Change::EventsReload
                | Change::EventsChanged(_)
                | Change::AssetsLoaded(_)
                | Change::AssetsChanged(_)
                | Change::VesselsReload
                | Change::VesselsChanged(_) => Ok(()),
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
            shared.cache.invalidate_sources(&area_source_ids());
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
                shared.cache.invalidate_sources(&area_source_ids());
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
            shared
                .cache
                .invalidate_ranges(&dirty_ranges(&outcome.dirty))
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

    /// Areas by their own code: a scoped caller sees its area and those under it.
    fn scoping(&self) -> TileScoping {
        TileScoping::Features(&["code"])
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
    use std::collections::BTreeSet;

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
