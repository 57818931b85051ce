//! Every bad input gets a 4xx with `{"error": {"code", "message"}}` that says what to fix;
//! never a 500, never a panic.

mod common;

use common::{
    RawResponse, TestApp, assert_error, demo_db, empty_db, spawn_app, spawn_app_with_web,
};
use onemap::api::WebConfig;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[tokio::test]
async fn bad_points_on_get_assign() {
    let app = spawn_app(demo_db().await).await;
    let cases: &[(&str, u16, &str)] = &[
        ("/api/assign?lon=NaN&lat=25.4", 400, "invalid_number"),
        ("/api/assign?lon=inf&lat=25.4", 400, "invalid_number"),
        ("/api/assign?lon=119&lat=-infinity", 400, "invalid_number"),
        ("/api/assign?lon=190&lat=25.4", 400, "out_of_range"),
        ("/api/assign?lon=119&lat=95", 400, "out_of_range"),
        ("/api/assign?lat=25.4", 400, "missing_parameter"),
        ("/api/assign?lon=119", 400, "missing_parameter"),
        ("/api/assign?lon=east&lat=25.4", 400, "invalid_number"),
        ("/api/assign?lon=119&lat=25.4&crs=utm50", 400, "unknown_crs"),
        (
            "/api/assign?lon=119&lat=25.4&tolerance_m=-1",
            400,
            "out_of_range",
        ),
        (
            "/api/assign?lon=119&lat=25.4&tolerance_m=abc",
            400,
            "invalid_number",
        ),
    ];
    for (path, status, code) in cases {
        let (s, body) = app.get_json(path).await;
        assert_error(s, &body, *status, code);
    }
    // Swapped: lat=119 is impossible; and (25.43, 25.0)-style swaps that are in range but land
    // inside Putian when swapped are caught too.
    let (s, body) = app.get_json("/api/assign?lon=25.43&lat=119.0").await;
    let msg = assert_error(s, &body, 400, "lon_lat_swapped");
    assert!(msg.contains("swapped") && msg.contains("填反"), "{msg}");
}

#[tokio::test]
async fn bad_batches() {
    let app = spawn_app(demo_db().await).await;
    let post = |body: Vec<u8>, ct: &'static str| {
        let req = app
            .http
            .post(app.url("/api/assign"))
            .header("content-type", ct)
            .body(body);
        async move {
            let r = req.send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (s, b) = post(
        b"[{\"lon\": 119.0, \"lat\": 25.4".to_vec(),
        "application/json",
    )
    .await;
    assert_error(s, &b, 400, "malformed_json");
    let (s, b) = post(
        b"{\"lon\": 119.0, \"lat\": 25.4}".to_vec(),
        "application/json",
    )
    .await;
    assert_error(s, &b, 400, "invalid_body");
    let (s, b) = post(b"lon,lat\n119.0,25.4\n".to_vec(), "application/xml").await;
    assert_error(s, &b, 415, "unsupported_media_type");
    let (s, b) = post(b"x;y\n119.0;25.4\n".to_vec(), "text/csv").await;
    assert_error(s, &b, 400, "missing_column");
    let (s, b) = post(
        b"lon,lat\n119.0,25.4\n\"unterminated,25.4\n".to_vec(),
        "text/csv",
    )
    .await;
    assert_eq!(
        s, 200,
        "a malformed CSV row is that row's error, not the request's: {b}"
    );
    assert_eq!(b["results"][0]["assigned"], true);
    assert!(b["results"][1]["error"]["code"].is_string(), "{b}");
    let (s, b) = post(b"lon,lat\n".to_vec(), "text/csv").await;
    assert_eq!(s, 200);
    assert_eq!(b["count"], 0);

    // 100,001 points: too many.
    let many: Vec<Value> = (0..100_001)
        .map(|_| json!({"lon": 119.0, "lat": 25.4}))
        .collect();
    let (s, b) = post(serde_json::to_vec(&many).unwrap(), "application/json").await;
    assert_error(s, &b, 413, "too_many_points");
    // A body over the byte limit.
    let huge = vec![b' '; onemap::api::MAX_BODY_BYTES + 1];
    let (s, b) = post(huge, "application/json").await;
    assert_error(s, &b, 413, "payload_too_large");
    // Unknown crs on a batch.
    let r = app
        .http
        .post(app.url("/api/assign?crs=mars"))
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    assert_error(s, &r.json().await.unwrap(), 400, "unknown_crs");
}

#[tokio::test]
async fn bad_area_requests_and_unknown_routes() {
    let app = spawn_app(demo_db().await).await;
    let cases: &[(&str, u16, &str)] = &[
        ("/api/areas/35a3", 400, "bad_code"),
        ("/api/areas/35030", 400, "bad_code"),
        ("/api/areas/350399", 404, "not_found"),
        ("/api/areas?level=block", 400, "bad_level"),
        ("/api/areas?limit=0", 400, "out_of_range"),
        ("/api/areas?limit=100000", 400, "out_of_range"),
        ("/api/areas?limit=ten", 400, "invalid_number"),
        ("/api/areas?parent=x", 400, "bad_code"),
        ("/api/areas/3503?geometry=maybe", 400, "invalid_parameter"),
        ("/api/validate?root=abc", 400, "bad_code"),
        ("/api/validate?root=350399", 404, "not_found"),
        (
            "/api/validate?root=3503&min_area_m2=-5",
            400,
            "out_of_range",
        ),
        ("/api/nothing-here", 404, "not_found"),
        ("/styles/nope.json", 404, "not_found"),
    ];
    for (path, status, code) in cases {
        let (s, body) = app.get_json(path).await;
        assert_error(s, &body, *status, code);
    }
    let long_q = "村".repeat(101);
    let (s, body) = app.get_json(&format!("/api/areas?q={long_q}")).await;
    assert_error(s, &body, 400, "out_of_range");
    // Wrong method.
    let r = app
        .http
        .delete(app.url("/api/assign"))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    assert_error(s, &r.json().await.unwrap(), 405, "method_not_allowed");
}

#[tokio::test]
async fn bad_edits_change_nothing() {
    let app = spawn_app(demo_db().await).await;
    let put = |code: &str, body: Vec<u8>| {
        let req = app
            .http
            .put(app.url(&format!("/api/areas/{code}")))
            .header("content-type", "application/json")
            .body(body);
        async move {
            let r = req.send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let unit = "3503020010080160005";
    let (_, before) = app.get_json(&format!("/api/areas/{unit}")).await;
    let (s, b) = put(unit, b"{not json".to_vec()).await;
    assert_error(s, &b, 400, "malformed_json");
    let (s, b) = put(unit, br#"{"type":"Point","coordinates":[1,2]}"#.to_vec()).await;
    assert_error(s, &b, 422, "invalid_area");
    let (s, b) = put(unit, serde_json::to_vec(&json!({"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[119,25.4]}})).unwrap()).await;
    assert_error(s, &b, 422, "invalid_area");
    assert_eq!(b["error"]["problems"][0]["kind"], "wrong_geometry_type");
    let (s, b) = put(
        unit,
        serde_json::to_vec(
            &json!({"type":"Feature","properties":{"code":"3503020010080160006"},"geometry":null}),
        )
        .unwrap(),
    )
    .await;
    assert_error(s, &b, 400, "code_mismatch");
    let (s, b) = put("35x", b"{}".to_vec()).await;
    assert_error(s, &b, 400, "bad_code");
    let (_, after) = app.get_json(&format!("/api/areas/{unit}")).await;
    assert_eq!(before["version"], after["version"], "nothing changed");
}

/// Requests that must never reach a file outside the static directories, nor the client's page:
/// traversals sent as written (raw and percent-encoded) against the styles, the fonts and the
/// client's files, missing files, and unknown server paths.
const NOT_FOUND_TARGETS: &[&str] = &[
    "/styles/../../etc/passwd",
    "/styles/..%2F..%2Fetc%2Fpasswd",
    "/styles/%2e%2e/%2e%2e/etc/passwd",
    "/styles/%2e%2e%2f%2e%2e%2fCargo.toml",
    "/styles/..%5c..%5cCargo.toml",
    "/fonts/../../../etc/passwd",
    "/fonts/..%2f..%2f..%2fetc%2fpasswd",
    "/fonts/%2e%2e/%2e%2e/%2e%2e/Cargo.toml",
    "/fonts/x/../../../../Cargo.toml",
    "/assets/../../Cargo.toml",
    "/assets/%2e%2e/%2e%2e/Cargo.toml",
    "/assets/..%2f..%2fCargo.toml",
    "/assets/",
    "/assets",
    "/fonts/x",
    "/fonts/x/",
    "/../Cargo.toml",
    "/%2e%2e/Cargo.toml",
    "/..%2fCargo.toml",
    "/index.html/../../Cargo.toml",
    "/village/../../Cargo.toml",
    "/village/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/assets/missing.js",
    "/fonts/x/9999.pbf",
    "/favicon.ico",
    "/index.html",
    "/Cargo.toml",
    "/api",
    "/api/nothing",
    "/api/nothing/",
    "/tiles/nothing/1/2/3/4",
    "/tiles/areas/../../../Cargo.toml",
    "/tiles/areas/%2e%2e/%2e%2e/%2e%2e/Cargo.toml",
    "/styles/nope.json",
];

/// A built client made by the test in a temporary directory laid out like the repository
/// (`<root>/web/dist`), removed when dropped. A `Cargo.toml` saying `[package]` sits in `dist`
/// and in each directory above it up to the root, where the traversals aim: one leaking shows.
struct ClientFixture {
    root: PathBuf,
    dist: PathBuf,
}

const FIXTURE_PAGE: &str = "<!doctype html><title>onemap fixture page</title>";

impl ClientFixture {
    fn new() -> ClientFixture {
        let root = std::env::temp_dir().join(format!(
            "onemap-web-fixture-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let dist = root.join("web/dist");
        std::fs::create_dir_all(dist.join("assets")).unwrap();
        std::fs::create_dir_all(dist.join("fonts/x")).unwrap();
        std::fs::write(dist.join("index.html"), FIXTURE_PAGE).unwrap();
        std::fs::write(dist.join("assets/app.js"), "console.log('fixture');\n").unwrap();
        std::fs::write(dist.join("fonts/x/0-255.pbf"), b"\x0a\x00").unwrap();
        for dir in [&dist, &root.join("web"), &root] {
            std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"secret\"\n").unwrap();
        }
        ClientFixture { root, dist }
    }
}

impl Drop for ClientFixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn web_with_dist(dist: &Path) -> WebConfig {
    WebConfig {
        dist: dist.to_path_buf(),
        styles: Path::new(env!("CARGO_MANIFEST_DIR")).join("styles"),
    }
}

/// A JSON 404 `not_found`, and nothing read from outside the served directories.
fn assert_not_found(label: &str, target: &str, r: &RawResponse) {
    assert_json_404(label, target, r, "not_found");
}

/// A JSON 404 in the API's format with `code`, and nothing read from outside the served
/// directories.
fn assert_json_404(label: &str, target: &str, r: &RawResponse, code: &str) {
    let text = r.text();
    assert!(
        !text.contains("[package]") && !text.contains("root:") && !text.contains(FIXTURE_PAGE),
        "{label} {target}: leaked a file or the page: {text}"
    );
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{label} {target}: content type {:?}: {text}",
        r.header("content-type")
    );
    let body = r.json();
    assert_eq!(r.status, 404, "{label} {target}: status for {text}");
    assert_error(r.status, &body, 404, code);
}

/// The assertions that hold whether or not the client is built.
async fn assert_server_paths(label: &str, app: &TestApp) {
    for target in NOT_FOUND_TARGETS {
        let r = app.raw("GET", target).await;
        assert_not_found(label, target, &r);
    }
    // A tile layer that does not exist has its own, more precise code.
    let r = app.raw("GET", "/tiles/nothing/1/2/3").await;
    assert_json_404(label, "/tiles/nothing/1/2/3", &r, "unknown_layer");
    // Not a GET: never the page, and the static directories answer in our format too.
    let r = app.raw("POST", "/village/350302001001").await;
    assert_not_found(label, "POST /village/350302001001", &r);
    let r = app.raw("POST", "/assets/app.js").await;
    assert_error(r.status, &r.json(), 405, "method_not_allowed");
    // The styles do not depend on the client.
    let r = app.raw("GET", "/styles/light.json").await;
    assert_eq!(r.status, 200, "{label}: /styles/light.json");
    assert!(r.json()["layers"].is_array(), "{label}: a style");
}

#[tokio::test]
async fn traversals_and_unknown_paths_with_and_without_the_client() {
    let fixture = ClientFixture::new();
    let built = spawn_app_with_web(empty_db().await, web_with_dist(&fixture.dist)).await;
    let missing = fixture.dist.with_extension("absent");
    let bare = spawn_app_with_web(empty_db().await, web_with_dist(&missing)).await;

    assert_server_paths("client built", &built).await;
    assert_server_paths("no client", &bare).await;

    // With the client built: its page for its own routes (`/`, with the state the client keeps
    // in the query, and any extension-less path outside the server's), and its files.
    for target in [
        "/",
        "/?style=dark&area=350302001001",
        "/village/350302001001",
        "/%E8%8E%86%E7%94%B0/",
    ] {
        let r = built.raw("GET", target).await;
        assert_eq!(r.status, 200, "client built {target}: {}", r.text());
        assert!(
            r.header("content-type")
                .is_some_and(|c| c.starts_with("text/html")),
            "client built {target}: {:?}",
            r.headers
        );
        assert_eq!(r.text(), FIXTURE_PAGE, "client built {target}");
    }
    let r = built.raw("HEAD", "/").await;
    assert_eq!(r.status, 200, "client built HEAD /");
    let r = built.raw("GET", "/assets/app.js").await;
    assert_eq!(r.status, 200, "client built /assets/app.js: {}", r.text());
    assert_eq!(r.text(), "console.log('fixture');\n");
    let r = built.raw("GET", "/fonts/x/0-255.pbf").await;
    assert_eq!(r.status, 200, "client built /fonts/x/0-255.pbf");
    assert_eq!(r.body, b"\x0a\x00");

    // Without it: the same paths are all 404s in our format.
    for target in [
        "/",
        "/?style=dark&area=350302001001",
        "/village/350302001001",
        "/assets/app.js",
        "/fonts/x/0-255.pbf",
    ] {
        let r = bare.raw("GET", target).await;
        assert_not_found("no client", target, &r);
    }
}
