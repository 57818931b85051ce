//! The seeded demo-event generator behind `onemap import demo-events`: two years of reports
//! over the demo city with a realistic mix of categories and sources, daily and weekly rhythm,
//! heavy-rain bursts, planted repeat hotspots, and most events closed through the full loop.

pub mod generate;
pub mod load;
pub mod text;

pub use generate::{DemoEvent, DemoEventParams, Places, generate};
pub use load::{Loaded, load};
