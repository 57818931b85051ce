//! Assignment against a real PostGIS: the index must answer exactly what `ST_Covers` answers,
//! with shared edges and vertices settled by the documented rule (lowest unit code wins).

mod common;

use common::{demo_db, spawn_app};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use sqlx::Row;

/// PostGIS's answer for each point: the lowest code among the units that cover it.
async fn postgis_units(store: &sqlx::PgPool, pts: &[(f64, f64)]) -> Vec<Option<String>> {
    let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let rows = sqlx::query(
        "SELECT p.i, (SELECT min(a.code) FROM area a
                      WHERE a.level = 5 AND ST_Covers(a.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))) AS code
         FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS p(x, y, i) ORDER BY p.i",
    )
    .bind(&xs)
    .bind(&ys)
    .fetch_all(store)
    .await
    .unwrap();
    rows.iter()
        .map(|r| r.get::<Option<String>, _>("code"))
        .collect()
}

fn index_units(app: &common::TestApp, pts: &[(f64, f64)]) -> Vec<Option<String>> {
    let snap = app.index.snapshot();
    pts.iter()
        .map(|&(x, y)| {
            snap.locate_unit(x, y)
                .map(|u| snap.unit_code(u).to_string())
        })
        .collect()
}

#[tokio::test]
async fn agrees_with_st_covers_on_10000_random_points_over_the_city() {
    let app = spawn_app(demo_db().await).await;
    let bbox = app.index.snapshot().units_bbox().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let pts: Vec<(f64, f64)> = (0..10_000)
        .map(|_| {
            (
                rng.random_range(bbox[0]..bbox[2]),
                rng.random_range(bbox[1]..bbox[3]),
            )
        })
        .collect();
    let want = postgis_units(&app.pool, &pts).await;
    let got = index_units(&app, &pts);
    let inside = want.iter().filter(|w| w.is_some()).count();
    assert!(
        inside > 3_000 && inside < 10_000,
        "the sample must mix land and sea: {inside} on land"
    );
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        assert_eq!(w, g, "point {i} {:?}", pts[i]);
    }
}

#[tokio::test]
async fn vertices_and_edges_shared_by_units_go_to_the_lowest_code_as_in_postgis() {
    let app = spawn_app(demo_db().await).await;
    // Every vertex of 300 units (shared with neighbours), and the midpoints of their edges.
    let rows = sqlx::query(
        "WITH u AS (SELECT geom FROM area WHERE level = 5 ORDER BY code LIMIT 300 OFFSET 40000),
              pts AS (SELECT (ST_DumpPoints(geom)).geom AS p FROM u),
              segs AS (SELECT (ST_DumpSegments(geom)).geom AS s FROM u)
         SELECT ST_X(p) AS x, ST_Y(p) AS y FROM pts
         UNION ALL
         SELECT ST_X(ST_LineInterpolatePoint(s, 0.5)), ST_Y(ST_LineInterpolatePoint(s, 0.5)) FROM segs",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let pts: Vec<(f64, f64)> = rows.iter().map(|r| (r.get("x"), r.get("y"))).collect();
    assert!(pts.len() > 2_000);
    let want = postgis_units(&app.pool, &pts).await;
    let got = index_units(&app, &pts);
    let mut shared = 0;
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        assert!(
            w.is_some(),
            "a unit's own vertex must be covered: {:?}",
            pts[i]
        );
        assert_eq!(w, g, "boundary point {i} {:?}", pts[i]);
        shared += 1;
    }
    // Vertices really are shared: many boundary points are covered by two or more units.
    let multi: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM unnest($1::float8[], $2::float8[]) AS p(x, y)
         WHERE (SELECT count(*) FROM area a WHERE a.level = 5 AND ST_Covers(a.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))) >= 2",
    )
    .bind(pts.iter().map(|p| p.0).collect::<Vec<_>>())
    .bind(pts.iter().map(|p| p.1).collect::<Vec<_>>())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(
        multi as usize > shared / 2,
        "{multi} of {shared} boundary points are shared"
    );
}

#[tokio::test]
async fn islands_the_open_sea_and_near_misses_off_the_coast() {
    let app = spawn_app(demo_db().await).await;
    // Every part of every district (Xiuyu's islands among them) is assigned to that district.
    let rows = sqlx::query(
        "SELECT c.code, ST_X(ST_PointOnSurface(d.geom)) AS x, ST_Y(ST_PointOnSurface(d.geom)) AS y
         FROM area c, ST_Dump(c.geom) d WHERE c.level = 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let islands = rows
        .iter()
        .filter(|r| r.get::<String, _>("code") == "350305")
        .count();
    assert!(islands > 10, "Xiuyu has its islands: {islands} parts");
    for r in &rows {
        let (code, x, y): (String, f64, f64) = (r.get("code"), r.get("x"), r.get("y"));
        let (status, body) = app.get_json(&format!("/api/assign?lon={x}&lat={y}")).await;
        assert_eq!(status, 200);
        assert_eq!(body["assigned"], true, "{body}");
        assert_eq!(
            body["district"]["code"],
            code.as_str(),
            "part of {code} at ({x},{y}): {body}"
        );
    }

    // The open sea, far from any grid.
    let (status, body) = app.get_json("/api/assign?lon=119.9&lat=24.9").await;
    assert_eq!(status, 200);
    assert_eq!(body["assigned"], false);
    assert!(
        body.get("nearest").is_none() || body["nearest"].is_null(),
        "{body}"
    );

    // Off the coast: points 5 to 45 m outside the city, compared with PostGIS's nearest grid.
    let rows = sqlx::query(
        "WITH coast AS (SELECT ST_ExteriorRing((ST_Dump(geom)).geom) AS ring FROM area WHERE level = 0),
              probe AS (SELECT ST_LineInterpolatePoint(ring, f) AS on_coast FROM coast, generate_series(0.05, 0.95, 0.1) f
                        WHERE ST_Length(ring) > 0.05),
              out AS (SELECT ST_SetSRID(ST_MakePoint(ST_X(on_coast) + dx, ST_Y(on_coast) + dy), 4326) AS p
                      FROM probe, (VALUES (0.0003, 0.0), (-0.0003, 0.0), (0.0, 0.0003), (0.0, -0.0003)) d(dx, dy))
         SELECT ST_X(o.p) AS x, ST_Y(o.p) AS y, g.code, ST_Distance(g.geom::geography, o.p::geography) AS d
         FROM out o CROSS JOIN LATERAL (
             SELECT code, geom FROM area WHERE level = 4 ORDER BY geom <-> o.p LIMIT 8) g0
         JOIN LATERAL (SELECT code, geom FROM area WHERE level = 4 AND code = g0.code) g ON true
         WHERE NOT EXISTS (SELECT 1 FROM area c WHERE c.level = 0 AND ST_Covers(c.geom, o.p))
         ORDER BY x, y, d",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut best: std::collections::BTreeMap<(i64, i64), (f64, f64, String, f64)> =
        Default::default();
    for r in &rows {
        let (x, y, code, d): (f64, f64, String, f64) =
            (r.get("x"), r.get("y"), r.get("code"), r.get("d"));
        let key = ((x * 1e9) as i64, (y * 1e9) as i64);
        best.entry(key).or_insert((x, y, code, d));
    }
    let near: Vec<_> = best.values().filter(|v| v.3 > 2.0 && v.3 < 45.0).collect();
    assert!(
        near.len() >= 5,
        "need near-miss points off the coast, got {}",
        near.len()
    );
    for (x, y, code, d) in near {
        let (_, body) = app
            .get_json(&format!("/api/assign?lon={x}&lat={y}&tolerance_m=50"))
            .await;
        assert_eq!(body["assigned"], false, "{body}");
        assert_eq!(
            body["nearest"]["grid"]["code"],
            code.as_str(),
            "nearest grid of ({x},{y}): {body}"
        );
        let got = body["nearest"]["distance_m"].as_f64().unwrap();
        assert!(
            (got - d).abs() < 0.01 * d + 0.2,
            "distance {got} m vs PostGIS {d} m"
        );
        // With a smaller tolerance the grid is out of reach.
        let tight = (d / 2.0).max(0.1);
        let (_, body) = app
            .get_json(&format!("/api/assign?lon={x}&lat={y}&tolerance_m={tight}"))
            .await;
        assert!(
            body.get("nearest").is_none() || body["nearest"].is_null(),
            "{body}"
        );
    }
}

#[tokio::test]
async fn the_full_chain_from_http_in_every_crs() {
    let app = spawn_app(demo_db().await).await;
    let (status, body) = app.get_json("/api/assign?lon=119.0&lat=25.43").await;
    assert_eq!(status, 200);
    for level in ["unit", "grid", "village", "town", "district", "city"] {
        assert!(
            body[level]["code"].is_string() && body[level]["name"].is_string(),
            "{level} in {body}"
        );
    }
    assert_eq!(body["city"]["code"], "3503");
    let unit = body["unit"]["code"].clone();
    // The same place as a Chinese phone map (GCJ-02) and Baidu (BD-09) would report it.
    let (gx, gy) = onemap::crs::wgs84_to_gcj02(119.0, 25.43);
    let (_, g) = app
        .get_json(&format!("/api/assign?lon={gx}&lat={gy}&crs=gcj02"))
        .await;
    assert_eq!(g["unit"]["code"], unit, "{g}");
    let (bx, by) = onemap::crs::gcj02_to_bd09(gx, gy);
    let (_, b) = app
        .get_json(&format!("/api/assign?lon={bx}&lat={by}&crs=bd09"))
        .await;
    assert_eq!(b["unit"]["code"], unit, "{b}");
    let (_, c) = app
        .get_json("/api/assign?lon=119.0&lat=25.43&crs=cgcs2000")
        .await;
    assert_eq!(c["unit"]["code"], unit);
}

#[tokio::test]
async fn batches_keep_input_order_and_report_bad_rows_without_failing_the_rest() {
    let app = spawn_app(demo_db().await).await;
    let body = json!([
        {"id": "a", "lon": 119.0, "lat": 25.43},
        {"id": 7, "lon": "east", "lat": 25.43},
        {"lon": 119.9, "lat": 24.9},
        {"id": "swap", "lon": 25.43, "lat": 119.0},
        {"id": "nolat", "lon": 119.0},
        42,
        {"id": "b", "lon": 119.01, "lat": 25.44}
    ]);
    let r = app
        .http
        .post(app.url("/api/assign"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let res = v["results"].as_array().unwrap();
    assert_eq!(res.len(), 7);
    assert_eq!(v["count"], 7);
    assert_eq!(v["errors"], 4);
    assert_eq!(res[0]["id"], "a");
    assert_eq!(res[0]["assigned"], true);
    assert_eq!(res[1]["error"]["code"], "wrong_type");
    assert_eq!(res[2]["assigned"], false);
    assert_eq!(res[3]["error"]["code"], "lon_lat_swapped");
    assert_eq!(res[4]["error"]["code"], "missing_field");
    assert_eq!(res[5]["error"]["code"], "invalid_point");
    assert_eq!(res[6]["id"], "b");
    for (i, r) in res.iter().enumerate() {
        assert_eq!(r["index"], i);
    }

    // The same as CSV, with a BOM and Chinese headers as Excel writes them.
    let csv = "\u{feff}id,经度,纬度\nx1,119.0,25.43\nx2,abc,25.4\nx3,119.01,25.44\n";
    let r = app
        .http
        .post(app.url("/api/assign"))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["results"][0]["id"], "x1");
    assert_eq!(v["results"][0]["unit"]["code"], res[0]["unit"]["code"]);
    assert_eq!(v["results"][1]["error"]["code"], "wrong_type");
    assert_eq!(v["results"][2]["unit"]["code"], res[6]["unit"]["code"]);
}

#[tokio::test]
async fn a_batch_of_100000_points_is_accepted_and_agrees_with_single_lookups() {
    let app = spawn_app(demo_db().await).await;
    let bbox = app.index.snapshot().units_bbox().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let pts: Vec<Value> = (0..100_000)
        .map(|i| json!({"id": i, "lon": rng.random_range(bbox[0]..bbox[2]), "lat": rng.random_range(bbox[1]..bbox[3])}))
        .collect();
    let r = app
        .http
        .post(app.url("/api/assign"))
        .json(&pts)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["count"], 100_000);
    let snap = app.index.snapshot();
    for (p, res) in pts.iter().zip(v["results"].as_array().unwrap()).step_by(97) {
        let unit = snap
            .locate_unit(p["lon"].as_f64().unwrap(), p["lat"].as_f64().unwrap())
            .map(|u| snap.unit_code(u).to_string());
        assert_eq!(res["id"], p["id"]);
        assert_eq!(res["unit"]["code"].as_str().map(str::to_string), unit);
    }
}

/// Edits the demo city in one transaction (merges 20 pairs of neighbouring units, adds a unit
/// over open water at `(x, y)`), waits for the live index to show it, and checks the index
/// against `ST_Covers` around the edits. Returns whether the index was patched (not rebuilt).
async fn edit_and_compare(app: &common::TestApp, x: f64, y: f64) -> bool {
    let pairs: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT ON (a.code) a.code, b.code FROM area a JOIN area b
           ON b.parent_code = a.parent_code AND b.code > a.code AND ST_Touches(a.geom, b.geom)
         WHERE a.level = 5 AND a.code LIKE '350304%' ORDER BY a.code LIMIT 20",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut tx = app.pool.begin().await.unwrap();
    let mut gone = std::collections::HashSet::new();
    let mut kept = Vec::new();
    for (a, b) in &pairs {
        if gone.contains(a) || gone.contains(b) {
            continue;
        }
        sqlx::query("UPDATE area SET geom = ST_Multi(ST_Union(geom, (SELECT geom FROM area WHERE code = $2))) WHERE code = $1")
            .bind(a)
            .bind(b)
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("DELETE FROM area WHERE code = $1")
            .bind(b)
            .execute(&mut *tx)
            .await
            .unwrap();
        gone.insert(b.clone());
        kept.push(a.clone());
    }
    let grid: String = sqlx::query_scalar("SELECT parent_code FROM area WHERE code = $1")
        .bind(&kept[0])
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO area (code, name, level, parent_code, geom)
         VALUES ($1 || '9999', '新建楼', 5, $1,
                 ST_Multi(ST_MakeEnvelope($2 - 0.0005, $3 - 0.0005, $2 + 0.0005, $3 + 0.0005, 4326)))",
    )
    .bind(&grid)
    .bind(x)
    .bind(y)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let new_code = format!("{grid}9999");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let snap = app.index.snapshot();
        if snap
            .locate_unit(x, y)
            .map(|u| snap.unit_code(u).to_string())
            == Some(new_code.clone())
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the index never saw the edit"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let snap = app.index.snapshot();
    let bbox: Vec<f64> =
        sqlx::query_scalar("SELECT area_bbox(ST_Collect(geom)) FROM area WHERE code = ANY($1)")
            .bind(&kept)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut pts: Vec<(f64, f64)> = (0..5_000)
        .map(|_| {
            (
                rng.random_range(bbox[0]..bbox[2]),
                rng.random_range(bbox[1]..bbox[3]),
            )
        })
        .collect();
    let verts: Vec<(f64, f64)> =
        sqlx::query_as("SELECT ST_X(p.geom), ST_Y(p.geom) FROM area a, ST_DumpPoints(a.geom) p WHERE a.code = ANY($1)")
            .bind(&kept)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    pts.extend(verts);
    for i in 0..=20 {
        for j in 0..=20 {
            pts.push((
                x - 0.0006 + i as f64 * 0.00006,
                y - 0.0006 + j as f64 * 0.00006,
            ));
        }
    }
    let want = postgis_units(&app.pool, &pts).await;
    let got = index_units(app, &pts);
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        assert_eq!(w, g, "point {i} {:?}", pts[i]);
    }
    for b in &gone {
        assert!(!snap.contains_code(b), "{b} was deleted");
    }
    snap.stats.patched
}

#[tokio::test]
async fn after_live_edits_the_patched_index_still_agrees_with_st_covers() {
    let app = spawn_app(demo_db().await).await;
    // Open water inside the city's extent: the edit is patched into the cover in place.
    let snap = app.index.snapshot();
    let b = snap.units_bbox().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (x, y) = loop {
        let (x, y) = (
            rng.random_range(b[0] + 0.05..b[2] - 0.05),
            rng.random_range(b[1] + 0.05..b[3] - 0.05),
        );
        let clear = (-2..=2).all(|i| {
            (-2..=2).all(|j| {
                snap.locate_unit(x + i as f64 * 0.0005, y + j as f64 * 0.0005)
                    .is_none()
            })
        });
        if clear {
            break (x, y);
        }
    };
    assert!(
        edit_and_compare(&app, x, y).await,
        "an edit inside the extent is patched, not rebuilt"
    );
}

#[tokio::test]
async fn an_edit_beyond_the_index_extent_rebuilds_it_and_still_agrees() {
    let app = spawn_app(demo_db().await).await;
    let b = app.index.snapshot().units_bbox().unwrap();
    assert!(
        !edit_and_compare(&app, b[2] + 0.2, b[1] + 0.1).await,
        "an edit outside the extent rebuilds the cover"
    );
}
