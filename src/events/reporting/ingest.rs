//! `POST /api/events`: one report or a batch of up to 10,000, validated row by row, assigned
//! with the in-memory index (the code path of /api/assign), and stored in one transaction with
//! set-based SQL: ids reserved, repeats found (each report's stored candidates read in one query,
//! then one rule in memory for them and the batch's own rows), events and their first transition
//! inserted by one statement, originals' repeat
//! counts raised, the idempotency answer saved, then COMMIT — so 201 means durable.

use super::repeats::{self, Candidate, Link, Rule};
use crate::api::AppState;
use crate::api::error::{ApiError, Params, body_rejection};
use crate::assign::{PointError, check_point};
use crate::crs::Crs;
use crate::events::model::{Category, Priority, Source};
use crate::index::{Assignment, DEFAULT_TOLERANCE_M};
use crate::store::StoreError;
use crate::store::events::{self as sql, NewEvent, OriginalProbe, StoredAnswer};
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Most events one request may carry.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// How far ahead of the server's clock `reported_at` may be (clock skew of phones).
const MAX_FUTURE_S: i64 = 600;
/// Reports older than this are rejected as absurd (typos such as 1026 for 2026).
const EARLIEST: &str = "2000-01-01T00:00:00Z";
/// Times a transaction is retried after a deadlock or a concurrent client-id race.
const ATTEMPTS: usize = 4;

/// A report as the client sends it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventIn {
    #[serde(default)]
    id: Option<Value>,
    category: String,
    #[serde(default)]
    subcategory: Option<String>,
    source: String,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    reporter: Option<String>,
    lon: f64,
    lat: f64,
    #[serde(default)]
    crs: Option<String>,
    #[serde(default)]
    reported_at: Option<String>,
}

/// A report that passed every check, assigned.
struct Valid {
    index: usize,
    client_id: Option<String>,
    category: Category,
    subcategory: Option<String>,
    source: Source,
    priority: Priority,
    description: String,
    reporter: Option<String>,
    lon: f64,
    lat: f64,
    reported_at: DateTime<Utc>,
    assignment: Assignment,
}

/// Why one row was refused.
#[derive(Debug, Clone)]
struct RowError {
    index: usize,
    code: &'static str,
    message: String,
}

impl RowError {
    fn json(&self) -> Value {
        json!({"index": self.index, "code": self.code, "message": self.message})
    }
}

fn row_err(index: usize, code: &'static str, message: String) -> RowError {
    RowError {
        index,
        code,
        message,
    }
}

/// The parsed request: single object or batch, each row valid or not.
struct Parsed {
    single: bool,
    rows: Vec<Result<Valid, RowError>>,
}

fn parse_body(
    body: &[u8],
    default_crs: Crs,
    snapshot: &crate::index::Snapshot,
    now: DateTime<Utc>,
) -> Result<Parsed, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let malformed = |e: serde_json::Error| {
        ApiError::bad_request(
            "malformed_json",
            format!("请求体不是合法的 JSON (malformed JSON): {e}"),
        )
    };
    let items: Vec<&RawValue> = match first {
        Some(b'[') => serde_json::from_slice(body).map_err(malformed)?,
        Some(b'{') => vec![serde_json::from_slice(body).map_err(malformed)?],
        None => {
            return Err(ApiError::bad_request(
                "empty_body",
                "请求体为空，应为一个事件对象或事件数组 (empty body: send one event object or an array of them)",
            ));
        }
        Some(_) => {
            // Valid JSON that is neither object nor array is a shape error, not a syntax error.
            serde_json::from_slice::<&RawValue>(body).map_err(malformed)?;
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "请求体应为一个事件对象或事件数组 (body must be an event object or an array of events)",
            ));
        }
    };
    let single = first == Some(b'{');
    if items.len() > MAX_BATCH_EVENTS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "一次最多提交 {MAX_BATCH_EVENTS} 个事件，本次 {} 个，请分批提交 (at most {MAX_BATCH_EVENTS} events per request, got {})",
                items.len(),
                items.len()
            ),
        ));
    }
    if items.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_batch",
            "事件数组为空 (the batch holds no events)",
        ));
    }
    let earliest: DateTime<Utc> = EARLIEST.parse().expect("EARLIEST is RFC 3339");
    let latest = now + chrono::Duration::seconds(MAX_FUTURE_S);
    let bbox = snapshot.units_bbox();
    let rows = items
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            let input: EventIn = serde_json::from_str(raw.get()).map_err(|e| {
                row_err(
                    index,
                    "invalid_event",
                    format!("第 {index} 条事件的字段不符合要求 (event {index} does not match the expected shape): {e}"),
                )
            })?;
            validate(index, input, default_crs, bbox, earliest, latest, now, snapshot)
        })
        .collect();
    Ok(Parsed { single, rows })
}

fn text(
    index: usize,
    name: &str,
    v: Option<String>,
    max_chars: usize,
) -> Result<Option<String>, RowError> {
    let Some(v) = v else { return Ok(None) };
    let v = v.trim().to_string();
    if v.contains('\0') {
        return Err(row_err(
            index,
            "invalid_text",
            format!("字段 {name} 含有空字符 (field '{name}' contains a NUL character)"),
        ));
    }
    if v.chars().count() > max_chars {
        return Err(row_err(
            index,
            "too_long",
            format!(
                "字段 {name} 最长 {max_chars} 个字符 (field '{name}' is longer than {max_chars} characters)"
            ),
        ));
    }
    Ok((!v.is_empty()).then_some(v))
}

fn vocab<T>(index: usize, code: &'static str, s: &str) -> Result<T, RowError>
where
    T: std::str::FromStr<Err = crate::events::model::UnknownValue>,
{
    s.parse::<T>()
        .map_err(|e| row_err(index, code, format!("{e} (unknown value '{}')", e.value)))
}

#[allow(clippy::too_many_arguments)]
fn validate(
    index: usize,
    input: EventIn,
    default_crs: Crs,
    bbox: Option<[f64; 4]>,
    earliest: DateTime<Utc>,
    latest: DateTime<Utc>,
    now: DateTime<Utc>,
    snapshot: &crate::index::Snapshot,
) -> Result<Valid, RowError> {
    let client_id = match input.id {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let s = s.trim().to_string();
            if s.is_empty() || s.chars().count() > 128 || s.contains('\0') {
                return Err(row_err(
                    index,
                    "invalid_id",
                    "字段 id 应为 1 到 128 个字符的字符串 (id must be a string of 1 to 128 characters)".into(),
                ));
            }
            Some(s)
        }
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Some(other) => {
            return Err(row_err(
                index,
                "invalid_id",
                format!("字段 id 应为字符串 (id must be a string, got {other})"),
            ));
        }
    };
    let category: Category = vocab(index, "unknown_category", &input.category)?;
    let source: Source = vocab(index, "unknown_source", &input.source)?;
    let priority: Priority = match input.priority.as_deref() {
        None => Priority::Normal,
        Some(p) => vocab(index, "unknown_priority", p)?,
    };
    let crs = match input.crs.as_deref() {
        None => default_crs,
        Some(c) => c.parse().map_err(|e: crate::crs::CrsError| {
            row_err(index, "unknown_crs", format!("未知的坐标系 ({e})"))
        })?,
    };
    let (lon, lat) = check_point(input.lon, input.lat, crs, bbox)
        .map_err(|PointError { code, message }| row_err(index, code, message))?;
    let reported_at = match input.reported_at.as_deref() {
        None => now,
        Some(s) => {
            let t = DateTime::parse_from_rfc3339(s.trim())
                .map_err(|e| {
                    row_err(
                        index,
                        "invalid_time",
                        format!("reported_at 应为 RFC 3339 时间，如 2026-12-01T08:30:00+08:00 (reported_at must be an RFC 3339 time, got '{}': {e})", s.chars().take(60).collect::<String>()),
                    )
                })?
                .with_timezone(&Utc);
            if t > latest {
                return Err(row_err(
                    index,
                    "time_in_future",
                    format!(
                        "reported_at 晚于当前时间 (reported_at {s} is in the future; server time is {now})"
                    ),
                ));
            }
            if t < earliest {
                return Err(row_err(
                    index,
                    "time_too_old",
                    format!(
                        "reported_at 早于 2000 年，请检查 (reported_at {s} is before 2000-01-01)"
                    ),
                ));
            }
            t
        }
    };
    Ok(Valid {
        index,
        client_id,
        category,
        subcategory: text(index, "subcategory", input.subcategory, 100)?,
        source,
        priority,
        description: text(index, "description", input.description, 4000)?.unwrap_or_default(),
        reporter: text(index, "reporter", input.reporter, 200)?,
        lon,
        lat,
        reported_at,
        assignment: snapshot.assign(lon, lat, DEFAULT_TOLERANCE_M),
    })
}

fn body_hash(crs: Crs, body: &[u8]) -> Vec<u8> {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(crs.to_string().as_bytes());
    h.update(&[0]);
    h.update(body);
    h.digest128().to_be_bytes().to_vec()
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let s = v.to_str().map(str::trim).unwrap_or("");
    if s.is_empty() || s.chars().count() > 200 {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key 应为 1 到 200 个可见字符 (Idempotency-Key must be 1 to 200 visible ASCII characters)",
        ));
    }
    Ok(Some(s.to_string()))
}

/// Replays a stored answer, or refuses a different body under the same key.
fn replay(stored: StoredAnswer, hash: &[u8]) -> Result<Response, ApiError> {
    if stored.body_hash != hash {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_conflict",
            "该 Idempotency-Key 已用于另一个不同的请求体 (this Idempotency-Key was already used with a different request body)",
        ));
    }
    let status = StatusCode::from_u16(stored.status as u16).unwrap_or(StatusCode::CREATED);
    let mut r = (status, axum::Json(stored.response)).into_response();
    r.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(r)
}

fn area_ref(a: &Option<crate::model::AreaRef>) -> Value {
    match a {
        Some(a) => json!({"code": a.code, "name": a.name}),
        None => Value::Null,
    }
}

/// The answer's row for an event stored by this request.
fn created_json(v: &Valid, id: i64, deadline: DateTime<Utc>, repeat_of: Option<i64>) -> Value {
    let c = &v.assignment.chain;
    json!({
        "index": v.index,
        "id": id,
        "client_id": v.client_id,
        "created": true,
        "status": "reported",
        "assigned": v.assignment.assigned,
        "unit": area_ref(&c.unit),
        "grid": area_ref(&c.grid),
        "village": area_ref(&c.village),
        "town": area_ref(&c.town),
        "district": area_ref(&c.district),
        "nearest_grid": v.assignment.nearest.as_ref().map(|n| json!({
            "code": n.chain.grid.as_ref().map(|g| &g.code),
            "name": n.chain.grid.as_ref().map(|g| &g.name),
            "distance_m": n.distance_m,
        })),
        "deadline": deadline,
        "repeat_of": repeat_of,
    })
}

/// The answer's row for an event that was already stored (its client id was known).
fn existing_json(index: usize, e: &sql::EventRow) -> Value {
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

/// What one transaction produced: the answer, or a replay of a concurrent request's answer.
enum Outcome {
    Answer(StatusCode, Value),
    Replay(StoredAnswer),
}

/// `POST /api/events[?crs=]` with an optional `Idempotency-Key` header.
pub async fn post_events(
    State(state): State<AppState>,
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
    let hash = body_hash(crs, &body);
    if let Some(key) = &key {
        let mut conn = state
            .store
            .pool
            .acquire()
            .await
            .map_err(ApiError::internal)?;
        if let Some(stored) = sql::stored_answer(&mut conn, key).await? {
            return replay(stored, &hash);
        }
    }
    if !state.index.is_loaded() {
        return Err(ApiError::unavailable(
            "分配索引正在加载，请稍候 (the assignment index is still loading)",
        ));
    }
    let snapshot = state.index.snapshot();
    let now = Utc::now();
    let parsed = tokio::task::spawn_blocking(move || parse_body(&body, crs, &snapshot, now))
        .await
        .map_err(ApiError::internal)??;

    let mut valid = Vec::new();
    let mut errors = Vec::new();
    for r in parsed.rows {
        match r {
            Ok(v) => valid.push(v),
            Err(e) => errors.push(e),
        }
    }
    if valid.is_empty() {
        if parsed.single {
            let e = &errors[0];
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                e.code,
                e.message.clone(),
            ));
        }
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_valid_events",
            format!(
                "批次中的 {} 个事件均不合格，未保存任何事件 (none of the {} events is valid; nothing was stored)",
                errors.len(),
                errors.len()
            ),
        )
        .with_details(json!({"errors": errors.iter().map(RowError::json).collect::<Vec<_>>()})));
    }

    let mut attempt = 0;
    let outcome = loop {
        attempt += 1;
        match store_batch(
            &state,
            &valid,
            &errors,
            parsed.single,
            key.as_deref(),
            &hash,
        )
        .await
        {
            Ok(o) => break o,
            Err(e)
                if attempt < ATTEMPTS
                    && matches!(
                        sql::sqlstate(&e).as_deref(),
                        Some("40P01" | "40001" | "23503" | "23505")
                    ) =>
            {
                tracing::debug!(error = %e, attempt, "retrying an event batch");
            }
            Err(e) => return Err(e.into()),
        }
    };
    match outcome {
        Outcome::Answer(status, body) => Ok((status, axum::Json(body)).into_response()),
        Outcome::Replay(stored) => replay(stored, &hash),
    }
}

/// One attempt at storing the valid rows, in one transaction.
async fn store_batch(
    state: &AppState,
    valid: &[Valid],
    errors: &[RowError],
    single: bool,
    key: Option<&str>,
    hash: &[u8],
) -> Result<Outcome, StoreError> {
    use crate::store::Op;
    let t0 = std::time::Instant::now();
    let mut lap = Vec::with_capacity(8);
    let mut tx = state
        .store
        .pool
        .begin()
        .await
        .op("starting a transaction")?;
    let categories: HashMap<String, sql::CategoryRow> = sql::categories(&mut tx)
        .await?
        .into_iter()
        .map(|c| (c.code.clone(), c))
        .collect();

    // Client ids already stored, and repeated within the batch: those rows are not new.
    let client_ids: Vec<String> = valid.iter().filter_map(|v| v.client_id.clone()).collect();
    let stored_ids: HashMap<String, i64> = sql::ids_by_client_id(&mut tx, &client_ids)
        .await?
        .into_iter()
        .collect();
    // Per valid row: Err(existing id) or Ok(position among new rows).
    let mut first_of: HashMap<&str, usize> = HashMap::new();
    let mut slot: Vec<Result<usize, Existing>> = Vec::with_capacity(valid.len());
    let mut fresh: Vec<usize> = Vec::new();
    for (i, v) in valid.iter().enumerate() {
        if let Some(c) = v.client_id.as_deref() {
            if let Some(&id) = stored_ids.get(c) {
                slot.push(Err(Existing::Stored(id)));
                continue;
            }
            if let Some(&k) = first_of.get(c) {
                slot.push(Err(Existing::InBatch(k)));
                continue;
            }
            first_of.insert(c, fresh.len());
        }
        slot.push(Ok(fresh.len()));
        fresh.push(i);
    }

    // Repeats: the stored open originals that can matter, read once, then one rule in memory
    // for them and for the batch's own earlier rows.
    let candidates: Vec<Candidate> = fresh
        .iter()
        .map(|&i| Candidate {
            category: valid[i].category.code(),
            lon: valid[i].lon,
            lat: valid[i].lat,
            reported_at: valid[i].reported_at,
        })
        .collect();
    let rule = |c: &str| {
        categories.get(c).map(|k| Rule {
            radius_m: k.repeat_radius_m as f64,
            window_h: k.repeat_window_h as f64,
        })
    };
    let stored = sql::open_originals(&mut tx, &original_probes(&candidates, rule)).await?;
    let links = repeats::link(&candidates, &stored, rule);
    let ids = sql::allocate_ids(&mut tx, fresh.len()).await?;
    lap.push(t0.elapsed());
    let mut repeat_count = vec![0i32; fresh.len()];
    let mut bumps: HashMap<i64, i32> = HashMap::new();
    let mut repeat_of: Vec<Option<i64>> = vec![None; fresh.len()];
    for (k, link) in links.iter().enumerate() {
        if let Some(Link::Stored(id)) = *link {
            *bumps.entry(id).or_default() += 1;
            repeat_of[k] = Some(id);
        } else if let Some(Link::InBatch(j)) = *link {
            repeat_count[j] += 1;
            repeat_of[k] = Some(ids[j]);
        }
    }
    let mut deadlines = Vec::with_capacity(fresh.len());
    let rows: Vec<NewEvent> = fresh
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let v = &valid[i];
            let normal = categories
                .get(v.category.code())
                .map(|c| c.deadline_hours.max(1) as u32)
                .unwrap_or(72);
            let hours = v.priority.deadline_hours(normal);
            let deadline =
                v.reported_at + chrono::Duration::milliseconds((hours * 3_600_000.0) as i64);
            deadlines.push(deadline);
            let chain = &v.assignment.chain;
            let code = |a: &Option<crate::model::AreaRef>| a.as_ref().map(|a| a.code.clone());
            NewEvent {
                id: ids[k],
                client_id: v.client_id.clone(),
                category: v.category.code(),
                subcategory: v.subcategory.clone(),
                source: v.source.code(),
                priority: v.priority.code(),
                description: v.description.clone(),
                reporter: v.reporter.clone(),
                lon: v.lon,
                lat: v.lat,
                reported_at: v.reported_at,
                assigned: v.assignment.assigned,
                chain: [
                    code(&chain.unit),
                    code(&chain.grid),
                    code(&chain.village),
                    code(&chain.town),
                    code(&chain.district),
                ],
                nearest_grid_code: v
                    .assignment
                    .nearest
                    .as_ref()
                    .and_then(|n| code(&n.chain.grid)),
                nearest_grid_m: v.assignment.nearest.as_ref().map(|n| n.distance_m as f32),
                deadline,
                duplicate_of: repeat_of[k],
                repeat_count: repeat_count[k],
                actor: v
                    .reporter
                    .clone()
                    .unwrap_or_else(|| v.source.code().to_string()),
            }
        })
        .collect();
    lap.push(t0.elapsed());
    let inserted: std::collections::HashSet<i64> = sql::insert_events(&mut tx, &rows)
        .await?
        .into_iter()
        .collect();
    lap.push(t0.elapsed());
    // Rows skipped because a concurrent request stored their client id first.
    let raced: Vec<String> = rows
        .iter()
        .filter(|r| !inserted.contains(&r.id))
        .filter_map(|r| r.client_id.clone())
        .collect();
    let raced_ids: HashMap<String, i64> = sql::ids_by_client_id(&mut tx, &raced)
        .await?
        .into_iter()
        .collect();
    let mut bumps: Vec<(i64, i32)> = bumps.into_iter().collect();
    bumps.sort_unstable();
    sql::bump_repeat_counts(&mut tx, &bumps).await?;

    // The answer.
    let existing_ids: Vec<i64> = slot
        .iter()
        .filter_map(|s| match s {
            Err(Existing::Stored(id)) => Some(*id),
            Err(Existing::InBatch(k)) if !inserted.contains(&ids[*k]) => rows[*k]
                .client_id
                .as_ref()
                .and_then(|c| raced_ids.get(c))
                .copied(),
            Ok(k) if !inserted.contains(&ids[*k]) => rows[*k]
                .client_id
                .as_ref()
                .and_then(|c| raced_ids.get(c))
                .copied(),
            _ => None,
        })
        .collect();
    let existing_rows: HashMap<i64, sql::EventRow> = sql::events_by_ids(&mut tx, &existing_ids)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let (mut created, mut existing) = (0usize, 0usize);
    let mut out = Vec::with_capacity(valid.len());
    for (v, s) in valid.iter().zip(&slot) {
        let stored_id = match s {
            Ok(k) if inserted.contains(&ids[*k]) => {
                created += 1;
                out.push(created_json(v, ids[*k], deadlines[*k], repeat_of[*k]));
                continue;
            }
            Err(Existing::Stored(id)) => Some(*id),
            Ok(k) | Err(Existing::InBatch(k)) => {
                if inserted.contains(&ids[*k]) {
                    // A second row of this batch with the client id of a row stored by it.
                    existing += 1;
                    let mut j = created_json(v, ids[*k], deadlines[*k], repeat_of[*k]);
                    j["created"] = json!(false);
                    j["index"] = json!(v.index);
                    out.push(j);
                    continue;
                }
                rows[*k]
                    .client_id
                    .as_ref()
                    .and_then(|c| raced_ids.get(c))
                    .copied()
            }
        };
        let row = stored_id.and_then(|id| existing_rows.get(&id));
        match row {
            Some(e) => {
                existing += 1;
                out.push(existing_json(v.index, e));
            }
            None => {
                // Skipped by ON CONFLICT yet not found: only possible if that event was removed
                // meanwhile; retry the whole request.
                return Err(StoreError::Db {
                    op: "matching skipped client ids",
                    source: sqlx::Error::Protocol("client id vanished; retry".into()),
                });
            }
        }
    }

    let (status, answer) = if single {
        let id = out[0]["id"].as_i64().unwrap_or_default();
        let row = sql::events_by_ids(&mut tx, &[id]).await?.into_iter().next();
        let status = if created == 1 {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let mut body = row
            .map(|e| super::view::event_json(&e, true))
            .unwrap_or(Value::Null);
        body["created"] = json!(created == 1);
        body["repeat_of"] = body["duplicate_of"].clone();
        (status, body)
    } else {
        (
            StatusCode::CREATED,
            json!({
                "created": created,
                "existing": existing,
                "events": out,
                "errors": errors.iter().map(RowError::json).collect::<Vec<_>>(),
            }),
        )
    };
    if let Some(key) = key {
        let stored = StoredAnswer {
            body_hash: hash.to_vec(),
            status: status.as_u16() as i16,
            response: answer.clone(),
        };
        if !sql::save_answer(&mut tx, key, &stored).await? {
            tx.rollback().await.op("rolling back")?;
            let mut conn = state.store.pool.acquire().await.op("connecting")?;
            if let Some(s) = sql::stored_answer(&mut conn, key).await? {
                return Ok(Outcome::Replay(s));
            }
            return Err(StoreError::Db {
                op: "replaying an idempotency key",
                source: sqlx::Error::Protocol("idempotency key vanished".into()),
            });
        }
    }
    lap.push(t0.elapsed());
    tx.commit().await.op("committing events")?;
    lap.push(t0.elapsed());
    tracing::debug!(rows = valid.len(), laps_ms = ?lap.iter().map(|d| d.as_secs_f64() * 1000.0).collect::<Vec<_>>(),
        "event batch stored (repeats, ids, rows, insert, answer, commit)");
    Ok(Outcome::Answer(status, answer))
}

/// For each row whose category links repeats: the box its radius can reach and its window.
fn original_probes(
    rows: &[Candidate],
    rule: impl Fn(&str) -> Option<Rule>,
) -> Vec<OriginalProbe<'static>> {
    rows.iter()
        .filter_map(|r| {
            let k = rule(r.category).filter(|k| k.radius_m > 0.0 && k.window_h > 0.0)?;
            // Degrees per metre, generous (2 %, the disc's farthest latitude): the exact test is
            // the distance, in `repeats::link`.
            let dy = k.radius_m * 1.02 / 110_574.0;
            let far_lat = (r.lat.abs() + dy).min(89.0);
            let dx = k.radius_m * 1.02 / (111_320.0 * far_lat.to_radians().cos());
            let window = chrono::Duration::milliseconds((k.window_h * 3_600_000.0) as i64);
            Some(OriginalProbe {
                category: r.category,
                bbox: [r.lon - dx, r.lat - dy, r.lon + dx, r.lat + dy],
                from: r.reported_at - window,
                to: r.reported_at,
            })
        })
        .collect()
}

/// A valid row that creates nothing: its client id is stored already, or an earlier row of
/// the batch (position among new rows) carries it.
enum Existing {
    Stored(i64),
    InBatch(usize),
}
