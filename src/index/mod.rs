//! The in-memory assignment index: which unit (and so which grid, village, town, district)
//! covers a point.
//!
//! A `Snapshot` is immutable and built from rows of the `area` table; the `AssignIndex` holds
//! the current one behind an `ArcSwap`, so a lookup never waits for a rebuild and a rebuild never
//! waits for lookups. `sync` keeps it in step with PostGIS through the change feed.

mod cover;
mod snapshot;
pub mod sync;

pub use snapshot::{Assignment, Chain, Nearest, Snapshot, SnapshotStats};

use arc_swap::ArcSwap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Default distance within which a point outside every unit is matched to its nearest grid.
pub const DEFAULT_TOLERANCE_M: f64 = 50.0;

/// The live index shared by all request handlers.
pub struct AssignIndex {
    current: ArcSwap<Snapshot>,
    loaded: AtomicBool,
}

impl Default for AssignIndex {
    fn default() -> Self {
        AssignIndex {
            current: ArcSwap::from_pointee(Snapshot::empty()),
            loaded: AtomicBool::new(false),
        }
    }
}

impl AssignIndex {
    /// The snapshot in force now. Hold it for a whole batch so the batch sees one version.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Puts a new snapshot in force.
    pub fn replace(&self, snapshot: Snapshot) {
        self.current.store(Arc::new(snapshot));
        self.loaded.store(true, Ordering::Release);
    }

    /// True once a snapshot from the database has been loaded.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }
}
