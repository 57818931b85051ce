//! The closed loop: `POST /api/events/{id}/transitions` and `GET /api/events/{id}`.
//!
//! A status change locks the event row (`FOR UPDATE`), checks the move against
//! `Status::next`, updates the status with resolved_at/closed_at and logs the transition, all
//! in one transaction; two concurrent changes of one event are serialised by the lock, and the
//! second is judged against the status the first left.

use super::view::{event_json, transition_json};
use crate::api::AppState;
use crate::api::error::{ApiError, Json};
use crate::events::model::Status;
use crate::store::Op;
use crate::store::events as sql;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

/// Parses the `{id}` of an event path.
pub fn event_id(s: &str) -> Result<i64, ApiError> {
    s.trim()
        .parse::<i64>()
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_id",
                format!(
                    "事件编号应为正整数 (event id must be a positive integer, got '{}')",
                    s.chars().take(40).collect::<String>()
                ),
            )
        })
}

fn no_such_event(id: i64) -> ApiError {
    ApiError::not_found(format!("没有编号为 {id} 的事件 (no event with id {id})"))
}

async fn detail(conn: &mut sqlx::PgConnection, id: i64) -> Result<Value, ApiError> {
    let (event, transitions, repeats) = sql::event_detail(conn, id)
        .await?
        .ok_or_else(|| no_such_event(id))?;
    let mut v = event_json(&event, true);
    v["transitions"] = transitions.iter().map(transition_json).collect();
    v["repeats"] = json!(repeats);
    v["allowed_next"] = Status::parse(&event.status)
        .map(|s| s.next().iter().map(|n| n.code()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into();
    Ok(v)
}

/// `GET /api/events/{id}`: the event, its transitions (oldest first) and its repeats' ids.
pub async fn get_event(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let id = event_id(&id)?;
    let mut conn = state
        .store
        .pool
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    Ok(axum::Json(detail(&mut conn, id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionIn {
    to: String,
    actor: String,
    #[serde(default)]
    note: Option<String>,
}

fn unprocessable(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

/// `POST /api/events/{id}/transitions` with `{"to", "actor", "note"?}`.
pub async fn post_transition(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(input): Json<TransitionIn>,
) -> Result<axum::Json<Value>, ApiError> {
    let id = event_id(&id)?;
    let to: Status = input
        .to
        .parse()
        .map_err(|e: crate::events::model::UnknownValue| {
            unprocessable(
                "unknown_status",
                format!("{e} (unknown status '{}')", e.value),
            )
        })?;
    let actor = input.actor.trim();
    if actor.is_empty() || actor.chars().count() > 200 || actor.contains('\0') {
        return Err(unprocessable(
            "invalid_actor",
            "actor 应为 1 到 200 个字符，填写处置人或部门 (actor must be 1 to 200 characters: who made the change)".into(),
        ));
    }
    let note = input
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if let Some(n) = note
        && (n.chars().count() > 4000 || n.contains('\0'))
    {
        return Err(unprocessable(
            "invalid_note",
            "note 最长 4000 个字符 (note must be at most 4000 characters)".into(),
        ));
    }
    let mut tx = state
        .store
        .pool
        .begin()
        .await
        .op("starting a transaction")?;
    let current = sql::lock_status(&mut tx, id)
        .await?
        .ok_or_else(|| no_such_event(id))?;
    let from = Status::parse(&current).ok_or_else(|| {
        ApiError::internal(format!("event {id} has an unknown status '{current}'"))
    })?;
    if !from.can_move_to(to) {
        let allowed: Vec<&str> = from.next().iter().map(|s| s.code()).collect();
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_transition",
            format!(
                "事件当前状态为「{}」，不能转为「{}」；可转为：{} (event {id} is '{}' and cannot move to '{}'; allowed: {})",
                from.label(),
                to.label(),
                from.next().iter().map(|s| s.label()).collect::<Vec<_>>().join("、"),
                from.code(),
                to.code(),
                allowed.join(", ")
            ),
        )
        .with_details(json!({"from": from.code(), "to": to.code(), "allowed": allowed})));
    }
    sql::apply_transition(&mut tx, id, from.code(), to.code(), actor, note).await?;
    let body = detail(&mut tx, id).await?;
    tx.commit().await.op("committing a transition")?;
    Ok(axum::Json(body))
}
