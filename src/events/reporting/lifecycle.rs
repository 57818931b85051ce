//! The closed loop: reading one event, and moving it from one status to the next.
//!
//! A status change locks the event row (`FOR UPDATE`), checks the move against
//! `Status::next`, updates the status with resolved_at/closed_at and logs the transition, all
//! in one transaction (`store::event_reports::EventLock`); two concurrent changes of one event
//! are serialised by the lock, and the second is judged against the status the first left.

use crate::events::model::{EventId, Status, UnknownValue};
use crate::store::events::{EventRow, TransitionRow};
use crate::store::{Store, StoreError};

/// Why a read or a status change did not happen. The messages are the ones the client sees.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("没有编号为 {0} 的事件 (no event with id {0})")]
    NotFound(EventId),
    #[error("{} (unknown status '{}')", .0, .0.value)]
    UnknownStatus(UnknownValue),
    #[error(
        "actor 应为 1 到 200 个字符，填写处置人或部门 (actor must be 1 to 200 characters: who made the change)"
    )]
    InvalidActor,
    #[error("note 最长 4000 个字符 (note must be at most 4000 characters)")]
    InvalidNote,
    /// The move is not one the loop allows from the event's current status.
    #[error(
        "事件当前状态为「{}」，不能转为「{}」；可转为：{} (event {id} is '{}' and cannot move to '{}'; allowed: {})",
        .from.label(),
        .to.label(),
        .from.next().iter().map(|s| s.label()).collect::<Vec<_>>().join("、"),
        .from.code(),
        .to.code(),
        .from.next().iter().map(|s| s.code()).collect::<Vec<_>>().join(", ")
    )]
    InvalidTransition {
        id: EventId,
        from: Status,
        to: Status,
    },
    /// The stored status is not in the vocabulary (a broken row, not the client's fault).
    #[error("event {id} has an unknown status '{status}'")]
    CorruptStatus { id: EventId, status: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One event with its history.
#[derive(Debug, Clone)]
pub struct EventDetail {
    pub event: EventRow,
    /// Oldest first.
    pub transitions: Vec<TransitionRow>,
    /// The ids of the events that repeat this one, ascending.
    pub repeats: Vec<EventId>,
    /// The statuses the event may move to now.
    pub allowed_next: Vec<Status>,
}

impl EventDetail {
    fn new(rows: crate::store::event_reports::EventDetailRows) -> EventDetail {
        let allowed_next = Status::parse(&rows.event.status)
            .map(|s| s.next().to_vec())
            .unwrap_or_default();
        EventDetail {
            event: rows.event,
            transitions: rows.transitions,
            repeats: rows.repeats.into_iter().map(EventId::from_stored).collect(),
            allowed_next,
        }
    }
}

/// A status change as the client asks for it.
#[derive(Debug, Clone)]
pub struct TransitionRequest {
    /// A status code or its zh-CN label.
    pub to: String,
    /// Who made the change (a person or a department).
    pub actor: String,
    pub note: Option<String>,
}

/// A checked status change.
struct Change<'a> {
    to: Status,
    actor: &'a str,
    note: Option<&'a str>,
}

impl TransitionRequest {
    fn check(&self) -> Result<Change<'_>, LifecycleError> {
        let to: Status = self.to.parse().map_err(LifecycleError::UnknownStatus)?;
        let actor = self.actor.trim();
        if actor.is_empty() || actor.chars().count() > 200 || actor.contains('\0') {
            return Err(LifecycleError::InvalidActor);
        }
        let note = self
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        if let Some(n) = note
            && (n.chars().count() > 4000 || n.contains('\0'))
        {
            return Err(LifecycleError::InvalidNote);
        }
        Ok(Change { to, actor, note })
    }
}

/// The event, its transitions (oldest first), its repeats' ids and its allowed next statuses.
pub async fn event(store: &Store, id: EventId) -> Result<EventDetail, LifecycleError> {
    store
        .event_detail(id.get())
        .await?
        .map(EventDetail::new)
        .ok_or(LifecycleError::NotFound(id))
}

/// Moves the event to `request.to` if the loop allows it from the status it has under the row
/// lock; returns the event as committed.
pub async fn transition(
    store: &Store,
    id: EventId,
    request: &TransitionRequest,
) -> Result<EventDetail, LifecycleError> {
    let change = request.check()?;
    let (mut lock, current) = store
        .lock_event(id.get())
        .await?
        .ok_or(LifecycleError::NotFound(id))?;
    let from = Status::parse(&current).ok_or_else(|| LifecycleError::CorruptStatus {
        id,
        status: current.clone(),
    })?;
    if !from.can_move_to(change.to) {
        return Err(LifecycleError::InvalidTransition {
            id,
            from,
            to: change.to,
        });
    }
    lock.apply(from.code(), change.to.code(), change.actor, change.note)
        .await?;
    let detail = lock
        .detail()
        .await?
        .map(EventDetail::new)
        .ok_or(LifecycleError::NotFound(id))?;
    lock.commit().await?;
    Ok(detail)
}
