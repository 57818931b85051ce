//! Events: reporting — ingest with idempotency and repeats, the closed loop, queries and the
//! CSV export (`/api/events…`). The contract is docs/EVENTS.md ("Reporting"); all SQL is in
//! `store::events`.
//!
//! - `ingest`: `POST /api/events` (one report or a batch, set-based, 201 = committed).
//! - `repeats`: in-batch repeat detection (stored originals are found in SQL).
//! - `lifecycle`: `GET /api/events/{id}`, `POST /api/events/{id}/transitions`.
//! - `query`: `GET /api/events` (filters, keyset pages, GeoJSON) and `GET /api/events.csv`.
//! - `view`: the JSON, GeoJSON and CSV forms of an event.

pub mod ingest;
pub mod lifecycle;
pub mod query;
pub mod repeats;
pub mod view;

use crate::api::AppState;
use axum::Router;
use axum::routing::{get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/events", post(ingest::post_events))
        .route("/api/events/{id}", get(lifecycle::get_event))
        .route(
            "/api/events/{id}/transitions",
            post(lifecycle::post_transition),
        )
}
