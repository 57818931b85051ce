//! The demo city (Putian) and its generators.
//!
//! Real names, codes and district boundaries come from `data/putian/`; geometry below the
//! districts is generated deterministically from a seed as an exact partition (see `city`).

pub mod city;
mod districts;
mod grouping;
pub mod lattice;
mod ops;
mod partition;
mod seeds;
mod shape_index;
pub mod source;

pub use city::{DemoCity, DemoParams, generate};

/// Bump when the generator's output changes, so cached demo databases are rebuilt.
pub const GENERATOR_VERSION: u32 = 2;

/// A fingerprint of the demo city: generator version plus its input data.
pub fn fingerprint() -> String {
    let mut h: u64 = 0xcbf29ce484222325 ^ GENERATOR_VERSION as u64;
    for b in source::raw_inputs().flat_map(str::bytes) {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}
