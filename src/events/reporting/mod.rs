//! Events: reporting — ingest with idempotency and repeats, the closed loop, queries and the
//! CSV export. The contract is docs/EVENTS.md ("Reporting"); all SQL is in `store::events`
//! and `store::event_reports`; the HTTP handlers of ingest and the loop are in `api::events`,
//! the JSON/GeoJSON/CSV forms of an event in `api::event_view`.
//!
//! - `ingest`: reporting one event or a batch (set-based, one transaction, committed = durable).
//! - `repeats`: in-batch repeat detection (stored originals are found in SQL).
//! - `lifecycle`: reading one event and changing its status.
//! - `query`: `GET /api/events` (filters, keyset pages, GeoJSON) and `GET /api/events.csv`.

pub mod ingest;
pub mod lifecycle;
pub mod query;
pub mod repeats;

// The event's presentation moved to the API layer; `query` still reads it from here until it
// moves there too (merge of issue #9).
use crate::api::event_view as view;

use crate::api::AppState;
use axum::Router;
use axum::routing::get;

/// `GET /api/events` and its CSV form; `POST /api/events`, `GET /api/events/{id}` and
/// `POST /api/events/{id}/transitions` are routed in `api`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/events", get(query::list_events))
        .route("/api/events.csv", get(query::export_csv))
}
