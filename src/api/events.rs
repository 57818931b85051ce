//! Reporting events and the closed loop over HTTP: `POST /api/events` (one report or a batch,
//! `Idempotency-Key`), `GET /api/events/{id}` and `POST /api/events/{id}/transitions`.
//!
//! The handlers parse the request's edges (the `crs` parameter, the key header, the event id),
//! call `events::reporting::{ingest, lifecycle}`, and render their typed results as JSON; the
//! domain errors become error answers by the `From` impls below.

use super::AppState;
use super::access::Who;
use super::error::{ApiError, Json, Params, body_rejection};
use super::event_view::{event_json, transition_json};
use crate::crs::Crs;
use crate::events::model::{EventId, InvalidEventId};
use crate::events::reporting::ingest::{
    self, IdempotencyKey, IngestError, IngestOutcome, Ingested, ReportRequest, RowError, RowOutcome,
};
use crate::events::reporting::lifecycle::{self, EventDetail, LifecycleError, TransitionRequest};
use crate::store::event_reports::Answer;
use crate::store::events::EventRow;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

/// `POST /api/events[?crs=]` with an optional `Idempotency-Key` header: 201 once the events
/// are committed (200 for a single event that was stored already), or the stored answer with
/// `Idempotent-Replayed: true`.
pub async fn post_events(
    State(state): State<AppState>,
    who: Who,
    params: Params,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| body_rejection(e.status(), e.body_text()))?;
    let crs = match params.get("crs") {
        None => Crs::Wgs84,
        Some(s) => s.parse().map_err(|e: crate::crs::CrsError| {
            ApiError::bad_request("unknown_crs", e.to_string())
        })?,
    };
    let key = idempotency_key(&headers)?;
    let request = ReportRequest {
        body,
        crs,
        key,
        scope: (!who.sees_city()).then(|| who.0.scope.clone()),
    };
    Ok(
        match ingest::report(&state.store, &state.index, request, answer).await? {
            Ingested::Committed(a) => respond(a),
            Ingested::Replayed(a) => {
                let mut r = respond(a);
                r.headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
                r
            }
        },
    )
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    IdempotencyKey::parse(v.to_str().unwrap_or(""))
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key 应为 1 到 200 个可见字符 (Idempotency-Key must be 1 to 200 visible ASCII characters)",
            )
        })
}

fn respond(a: Answer) -> Response {
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::CREATED);
    (status, axum::Json(a.body)).into_response()
}

/// The answer to a committed request (also what is saved under its idempotency key).
fn answer(outcome: &IngestOutcome<'_>) -> Answer {
    match outcome {
        IngestOutcome::Single { event, created } => {
            let mut body = event_json(event, true);
            body["created"] = json!(created);
            body["repeat_of"] = body["duplicate_of"].clone();
            let status = if *created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Answer {
                status: status.as_u16(),
                body,
            }
        }
        IngestOutcome::Batch {
            created,
            existing,
            rows,
            errors,
        } => Answer {
            status: StatusCode::CREATED.as_u16(),
            body: json!({
                "created": created,
                "existing": existing,
                "events": rows.iter().map(row_json).collect::<Vec<_>>(),
                "errors": errors.iter().map(row_error_json).collect::<Vec<_>>(),
            }),
        },
    }
}

fn area_ref(a: &Option<crate::model::AreaRef>) -> Value {
    match a {
        Some(a) => json!({"code": a.code, "name": a.name}),
        None => Value::Null,
    }
}

/// A batch answer's row.
fn row_json(r: &RowOutcome<'_>) -> Value {
    match r {
        RowOutcome::New {
            report,
            id,
            created,
            deadline,
            repeat_of,
        } => {
            let a = &report.assignment;
            let c = &a.chain;
            json!({
                "index": report.index,
                "id": id,
                "client_id": report.client_id,
                "created": created,
                "status": "reported",
                "assigned": a.assigned,
                "unit": area_ref(&c.unit),
                "grid": area_ref(&c.grid),
                "village": area_ref(&c.village),
                "town": area_ref(&c.town),
                "district": area_ref(&c.district),
                "nearest_grid": a.nearest.as_ref().map(|n| json!({
                    "code": n.chain.grid.as_ref().map(|g| &g.code),
                    "name": n.chain.grid.as_ref().map(|g| &g.name),
                    "distance_m": n.distance_m,
                })),
                "deadline": deadline,
                "repeat_of": repeat_of,
            })
        }
        RowOutcome::Existing { index, event } => existing_json(*index, event),
    }
}

/// The answer's row for an event that was already stored (its client id was known).
fn existing_json(index: usize, e: &EventRow) -> Value {
    let a = |code: &Option<String>, name: &Option<String>| match code {
        Some(c) => json!({"code": c, "name": name}),
        None => Value::Null,
    };
    json!({
        "index": index,
        "id": e.id,
        "client_id": e.client_id,
        "created": false,
        "status": e.status,
        "assigned": e.assigned,
        "unit": a(&e.unit_code, &e.unit_name),
        "grid": a(&e.grid_code, &e.grid_name),
        "village": a(&e.village_code, &e.village_name),
        "town": a(&e.town_code, &e.town_name),
        "district": a(&e.district_code, &e.district_name),
        "nearest_grid": e.nearest_grid_code.as_ref().map(|c| json!({
            "code": c, "name": e.nearest_grid_name, "distance_m": e.nearest_grid_m,
        })),
        "deadline": e.deadline,
        "repeat_of": e.duplicate_of,
    })
}

fn row_error_json(e: &RowError) -> Value {
    json!({"index": e.index, "code": e.code, "message": e.message})
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> ApiError {
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        match e {
            IngestError::MalformedJson(_) => ApiError::bad_request("malformed_json", e.to_string()),
            IngestError::EmptyBody => ApiError::bad_request("empty_body", e.to_string()),
            IngestError::NotEvents => ApiError::new(unprocessable, "invalid_body", e.to_string()),
            IngestError::TooMany(_) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "batch_too_large",
                e.to_string(),
            ),
            IngestError::EmptyBatch => ApiError::new(unprocessable, "empty_batch", e.to_string()),
            IngestError::IndexLoading => ApiError::unavailable(e.to_string()),
            IngestError::Rejected(row) => ApiError::new(unprocessable, row.code, row.message),
            IngestError::NoValidEvents(ref rows) => {
                let errors: Vec<Value> = rows.iter().map(row_error_json).collect();
                ApiError::new(unprocessable, "no_valid_events", e.to_string())
                    .with_details(json!({ "errors": errors }))
            }
            IngestError::IdempotencyConflict => {
                ApiError::new(StatusCode::CONFLICT, "idempotency_conflict", e.to_string())
            }
            IngestError::Store(_) | IngestError::Task(_) => ApiError::internal(e),
        }
    }
}

/// Parses the `{id}` of an event path.
fn event_id(s: &str) -> Result<EventId, ApiError> {
    EventId::parse(s).map_err(ApiError::from)
}

impl From<InvalidEventId> for ApiError {
    fn from(e: InvalidEventId) -> ApiError {
        ApiError::bad_request("invalid_id", e.to_string())
    }
}

impl From<LifecycleError> for ApiError {
    fn from(e: LifecycleError) -> ApiError {
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        match e {
            LifecycleError::NotFound(_) => ApiError::not_found(e.to_string()),
            LifecycleError::UnknownStatus(_) => {
                ApiError::new(unprocessable, "unknown_status", e.to_string())
            }
            LifecycleError::InvalidActor => {
                ApiError::new(unprocessable, "invalid_actor", e.to_string())
            }
            LifecycleError::InvalidNote => {
                ApiError::new(unprocessable, "invalid_note", e.to_string())
            }
            LifecycleError::InvalidTransition { from, to, .. } => {
                let allowed: Vec<&str> = from.next().iter().map(|s| s.code()).collect();
                ApiError::new(StatusCode::CONFLICT, "invalid_transition", e.to_string())
                    .with_details(json!({"from": from.code(), "to": to.code(), "allowed": allowed}))
            }
            LifecycleError::CorruptStatus { .. } | LifecycleError::Store(_) => {
                ApiError::internal(e)
            }
        }
    }
}

/// An event with its history, as `GET /api/events/{id}` and a transition answer it.
fn detail_json(d: &EventDetail) -> Value {
    let mut v = event_json(&d.event, true);
    v["transitions"] = d.transitions.iter().map(transition_json).collect();
    v["repeats"] = json!(d.repeats);
    v["allowed_next"] = d
        .allowed_next
        .iter()
        .map(|s| s.code())
        .collect::<Vec<_>>()
        .into();
    v
}

/// `GET /api/events/{id}`: the event, its transitions (oldest first) and its repeats' ids.
pub async fn get_event(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let id = event_id(&id)?;
    let detail = lifecycle::event(&state.store, id).await?;
    Ok(axum::Json(detail_json(&detail)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionIn {
    to: String,
    actor: String,
    #[serde(default)]
    note: Option<String>,
}

/// `POST /api/events/{id}/transitions` with `{"to", "actor", "note"?}`.
pub async fn post_transition(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(input): Json<TransitionIn>,
) -> Result<axum::Json<Value>, ApiError> {
    let id = event_id(&id)?;
    let request = TransitionRequest {
        to: input.to,
        actor: input.actor,
        note: input.note,
    };
    let detail = lifecycle::transition(&state.store, id, &request).await?;
    Ok(axum::Json(detail_json(&detail)))
}
