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
