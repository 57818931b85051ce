//! `GET /api/validate?root=CODE&min_area_m2=`

use super::AppState;
use super::error::{ApiError, Params};
use crate::model::AreaCode;
use crate::store::edit::DUST_M2;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

pub async fn validate(State(state): State<AppState>, params: Params) -> Result<Response, ApiError> {
    let root = match params.get("root") {
        Some(r) => AreaCode::parse(r)
            .map_err(|e| {
                ApiError::bad_request(
                    "bad_code",
                    format!("root 编码无效 (invalid root code): {e}"),
                )
            })?
            .to_string(),
        None => state
            .store
            .city_code()
            .await?
            .ok_or_else(|| ApiError::not_found("还没有导入任何区域 (no areas loaded yet)"))?,
    };
    let min_area_m2 = params.number_in("min_area_m2", 0.0..=1e9, DUST_M2)?;
    let report = state.store.validate(&root, min_area_m2, &|_, _| {}).await?;
    match report {
        Some(r) => Ok(axum::Json(r).into_response()),
        None => Err(ApiError::not_found(format!(
            "没有编码为 {root} 的区域 (no area with code {root})"
        ))),
    }
}
