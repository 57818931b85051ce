//! Every tile source answers alike: the test reads the catalog from the server and, for each
//! source listed there (so a source added later is covered without editing this file), checks
//! TileJSON, a tile with data in every content coding (br, gzip, identity, by q-value), ETag
//! revalidation including `If-None-Match: *`, HEAD, CORS, 204 for an empty tile, and the
//! error answers for bad addresses and unknown sources.

mod common;

use common::{TestApp, assert_error, demo_db, spawn_app};
use geozero::mvt::{Message, Tile};
use onemap::tiles::tile_id::TileId;
use serde_json::Value;
use std::io::Read;
use std::time::{Duration, Instant};

const MVT: &str = "application/vnd.mapbox-vector-tile";

/// One event at a point inside every grid, reported a day ago, with its chain of areas.
const EVENTS_SQL: &str = "
INSERT INTO event (category, source, geom, reported_at, assigned, grid_code, village_code,
                   town_code, district_code, status, deadline)
SELECT 'traffic', 'patrol', ST_PointOnSurface(g.geom), now() - interval '1 day', true,
       g.code, v.code, t.code, t.parent_code, 'reported', now() + interval '1 day'
  FROM area g JOIN area v ON v.code = g.parent_code JOIN area t ON t.code = v.parent_code
 WHERE g.level = 4";

/// The demo city with events, once every source says it is loaded.
async fn app_with_events() -> TestApp {
    let app = spawn_app(demo_db().await).await;
    let n = sqlx::query(EVENTS_SQL)
        .execute(&app.pool)
        .await
        .unwrap()
        .rows_affected() as usize;
    assert!(n > 100, "{n} events planted");
    // The fire layers' assets (issue #12), so their sources have tiles to check too.
    onemap::cli::fire::demo_assets(&app.store, 3503, false)
        .await
        .unwrap();
    // The demo fleet (issue #11), each boat at its harbour, so the vessel sources have tiles.
    onemap::cli::vessels::demo_vessels(&app.store, 3503, false)
        .await
        .unwrap();
    let started = Instant::now();
    let mut boats_placed = false;
    loop {
        let (_, cat) = app.get_json("/tiles").await;
        let (_, ready) = app.get_json("/readyz").await;
        if !boats_placed && ready["vessels"]["vessels"].as_u64() > Some(0) {
            let (_, h) = app.get_json("/api/harbours").await;
            let (_, v) = app.get_json("/api/vessels?limit=100000").await;
            let now = chrono::Utc::now().to_rfc3339();
            let rows: Vec<Value> = v["vessels"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|b| {
                    let hb = h["harbours"].as_array()?.iter().find(|x| x["id"] == b["harbour"]["id"])?;
                    Some(serde_json::json!({"mmsi": b["mmsi"], "time": now, "lon": hb["lon"], "lat": hb["lat"], "speed": 0}))
                })
                .collect();
            let r = app
                .http
                .post(app.url("/api/vessels/positions"))
                .json(&rows)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            boats_placed = true;
        }
        if cat["loaded"] == true
            && app.analytics.stats().events == n
            && ready["fire"]["assets"].as_u64() > Some(0)
            && boats_placed
            && app.fleet.dots().0.len() > 100
        {
            return app;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the tile sources never loaded: {cat}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn tile_at(lon: f64, lat: f64, z: u8) -> TileId {
    TileId::containing(z, lon, lat).unwrap()
}

fn path(id: &str, t: TileId, ext: &str) -> String {
    format!("/tiles/{id}/{}/{}/{}{ext}", t.z, t.x, t.y)
}

/// GET `url` with `headers`.
async fn get(app: &TestApp, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut r = app.http.get(app.url(url));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap()
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).map(|v| v.to_str().unwrap())
}

/// A tile of `id` with data: the first of a 9 × 9 sample of the source's bounds that is not
/// empty, at its minzoom or z12, whichever is deeper.
async fn tile_with_data(app: &TestApp, id: &str, tj: &Value) -> TileId {
    let b: Vec<f64> = (0..4).map(|i| tj["bounds"][i].as_f64().unwrap()).collect();
    let min = tj["minzoom"].as_u64().unwrap() as u8;
    let z = min.max(12).min(tj["maxzoom"].as_u64().unwrap() as u8);
    // Sparse point layers (fire stations, sensors) may miss the sample at z12: then the same
    // sample at the source's least zoom, where a few tiles span the city.
    for z in [z, min] {
        for i in 0..9 {
            for j in 0..9 {
                let lon = b[0] + (b[2] - b[0]) * (i as f64 + 0.5) / 9.0;
                let lat = b[1] + (b[3] - b[1]) * (j as f64 + 0.5) / 9.0;
                let t = tile_at(lon, lat, z);
                if app.get(&path(id, t, ".mvt")).await.status() == 200 {
                    return t;
                }
            }
        }
    }
    panic!("{id}: no tile with data at z{z} or z{min} within {b:?}");
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn unbrotli(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &b[..], &mut out).unwrap();
    out
}

/// The codings negotiated for each Accept-Encoding (None: identity).
const NEGOTIATION: &[(&str, Option<&str>)] = &[
    ("br", Some("br")),
    ("gzip", Some("gzip")),
    ("identity", None),
    ("gzip, deflate, br, zstd", Some("br")),
    ("br;q=0, gzip;q=1", Some("gzip")),
    ("gzip;q=1, br;q=0.5", Some("gzip")),
    ("br;q=0.8, gzip;q=0.5", Some("br")),
    ("*", Some("br")),
    ("*;q=0, identity", None),
    ("*;q=0.5, br;q=0", Some("gzip")),
    ("deflate", None),
];

async fn check_tile(app: &TestApp, id: &str, t: TileId) {
    let url = path(id, t, ".mvt");
    let plain = get(app, &url, &[]).await;
    assert_eq!(plain.status(), 200, "{id}: {url}");
    assert_eq!(header(&plain, "content-type"), Some(MVT), "{id}");
    assert_eq!(header(&plain, "content-encoding"), None, "{id}");
    // Private: a tile is cut to the caller's scope.
    assert_eq!(
        header(&plain, "cache-control"),
        Some("private, no-cache"),
        "{id}"
    );
    assert_eq!(header(&plain, "vary"), Some("accept-encoding"), "{id}");
    let etag = header(&plain, "etag").unwrap().to_string();
    assert!(
        etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
        "{id}: a strong ETag: {etag}"
    );
    let raw = plain.bytes().await.unwrap();
    let tile = Tile::decode(&raw[..]).unwrap_or_else(|e| panic!("{id}: not an MVT: {e}"));
    assert!(
        tile.layers.iter().any(|l| !l.features.is_empty()),
        "{id}: a 200 tile holds features"
    );
    // The other spellings of the address give the same tile.
    for ext in [".pbf", ""] {
        let r = get(app, &path(id, t, ext), &[]).await;
        assert_eq!(r.status(), 200, "{id} {ext}");
        assert_eq!(header(&r, "etag"), Some(etag.as_str()), "{id} {ext}");
    }

    // Every coding decodes to the identity body, each with its own ETag that revalidates.
    for &(accept, want) in NEGOTIATION {
        let r = get(app, &url, &[("accept-encoding", accept)]).await;
        assert_eq!(r.status(), 200, "{id}: {accept}");
        assert_eq!(header(&r, "content-encoding"), want, "{id}: {accept}");
        assert_eq!(header(&r, "content-type"), Some(MVT), "{id}: {accept}");
        let coded_etag = header(&r, "etag").unwrap().to_string();
        assert_eq!(
            coded_etag == etag,
            want.is_none(),
            "{id}: {accept}: {coded_etag}"
        );
        let body = r.bytes().await.unwrap();
        let back = match want {
            Some("br") => unbrotli(&body),
            Some("gzip") => gunzip(&body),
            _ => body.to_vec(),
        };
        assert!(back == raw, "{id}: {accept}: decodes to the identity body");
        let r = get(
            app,
            &url,
            &[("accept-encoding", accept), ("if-none-match", &coded_etag)],
        )
        .await;
        assert_eq!(r.status(), 304, "{id}: {accept}: revalidation");
    }

    // Revalidation: the ETag, a list holding it, `*`; a stale ETag gets the tile.
    for inm in [
        etag.clone(),
        format!("\"0000000000000000\", {etag}"),
        format!("W/{etag}"),
        "*".to_string(),
    ] {
        let r = get(app, &url, &[("if-none-match", &inm)]).await;
        assert_eq!(r.status(), 304, "{id}: If-None-Match: {inm}");
        assert_eq!(header(&r, "etag"), Some(etag.as_str()), "{id}: {inm}");
        assert!(r.bytes().await.unwrap().is_empty(), "{id}: 304 has no body");
    }
    let r = get(app, &url, &[("if-none-match", "\"0000000000000000\"")]).await;
    assert_eq!(r.status(), 200, "{id}: a stale ETag");

    // HEAD: the headers of GET, no body.
    let r = app.http.head(app.url(&url)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{id}: HEAD");
    assert_eq!(header(&r, "content-type"), Some(MVT), "{id}: HEAD");
    assert_eq!(header(&r, "etag"), Some(etag.as_str()), "{id}: HEAD");
    assert!(
        r.bytes().await.unwrap().is_empty(),
        "{id}: HEAD has no body"
    );
    let r = app
        .http
        .head(app.url(&url))
        .header("if-none-match", "*")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304, "{id}: HEAD with If-None-Match: *");

    // CORS, for map clients on other origins.
    let r = get(app, &url, &[("origin", "http://wall.example")]).await;
    assert_eq!(
        header(&r, "access-control-allow-origin"),
        Some("*"),
        "{id}: CORS"
    );
    let r = app
        .http
        .request(reqwest::Method::OPTIONS, app.url(&url))
        .header("origin", "http://wall.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{id}: CORS preflight");
    assert!(
        r.headers().contains_key("access-control-allow-methods"),
        "{id}: CORS preflight"
    );
}

async fn check_errors(app: &TestApp, id: &str) {
    let cases = [
        (format!("/tiles/{id}/17/0/0"), 400, "zoom_out_of_range"),
        (format!("/tiles/{id}/99/0/0.mvt"), 400, "zoom_out_of_range"),
        (format!("/tiles/{id}/2/4/0"), 400, "tile_out_of_range"),
        (format!("/tiles/{id}/2/0/4.pbf"), 400, "tile_out_of_range"),
        (format!("/tiles/{id}/a/0/0"), 400, "invalid_tile"),
        (format!("/tiles/{id}/3/x/0"), 400, "invalid_tile"),
        (format!("/tiles/{id}/3/0/-1"), 400, "invalid_tile"),
        (format!("/tiles/{id}/3/0/0.png"), 400, "unsupported_format"),
        (
            format!("/tiles/{id}/3/0/0.mvt.gz"),
            400,
            "unsupported_format",
        ),
        (format!("/tiles/{id}/3/0"), 404, "not_found"),
    ];
    for (url, status, code) in cases {
        let (s, body) = app.get_json(&url).await;
        let msg = assert_error(s, &body, status, code);
        assert!(
            msg.contains('(') && msg.chars().any(|c| c > '\u{2e80}'),
            "{url}: zh-CN with English: {msg}"
        );
    }
    let r = app
        .http
        .post(app.url(&format!("/tiles/{id}/3/0/0")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405, "{id}: POST");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_source_in_the_catalog_answers_alike() {
    let app = app_with_events().await;
    let r = get(&app, "/tiles", &[("host", "tiles.example:9000")]).await;
    assert_eq!(r.status(), 200);
    let cat: Value = r.json().await.unwrap();
    let layers = cat["layers"].as_array().unwrap();
    let ids: Vec<String> = layers
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();
    // The sources of today, at least; a later one joins the loop below by itself.
    for want in ["district", "unit", "label", "areas", "events"] {
        assert!(ids.iter().any(|i| i == want), "{want} in {ids:?}");
    }
    for l in layers {
        let id = l["id"].as_str().unwrap();
        eprintln!("checking tile source {id}");
        assert_eq!(
            l["tilejson"],
            format!("http://tiles.example:9000/tiles/{id}"),
            "{id}"
        );
        assert_eq!(
            l["tiles"],
            format!("http://tiles.example:9000/tiles/{id}/{{z}}/{{x}}/{{y}}.mvt"),
            "{id}"
        );
        assert_eq!(l["loaded"], true, "{id}");

        // TileJSON, at both spellings.
        let (s, tj) = app.get_json(&format!("/tiles/{id}")).await;
        assert_eq!(s, 200, "{id}: {tj}");
        assert_eq!(app.get_json(&format!("/tiles/{id}.json")).await.1, tj);
        assert_eq!(tj["tilejson"], "3.0.0", "{id}");
        assert_eq!(tj["minzoom"], l["minzoom"], "{id}");
        assert_eq!(tj["maxzoom"], l["maxzoom"], "{id}");
        assert!(
            tj["tiles"][0]
                .as_str()
                .unwrap()
                .ends_with(&format!("/tiles/{id}/{{z}}/{{x}}/{{y}}.mvt")),
            "{id}: {}",
            tj["tiles"]
        );
        let vl: Vec<&str> = tj["vector_layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap())
            .collect();
        assert!(!vl.is_empty(), "{id}: vector_layers");
        assert_eq!(l["layers"], serde_json::json!(vl), "{id}");
        let b: Vec<f64> = (0..4).map(|i| tj["bounds"][i].as_f64().unwrap()).collect();
        assert!(b[0] < b[2] && b[1] < b[3], "{id}: bounds {b:?}");

        let t = tile_with_data(&app, id, &tj).await;
        eprintln!("  {id}: tile {t} has data");
        check_tile(&app, id, t).await;

        // An empty tile (the open Pacific, far from the city) is 204 with no body.
        let z = (tj["minzoom"].as_u64().unwrap() as u8).max(10);
        let sea = TileId::new(z as u64, 0, 0).unwrap();
        let r = get(&app, &path(id, sea, ".mvt"), &[("accept-encoding", "br")]).await;
        assert_eq!(r.status(), 204, "{id}: empty tile");
        assert_eq!(header(&r, "content-encoding"), None, "{id}: empty tile");
        assert!(r.bytes().await.unwrap().is_empty(), "{id}: empty tile");

        check_errors(&app, id).await;
    }

    // Unknown sources: JSON 404 naming the ones there are.
    for url in [
        "/tiles/no-such-source",
        "/tiles/no-such-source.json",
        "/tiles/no-such-source/3/0/0",
        "/tiles/no-such-source/3/0/0.mvt",
    ] {
        let (s, body) = app.get_json(url).await;
        let msg = assert_error(s, &body, 404, "unknown_layer");
        assert!(
            msg.contains("events") && msg.contains("unit"),
            "{url}: names the sources: {msg}"
        );
    }
}
