//! Plain domain types with no I/O: area levels, codes and the area record itself.
//!
//! Everything here is parsed at the edge (HTTP, CLI, files) and trusted afterwards.

mod area;
mod level;

pub use area::{Area, AreaCode, AreaRef, CodeError};
pub use level::{Level, LevelError};
