//! Events (issue: "Events: reporting, the closed loop, heatmaps and hotspots").
//!
//! - `model`: the vocabulary (categories, sources, priorities, statuses, the loop).
//! - `reporting`: ingest with idempotency and repeats, the closed loop, queries and CSV
//!   (`/api/events…`).
//! - `analytics`: the in-memory event view, statistics, hotspots and event tiles
//!   (`/api/stats/…`, `/api/hotspots`, `/tiles/events/…`).
//! - `demo`: the seeded generator behind `onemap import demo-events`.
//!
//! The schema is migrations/0002_events.sql; the data flow is in docs/EVENTS.md.

pub mod analytics;
pub mod demo;
pub mod filter;
pub mod model;
pub mod reporting;
