//! Fire protection (issue #12) against a real PostGIS: coverage and the nearest water checked
//! against PostGIS on the ellipsoid, coverage kept current after edits, sensor readings with
//! every kind of bad row, alarms opening one event through the event loop and streaming their
//! alerts, fire events near heritage sites, acknowledgements.

mod common;

use common::{TestApp, assert_error, demo_db, spawn_app};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const DONGYANG: &str = "350304002205";

async fn fire_app() -> TestApp {
    let db = demo_db().await;
    {
        let store = onemap::store::Store::connect(&db.url, 4).await.unwrap();
        store.migrate().await.unwrap();
        onemap::cli::fire::demo_assets(&store, 3503, false)
            .await
            .unwrap();
        store.close().await;
    }
    spawn_app(db).await
}

async fn send(app: &TestApp, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
    let r = app
        .http
        .request(method, app.url(path))
        .json(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// PostGIS's uncovered area (m², on the ellipsoid) of a village at `radius`: the village
/// (the union of its units) minus the union of 32-gon buffers of in-service hydrants.
async fn postgis_uncovered(app: &TestApp, code: &str, radius: f64) -> (f64, f64) {
    sqlx::query_as(
        "WITH v AS (SELECT geom FROM area WHERE code = $1),
              h AS (SELECT ST_Union(ST_Buffer(a.point::geography, $2, 'quad_segs=8')::geometry) AS g
                      FROM asset a, v WHERE a.kind = 'hydrant' AND a.in_service AND a.retired_at IS NULL
                       AND ST_DWithin(a.point::geography, v.geom::geography, $2))
         SELECT ST_Area(v.geom::geography),
                COALESCE(ST_Area(ST_Difference(v.geom, h.g)::geography), ST_Area(v.geom::geography))
           FROM v, h",
    )
    .bind(code)
    .bind(radius)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

fn close_enough(ours: f64, theirs: f64, built: f64) -> bool {
    (ours - theirs).abs() <= 0.005 * built + 100.0
}

/// Waits until `check` holds for the coverage of `area` (the engine follows the feed).
async fn coverage_until(app: &TestApp, area: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (s, v) = app
            .get_json(&format!("/api/fire/coverage?area={area}"))
            .await;
        assert_eq!(s, 200, "{v}");
        if check(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "coverage never changed: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn coverage_and_nearest_water_agree_with_postgis_and_follow_edits() {
    let app = fire_app().await;
    // Dongyang: its 19 heritage sites, each nearest hydrant as PostGIS finds it.
    let (s, cov) = app
        .get_json(&format!("/api/fire/coverage?area={DONGYANG}"))
        .await;
    assert_eq!(s, 200);
    let sites = cov["sites"].as_array().unwrap();
    assert_eq!(sites.len(), 19);
    let uncovered_sites = sites.iter().filter(|s| s["covered"] == false).count();
    assert!(
        (1..19).contains(&uncovered_sites),
        "the demo leaves gaps: {uncovered_sites}"
    );
    for site in sites {
        let (id, d): (i64, f64) = sqlx::query_as(
            "SELECT h.id, ST_Distance(h.point::geography, s.point::geography)
               FROM asset s, asset h WHERE s.id = $1 AND h.kind = 'hydrant' AND h.in_service AND h.retired_at IS NULL
              ORDER BY ST_Distance(h.point::geography, s.point::geography), h.id LIMIT 1",
        )
        .bind(site["id"].as_i64().unwrap())
        .fetch_one(&app.pool)
        .await
        .unwrap();
        let ours = site["nearest"]["distance_m"].as_f64().unwrap();
        assert!(
            (ours - d).abs() <= d * 0.001 + 0.06,
            "site {}: {ours} vs {d}",
            site["name"]
        );
        assert_eq!(site["nearest"]["id"].as_i64(), Some(id), "{site}");
        assert_eq!(site["covered"].as_bool(), Some(d <= 150.0), "{site}");
    }
    // Villages: Dongyang and a spread of others, against ST_Difference/ST_Union.
    let all = app.get_json("/api/fire/coverage").await.1;
    let villages = all["villages"].as_array().unwrap();
    assert_eq!(villages.len(), 979);
    let mut checked = 0;
    for v in villages
        .iter()
        .step_by(61)
        .chain(villages.iter().filter(|v| v["code"] == DONGYANG))
    {
        let code = v["code"].as_str().unwrap();
        let (built, uncovered) = postgis_uncovered(&app, code, 150.0).await;
        assert!(
            (v["built_m2"].as_f64().unwrap() - built).abs() <= built * 0.001 + 1.0,
            "{code} built {v} vs {built}"
        );
        assert!(
            close_enough(v["uncovered_m2"].as_f64().unwrap(), uncovered, built),
            "{code}: {v} vs PostGIS {uncovered}"
        );
        checked += 1;
    }
    assert!(checked >= 16);
    // Another radius is computed on demand, and agrees too.
    let r100 = app
        .get_json(&format!("/api/fire/coverage?area={DONGYANG}&radius=100"))
        .await
        .1;
    let (built, uncovered) = postgis_uncovered(&app, DONGYANG, 100.0).await;
    assert!(close_enough(
        r100["villages"][0]["uncovered_m2"].as_f64().unwrap(),
        uncovered,
        built
    ));

    // Nearest water at points across the city, against PostGIS.
    let points: Vec<(f64, f64)> = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM area WHERE level = 3 ORDER BY md5(code) LIMIT 12) s",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for (lon, lat) in points {
        let v = app
            .get_json(&format!("/api/fire/nearest?lon={lon}&lat={lat}&k=5"))
            .await
            .1;
        let theirs: Vec<(i64, f64)> = sqlx::query_as(
            "WITH c AS (SELECT id, point FROM asset WHERE kind IN ('hydrant', 'water') AND in_service AND retired_at IS NULL
                         ORDER BY point <-> ST_SetSRID(ST_MakePoint($1, $2), 4326) LIMIT 200)
             SELECT id, ST_Distance(point::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography) d
               FROM c ORDER BY d, id LIMIT 5",
        )
        .bind(lon)
        .bind(lat)
        .fetch_all(&app.pool)
        .await
        .unwrap();
        let ours: Vec<(i64, f64)> = v["water"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| (w["id"].as_i64().unwrap(), w["distance_m"].as_f64().unwrap()))
            .collect();
        assert_eq!(ours.len(), 5);
        for ((a, da), (b, db)) in ours.iter().zip(&theirs) {
            assert!(
                (da - db).abs() <= db * 0.001 + 0.06,
                "{lon},{lat}: {ours:?} vs {theirs:?}"
            );
            if (da - db).abs() > 0.1 {
                assert_eq!(a, b);
            }
        }
        for w in v["water"].as_array().unwrap() {
            let b = w["bearing_deg"].as_f64().unwrap();
            assert!((0.0..360.0).contains(&b));
        }
    }

    // Edits: a hydrant moved next to an uncovered site, another switched off, one retired.
    let gap = sites
        .iter()
        .find(|s| s["covered"] == false)
        .unwrap()
        .clone();
    let gap_id = gap["id"].as_i64().unwrap();
    let (slon, slat) = (gap["lon"].as_f64().unwrap(), gap["lat"].as_f64().unwrap());
    let (s, created) = send(&app, reqwest::Method::POST, "/api/assets", &json!({
        "kind": "hydrant", "name": "新增消火栓", "lon": slon + 0.0003, "lat": slat,
        "props": {"type": "pillar", "flow_lps": 15, "pressure_mpa": 0.3, "last_inspection": "2026-06-01"}
    })).await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["village"]["code"], DONGYANG);
    let new_id = created["id"].as_i64().unwrap();
    let after = coverage_until(&app, DONGYANG, |v| {
        v["sites"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == gap_id && s["covered"] == true)
    })
    .await;
    let site = after["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == gap_id)
        .unwrap()
        .clone();
    assert_eq!(site["nearest"]["id"].as_i64(), Some(new_id));
    assert!(
        (site["nearest"]["distance_m"].as_f64().unwrap() - 30.0).abs() < 3.0,
        "{site}"
    );
    let (built, uncovered) = postgis_uncovered(&app, DONGYANG, 150.0).await;
    assert!(close_enough(
        after["villages"][0]["uncovered_m2"].as_f64().unwrap(),
        uncovered,
        built
    ));
    assert!(
        after["villages"][0]["uncovered_m2"].as_f64() < cov["villages"][0]["uncovered_m2"].as_f64()
    );
    // Switched off: the site is uncovered again, as from scratch.
    let mut body = created.clone();
    body["in_service"] = json!(false);
    let edit = json!({"kind": "hydrant", "name": body["name"], "lon": body["lon"], "lat": body["lat"],
                      "in_service": false, "props": body["props"], "version": body["version"]});
    let (s, changed) = send(
        &app,
        reqwest::Method::PUT,
        &format!("/api/assets/{new_id}"),
        &edit,
    )
    .await;
    assert_eq!(s, 200, "{changed}");
    let (s, stale) = send(
        &app,
        reqwest::Method::PUT,
        &format!("/api/assets/{new_id}"),
        &edit,
    )
    .await;
    assert_error(s, &stale, 409, "version_conflict");
    let again = coverage_until(&app, DONGYANG, |v| {
        v["sites"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == gap_id && s["covered"] == false)
    })
    .await;
    assert!(
        (again["villages"][0]["uncovered_m2"].as_f64().unwrap()
            - cov["villages"][0]["uncovered_m2"].as_f64().unwrap())
        .abs()
            < 1.0
    );
    // The hydrant out of service beside a heritage site raises an alert.
    let alerts = app
        .get_json(&format!(
            "/api/fire/alerts?kind=hydrant_unavailable&area={DONGYANG}"
        ))
        .await
        .1;
    assert!(
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["asset_id"] == new_id),
        "{alerts}"
    );
    // Retired: gone from the lists and the map.
    let (s, retired) = send(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/assets/{new_id}"),
        &json!(null),
    )
    .await;
    assert_eq!(s, 200);
    assert!(retired["retired_at"].is_string());
    let (s, again) = send(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/assets/{new_id}"),
        &json!(null),
    )
    .await;
    assert_error(s, &again, 404, "asset_not_found");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = app
            .get_json(&format!(
                "/api/assets?kind=hydrant&area={DONGYANG}&limit=10000"
            ))
            .await
            .1;
        if !list["assets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == new_id)
        {
            break;
        }
        assert!(Instant::now() < deadline, "a retired hydrant stays listed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn bad_assets_and_readings_get_clear_errors_and_good_rows_are_kept() {
    let app = fire_app().await;
    let app = &app;
    let post = |b: Value| async move { send(app, reqwest::Method::POST, "/api/assets", &b).await };
    let (s, v) = post(json!({"kind": "tower", "name": "x", "lon": 119.0, "lat": 25.43})).await;
    assert_error(s, &v, 400, "unknown_kind");
    let (s, v) = post(
        json!({"kind": "hydrant", "name": "", "lon": 119.0, "lat": 25.43,
                             "props": {"type": "pillar", "flow_lps": 900, "pressure_mpa": 0.3}}),
    )
    .await;
    assert_error(s, &v, 400, "invalid_asset");
    let paths: Vec<&str> = v["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"name") && paths.contains(&"props.flow_lps"),
        "{paths:?}"
    );
    let (s, v) = post(json!({"kind": "station", "name": "x", "lon": 116.0, "lat": 39.9, "props": {"type": "volunteer"}})).await;
    assert_error(s, &v, 400, "outside_city");
    let (s, v) = post(json!({"kind": "station", "name": "市外支援站", "lon": 116.0, "lat": 39.9, "props": {"type": "volunteer"}, "allow_outside": true})).await;
    assert_eq!(s, 201, "{v}");
    assert!(v["village"].is_null());
    let (s, v) = post(json!({"kind": "heritage", "name": "x", "props": {"level": "county", "structure": "wood"},
        "geometry": {"type": "Polygon", "coordinates": [[[119.0, 25.43], [119.001, 25.431], [119.001, 25.43], [119.0, 25.431], [119.0, 25.43]]]}})).await;
    assert_error(s, &v, 400, "invalid_asset");
    let (s, v) = post(json!({"kind": "sensor", "name": "x", "lon": 119.0, "lat": 25.43, "props": {"type": "smoke", "site_id": 999999999}})).await;
    assert_error(s, &v, 400, "invalid_asset");
    let r = app
        .http
        .post(app.url("/api/assets"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    assert_error(s, &r.json().await.unwrap(), 400, "malformed_json");
    let (s, v) = app.get_json("/api/assets/abc").await;
    assert_error(s, &v, 404, "asset_not_found");
    let (s, v) = app.get_json("/api/fire/nearest?lon=119&lat=95").await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = app
        .get_json("/api/fire/nearest?lon=119.0&lat=25.43&k=500")
        .await;
    assert_error(s, &v, 400, "out_of_range");
    let (s, v) = app.get_json("/api/fire/coverage?radius=5000").await;
    assert_error(s, &v, 400, "out_of_range");
    let (s, v) = app.get_json("/api/fire/coverage?area=999").await;
    assert_error(s, &v, 400, "unknown_area");
    let (s, v) = app.get_json("/api/fire/alerts?state=maybe").await;
    assert_error(s, &v, 400, "invalid_parameter");

    // Readings: one sensor, every kind of bad row beside good ones.
    let sensors = app
        .get_json(&format!("/api/fire/sensors?area={DONGYANG}"))
        .await
        .1;
    let sensor = sensors["sensors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "current")
        .unwrap()
        .clone();
    let id = sensor["id"].as_i64().unwrap();
    let now = chrono::Utc::now();
    let t = |s: i64| (now - chrono::Duration::seconds(s)).to_rfc3339();
    let batch = json!([
        {"sensor": id, "at": t(300), "value": 50.0},
        {"sensor": id, "at": t(300), "value": 50.0},
        {"sensor": 0, "at": t(290), "value": 1.0},
        {"sensor": id, "at": "last tuesday", "value": 1.0},
        {"sensor": id, "at": (now + chrono::Duration::hours(2)).to_rfc3339(), "value": 1.0},
        {"sensor": id, "at": t(280), "value": "NaN"},
        {"sensor": id, "at": t(270)},
        {"sensor": id, "at": t(260), "value": 60.0},
    ]);
    let (s, v) = send(app, reqwest::Method::POST, "/api/sensors/readings", &batch).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["stored"].as_i64(), v["duplicates"].as_i64()),
        (Some(2), Some(1)),
        "{v}"
    );
    let codes: Vec<(i64, &str)> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["index"].as_i64().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            (2, "unknown_sensor"),
            (3, "invalid_time"),
            (4, "invalid_time"),
            (5, "invalid_value"),
            (6, "invalid_reading")
        ]
    );
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sensor_reading WHERE sensor_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, 2);
    // The same batch again: duplicates only; an older reading: late.
    let (_, v) = send(app, reqwest::Method::POST, "/api/sensors/readings", &json!([{"sensor": id, "at": t(300), "value": 50.0}, {"sensor": id, "at": t(600), "value": 40.0}])).await;
    assert_eq!(
        (
            v["stored"].as_i64(),
            v["duplicates"].as_i64(),
            v["late"].as_i64()
        ),
        (Some(1), Some(1), Some(1)),
        "{v}"
    );
    let (s, v) = send(
        app,
        reqwest::Method::POST,
        "/api/sensors/readings",
        &json!([{"sensor": 0, "at": t(1), "value": 1}]),
    )
    .await;
    assert_error(s, &v, 400, "no_valid_readings");
    let (s, v) = send(
        app,
        reqwest::Method::POST,
        "/api/sensors/readings",
        &json!([]),
    )
    .await;
    assert_error(s, &v, 400, "empty_batch");
    let r = app
        .http
        .post(app.url("/api/sensors/readings"))
        .body("not json")
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    assert_error(s, &r.json().await.unwrap(), 400, "malformed_json");
    let many: Vec<Value> = (0..50_001)
        .map(|i| json!({"sensor": id, "at": t(10_000 + i), "value": 1}))
        .collect();
    let (s, v) = send(
        app,
        reqwest::Method::POST,
        "/api/sensors/readings",
        &json!(many),
    )
    .await;
    assert_error(s, &v, 413, "too_many_readings");
    let readyz = app.get_json("/readyz").await.1;
    assert!(
        readyz["fire"]["sensor_feed"]["readings_refused"]
            .as_u64()
            .unwrap()
            >= 6,
        "{readyz}"
    );
}

/// Reads the stream until an `alert` frame of `kind` arrives; its data. (Other alerts, such as
/// the hydrant checks of the start, pass by.)
async fn next_alert(resp: &mut reqwest::Response, buf: &mut String, kind: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(i) = buf.find("event: alert\ndata: ") {
            let rest = &buf[i + 19..];
            if let Some(end) = rest.find('\n') {
                let v: Value = serde_json::from_str(&rest[..end]).unwrap();
                *buf = rest[end..].to_string();
                if v["kind"] == kind {
                    return v;
                }
                continue;
            }
        }
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .expect("no alert on the stream")
            .unwrap()
            .unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn an_alarm_opens_one_event_streams_its_alert_and_is_acknowledged() {
    let app = fire_app().await;
    let mut stream = app
        .get(&format!("/api/stream?topics=alerts&area={DONGYANG}"))
        .await;
    assert_eq!(stream.status(), 200);
    let mut buf = String::new();
    let sensors = app
        .get_json(&format!("/api/fire/sensors?area={DONGYANG}"))
        .await
        .1;
    let sensor = sensors["sensors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "smoke")
        .unwrap()
        .clone();
    let id = sensor["id"].as_i64().unwrap();
    let debounce = sensor["debounce"].as_i64().unwrap();
    let now = chrono::Utc::now();
    let reading = |s: i64, v: f64| json!({"sensor": id, "at": (now - chrono::Duration::seconds(s)).to_rfc3339(), "value": v});
    // One short of the debounce count: nothing.
    let first: Vec<Value> = (0..debounce - 1).map(|i| reading(100 - i, 1.0)).collect();
    let (_, v) = send(
        &app,
        reqwest::Method::POST,
        "/api/sensors/readings",
        &json!(first),
    )
    .await;
    assert_eq!(v["alarms"], 0, "{v}");
    let (_, v) = send(
        &app,
        reqwest::Method::POST,
        "/api/sensors/readings",
        &json!([reading(90, 1.0)]),
    )
    .await;
    assert_eq!(v["alarms"], 1, "{v}");
    let alert = next_alert(&mut stream, &mut buf, "sensor_alarm").await;
    assert_eq!(
        (alert["kind"].as_str(), alert["asset_id"].as_i64()),
        (Some("sensor_alarm"), Some(id)),
        "{alert}"
    );
    assert_eq!(alert["village"]["code"], DONGYANG);
    assert!(!alert["detail"]["water"].as_array().unwrap().is_empty());
    let events: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, source, village_code FROM event WHERE client_id LIKE $1")
            .bind(format!("iot-{id}-%"))
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].1.as_str(), events[0].2.as_str()),
        ("iot", DONGYANG)
    );
    assert_eq!(alert["event_id"].as_i64(), Some(events[0].0));
    // A dip and a second alarm while the event is open: no second event.
    let more = json!([
        reading(80, 0.0),
        reading(70, 1.0),
        reading(60, 1.0),
        reading(50, 1.0),
        reading(40, 1.0)
    ]);
    let (_, v) = send(&app, reqwest::Method::POST, "/api/sensors/readings", &more).await;
    assert_eq!(v["alarms"], 1, "{v}");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM event WHERE client_id LIKE $1")
        .bind(format!("iot-{id}-%"))
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    // Acknowledged once; the second time is a conflict.
    let alert_id = alert["id"].as_i64().unwrap();
    let (s, v) = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/fire/alerts/{alert_id}/ack"),
        &json!({"by": "值班员", "note": "已派人查看"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["acked_by"].as_str(), v["note"].as_str()),
        (Some("test-admin"), Some("已派人查看"))
    );
    let (s, v) = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/fire/alerts/{alert_id}/ack"),
        &json!({"by": "值班员"}),
    )
    .await;
    assert_error(s, &v, 409, "already_acknowledged");
    let (s, v) = send(
        &app,
        reqwest::Method::POST,
        "/api/fire/alerts/99999999/ack",
        &json!({"by": "值班员"}),
    )
    .await;
    assert_error(s, &v, 404, "alert_not_found");
    let (s, v) = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/fire/alerts/{alert_id}/ack"),
        &json!({"by": ""}),
    )
    .await;
    assert_error(s, &v, 400, "invalid_ack");
    // The event closed (by another tool), a new alarm opens a new event.
    sqlx::query("UPDATE event SET status = 'closed', closed_at = now() WHERE id = $1")
        .bind(events[0].0)
        .execute(&app.pool)
        .await
        .unwrap();
    let more = json!([
        reading(30, 0.0),
        reading(20, 1.0),
        reading(15, 1.0),
        reading(10, 1.0),
        reading(5, 1.0)
    ]);
    let (_, v) = send(&app, reqwest::Method::POST, "/api/sensors/readings", &more).await;
    assert_eq!(v["alarms"], 1, "{v}");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM event WHERE client_id LIKE $1")
        .bind(format!("iot-{id}-%"))
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let second = next_alert(&mut stream, &mut buf, "sensor_alarm").await;
    assert_eq!(second["kind"], "sensor_alarm");
    assert_ne!(second["id"], alert["id"]);

    // A forest fire reported beside a heritage site raises its alert.
    let cov = app
        .get_json(&format!("/api/fire/coverage?area={DONGYANG}"))
        .await
        .1;
    let site = &cov["sites"][0];
    let (s, ev) = send(
        &app,
        reqwest::Method::POST,
        "/api/events",
        &json!({
            "category": "forest_fire", "source": "grid_worker", "description": "山火",
            "lon": site["lon"].as_f64().unwrap() + 0.001, "lat": site["lat"]
        }),
    )
    .await;
    assert_eq!(s, 201, "{ev}");
    let fire = next_alert(&mut stream, &mut buf, "fire_near_heritage").await;
    assert_eq!(
        (fire["kind"].as_str(), fire["event_id"].as_i64()),
        (Some("fire_near_heritage"), ev["id"].as_i64()),
        "{fire}"
    );
    let listed = app
        .get_json(&format!(
            "/api/fire/alerts?area={DONGYANG}&kind=fire_near_heritage"
        ))
        .await
        .1;
    assert_eq!(listed["alerts"][0]["id"], fire["id"]);
}

#[tokio::test]
async fn fire_tiles_hold_the_assets_of_their_tile() {
    let app = fire_app().await;
    let cov = app
        .get_json(&format!("/api/fire/coverage?area={DONGYANG}"))
        .await
        .1;
    let site = &cov["sites"][0];
    let (lon, lat) = (site["lon"].as_f64().unwrap(), site["lat"].as_f64().unwrap());
    let z = 15u32;
    let n = (1u64 << z) as f64;
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let y = ((1.0
        - (lat.to_radians().tan() + 1.0 / lat.to_radians().cos()).ln() / std::f64::consts::PI)
        / 2.0
        * n)
        .floor() as u32;
    for source in ["heritage", "hydrants", "fire-uncovered"] {
        let r = app.get(&format!("/tiles/{source}/{z}/{x}/{y}.mvt")).await;
        assert!(
            r.status() == 200 || r.status() == 204,
            "{source}: {}",
            r.status()
        );
        if source == "heritage" {
            use geozero::mvt::{Message, Tile};
            assert_eq!(r.status(), 200);
            let tile = Tile::decode(r.bytes().await.unwrap()).unwrap();
            let layer = &tile.layers[0];
            assert_eq!(layer.name, "heritage");
            let id = site["id"].as_u64().unwrap();
            let f = layer
                .features
                .iter()
                .find(|f| f.id == Some(id))
                .expect("the site is in its tile");
            let props: std::collections::HashMap<&str, String> = f
                .tags
                .chunks(2)
                .map(|kv| {
                    let v = &layer.values[kv[1] as usize];
                    let text = v
                        .string_value
                        .clone()
                        .or(v.bool_value.map(|b| b.to_string()))
                        .or(v.double_value.map(|d| d.to_string()))
                        .unwrap_or_default();
                    (layer.keys[kv[0] as usize].as_str(), text)
                })
                .collect();
            assert_eq!(props["level"], site["level"].as_str().unwrap());
            assert_eq!(props["covered"], site["covered"].to_string());
        }
    }
    let (s, tj) = app.get_json("/tiles/hydrants").await;
    assert_eq!(s, 200, "{tj}");
    assert!(
        tj["tiles"][0]
            .as_str()
            .unwrap()
            .contains("/tiles/hydrants/")
    );
}

#[tokio::test]
async fn import_assets_keeps_good_rows_and_names_bad_ones() {
    let db = demo_db().await;
    let dir = std::env::temp_dir().join(format!("onemap-fire-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("hydrants.csv");
    std::fs::write(
        &csv,
        "\u{feff}lon,lat,name,type,flow_lps,pressure_mpa,last_inspection,in_service\n\
         119.0479,25.4310,一号栓,pillar,15,0.3,2026-05-01,true\n\
         119.0483,25.4312,二号栓,underground,10,0.25,,false\n\
         119.0490,25.4300,三号栓,pillar,20,0.4,2026-01-09,1\n\
         116.4,39.9,市外栓,pillar,15,0.3,,true\n\
         119.0490,25.4300,坏栓,pillar,999,0.3,,true\n\
         abc,25.43,无坐标,pillar,15,0.3,,true\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_onemap"))
        .args(["import", "assets"])
        .arg(&csv)
        .args(["--kind", "hydrant"])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("row 4") && stderr.contains("row 5") && stderr.contains("row 6"),
        "{stderr}"
    );
    assert!(stderr.contains("imported 3 hydrant assets"), "{stderr}");
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let rows: Vec<(String, bool, Option<String>)> =
        sqlx::query_as("SELECT name, in_service, village_code FROM asset ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[1],
        ("二号栓".to_string(), false, Some(DONGYANG.to_string()))
    );
    // A GeoJSON file of heritage sites, one of them a polygon.
    let gj = dir.join("sites.geojson");
    std::fs::write(
        &gj,
        json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"name": "古厝", "level": "county", "structure": "wood"},
             "geometry": {"type": "Point", "coordinates": [119.048, 25.431]}},
            {"type": "Feature", "properties": {"name": "祠堂", "level": "municipal", "structure": "brick"},
             "geometry": {"type": "Polygon", "coordinates": [[[119.0481, 25.4311], [119.0484, 25.4311], [119.0484, 25.4313], [119.0481, 25.4313], [119.0481, 25.4311]]]}},
            {"type": "Feature", "properties": {"name": "无级别"},
             "geometry": {"type": "Point", "coordinates": [119.048, 25.431]}}
        ]})
        .to_string(),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_onemap"))
        .args(["import", "assets"])
        .arg(&gj)
        .args(["--kind", "heritage"])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("imported 2 heritage assets") && stderr.contains("row 3"),
        "{stderr}"
    );
    let polygon: String =
        sqlx::query_scalar("SELECT GeometryType(geom) FROM asset WHERE name = '祠堂'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(polygon, "POLYGON");
    let _ = std::fs::remove_dir_all(&dir);
}
