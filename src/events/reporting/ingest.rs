//! Reporting events: one report or a batch of up to 10,000, validated row by row, assigned with
//! the in-memory index (the code path of /api/assign), and stored in one transaction with
//! set-based SQL: ids reserved, repeats found (each report's stored candidates read in one
//! query, then one rule in memory for them and the batch's own rows), events and their first
//! transition inserted by one statement, originals' repeat counts raised, the idempotency
//! answer saved, then COMMIT — so a committed outcome is durable.
//!
//! The steps, each a function below: parse and validate (`prepare`, off the async runtime) →
//! resolve idempotency (the stored answer for the key; client ids already stored) → assign
//! (in `validate`) → find repeats (`original_probes`, `repeats::link`) → insert (`fresh_rows`)
//! → answer (`resolve`, `outcome`). The answer is rendered by the caller (the API layer) from
//! the typed `IngestOutcome`, once per attempt, and saved with the events in the same
//! transaction, so a replay under the same Idempotency-Key returns the same bytes.
//!
//! No HTTP and no SQL here: the transaction is `store::event_reports::IngestTx`.

use super::repeats::{self, Candidate, Link, Rule};
use crate::access::Scope;
use crate::assign::{PointError, check_point};
use crate::crs::Crs;
use crate::events::model::{Category, EventId, Priority, Source};
use crate::index::{AssignIndex, Assignment, DEFAULT_TOLERANCE_M, Snapshot};
use crate::store::event_reports::{self, Answer, Finished, vanished};
use crate::store::events::{CategoryRow, EventRow, NewEvent, OriginalProbe, StoredAnswer};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::{HashMap, HashSet};

/// Most events one request may carry.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// How far ahead of the server's clock `reported_at` may be (clock skew of phones).
const MAX_FUTURE_S: i64 = 600;
/// Reports older than this are rejected as absurd (typos such as 1026 for 2026).
const EARLIEST: &str = "2000-01-01T00:00:00Z";
/// Times a transaction is retried after a deadlock or a concurrent client-id race.
const ATTEMPTS: usize = 4;

/// Why a request stored nothing. The messages are the ones the client sees.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("请求体不是合法的 JSON (malformed JSON): {0}")]
    MalformedJson(String),
    #[error(
        "请求体为空，应为一个事件对象或事件数组 (empty body: send one event object or an array of them)"
    )]
    EmptyBody,
    /// Valid JSON that is neither an object nor an array.
    #[error(
        "请求体应为一个事件对象或事件数组 (body must be an event object or an array of events)"
    )]
    NotEvents,
    #[error(
        "一次最多提交 {MAX_BATCH_EVENTS} 个事件，本次 {0} 个，请分批提交 (at most {MAX_BATCH_EVENTS} events per request, got {0})"
    )]
    TooMany(usize),
    #[error("事件数组为空 (the batch holds no events)")]
    EmptyBatch,
    #[error("分配索引正在加载，请稍候 (the assignment index is still loading)")]
    IndexLoading,
    /// The one report of a single-object request was refused.
    #[error("{}", .0.message)]
    Rejected(RowError),
    /// Every row of a batch was refused.
    #[error(
        "批次中的 {} 个事件均不合格，未保存任何事件 (none of the {} events is valid; nothing was stored)",
        .0.len(),
        .0.len()
    )]
    NoValidEvents(Vec<RowError>),
    #[error(
        "该 Idempotency-Key 已用于另一个不同的请求体 (this Idempotency-Key was already used with a different request body)"
    )]
    IdempotencyConflict,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("validating an event batch failed: {0}")]
    Task(String),
}

/// Why one row was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Position of the row in the request (0 for a single object).
    pub index: usize,
    pub code: &'static str,
    pub message: String,
}

fn row_err(index: usize, code: &'static str, message: String) -> RowError {
    RowError {
        index,
        code,
        message,
    }
}

/// The client's idempotency key: 1 to 200 characters, surrounding spaces ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(s: &str) -> Option<IdempotencyKey> {
        let s = s.trim();
        (!s.is_empty() && s.chars().count() <= 200).then(|| IdempotencyKey(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A key with the fingerprint of the request it came with (the coordinate system and the
/// body's bytes): the same key with another request is a conflict.
#[derive(Debug, Clone)]
struct Idempotency {
    key: IdempotencyKey,
    body_hash: Vec<u8>,
}

impl Idempotency {
    fn new(key: IdempotencyKey, crs: Crs, body: &[u8]) -> Idempotency {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(crs.to_string().as_bytes());
        h.update(&[0]);
        h.update(body);
        Idempotency {
            key,
            body_hash: h.digest128().to_be_bytes().to_vec(),
        }
    }

    /// The stored answer to replay, or a conflict when it answered another body.
    fn replay(&self, stored: StoredAnswer) -> Result<Answer, IngestError> {
        if stored.body_hash != self.body_hash {
            return Err(IngestError::IdempotencyConflict);
        }
        Ok(Answer {
            status: stored.status as u16,
            body: stored.response,
        })
    }
}

/// A request to report events: the body as sent (one event object or an array of them), the
/// default coordinate system of its points, and the client's idempotency key.
pub struct ReportRequest<B> {
    pub body: B,
    pub crs: Crs,
    pub key: Option<IdempotencyKey>,
    /// The reporter's scope: reports that fall outside it are refused row by row (None: the
    /// whole city).
    pub scope: Option<Scope>,
}

/// A report that passed every check, assigned.
#[derive(Debug, Clone)]
pub struct Report {
    /// Position in the request.
    pub index: usize,
    pub client_id: Option<String>,
    pub category: Category,
    pub subcategory: Option<String>,
    pub source: Source,
    pub priority: Priority,
    pub description: String,
    pub reporter: Option<String>,
    /// WGS84.
    pub lon: f64,
    pub lat: f64,
    pub reported_at: DateTime<Utc>,
    pub assignment: Assignment,
}

/// What a committed request did. Rendered by the caller into the answer.
#[derive(Debug)]
pub enum IngestOutcome<'a> {
    /// One event object was sent: the event as stored now, and whether this request created it
    /// (false: its client id was stored already).
    Single { event: &'a EventRow, created: bool },
    /// A batch: one entry per valid row in request order, and the refused rows.
    Batch {
        created: usize,
        existing: usize,
        rows: Vec<RowOutcome<'a>>,
        errors: &'a [RowError],
    },
}

/// What became of one valid row of a batch.
#[derive(Debug)]
pub enum RowOutcome<'a> {
    /// Stored by this request (`created`), or a later row of the batch carrying the client id of
    /// a row stored by it (`created` false; `id`, `deadline` and `repeat_of` are that row's).
    New {
        report: &'a Report,
        id: EventId,
        created: bool,
        deadline: DateTime<Utc>,
        repeat_of: Option<EventId>,
    },
    /// Its client id belongs to an event stored before (by an earlier or a concurrent request).
    Existing { index: usize, event: &'a EventRow },
}

/// How a request ended.
#[derive(Debug)]
pub enum Ingested {
    /// Committed by this request: the answer rendered from its outcome (and saved under the key).
    Committed(Answer),
    /// The key was used before (or by a concurrent request that committed first) with the same
    /// body: that request's answer, unchanged.
    Replayed(Answer),
}

/// Reports the events of `request`: replays a stored answer for its key, else validates,
/// assigns and stores the valid rows in one transaction (retried after deadlocks and client-id
/// races), rendering the answer with `render` before the commit. `Ok` means committed.
pub async fn report<B>(
    store: &Store,
    index: &AssignIndex,
    request: ReportRequest<B>,
    render: impl Fn(&IngestOutcome<'_>) -> Answer,
) -> Result<Ingested, IngestError>
where
    B: AsRef<[u8]> + Send + 'static,
{
    let ReportRequest {
        body,
        crs,
        key,
        scope,
    } = request;
    let idem = key.map(|k| Idempotency::new(k, crs, body.as_ref()));
    if let Some(idem) = &idem
        && let Some(stored) = store.stored_answer(idem.key.as_str()).await?
    {
        return idem.replay(stored).map(Ingested::Replayed);
    }
    let prepared = prepare(index, body, crs, scope.as_ref()).await?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match store_once(store, &prepared, idem.as_ref(), &render).await {
            Err(IngestError::Store(e)) if attempt < ATTEMPTS && event_reports::retryable(&e) => {
                tracing::debug!(error = %e, attempt, "retrying an event batch");
            }
            done => return done,
        }
    }
}

/// The valid rows of a request (at least one) and the refused ones.
struct Prepared {
    single: bool,
    valid: Vec<Report>,
    errors: Vec<RowError>,
}

/// Parses, validates and assigns every row off the async runtime, with one index snapshot.
async fn prepare<B>(
    index: &AssignIndex,
    body: B,
    crs: Crs,
    scope: Option<&Scope>,
) -> Result<Prepared, IngestError>
where
    B: AsRef<[u8]> + Send + 'static,
{
    if !index.is_loaded() {
        return Err(IngestError::IndexLoading);
    }
    let snapshot = index.snapshot();
    let now = Utc::now();
    let (single, rows) =
        tokio::task::spawn_blocking(move || parse_body(body.as_ref(), crs, &snapshot, now))
            .await
            .map_err(|e| IngestError::Task(e.to_string()))??;
    let mut valid = Vec::new();
    let mut errors = Vec::new();
    for r in rows {
        match r {
            Ok(v)
                if scope.is_some_and(|s| {
                    !v.assignment.finest_code().is_some_and(|c| s.contains(c))
                }) =>
            {
                errors.push(row_err(
                    v.index,
                    "out_of_scope",
                    "此位置不在您的管辖范围内 (the event lies outside your scope)".into(),
                ))
            }
            Ok(v) => valid.push(v),
            Err(e) => errors.push(e),
        }
    }
    if valid.is_empty() {
        return Err(if single {
            IngestError::Rejected(errors.swap_remove(0))
        } else {
            IngestError::NoValidEvents(errors)
        });
    }
    Ok(Prepared {
        single,
        valid,
        errors,
    })
}

/// A report as the client sends it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportIn {
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

type Rows = Vec<Result<Report, RowError>>;

/// The body: a single object (`true`) or a batch, each row valid or not.
fn parse_body(
    body: &[u8],
    default_crs: Crs,
    snapshot: &Snapshot,
    now: DateTime<Utc>,
) -> Result<(bool, Rows), IngestError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let malformed = |e: serde_json::Error| IngestError::MalformedJson(e.to_string());
    let items: Vec<&RawValue> = match first {
        Some(b'[') => serde_json::from_slice(body).map_err(malformed)?,
        Some(b'{') => vec![serde_json::from_slice(body).map_err(malformed)?],
        None => return Err(IngestError::EmptyBody),
        Some(_) => {
            // Valid JSON that is neither object nor array is a shape error, not a syntax error.
            serde_json::from_slice::<&RawValue>(body).map_err(malformed)?;
            return Err(IngestError::NotEvents);
        }
    };
    let single = first == Some(b'{');
    if items.len() > MAX_BATCH_EVENTS {
        return Err(IngestError::TooMany(items.len()));
    }
    if items.is_empty() {
        return Err(IngestError::EmptyBatch);
    }
    let earliest: DateTime<Utc> = EARLIEST.parse().expect("EARLIEST is RFC 3339");
    let latest = now + chrono::Duration::seconds(MAX_FUTURE_S);
    let bbox = snapshot.units_bbox();
    let rows = items
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            let input: ReportIn = serde_json::from_str(raw.get()).map_err(|e| {
                row_err(
                    index,
                    "invalid_event",
                    format!("第 {index} 条事件的字段不符合要求 (event {index} does not match the expected shape): {e}"),
                )
            })?;
            validate(index, input, default_crs, bbox, earliest, latest, now, snapshot)
        })
        .collect();
    Ok((single, rows))
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
    input: ReportIn,
    default_crs: Crs,
    bbox: Option<[f64; 4]>,
    earliest: DateTime<Utc>,
    latest: DateTime<Utc>,
    now: DateTime<Utc>,
    snapshot: &Snapshot,
) -> Result<Report, RowError> {
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
    Ok(Report {
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

/// One attempt at storing the valid rows, in one transaction.
async fn store_once(
    store: &Store,
    prepared: &Prepared,
    idem: Option<&Idempotency>,
    render: &impl Fn(&IngestOutcome<'_>) -> Answer,
) -> Result<Ingested, IngestError> {
    let t0 = std::time::Instant::now();
    let mut lap = Vec::with_capacity(8);
    let valid = &prepared.valid;
    let mut tx = store.begin_ingest().await?;
    let categories = tx.categories().await?;
    let rule_of = |c: &str| rule(&categories, c);

    // Idempotency per row: client ids already stored, and repeated within the batch.
    let client_ids: Vec<String> = valid.iter().filter_map(|v| v.client_id.clone()).collect();
    let plan = Plan::new(valid, &tx.ids_by_client_id(&client_ids).await?);

    // Repeats: the stored open originals that can matter, read once, then one rule in memory
    // for them and for the batch's own earlier rows.
    let candidates: Vec<Candidate> = plan
        .fresh
        .iter()
        .map(|&i| Candidate {
            category: valid[i].category.code(),
            lon: valid[i].lon,
            lat: valid[i].lat,
            reported_at: valid[i].reported_at,
        })
        .collect();
    let originals = tx
        .open_originals(&original_probes(&candidates, rule_of))
        .await?;
    let links = repeats::link(&candidates, &originals, rule_of);
    let ids = tx.allocate_ids(plan.fresh.len()).await?;
    lap.push(t0.elapsed());

    // Insert.
    let fresh = fresh_rows(valid, &plan.fresh, &ids, &links, &categories);
    lap.push(t0.elapsed());
    let inserted = tx.insert_events(&fresh.rows).await?;
    lap.push(t0.elapsed());
    // Rows skipped because a concurrent request stored their client id first.
    let raced: Vec<String> = fresh
        .rows
        .iter()
        .filter(|r| !inserted.contains(&r.id))
        .filter_map(|r| r.client_id.clone())
        .collect();
    let raced_ids = tx.ids_by_client_id(&raced).await?;
    tx.bump_repeat_counts(&fresh.bumps).await?;

    // The answer.
    let resolved = resolve(&plan.slots, &fresh.rows, &inserted, &raced_ids)?;
    let known_ids: Vec<i64> = resolved
        .iter()
        .filter_map(|r| match r {
            Resolved::Known(id) => Some(*id),
            _ => None,
        })
        .collect();
    let known: HashMap<i64, EventRow> = tx
        .events_by_ids(&known_ids)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let single_row;
    let outcome = if prepared.single {
        let (id, created) = match resolved[0] {
            Resolved::Created(k) => (ids[k], true),
            Resolved::CopyOf(k) => (ids[k], false),
            Resolved::Known(id) => (id, false),
        };
        let event = match known.get(&id) {
            Some(e) => e,
            None => {
                single_row = tx.events_by_ids(&[id]).await?.into_iter().next();
                single_row
                    .as_ref()
                    .ok_or_else(|| vanished("reading the stored event"))?
            }
        };
        IngestOutcome::Single { event, created }
    } else {
        batch_outcome(valid, &resolved, &fresh, &known, &prepared.errors)?
    };
    let answer = render(&outcome);
    lap.push(t0.elapsed());
    let saved = idem.map(|i| (i.key.as_str(), i.body_hash.as_slice(), &answer));
    let finished = tx.finish(saved).await?;
    lap.push(t0.elapsed());
    tracing::debug!(rows = valid.len(), laps_ms = ?lap.iter().map(|d| d.as_secs_f64() * 1000.0).collect::<Vec<_>>(),
        "event batch stored (repeats+ids, rows, insert, answer, commit)");
    match finished {
        Finished::Committed => Ok(Ingested::Committed(answer)),
        Finished::KeyTaken(stored) => match idem {
            Some(idem) => idem.replay(stored).map(Ingested::Replayed),
            None => Err(vanished("replaying an idempotency key").into()),
        },
    }
}

/// A category's repeat rule, if the category is known.
fn rule(categories: &HashMap<String, CategoryRow>, category: &str) -> Option<Rule> {
    categories.get(category).map(|k| Rule {
        radius_m: k.repeat_radius_m as f64,
        window_h: k.repeat_window_h as f64,
    })
}

/// A valid row that creates nothing: its client id is stored already, or an earlier row of
/// the batch (position among new rows) carries it.
#[derive(Debug, Clone, Copy)]
enum Existing {
    Stored(i64),
    InBatch(usize),
}

/// Which valid rows are new, after idempotency by client id.
struct Plan {
    /// Per valid row: its position among the new rows, or why it is not new.
    slots: Vec<Result<usize, Existing>>,
    /// The valid rows (by position) that are new, in order.
    fresh: Vec<usize>,
}

impl Plan {
    fn new(valid: &[Report], stored_ids: &HashMap<String, i64>) -> Plan {
        let mut first_of: HashMap<&str, usize> = HashMap::new();
        let mut slots = Vec::with_capacity(valid.len());
        let mut fresh = Vec::new();
        for (i, v) in valid.iter().enumerate() {
            if let Some(c) = v.client_id.as_deref() {
                if let Some(&id) = stored_ids.get(c) {
                    slots.push(Err(Existing::Stored(id)));
                    continue;
                }
                if let Some(&k) = first_of.get(c) {
                    slots.push(Err(Existing::InBatch(k)));
                    continue;
                }
                first_of.insert(c, fresh.len());
            }
            slots.push(Ok(fresh.len()));
            fresh.push(i);
        }
        Plan { slots, fresh }
    }
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

/// The new rows ready to insert, and the repeat counts of stored originals to raise.
struct FreshRows {
    rows: Vec<NewEvent>,
    /// (stored original, new repeats), sorted by id.
    bumps: Vec<(i64, i32)>,
}

/// Builds the new rows: ids, deadlines (the category's, scaled by priority), repeat links.
fn fresh_rows(
    valid: &[Report],
    fresh: &[usize],
    ids: &[i64],
    links: &[Option<Link>],
    categories: &HashMap<String, CategoryRow>,
) -> FreshRows {
    let mut repeat_count = vec![0i32; fresh.len()];
    let mut bumps: HashMap<i64, i32> = HashMap::new();
    let mut repeat_of: Vec<Option<i64>> = vec![None; fresh.len()];
    for (k, link) in links.iter().enumerate() {
        match *link {
            Some(Link::Stored(id)) => {
                *bumps.entry(id).or_default() += 1;
                repeat_of[k] = Some(id);
            }
            Some(Link::InBatch(j)) => {
                repeat_count[j] += 1;
                repeat_of[k] = Some(ids[j]);
            }
            None => {}
        }
    }
    let rows = fresh
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
    let mut bumps: Vec<(i64, i32)> = bumps.into_iter().collect();
    bumps.sort_unstable();
    FreshRows { rows, bumps }
}

/// Where a valid row's answer comes from once the insert is done.
#[derive(Debug, Clone, Copy)]
enum Resolved {
    /// New row `k`, inserted by this request.
    Created(usize),
    /// A later row carrying the client id of new row `k`, inserted by this request.
    CopyOf(usize),
    /// A stored event (stored before, or by a concurrent request that won the client id).
    Known(i64),
}

fn resolve(
    slots: &[Result<usize, Existing>],
    rows: &[NewEvent],
    inserted: &HashSet<i64>,
    raced_ids: &HashMap<String, i64>,
) -> Result<Vec<Resolved>, StoreError> {
    slots
        .iter()
        .map(|s| match *s {
            Ok(k) if inserted.contains(&rows[k].id) => Ok(Resolved::Created(k)),
            Err(Existing::Stored(id)) => Ok(Resolved::Known(id)),
            Err(Existing::InBatch(k)) if inserted.contains(&rows[k].id) => Ok(Resolved::CopyOf(k)),
            // Skipped by ON CONFLICT: the concurrent request's event; not found only if that
            // event was removed meanwhile.
            Ok(k) | Err(Existing::InBatch(k)) => rows[k]
                .client_id
                .as_ref()
                .and_then(|c| raced_ids.get(c))
                .map(|&id| Resolved::Known(id))
                .ok_or_else(|| vanished("matching skipped client ids")),
        })
        .collect()
}

/// The outcome of a batch, one entry per valid row.
fn batch_outcome<'a>(
    valid: &'a [Report],
    resolved: &[Resolved],
    fresh: &FreshRows,
    known: &'a HashMap<i64, EventRow>,
    errors: &'a [RowError],
) -> Result<IngestOutcome<'a>, StoreError> {
    let (mut created, mut existing) = (0usize, 0usize);
    let new = |report: &'a Report, k: usize, created: bool| {
        let row = &fresh.rows[k];
        RowOutcome::New {
            report,
            id: EventId::from_stored(row.id),
            created,
            deadline: row.deadline,
            repeat_of: row.duplicate_of.map(EventId::from_stored),
        }
    };
    let rows = valid
        .iter()
        .zip(resolved)
        .map(|(v, r)| match *r {
            Resolved::Created(k) => {
                created += 1;
                Ok(new(v, k, true))
            }
            Resolved::CopyOf(k) => {
                existing += 1;
                Ok(new(v, k, false))
            }
            Resolved::Known(id) => {
                existing += 1;
                known
                    .get(&id)
                    .map(|event| RowOutcome::Existing {
                        index: v.index,
                        event,
                    })
                    .ok_or_else(|| vanished("matching skipped client ids"))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(IngestOutcome::Batch {
        created,
        existing,
        rows,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(index: usize, client_id: Option<&str>) -> Report {
        Report {
            index,
            client_id: client_id.map(String::from),
            category: Category::Traffic,
            subcategory: None,
            source: Source::Patrol,
            priority: Priority::Normal,
            description: String::new(),
            reporter: None,
            lon: 119.0,
            lat: 25.4,
            reported_at: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            assignment: Snapshot::empty().assign(119.0, 25.4, DEFAULT_TOLERANCE_M),
        }
    }

    #[test]
    fn client_ids_stored_or_repeated_in_the_batch_create_nothing() {
        let valid = [
            report(0, Some("a")),
            report(1, None),
            report(2, Some("stored")),
            report(4, Some("a")),
            report(5, Some("b")),
        ];
        let stored = HashMap::from([("stored".to_string(), 77)]);
        let plan = Plan::new(&valid, &stored);
        assert_eq!(plan.fresh, vec![0, 1, 4]);
        let slots: Vec<String> = plan.slots.iter().map(|s| format!("{s:?}")).collect();
        assert_eq!(
            slots,
            [
                "Ok(0)",
                "Ok(1)",
                "Err(Stored(77))",
                "Err(InBatch(0))",
                "Ok(2)"
            ]
        );
    }

    #[test]
    fn rows_skipped_by_a_concurrent_request_resolve_to_its_events() {
        let valid = [report(0, Some("a")), report(1, Some("a")), report(2, None)];
        let plan = Plan::new(&valid, &HashMap::new());
        let categories = HashMap::new();
        let fresh = fresh_rows(&valid, &plan.fresh, &[10, 11], &[None, None], &categories);
        // Row "a" lost the race to event 5; the row without client id was inserted.
        let inserted = HashSet::from([11]);
        let raced = HashMap::from([("a".to_string(), 5)]);
        let got = resolve(&plan.slots, &fresh.rows, &inserted, &raced).unwrap();
        let got: Vec<String> = got.iter().map(|r| format!("{r:?}")).collect();
        assert_eq!(got, ["Known(5)", "Known(5)", "Created(1)"]);
        // Without the concurrent request's event the attempt fails (and is not answered).
        assert!(resolve(&plan.slots, &fresh.rows, &inserted, &HashMap::new()).is_err());
        // Inserted by this request: the later row with the same client id copies the first.
        let got = resolve(&plan.slots, &fresh.rows, &HashSet::from([10, 11]), &raced).unwrap();
        let got: Vec<String> = got.iter().map(|r| format!("{r:?}")).collect();
        assert_eq!(got, ["Created(0)", "CopyOf(0)", "Created(1)"]);
    }

    #[test]
    fn deadlines_scale_with_priority_and_unknown_categories_get_72_hours() {
        let mut urgent = report(0, None);
        urgent.priority = Priority::Urgent;
        let valid = [urgent, report(1, None)];
        let fresh = fresh_rows(
            &valid,
            &[0, 1],
            &[1, 2],
            &[None, Some(Link::InBatch(0))],
            &HashMap::new(),
        );
        let at = valid[0].reported_at;
        assert_eq!(fresh.rows[0].deadline, at + chrono::Duration::hours(18));
        assert_eq!(fresh.rows[1].deadline, at + chrono::Duration::hours(72));
        assert_eq!(fresh.rows[1].duplicate_of, Some(1));
        assert_eq!(fresh.rows[0].repeat_count, 1);
        assert!(fresh.bumps.is_empty());
    }

    #[test]
    fn body_shapes_are_told_apart() {
        let now = Utc::now();
        let s = Snapshot::empty();
        let parse = |b: &str| parse_body(b.as_bytes(), Crs::Wgs84, &s, now);
        assert!(matches!(parse("  "), Err(IngestError::EmptyBody)));
        assert!(matches!(parse("[]"), Err(IngestError::EmptyBatch)));
        assert!(matches!(parse("42"), Err(IngestError::NotEvents)));
        assert!(matches!(parse("{"), Err(IngestError::MalformedJson(_))));
        let (single, rows) = parse(r#"{"category": "food"}"#).unwrap();
        assert!(single);
        assert_eq!(rows[0].as_ref().unwrap_err().code, "invalid_event");
        let (single, rows) =
            parse(r#"[{"category": "nope", "source": "patrol", "lon": 1, "lat": 2}]"#).unwrap();
        assert!(!single);
        assert_eq!(rows[0].as_ref().unwrap_err().code, "unknown_category");
        let many = format!("[{}{{}}]", "{},".repeat(MAX_BATCH_EVENTS));
        assert!(matches!(parse(&many), Err(IngestError::TooMany(n)) if n == MAX_BATCH_EVENTS + 1));
    }
}
