//! `GET /api/stats/areas`, `/api/stats/top`, `/api/stats/trend` and `/api/hotspots`: the
//! parameters parsed here, the answers computed by `events::analytics::{stats, hotspots}` over
//! one snapshot of the event view (off the async runtime).

use super::AppState;
use super::error::{ApiError, Params};
use crate::events::analytics::filter::{Filter, parse_with};
use crate::events::analytics::hotspots::{self, HotspotsAnswer};
use crate::events::analytics::stats::{self, AreasAnswer, Interval, TopAnswer, TrendAnswer};
use crate::events::analytics::view::{ViewSnapshot, area_column};
use crate::events::analytics::{EventAnalytics, NotReady, ready};
use crate::events::filter::FilterOptions;
use crate::model::Level;
use axum::Json;
use axum::extract::State;
use std::sync::Arc;

impl From<NotReady> for ApiError {
    fn from(e: NotReady) -> ApiError {
        ApiError::unavailable(e.to_string())
    }
}

/// The view (once loaded) and the filter of the query for `opts`.
fn view_and_filter(
    a: &EventAnalytics,
    p: &Params,
    opts: &FilterOptions,
) -> Result<(Arc<ViewSnapshot>, Filter), ApiError> {
    let view = ready(a)?;
    let f = parse_with(&p.0, opts, &view, &a.names())?;
    Ok((view, f))
}

/// `level`: district, town, village or grid (`default` when absent).
fn parse_level(p: &Params, default: Level) -> Result<Level, ApiError> {
    let bad = |s: &str| {
        ApiError::bad_request(
            "invalid_level",
            format!(
                "参数 level 应为 district、town、village 或 grid，收到 '{}' (level must be district, town, village or grid)",
                s.chars().take(40).collect::<String>()
            ),
        )
    };
    let level = match p.get("level") {
        None => default,
        Some(s) => s.trim().parse::<Level>().map_err(|_| bad(s))?,
    };
    if area_column(level).is_none() || level == Level::Unit {
        return Err(bad(level.as_str()));
    }
    Ok(level)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)
}

/// `GET /api/stats/areas?level=&parent=&category=&source=&status=&from=&to=`
pub async fn areas(
    State(state): State<AppState>,
    p: Params,
) -> Result<Json<AreasAnswer>, ApiError> {
    let a = &state.analytics;
    ready(a)?;
    let level = parse_level(&p, Level::Village)?;
    let (view, f) = view_and_filter(a, &p, &FilterOptions::AREA_STATS)?;
    let names = a.names();
    let parent = p.get("parent").map(str::to_string);
    let now = crate::time::now_us();
    let answer = blocking(move || stats::areas(&view, &names, &f, level, parent, now)).await?;
    Ok(Json(answer))
}

/// `GET /api/stats/top?level=&category=&source=&status=&area=&from=&to=&limit=`
pub async fn top(State(state): State<AppState>, p: Params) -> Result<Json<TopAnswer>, ApiError> {
    let a = &state.analytics;
    ready(a)?;
    let level = parse_level(&p, Level::Village)?;
    let limit = p.integer_in("limit", 1..=1000, 10)? as usize;
    let (view, f) = view_and_filter(a, &p, &FilterOptions::ANALYTICS)?;
    let names = a.names();
    let now = crate::time::now_us();
    let answer = blocking(move || stats::top(&view, &names, &f, level, limit, now)).await?;
    Ok(Json(answer))
}

/// `GET /api/stats/trend?interval=day|week&category=&source=&status=&area=&from=&to=`
pub async fn trend(
    State(state): State<AppState>,
    p: Params,
) -> Result<Json<TrendAnswer>, ApiError> {
    let a = &state.analytics;
    ready(a)?;
    let interval = match p.get("interval").map(str::trim) {
        None | Some("day") => Interval::Day,
        Some("week") => Interval::Week,
        Some(s) => {
            return Err(ApiError::bad_request(
                "invalid_interval",
                format!(
                    "参数 interval 应为 day 或 week，收到 '{}' (interval must be day or week)",
                    s.chars().take(40).collect::<String>()
                ),
            ));
        }
    };
    let (view, f) = view_and_filter(a, &p, &FilterOptions::ANALYTICS)?;
    let now = crate::time::now_us();
    let answer = blocking(move || stats::trend(&view, &f, interval, now)).await??;
    Ok(Json(answer))
}

/// `GET /api/hotspots?category=&source=&status=&area=&from=&to=&radius=&min_count=&limit=&members=`
pub async fn hotspots(
    State(state): State<AppState>,
    p: Params,
) -> Result<Json<HotspotsAnswer>, ApiError> {
    let a = &state.analytics;
    let (view, filter) = view_and_filter(a, &p, &FilterOptions::ANALYTICS)?;
    let radius_m = p.number_in("radius", 1.0..=5000.0, 100.0)?;
    let min_count = p.integer_in("min_count", 2..=100_000, 5)? as usize;
    let limit = p.integer_in("limit", 1..=1000, 20)? as usize;
    let with_members = p.flag("members")?;
    let q = hotspots::Query {
        filter,
        radius_m,
        min_count,
    };
    let index = state.index.snapshot();
    let answer =
        blocking(move || hotspots::hotspots(&view, &q, limit, with_members, &index)).await?;
    Ok(Json(answer))
}
