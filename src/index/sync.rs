//! Keeps an `AssignIndex` (and any other derived view) in step with the `area` table.
//!
//! One loop per server process listens on the change channel. Each notification names a range
//! of change-log rows; the loop reads them, re-reads the changed areas, builds a patched
//! snapshot off the async runtime and swaps it in, then tells the other sinks (the tile cache)
//! what changed. On (re)connection, or when too much changed, it reloads everything: a missed
//! notification can delay a change, never lose it.

use super::{AssignIndex, Snapshot};
use crate::store::changes::{AreaChange, Notice};
use crate::store::{Store, StoreError};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Above this many changed areas in one batch, a full reload is cheaper than a patch.
const PATCH_LIMIT: usize = 20_000;

/// What changed, as told to sinks.
#[derive(Debug, Clone)]
pub enum AreaUpdate {
    Changed(Vec<AreaChange>),
    Reloaded,
}

/// Something derived from the areas that must follow their changes (e.g. the tile cache).
pub trait AreaSink: Send + Sync {
    fn area_update(&self, update: &AreaUpdate);
}

/// Loads every area and puts a fresh snapshot in force.
pub async fn reload(store: &Store, index: &AssignIndex) -> Result<(), StoreError> {
    let started = Instant::now();
    let rows = store.index_rows().await?;
    let fetched = started.elapsed();
    let snapshot = tokio::task::spawn_blocking(move || Snapshot::from_rows(rows))
        .await
        .map_err(|e| StoreError::Geometry(format!("index build panicked: {e}")))?;
    tracing::info!(
        units = snapshot.stats.units,
        grids = snapshot.stats.grids,
        fetch_ms = fetched.as_millis() as u64,
        build_ms = snapshot.stats.build_ms as u64,
        memory_mb = snapshot.stats.memory_bytes / (1 << 20),
        "assignment index loaded"
    );
    index.replace(snapshot);
    Ok(())
}

/// Applies the change-log rows `lo..=hi`; returns what it did, for the sinks.
pub async fn apply_range(
    store: &Store,
    index: &AssignIndex,
    lo: i64,
    hi: i64,
) -> Result<AreaUpdate, StoreError> {
    let changes = store.area_changes(lo, hi).await?;
    if changes.len() > PATCH_LIMIT {
        reload(store, index).await?;
        return Ok(AreaUpdate::Reloaded);
    }
    if changes.is_empty() {
        return Ok(AreaUpdate::Changed(changes));
    }
    let codes: Vec<String> = changes
        .iter()
        .map(|c| c.code.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let fresh = store.index_rows_by_code(&codes).await?;
    let current = index.snapshot();
    let n = codes.len();
    let snapshot = tokio::task::spawn_blocking(move || current.patched(&codes, fresh))
        .await
        .map_err(|e| StoreError::Geometry(format!("index patch panicked: {e}")))?;
    tracing::info!(
        areas = n,
        build_ms = snapshot.stats.build_ms as u64,
        "assignment index patched"
    );
    index.replace(snapshot);
    Ok(AreaUpdate::Changed(changes))
}

/// Runs forever: listen, apply, notify sinks; reconnect and reload after any failure.
pub async fn run(store: Store, index: Arc<AssignIndex>, sinks: Vec<Arc<dyn AreaSink>>) {
    let tell = |u: &AreaUpdate| sinks.iter().for_each(|s| s.area_update(u));
    loop {
        let mut listener = match store.listen_area_changes().await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for area changes; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Whatever happened while we were not listening is picked up by a full reload.
        match reload(&store, &index).await {
            Ok(()) => tell(&AreaUpdate::Reloaded),
            Err(e) => {
                tracing::warn!(error = %e, "loading the assignment index failed; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        }
        loop {
            let first = match listener.try_recv().await {
                Ok(Some(n)) => Notice::parse(n.payload()),
                Ok(None) => {
                    tracing::warn!("lost the change listener's connection; reconnecting");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "change listener failed; reconnecting");
                    break;
                }
            };
            // Coalesce a burst of notifications into one update.
            let mut notices = vec![first];
            while let Ok(Ok(Some(n))) =
                tokio::time::timeout(Duration::from_millis(5), listener.try_recv()).await
            {
                notices.push(Notice::parse(n.payload()));
            }
            let result = if notices.contains(&Notice::Reload) {
                reload(&store, &index).await.map(|()| AreaUpdate::Reloaded)
            } else {
                let lo = notices
                    .iter()
                    .filter_map(|n| {
                        if let Notice::Range(lo, _) = n {
                            Some(*lo)
                        } else {
                            None
                        }
                    })
                    .min();
                let hi = notices
                    .iter()
                    .filter_map(|n| {
                        if let Notice::Range(_, hi) = n {
                            Some(*hi)
                        } else {
                            None
                        }
                    })
                    .max();
                match (lo, hi) {
                    (Some(lo), Some(hi)) => apply_range(&store, &index, lo, hi).await,
                    _ => continue,
                }
            };
            match result {
                Ok(update) => tell(&update),
                Err(e) => {
                    tracing::warn!(error = %e, "applying area changes failed; reconnecting to reload");
                    break;
                }
            }
        }
    }
}
