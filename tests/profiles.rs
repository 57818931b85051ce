//! Profiles (一村一档) against a real PostGIS: versions, conflicts, masking, the three lists,
//! promotion of hotspots and problems, and the figures checked against SQL over the events.

mod common;

use common::{TestApp, assert_error, profiled_app};
use serde_json::{Value, json};

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    // The author is the signed-in caller; a claimed X-Onemap-User is ignored.
    let mut r = app
        .http
        .request(method, app.url(path))
        .header("X-Onemap-User", "冒名者");
    if let Some(b) = body {
        r = r.json(b);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// The village with the most events in the last year (it has problems from hotspots).
async fn busy_village(app: &TestApp) -> String {
    sqlx::query_scalar(
        "SELECT village_code FROM event WHERE village_code IS NOT NULL AND reported_at > now() - interval '300 days'
          GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn profiles_are_versioned_masked_checked_and_guarded_against_lost_updates() {
    let app = profiled_app(20_000, 20_000).await;
    let code = busy_village(&app).await;
    let path = format!("/api/areas/{code}/profile");
    let (s, p) = app.get_json(&path).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["version"], 1);
    assert_eq!(p["level"], "village");
    // Phones are masked; the stored ones are not.
    let shown = p["introduction"]["committee"][0]["phone"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(shown.contains('*'), "{shown}");
    assert_eq!(p["masked"], json!(["phone"]));
    let stored: String =
        sqlx::query_scalar("SELECT doc->'committee'->0->>'phone' FROM profile WHERE code = $1")
            .bind(&code)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!stored.contains('*') && stored.len() == 11);
    // The area is the map's, on the ellipsoid.
    let km2: f64 =
        sqlx::query_scalar("SELECT ST_Area(geom::geography) / 1e6 FROM area WHERE code = $1")
            .bind(&code)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!((p["introduction"]["area_km2"].as_f64().unwrap() - km2).abs() < 1e-3);
    assert!(
        p["counts"]["problems"].as_i64().unwrap() >= 1
            && p["counts"]["development"].as_i64().unwrap() >= 1
    );

    // An edit sent back with the masked phones keeps the stored phones.
    let mut intro = p["introduction"].clone();
    let resident = intro["population"]["resident"].as_i64().unwrap();
    intro["population"]["resident"] = json!(resident + 50);
    let (s, v2) = send(
        &app,
        reqwest::Method::PUT,
        &path,
        Some(&json!({"version": 1, "introduction": intro, "note": "更新人口"})),
    )
    .await;
    assert_eq!(s, 200, "{v2}");
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["updated_by"], "test-admin");
    let kept: String =
        sqlx::query_scalar("SELECT doc->'committee'->0->>'phone' FROM profile WHERE code = $1")
            .bind(&code)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        kept, stored,
        "a masked phone sent back must keep the stored one"
    );

    // History, a past version, and the diff between them.
    let (_, h) = app.get_json(&format!("{path}/history")).await;
    let versions: Vec<i64> = h["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, vec![2, 1]);
    let (_, old) = app.get_json(&format!("{path}?version=1")).await;
    assert_eq!(
        old["introduction"]["population"]["resident"],
        json!(resident)
    );
    let (_, d) = app.get_json(&format!("{path}/diff?from=1&to=2")).await;
    assert_eq!(
        d["changes"],
        json!([{"path": "introduction.population.resident", "from": resident, "to": resident + 50}])
    );
    let (s, b) = app.get_json(&format!("{path}?version=99")).await;
    assert_error(s, &b, 404, "not_found");

    // Two concurrent edits from version 2: exactly one is stored, the other gets 409 and the
    // current version; nothing is silently overwritten.
    let mut a = intro.clone();
    a["households"] = json!(111);
    let mut b2 = intro.clone();
    b2["households"] = json!(222);
    let (body_a, body_b) = (
        json!({"version": 2, "introduction": a}),
        json!({"version": 2, "introduction": b2}),
    );
    let (ra, rb) = tokio::join!(
        send(&app, reqwest::Method::PUT, &path, Some(&body_a)),
        send(&app, reqwest::Method::PUT, &path, Some(&body_b))
    );
    let mut statuses = [ra.0, rb.0];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{ra:?} {rb:?}");
    let loser = if ra.0 == 409 { &ra.1 } else { &rb.1 };
    assert_eq!(loser["error"]["code"], "version_conflict");
    assert_eq!(loser["error"]["current_version"], 3);
    let winner = if ra.0 == 200 { 111 } else { 222 };
    let households: i64 =
        sqlx::query_scalar("SELECT (doc->>'households')::bigint FROM profile WHERE code = $1")
            .bind(&code)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(households, winner);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM profile_version WHERE code = $1")
        .bind(&code)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 3);

    // Bad input: each a 4xx that names the field, nothing stored.
    let mut bad = intro.clone();
    bad["population"]["resident"] = json!(-5);
    bad["income"] = json!([{"year": 1800, "amount_wan": 10}]);
    bad["grids"][0]["code"] = json!("999");
    let (s, e) = send(
        &app,
        reqwest::Method::PUT,
        &path,
        Some(&json!({"version": 3, "introduction": bad})),
    )
    .await;
    assert_error(s, &e, 400, "invalid_profile");
    let paths: Vec<&str> = e["error"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"introduction.population.resident")
            && paths.contains(&"introduction.income[0].year")
            && paths.contains(&"introduction.grids[0].code"),
        "{paths:?}"
    );
    let mut masked_new = intro.clone();
    masked_new["committee"][0]["name"] = json!("新任书记");
    let (s, e) = send(
        &app,
        reqwest::Method::PUT,
        &path,
        Some(&json!({"version": 3, "introduction": masked_new})),
    )
    .await;
    assert_error(s, &e, 400, "invalid_profile");
    let (s, e) = send(
        &app,
        reqwest::Method::PUT,
        &path,
        Some(&json!({"version": 3, "introduction": {"colour": "red"}})),
    )
    .await;
    assert_error(s, &e, 422, "invalid_body");
    let (s, e) = send(
        &app,
        reqwest::Method::PUT,
        &path,
        Some(&json!({"version": 3, "introduction": {"summary": "x".repeat(2001)}})),
    )
    .await;
    assert_error(s, &e, 400, "invalid_profile");
    let grid: String = sqlx::query_scalar("SELECT code FROM area WHERE level = 4 LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (s, e) = app.get_json(&format!("/api/areas/{grid}/profile")).await;
    assert_error(s, &e, 404, "not_found");
    let (s, e) = app.get_json("/api/areas/000/profile").await;
    assert_error(s, &e, 404, "not_found");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM profile_version WHERE code = $1")
        .bind(&code)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 3, "a refused edit stores nothing");
}

#[tokio::test]
async fn lists_hotspots_promotion_and_figures() {
    let app = profiled_app(30_000, 5_000).await;
    let code = busy_village(&app).await;
    let base = format!("/api/areas/{code}");

    // Figures: the months agree with SQL over the same events (Beijing months).
    let (s, f) = app.get_json(&format!("{base}/profile/figures")).await;
    assert_eq!(s, 200, "{f}");
    let months = f["months"].as_array().unwrap();
    assert_eq!(months.len(), 12);
    for m in months {
        let month = m["month"].as_str().unwrap();
        let want: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM event WHERE village_code = $1
               AND to_char(reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') = $2",
        )
        .bind(&code)
        .bind(month)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(m["count"].as_i64().unwrap(), want, "{month}");
    }
    let total: i64 = months.iter().map(|m| m["count"].as_i64().unwrap()).sum();
    assert_eq!(f["total"].as_i64().unwrap(), total);
    let cat_sum: i64 = f["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_i64().unwrap())
        .sum();
    assert_eq!(cat_sum, total);
    assert!(f["closure"]["parent_rate"].is_number());

    // The demo's problems come from the events: their ids are events of this village.
    let (_, problems) = app.get_json(&format!("{base}/problems")).await;
    let items = problems["items"].as_array().unwrap();
    assert!(!items.is_empty());
    if let Some(p) = items
        .iter()
        .find(|p| p["event_count"].as_i64().unwrap_or(0) > 0)
    {
        let ids: Vec<i64> = p["event_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM event WHERE id = ANY($1) AND village_code = $2",
        )
        .bind(&ids)
        .bind(&code)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(n as usize, ids.len());
    }

    // A hotspot filed as a problem carries its count and place.
    if let Some(h) = f["hotspots"].as_array().unwrap().first() {
        let (s, p) = send(
            &app,
            reqwest::Method::POST,
            &format!("{base}/problems/from-hotspot"),
            Some(&json!({"lon": h["lon"], "lat": h["lat"]})),
        )
        .await;
        assert_eq!(s, 201, "{p}");
        assert_eq!(p["event_count"], h["count"]);
        assert_eq!(p["state"], "open");
        assert_eq!(
            p["event_ids"].as_array().unwrap().len() as u64,
            h["count"].as_u64().unwrap().min(500)
        );
    }
    let (s, e) = send(
        &app,
        reqwest::Method::POST,
        &format!("{base}/problems/from-hotspot"),
        Some(&json!({"lon": 0.0, "lat": 0.0})),
    )
    .await;
    assert_error(s, &e, 404, "no_hotspot");

    // CRUD with versions.
    let (s, item) = send(
        &app,
        reqwest::Method::POST,
        &format!("{base}/development"),
        Some(&json!({"title": "健身中心", "budget_wan": 80, "progress": 10, "milestones": [{"title": "开工", "date": "2026-03-01"}]})),
    )
    .await;
    assert_eq!(s, 201, "{item}");
    let id = item["id"].as_i64().unwrap();
    let mut edit = item.clone();
    edit["progress"] = json!(50);
    let (s, e2) = send(
        &app,
        reqwest::Method::PUT,
        &format!("{base}/development/{id}"),
        Some(&edit),
    )
    .await;
    assert_eq!(s, 200, "{e2}");
    assert_eq!(e2["version"], 2);
    assert_eq!(e2["progress"], json!(50.0));
    let (s, e) = send(
        &app,
        reqwest::Method::PUT,
        &format!("{base}/development/{id}"),
        Some(&edit),
    )
    .await;
    assert_error(s, &e, 409, "version_conflict");
    let (s, e) = send(
        &app,
        reqwest::Method::POST,
        &format!("{base}/development"),
        Some(&json!({"title": "x", "progress": 140})),
    )
    .await;
    assert_error(s, &e, 400, "invalid_profile");
    let (s, e) = send(
        &app,
        reqwest::Method::POST,
        &format!("{base}/nonsense"),
        Some(&json!({"title": "x"})),
    )
    .await;
    assert_error(s, &e, 404, "not_found");
    let (s, _) = send(
        &app,
        reqwest::Method::DELETE,
        &format!("{base}/development/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, e) = app.get_json(&format!("{base}/development/{id}")).await;
    assert_error(s, &e, 404, "not_found");

    // Promotion: the new item points back, the problem is marked, a second promotion is refused.
    let problem = items.iter().find(|p| p["state"] != "promoted").unwrap();
    let pid = problem["id"].as_i64().unwrap();
    let (s, created) = send(
        &app,
        reqwest::Method::POST,
        &format!("{base}/problems/{pid}/promote"),
        Some(&json!({"to": "tasks"})),
    )
    .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["list"], "tasks");
    assert_eq!(created["origin"], json!({"list": "problems", "id": pid}));
    let (_, p) = app.get_json(&format!("{base}/problems/{pid}")).await;
    assert_eq!(p["state"], "promoted");
    assert_eq!(
        p["promoted_to"],
        json!({"list": "tasks", "id": created["id"]})
    );
    let (s, e) = send(
        &app,
        reqwest::Method::POST,
        &format!("{base}/problems/{pid}/promote"),
        Some(&json!({"to": "development"})),
    )
    .await;
    assert_error(s, &e, 409, "already_promoted");
    let (s, e) = send(
        &app,
        reqwest::Method::POST,
        &format!("{base}/problems/{pid}/promote"),
        Some(&json!({"to": "problems"})),
    )
    .await;
    assert_error(s, &e, 400, "invalid_target");

    // Enterprises are placed in their unit by the index, as /api/assign places the point.
    let (lon, lat): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM area WHERE parent_code IN
           (SELECT code FROM area WHERE parent_code = $1) ORDER BY code LIMIT 1",
    )
    .bind(&code)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (s, ent) = send(
        &app,
        reqwest::Method::POST,
        "/api/enterprises",
        Some(&json!({"name": "测试鞋业有限公司", "industry": "鞋服制造", "employees": 12, "phone": "10012345678", "lon": lon, "lat": lat})),
    )
    .await;
    assert_eq!(s, 201, "{ent}");
    let (_, assigned) = app
        .get_json(&format!("/api/assign?lon={lon}&lat={lat}"))
        .await;
    assert_eq!(ent["unit_code"], assigned["unit"]["code"]);
    assert_eq!(ent["village_code"], json!(code));
    assert_eq!(ent["phone"], "100****5678");
    let (s, e) = send(
        &app,
        reqwest::Method::POST,
        "/api/enterprises",
        Some(&json!({"name": "海上公司", "lon": 120.5, "lat": 25.0})),
    )
    .await;
    assert_error(s, &e, 400, "outside_city");
    let (s, e) = send(
        &app,
        reqwest::Method::POST,
        "/api/enterprises",
        Some(&json!({"name": "x", "lon": lon, "lat": lat, "credit_code": "abc"})),
    )
    .await;
    assert_error(s, &e, 400, "invalid_enterprise");
    let eid = ent["id"].as_i64().unwrap();
    let mut put = json!({"name": "测试鞋业有限公司", "employees": 20, "phone": ent["phone"], "lon": lon, "lat": lat, "version": 1});
    let (s, e) = send(
        &app,
        reqwest::Method::PUT,
        &format!("/api/enterprises/{eid}"),
        Some(&put),
    )
    .await;
    assert_eq!(s, 200, "{e}");
    let phone: String = sqlx::query_scalar("SELECT phone FROM enterprise WHERE id = $1")
        .bind(eid)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(phone, "10012345678");
    put["version"] = json!(1);
    let (s, e) = send(
        &app,
        reqwest::Method::PUT,
        &format!("/api/enterprises/{eid}"),
        Some(&put),
    )
    .await;
    assert_error(s, &e, 409, "version_conflict");
    let (_, listed) = app
        .get_json(&format!("/api/enterprises?area={code}&q=测试"))
        .await;
    assert_eq!(listed["total"], 1);
}
