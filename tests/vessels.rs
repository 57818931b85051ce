//! Vessel monitoring (issue #11) against a real PostGIS: hand-made tracks give the port
//! events Global Fishing Watch defines (a boat hovering between 3 and 4 km, timestamps out of
//! order, an implausible jump), checked against PostGIS's own distances; alerts for a closure,
//! a restricted zone and a boat gone dark; the live push; NMEA over HTTP and TCP with every
//! kind of junk; the registry and every bad request.

mod common;

use common::{TestApp, assert_error, demo_db, spawn_app};
use onemap::vessels::encode::{PositionReport, position_payload, sentences};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn fleet_app() -> TestApp {
    let db = demo_db().await;
    {
        let store = onemap::store::Store::connect(&db.url, 4).await.unwrap();
        store.migrate().await.unwrap();
        onemap::cli::vessels::demo_vessels(&store, 3503, false)
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

async fn post(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    send(app, reqwest::Method::POST, path, body).await
}

/// A point `m` metres from (lon, lat) on `bearing`.
fn offset(p: (f64, f64), bearing: f64, m: f64) -> (f64, f64) {
    onemap::vessels::demo::offset(p.0, p.1, bearing, m)
}

fn bearing(a: (f64, f64), b: (f64, f64)) -> f64 {
    let dx = (b.0 - a.0) * a.1.to_radians().cos();
    (dx.atan2(b.1 - a.1)).to_degrees()
}

/// A harbour with a fairway, away from the others (no other harbour within 12 km).
async fn lone_harbour(app: &TestApp) -> Value {
    let (_, h) = app.get_json("/api/harbours").await;
    let list = h["harbours"].as_array().unwrap().clone();
    let pt = |h: &Value| (h["lon"].as_f64().unwrap(), h["lat"].as_f64().unwrap());
    list.iter()
        .find(|a| {
            a["kind"] == "harbour"
                && list.iter().all(|b| {
                    b["id"] == a["id"]
                        || onemap::vessels::port::distance_m(pt(a).0, pt(a).1, pt(b).0, pt(b).1)
                            > 12_000.0
                })
        })
        .expect("a harbour 12 km from the others")
        .clone()
}

fn row(
    mmsi: i64,
    minute: i64,
    p: (f64, f64),
    speed: f64,
    t0: chrono::DateTime<chrono::Utc>,
) -> Value {
    json!({"mmsi": mmsi, "time": (t0 + chrono::Duration::minutes(minute)).to_rfc3339(),
           "lon": p.0, "lat": p.1, "speed": speed, "course": 90.0})
}

async fn events_of(app: &TestApp, mmsi: i64) -> Vec<Value> {
    let (s, v) = app
        .get_json(&format!("/api/vessels/events?mmsi={mmsi}&limit=100"))
        .await;
    assert_eq!(s, 200, "{v}");
    let mut list = v["events"].as_array().unwrap().clone();
    list.reverse();
    list
}

#[tokio::test]
async fn hand_made_tracks_give_the_port_events_and_postgis_agrees() {
    let app = fleet_app().await;
    let h = lone_harbour(&app).await;
    let hp = (h["lon"].as_f64().unwrap(), h["lat"].as_f64().unwrap());
    let fw = (
        h["fairway"]["lon"].as_f64().unwrap(),
        h["fairway"]["lat"].as_f64().unwrap(),
    );
    let out = bearing(hp, fw);
    let at = |m: f64| offset(hp, out, m);
    // A registered boat of this harbour.
    let (_, v) = app
        .get_json(&format!("/api/vessels?harbour={}&limit=1", h["id"]))
        .await;
    let mmsi = v["vessels"][0]["mmsi"].as_i64().unwrap();
    let t0 = chrono::Utc::now() - chrono::Duration::hours(6);
    // Berthed and stopped, then out to 3.5 km, back to 2.9, hovering at 3.9 and 3.95 km (in
    // port all along), out beyond 4 km, back to 3.9 and 3.1 (still out), then in at 2.5 km.
    let mut rows = vec![
        row(mmsi, 0, at(200.0), 0.0, t0),
        row(mmsi, 10, at(220.0), 0.1, t0),
    ];
    for (i, m) in [3500.0, 2900.0, 3900.0, 3950.0].iter().enumerate() {
        rows.push(row(mmsi, 20 + 10 * i as i64, at(*m), 4.0, t0));
    }
    rows.push(row(mmsi, 70, at(4200.0), 4.0, t0));
    // An old position sent late (out of order): stored, not used.
    rows.push(row(mmsi, 15, at(9000.0), 4.0, t0));
    rows.push(row(mmsi, 80, at(3900.0), 4.0, t0));
    // An implausible jump (60 km in 10 minutes): flagged.
    rows.push(row(mmsi, 90, offset(hp, out, 60_000.0), 4.0, t0));
    rows.push(row(mmsi, 100, at(3100.0), 4.0, t0));
    rows.push(row(mmsi, 110, at(2500.0), 3.0, t0));
    let (s, v) = post(&app, "/api/vessels/positions", &json!(rows)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["stored"], 12, "{v}");
    assert_eq!(v["out_of_order"], 1, "{v}");
    assert_eq!(v["flagged"], 1, "{v}");
    // The events, in order, as GFW defines them.
    let list = events_of(&app, mmsi).await;
    let kinds: Vec<&str> = list.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "port_entry",
            "stop_start",
            "stop_end",
            "port_exit",
            "port_entry"
        ],
        "{list:?}"
    );
    let exit = &list[3];
    assert_eq!(
        exit["detail"]["visit"], true,
        "the visit held a stop: {exit}"
    );
    assert_eq!(exit["harbour"]["id"], h["id"]);
    // PostGIS's distances (on the ellipsoid) of the positions where the boat entered and left.
    for (e, lo, hi) in [
        (&list[0], 0.0, 3000.0),
        (&list[3], 4000.0, 1e9),
        (&list[4], 0.0, 3000.0),
    ] {
        let d: f64 = sqlx::query_scalar(
            "SELECT ST_Distance(ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, point::geography)
               FROM harbour WHERE id = $3",
        )
        .bind(e["lon"].as_f64().unwrap())
        .bind(e["lat"].as_f64().unwrap())
        .bind(h["id"].as_i64().unwrap() as i32)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert!(d >= lo && d <= hi, "{} at {d} m: {e}", e["type"]);
    }
    // Every position in PostGIS: one in its day's partition, flagged where it should be.
    let (n, flagged): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE flagged) FROM vessel_position WHERE mmsi = $1",
    )
    .bind(mmsi as i32)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((n, flagged), (12, 1));
    // Its card, trip and track.
    let (_, card) = app.get_json(&format!("/api/vessels/{mmsi}")).await;
    assert_eq!(card["state"], "in_port", "{card}");
    assert_eq!(card["port"]["id"], h["id"]);
    assert!(
        card["owner"]["phone"].as_str().unwrap().contains("****"),
        "{card}"
    );
    let (_, trips) = app.get_json(&format!("/api/vessels/{mmsi}/trips")).await;
    let trips = trips["trips"].as_array().unwrap();
    assert_eq!(trips.len(), 1, "{trips:?}");
    assert_eq!(trips[0]["duration_s"], 40 * 60);
    let from = t0.to_rfc3339();
    let (s, track) = app
        .get(&format!(
            "/api/vessels/{mmsi}/track?from={}&zoom=18",
            urlencode(&from)
        ))
        .await
        .json::<Value>()
        .await
        .map(|v| (200, v))
        .unwrap();
    assert_eq!(s, 200);
    // Flagged positions are left out of tracks; the rest in time order.
    assert_eq!(track["properties"]["points"], 11, "{track}");
    let coords = track["geometry"]["coordinates"].as_array().unwrap();
    assert!(coords.len() >= 2 && coords.len() <= 11);
    assert_eq!(
        coords.len(),
        track["properties"]["times"].as_array().unwrap().len()
    );
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn closures_zones_and_silence_raise_alerts_pushed_live() {
    let app = fleet_app().await;
    let h = lone_harbour(&app).await;
    let hp = (h["lon"].as_f64().unwrap(), h["lat"].as_f64().unwrap());
    let fw = (
        h["fairway"]["lon"].as_f64().unwrap(),
        h["fairway"]["lat"].as_f64().unwrap(),
    );
    let out = bearing(hp, fw);
    let (_, v) = app
        .get_json(&format!("/api/vessels?harbour={}&limit=3", h["id"]))
        .await;
    let boats: Vec<i64> = v["vessels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["mmsi"].as_i64().unwrap())
        .collect();
    let mut stream = app.get("/api/stream?topics=alerts,vessels").await;
    assert_eq!(stream.status(), 200);
    let now = chrono::Utc::now();
    // A typhoon closure of this harbour, from an hour ago to tomorrow.
    let (s, c) = post(
        &app,
        "/api/vessels/closures",
        &json!({"name": "台风测试封港", "harbours": [h["id"]],
                "from": (now - chrono::Duration::hours(1)).to_rfc3339(),
                "to": (now + chrono::Duration::hours(24)).to_rfc3339(), "reason": "测试"}),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    // A restricted zone 10 km out.
    let z = offset(hp, out, 10_000.0);
    let d = 0.01;
    let (s, zv) = post(
        &app,
        "/api/vessels/zones",
        &json!({"name": "测试禁航区", "geometry": {"type": "Polygon", "coordinates": [[
            [z.0 - d, z.1 - d], [z.0 + d, z.1 - d], [z.0 + d, z.1 + d], [z.0 - d, z.1 + d], [z.0 - d, z.1 - d]]]}}),
    )
    .await;
    assert_eq!(s, 201, "{zv}");
    // The fleet reads closures and zones back through the change feed.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, z) = app.get_json("/api/vessels/zones").await;
        let (_, c) = app.get_json("/api/vessels/closures").await;
        let has_closure = c["closures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["name"] == "台风测试封港" && k["active"] == true);
        if has_closure && z["features"].as_array().unwrap().len() >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "closure and zone never read back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Boat 0 leaves port during the closure and sails into the zone.
    let t = |m: i64| now - chrono::Duration::minutes(30 - m);
    let b0 = boats[0];
    let rows: Vec<Value> = [
        (0, 300.0, 0.0),
        (5, 2000.0, 8.0),
        (10, 5000.0, 8.0),
        (20, 7500.0, 8.0),
        (25, 10_000.0, 4.0),
    ]
    .iter()
    .map(|(m, dist, kn)| {
        let p = offset(hp, out, *dist);
        json!({"mmsi": b0, "time": t(*m).to_rfc3339(), "lon": p.0, "lat": p.1, "speed": kn})
    })
    .collect();
    let (s, v) = post(&app, "/api/vessels/positions", &json!(rows)).await;
    assert_eq!(s, 200, "{v}");
    // Boat 1 at sea, last heard seven hours ago: dark.
    let b1 = boats[1];
    let far = offset(hp, out, 20_000.0);
    let (s, v) = post(
        &app,
        "/api/vessels/positions",
        &json!([{"mmsi": b1, "time": (now - chrono::Duration::hours(7)).to_rfc3339(),
                 "lon": far.0, "lat": far.1, "speed": 4.0}]),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let want = ["closure_departure", "zone_entry", "dark_at_sea"];
    // Dark once the boat has not been heard for a while by the wall clock, too.
    let deadline = Instant::now() + Duration::from_secs(40);
    let alerts = loop {
        let (_, a) = app.get_json("/api/vessels/alerts?state=open").await;
        let list = a["alerts"].as_array().unwrap().clone();
        if want.iter().all(|k| list.iter().any(|x| x["kind"] == *k)) {
            break list;
        }
        assert!(
            Instant::now() < deadline,
            "alerts never all raised: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let dep = alerts
        .iter()
        .find(|a| a["kind"] == "closure_departure")
        .unwrap();
    assert_eq!(dep["mmsi"], b0);
    assert_eq!(
        alerts.iter().find(|a| a["kind"] == "dark_at_sea").unwrap()["mmsi"],
        b1
    );
    assert_eq!(
        alerts.iter().find(|a| a["kind"] == "zone_entry").unwrap()["mmsi"],
        b0
    );
    // The dark transition is a stored vessel event.
    let kinds: Vec<String> = events_of(&app, b1)
        .await
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert!(kinds.contains(&"dark".to_string()), "{kinds:?}");
    // Alerts, boats and vessel events came live.
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(seen.contains("event: alert")
        && seen.contains("event: vessels")
        && seen.contains("event: vessel_event")
        && seen.contains("closure_departure"))
    {
        assert!(Instant::now() < deadline, "not all pushed live: {seen}");
        if let Ok(Ok(Some(chunk))) =
            tokio::time::timeout(Duration::from_secs(2), stream.chunk()).await
        {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    // Acknowledged once, not twice.
    let id = dep["id"].as_i64().unwrap();
    let (s, v) = post(
        &app,
        &format!("/api/vessels/alerts/{id}/ack"),
        &json!({"by": "值班员", "note": "已联系船长"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // Recorded under the signed-in account, whatever name the body gives.
    assert_eq!(v["acked_by"], "test-admin");
    let (s, v) = post(
        &app,
        &format!("/api/vessels/alerts/{id}/ack"),
        &json!({"by": "值班员"}),
    )
    .await;
    assert_error(s, &v, 409, "already_acknowledged");
    // Fire alerts do not list vessel alerts.
    let (_, f) = app.get_json("/api/fire/alerts?state=all").await;
    assert!(
        f["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["mmsi"].is_null())
    );
}

/// Sentences for a position now (tag-block time) of `mmsi` at (lon, lat).
fn sentence(mmsi: u32, p: (f64, f64), secs_ago: i64) -> String {
    let t = chrono::Utc::now().timestamp() - secs_ago;
    let r = PositionReport {
        mmsi,
        class_b: false,
        status: 0,
        lon: p.0,
        lat: p.1,
        speed_kn: 6.0,
        course: 90.0,
        heading: Some(90),
        second: 0,
    };
    sentences(&position_payload(&r), 'A', 0, Some(t)).remove(0)
}

fn with_checksum(body: &str) -> String {
    format!("!{body}*{:02X}", body.bytes().fold(0u8, |a, b| a ^ b))
}

#[tokio::test]
async fn nmea_over_http_and_tcp_counts_junk_and_keeps_the_good_lines() {
    let app = fleet_app().await;
    let (_, h) = app.get_json("/api/harbours").await;
    let h0 = &h["harbours"][0];
    let p = (
        h0["fairway"]["lon"].as_f64().unwrap(),
        h0["fairway"]["lat"].as_f64().unwrap(),
    );
    let good = sentence(412_499_001, p, 60);
    let mut bad_sum = good.clone();
    bad_sum.replace_range(bad_sum.len() - 2.., "00");
    let type4 = with_checksum("AIVDM,1,1,,A,403Ot`Qv>T<C>LC5VTfd<OO00<1N,0");
    let body = [
        good.clone(),
        bad_sum,
        good[..good.len() / 2].to_string(),
        "garbage line ∑ with no sentence".into(),
        type4,
        // An orphan second fragment.
        with_checksum("AIVDM,2,2,7,B,88888888880,2"),
        String::new(),
        sentence(413_999_001, offset(p, 90.0, 2000.0), 30),
    ]
    .join("\n");
    let r = app
        .http
        .post(app.url("/api/vessels/nmea"))
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["positions"], 2, "{v}");
    assert_eq!(v["stored"], 2, "{v}");
    assert_eq!(v["registered"], 2, "both unknown boats are registered: {v}");
    assert_eq!(v["errors"]["checksum"], 1, "{v}");
    assert!(v["errors"]["malformed"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(v["errors"]["not_ais"], 1, "{v}");
    assert_eq!(v["errors"]["unsupported"], 1, "{v}");
    assert_eq!(v["fragments_dropped"], 1, "{v}");
    let lines: Vec<u64> = v["bad_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 3, 4, 5], "{v}");
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM vessel_position WHERE mmsi IN (412499001, 413999001)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored, 2);
    let (_, unknown) = app.get_json("/api/vessels/413999001").await;
    assert_eq!(unknown["registered"], false, "{unknown}");
    assert_eq!(unknown["class"], "A", "{unknown}");
    // Registering it for real replaces the unregistered record.
    let (s, v) = post(
        &app,
        "/api/vessels",
        &json!({"mmsi": 413999001, "name": "闽莆渔99999", "class": "A", "ship_type": 30}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = post(
        &app,
        "/api/vessels",
        &json!({"mmsi": 413999001, "name": "again"}),
    )
    .await;
    assert_error(s, &v, 409, "vessel_exists");

    // TCP: a client sending junk and an overlong line, one stalling mid-line, one good.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(onemap::vessels::listen::serve_tcp(
        app.fleet.clone(),
        listener,
    ));
    let mut junk = tokio::net::TcpStream::connect(addr).await.unwrap();
    junk.write_all(&[0u8, 159, 146, 150, 255, b'\n'])
        .await
        .unwrap();
    junk.write_all(&vec![b'x'; 20_000]).await.unwrap();
    junk.write_all(b"\n!AIVDM,1,1,,A,zzzz,0*00\n")
        .await
        .unwrap();
    let mut stall = tokio::net::TcpStream::connect(addr).await.unwrap();
    stall.write_all(b"!AIVDM,1,1,,A,15M").await.unwrap();
    let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
    let moved = offset(p, 90.0, 3000.0);
    let lines: String = (0..50)
        .map(|i| sentence(412_499_001, offset(moved, 90.0, i as f64 * 10.0), 50 - i) + "\r\n")
        .collect();
    client.write_all(lines.as_bytes()).await.unwrap();
    client.flush().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, v) = app.get_json("/api/vessels/412499001").await;
        let lon = v["lon"].as_f64().unwrap_or(0.0);
        if lon > moved.0 + 0.004 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "TCP positions never arrived: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(client);
    drop(junk);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, v) = app.get_json("/api/vessels/ingest").await;
        if v["nmea"]["too_long"].as_u64().unwrap_or(0) >= 1
            && v["nmea"]["not_ais"].as_u64().unwrap_or(0) >= 2
        {
            assert!(v["tcp_clients_total"].as_u64().unwrap() >= 3, "{v}");
            assert!(v["positions_stored"].as_u64().unwrap() >= 52, "{v}");
            break;
        }
        assert!(Instant::now() < deadline, "junk never counted: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The stalled client holds nothing up and is still connected.
    let mut b = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(200), stall.read(&mut b))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn bad_requests_are_answered_in_the_api_format() {
    let app = fleet_app().await;
    let now = chrono::Utc::now();
    let ok = json!({"mmsi": 412410001, "time": now.to_rfc3339(), "lon": 119.2, "lat": 25.2});
    let rows = json!([
        {"mmsi": 12, "time": now.to_rfc3339(), "lon": 119.2, "lat": 25.2},
        {"mmsi": 412410001, "time": "yesterday", "lon": 119.2, "lat": 25.2},
        {"mmsi": 412410001, "time": (now + chrono::Duration::hours(2)).to_rfc3339(), "lon": 119.2, "lat": 25.2},
        {"mmsi": 412410001, "time": (now - chrono::Duration::days(400)).to_rfc3339(), "lon": 119.2, "lat": 25.2},
        {"mmsi": 412410001, "time": now.to_rfc3339(), "lon": 219.2, "lat": 25.2},
        {"mmsi": 412410001, "time": now.to_rfc3339(), "lat": 25.2},
        {"mmsi": 412410001, "time": now.to_rfc3339(), "lon": 119.2, "lat": 25.2, "speed": "NaN"},
        {"mmsi": 412410001, "time": now.to_rfc3339(), "lon": 119.2, "lat": 25.2, "course": 400},
        {"mmsi": 412410001, "time": now.to_rfc3339(), "lon": 119.2, "lat": 25.2, "colour": "red"},
        "not an object",
        ok,
    ]);
    let (s, v) = post(&app, "/api/vessels/positions", &rows).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["stored"], 1, "{v}");
    let codes: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "invalid_mmsi",
            "invalid_time",
            "invalid_time",
            "invalid_time",
            "invalid_position",
            "invalid_position",
            "invalid_value",
            "invalid_value",
            "malformed_row",
            "malformed_row"
        ],
        "{v}"
    );
    let (s, v) = post(&app, "/api/vessels/positions", &json!([rows[0]])).await;
    assert_error(s, &v, 400, "no_valid_positions");
    assert_eq!(v["error"]["errors"][0]["code"], "invalid_mmsi");
    let (s, v) = post(&app, "/api/vessels/positions", &json!([])).await;
    assert_error(s, &v, 400, "empty_batch");
    let big: Vec<Value> = (0..50_001).map(|_| json!({})).collect();
    let (s, v) = post(&app, "/api/vessels/positions", &json!(big)).await;
    assert_error(s, &v, 413, "too_many_positions");
    let r = app
        .http
        .post(app.url("/api/vessels/positions"))
        .body("{nope")
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    assert_error(s, &r.json().await.unwrap(), 400, "malformed_json");
    let lines = "x\n".repeat(100_001);
    let r = app
        .http
        .post(app.url("/api/vessels/nmea"))
        .body(lines)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    assert_error(s, &r.json().await.unwrap(), 413, "too_many_lines");
    // The registry.
    let (s, v) = post(
        &app,
        "/api/vessels",
        &json!({"mmsi": 41, "class": "C", "length_m": -3, "harbour": 9999, "village": "350304"}),
    )
    .await;
    let m = assert_error(s, &v, 400, "invalid_vessel");
    assert!(
        m.contains("mmsi") && m.contains("class") && m.contains("length_m"),
        "{m}"
    );
    let (s, v) = post(
        &app,
        "/api/vessels",
        &json!({"mmsi": 412777777, "harbour": 9999, "village": "350304"}),
    )
    .await;
    let paths: Vec<&str> = v["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!((s, paths), (400, vec!["harbour", "village"]), "{v}");
    let (s, v) = post(
        &app,
        "/api/vessels",
        &json!({"mmsi": 412777777, "tonnage": 3}),
    )
    .await;
    assert_error(s, &v, 422, "invalid_body");
    let (_, card) = app.get_json("/api/vessels/412410001").await;
    let mut edit = card.clone();
    edit["name"] = json!("闽莆渔改名");
    for k in [
        "state",
        "state_name",
        "stopped",
        "lon",
        "lat",
        "speed_kn",
        "course",
        "heading",
        "at",
        "age_s",
        "port",
        "masked",
        "town",
        "district",
        "updated_at",
        "last",
        "trip",
        "ais",
        "ship_type_name",
    ] {
        edit.as_object_mut().unwrap().remove(k);
    }
    edit["village"] = card["village"]["code"].clone();
    let (s, v) = send(&app, reqwest::Method::PUT, "/api/vessels/412410001", &edit).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["name"], "闽莆渔改名");
    // The masked phone sent back kept the real one.
    let phone: String = sqlx::query_scalar("SELECT owner_phone FROM vessel WHERE mmsi = 412410001")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!phone.contains('*'));
    let (s, v) = send(&app, reqwest::Method::PUT, "/api/vessels/412410001", &edit).await;
    assert_error(s, &v, 409, "version_conflict");
    for (path, status, code) in [
        ("/api/vessels/123", 404, "vessel_not_found"),
        ("/api/vessels/499999999", 404, "vessel_not_found"),
        ("/api/vessels?state=sailing", 400, "invalid_parameter"),
        ("/api/vessels?harbour=9999", 400, "unknown_harbour"),
        ("/api/vessels?bbox=1,2,3", 400, "invalid_bbox"),
        ("/api/vessels?area=999", 400, "unknown_area"),
        ("/api/vessels?limit=0", 400, "out_of_range"),
        (
            "/api/vessels/412410001/track?from=2026-01-01&to=2026-03-01",
            400,
            "invalid_range",
        ),
        (
            "/api/vessels/412410001/track?from=soon",
            400,
            "invalid_time",
        ),
        ("/api/vessels/events?type=sinking", 400, "invalid_parameter"),
        ("/api/vessels/stats?level=grid", 400, "invalid_parameter"),
        ("/api/vessels/alerts?kind=fire", 400, "invalid_parameter"),
    ] {
        let (s, v) = app.get_json(path).await;
        assert_error(s, &v, status, code);
    }
    let (s, v) = post(
        &app,
        "/api/vessels/closures",
        &json!({"name": "x", "harbours": [9999], "from": now.to_rfc3339(), "to": now.to_rfc3339()}),
    )
    .await;
    assert_error(s, &v, 400, "invalid_closure");
    let (s, v) = post(&app, "/api/vessels/closures", &json!({"name": "x", "from": now.to_rfc3339(), "to": (now - chrono::Duration::hours(1)).to_rfc3339()})).await;
    assert_error(s, &v, 400, "invalid_closure");
    let bowtie = json!({"name": "z", "geometry": {"type": "Polygon", "coordinates": [[[119.0, 25.0], [119.1, 25.1], [119.1, 25.0], [119.0, 25.1], [119.0, 25.0]]]}});
    let (s, v) = post(&app, "/api/vessels/zones", &bowtie).await;
    assert_error(s, &v, 400, "invalid_zone");
    let (s, v) = post(
        &app,
        "/api/vessels/zones",
        &json!({"name": "z", "geometry": {"type": "Point", "coordinates": [1, 2]}}),
    )
    .await;
    assert_error(s, &v, 400, "invalid_zone");
    // Statistics per town follow the registry.
    let (_, st) = app.get_json("/api/vessels/stats").await;
    let total: u64 = st["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["vessels"].as_u64().unwrap())
        .sum();
    let registered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM vessel WHERE village_code IS NOT NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(total as i64, registered);
    let hs = st["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == onemap::vessels::demo::HUANGSHI)
        .unwrap();
    assert_eq!(hs["vessels"], 320, "{hs}");
}

#[tokio::test]
async fn the_simulated_day_sails_into_the_tcp_listener_and_raises_its_closure_alert() {
    let app = fleet_app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(onemap::vessels::listen::serve_tcp(
        app.fleet.clone(),
        listener,
    ));
    // A whole day at 3600×: 24 seconds.
    let args = onemap::cli::vessels::SimulateVesselsArgs {
        url: app.url(""),
        token: Some(app.token.clone()),
        to: addr.to_string(),
        count: 80,
        speed: 3600,
        seed: 3503,
        no_closure: false,
    };
    let sim = tokio::spawn(onemap::cli::vessels::simulate_vessels(args));
    tokio::time::sleep(Duration::from_secs(30)).await;
    sim.abort();
    let (_, stats) = app.get_json("/api/vessels/ingest").await;
    assert!(
        stats["positions_stored"].as_u64().unwrap() > 20_000,
        "{stats}"
    );
    // Corrupted sentences were counted, not fatal.
    let bad = stats["nmea"]["checksum"].as_u64().unwrap()
        + stats["nmea"]["malformed"].as_u64().unwrap()
        + stats["nmea"]["not_ais"].as_u64().unwrap();
    assert!(bad > 0, "{stats}");
    let (exits, entries): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE type = 'port_exit'), count(*) FILTER (WHERE type = 'port_entry')
           FROM vessel_event",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // Dawn departures and afternoon returns of most of the 80 boats.
    assert!(
        exits > 40 && entries > 80,
        "exits {exits}, entries {entries}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, a) = app
            .get_json("/api/vessels/alerts?kind=closure_departure")
            .await;
        if !a["alerts"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closure was never broken: {a}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, v) = app.get_json("/api/vessels?state=in_port&limit=1").await;
    assert!(v["count"].as_u64().unwrap() > 0, "{v}");
}

#[tokio::test]
async fn days_past_the_retention_are_dropped() {
    let app = fleet_app().await;
    let old = chrono::Utc::now().date_naive() - chrono::Days::new(200);
    app.store.ensure_position_days(&[old]).await.unwrap();
    let at = old
        .and_hms_opt(6, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis();
    let row = onemap::store::vessels::PositionRow {
        mmsi: 412_410_001,
        at_ms: at,
        lon: 119.3,
        lat: 25.1,
        speed_kn: None,
        course: None,
        heading: None,
        source: "ais",
        flagged: false,
    };
    app.store.write_positions(&[], &[row], &[]).await.unwrap();
    let keep = chrono::Utc::now().date_naive() - chrono::Days::new(90);
    let dropped = app.store.drop_position_days_before(keep).await.unwrap();
    assert_eq!(
        dropped,
        [format!("vessel_position_{}", old.format("%Y%m%d"))]
    );
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM vessel_position WHERE mmsi = 412410001")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}
