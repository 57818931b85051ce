//! The event list and the export: pages of events newest first with a keyset cursor, and every
//! matching row as a stream, for `GET /api/events` and `GET /api/events.csv` (the HTTP side is
//! `api::event_query`). The filter is the one of `crate::events::filter`, translated to SQL by
//! `store::events`.

use crate::events::filter::{self, EventFilter, FilterError, FilterOptions};
use crate::store::events::{self as sql, EventRow};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// Rows per page unless `limit` says otherwise, and the most a page may hold.
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

/// Why a query could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A parameter is wrong (a 4xx).
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A keyset position: the last row of a page (reported_at, id). Opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub reported_at: DateTime<Utc>,
    pub id: i64,
}

impl Cursor {
    /// The position after `e`.
    pub fn after(e: &EventRow) -> Cursor {
        Cursor {
            reported_at: e.reported_at,
            id: e.id,
        }
    }

    /// The text form: `e1<µs hex>g<id hex>`.
    pub fn encode(&self) -> String {
        format!("e1{:x}g{:x}", self.reported_at.timestamp_micros(), self.id)
    }

    pub fn parse(s: &str) -> Result<Cursor, FilterError> {
        let bad = || {
            FilterError::bad(
                "invalid_cursor",
                "cursor 无效，请使用上一页返回的 next (invalid cursor: pass the 'next' value of the previous page)",
            )
        };
        let rest = s.trim().strip_prefix("e1").ok_or_else(bad)?;
        let (t, id) = rest.split_once('g').ok_or_else(bad)?;
        let t = i64::from_str_radix(t, 16).map_err(|_| bad())?;
        let id = i64::from_str_radix(id, 16).map_err(|_| bad())?;
        let reported_at = DateTime::from_timestamp_micros(t).ok_or_else(bad)?;
        Ok(Cursor { reported_at, id })
    }
}

/// The filter of a list or export query (`FilterOptions::LIST`), its area looked up in the
/// area table.
pub async fn list_filter(
    store: &Store,
    q: &HashMap<String, String>,
) -> Result<EventFilter, QueryError> {
    let opts = FilterOptions::LIST;
    let level = match filter::area_code(q, &opts) {
        Some(code) => sql::area_level(store, code).await?,
        None => None,
    };
    Ok(filter::parse(q, &opts, &|_| level)?)
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page {
    pub rows: Vec<EventRow>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

/// The page of at most `limit` events matching `f` after `after`, newest first.
pub async fn page(
    store: &Store,
    f: &EventFilter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Page, StoreError> {
    let after = after.map(|c| (c.reported_at, c.id));
    let mut rows = sql::list_events(store, f, after, limit + 1).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(Cursor::after)
    } else {
        None
    };
    Ok(Page { rows, next })
}

/// Every event matching `f`, newest first, from one server-side cursor through a bounded
/// channel (memory stays flat for any export; dropping the receiver stops the query). A
/// failure mid-stream is logged and ends the stream early.
pub fn export(store: Store, f: EventFilter) -> tokio::sync::mpsc::Receiver<EventRow> {
    let (tx, rx) = tokio::sync::mpsc::channel::<EventRow>(1024);
    tokio::spawn(async move {
        if let Err(e) = sql::stream_events(&store, &f, tx).await {
            // The status line is gone already; the client sees a truncated file.
            tracing::error!(error = %e, "CSV export failed mid-stream");
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = Cursor {
            reported_at: DateTime::from_timestamp_micros(1_790_000_000_123_456).unwrap(),
            id: 4242,
        };
        assert_eq!(Cursor::parse(&c.encode()).unwrap(), c);
        for bad in ["abc", "e1zzgq", "e1", "e10g", "x1ag1"] {
            assert_eq!(
                Cursor::parse(bad).unwrap_err().code,
                "invalid_cursor",
                "{bad}"
            );
        }
    }
}
