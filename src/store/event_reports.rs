//! The transactions of event reporting: the ingest transaction (one per `POST /api/events`
//! attempt), the idempotency answers around it, reading one event, and the locked status
//! change of the closed loop.
//!
//! The statements themselves are in `store::events`; this module owns the connections and
//! transactions, so the reporting engine (`events::reporting`) never touches the pool. Every
//! transaction runs at the pool's default isolation (READ COMMITTED); a dropped transaction
//! rolls back.

use super::events::{
    self as sql, CategoryRow, EventRow, NewEvent, OpenOriginal, OriginalProbe, StoredAnswer,
    TransitionRow,
};
use super::{Op, Store, StoreError};
use sqlx::{Postgres, Transaction};
use std::collections::{HashMap, HashSet};

/// An answer as the API renders it: saved under an idempotency key, replayed verbatim.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
}

/// How an ingest transaction ended.
#[derive(Debug)]
pub enum Finished {
    /// Committed: what was inserted is durable.
    Committed,
    /// A concurrent request with the same idempotency key committed first; this transaction
    /// was rolled back and that request's stored answer is returned.
    KeyTaken(StoredAnswer),
}

/// True for the errors after which the whole ingest transaction is worth another attempt:
/// deadlock, serialisation failure, and a concurrent client-id or foreign-key race.
pub fn retryable(e: &StoreError) -> bool {
    matches!(
        sql::sqlstate(e).as_deref(),
        Some("40P01" | "40001" | "23503" | "23505")
    )
}

/// A row that should exist and does not (only possible if it was removed meanwhile), found
/// while `op`.
pub fn vanished(op: &'static str) -> StoreError {
    StoreError::Db {
        op,
        source: sqlx::Error::Protocol("client id vanished; retry".into()),
    }
}

/// One event, its transitions (oldest first) and the ids of its repeats.
#[derive(Debug, Clone)]
pub struct EventDetailRows {
    pub event: EventRow,
    pub transitions: Vec<TransitionRow>,
    pub repeats: Vec<i64>,
}

impl Store {
    /// The stored answer for an idempotency key, if any (outside any transaction).
    pub async fn stored_answer(&self, key: &str) -> Result<Option<StoredAnswer>, StoreError> {
        let mut conn = self.pool.acquire().await.op("connecting")?;
        sql::stored_answer(&mut conn, key).await
    }

    /// Starts the transaction that stores one ingest attempt.
    pub async fn begin_ingest(&self) -> Result<IngestTx, StoreError> {
        let tx = self.pool.begin().await.op("starting a transaction")?;
        Ok(IngestTx {
            tx,
            store: self.clone(),
        })
    }

    /// One event with its transitions and repeats (`None`: no such event).
    pub async fn event_detail(&self, id: i64) -> Result<Option<EventDetailRows>, StoreError> {
        let mut conn = self.pool.acquire().await.op("connecting")?;
        detail(&mut conn, id).await
    }

    /// Starts a status change: a transaction holding the event's row lock (`FOR UPDATE`), and
    /// the status the event has under that lock. `None`: no such event.
    pub async fn lock_event(&self, id: i64) -> Result<Option<(EventLock, String)>, StoreError> {
        let mut tx = self.pool.begin().await.op("starting a transaction")?;
        let Some(status) = sql::lock_status(&mut tx, id).await? else {
            return Ok(None);
        };
        Ok(Some((EventLock { tx, id }, status)))
    }
}

async fn detail(
    conn: &mut sqlx::PgConnection,
    id: i64,
) -> Result<Option<EventDetailRows>, StoreError> {
    Ok(sql::event_detail(conn, id)
        .await?
        .map(|(event, transitions, repeats)| EventDetailRows {
            event,
            transitions,
            repeats,
        }))
}

/// The ingest transaction. Steps are called in the order the reporting engine needs them;
/// nothing is visible to others until `finish` commits.
pub struct IngestTx {
    tx: Transaction<'static, Postgres>,
    store: Store,
}

impl IngestTx {
    /// The categories with their deadline and repeat rule, by code (read in the transaction,
    /// so a plain-SQL retune applies to the next request).
    pub async fn categories(&mut self) -> Result<HashMap<String, CategoryRow>, StoreError> {
        Ok(sql::categories(&mut self.tx)
            .await?
            .into_iter()
            .map(|c| (c.code.clone(), c))
            .collect())
    }

    /// Ids of stored events carrying these client ids (no round trip when there are none).
    pub async fn ids_by_client_id(
        &mut self,
        client_ids: &[String],
    ) -> Result<HashMap<String, i64>, StoreError> {
        Ok(sql::ids_by_client_id(&mut self.tx, client_ids)
            .await?
            .into_iter()
            .collect())
    }

    /// The open originals that could be one for any of the probes.
    pub async fn open_originals(
        &mut self,
        probes: &[OriginalProbe<'_>],
    ) -> Result<Vec<OpenOriginal>, StoreError> {
        sql::open_originals(&mut self.tx, probes).await
    }

    /// Reserves `n` event ids.
    pub async fn allocate_ids(&mut self, n: usize) -> Result<Vec<i64>, StoreError> {
        sql::allocate_ids(&mut self.tx, n).await
    }

    /// Inserts events with their first transition; the ids actually inserted (rows whose client
    /// id a concurrent request stored first are skipped).
    pub async fn insert_events(&mut self, rows: &[NewEvent]) -> Result<HashSet<i64>, StoreError> {
        Ok(sql::insert_events(&mut self.tx, rows)
            .await?
            .into_iter()
            .collect())
    }

    /// Raises stored originals' repeat counts (`(id, new repeats)`, sorted by id so concurrent
    /// batches lock in one order).
    pub async fn bump_repeat_counts(&mut self, bumps: &[(i64, i32)]) -> Result<(), StoreError> {
        sql::bump_repeat_counts(&mut self.tx, bumps).await
    }

    /// Events by id, in any order (no round trip when there are none).
    pub async fn events_by_ids(&mut self, ids: &[i64]) -> Result<Vec<EventRow>, StoreError> {
        sql::events_by_ids(&mut self.tx, ids).await
    }

    /// Saves the answer under the idempotency key (if any) and commits. When the key was taken
    /// meanwhile by a concurrent request, rolls back and returns that request's answer.
    pub async fn finish(
        mut self,
        saved: Option<(&str, &[u8], &Answer)>,
    ) -> Result<Finished, StoreError> {
        if let Some((key, body_hash, answer)) = saved
            && !sql::save_answer(
                &mut self.tx,
                key,
                body_hash,
                answer.status as i16,
                &answer.body,
            )
            .await?
        {
            self.tx.rollback().await.op("rolling back")?;
            return match self.store.stored_answer(key).await? {
                Some(s) => Ok(Finished::KeyTaken(s)),
                None => Err(StoreError::Db {
                    op: "replaying an idempotency key",
                    source: sqlx::Error::Protocol("idempotency key vanished".into()),
                }),
            };
        }
        self.tx.commit().await.op("committing events")?;
        Ok(Finished::Committed)
    }
}

/// A status change in progress: the event's row is locked until `commit` or drop (rollback).
pub struct EventLock {
    tx: Transaction<'static, Postgres>,
    id: i64,
}

impl EventLock {
    /// Moves the locked event from `from` to `to` and logs the change.
    pub async fn apply(
        &mut self,
        from: &str,
        to: &str,
        actor: &str,
        note: Option<&str>,
    ) -> Result<(), StoreError> {
        sql::apply_transition(&mut self.tx, self.id, from, to, actor, note).await
    }

    /// The locked event as it is now in this transaction.
    pub async fn detail(&mut self) -> Result<Option<EventDetailRows>, StoreError> {
        detail(&mut self.tx, self.id).await
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await.op("committing a transition")
    }
}
