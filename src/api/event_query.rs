//! `GET /api/events` (filters, keyset pages newest first, JSON or GeoJSON) and
//! `GET /api/events.csv` (the same filters, every matching row, streamed). The filter and the
//! paging are `events::reporting::query`'s; this file only speaks HTTP.

use super::AppState;
use super::error::{ApiError, Params};
use super::event_view::{CSV_HEADER, csv_record, event_feature, event_json};
use crate::events::filter::{FilterError, FilterErrorKind};
use crate::events::reporting::query::{self, Cursor, DEFAULT_LIMIT, MAX_LIMIT, QueryError};
use crate::store::events::EventRow;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

impl From<FilterError> for ApiError {
    fn from(e: FilterError) -> ApiError {
        let status = match e.kind {
            FilterErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            FilterErrorKind::NotFound => StatusCode::NOT_FOUND,
        };
        ApiError::new(status, e.code, e.message)
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> ApiError {
        match e {
            QueryError::Filter(e) => e.into(),
            QueryError::Store(e) => e.into(),
        }
    }
}

/// The list's own parameters: `limit` (1–1000, default 100), `cursor` (the `next` of the previous
/// page) and `format` (`json` or `geojson`).
fn paging(params: &Params) -> Result<(i64, Option<Cursor>, bool), ApiError> {
    let limit = params.integer_in("limit", 1..=MAX_LIMIT, DEFAULT_LIMIT)?;
    let after = params.get("cursor").map(Cursor::parse).transpose()?;
    let geojson = match params.get("format").map(|s| s.trim().to_ascii_lowercase()) {
        None => false,
        Some(s) if s == "json" => false,
        Some(s) if s == "geojson" => true,
        Some(s) => {
            return Err(ApiError::bad_request(
                "invalid_format",
                format!(
                    "format 应为 json 或 geojson (format must be json or geojson, got '{}')",
                    s.chars().take(40).collect::<String>()
                ),
            ));
        }
    };
    Ok((limit, after, geojson))
}

/// `GET /api/events?bbox=&area=&category=&status=&source=&from=&to=&overdue=&unassigned=
/// &limit=&cursor=&format=json|geojson`
pub async fn list_events(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ApiError> {
    let f = query::list_filter(&state.store, &params.0).await?;
    let (limit, after, geojson) = paging(&params)?;
    let page = query::page(&state.store, &f, after, limit).await?;
    let next = page.next.map(|c| c.encode());
    let body = if geojson {
        json!({
            "type": "FeatureCollection",
            "features": page.rows.iter().map(event_feature).collect::<Vec<_>>(),
            "next": next,
        })
    } else {
        json!({
            "events": page.rows.iter().map(|e| event_json(e, true)).collect::<Vec<_>>(),
            "next": next,
        })
    };
    Ok(axum::Json::<Value>(body).into_response())
}

/// `GET /api/events.csv` with the filters of the list: every matching row, newest first,
/// UTF-8 with a byte-order mark and a zh-CN header row (so Excel shows the Chinese).
/// `limit`, `cursor` and `format` are validated as in the list and otherwise not used.
pub async fn export_csv(
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ApiError> {
    let f = query::list_filter(&state.store, &params.0).await?;
    // The list's parameters are checked alike (a bad value is the same 400 on both), though
    // the export holds every row, in one format.
    paging(&params)?;
    let rx = query::export(state.store.clone(), f);
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
