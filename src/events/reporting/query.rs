//! `GET /api/events` (filters, keyset pages newest first, JSON or GeoJSON) and
//! `GET /api/events.csv` (the same filters, every matching row, streamed).

use super::view::{CSV_HEADER, csv_record, event_feature, event_json};
use crate::api::AppState;
use crate::api::error::{ApiError, Params, parse_finite};
use crate::events::model::{Category, Source, Status, UnknownValue};
use crate::model::Level;
use crate::store::events::{self as sql, EventFilter, EventRow};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

/// Rows per page unless `limit` says otherwise, and the most a page may hold.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

fn list<T>(
    params: &Params,
    name: &str,
    code: &'static str,
    parse: fn(&str) -> Result<T, UnknownValue>,
    to_code: fn(T) -> &'static str,
) -> Result<Vec<String>, ApiError> {
    let Some(s) = params.get(name) else {
        return Ok(Vec::new());
    };
    s.split([',', '，'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|v| {
            parse(v).map(|t| to_code(t).to_string()).map_err(|e| {
                ApiError::bad_request(code, format!("{e} (unknown value '{}' in {name})", e.value))
            })
        })
        .collect()
}

fn time(params: &Params, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(s) = params.get(name) else {
        return Ok(None);
    };
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    // A bare date is midnight Beijing time, as people in the city mean it.
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(Some(t.and_utc() - chrono::Duration::hours(8)));
    }
    Err(ApiError::bad_request(
        "invalid_time",
        format!(
            "参数 {name} 应为 RFC 3339 时间（如 2026-12-01T08:00:00+08:00）或日期 2026-12-01 ({name} must be an RFC 3339 time or a date, got '{}')",
            s.chars().take(60).collect::<String>()
        ),
    ))
}

fn bbox(params: &Params) -> Result<Option<[f64; 4]>, ApiError> {
    let Some(s) = params.get("bbox") else {
        return Ok(None);
    };
    let bad = |why: &str| {
        ApiError::bad_request(
            "invalid_bbox",
            format!(
                "bbox 应为 minlon,minlat,maxlon,maxlat (bbox must be minlon,minlat,maxlon,maxlat: {why})"
            ),
        )
    };
    let parts: Vec<&str> = s.split(',').collect();
    if parts.len() != 4 {
        return Err(bad(&format!("got {} numbers", parts.len())));
    }
    let mut v = [0.0; 4];
    for (slot, p) in v.iter_mut().zip(&parts) {
        *slot = parse_finite("bbox", p).map_err(|_| bad(&format!("'{p}' is not a number")))?;
    }
    if !(-180.0..=180.0).contains(&v[0])
        || !(-180.0..=180.0).contains(&v[2])
        || !(-90.0..=90.0).contains(&v[1])
        || !(-90.0..=90.0).contains(&v[3])
    {
        return Err(bad("out of range"));
    }
    if v[0] > v[2] || v[1] > v[3] {
        return Err(bad("min is greater than max"));
    }
    Ok(Some(v))
}

/// The opaque cursor: the last row's (reported_at, id).
fn encode_cursor(e: &EventRow) -> String {
    format!("e1{:x}g{:x}", e.reported_at.timestamp_micros(), e.id)
}

fn decode_cursor(s: &str) -> Result<(DateTime<Utc>, i64), ApiError> {
    let bad = || {
        ApiError::bad_request(
            "invalid_cursor",
            "cursor 无效，请使用上一页返回的 next (invalid cursor: pass the 'next' value of the previous page)",
        )
    };
    let rest = s.trim().strip_prefix("e1").ok_or_else(bad)?;
    let (t, id) = rest.split_once('g').ok_or_else(bad)?;
    let t = i64::from_str_radix(t, 16).map_err(|_| bad())?;
    let id = i64::from_str_radix(id, 16).map_err(|_| bad())?;
    let t = DateTime::from_timestamp_micros(t).ok_or_else(bad)?;
    Ok((t, id))
}

/// Parses every filter of the query string (shared by the list and the CSV export).
async fn filter(state: &AppState, params: &Params) -> Result<EventFilter, ApiError> {
    let mut f = EventFilter {
        bbox: bbox(params)?,
        categories: list(
            params,
            "category",
            "unknown_category",
            str::parse::<Category>,
            Category::code,
        )?,
        statuses: list(
            params,
            "status",
            "unknown_status",
            str::parse::<Status>,
            Status::code,
        )?,
        sources: list(
            params,
            "source",
            "unknown_source",
            str::parse::<Source>,
            Source::code,
        )?,
        from: time(params, "from")?,
        to: time(params, "to")?,
        overdue: params.flag("overdue")?,
        unassigned: params.flag("unassigned")?,
        ..Default::default()
    };
    if let (Some(a), Some(b)) = (f.from, f.to)
        && a > b
    {
        return Err(ApiError::bad_request(
            "invalid_time",
            "from 不能晚于 to (from must not be after to)",
        ));
    }
    if let Some(code) = params.get("area") {
        let code = code.trim().to_string();
        let mut conn = state
            .store
            .pool
            .acquire()
            .await
            .map_err(ApiError::internal)?;
        let level = sql::area_level(&mut conn, &code)
            .await?
            .and_then(Level::from_rank)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "unknown_area",
                    format!(
                        "没有编码为 {} 的区域 (no area with code '{}')",
                        code.chars().take(40).collect::<String>(),
                        code.chars().take(40).collect::<String>()
                    ),
                )
            })?;
        let column = match level {
            Level::City => None,
            Level::District => Some("district_code"),
            Level::Town => Some("town_code"),
            Level::Village => Some("village_code"),
            Level::Grid => Some("grid_code"),
            Level::Unit => Some("unit_code"),
        };
        f.area = Some((column, code));
    }
    Ok(f)
}

/// `GET /api/events?bbox=&area=&category=&status=&source=&from=&to=&overdue=&unassigned=
/// &limit=&cursor=&format=json|geojson`
pub async fn list_events(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ApiError> {
    let mut f = filter(&state, &params).await?;
    let limit = params.integer_in("limit", 1..=MAX_LIMIT, DEFAULT_LIMIT)?;
    if let Some(c) = params.get("cursor") {
        f.after = Some(decode_cursor(c)?);
    }
    let geojson = match params.get("format").map(|s| s.trim().to_ascii_lowercase()) {
        None => false,
        Some(s) if s == "json" => false,
        Some(s) if s == "geojson" => true,
        Some(s) => {
            return Err(ApiError::bad_request(
                "invalid_format",
                format!("format 应为 json 或 geojson (format must be json or geojson, got '{s}')"),
            ));
        }
    };
    let mut conn = state
        .store
        .pool
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let mut rows = sql::list_events(&mut conn, &f, limit + 1).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(encode_cursor)
    } else {
        None
    };
    let body = if geojson {
        json!({
            "type": "FeatureCollection",
            "features": rows.iter().map(event_feature).collect::<Vec<_>>(),
            "next": next,
        })
    } else {
        json!({
            "events": rows.iter().map(|e| event_json(e, true)).collect::<Vec<_>>(),
            "next": next,
        })
    };
    Ok(axum::Json::<Value>(body).into_response())
}

/// `GET /api/events.csv` with the filters of the list: every matching row, newest first,
/// UTF-8 with a byte-order mark and a zh-CN header row (so Excel shows the Chinese).
pub async fn export_csv(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ApiError> {
    let f = filter(&state, &params).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<EventRow>(1024);
    let store = state.store.clone();
    tokio::spawn(async move {
        let result = async {
            let mut conn = store.pool.acquire().await.map_err(|e| e.to_string())?;
            sql::stream_events(&mut conn, &f, tx)
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        if let Err(e) = result {
            // The status line is gone already; the client sees a truncated file.
            tracing::error!(error = %e, "CSV export failed mid-stream");
        }
    });
    let mut head = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    head.write_record(CSV_HEADER).map_err(ApiError::internal)?;
    let head = head.into_inner().map_err(ApiError::internal)?;
    let first =
        futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(Bytes::from(head)) });
    let rows = futures_util::stream::unfold(rx, |mut rx| async move {
        let first = rx.recv().await?;
        Some((csv_chunk(first, &mut rx), rx))
    });
    let body = Body::from_stream(futures_util::StreamExt::chain(first, rows));
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"events.csv\""),
    );
    Ok(r)
}

/// Encodes `first` and whatever rows are already waiting (up to ~60 KiB) as one body chunk.
fn csv_chunk(
    first: EventRow,
    rx: &mut tokio::sync::mpsc::Receiver<EventRow>,
) -> Result<Bytes, std::io::Error> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(64 * 1024));
    w.write_record(csv_record(&first))?;
    while w.get_ref().len() < 60 * 1024 {
        match rx.try_recv() {
            Ok(e) => w.write_record(csv_record(&e))?,
            Err(_) => break,
        }
    }
    w.into_inner()
        .map(Bytes::from)
        .map_err(|e| std::io::Error::other(e.to_string()))
}
