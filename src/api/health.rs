//! `/healthz` (the process answers) and `/readyz` (database reachable, index, tile geometry and
//! the event view and the fire assets loaded).

use super::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    let db = state.store.ping().await;
    let index = state.index.is_loaded();
    let tiles = state.tiles.is_loaded();
    let stats = state.index.snapshot().stats.clone();
    let events = state.analytics.is_loaded();
    let fire = state.fire.is_loaded();
    let vessels = state.fleet.is_loaded();
    let ready = db && index && tiles && events && fire && vessels;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "database": db,
        "index_loaded": index,
        "tiles_loaded": tiles,
        "index": stats,
        "tiles": state.tiles.stats(),
        "events_loaded": events,
        "events": state.analytics.stats(),
        "live": state.live.stats(),
        "fire_loaded": fire,
        "vessels_loaded": vessels,
        "vessels": state.fleet.stats(),
        "fire": {
            "assets": state.fire.view().set.by_id.len(),
            "sensor_feed": state.fire.counters(),
        },
        "memory": memory(&state),
    });
    (status, Json(body)).into_response()
}

/// Resident memory and what each part of the server holds (estimates from each part's own
/// structures), so a growing server says where.
fn memory(state: &AppState) -> serde_json::Value {
    let tiles = state.tiles.stats();
    let components = json!({
        "assignment_index": state.index.snapshot().stats.memory_bytes,
        "tile_model": tiles.model.memory_bytes,
        "area_geometry": tiles.model.geometry_bytes,
        "area_strings": tiles.model.strings_bytes,
        "tile_cache": tiles.cache.bytes,
        "event_view": state.analytics.stats().memory_bytes,
        "area_names": state.analytics.names_bytes(),
        "live_backlog": state.live.stats().backlog_bytes,
    });
    json!({
        "resident_bytes": crate::memory::resident_bytes(),
        "allocator": crate::memory::allocator(),
        "components": components,
    })
}
