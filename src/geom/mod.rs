//! Geometry helpers shared by the store, the index and the API: WKB and GeoJSON conversion,
//! exact point-in-polygon with boundary, and distances in metres.

pub mod covers;
pub mod flat;
pub mod metric;
pub mod wkb;
