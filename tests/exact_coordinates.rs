//! Coordinates taken from a request body are read correctly rounded and stored bit for bit,
//! whatever the path: `GET /api/assign`, `POST /api/assign` (JSON and CSV), `POST /api/events`,
//! `onemap assign` on a CSV file and an area edit (GeoJSON, the import parser). The points are
//! vertices and edge points shared by two or more units, taken from the stored geometry and
//! written with 17 significant digits, so a parser that is off by one unit in the last place
//! sends them to a neighbour: every path must give PostGIS's answer, the lowest covering code.

mod common;

use common::{TestApp, demo_db, spawn_app};
use serde_json::{Value, json};
use sqlx::Row;

/// `v` with exactly 17 significant digits in plain decimal notation (as GIS tools write them).
fn digits17(v: f64) -> String {
    let int_digits = (v.abs().log10().floor() as i32 + 1).max(1);
    let decimals = (17 - int_digits).max(0) as usize;
    format!("{v:.decimals$}")
}

/// Boundary points shared by two or more units, with PostGIS's answer (the lowest code).
async fn shared_boundary_points(app: &TestApp) -> Vec<(f64, f64, String)> {
    let rows = sqlx::query(
        "WITH u AS (SELECT geom FROM area WHERE level = 5 ORDER BY code LIMIT 120 OFFSET 61000),
              pts AS (SELECT (ST_DumpPoints(geom)).geom AS p FROM u
                      UNION ALL
                      SELECT ST_LineInterpolatePoint((ST_DumpSegments(geom)).geom, 0.37) FROM u),
              xy AS (SELECT DISTINCT ST_X(p) AS x, ST_Y(p) AS y FROM pts)
         SELECT x, y, c.codes[1] AS code FROM xy
           CROSS JOIN LATERAL (SELECT array_agg(a.code ORDER BY a.code) AS codes FROM area a
                                WHERE a.level = 5
                                  AND ST_Covers(a.geom, ST_SetSRID(ST_MakePoint(x, y), 4326))) c
          WHERE cardinality(c.codes) >= 2
          ORDER BY x, y",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let pts: Vec<(f64, f64, String)> = rows
        .iter()
        .map(|r| (r.get("x"), r.get("y"), r.get("code")))
        .collect();
    assert!(
        pts.len() >= 200,
        "want at least 200 shared boundary points, found {}",
        pts.len()
    );
    // The text really is 17 digits and reads back to the same bits (the oracle's side).
    for (x, y, _) in &pts {
        assert_eq!(digits17(*x).parse::<f64>().unwrap().to_bits(), x.to_bits());
        assert_eq!(digits17(*y).parse::<f64>().unwrap().to_bits(), y.to_bits());
    }
    pts
}

fn unit_code(v: &Value) -> Option<String> {
    v["unit"]["code"].as_str().map(str::to_string)
}

#[tokio::test]
async fn shared_vertices_and_edges_get_one_answer_on_every_path() {
    let app = spawn_app(demo_db().await).await;
    let pts = shared_boundary_points(&app).await;

    // GET /api/assign: the query string.
    for (x, y, want) in &pts {
        let (s, b) = app
            .get_json(&format!(
                "/api/assign?lon={}&lat={}",
                digits17(*x),
                digits17(*y)
            ))
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(unit_code(&b).as_ref(), Some(want), "GET at {x},{y}");
    }

    // POST /api/assign, JSON: the body is written by hand so the digits are exactly these.
    let items: Vec<String> = pts
        .iter()
        .map(|(x, y, _)| format!(r#"{{"lon":{},"lat":{}}}"#, digits17(*x), digits17(*y)))
        .collect();
    let r = app
        .http
        .post(app.url("/api/assign"))
        .header("content-type", "application/json")
        .body(format!("[{}]", items.join(",")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    let mut wrong_json = Vec::new();
    for (i, (x, y, want)) in pts.iter().enumerate() {
        if unit_code(&b["results"][i]).as_ref() != Some(want) {
            wrong_json.push((*x, *y, want.clone(), b["results"][i]["unit"].clone()));
        }
    }
    assert!(
        wrong_json.is_empty(),
        "POST JSON: {} of {} points went elsewhere: {:?}",
        wrong_json.len(),
        pts.len(),
        &wrong_json[..wrong_json.len().min(3)]
    );

    // POST /api/assign, CSV.
    let mut csv = String::from("lon,lat\n");
    for (x, y, _) in &pts {
        csv.push_str(&format!("{},{}\n", digits17(*x), digits17(*y)));
    }
    let r = app
        .http
        .post(app.url("/api/assign"))
        .header("content-type", "text/csv")
        .body(csv.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    for (i, (x, y, want)) in pts.iter().enumerate() {
        assert_eq!(
            unit_code(&b["results"][i]).as_ref(),
            Some(want),
            "POST CSV at {x},{y}"
        );
    }

    // onemap assign on a CSV file (the command line's own parser).
    let dir = std::env::temp_dir().join(format!("onemap_exact_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (input, output) = (dir.join("in.csv"), dir.join("out.csv"));
    std::fs::write(&input, &csv).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_onemap"))
        .args(["assign", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .env("DATABASE_URL", &app.db.url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "onemap assign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reader = csv::Reader::from_path(&output).unwrap();
    let unit_col = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "unit_code")
        .unwrap();
    let got: Vec<String> = reader
        .records()
        .map(|r| r.unwrap().get(unit_col).unwrap_or_default().to_string())
        .collect();
    assert_eq!(got.len(), pts.len());
    for ((x, y, want), got) in pts.iter().zip(&got) {
        assert_eq!(got, want, "onemap assign at {x},{y}");
    }
    let _ = std::fs::remove_dir_all(&dir);

    // POST /api/events: assigned like the rest, and the stored point is the one sent, bit for bit.
    let events: Vec<String> = pts
        .iter()
        .map(|(x, y, _)| {
            format!(
                r#"{{"category":"other","source":"patrol","lon":{},"lat":{}}}"#,
                digits17(*x),
                digits17(*y)
            )
        })
        .collect();
    let r = app
        .http
        .post(app.url("/api/events"))
        .header("content-type", "application/json")
        .body(format!("[{}]", events.join(",")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let b: Value = r.json().await.unwrap();
    let ids: Vec<i64> = b["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), pts.len());
    for (i, (x, y, want)) in pts.iter().enumerate() {
        assert_eq!(
            unit_code(&b["events"][i]).as_ref(),
            Some(want),
            "event at {x},{y}"
        );
    }
    let stored = sqlx::query(
        "SELECT id, ST_X(geom) AS x, ST_Y(geom) AS y, unit_code FROM event
          WHERE id = ANY($1) ORDER BY array_position($1, id)",
    )
    .bind(&ids)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for (row, (x, y, want)) in stored.iter().zip(&pts) {
        let (sx, sy): (f64, f64) = (row.get("x"), row.get("y"));
        assert_eq!(
            (sx.to_bits(), sy.to_bits()),
            (x.to_bits(), y.to_bits()),
            "stored {sx},{sy} for sent {x},{y}"
        );
        assert_eq!(
            row.get::<Option<String>, _>("unit_code").as_ref(),
            Some(want)
        );
    }
}

/// The vertices of an area, in order, as stored.
async fn vertices(app: &TestApp, code: &str) -> Vec<(f64, f64)> {
    sqlx::query_as(
        "SELECT ST_X(p.geom), ST_Y(p.geom) FROM area, LATERAL ST_DumpPoints(geom) p
          WHERE code = $1 ORDER BY p.path",
    )
    .bind(code)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_area_edit_stores_the_coordinates_it_was_sent() {
    let app = spawn_app(demo_db().await).await;
    // A unit's own ring, re-sent as GeoJSON text with 17 significant digits: the stored
    // geometry must be the same bits, so the partition stays exactly as it was.
    let code: String = sqlx::query_scalar(
        "SELECT code FROM area WHERE level = 5 AND ST_NumGeometries(geom) = 1
            AND ST_NumInteriorRings(ST_GeometryN(geom, 1)) = 0
            AND ST_NPoints(geom) >= 8
          ORDER BY code LIMIT 1 OFFSET 500",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let before = vertices(&app, &code).await;
    let coords: Vec<String> = before
        .iter()
        .map(|(x, y)| format!("[{},{}]", digits17(*x), digits17(*y)))
        .collect();
    let body = format!(
        r#"{{"type":"Feature","properties":{{}},"geometry":{{"type":"Polygon","coordinates":[[{}]]}}}}"#,
        coords.join(",")
    );
    let r = app
        .http
        .put(app.url(&format!("/api/areas/{code}")))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let answer: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{answer}");
    let after = vertices(&app, &code).await;
    let bits = |v: &[(f64, f64)]| -> Vec<(u64, u64)> {
        v.iter().map(|(x, y)| (x.to_bits(), y.to_bits())).collect()
    };
    assert_eq!(
        bits(&after),
        bits(&before),
        "the edit changed the stored coordinates of {code}: {answer}"
    );
    assert!(answer.is_object(), "{}", json!(answer));
}
