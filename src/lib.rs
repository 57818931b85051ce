//! onemap: one map of the whole city for grid-based local governance.
//!
//! PostGIS holds the truth (the six-level tree of areas); the in-memory assignment index and
//! the HTTP API are derived from it. See docs/ARCHITECTURE.md for the data flow.
#![forbid(unsafe_code)]

pub mod access;
pub mod api;
pub mod app;
pub mod assets;
pub mod assign;
pub mod cli;
pub mod config;
pub mod crs;
pub mod demo;
pub mod events;
pub mod feed;
pub mod geom;
pub mod import;
pub mod index;
pub mod ledgers;
pub mod live;
pub mod memory;
pub mod model;
pub mod profiles;
pub mod store;
pub mod tiles;
pub mod time;
pub mod vessels;
