//! The one error type of the HTTP API, and extractors whose rejections use it.
//!
//! Every error leaves as `{"error": {"code": "...", "message": "..."}}` with a 4xx status that
//! says what to fix, or a 5xx with a generic message (the cause goes to the log, not the client).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Extra fields beside code and message (e.g. a validation report).
    pub details: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}
#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "此地址不支持该请求方法 (method not allowed on this endpoint)",
        )
    }
    pub fn with_details(mut self, details: serde_json::Value) -> ApiError {
        self.details = Some(details);
        self
    }
    /// A server-side failure: logged in full, answered with a generic message.
    pub fn internal(err: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %err, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "服务器内部错误，请稍后重试 (internal error)",
        )
    }
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                details: self.details.as_ref(),
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> ApiError {
        ApiError::internal(e)
    }
}

/// Turns a JSON body rejection into our error format, keeping serde's precise message.
pub fn json_rejection(r: JsonRejection) -> ApiError {
    match r {
        JsonRejection::JsonDataError(e) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            format!(
                "请求体字段不符合要求 (body does not match the expected shape): {}",
                e.body_text()
            ),
        ),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(
            "malformed_json",
            format!("请求体不是合法的 JSON (malformed JSON): {}", e.body_text()),
        ),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "请使用 Content-Type: application/json (expected a JSON body)",
        ),
        JsonRejection::BytesRejection(e) => body_rejection(e.status(), e.body_text()),
        other => ApiError::bad_request("invalid_body", other.body_text()),
    }
}

/// Maps a failure to read the body (most often: too large) to our format.
pub fn body_rejection(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "payload_too_large",
            format!("请求体超过大小上限，请分批提交 (request body too large): {text}"),
        )
    } else {
        ApiError::new(status, "invalid_body", text)
    }
}

/// `axum::Json` with our rejection.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| Json(v))
            .map_err(json_rejection)
    }
}

/// Query parameters as strings, to be parsed into domain types with precise messages.
pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|q| Params(q.0))
            .map_err(|e: QueryRejection| ApiError::bad_request("invalid_query", e.body_text()))
    }
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|s| !s.trim().is_empty())
    }

    pub fn require(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| {
            ApiError::bad_request(
                "missing_parameter",
                format!("缺少参数 {name} (missing query parameter '{name}')"),
            )
        })
    }

    /// A number parameter (rejects NaN and infinities).
    pub fn number(&self, name: &str) -> Result<Option<f64>, ApiError> {
        self.get(name).map(|s| parse_finite(name, s)).transpose()
    }

    /// A number parameter within `range`, or `default`.
    pub fn number_in(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<f64>,
        default: f64,
    ) -> Result<f64, ApiError> {
        let v = self.number(name)?.unwrap_or(default);
        if !range.contains(&v) {
            return Err(ApiError::bad_request(
                "out_of_range",
                format!(
                    "参数 {name} 应在 {} 到 {} 之间 ({name} must be between {} and {})",
                    range.start(),
                    range.end(),
                    range.start(),
                    range.end()
                ),
            ));
        }
        Ok(v)
    }

    /// An integer parameter within `range`, or `default`.
    pub fn integer_in(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
        default: i64,
    ) -> Result<i64, ApiError> {
        let Some(s) = self.get(name) else {
            return Ok(default);
        };
        let v: i64 = s.trim().parse().map_err(|_| {
            ApiError::bad_request(
                "invalid_number",
                format!("参数 {name} 应为整数 ({name} must be an integer, got '{s}')"),
            )
        })?;
        if !range.contains(&v) {
            return Err(ApiError::bad_request(
                "out_of_range",
                format!(
                    "参数 {name} 应在 {} 到 {} 之间 ({name} must be between {} and {})",
                    range.start(),
                    range.end(),
                    range.start(),
                    range.end()
                ),
            ));
        }
        Ok(v)
    }

    /// A boolean parameter (true/false/1/0).
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name).map(|s| s.trim().to_ascii_lowercase()) {
            None => Ok(false),
            Some(s) if s == "true" || s == "1" || s == "yes" => Ok(true),
            Some(s) if s == "false" || s == "0" || s == "no" => Ok(false),
            Some(s) => Err(ApiError::bad_request(
                "invalid_parameter",
                format!("参数 {name} 应为 true 或 false ({name} must be true or false, got '{s}')"),
            )),
        }
    }
}

/// Parses a finite number, naming the parameter in the error.
pub fn parse_finite(name: &str, s: &str) -> Result<f64, ApiError> {
    let v: f64 = s.trim().parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_number",
            format!("参数 {name} 不是数字 ({name} must be a number, got '{s}')"),
        )
    })?;
    if !v.is_finite() {
        return Err(ApiError::bad_request(
            "invalid_number",
            format!("参数 {name} 必须是有限数值 ({name} must be a finite number, got '{s}')"),
        ));
    }
    Ok(v)
}
