//! Shared test harness: databases on a real PostgreSQL + PostGIS, and a server on port 0.
//!
//! The admin connection comes from ONEMAP_TEST_ADMIN_URL (set by scripts/test), else
//! DATABASE_URL, else the project's private test cluster in `.onemap/test`. A template
//! database with the migrations and the demo city is built once per schema and generator
//! version (under an advisory lock, so parallel test processes build it once) and copied for
//! each test that needs its own data.
#![allow(dead_code)]

use onemap::api::WebConfig;
use onemap::app::{App, AppConfig};
use onemap::events::analytics::EventAnalytics;
use onemap::index::AssignIndex;
use onemap::store::Store;
use onemap::store::cluster::PrivateCluster;
use onemap::tiles::TileService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

const LOCK_KEY: i64 = 350_300_001;

pub fn admin_url() -> String {
    if let Ok(u) = std::env::var("ONEMAP_TEST_ADMIN_URL") {
        return u;
    }
    if let Ok(u) = std::env::var("DATABASE_URL") {
        return u;
    }
    let home = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".onemap/test");
    PrivateCluster::ensure_running(&home)
        .expect("start the private test cluster")
        .url("postgres")
}

/// `url` with its database name replaced by `db`.
pub fn url_with_db(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    format!("{}/{}{}", &base[..path_start], db, query)
}

/// A database of the test cluster, dropped when this is dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
    admin: String,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs outside async code; use a thread with its own small runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let store = sqlx::PgPool::connect(&admin).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&store)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

async fn admin_store() -> sqlx::PgPool {
    let url = admin_url();
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test database server: {e}"))
}

fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos % 100_000
    )
}

/// The template with migrations and the demo city; built once.
async fn ensure_template(admin: &sqlx::PgPool) -> String {
    let name = format!(
        "onemap_tpl_{}_{}",
        &onemap::store::schema_fingerprint()[..8],
        &onemap::demo::fingerprint()[..8]
    );
    let mut conn = admin.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await
        .unwrap();
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    if !exists {
        let building = format!("{name}_building");
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"
        ))
        .execute(&mut *conn)
        .await
        .unwrap();
        sqlx::query(&format!("CREATE DATABASE \"{building}\""))
            .execute(&mut *conn)
            .await
            .unwrap();
        let store = Store::connect(&url_with_db(&admin_url(), &building), 2)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let city =
            tokio::task::spawn_blocking(|| onemap::demo::generate(Default::default(), &|_| {}))
                .await
                .unwrap();
        store.replace_all_areas(&city.areas, &|_| {}).await.unwrap();
        store.close().await;
        drop(store);
        // A closed pool's backends exit asynchronously on the server; RENAME refuses while one
        // is still there ("being accessed by other users"). End any that linger, then wait
        // for them briefly.
        let mut tries = 0;
        loop {
            let _ = sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                  WHERE datname = $1 AND pid <> pg_backend_pid()",
            )
            .bind(&building)
            .execute(&mut *conn)
            .await;
            let renamed = sqlx::query(&format!(
                "ALTER DATABASE \"{building}\" RENAME TO \"{name}\""
            ))
            .execute(&mut *conn)
            .await;
            match renamed {
                Ok(_) => break,
                Err(e) if tries < 100 => {
                    tries += 1;
                    if tries == 1 {
                        eprintln!("template rename waits for closing sessions: {e}");
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("renaming the template database: {e}"),
            }
        }
    }
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await
        .unwrap();
    name
}

async fn copy_of(template: Option<&str>) -> TestDb {
    let admin = admin_store().await;
    let name = unique_name("onemap_test");
    match template {
        Some(t) => {
            let _ = t;
            let t = ensure_template(&admin).await;
            let mut conn = admin.acquire().await.unwrap();
            // Copies from one template are serialised: PostgreSQL refuses to copy a database
            // that someone is connected to.
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(LOCK_KEY)
                .execute(&mut *conn)
                .await
                .unwrap();
            let r = sqlx::query(&format!(
                "CREATE DATABASE \"{name}\" TEMPLATE \"{t}\" STRATEGY FILE_COPY"
            ))
            .execute(&mut *conn)
            .await;
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(LOCK_KEY)
                .execute(&mut *conn)
                .await
                .unwrap();
            r.unwrap();
        }
        None => {
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&admin)
                .await
                .unwrap();
        }
    }
    let url = url_with_db(&admin_url(), &name);
    TestDb {
        name,
        url,
        admin: admin_url(),
    }
}

/// A private copy of the demo city database.
pub async fn demo_db() -> TestDb {
    copy_of(Some("")).await
}

/// An empty database with only the migrations applied.
pub async fn empty_db() -> TestDb {
    let db = copy_of(None).await;
    let store = Store::connect(&db.url, 2).await.unwrap();
    store.migrate().await.unwrap();
    store.close().await;
    db
}

/// A server on 127.0.0.1:0 over `db`, with its index loaded and kept in sync.
pub struct TestApp {
    pub addr: SocketAddr,
    pub store: Store,
    /// A pool of its own on the test database, for SQL written in the tests (oracles,
    /// edits by "another tool"); the server's pool is private to `onemap::store`.
    pub pool: sqlx::PgPool,
    pub index: Arc<AssignIndex>,
    pub tiles: Arc<TileService>,
    pub analytics: Arc<EventAnalytics>,
    /// The vessel engine (its TCP and UDP listeners are started by tests that need them).
    pub fleet: Arc<onemap::vessels::Fleet>,
    /// Signed in as a city administrator (`token`).
    pub http: reqwest::Client,
    /// The API token of `http`'s account.
    pub token: String,
    pub db: TestDb,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// GET and parse the JSON body, returning (status, body).
    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }
}

/// The repository's own static files: `web/dist` (present once the client is built) and
/// `styles/`.
pub fn repo_web() -> WebConfig {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    WebConfig {
        dist: root.join("web/dist"),
        styles: root.join("styles"),
    }
}

/// A server over `db` with the repository's static files ([`repo_web`]).
pub async fn spawn_app(db: TestDb) -> TestApp {
    spawn_app_with_web(db, repo_web()).await
}

/// A server over `db` serving the static files of `web`: for tests whose answers depend on
/// whether the client is built, so they do not depend on what is in the working tree.
pub async fn spawn_app_with_web(db: TestDb, web: WebConfig) -> TestApp {
    let config = AppConfig {
        tile_cache_bytes: 64 << 20,
        web,
        ..AppConfig::default()
    };
    spawn_app_with_config(db, config).await
}

/// A server over `db` built with `config`.
pub async fn spawn_app_with_config(db: TestDb, config: AppConfig) -> TestApp {
    let store = Store::connect(&db.url, 8).await.unwrap();
    store.migrate().await.unwrap();
    let app = App::build(store.clone(), config).unwrap();
    assert!(
        app.wait_ready(std::time::Duration::from_secs(120)).await,
        "the views did not load"
    );
    let (index, tiles, analytics, fleet) = (
        app.state.index.clone(),
        app.state.tiles.clone(),
        app.state.analytics.clone(),
        app.state.fleet.clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(app.serve(listener, std::future::pending()));
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let token = account(&store, "test-admin", "admin", "3503").await;
    TestApp {
        addr,
        pool,
        store,
        index,
        tiles,
        analytics,
        fleet,
        http: client_with_token(&token),
        token,
        db,
    }
}

/// An account `name` with `role` over `scope` (made if missing), and a new API token of it.
pub async fn account(store: &Store, name: &str, role: &str, scope: &str) -> String {
    // A cheap hash: these accounts sign in by token, never by password.
    if store
        .user_add(name, "", role, scope, "test-no-password")
        .await
        .unwrap()
        .is_none()
    {
        store
            .user_reset(name, role, scope, "test-no-password")
            .await
            .unwrap();
    }
    let user = store.user_by_name(name).await.unwrap().unwrap();
    let token = onemap::access::secret::new_token();
    store
        .token_create(
            &onemap::access::secret::digest(&token),
            user.id,
            "test",
            chrono::Utc::now() + chrono::Duration::days(1),
        )
        .await
        .unwrap();
    token
}

/// An HTTP client that sends `token` as its bearer on every request.
pub fn client_with_token(token: &str) -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(h)
        .build()
        .unwrap()
}

/// A city administrator's token in the database at `url` (for servers run as processes).
pub async fn admin_token_at(url: &str) -> String {
    let store = Store::connect(url, 1).await.unwrap();
    store.migrate().await.unwrap();
    let t = account(&store, "test-admin", "admin", "3503").await;
    store.close().await;
    t
}

/// A response read off the wire by [`TestApp::raw`].
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON, or `Null` if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

impl TestApp {
    /// Sends `method target` exactly as written (an HTTP client would normalise `..` and
    /// escapes away) over a fresh connection, and reads the whole response.
    pub async fn raw(&self, method: &str, target: &str) -> RawResponse {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let request = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.addr, self.token
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.unwrap();
        parse_response(&bytes, method == "HEAD")
            .unwrap_or_else(|| panic!("{method} {target}: not an HTTP response: {bytes:?}"))
    }
}

fn parse_response(bytes: &[u8], head: bool) -> Option<RawResponse> {
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head_text = std::str::from_utf8(&bytes[..split]).ok()?;
    let mut lines = head_text.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &bytes[split + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if head {
        Vec::new()
    } else if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Some(RawResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let eol = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// Asserts that `body` is our error format with `code`, and returns the message.
pub fn assert_error(
    status: u16,
    body: &serde_json::Value,
    want_status: u16,
    want_code: &str,
) -> String {
    assert_eq!(status, want_status, "status for {body}");
    assert_eq!(body["error"]["code"], want_code, "code in {body}");
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!message.is_empty(), "an error must say what to fix: {body}");
    message
}

/// A demo city with demo events and demo profiles, and a server over it.
pub async fn profiled_app(events: usize, people: usize) -> TestApp {
    let db = demo_db().await;
    {
        let store = Store::connect(&db.url, 4).await.unwrap();
        store.migrate().await.unwrap();
        let params = onemap::events::demo::DemoEventParams {
            count: events,
            ..Default::default()
        };
        onemap::cli::import::demo_events(&store, params, onemap::cli::import::Existing::Append)
            .await
            .unwrap();
        let params = onemap::profiles::demo::DemoProfileParams {
            people,
            ..Default::default()
        };
        onemap::cli::import::demo_profiles(&store, params)
            .await
            .unwrap();
        store.close().await;
    }
    spawn_app(db).await
}
