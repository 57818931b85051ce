//! `/healthz` (the process answers) and `/readyz` (database reachable, index, tile geometry and
//! the event view loaded).

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
    let ready = db && index && tiles && events;
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
    });
    (status, Json(body)).into_response()
}
