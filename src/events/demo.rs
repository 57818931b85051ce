//! The seeded demo-event generator behind `onemap import demo-events`.
