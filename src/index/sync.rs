//! The assignment index as a sink of the change feed (`crate::feed`): all areas build a fresh
//! snapshot, a delta patches the current one (off the async runtime), and the new snapshot is
//! swapped in; lookups never wait.

use super::{AssignIndex, Snapshot};
use crate::feed::{Change, ChangeSink, SinkError};
use crate::store::areas::AreaShape;
use futures_util::future::BoxFuture;
use std::sync::Arc;

impl AssignIndex {
    /// Builds a snapshot from every area (sorted or not) and puts it in force.
    pub async fn load(&self, rows: Arc<Vec<AreaShape>>) -> Result<(), SinkError> {
        let snapshot = tokio::task::spawn_blocking(move || Snapshot::from_rows(&rows))
            .await
            .map_err(|e| SinkError(format!("index build panicked: {e}")))?;
        tracing::info!(
            units = snapshot.stats.units,
            grids = snapshot.stats.grids,
            build_ms = snapshot.stats.build_ms as u64,
            memory_mb = snapshot.stats.memory_bytes / (1 << 20),
            "assignment index loaded"
        );
        self.replace(snapshot);
        Ok(())
    }
}

impl ChangeSink for AssignIndex {
    fn name(&self) -> &'static str {
        "assignment index"
    }

    fn apply<'a>(&'a self, change: &'a Change) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            match change {
                Change::AreasLoaded(rows) => self.load(rows.clone()).await,
                Change::AreasChanged(delta) => {
                    let current = self.snapshot();
                    let delta = delta.clone();
                    let snapshot = tokio::task::spawn_blocking(move || {
                        current.patched(&delta.codes, &delta.rows)
                    })
                    .await
                    .map_err(|e| SinkError(format!("index patch panicked: {e}")))?;
                    tracing::info!(
                        build_ms = snapshot.stats.build_ms as u64,
                        "assignment index patched"
                    );
                    self.replace(snapshot);
                    Ok(())
                }
                Change::EventsReload
                | Change::EventsChanged(_)
                | Change::AssetsLoaded(_)
                | Change::AssetsChanged(_)
                | Change::VesselsReload
                | Change::VesselsChanged(_) => Ok(()),
            }
        })
    }
}
