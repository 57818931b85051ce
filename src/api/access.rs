//! The one gate of the API: every route is declared with the action it performs and how its
//! answer is tied to an area ([`Rule`]), and [`guard`] checks each request against its rule
//! before the handler runs:
//!
//! 1. who calls (a session cookie, or an API token as `Authorization: Bearer …`), 401 if nobody;
//! 2. the CSRF token of a cookie session on every state-changing request, 403 `csrf`;
//! 3. whether the caller's role may perform the route's action, 403 `forbidden`;
//! 4. the route's scoping ([`Scoping`]): an area parameter inside the caller's scope (set to the
//!    scope when absent), a path code inside it, the area of an object named by id inside it, or
//!    a whole-city route refused to a narrower scope — 403 `out_of_scope`;
//! 5. the caller for the handler ([`Who`]); writes and personal-data exports go to the audit log.
//!
//! Routes are added only through [`Routes`], which takes the rule with the handler, so a route
//! cannot exist without one; [`Routes::rules`] is the table the tests walk.

use super::AppState;
use super::error::ApiError;
use crate::access::limiter::LoginLimiter;
use crate::access::{Action, Caller, Role, Scope, secret};
use crate::store::access::{AuditEntry, OwnerKind, UserRow};
use axum::Router;
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub const SESSION_COOKIE: &str = "onemap_session";
pub const CSRF_COOKIE: &str = "onemap_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a browser session lasts.
pub const SESSION_HOURS: i64 = 12;
/// How long a resolved session or token is trusted before it is read again (revocations made
/// through this server take effect at once; those made elsewhere within this time).
const CALLER_TTL: Duration = Duration::from_secs(10);

/// How a route's answer is tied to the area tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scoping {
    /// Nothing area-specific (health, sign-in, catalogues, city-wide reference data).
    Unscoped,
    /// A query parameter naming an area: it must lie in the caller's scope, and is set to the
    /// scope when absent.
    Param(&'static str),
    /// The `{code}` path parameter must lie in the caller's scope.
    PathCode,
    /// The object named by the `{id}` (or `{mmsi}`) path parameter must lie in the scope.
    Owner(OwnerKind),
    /// The handler checks the areas in the body or the answer with [`Who`].
    Handler,
    /// City-wide: only callers whose scope is the whole city.
    City,
}

/// A route's access rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub method: Method,
    pub path: &'static str,
    pub action: Action,
    pub scoping: Scoping,
}

/// The router under construction and the rules of its routes.
pub struct Routes {
    router: Router<AppState>,
    rules: Vec<Rule>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes {
            router: Router::new(),
            rules: Vec::new(),
        }
    }
}

impl Routes {
    /// Adds `method path` answered by `handler` under `action` and `scoping`.
    pub fn route<H, T>(
        mut self,
        method: Method,
        path: &'static str,
        action: Action,
        scoping: Scoping,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
        self.router = self.router.route(path, on(filter, handler));
        self.rules.push(Rule {
            method,
            path,
            action,
            scoping,
        });
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        action: Action,
        scoping: Scoping,
        handler: H,
    ) -> Self {
        self.route(Method::GET, path, action, scoping, handler)
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        action: Action,
        scoping: Scoping,
        handler: H,
    ) -> Self {
        self.route(Method::POST, path, action, scoping, handler)
    }

    pub fn put<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        action: Action,
        scoping: Scoping,
        handler: H,
    ) -> Self {
        self.route(Method::PUT, path, action, scoping, handler)
    }

    pub fn delete<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        action: Action,
        scoping: Scoping,
        handler: H,
    ) -> Self {
        self.route(Method::DELETE, path, action, scoping, handler)
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The router with the guard on every route, and the rule table.
    pub fn finish(self, state: &AppState) -> (Router<AppState>, Arc<RuleTable>) {
        let table = Arc::new(RuleTable::new(self.rules));
        let router = self
            .router
            .route_layer(axum::middleware::from_fn_with_state(
                (state.clone(), table.clone()),
                guard,
            ));
        (router, table)
    }
}

/// The rules by method and path.
#[derive(Debug)]
pub struct RuleTable {
    by_path: HashMap<&'static str, Vec<Rule>>,
    pub rules: Vec<Rule>,
}

impl RuleTable {
    fn new(rules: Vec<Rule>) -> RuleTable {
        let mut by_path: HashMap<&'static str, Vec<Rule>> = HashMap::new();
        for r in &rules {
            by_path.entry(r.path).or_default().push(r.clone());
        }
        RuleTable { by_path, rules }
    }

    fn find(&self, method: &Method, path: &str) -> Option<&Rule> {
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.by_path.get(path)?.iter().find(|r| r.method == *method)
    }
}

/// The state of access control: the login limiter, resolved callers, the demo accounts.
pub struct Access {
    pub limiter: LoginLimiter,
    callers: moka::sync::Cache<Vec<u8>, Arc<Resolved>>,
    /// The demo accounts (name, password), listed by the login page in demo mode only.
    pub demo_accounts: std::sync::RwLock<Vec<DemoAccount>>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoAccount {
    pub name: String,
    pub password: String,
    pub role: Role,
    pub role_name: &'static str,
    pub scope: String,
    pub scope_name: String,
}

#[derive(Debug)]
struct Resolved {
    caller: Caller,
    /// The session's CSRF secret; None for an API token.
    csrf: Option<String>,
    expires_at: DateTime<Utc>,
}

impl Default for Access {
    fn default() -> Self {
        Access {
            limiter: LoginLimiter::default(),
            callers: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(CALLER_TTL)
                .build(),
            demo_accounts: Default::default(),
        }
    }
}

impl Access {
    /// Forgets a resolved session or token at once (logout, revocation, disabling).
    pub fn forget(&self, digest: &[u8]) {
        self.callers.invalidate(digest);
    }

    pub fn forget_all(&self) {
        self.callers.invalidate_all();
    }
}

pub fn caller_of(u: &UserRow) -> Option<Caller> {
    Some(Caller {
        user_id: u.id,
        name: u.name.clone(),
        role: Role::parse(&u.role)?,
        scope: Scope::new(u.scope_code.clone()),
    })
}

/// The caller of a request, put there by the guard; 401 when there is none.
pub struct Who(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Who {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .map(Who)
            .ok_or_else(unauthenticated)
    }
}

impl Who {
    /// 403 unless `code` lies in the caller's scope.
    pub fn require_area(&self, code: &str) -> Result<(), ApiError> {
        if self.0.scope.contains(code) {
            Ok(())
        } else {
            Err(out_of_scope(&self.0, code))
        }
    }

    /// 403 unless an object of this area chain (any codes, any order) is in the caller's scope.
    pub fn require_chain<S: AsRef<str>>(&self, chain: &[Option<S>]) -> Result<(), ApiError> {
        if self.sees_chain(chain) {
            return Ok(());
        }
        // The finest code names the place in the message.
        let finest = chain
            .iter()
            .flatten()
            .map(|c| c.as_ref())
            .max_by_key(|c| c.len())
            .unwrap_or("");
        Err(out_of_scope(&self.0, finest))
    }

    /// True when the caller sees everything.
    pub fn sees_city(&self) -> bool {
        self.0.scope.is_city()
    }

    /// True when an object of this area chain (any codes) is visible to the caller.
    pub fn sees_chain<S: AsRef<str>>(&self, chain: &[Option<S>]) -> bool {
        self.sees_city()
            || chain
                .iter()
                .flatten()
                .any(|c| self.0.scope.contains(c.as_ref()))
    }
}

pub fn unauthenticated() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "请先登录 (sign in first: a session cookie from POST /api/auth/login, or Authorization: Bearer <token>)",
    )
}

fn forbidden(c: &Caller, action: Action) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!(
            "{}账号不能执行此操作 (role '{}' may not {})",
            c.role.label(),
            c.role.as_str(),
            action.as_str()
        ),
    )
}

pub fn out_of_scope(c: &Caller, code: &str) -> ApiError {
    let code: String = code.chars().take(40).collect();
    ApiError::new(
        StatusCode::FORBIDDEN,
        "out_of_scope",
        format!(
            "超出您的管辖范围 {}：{} (outside your scope {})",
            c.scope.code(),
            code,
            c.scope.code()
        ),
    )
}

fn city_only(c: &Caller) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "out_of_scope",
        format!(
            "此功能面向全市，您的范围是 {} (this is city-wide; your scope is {})",
            c.scope.code(),
            c.scope.code()
        ),
    )
}

/// The address of the peer, or of the client a trusted proxy names.
pub fn client_address(req_headers: &HeaderMap, ext: &axum::http::Extensions) -> String {
    if let Some(ci) = ext.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() {
        return ci.0.ip().to_string();
    }
    req_headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|s| s.trim().chars().take(64).collect())
        .unwrap_or_default()
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The caller of `headers`: a bearer token first, else a session cookie. Ok(None) when the
/// request names neither; Err(401) when what it names is not live.
async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<Option<Arc<Resolved>>, ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let (secret, is_token) = match (bearer, cookie(headers, SESSION_COOKIE)) {
        (Some(t), _) => (t, true),
        (None, Some(s)) => (s, false),
        (None, None) => return Ok(None),
    };
    if secret.is_empty() || secret.len() > 200 {
        return Err(unauthenticated());
    }
    let digest = secret::digest(secret);
    let access = &state.access;
    if let Some(r) = access.callers.get(&digest) {
        if r.expires_at > Utc::now() {
            return Ok(Some(r));
        }
        access.callers.invalidate(&digest);
        return Err(expired(is_token));
    }
    let found = if is_token {
        state
            .store
            .token_user(&digest)
            .await?
            .map(|(u, exp)| (u, None, exp))
    } else {
        state
            .store
            .session_user(&digest)
            .await?
            .map(|(u, csrf, exp)| (u, Some(csrf), exp))
    };
    let Some((user, csrf, expires_at)) = found else {
        return Err(expired(is_token));
    };
    let Some(caller) = caller_of(&user) else {
        return Err(unauthenticated());
    };
    let r = Arc::new(Resolved {
        caller,
        csrf,
        expires_at,
    });
    access.callers.insert(digest, r.clone());
    Ok(Some(r))
}

fn expired(is_token: bool) -> ApiError {
    let m = if is_token {
        "令牌无效、已过期或已撤销 (the token is unknown, expired or revoked)"
    } else {
        "登录已过期，请重新登录 (the session has ended; sign in again)"
    };
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", m)
}

fn is_write(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The middleware on every declared route.
pub async fn guard(
    State((state, table)): State<(AppState, Arc<RuleTable>)>,
    mut req: Request,
    next: Next,
) -> Response {
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let Some(rule) = table.find(req.method(), &matched).cloned() else {
        // Unreachable by construction (routes come with rules); refuse rather than guess.
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "此地址没有访问规则 (no access rule for this route)",
        )
        .into_response();
    };
    // The author of a change is the caller, never what a client claims.
    req.headers_mut().remove("x-onemap-user");
    if rule.action == Action::Public {
        return next.run(req).await;
    }
    let resolved = match resolve(&state, req.headers()).await {
        Ok(Some(r)) => r,
        Ok(None) => return unauthenticated().into_response(),
        Err(e) => return e.into_response(),
    };
    let caller = resolved.caller.clone();
    let method = req.method().clone();
    let address = client_address(req.headers(), req.extensions());
    let target: String = req.uri().to_string().chars().take(2000).collect();
    let audit = |status: StatusCode| AuditEntry {
        user_name: caller.name.clone(),
        role: caller.role.as_str().into(),
        scope_code: caller.scope.code().into(),
        address: address.clone(),
        action: if rule.action == Action::Export {
            format!("export {}", rule.path)
        } else {
            format!("{} {}", method, rule.path)
        },
        target: target.clone(),
        status: status.as_u16() as i16,
        detail: serde_json::json!({}),
    };
    let audited = is_write(&method) || (rule.action == Action::Export && caller.may_see_personal());
    let refused = admit(&state, &rule, &resolved, &mut req).await.err();
    if let Some(e) = refused {
        // Refused writes are audited too: who tried what, where.
        if is_write(&method) {
            write_audit(&state, audit(e.status)).await;
        }
        return e.into_response();
    }
    if let Ok(v) = HeaderValue::from_str(&caller.name) {
        req.headers_mut().insert("x-onemap-user", v);
    }
    req.extensions_mut().insert(caller.clone());
    let response = next.run(req).await;
    if audited {
        write_audit(&state, audit(response.status())).await;
    }
    response
}

async fn write_audit(state: &AppState, entry: AuditEntry) {
    if let Err(e) = state.store.audit(&entry).await {
        tracing::error!(error = %e, action = %entry.action, "the audit log refused an entry");
    }
}

/// CSRF, role and scope: what a signed-in caller must pass.
async fn admit(
    state: &AppState,
    rule: &Rule,
    resolved: &Resolved,
    req: &mut Request,
) -> Result<(), ApiError> {
    let caller = &resolved.caller;
    if is_write(req.method())
        && let Some(csrf) = &resolved.csrf
    {
        let sent = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !secret::same(sent, csrf) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "缺少或错误的 X-CSRF-Token 请求头 (a state-changing request with a session needs the X-CSRF-Token header from sign-in)",
            ));
        }
    }
    if !caller.role.may(rule.action) {
        return Err(forbidden(caller, rule.action));
    }
    check_scope(state, rule, caller, req).await
}

async fn check_scope(
    state: &AppState,
    rule: &Rule,
    caller: &Caller,
    req: &mut Request,
) -> Result<(), ApiError> {
    if caller.scope.is_city() {
        return Ok(());
    }
    match rule.scoping {
        Scoping::Unscoped | Scoping::Handler => Ok(()),
        Scoping::City => Err(city_only(caller)),
        Scoping::Param(name) => {
            let uri = req.uri().clone();
            let mut pairs = form_urlencoded_pairs(uri.query().unwrap_or(""));
            let mut named = false;
            for (k, v) in &pairs {
                let v = v.trim();
                if k == name && !v.is_empty() {
                    if !caller.scope.contains(v) {
                        return Err(out_of_scope(caller, v));
                    }
                    named = true;
                }
            }
            if !named {
                pairs.retain(|(k, _)| k != name);
                pairs.push((name.to_string(), caller.scope.code().to_string()));
                let q = serde_urlencoded::to_string(&pairs).map_err(ApiError::internal)?;
                let pq = format!("{}?{}", uri.path(), q);
                let mut parts = uri.into_parts();
                parts.path_and_query = Some(pq.parse().map_err(ApiError::internal)?);
                *req.uri_mut() = Uri::from_parts(parts).map_err(ApiError::internal)?;
            }
            Ok(())
        }
        Scoping::PathCode => {
            let params = path_params(req).await;
            match params.get("code") {
                Some(code) if !caller.scope.contains(code) => Err(out_of_scope(caller, code)),
                _ => Ok(()),
            }
        }
        Scoping::Owner(kind) => {
            let params = path_params(req).await;
            let raw = params.get("id").or_else(|| params.get("mmsi"));
            // A malformed id is the handler's to refuse (400); an unknown one its 404.
            let Some(id) = raw.and_then(|s| s.trim().parse::<i64>().ok()) else {
                return Ok(());
            };
            match state.store.owner_area(kind, id).await? {
                Some(code) if !caller.scope.contains(&code) => Err(out_of_scope(caller, &code)),
                _ => Ok(()),
            }
        }
    }
}

async fn path_params(req: &mut Request) -> HashMap<String, String> {
    use axum::RequestPartsExt;
    let (mut parts, body) = std::mem::take(req).into_parts();
    let params = parts
        .extract::<RawPathParams>()
        .await
        .map(|p| {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    *req = Request::from_parts(parts, body);
    params
}

/// `k=v` pairs of a query string, percent-decoded (none when it is malformed: the handler's
/// own parsing then answers 400).
pub fn form_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(q).unwrap_or_default()
}

/// Security headers on every answer: a CSP without inline scripts, no framing, no sniffing.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; \
             worker-src 'self' blob:; child-src 'self' blob:; object-src 'none'; \
             base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// Longest request target (path and query) accepted.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Refuses request targets over [`MAX_URI_BYTES`] with 414 in the API's format.
pub async fn uri_limit(req: Request, next: Next) -> Response {
    let n = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().len())
        .unwrap_or(0);
    if n > MAX_URI_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!(
                "请求地址过长（{n} 字节，上限 {MAX_URI_BYTES}）(the request target is {n} bytes; at most {MAX_URI_BYTES})"
            ),
        )
        .into_response();
    }
    next.run(req).await
}
