//! Event reporting against a real PostGIS: ingest (assignment, idempotency, client ids,
//! repeats), the closed loop, the queries (checked against plain SQL on the table) and bad
//! input. No mocks, no timing assertions.

mod common;

use common::{TestApp, assert_error, demo_db, spawn_app};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};

async fn post(app: &TestApp, path: &str, body: &Value, key: Option<&str>) -> (u16, Value) {
    let mut r = app.http.post(app.url(path)).json(body);
    if let Some(k) = key {
        r = r.header("Idempotency-Key", k);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn post_raw(app: &TestApp, body: &str) -> (u16, Value) {
    let r = app
        .http
        .post(app.url("/api/events"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Points inside `n` units (spread over the city), with the unit code.
async fn unit_points(app: &TestApp, n: i64) -> Vec<(f64, f64, String)> {
    sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p), code FROM (
           SELECT code, ST_PointOnSurface(geom) AS p,
                  row_number() OVER (ORDER BY code) AS k, count(*) OVER () AS total
             FROM area WHERE level = 5) s
          WHERE k % (total / $1) = 0 ORDER BY code LIMIT $1",
    )
    .bind(n)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

fn ev(category: &str, lon: f64, lat: f64) -> Value {
    json!({"category": category, "source": "grid_worker", "lon": lon, "lat": lat})
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn ingest_assigns_like_the_assign_api_and_logs_the_first_transition() {
    let app = spawn_app(demo_db().await).await;
    let pts = unit_points(&app, 40).await;
    let batch: Vec<Value> = pts
        .iter()
        .enumerate()
        .map(|(i, (x, y, _))| {
            json!({"category": "城市管理", "source": "12345热线", "priority": if i % 2 == 0 { "high" } else { "普通" },
                   "reporter": format!("网格员{i}"), "lon": x, "lat": y,
                   "reported_at": "2026-11-30T08:00:00+08:00", "description": "占道经营"})
        })
        .collect();
    let (s, body) = post(&app, "/api/events", &json!(batch), None).await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["created"], pts.len());
    assert_eq!(body["existing"], 0);
    for (row, (x, y, unit)) in body["events"].as_array().unwrap().iter().zip(&pts) {
        let (_, a) = app.get_json(&format!("/api/assign?lon={x}&lat={y}")).await;
        assert_eq!(row["assigned"], true);
        assert_eq!(a["unit"]["code"], unit.as_str());
        for level in ["unit", "grid", "village", "town", "district"] {
            assert_eq!(row[level], a[level], "{level} of {row}");
        }
        let id = row["id"].as_i64().unwrap();
        let stored: (String, String, String, String, String, String, String, f64) = sqlx::query_as(
            "SELECT unit_code, grid_code, village_code, town_code, district_code, category, source,
                        extract(epoch FROM deadline - reported_at)::float8 / 3600
                   FROM event WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(stored.0, a["unit"]["code"].as_str().unwrap());
        assert_eq!(stored.1, a["grid"]["code"].as_str().unwrap());
        assert_eq!(stored.2, a["village"]["code"].as_str().unwrap());
        assert_eq!(stored.3, a["town"]["code"].as_str().unwrap());
        assert_eq!(stored.4, a["district"]["code"].as_str().unwrap());
        assert_eq!(
            (stored.5.as_str(), stored.6.as_str()),
            ("city_management", "hotline")
        );
        let idx = row["index"].as_u64().unwrap();
        // city_management: 48 h for normal, high halves it.
        assert_eq!(stored.7, if idx % 2 == 0 { 24.0 } else { 48.0 });
    }
    let log: Vec<(i64, Option<String>, String, String)> = sqlx::query_as(
        "SELECT event_id, from_status, to_status, actor FROM event_transition ORDER BY event_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(log.len(), pts.len());
    assert!(
        log.iter()
            .all(|l| l.1.is_none() && l.2 == "reported" && l.3.starts_with("网格员"))
    );

    // A single object: 201 with the whole event; GCJ-02 input is converted before assignment.
    let (x, y, unit) = &pts[3];
    let (gx, gy) = onemap::crs::wgs84_to_gcj02(*x, *y);
    let (s, one) = post(
        &app,
        "/api/events?crs=gcj02",
        &json!({"category": "traffic", "source": "patrol", "lon": gx, "lat": gy}),
        None,
    )
    .await;
    assert_eq!(s, 201, "{one}");
    assert_eq!(one["unit"]["code"], unit.as_str());
    assert!((one["lon"].as_f64().unwrap() - x).abs() < 1e-7);
    assert_eq!(one["status"], "reported");
    assert_eq!(one["created"], true);
    let (s, detail) = app.get_json(&format!("/api/events/{}", one["id"])).await;
    assert_eq!(s, 200);
    assert_eq!(detail["transitions"][0]["actor"], "patrol");
    assert_eq!(detail["transitions"][0]["to"], "reported");
}

#[tokio::test]
async fn idempotency_keys_and_client_ids_never_make_a_second_event() {
    let app = spawn_app(demo_db().await).await;
    let pts = unit_points(&app, 4).await;
    let body = json!([
        ev("dispute", pts[0].0, pts[0].1),
        ev("traffic", pts[1].0, pts[1].1)
    ]);
    let (s1, a1) = post(&app, "/api/events", &body, Some("key-1")).await;
    let (s2, a2) = post(&app, "/api/events", &body, Some("key-1")).await;
    assert_eq!(s1, 201);
    assert_eq!((s1, &a1), (s2, &a2), "a retry gets the first answer");
    assert_eq!(count(&app, "SELECT count(*) FROM event").await, 2);
    // Same key, other body: 409.
    let other = json!([ev("dispute", pts[2].0, pts[2].1)]);
    let (s, e) = post(&app, "/api/events", &other, Some("key-1")).await;
    assert_error(s, &e, 409, "idempotency_conflict");
    assert_eq!(count(&app, "SELECT count(*) FROM event").await, 2);
    // Single object with a key: replayed too.
    let one = json!({"id": "H-7", "category": "other", "source": "hotline", "lon": pts[3].0, "lat": pts[3].1});
    let (s1, a1) = post(&app, "/api/events", &one, Some("key-2")).await;
    let (s2, a2) = post(&app, "/api/events", &one, Some("key-2")).await;
    assert_eq!((s1, &a1), (s2, &a2));
    assert_eq!(s1, 201);

    // Client id: the stored event comes back, not a second one (single and in batches).
    let (s, again) = post(&app, "/api/events", &one, None).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["id"], a1["id"]);
    assert_eq!(again["created"], false);
    let mut dup = one.clone();
    dup["description"] = json!("再次来电");
    let batch = json!([dup, {"id": "H-8", "category": "other", "source": "hotline", "lon": pts[3].0, "lat": pts[3].1},
                       {"id": "H-8", "category": "other", "source": "hotline", "lon": pts[3].0, "lat": pts[3].1}]);
    let (s, b) = post(&app, "/api/events", &batch, None).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        (b["created"].as_u64(), b["existing"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(b["events"][0]["id"], a1["id"]);
    assert_eq!(b["events"][1]["id"], b["events"][2]["id"]);
    assert_eq!(b["events"][2]["created"], false);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM event WHERE client_id IN ('H-7', 'H-8')"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn a_point_in_no_unit_is_stored_with_its_nearest_grid_and_listed() {
    let app = spawn_app(demo_db().await).await;
    // 20 m east of the city's easternmost unit vertex: outside every unit, near a grid.
    let (x, y): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (
           SELECT (ST_DumpPoints(geom)).geom AS p FROM (
             SELECT geom FROM area WHERE level = 5 ORDER BY ST_XMax(geom) DESC LIMIT 1) u) s
          ORDER BY ST_X(p) DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let x = x + 0.0002;
    let (_, a) = app.get_json(&format!("/api/assign?lon={x}&lat={y}")).await;
    assert_eq!(a["assigned"], false);
    let near = a["nearest"]["grid"]["code"]
        .as_str()
        .expect("a grid within 50 m")
        .to_string();
    let (s, e) = post(&app, "/api/events", &ev("environment", x, y), None).await;
    assert_eq!(s, 201, "{e}");
    assert_eq!(e["assigned"], false);
    assert_eq!(e["grid"], Value::Null);
    assert_eq!(e["nearest_grid"]["code"], near.as_str());
    // Far at sea: stored too, with no nearest grid.
    let (s, far) = post(&app, "/api/events", &ev("environment", 119.95, 24.9), None).await;
    assert_eq!(s, 201, "{far}");
    assert_eq!(far["nearest_grid"], Value::Null);
    let pts = unit_points(&app, 2).await;
    post(
        &app,
        "/api/events",
        &ev("environment", pts[0].0, pts[0].1),
        None,
    )
    .await;
    let (_, list) = app.get_json("/api/events?unassigned=true").await;
    let ids: BTreeSet<i64> = list["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from([e["id"].as_i64().unwrap(), far["id"].as_i64().unwrap()])
    );
    let stored: (bool, Option<String>, Option<f32>) = sqlx::query_as(
        "SELECT assigned, nearest_grid_code, nearest_grid_m FROM event WHERE id = $1",
    )
    .bind(e["id"].as_i64())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(!stored.0);
    assert_eq!(stored.1.as_deref(), Some(near.as_str()));
    assert!(stored.2.unwrap() <= 25.0);
}

#[tokio::test]
async fn the_closed_loop_runs_to_closed_and_refuses_invalid_moves() {
    let app = spawn_app(demo_db().await).await;
    let pts = unit_points(&app, 1).await;
    let (_, e) = post(
        &app,
        "/api/events",
        &ev("safety_hazard", pts[0].0, pts[0].1),
        None,
    )
    .await;
    let id = e["id"].as_i64().unwrap();
    let path = format!("/api/events/{id}/transitions");
    // Skipping steps is refused with the allowed list.
    let (s, err) = post(&app, &path, &json!({"to": "closed", "actor": "街道"}), None).await;
    assert_error(s, &err, 409, "invalid_transition");
    assert_eq!(err["error"]["allowed"], json!(["accepted", "rejected"]));
    let steps = [
        "accepted",
        "已派遣",
        "in_progress",
        "resolved",
        "verified",
        "closed",
    ];
    let mut last = Value::Null;
    for (i, to) in steps.iter().enumerate() {
        let (s, body) = post(
            &app,
            &path,
            &json!({"to": to, "actor": format!("处置人{i}"), "note": "ok"}),
            None,
        )
        .await;
        assert_eq!(s, 200, "{to}: {body}");
        last = body;
    }
    assert_eq!(last["status"], "closed");
    assert!(last["closed_at"].is_string() && last["resolved_at"].is_string());
    let log = last["transitions"].as_array().unwrap();
    let tos: Vec<&str> = log.iter().map(|t| t["to"].as_str().unwrap()).collect();
    assert_eq!(
        tos,
        [
            "reported",
            "accepted",
            "dispatched",
            "in_progress",
            "resolved",
            "verified",
            "closed"
        ]
    );
    assert_eq!(log[3]["from"], "dispatched");
    assert_eq!(log[6]["actor"], "处置人5");
    let (s, err) = post(&app, &path, &json!({"to": "resolved", "actor": "x"}), None).await;
    assert_error(s, &err, 409, "invalid_transition");
    assert_eq!(err["error"]["allowed"], json!(["accepted"]));
    // Reopening clears closed_at and resolved_at.
    let (s, re) = post(
        &app,
        &path,
        &json!({"to": "accepted", "actor": "复核"}),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        (re["closed_at"].clone(), re["resolved_at"].clone()),
        (Value::Null, Value::Null)
    );
    let db: (String, i64) = sqlx::query_as(
        "SELECT e.status, (SELECT count(*) FROM event_transition t WHERE t.event_id = e.id) FROM event e WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(db, ("accepted".to_string(), 8));
    // Bad requests.
    let (s, err) = post(&app, &path, &json!({"to": "done", "actor": "x"}), None).await;
    assert_error(s, &err, 422, "unknown_status");
    let (s, err) = post(&app, &path, &json!({"to": "dispatched", "actor": ""}), None).await;
    assert_error(s, &err, 422, "invalid_actor");
    let (s, err) = post(&app, &path, &json!({"to": 3, "actor": "x"}), None).await;
    assert_error(s, &err, 422, "invalid_body");
    let (s, err) = post(
        &app,
        "/api/events/999999/transitions",
        &json!({"to": "accepted", "actor": "x"}),
        None,
    )
    .await;
    assert_error(s, &err, 404, "not_found");
    let (s, err) = app.get_json("/api/events/999999").await;
    assert_error(s, &err, 404, "not_found");
    let (s, err) = app.get_json("/api/events/abc").await;
    assert_error(s, &err, 400, "invalid_id");
}

/// Degrees of latitude for `m` metres on PostGIS's sphere.
fn north(m: f64) -> f64 {
    m / 111_194.93
}

#[tokio::test]
async fn repeats_link_within_radius_window_and_category_only() {
    let app = spawn_app(demo_db().await).await;
    let pts = unit_points(&app, 3).await;
    let (x, y) = (pts[1].0, pts[1].1);
    let t0 = "2026-11-30T00:00:00Z";
    let mk = |cat: &str, dy_m: f64, at: &str| json!({"category": cat, "source": "grid_worker", "lon": x, "lat": y + north(dy_m), "reported_at": at});
    // traffic: radius 50 m, window 24 h.
    let (_, a) = post(&app, "/api/events", &mk("traffic", 0.0, t0), None).await;
    let a_id = a["id"].as_i64().unwrap();
    let (s, b) = post(
        &app,
        "/api/events",
        &json!([
            mk("traffic", 30.0, "2026-11-30T05:00:00Z"), // within R and T: repeat of a
            mk("traffic", 80.0, "2026-11-30T05:00:00Z"), // beyond R: new original
            mk("dispute", 5.0, "2026-11-30T05:00:00Z"),  // other category: original
            mk("traffic", 10.0, "2026-12-01T02:00:00Z"), // 26 h later: beyond T
            mk("traffic", 95.0, "2026-11-30T06:00:00Z"), // 15 m from the 80 m row (in batch)
            mk("traffic", -20.0, "2026-11-29T23:00:00Z"), // reported before a: not its repeat
        ]),
        None,
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let ev = b["events"].as_array().unwrap();
    let repeat_of: Vec<Option<i64>> = ev.iter().map(|e| e["repeat_of"].as_i64()).collect();
    let id = |i: usize| ev[i]["id"].as_i64().unwrap();
    assert_eq!(
        repeat_of,
        vec![Some(a_id), None, None, None, Some(id(1)), None]
    );
    let counts: HashMap<i64, i32> =
        sqlx::query_as::<_, (i64, i32)>("SELECT id, repeat_count FROM event")
            .fetch_all(&app.pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(counts[&a_id], 1);
    assert_eq!(counts[&id(1)], 1);
    let (_, detail) = app.get_json(&format!("/api/events/{a_id}")).await;
    assert_eq!(detail["repeats"], json!([id(0)]));
    // Every link agrees with PostGIS's own distance and the category's rule.
    let bad = count(
        &app,
        "SELECT count(*) FROM event r JOIN event o ON o.id = r.duplicate_of JOIN event_category c ON c.code = r.category
          WHERE o.category <> r.category OR ST_DistanceSphere(o.geom, r.geom) > c.repeat_radius_m
             OR o.reported_at > r.reported_at OR r.reported_at - o.reported_at > make_interval(secs => c.repeat_window_h * 3600)",
    )
    .await;
    assert_eq!(bad, 0);
    // A closed original collects no more repeats; the nearest open one wins.
    sqlx::query("UPDATE event SET status = 'closed' WHERE id = $1")
        .bind(a_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, c) = post(
        &app,
        "/api/events",
        &mk("traffic", 40.0, "2026-11-30T07:00:00Z"),
        None,
    )
    .await;
    assert_eq!(c["repeat_of"].as_i64(), Some(id(1)), "{c}");
}

/// Every event the list returns for `query`, paging with `limit`, checked to be newest first
/// and each exactly once.
async fn all_pages(app: &TestApp, query: &str, limit: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut last: Option<(String, i64)> = None;
    loop {
        let mut path = format!("/api/events?limit={limit}&{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (s, page) = app.get_json(&path).await;
        assert_eq!(s, 200, "{path}: {page}");
        let events = page["events"].as_array().unwrap();
        assert!(events.len() <= limit);
        for e in events {
            let key = (
                e["reported_at"].as_str().unwrap().to_string(),
                e["id"].as_i64().unwrap(),
            );
            if let Some(l) = &last {
                let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
                assert!((t(&key.0), key.1) < (t(&l.0), l.1), "newest first");
            }
            last = Some(key);
            ids.push(e["id"].as_i64().unwrap());
        }
        match page["next"].as_str() {
            Some(n) => cursor = Some(n.to_string()),
            None => break,
        }
    }
    ids
}

async fn sql_ids(app: &TestApp, where_: &str) -> Vec<i64> {
    sqlx::query_scalar(&format!(
        "SELECT id FROM event e WHERE {where_} ORDER BY reported_at DESC, id DESC"
    ))
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn queries_match_plain_sql() {
    let app = spawn_app(demo_db().await).await;
    let pts = unit_points(&app, 120).await;
    let cats = ["dispute", "traffic", "environment", "food_safety"];
    let srcs = ["grid_worker", "hotline", "qr_scan"];
    let mut batch: Vec<Value> = pts
        .iter()
        .enumerate()
        .map(|(i, (x, y, _))| {
            json!({"category": cats[i % 4], "source": srcs[i % 3], "priority": if i % 5 == 0 { "urgent" } else { "normal" },
                   "lon": x, "lat": y,
                   "reported_at": format!("2026-11-{:02}T{:02}:{:02}:00Z", 1 + i % 28, i % 24, i % 60)})
        })
        .collect();
    batch.push(ev("other", 119.95, 24.9));
    batch.push(ev("other", 119.95, 24.9)); // same time (now) as the previous: id breaks the tie
    let (s, b) = post(&app, "/api/events", &json!(batch), None).await;
    assert_eq!(s, 201, "{b}");
    // Some statuses.
    sqlx::query("UPDATE event SET status = 'closed' WHERE id % 7 = 0")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE event SET status = 'accepted' WHERE id % 7 = 3")
        .execute(&app.pool)
        .await
        .unwrap();

    let all = all_pages(&app, "", 7).await;
    assert_eq!(
        all,
        sql_ids(&app, "true").await,
        "paging covers everything once, in order"
    );
    let district: String =
        sqlx::query_scalar("SELECT district_code FROM event WHERE assigned LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let grid: String =
        sqlx::query_scalar("SELECT grid_code FROM event WHERE assigned ORDER BY id LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let city: String = sqlx::query_scalar("SELECT code FROM area WHERE level = 0")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (bx, by) = (pts[60].0, pts[60].1);
    let cases = [
        (format!("bbox={},{},{},{}", bx - 0.2, by - 0.1, bx + 0.1, by + 0.2),
         format!("geom && ST_MakeEnvelope({}, {}, {}, {}, 4326)", bx - 0.2, by - 0.1, bx + 0.1, by + 0.2)),
        (format!("area={district}"), format!("district_code = '{district}'")),
        (format!("area={grid}"), format!("grid_code = '{grid}'")),
        (format!("area={city}"), "assigned".to_string()),
        ("category=traffic,食品安全".into(), "category IN ('traffic', 'food_safety')".into()),
        ("status=closed".into(), "status = 'closed'".into()),
        ("status=reported,accepted&source=hotline".into(), "status IN ('reported', 'accepted') AND source = 'hotline'".into()),
        ("from=2026-11-10T00:00:00Z&to=2026-11-20T00:00:00Z".into(),
         "reported_at >= '2026-11-10T00:00:00Z' AND reported_at < '2026-11-20T00:00:00Z'".into()),
        // Bare dates are Beijing days, and `to` takes its whole day.
        ("from=2026-11-10&to=2026-11-19".into(),
         "reported_at >= '2026-11-10T00:00:00+08:00' AND reported_at < '2026-11-20T00:00:00+08:00'".into()),
        ("status=open".into(), "status NOT IN ('closed', 'rejected')".into()),
        ("overdue=true".into(), "status NOT IN ('closed', 'rejected') AND deadline < now()".into()),
        ("unassigned=true".into(), "NOT assigned".into()),
        ("overdue=true&category=dispute&from=2026-11-05".into(),
         "status NOT IN ('closed', 'rejected') AND deadline < now() AND category = 'dispute' AND reported_at >= '2026-11-04T16:00:00Z'".into()),
    ];
    for (q, w) in &cases {
        let want = sql_ids(&app, w).await;
        assert!(!want.is_empty(), "the case {q} should match something");
        assert_eq!(all_pages(&app, q, 25).await, want, "{q}");
    }

    // GeoJSON: the same rows as features with WGS84 points.
    let (s, fc) = app
        .get_json("/api/events?format=geojson&category=traffic&limit=1000")
        .await;
    assert_eq!(s, 200);
    assert_eq!(fc["type"], "FeatureCollection");
    let feats = fc["features"].as_array().unwrap();
    assert_eq!(
        feats.len(),
        sql_ids(&app, "category = 'traffic'").await.len()
    );
    let f = &feats[0];
    let (x, y): (f64, f64) =
        sqlx::query_as("SELECT ST_X(geom), ST_Y(geom) FROM event WHERE id = $1")
            .bind(f["id"].as_i64())
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(f["geometry"]["coordinates"], json!([x, y]));
    assert_eq!(f["properties"]["category"], "traffic");

    // CSV: BOM, zh-CN header, every matching row.
    let r = app.get("/api/events.csv?source=hotline").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let mut rd = csv::Reader::from_reader(&bytes[3..]);
    let header = rd.headers().unwrap().clone();
    assert_eq!(&header[0], "事件编号");
    assert_eq!(&header[2], "类别");
    let ids: Vec<i64> = rd
        .records()
        .map(|r| r.unwrap()[0].parse().unwrap())
        .collect();
    assert_eq!(ids, sql_ids(&app, "source = 'hotline'").await);
    let r = app.get("/api/events.csv").await;
    let text = String::from_utf8(r.bytes().await.unwrap().to_vec()).unwrap();
    assert_eq!(
        text.lines().count() as i64,
        1 + count(&app, "SELECT count(*) FROM event").await
    );
    assert!(text.contains("矛盾纠纷") && text.contains("12345热线"));
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx_never_a_500() {
    let app = spawn_app(demo_db().await).await;
    let pts = unit_points(&app, 2).await;
    let (x, y) = (pts[0].0, pts[0].1);
    let one = |patch: Value| {
        let mut e = ev("traffic", x, y);
        for (k, v) in patch.as_object().unwrap() {
            e[k] = v.clone();
        }
        e
    };
    for (patch, code) in [
        (json!({"category": "fire"}), "unknown_category"),
        (json!({"source": "email"}), "unknown_source"),
        (json!({"priority": "asap"}), "unknown_priority"),
        (json!({"lon": 200.0}), "out_of_range"),
        (json!({"lon": y, "lat": x}), "lon_lat_swapped"),
        (json!({"lon": "119.0"}), "invalid_event"),
        (json!({"reported_at": "yesterday"}), "invalid_time"),
        (
            json!({"reported_at": "2099-01-01T00:00:00Z"}),
            "time_in_future",
        ),
        (
            json!({"reported_at": "1026-01-01T00:00:00Z"}),
            "time_too_old",
        ),
        (json!({"crs": "mars"}), "unknown_crs"),
        (json!({"description": "x".repeat(4001)}), "too_long"),
        (json!({"id": ""}), "invalid_id"),
        (json!({"colour": "red"}), "invalid_event"),
    ] {
        let (s, e) = post(&app, "/api/events", &one(patch.clone()), None).await;
        let msg = assert_error(s, &e, 422, code);
        assert!(
            msg.contains('(') && msg.chars().any(|c| c > '\u{2e80}'),
            "zh-CN with gloss: {msg}"
        );
    }
    let mut missing = ev("traffic", x, y);
    missing.as_object_mut().unwrap().remove("category");
    let (s, e) = post(&app, "/api/events", &missing, None).await;
    assert_error(s, &e, 422, "invalid_event");

    // A batch with some bad rows: the good ones are stored, each bad one reported.
    let batch = json!([
        ev("traffic", x, y),
        one(json!({"category": "fire"})),
        ev("dispute", pts[1].0, pts[1].1),
        one(json!({"lon": y, "lat": x})),
        17
    ]);
    let (s, b) = post(&app, "/api/events", &batch, None).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["created"], 2);
    let errs: Vec<(u64, &str)> = b["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["index"].as_u64().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errs,
        vec![
            (1, "unknown_category"),
            (3, "lon_lat_swapped"),
            (4, "invalid_event")
        ]
    );
    assert_eq!(
        b["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["index"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![0, 2]
    );
    assert_eq!(count(&app, "SELECT count(*) FROM event").await, 2);
    // All bad: 422 with each error.
    let (s, e) = post(
        &app,
        "/api/events",
        &json!([one(json!({"source": "x"})), one(json!({"lat": 95.0}))]),
        None,
    )
    .await;
    assert_error(s, &e, 422, "no_valid_events");
    assert_eq!(e["error"]["errors"].as_array().unwrap().len(), 2);
    // Oversize batch.
    let big: Vec<Value> = (0..10_001).map(|_| ev("traffic", x, y)).collect();
    let (s, e) = post(&app, "/api/events", &json!(big), None).await;
    assert_error(s, &e, 413, "batch_too_large");
    // Malformed JSON, wrong shapes.
    let (s, e) = post_raw(&app, "{\"category\": ").await;
    assert_error(s, &e, 400, "malformed_json");
    let (s, e) = post_raw(&app, "42").await;
    assert_error(s, &e, 422, "invalid_body");
    let (s, e) = post_raw(&app, "[]").await;
    assert_error(s, &e, 422, "empty_batch");
    let (s, e) = post_raw(&app, "").await;
    assert_error(s, &e, 400, "empty_body");
    let (s, e) = post(&app, "/api/events?crs=mars", &ev("traffic", x, y), None).await;
    assert_error(s, &e, 400, "unknown_crs");
    assert_eq!(count(&app, "SELECT count(*) FROM event").await, 2);

    // Queries: the list and its CSV answer a bad parameter alike (the CSV checks `limit`,
    // `cursor` and `format` as the list does, though it holds every row in one format), with
    // a message that names the fix.
    for (q, code, fix) in [
        ("cursor=abc", "invalid_cursor", "next"),
        ("cursor=e1zzgq", "invalid_cursor", "next"),
        ("bbox=1,2,3", "invalid_bbox", "minlon,minlat,maxlon,maxlat"),
        (
            "bbox=119,25,118,26",
            "invalid_bbox",
            "minlon,minlat,maxlon,maxlat",
        ),
        (
            "bbox=a,b,c,d",
            "invalid_bbox",
            "minlon,minlat,maxlon,maxlat",
        ),
        ("from=last-week", "invalid_time", "YYYY-MM-DD"),
        (
            "from=2026-11-20&to=2026-11-10",
            "invalid_time",
            "from 应早于 to",
        ),
        ("to=2026-02-30", "invalid_time", "YYYY-MM-DD"),
        ("category=fire", "unknown_category", "traffic"),
        ("status=done", "unknown_status", "closed"),
        ("source=email", "unknown_source", "hotline"),
        ("area=999", "unknown_area", "area"),
        ("limit=0", "out_of_range", "1 到 1000"),
        ("limit=1001", "out_of_range", "1 到 1000"),
        ("overdue=maybe", "invalid_parameter", "true 或 false"),
        ("format=kml", "invalid_format", "json 或 geojson"),
    ] {
        let (s, e) = app.get_json(&format!("/api/events?{q}")).await;
        let msg = assert_error(s, &e, 400, code);
        assert!(
            msg.contains(fix),
            "{q}: the message names the fix ({fix}): {msg}"
        );
        assert!(
            msg.contains('(') && msg.chars().any(|c| c > '\u{2e80}'),
            "{q}: zh-CN with gloss: {msg}"
        );
        let (s, csv) = app.get_json(&format!("/api/events.csv?{q}")).await;
        let csv_msg = assert_error(s, &csv, 400, code);
        assert_eq!(csv_msg, msg, "csv {q}: the same answer as the list");
    }
}

#[tokio::test]
async fn concurrent_retries_with_one_key_store_one_batch() {
    let app = spawn_app(demo_db().await).await;
    let pts = unit_points(&app, 20).await;
    let body = json!(
        pts.iter()
            .map(|(x, y, _)| ev("public_service", *x, *y))
            .collect::<Vec<_>>()
    );
    let answers = futures_util::future::join_all(
        (0..4).map(|_| post(&app, "/api/events", &body, Some("same-key"))),
    )
    .await;
    for a in &answers {
        assert_eq!(a, &answers[0], "every retry gets the first answer");
    }
    assert_eq!(answers[0].0, 201);
    assert_eq!(
        count(&app, "SELECT count(*) FROM event").await,
        pts.len() as i64
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM event_transition").await,
        pts.len() as i64
    );
}
