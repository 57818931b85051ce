//! `GET /api/stream?topics=&area=`: the live stream as server-sent events (docs/STREAM.md).
//! The hub (`crate::live`) decides what each stream is told; here the query is parsed, the
//! stream opened and its frames handed to the response body.

use super::AppState;
use super::error::{ApiError, Params};
use crate::live::LiveError;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::convert::Infallible;
use tokio::sync::mpsc;

impl From<LiveError> for ApiError {
    fn from(e: LiveError) -> ApiError {
        let message = e.to_string();
        match e {
            LiveError::UnknownTopic(_) => ApiError::bad_request("unknown_topic", message),
            LiveError::UnknownArea(_) => ApiError::bad_request("unknown_area", message),
            LiveError::TooManyStreams(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "too_many_streams", message)
            }
            LiveError::Closing => ApiError::unavailable(message),
            LiveError::NotReady(n) => n.into(),
        }
    }
}

/// Longest `Last-Event-ID` read; a longer one is not one of ours (the stream starts afresh).
const MAX_LAST_ID: usize = 100;

pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    p: Params,
) -> Result<Response, ApiError> {
    let hub = &state.live;
    let interest = hub.interest(p.get("topics"), p.get("area"))?;
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .or_else(|| p.get("last_event_id"))
        .filter(|s| s.len() <= MAX_LAST_ID);
    let stream = hub.subscribe(interest, last)?;
    let (tx, rx) = mpsc::channel::<Bytes>(hub.config().buffer_frames.max(1));
    tokio::spawn(stream.run(tx));
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), rx))
    });
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            // Proxies (nginx) must pass frames as they come.
            (
                header::HeaderName::from_static("x-accel-buffering"),
                HeaderValue::from_static("no"),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}
