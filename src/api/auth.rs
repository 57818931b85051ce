//! Sign-in and accounts: `POST /api/auth/login`, `POST /api/auth/logout`, `GET /api/auth/me`,
//! `GET /api/auth/demo-accounts` (demo mode only), the caller's API tokens, and for city
//! administrators the accounts and the audit log. See docs/ACCESS.md.

use super::AppState;
use super::access::{
    CSRF_COOKIE, SESSION_COOKIE, SESSION_HOURS, Who, caller_of, client_address, cookie,
};
use super::error::{ApiError, Json, Params};
use crate::access::{Caller, Role, check_name, check_password, secret};
use crate::store::access::{AuditEntry, AuditQuery};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

fn user_json(state: &AppState, c: &Caller) -> Value {
    let scope_name = state
        .analytics
        .names()
        .get(c.scope.code())
        .map(|n| n.name.to_string())
        .unwrap_or_default();
    json!({
        "name": c.name,
        "role": c.role,
        "role_name": c.role.label(),
        "scope": c.scope.code(),
        "scope_name": scope_name,
        "may_see_personal": c.may_see_personal(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    name: String,
    password: String,
}

/// `POST /api/auth/login` `{"name","password"}`: a session cookie and the CSRF token.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ext: axum::http::Extensions,
    Json(body): Json<Login>,
) -> Result<Response, ApiError> {
    let address = client_address(&headers, &ext);
    let name: String = body.name.trim().chars().take(64).collect();
    let audit = |status: u16, why: &str| AuditEntry {
        user_name: name.clone(),
        address: address.clone(),
        action: if status == 200 {
            "login"
        } else {
            "login_failed"
        }
        .into(),
        status: status as i16,
        detail: json!({ "reason": why }),
        ..Default::default()
    };
    if let Some(wait) = state.access.limiter.check(&name, &address) {
        state.store.audit(&audit(429, "rate_limited")).await?;
        let mins = wait.as_secs().div_ceil(60);
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!(
                "登录失败次数过多，请 {mins} 分钟后再试 (too many failed sign-ins; try again in {mins} min)"
            ),
        ));
    }
    let user = state.store.user_by_name(&name).await?;
    // The password is checked even without an account, so timing does not tell names apart.
    let hash = user.as_ref().map(|u| u.password_hash.as_str()).unwrap_or(
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$6JjG0VmqFb2kG5HcPmqBMmvzEjZjJc9N2N7mT3W4Szc",
    );
    let password = body.password.clone();
    let hash_owned = hash.to_string();
    let ok = tokio::task::spawn_blocking(move || secret::verify_password(&hash_owned, &password))
        .await
        .map_err(ApiError::internal)?;
    let caller = match (&user, ok) {
        (Some(u), true) if !u.disabled => caller_of(u),
        _ => None,
    };
    let Some(caller) = caller else {
        state.access.limiter.failed(&name, &address);
        let why = match &user {
            None => "unknown_account",
            Some(u) if u.disabled => "disabled",
            _ => "wrong_password",
        };
        state.store.audit(&audit(401, why)).await?;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "login_failed",
            "账号或密码错误，或账号已停用 (wrong account or password, or the account is disabled)",
        ));
    };
    state.access.limiter.succeeded(&name);
    let session = secret::new_secret();
    let csrf = secret::new_secret();
    let expires = Utc::now() + Duration::hours(SESSION_HOURS);
    state
        .store
        .session_create(
            &secret::digest(&session),
            caller.user_id,
            &csrf,
            expires,
            &address,
        )
        .await?;
    state
        .store
        .audit(&AuditEntry {
            role: caller.role.as_str().into(),
            scope_code: caller.scope.code().into(),
            ..audit(200, "ok")
        })
        .await?;
    let max_age = SESSION_HOURS * 3600;
    let mut res =
        axum::Json(json!({"user": user_json(&state, &caller), "csrf": csrf})).into_response();
    let h = res.headers_mut();
    for c in [
        format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}"),
        format!("{CSRF_COOKIE}={csrf}; Path=/; SameSite=Strict; Max-Age={max_age}"),
    ] {
        h.append(
            header::SET_COOKIE,
            HeaderValue::from_str(&c).map_err(ApiError::internal)?,
        );
    }
    Ok(res)
}

/// `POST /api/auth/logout`: ends the session and clears the cookies.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(s) = cookie(&headers, SESSION_COOKIE) {
        let d = secret::digest(s);
        state.store.session_end(&d).await?;
        state.access.forget(&d);
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    for c in [SESSION_COOKIE, CSRF_COOKIE] {
        res.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_str(&format!("{c}=; Path=/; Max-Age=0; SameSite=Strict"))
                .map_err(ApiError::internal)?,
        );
    }
    Ok(res)
}

/// `GET /api/auth/me`: the caller, and the CSRF token of its session.
pub async fn me(
    State(state): State<AppState>,
    Who(caller): Who,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let csrf = cookie(&headers, CSRF_COOKIE).unwrap_or("");
    Ok(axum::Json(json!({"user": user_json(&state, &caller), "csrf": csrf})).into_response())
}

/// `GET /api/auth/demo-accounts`: the demo accounts, only when the server runs in demo mode.
pub async fn demo_accounts(State(state): State<AppState>) -> Result<Response, ApiError> {
    let list = state
        .access
        .demo_accounts
        .read()
        .map(|l| l.clone())
        .unwrap_or_default();
    if list.is_empty() {
        return Err(ApiError::not_found(
            "仅演示模式提供演示账号 (demo accounts exist in demo mode only)",
        ));
    }
    Ok(axum::Json(json!({ "accounts": list })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    label: String,
    /// Days until it expires (1–3650, default 90).
    #[serde(default)]
    days: Option<i64>,
    /// Whose token (administrators only; default the caller).
    #[serde(default)]
    user: Option<String>,
}

/// `POST /api/auth/tokens` `{"label","days"?,"user"?}`: a new API token, shown once.
pub async fn create_token(
    State(state): State<AppState>,
    Who(caller): Who,
    Json(body): Json<NewToken>,
) -> Result<Response, ApiError> {
    let label = body.label.trim();
    if label.is_empty() || label.chars().count() > 100 {
        return Err(ApiError::bad_request(
            "invalid_label",
            "label 应为 1–100 个字符 (label must be 1–100 characters)",
        ));
    }
    let days = body.days.unwrap_or(90);
    if !(1..=3650).contains(&days) {
        return Err(ApiError::bad_request(
            "out_of_range",
            format!("days 应在 1–3650 之间，收到 {days} (days must be 1..=3650)"),
        ));
    }
    let owner = match body.user.as_deref().map(str::trim) {
        Some(u) if u != caller.name => {
            if caller.role != Role::Admin || !caller.scope.is_city() {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "只有市级管理员可为他人创建令牌 (only city administrators create tokens for others)",
                ));
            }
            state
                .store
                .user_by_name(u)
                .await?
                .ok_or_else(|| no_user(u))?
        }
        _ => state
            .store
            .user_by_name(&caller.name)
            .await?
            .ok_or_else(|| no_user(&caller.name))?,
    };
    let token = secret::new_token();
    let expires = Utc::now() + Duration::days(days);
    let id = state
        .store
        .token_create(&secret::digest(&token), owner.id, label, expires)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "id": id, "user": owner.name, "label": label, "token": token,
            "expires_at": expires,
        })),
    )
        .into_response())
}

fn no_user(name: &str) -> ApiError {
    let name: String = name.chars().take(64).collect();
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_user",
        format!("没有账号 {name} (no such account)"),
    )
}

fn is_city_admin(c: &Caller) -> bool {
    c.role == Role::Admin && c.scope.is_city()
}

/// `GET /api/auth/tokens`: the caller's tokens (a city administrator's: everyone's).
pub async fn tokens(State(state): State<AppState>, Who(caller): Who) -> Result<Response, ApiError> {
    let user = (!is_city_admin(&caller)).then_some(caller.name.as_str());
    let list = state.store.tokens(user).await?;
    Ok(axum::Json(json!({ "tokens": list })).into_response())
}

/// `DELETE /api/auth/tokens/{id}`: revokes a token of the caller's (any, for an administrator).
pub async fn revoke_token(
    State(state): State<AppState>,
    Who(caller): Who,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: i64 = id.trim().parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_id",
            "令牌编号应为整数 (a token id is a whole number)",
        )
    })?;
    let user = (!is_city_admin(&caller)).then_some(caller.name.as_str());
    match state.store.token_revoke(id, user).await? {
        Some(digest) => {
            state.access.forget(&digest);
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_token",
            format!("没有可撤销的令牌 {id} (no live token {id} of yours)"),
        )),
    }
}

/// `GET /api/users`: every account (city administrators).
pub async fn users(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(axum::Json(json!({ "users": state.store.users().await? })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    name: String,
    password: String,
    role: String,
    scope: String,
    #[serde(default)]
    display_name: String,
}

/// `POST /api/users`: a new account (city administrators).
pub async fn add_user(
    State(state): State<AppState>,
    Json(body): Json<NewUser>,
) -> Result<Response, ApiError> {
    let mut problems = Vec::new();
    if let Err(m) = check_name(&body.name) {
        problems.push(json!({"path": "name", "message": m}));
    }
    if let Err(m) = check_password(&body.password) {
        problems.push(json!({"path": "password", "message": m}));
    }
    let role = Role::parse(&body.role);
    if role.is_none() {
        problems.push(json!({"path": "role", "message":
            "角色应为 admin、leader、grid_worker、analyst 或 screen (unknown role)"}));
    }
    if !state.analytics.names().contains_key(body.scope.trim()) {
        problems.push(json!({"path": "scope", "message": "没有这个区域编码 (no such area code)"}));
    }
    if body.display_name.chars().count() > 100 {
        problems.push(
            json!({"path": "display_name", "message": "最多 100 个字符 (at most 100 characters)"}),
        );
    }
    if !problems.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_user",
            "账号信息有误 (the account has problems; see problems)",
        )
        .with_details(json!({ "problems": problems })));
    }
    let password = body.password.clone();
    let hash = tokio::task::spawn_blocking(move || secret::hash_password(&password))
        .await
        .map_err(ApiError::internal)?;
    let role = role.expect("checked above");
    match state
        .store
        .user_add(
            &body.name,
            body.display_name.trim(),
            role.as_str(),
            body.scope.trim(),
            &hash,
        )
        .await?
    {
        Some(id) => Ok((
            StatusCode::CREATED,
            axum::Json(
                json!({"id": id, "name": body.name, "role": role, "scope": body.scope.trim()}),
            ),
        )
            .into_response()),
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "user_exists",
            format!("账号 {} 已存在 (the account exists)", body.name),
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    disabled: bool,
}

/// `PUT /api/users/{name}` `{"disabled": true|false}` (city administrators).
pub async fn put_user(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Json(body): Json<UserChange>,
) -> Result<Response, ApiError> {
    if !state.store.user_set_disabled(&name, body.disabled).await? {
        return Err(no_user(&name));
    }
    // Sessions and tokens resolved before are forgotten at once.
    state.access.forget_all();
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/audit?user=&action=&since=&limit=` (city administrators).
pub async fn audit(State(state): State<AppState>, p: Params) -> Result<Response, ApiError> {
    let limit = p.integer_in("limit", 1..=10_000, 200)?;
    let since = match p.get("since") {
        None => None,
        Some(s) => Some(
            chrono::DateTime::parse_from_rfc3339(s.trim())
                .map_err(|_| {
                    ApiError::bad_request(
                        "invalid_time",
                        "since 应为 RFC 3339 时间，如 2026-12-01T08:00:00+08:00 (since must be an RFC 3339 time)",
                    )
                })?
                .with_timezone(&Utc),
        ),
    };
    let q = AuditQuery {
        user: p.get("user").map(str::to_string),
        action_prefix: p.get("action").map(str::to_string),
        since,
        limit,
    };
    Ok(axum::Json(json!({ "entries": state.store.audit_log(&q).await? })).into_response())
}
