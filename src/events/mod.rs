//! Events (issue: "Events: reporting, the closed loop, heatmaps and hotspots").
//!
//! Owns: the event model and its closed loop, ingest with idempotency, repeats, queries,
//! statistics, event tiles and hotspots. Exposes `routes()` merged into the API router.

use crate::api::AppState;
use axum::Router;

/// Routes under /api/events, /api/stats, /api/hotspots and /tiles/events.
pub fn routes() -> Router<AppState> {
    Router::new()
}
