//! The validator on the demo city (clean) and on data broken on purpose (each kind reported),
//! and edits that are validated first and applied whole or not at all.

mod common;

use common::{assert_error, demo_db, spawn_app};
use serde_json::{Value, json};
use sqlx::Row;

/// A village with a grid of at least six units: (village, grid, units).
async fn pick_family(store: &sqlx::PgPool) -> (String, String, Vec<String>) {
    let row = sqlx::query(
        "SELECT g.parent_code AS village, g.code AS grid FROM area g
         WHERE g.level = 4 AND (SELECT count(*) FROM area u WHERE u.parent_code = g.code) >= 6
         ORDER BY g.code LIMIT 1 OFFSET 500",
    )
    .fetch_one(store)
    .await
    .unwrap();
    let (village, grid): (String, String) = (row.get("village"), row.get("grid"));
    let units: Vec<String> =
        sqlx::query_scalar("SELECT code FROM area WHERE parent_code = $1 ORDER BY code")
            .bind(&grid)
            .fetch_all(store)
            .await
            .unwrap();
    (village, grid, units)
}

#[tokio::test]
async fn the_demo_city_is_a_clean_partition_at_every_level() {
    let app = spawn_app(demo_db().await).await;
    let report = app
        .store
        .validate("3503", 0.01, &|_, _| {})
        .await
        .unwrap()
        .unwrap();
    assert!(
        report.ok,
        "{:#?}",
        &report.issues[..report.issues.len().min(10)]
    );
    assert!(report.areas_checked > 140_000);
    let counts: Vec<(i16, i64)> =
        sqlx::query("SELECT level, count(*) AS n FROM area GROUP BY level ORDER BY level")
            .fetch_all(&app.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("level"), r.get("n")))
            .collect();
    assert_eq!(&counts[..4], &[(0, 1), (1, 5), (2, 57), (3, 979)]);
    assert!(
        (9_000..11_000).contains(&counts[4].1),
        "about 10,000 grids: {}",
        counts[4].1
    );
    assert!(
        (120_000..140_000).contains(&counts[5].1),
        "about 130,000 units: {}",
        counts[5].1
    );
    // Urban streets are denser than rural townships.
    let density: Vec<(String, f64)> = sqlx::query(
        "SELECT CASE WHEN t.name LIKE '%街道' THEN 'street' ELSE 'rural' END AS kind,
                count(u.*) / sum(ST_Area(u.geom::geography)) * 1e6 AS per_km2
         FROM area t JOIN area v ON v.parent_code = t.code JOIN area g ON g.parent_code = v.code
         JOIN area u ON u.parent_code = g.code WHERE t.level = 2 GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("kind"), r.get("per_km2")))
    .collect();
    assert!(
        density[1].1 > 3.0 * density[0].1,
        "units per km²: {density:?}"
    );
}

#[tokio::test]
async fn every_kind_of_breakage_is_reported_with_codes_and_size() {
    let app = spawn_app(demo_db().await).await;
    let (village, grid, u) = pick_family(&app.pool).await;
    let sql = [
        // a gap: a unit removed
        format!("DELETE FROM area WHERE code = '{}'", u[0]),
        // an overlap (and a spill where it crosses the grid's edge): a unit grown by ~20 m
        format!(
            "UPDATE area SET geom = ST_Multi(ST_Buffer(geom, 0.0002)) WHERE code = '{}'",
            u[1]
        ),
        // outside its parent: a unit moved 2 km east
        format!(
            "UPDATE area SET geom = ST_Translate(geom, 0.02, 0) WHERE code = '{}'",
            u[2]
        ),
        // invalid: a bow-tie
        format!(
            "UPDATE area SET geom = ST_Multi(ST_GeomFromText('POLYGON((119 25.4, 119.001 25.401, 119.001 25.4, 119 25.401, 119 25.4))', 4326)) WHERE code = '{}'",
            u[3]
        ),
        // empty
        format!(
            "UPDATE area SET geom = ST_GeomFromText('MULTIPOLYGON EMPTY', 4326) WHERE code = '{}'",
            u[4]
        ),
    ];
    for s in &sql {
        sqlx::query(s).execute(&app.pool).await.unwrap();
    }
    let (status, report) = app.get_json(&format!("/api/validate?root={village}")).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["ok"], false);
    let issues = report["issues"].as_array().unwrap();
    let find = |kind: &str, code: &str| {
        issues
            .iter()
            .find(|i| i["kind"] == kind && i["codes"].as_array().unwrap().iter().any(|c| c == code))
            .cloned()
    };
    let gap = find("gap", &grid).unwrap_or_else(|| panic!("gap in {grid}: {report}"));
    assert!(gap["area_m2"].as_f64().unwrap() > 10.0);
    assert!(gap["location"].is_array());
    let overlap = find("overlap", &u[1]).unwrap_or_else(|| panic!("overlap of {}: {report}", u[1]));
    assert!(overlap["area_m2"].as_f64().unwrap() > 1.0);
    assert_eq!(overlap["codes"].as_array().unwrap().len(), 2);
    let outside =
        find("outside_parent", &u[2]).unwrap_or_else(|| panic!("{} outside: {report}", u[2]));
    assert_eq!(outside["parent"], grid.as_str());
    assert!(outside["area_m2"].as_f64().unwrap() > 100.0);
    let invalid =
        find("invalid_geometry", &u[3]).unwrap_or_else(|| panic!("{} invalid: {report}", u[3]));
    assert!(
        invalid["message"]
            .as_str()
            .unwrap()
            .contains("Self-intersection"),
        "{invalid}"
    );
    find("empty_geometry", &u[4]).unwrap_or_else(|| panic!("{} empty: {report}", u[4]));
    // Messages speak Chinese to the user.
    assert!(gap["message"].as_str().unwrap().contains("盲区"));

    // The command line says the same and fails.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_onemap"))
        .args(["validate", "--root", &village, "--json"])
        .env("DATABASE_URL", &app.db.url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli["issues"].as_array().unwrap().len(), issues.len());
}

fn feature(code: &str, props: Value, geometry: Value) -> Value {
    let mut p = props;
    p["code"] = json!(code);
    json!({"type": "Feature", "properties": p, "geometry": geometry})
}

#[tokio::test]
async fn edits_are_validated_first_and_refused_whole() {
    let app = spawn_app(demo_db().await).await;
    let (_, grid, u) = pick_family(&app.pool).await;
    let geojson_of = |code: String| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, Value>(
                "SELECT ST_AsGeoJSON(geom)::jsonb FROM area WHERE code = $1",
            )
            .bind(code)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let put = |code: String, body: Value, query: &'static str| {
        let req = app
            .http
            .put(app.url(&format!("/api/areas/{code}{query}")))
            .json(&body);
        async move {
            let r = req.send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap())
        }
    };
    let version = |code: String| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i32>("SELECT version FROM area WHERE code = $1")
                .bind(code)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };

    // A property change: applied, version bumped.
    let v0 = version(u[0].clone()).await;
    let (s, b) = put(
        u[0].clone(),
        feature(
            &u[0],
            json!({"name": "1号楼（改）", "floors": 9}),
            Value::Null,
        ),
        "",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["name"], "1号楼（改）");
    assert_eq!(b["properties"]["floors"], 9);
    assert_eq!(version(u[0].clone()).await, v0 + 1);

    // Self-intersection: refused, nothing changed.
    let bowtie = json!({"type":"Polygon","coordinates":[[[119.0,25.4],[119.001,25.401],[119.001,25.4],[119.0,25.401],[119.0,25.4]]]});
    let (s, b) = put(u[1].clone(), feature(&u[1], json!({}), bowtie), "").await;
    assert_error(s, &b, 422, "validation_failed");
    assert!(
        b["error"]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["kind"] == "invalid_geometry"),
        "{b}"
    );

    // Projected coordinates (wrong SRID).
    let projected = json!({"type":"Polygon","coordinates":[[[13247000.0,2920000.0],[13248000.0,2920000.0],[13248000.0,2921000.0],[13247000.0,2920000.0]]]});
    let (s, b) = put(u[1].clone(), feature(&u[1], json!({}), projected), "").await;
    assert_error(s, &b, 422, "invalid_area");
    assert_eq!(b["error"]["problems"][0]["kind"], "wrong_srid");

    // A new unit under a grid that does not exist.
    let small = json!({"type":"Polygon","coordinates":[[[119.0,25.4],[119.0001,25.4],[119.0001,25.4001],[119.0,25.4]]]});
    let (s, b) = put(
        "3503999999999990001".into(),
        feature(
            "3503999999999990001",
            json!({"name": "新楼"}),
            small.clone(),
        ),
        "",
    )
    .await;
    assert_error(s, &b, 422, "validation_failed");
    assert!(
        b["error"]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["kind"] == "unknown_parent"),
        "{b}"
    );

    // A unit moved outside its grid: spills out (and leaves a gap).
    let g2: Value = sqlx::query_scalar(
        "SELECT ST_AsGeoJSON(ST_Translate(geom, 0.01, 0))::jsonb FROM area WHERE code = $1",
    )
    .bind(&u[2])
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (s, b) = put(u[2].clone(), feature(&u[2], json!({}), g2), "").await;
    assert_error(s, &b, 422, "validation_failed");
    let kinds: Vec<&str> = b["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"outside_parent") && kinds.contains(&"gap"),
        "{kinds:?}"
    );

    // A unit grown over its neighbours: overlap.
    let grown: Value = sqlx::query_scalar("SELECT ST_AsGeoJSON(ST_Intersection(ST_Buffer(u.geom, 0.0002), g.geom))::jsonb FROM area u, area g WHERE u.code = $1 AND g.code = $2")
        .bind(&u[3])
        .bind(&grid)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (s, b) = put(u[3].clone(), feature(&u[3], json!({}), grown), "").await;
    assert_error(s, &b, 422, "validation_failed");
    assert!(
        b["error"]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["kind"] == "overlap"),
        "{b}"
    );

    // Shrunk: a gap is refused by default and accepted with allow_gaps, as a warning.
    let shrunk: Value = sqlx::query_scalar(
        "SELECT ST_AsGeoJSON(ST_Buffer(geom, -0.00005))::jsonb FROM area WHERE code = $1",
    )
    .bind(&u[4])
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (s, b) = put(u[4].clone(), feature(&u[4], json!({}), shrunk.clone()), "").await;
    assert_error(s, &b, 422, "validation_failed");
    for code in &u[1..] {
        assert_eq!(
            version(code.clone()).await,
            1,
            "{code} unchanged after refused edits"
        );
    }
    let original = geojson_of(u[4].clone()).await;
    let (s, b) = put(
        u[4].clone(),
        feature(&u[4], json!({}), shrunk.clone()),
        "?allow_gaps=true",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["warnings"][0]["kind"], "gap");
    assert_eq!(version(u[4].clone()).await, 2);
    // What is stored is what was sent, and no longer the original.
    let stored = geojson_of(u[4].clone()).await;
    let (as_sent, as_before): (bool, bool) = sqlx::query_as(
        "SELECT ST_Equals(ST_GeomFromGeoJSON($1), ST_GeomFromGeoJSON($2)),
                ST_Equals(ST_GeomFromGeoJSON($1), ST_GeomFromGeoJSON($3))",
    )
    .bind(stored.to_string())
    .bind(shrunk.to_string())
    .bind(original.to_string())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(as_sent, "stored {stored} is not the geometry sent {shrunk}");
    assert!(
        !as_before,
        "the accepted edit left the old geometry in place"
    );
}

#[tokio::test]
async fn importing_a_layout_file_applies_all_or_nothing() {
    let app = spawn_app(demo_db().await).await;
    let (_, grid, u) = pick_family(&app.pool).await;
    let dir = std::env::temp_dir().join(format!("onemap-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rows = sqlx::query(
        "SELECT code, ST_AsGeoJSON(geom)::jsonb AS g FROM area WHERE code = ANY($1) ORDER BY code",
    )
    .bind(&u[..2])
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let good: Vec<Value> = rows
        .iter()
        .map(|r| {
            feature(
                r.get::<&str, _>("code"),
                json!({"name": "改名楼", "parent": grid}),
                r.get("g"),
            )
        })
        .collect();
    // One bad feature (a bow-tie) spoils the whole file.
    let mut bad = good.clone();
    bad[1]["geometry"] = json!({"type":"Polygon","coordinates":[[[119.0,25.4],[119.001,25.401],[119.001,25.4],[119.0,25.401],[119.0,25.4]]]});
    let write = |name: &str, features: &[Value]| {
        let p = dir.join(name);
        std::fs::write(
            &p,
            json!({"type": "FeatureCollection", "features": features}).to_string(),
        )
        .unwrap();
        p
    };
    let run = |file: std::path::PathBuf| {
        std::process::Command::new(env!("CARGO_BIN_EXE_onemap"))
            .args(["import", "areas"])
            .arg(file)
            .env("DATABASE_URL", &app.db.url)
            .output()
            .unwrap()
    };
    let out = run(write("bad.geojson", &bad));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid_geometry") && err.contains("nothing was changed"),
        "{err}"
    );
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM area WHERE code = ANY($1)")
        .bind(&u[..2])
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(
        names.iter().all(|n| n != "改名楼"),
        "nothing half-applied: {names:?}"
    );

    let out = run(write("good.geojson", &good));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM area WHERE code = ANY($1)")
        .bind(&u[..2])
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(names.iter().all(|n| n == "改名楼"), "{names:?}");

    let out = run(dir.join("missing.geojson"));
    assert!(!out.status.success());
    let out = run(write("notgeojson.geojson", &[]));
    assert!(!out.status.success());
    std::fs::write(
        dir.join("broken.geojson"),
        "{\"type\": \"FeatureCollection\", ",
    )
    .unwrap();
    let out = run(dir.join("broken.geojson"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("malformed_json"));
}
