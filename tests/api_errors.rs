//! Every bad input gets a 4xx with `{"error": {"code", "message"}}` that says what to fix;
//! never a 500, never a panic.

mod common;

use common::{assert_error, demo_db, spawn_app};
use serde_json::{Value, json};

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
        ("/styles/../../etc/passwd", 404, "not_found"),
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
