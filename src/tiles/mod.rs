//! Vector tiles of the area tree (issue: "Vector tiles of the whole city").
//!
//! Owns: tile math, per-zoom geometry, MVT encoding, the byte-bounded tile cache and its
//! invalidation from area changes. Exposes `TileService` (held in `AppState`, registered as an
//! `AreaSink` with the index sync loop) and `routes()` merged into the API router.

use crate::api::AppState;
use crate::index::sync::{AreaSink, AreaUpdate};
use crate::store::Store;
use axum::Router;

/// Tile serving state shared by all handlers.
pub struct TileService {
    #[allow(dead_code)]
    store: Store,
    #[allow(dead_code)]
    cache_bytes: usize,
}

impl TileService {
    /// A service over `store` with a cache of at most `cache_bytes` (0 disables it).
    pub fn new(store: Store, cache_bytes: usize) -> TileService {
        TileService { store, cache_bytes }
    }
}

impl AreaSink for TileService {
    fn area_update(&self, _update: &AreaUpdate) {}
}

/// Routes under /tiles.
pub fn routes() -> Router<AppState> {
    Router::new()
}
