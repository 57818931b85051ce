//! Events: reporting — ingest with idempotency and repeats, the closed loop, queries and the
//! CSV export. The contract is docs/EVENTS.md ("Reporting"); all SQL is in `store::events`
//! and `store::event_reports`; the HTTP handlers of ingest and the loop are in `api::events`,
//! the JSON/GeoJSON/CSV forms of an event in `api::event_view`.
//!
//! - `ingest`: reporting one event or a batch (set-based, one transaction, committed = durable).
//! - `repeats`: in-batch repeat detection (stored originals are found in SQL).
//! - `lifecycle`: reading one event and changing its status.
//! - `query`: the filtered list (keyset pages) and the export stream behind `GET /api/events`
//!   and `GET /api/events.csv`.

pub mod ingest;
pub mod lifecycle;
pub mod query;
pub mod repeats;
