//! `GET /api/ledgers` and `POST /api/ledgers/{name}/query`: the one-table ledger (一张表) as
//! JSON pages or a streamed CSV download.

use super::AppState;
use super::access::Who;
use super::error::{ApiError, Json};
use crate::ledgers::catalog::{LEDGERS, ledger};
use crate::ledgers::query::{Format, LedgerQuery, QueryBody, QueryError};
use crate::ledgers::{Renderer, Viewer, xlsx};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Instant;

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> ApiError {
        ApiError::bad_request(e.code, e.message)
    }
}

/// `GET /api/ledgers`
pub async fn catalog() -> axum::Json<Value> {
    axum::Json(json!({ "ledgers": LEDGERS }))
}

/// `POST /api/ledgers/{name}/query`
pub async fn query(
    State(state): State<AppState>,
    who: Who,
    Path(name): Path<String>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let l = ledger(&name).ok_or_else(|| {
        ApiError::not_found(format!(
            "没有台账 {}；可用：{} (no such ledger)",
            name.chars().take(40).collect::<String>(),
            LEDGERS
                .iter()
                .map(|l| l.name)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let mut body: QueryBody = serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(
            "invalid_query",
            format!("查询不符合要求 (the query does not match the expected shape): {e}"),
        )
    })?;
    // The caller's scope bounds the area filter: inside it as asked, else the scope itself.
    if !who.sees_city() {
        match body.filters.area.as_deref().map(str::trim) {
            Some(a) if !a.is_empty() => who.require_area(a)?,
            _ => body.filters.area = Some(who.0.scope.code().to_string()),
        }
    }
    let names = state.analytics.names();
    let needs_names = body
        .filters
        .area
        .as_deref()
        .is_some_and(|a| !a.trim().is_empty());
    if needs_names && names.is_empty() {
        return Err(ApiError::unavailable(
            "区域名称正在加载，请稍后重试 (area names are still loading)",
        ));
    }
    let q = LedgerQuery::parse(l, body, &|c| names.get(c).map(|n| n.level))?;
    let viewer = Viewer {
        may_see_personal: who.0.may_see_personal(),
    };
    let renderer = Renderer::new(&q, names, viewer);
    let masked = renderer.masked();
    match q.format {
        Format::Json => {
            let page = state.store.ledger_page(&q).await?;
            let rows: Vec<Vec<Value>> = page.rows.iter().map(|r| renderer.json(r)).collect();
            let fields: Vec<Value> = q
                .fields
                .iter()
                .map(|f| json!({"name": f.name, "label": f.label, "type": f.ty}))
                .collect();
            Ok(axum::Json(json!({
                "ledger": l.name,
                "fields": fields,
                "rows": rows,
                "offset": q.offset,
                "size": q.size,
                "total": page.total,
                "masked": masked,
                "elapsed_ms": (started.elapsed().as_secs_f64() * 1e4).round() / 10.0,
            }))
            .into_response())
        }
        Format::Xlsx => {
            tracing::info!(ledger = l.name, fields = q.fields.len(), masked = ?masked, "ledger workbook started");
            // The cursor feeds a blocking writer through a small channel; if the client goes
            // away this future is dropped, which closes the cursor and ends the writer.
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            let sheet = l.label.to_string();
            let writer = tokio::task::spawn_blocking(move || xlsx::write(&renderer, rx, &sheet));
            let mut rows = std::pin::pin!(state.store.ledger_stream(&q));
            let mut n = 0usize;
            while let Some(chunk) = rows.next().await {
                let chunk = chunk?;
                n += chunk.len();
                if n > xlsx::MAX_ROWS || tx.send(chunk).await.is_err() {
                    break;
                }
            }
            drop(tx);
            let bytes = match writer.await.map_err(ApiError::internal)? {
                Ok(b) => b,
                Err(xlsx::XlsxExportError::TooManyRows) => {
                    return Err(ApiError::bad_request(
                        "too_many_rows",
                        format!(
                            "结果超过 Excel 单表上限 {} 行，请缩小范围或改用 CSV (more rows than one Excel sheet holds; narrow the query or use csv)",
                            xlsx::MAX_ROWS
                        ),
                    ));
                }
                Err(e) => return Err(ApiError::internal(e)),
            };
            tracing::info!(
                ledger = l.name,
                rows = n,
                bytes = bytes.len(),
                "ledger workbook written"
            );
            let file = format!(
                "{}-{}.xlsx",
                l.name,
                chrono::Utc::now().format("%Y%m%d-%H%M%S")
            );
            Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        ),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))
                            .unwrap_or(HeaderValue::from_static("attachment")),
                    ),
                    (
                        header::HeaderName::from_static("x-onemap-masked"),
                        HeaderValue::from_str(&masked.join(","))
                            .unwrap_or(HeaderValue::from_static("")),
                    ),
                ],
                bytes,
            )
                .into_response())
        }
        Format::Csv => {
            tracing::info!(ledger = l.name, fields = q.fields.len(), masked = ?masked, "ledger export started");
            let head = renderer.csv_start();
            let rows = state.store.ledger_stream(&q).map(move |chunk| match chunk {
                Ok(rows) => {
                    let mut out = Vec::with_capacity(rows.len() * 64);
                    renderer.csv_rows(&rows, &mut out);
                    Ok::<_, std::io::Error>(axum::body::Bytes::from(out))
                }
                Err(e) => {
                    tracing::error!(error = %e, "ledger export failed midway");
                    Err(std::io::Error::other(e.to_string()))
                }
            });
            let stream =
                futures_util::stream::once(async move { Ok(axum::body::Bytes::from(head)) })
                    .chain(rows);
            let file = format!(
                "{}-{}.csv",
                l.name,
                chrono::Utc::now().format("%Y%m%d-%H%M%S")
            );
            let masked_header =
                HeaderValue::from_str(&masked.join(",")).unwrap_or(HeaderValue::from_static(""));
            Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/csv; charset=utf-8"),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))
                            .unwrap_or(HeaderValue::from_static("attachment")),
                    ),
                    (
                        header::HeaderName::from_static("x-onemap-masked"),
                        masked_header,
                    ),
                ],
                Body::from_stream(stream),
            )
                .into_response())
        }
    }
}
