//! Vector tiles against a real PostGIS, decoded by two independent decoders: GDAL's MVT driver
//! and Python's mapbox-vector-tile (scripts/setup --test installs both; the Python lives in
//! .onemap/pyvenv). Tiles are compared with PostGIS as data (sets of codes, areas), never as
//! bytes.

mod common;

use common::{TestApp, assert_error, demo_db, spawn_app};
use onemap::tiles::tile_id::TileId;
use serde_json::{Value, json};
use sqlx::Row;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Decodes tiles with GDAL (georeferenced, unclipped) and with mapbox-vector-tile (tile
/// coordinates), checks validity with GEOS, and measures clipped areas for the crack test.
const DECODER: &str = r#"
import json, sys
from osgeo import gdal, ogr
import mapbox_vector_tile
gdal.UseExceptions()
ogr.UseExceptions()

def gdal_decode(t):
    ds = gdal.OpenEx(t["path"], gdal.OF_VECTOR, allowed_drivers=["MVT"],
                     open_options=["X=%d" % t["x"], "Y=%d" % t["y"], "Z=%d" % t["z"], "CLIP=NO", "METADATA_FILE="])
    out = {}
    for i in range(ds.GetLayerCount()):
        lyr = ds.GetLayer(i)
        codes, invalid, types = [], [], set()
        for f in lyr:
            g = f.GetGeometryRef()
            code = f.GetField("code")
            codes.append(code)
            types.add(ogr.GeometryTypeToName(g.GetGeometryType()) if g is not None else "none")
            if g is None or g.IsEmpty() or not g.IsValid():
                invalid.append(code)
        out[lyr.GetName()] = {"codes": codes, "invalid": invalid, "types": sorted(types)}
    return out

def mvt_decode(t):
    data = open(t["path"], "rb").read()
    d = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    out = {}
    for name, l in d.items():
        e = l["extent"]
        square = ogr.CreateGeometryFromWkt("POLYGON((0 0,%d 0,%d %d,0 %d,0 0))" % (e, e, e, e))
        codes, invalid, props, areas, points = [], [], {}, {}, []
        total, parts = 0.0, ogr.Geometry(ogr.wkbMultiPolygon)
        for f in l["features"]:
            p = f["properties"]
            code = p["code"]
            codes.append(code)
            props[code] = p
            g = ogr.CreateGeometryFromJson(json.dumps(f["geometry"]))
            if not g.IsValid():
                invalid.append(code)
            gt = f["geometry"]["type"]
            if gt == "Point":
                c = f["geometry"]["coordinates"]
                points.append([code, c[0], c[1]])
            elif gt in ("Polygon", "MultiPolygon"):
                areas[code] = g.GetArea()
                inter = g.Intersection(square)
                total += inter.GetArea()
                for k in range(inter.GetGeometryCount()) if inter.GetGeometryName() in ("MULTIPOLYGON", "GEOMETRYCOLLECTION") else []:
                    sub = inter.GetGeometryRef(k)
                    if sub.GetGeometryName() == "POLYGON":
                        parts.AddGeometry(sub)
                if inter.GetGeometryName() == "POLYGON":
                    parts.AddGeometry(inter)
        union = parts.UnionCascaded() if parts.GetGeometryCount() else None
        holes = []
        if union is not None:
            polys = [union] if union.GetGeometryName() == "POLYGON" else [union.GetGeometryRef(k) for k in range(union.GetGeometryCount())]
            for poly in polys:
                for r in range(1, poly.GetGeometryCount()):
                    ring = ogr.Geometry(ogr.wkbPolygon)
                    ring.AddGeometry(poly.GetGeometryRef(r))
                    holes.append(ring.GetArea())
        out[name] = {"codes": codes, "invalid": invalid, "props": props, "areas": areas, "points": points,
                     "extent": e, "sum_area": total, "union_area": union.GetArea() if union else 0.0,
                     "hole_areas": holes}
    return out

res = []
for t in json.load(open(sys.argv[1])):
    res.append({"gdal": gdal_decode(t), "mvt": mvt_decode(t)})
json.dump(res, sys.stdout)
"#;

fn python() -> PathBuf {
    if let Ok(p) = std::env::var("ONEMAP_TEST_PYTHON") {
        return p.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".onemap/pyvenv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run scripts/setup --test",
        venv.display()
    );
    venv
}

fn temp_dir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "onemap-tiles-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Saves the tiles as z/x/y.mvt in a temp dir and decodes them with both decoders.
fn decode(tiles: &[(TileId, Vec<u8>)]) -> Vec<Value> {
    let dir = temp_dir();
    let mut manifest = Vec::new();
    for (i, (t, bytes)) in tiles.iter().enumerate() {
        // One folder per tile: the same z/x/y of two layers must not overwrite each other.
        let sub = dir.join(format!("{i}/{}/{}", t.z, t.x));
        std::fs::create_dir_all(&sub).unwrap();
        let path = sub.join(format!("{}.mvt", t.y));
        std::fs::write(&path, bytes).unwrap();
        manifest.push(json!({"path": path, "z": t.z, "x": t.x, "y": t.y}));
    }
    let script = dir.join("decode.py");
    std::fs::write(&script, DECODER).unwrap();
    let list = dir.join("tiles.json");
    std::fs::write(&list, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let out = std::process::Command::new(python())
        .arg(&script)
        .arg(&list)
        .output()
        .expect("run the Python decoders");
    assert!(
        out.status.success(),
        "decoder failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    serde_json::from_slice(&out.stdout).expect("decoder output is JSON")
}

/// Waits until the tile geometry is loaded.
async fn ready(app: &TestApp) {
    let started = Instant::now();
    while !app.tiles.is_loaded() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "tile geometry never loaded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The raw (identity) tile bytes and status.
async fn fetch(app: &TestApp, layer: &str, t: TileId) -> (u16, Vec<u8>) {
    let r = app
        .get(&format!("/tiles/{layer}/{}/{}/{}.mvt", t.z, t.x, t.y))
        .await;
    let status = r.status().as_u16();
    (status, r.bytes().await.unwrap().to_vec())
}

fn tile_at(lon: f64, lat: f64, z: u8) -> TileId {
    let n = (1u64 << z) as f64;
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let y = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n).floor();
    TileId::new(z as u64, x as u64, y as u64).unwrap()
}

/// `n` points inside areas of `level`, spread by a fixed pseudo-random order.
async fn sample_points(app: &TestApp, level: i16, n: i64, seed: &str) -> Vec<(f64, f64)> {
    sqlx::query(
        "SELECT ST_X(p) AS x, ST_Y(p) AS y FROM (
             SELECT ST_PointOnSurface(geom) AS p FROM area WHERE level = $1 ORDER BY md5(code || $2) LIMIT $3) s",
    )
    .bind(level)
    .bind(seed)
    .bind(n)
    .fetch_all(&app.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("x"), r.get("y")))
    .collect()
}

fn level_rank(layer: &str) -> i16 {
    ["city", "district", "town", "village", "grid", "unit"]
        .iter()
        .position(|l| *l == layer)
        .unwrap() as i16
}

/// Codes of `level` that PostGIS finds meeting the tile's envelope grown by `margin` units.
async fn postgis_codes(app: &TestApp, level: i16, t: TileId, margin: f64) -> BTreeSet<String> {
    sqlx::query_scalar(
        "SELECT code FROM area WHERE level = $1
         AND ST_Intersects(geom, ST_Transform(ST_TileEnvelope($2, $3, $4, margin => $5), 4326))",
    )
    .bind(level)
    .bind(t.z as i32)
    .bind(t.x as i32)
    .bind(t.y as i32)
    .bind(margin / 4096.0)
    .fetch_all(&app.pool)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

/// Of `codes`, those that reach more than 2 units inside the buffered envelope with more than
/// 4 square units: a tile may leave out only slivers below its resolution.
async fn not_slivers(app: &TestApp, codes: &[String], t: TileId) -> Vec<String> {
    sqlx::query_scalar(
        "WITH e AS (SELECT ST_TileEnvelope($2, $3, $4, margin => 64.0 / 4096) AS env,
                           ST_TileEnvelope($2, $3, $4, margin => 62.0 / 4096) AS inner_env,
                           power(ST_XMax(ST_TileEnvelope($2, $3, $4)) - ST_XMin(ST_TileEnvelope($2, $3, $4)), 2) / (4096.0 * 4096.0) AS unit2)
         SELECT code FROM area, e WHERE code = ANY($1)
           AND ST_Intersects(ST_Transform(geom, 3857), inner_env)
           AND ST_Area(ST_Intersection(ST_Transform(geom, 3857), env)) > 4 * unit2",
    )
    .bind(codes)
    .bind(t.z as i32)
    .bind(t.x as i32)
    .bind(t.y as i32)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn tiles_decode_to_valid_geometry_and_hold_what_postgis_finds_in_the_buffered_envelope() {
    let app = spawn_app(demo_db().await).await;
    ready(&app).await;
    let plan = [
        ("district", 5u8),
        ("district", 8),
        ("town", 8),
        ("town", 10),
        ("village", 9),
        ("village", 12),
        ("grid", 11),
        ("grid", 13),
        ("unit", 14),
        ("unit", 16),
    ];
    let points = sample_points(&app, 5, 3, "tiles").await;
    // And one on an island of Xiuyu (a district part away from the mainland).
    let island: (f64, f64) = {
        let r = sqlx::query(
            "SELECT ST_X(p) AS x, ST_Y(p) AS y FROM (SELECT ST_PointOnSurface(d.geom) AS p, ST_Area(d.geom) AS a
             FROM area, ST_Dump(geom) d WHERE code = '350305' ORDER BY a LIMIT 1 OFFSET 3) s",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        (r.get("x"), r.get("y"))
    };
    let mut tiles: Vec<(&str, TileId)> = Vec::new();
    for (layer, z) in plan {
        for &(x, y) in points.iter().chain([&island]) {
            let t = tile_at(x, y, z);
            if !tiles.contains(&(layer, t)) {
                tiles.push((layer, t));
            }
        }
    }
    let mut fetched = Vec::new();
    for &(layer, t) in &tiles {
        let (status, bytes) = fetch(&app, layer, t).await;
        assert_eq!(status, 200, "{layer} {t}");
        fetched.push((t, bytes));
    }
    let decoded = decode(&fetched);
    let mut features = 0;
    for ((layer, t), d) in tiles.iter().zip(&decoded) {
        let g = &d["gdal"][layer];
        let m = &d["mvt"][layer];
        assert!(
            g.is_object() && m.is_object(),
            "{layer} {t}: layer missing in {}",
            &d.to_string()[..d.to_string().len().min(500)]
        );
        let codes = |v: &Value| -> BTreeSet<String> {
            v["codes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect()
        };
        let (gc, mc) = (codes(g), codes(m));
        assert_eq!(gc, mc, "{layer} {t}: both decoders see the same features");
        assert_eq!(
            g["codes"].as_array().unwrap().len(),
            gc.len(),
            "{layer} {t}: one feature per area"
        );
        assert_eq!(
            g["invalid"],
            json!([]),
            "{layer} {t}: GDAL/GEOS finds invalid geometry"
        );
        assert_eq!(
            m["invalid"],
            json!([]),
            "{layer} {t}: mapbox-vector-tile + GEOS finds invalid geometry"
        );
        for ty in g["types"].as_array().unwrap() {
            assert!(
                ty == "Polygon" || ty == "Multi Polygon",
                "{layer} {t}: {ty}"
            );
        }
        let want = postgis_codes(&app, level_rank(layer), *t, 64.0).await;
        let extra: Vec<&String> = gc.difference(&want).collect();
        assert!(
            extra.is_empty(),
            "{layer} {t}: codes PostGIS does not find in the buffered envelope: {extra:?}"
        );
        let missing: Vec<String> = want.difference(&gc).cloned().collect();
        let real = not_slivers(&app, &missing, *t).await;
        assert!(
            real.is_empty(),
            "{layer} {t}: left out {real:?} (of {} missing)",
            missing.len()
        );
        assert!(
            missing.len() * 50 <= want.len().max(50),
            "{layer} {t}: {} of {} left out",
            missing.len(),
            want.len()
        );
        features += gc.len();
    }
    assert!(
        features > 2_000,
        "the sample covers real content: {features} features"
    );

    // Properties: code, name, level, parent and every ancestor's code.
    let (_, unit_tile) = tiles.iter().find(|(l, _)| *l == "unit").unwrap();
    let i = tiles
        .iter()
        .position(|(l, t)| *l == "unit" && t == unit_tile)
        .unwrap();
    let props = decoded[i]["mvt"]["unit"]["props"].as_object().unwrap();
    for (code, p) in props.iter().take(20) {
        let r = sqlx::query("SELECT name, parent_code FROM area WHERE code = $1")
            .bind(code)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(p["name"], r.get::<String, _>("name"));
        assert_eq!(p["parent"], r.get::<String, _>("parent_code"));
        assert_eq!(p["level"], "unit");
        assert_eq!(p["grid"], r.get::<String, _>("parent_code"));
        let chain: Vec<String> = sqlx::query_scalar(
            "WITH RECURSIVE up AS (SELECT code, parent_code, level FROM area WHERE code = $1
                 UNION ALL SELECT a.code, a.parent_code, a.level FROM area a JOIN up ON a.code = up.parent_code)
             SELECT code FROM up WHERE code <> $1 ORDER BY level",
        )
        .bind(code)
        .fetch_all(&app.pool)
        .await
        .unwrap();
        let got: Vec<&str> = ["city", "district", "town", "village", "grid"]
            .iter()
            .map(|k| p[*k].as_str().unwrap())
            .collect();
        assert_eq!(
            got,
            chain.iter().map(String::as_str).collect::<Vec<_>>(),
            "{code}"
        );
    }
}

/// Tiles that lie wholly inside the city, one per zoom, found near sampled units.
async fn inner_tiles(app: &TestApp, zooms: std::ops::RangeInclusive<u8>) -> Vec<TileId> {
    let points = sample_points(app, 5, 40, "inner").await;
    let mut out = Vec::new();
    for z in zooms {
        for &(x, y) in &points {
            let t = tile_at(x, y, z);
            let covered: bool = sqlx::query_scalar(
                "SELECT ST_Covers(geom, ST_Transform(ST_TileEnvelope($1, $2, $3), 4326)) FROM area WHERE level = 0",
            )
            .bind(t.z as i32)
            .bind(t.x as i32)
            .bind(t.y as i32)
            .fetch_one(&app.pool)
            .await
            .unwrap();
            if covered {
                out.push(t);
                break;
            }
        }
    }
    out
}

#[tokio::test]
async fn villages_and_grids_tile_the_square_without_cracks_or_overlaps_at_every_zoom() {
    let app = spawn_app(demo_db().await).await;
    ready(&app).await;
    let mut cases: Vec<(&str, TileId)> = Vec::new();
    for t in inner_tiles(&app, 10..=16).await {
        cases.push(("village", t));
    }
    for t in inner_tiles(&app, 11..=16).await {
        cases.push(("grid", t));
    }
    for t in inner_tiles(&app, 14..=16).await {
        cases.push(("unit", t));
    }
    assert!(cases.len() >= 14, "enough inner tiles: {cases:?}");
    let mut fetched = Vec::new();
    for &(layer, t) in &cases {
        let (status, bytes) = fetch(&app, layer, t).await;
        assert_eq!(status, 200);
        fetched.push((t, bytes));
    }
    let decoded = decode(&fetched);
    for ((layer, t), d) in cases.iter().zip(&decoded) {
        let m = &d["mvt"][layer];
        let square = 4096.0f64 * 4096.0;
        let (sum, union) = (
            m["sum_area"].as_f64().unwrap(),
            m["union_area"].as_f64().unwrap(),
        );
        // Integer coordinates: every area is exact to a half unit; allow a little for GEOS.
        assert!(
            (union - square).abs() < 1.0,
            "{layer} {t}: cracks cover {} square units",
            square - union
        );
        assert!(
            (sum - union).abs() < 1.0,
            "{layer} {t}: overlaps cover {} square units",
            sum - union
        );
        assert_eq!(m["hole_areas"], json!([]), "{layer} {t}");
    }

    // At the lowest zooms no tile lies inside the city: there, no overlaps and no sliver holes.
    let points = sample_points(&app, 5, 2, "low").await;
    let mut low = Vec::new();
    for z in [9u8, 10] {
        for &(x, y) in &points {
            low.push(("village", tile_at(x, y, z)));
        }
    }
    let mut fetched = Vec::new();
    for &(layer, t) in &low {
        fetched.push((t, fetch(&app, layer, t).await.1));
    }
    // Known limit: at these zooms two arcs that meet at a junction may cross after
    // simplification and snapping (seen at z9: 5 square units, a twelfth of a 512 px tile's
    // pixel). That overlaps two neighbours by a sub-pixel triangle and opens no gap.
    for ((layer, t), d) in low.iter().zip(decode(&fetched)) {
        let m = &d["mvt"][layer];
        let (sum, union) = (
            m["sum_area"].as_f64().unwrap(),
            m["union_area"].as_f64().unwrap(),
        );
        assert!(
            (sum - union).abs() < 16.0,
            "{layer} {t}: overlaps cover {} square units",
            sum - union
        );
        for h in m["hole_areas"].as_array().unwrap() {
            assert!(
                h.as_f64().unwrap() > 100.0,
                "{layer} {t}: a sliver hole of {h} square units"
            );
        }
    }
}

#[tokio::test]
async fn label_points_lie_inside_their_areas_and_levels_appear_by_zoom() {
    let app = spawn_app(demo_db().await).await;
    ready(&app).await;
    let (x, y) = sample_points(&app, 5, 1, "label").await[0];
    let zooms = [0u8, 8, 11, 13, 15, 16];
    let mut fetched = Vec::new();
    for z in zooms {
        let t = tile_at(x, y, z);
        let (status, bytes) = fetch(&app, "label", t).await;
        assert_eq!(status, 200, "label {t}");
        fetched.push((t, bytes));
    }
    let decoded = decode(&fetched);
    let mut checked = 0;
    for ((t, _), d) in fetched.iter().zip(&decoded) {
        let m = &d["mvt"]["label"];
        let levels: BTreeSet<String> = m["props"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p["level"].as_str().unwrap().to_string())
            .collect();
        let want: BTreeSet<String> = [
            ("district", 0u8),
            ("town", 8),
            ("village", 10),
            ("grid", 12),
            ("unit", 15),
        ]
        .iter()
        .filter(|(_, from)| t.z >= *from)
        .map(|(l, _)| l.to_string())
        .collect();
        assert!(
            levels.is_subset(&want),
            "label levels at zoom {}: {levels:?}",
            t.z
        );
        let finest = want.iter().max_by_key(|l| level_rank(l)).unwrap();
        assert!(
            levels.contains(finest),
            "labels of {finest} at zoom {}: {levels:?}",
            t.z
        );
        // Each point, back in degrees, is inside its area (within half a tile unit of rounding).
        let b = t.bounds_m(4096, 0);
        let unit = (b[2] - b[0]) / 4096.0;
        let pts = m["points"].as_array().unwrap();
        let (codes, xs, ys): (Vec<String>, Vec<f64>, Vec<f64>) =
            pts.iter().fold((vec![], vec![], vec![]), |mut acc, p| {
                acc.0.push(p[0].as_str().unwrap().to_string());
                acc.1.push(b[0] + (p[1].as_f64().unwrap() + 0.0) * unit);
                acc.2.push(b[3] - (p[2].as_f64().unwrap() + 0.0) * unit);
                acc
            });
        let outside: Vec<String> = sqlx::query_scalar(
            "SELECT p.code FROM unnest($1::text[], $2::float8[], $3::float8[]) AS p(code, x, y)
             JOIN area a ON a.code = p.code
             WHERE NOT ST_DWithin(ST_Transform(a.geom, 3857), ST_SetSRID(ST_MakePoint(p.x, p.y), 3857), $4)",
        )
        .bind(&codes)
        .bind(&xs)
        .bind(&ys)
        .bind(unit)
        .fetch_all(&app.pool)
        .await
        .unwrap();
        assert!(
            outside.is_empty(),
            "zoom {}: labels outside their areas: {outside:?}",
            t.z
        );
        checked += codes.len();
    }
    assert!(checked > 100, "{checked} labels checked");

    // The label is the pole of inaccessibility, not the centroid: for areas whose centroid is
    // outside them, the label point still lies inside, well away from the edge.
    let awkward: Vec<String> = sqlx::query_scalar(
        "SELECT code FROM area WHERE level = 5 AND NOT ST_Contains(geom, ST_Centroid(geom)) ORDER BY code LIMIT 5",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(!awkward.is_empty(), "the demo city has concave units");
    for code in awkward {
        let r = sqlx::query("SELECT ST_X(ST_PointOnSurface(geom)) AS x, ST_Y(ST_PointOnSurface(geom)) AS y FROM area WHERE code = $1")
            .bind(&code)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        let t = tile_at(r.get("x"), r.get("y"), 16);
        // The label may sit in a neighbouring tile: look in the 3×3 block around.
        let mut found = None;
        for dx in [-1i64, 0, 1] {
            for dy in [-1i64, 0, 1] {
                let n =
                    TileId::new(16, (t.x as i64 + dx) as u64, (t.y as i64 + dy) as u64).unwrap();
                let (_, bytes) = fetch(&app, "label", n).await;
                let d = decode(&[(n, bytes)]);
                if let Some(p) = d[0]["mvt"]["label"]["points"]
                    .as_array()
                    .and_then(|ps| ps.iter().find(|p| p[0] == code.as_str()))
                {
                    let b = n.bounds_m(4096, 0);
                    let unit = (b[2] - b[0]) / 4096.0;
                    found = Some((
                        b[0] + p[1].as_f64().unwrap() * unit,
                        b[3] - p[2].as_f64().unwrap() * unit,
                        unit,
                    ));
                }
            }
        }
        let (px, py, unit) = found.unwrap_or_else(|| panic!("label of {code} not found"));
        let (inside, centroid_inside): (bool, bool) = {
            let r = sqlx::query(
                "SELECT ST_DWithin(ST_Transform(geom, 3857), ST_SetSRID(ST_MakePoint($2, $3), 3857), $4) AS inside,
                        ST_Contains(geom, ST_Centroid(geom)) AS c FROM area WHERE code = $1",
            )
            .bind(&code)
            .bind(px)
            .bind(py)
            .bind(unit)
            .fetch_one(&app.pool)
            .await
            .unwrap();
            (r.get("inside"), r.get("c"))
        };
        assert!(
            inside && !centroid_inside,
            "{code}: label inside, centroid outside"
        );
    }
}

#[tokio::test]
async fn tilejson_catalog_and_the_combined_source() {
    let app = spawn_app(demo_db().await).await;
    ready(&app).await;
    let r = app
        .http
        .get(app.url("/tiles/unit"))
        .header("Host", "tiles.example:9000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tj: Value = r.json().await.unwrap();
    assert_eq!(tj["tilejson"], "3.0.0");
    assert_eq!(
        tj["tiles"][0],
        "http://tiles.example:9000/tiles/unit/{z}/{x}/{y}.mvt"
    );
    assert_eq!(
        (tj["minzoom"].as_u64(), tj["maxzoom"].as_u64()),
        (Some(14), Some(16))
    );
    let ext: Vec<f64> = {
        let r = sqlx::query("SELECT ST_XMin(e) AS a, ST_YMin(e) AS b, ST_XMax(e) AS c, ST_YMax(e) AS d FROM (SELECT ST_Extent(geom) AS e FROM area WHERE level = 1) s")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        vec![r.get("a"), r.get("b"), r.get("c"), r.get("d")]
    };
    for i in 0..4 {
        assert!(
            (tj["bounds"][i].as_f64().unwrap() - ext[i]).abs() < 1e-7,
            "bounds {} vs {ext:?}",
            tj["bounds"]
        );
    }
    let c = &tj["center"];
    assert!(c[0].as_f64().unwrap() > ext[0] && c[0].as_f64().unwrap() < ext[2]);
    let fields = tj["vector_layers"][0]["fields"].as_object().unwrap();
    for k in [
        "code", "name", "level", "parent", "city", "district", "town", "village", "grid",
    ] {
        assert!(fields.contains_key(k), "field {k} in {fields:?}");
    }
    // The GIS officer's URL with .json works too; unknown layers do not.
    assert_eq!(app.get("/tiles/grid.json").await.status(), 200);
    let (status, body) = app.get_json("/tiles/parcel").await;
    assert_error(status, &body, 404, "unknown_layer");

    let (status, cat) = app.get_json("/tiles").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = cat["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "district",
            "town",
            "village",
            "grid",
            "unit",
            "label",
            "areas",
            "events",
            "heritage",
            "hydrants",
            "water",
            "stations",
            "sensors",
            "fire-uncovered",
            "vessels",
            "harbours",
            "vessel-zones"
        ]
    );
    let (_, tj) = app.get_json("/tiles/areas").await;
    let ids: Vec<&str> = tj["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["district", "town", "village", "grid", "unit", "label"]
    );

    // An `areas` tile holds every level's layer, each equal to that layer's own tile.
    let (x, y) = sample_points(&app, 5, 1, "areas").await[0];
    let t = tile_at(x, y, 16);
    let mut fetched = vec![(t, fetch(&app, "areas", t).await.1)];
    for l in ["district", "town", "village", "grid", "unit", "label"] {
        fetched.push((t, fetch(&app, l, t).await.1));
    }
    let d = decode(&fetched);
    for (i, l) in ["district", "town", "village", "grid", "unit", "label"]
        .iter()
        .enumerate()
    {
        assert_eq!(d[0]["mvt"][l]["codes"], d[i + 1]["mvt"][l]["codes"], "{l}");
        assert!(
            !d[0]["mvt"][l]["codes"].as_array().unwrap().is_empty(),
            "{l} present at z16"
        );
    }
}

#[tokio::test]
async fn http_codings_etags_cors_and_empty_tiles() {
    let app = spawn_app(demo_db().await).await;
    ready(&app).await;
    let (x, y) = sample_points(&app, 5, 1, "http").await[0];
    let t = tile_at(x, y, 15);
    let url = app.url(&format!("/tiles/unit/{}/{}/{}.pbf", t.z, t.x, t.y));
    let plain = app.http.get(&url).send().await.unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(
        plain.headers()["content-type"],
        "application/vnd.mapbox-vector-tile"
    );
    assert!(plain.headers().get("content-encoding").is_none());
    let etag = plain.headers()["etag"].to_str().unwrap().to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "a strong ETag: {etag}"
    );
    let raw = plain.bytes().await.unwrap();
    assert!(raw.len() > 1000);

    let gz = app
        .http
        .get(&url)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let gz_etag = gz.headers()["etag"].to_str().unwrap().to_string();
    let mut back = Vec::new();
    flate2::read::GzDecoder::new(&gz.bytes().await.unwrap()[..])
        .read_to_end(&mut back)
        .unwrap();
    assert_eq!(back, raw);
    let br = app
        .http
        .get(&url)
        .header("Accept-Encoding", "gzip, deflate, br")
        .send()
        .await
        .unwrap();
    assert_eq!(br.headers()["content-encoding"], "br");
    let mut back = Vec::new();
    brotli::BrotliDecompress(&mut &br.bytes().await.unwrap()[..], &mut back).unwrap();
    assert_eq!(back, raw);

    // Revalidation.
    let r = app
        .http
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    assert!(r.bytes().await.unwrap().is_empty());
    let r = app
        .http
        .get(&url)
        .header("Accept-Encoding", "gzip")
        .header("If-None-Match", &gz_etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = app
        .http
        .get(&url)
        .header("If-None-Match", "\"0000000000000000\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // CORS for map clients on other origins.
    let r = app
        .http
        .get(&url)
        .header("Origin", "http://wall.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let r = app
        .http
        .request(reqwest::Method::OPTIONS, &url)
        .header("Origin", "http://wall.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert!(r.headers().contains_key("access-control-allow-methods"));

    // Empty tiles: below a layer's minzoom, and over the open ocean.
    let (status, body) = fetch(&app, "unit", tile_at(x, y, 10)).await;
    assert_eq!((status, body.len()), (204, 0));
    let (status, body) = fetch(&app, "district", TileId::new(10, 0, 0).unwrap()).await;
    assert_eq!((status, body.len()), (204, 0));
}

#[tokio::test]
async fn bad_tile_addresses_are_clear_4xx_errors() {
    let app = spawn_app(demo_db().await).await;
    ready(&app).await;
    let cases = [
        ("/tiles/unit/17/0/0", 400, "zoom_out_of_range"),
        ("/tiles/unit/99/0/0.mvt", 400, "zoom_out_of_range"),
        ("/tiles/unit/2/4/0", 400, "tile_out_of_range"),
        ("/tiles/unit/2/0/4.mvt", 400, "tile_out_of_range"),
        ("/tiles/unit/a/0/0", 400, "invalid_tile"),
        ("/tiles/unit/3/x/0", 400, "invalid_tile"),
        ("/tiles/unit/3/0/-1", 400, "invalid_tile"),
        ("/tiles/unit/3/%20/0", 400, "invalid_tile"),
        (
            "/tiles/unit/99999999999999999999999/0/0",
            400,
            "invalid_tile",
        ),
        ("/tiles/unit/3/0/0.png", 400, "unsupported_format"),
        ("/tiles/unit/3/0/0.mvt.gz", 400, "unsupported_format"),
        ("/tiles/units/3/0/0", 404, "unknown_layer"),
        ("/tiles/city/3/0/0.mvt", 404, "unknown_layer"),
        ("/tiles/nope", 404, "unknown_layer"),
        ("/tiles/unit/3/0", 404, "not_found"),
        ("/tiles/unit/3/0/0/1", 404, "not_found"),
    ];
    for (path, status, code) in cases {
        let (s, body) = app.get_json(path).await;
        let msg = assert_error(s, &body, status, code);
        assert!(
            msg.contains('(') && msg.chars().any(|c| c > '\u{2e80}'),
            "{path}: zh-CN with English: {msg}"
        );
    }
    let r = app
        .http
        .post(app.url("/tiles/unit/3/0/0"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
}

/// Stats from /tiles/stats.
async fn cache_stats(app: &TestApp) -> Value {
    app.get_json("/tiles/stats").await.1["cache"].clone()
}

#[tokio::test]
async fn an_edit_by_plain_sql_refreshes_exactly_the_affected_tiles() {
    let app = spawn_app(demo_db().await).await;
    ready(&app).await;
    // A unit, and a unit far from it.
    let r = sqlx::query(
        "SELECT code, ST_X(ST_PointOnSurface(geom)) AS x, ST_Y(ST_PointOnSurface(geom)) AS y FROM area
         WHERE level = 5 ORDER BY code OFFSET 60000 LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (code, x, y): (String, f64, f64) = (r.get("code"), r.get("x"), r.get("y"));
    let far: (f64, f64) = {
        let r = sqlx::query(
            "SELECT ST_X(p) AS x, ST_Y(p) AS y FROM (SELECT ST_PointOnSurface(geom) AS p FROM area WHERE level = 5) s
             ORDER BY ST_Distance(p, ST_SetSRID(ST_MakePoint($1, $2), 4326)) DESC LIMIT 1",
        )
        .bind(x)
        .bind(y)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        (r.get("x"), r.get("y"))
    };
    let near16 = tile_at(x, y, 16);
    let near14 = tile_at(x, y, 14);
    let far16 = tile_at(far.0, far.1, 16);
    let before: Vec<Vec<u8>> = {
        let mut v = Vec::new();
        for (l, t) in [
            ("unit", near16),
            ("unit", near14),
            ("grid", near14),
            ("unit", far16),
            ("areas", near16),
        ] {
            let (s, b) = fetch(&app, l, t).await;
            assert_eq!(s, 200, "{l} {t}");
            v.push(b);
        }
        v
    };
    let area_of = |d: &Value, code: &str| d["mvt"]["unit"]["areas"][code].as_f64();
    let dec = decode(&[(near16, before[0].clone())]);
    let old_area = area_of(&dec[0], &code).expect("the unit is in its tile");

    // Another tool shrinks the unit to a small square around its label point.
    let s0 = cache_stats(&app).await;
    let committed = Instant::now();
    sqlx::query(
        "UPDATE area SET geom = ST_Multi(ST_Envelope(ST_Buffer(ST_PointOnSurface(geom), 0.00002))) WHERE code = $1",
    )
    .bind(&code)
    .execute(&app.pool)
    .await
    .unwrap();
    let mut seen_after = None;
    while committed.elapsed() < Duration::from_secs(10) {
        let (_, b) = fetch(&app, "unit", near16).await;
        if b != before[0] {
            seen_after = Some((committed.elapsed(), b));
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (elapsed, after) = seen_after.expect("the edited unit's tile changes");
    eprintln!("the edit showed in its tile after {elapsed:?}");
    let dec = decode(&[(near16, after)]);
    let new_area = area_of(&dec[0], &code).expect("still in its tile");
    assert!(
        new_area < old_area / 4.0,
        "the unit shrank in the tile: {old_area} -> {new_area}"
    );

    // The z14 unit tile changed too; the grid tile (grids untouched) and the far tile did not,
    // and the far tile is still served from the cache.
    let (_, b) = fetch(&app, "unit", near14).await;
    assert_ne!(b, before[1], "z14 unit tile refreshed");
    let (_, b) = fetch(&app, "areas", near16).await;
    assert_ne!(b, before[4], "the combined source refreshed too");
    let s1 = cache_stats(&app).await;
    let (_, b) = fetch(&app, "grid", near14).await;
    assert_eq!(b, before[2]);
    let (_, b) = fetch(&app, "unit", far16).await;
    assert_eq!(b, before[3]);
    let s2 = cache_stats(&app).await;
    assert_eq!(
        s2["hits"].as_u64().unwrap() - s1["hits"].as_u64().unwrap(),
        2,
        "both were cache hits: {s1} {s2}"
    );
    assert_eq!(s2["misses"], s1["misses"]);
    let dropped = s2["invalidated"].as_u64().unwrap() - s0["invalidated"].as_u64().unwrap();
    assert!(
        dropped >= 2 && dropped < s0["entries"].as_u64().unwrap(),
        "dropped {dropped} of {}",
        s0["entries"]
    );
    assert_eq!(s2["cleared"], s0["cleared"], "no full clear");

    // Deleting it (a child-less unit) removes it from the tiles.
    sqlx::query("DELETE FROM area WHERE code = $1")
        .bind(&code)
        .execute(&app.pool)
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let (_, b) = fetch(&app, "unit", near16).await;
        let d = decode(&[(near16, b)]);
        if area_of(&d[0], &code).is_none() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the deleted unit stays in its tile"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
