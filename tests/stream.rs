//! The live stream (`GET /api/stream`, server-sent events) against a real PostGIS: reports and
//! transitions reach the streams of their subtree and no other, the figures equal the
//! statistics API, `Last-Event-ID` replays or resets, bad requests and limits are answered in
//! the API's format, a client that does not read is dropped while others get everything, and
//! a stopping server ends its streams. No mocks, no timing assertions (the waits are limits).

mod common;

use common::{TestApp, assert_error, demo_db, spawn_app, spawn_app_with_config};
use onemap::app::{App, AppConfig};
use onemap::live::LiveConfig;
use serde_json::{Value, json};
use std::time::Duration;

/// How long a test waits for something that should come within a second or two.
const WAIT: Duration = Duration::from_secs(20);

/// One SSE frame.
#[derive(Debug, Clone)]
struct Frame {
    id: Option<String>,
    event: String,
    data: Value,
}

/// A stream read frame by frame.
struct Sse {
    resp: reqwest::Response,
    buf: Vec<u8>,
}

impl Sse {
    async fn open(app: &TestApp, query: &str, last_id: Option<&str>) -> Sse {
        let mut r = app.http.get(app.url(&format!("/api/stream{query}")));
        if let Some(id) = last_id {
            r = r.header("Last-Event-ID", id);
        }
        let resp = r.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "opening {query}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        Sse {
            resp,
            buf: Vec::new(),
        }
    }

    /// The next frame within `limit`, or `None`.
    async fn next_within(&mut self, limit: Duration) -> Option<Frame> {
        let until = tokio::time::Instant::now() + limit;
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let raw: Vec<u8> = self.buf.drain(..end + 2).collect();
                let raw = String::from_utf8(raw).expect("frames are UTF-8");
                let mut f = Frame {
                    id: None,
                    event: "message".into(),
                    data: Value::Null,
                };
                for line in raw.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        f.id = Some(v.to_string());
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        f.event = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        f.data = serde_json::from_str(v).expect("data is JSON");
                    }
                }
                return Some(f);
            }
            let chunk = tokio::time::timeout_at(until, self.resp.chunk())
                .await
                .ok()?;
            match chunk.unwrap() {
                Some(bytes) => self.buf.extend_from_slice(&bytes),
                None => return None,
            }
        }
    }

    /// Frames until one of type `event` that `pick` accepts (others skipped); panics after `WAIT`.
    async fn until(&mut self, event: &str, pick: impl Fn(&Frame) -> bool) -> Frame {
        let until = tokio::time::Instant::now() + WAIT;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            let f = self
                .next_within(left)
                .await
                .unwrap_or_else(|| panic!("no `{event}` frame within {WAIT:?}"));
            if f.event == event && pick(&f) {
                return f;
            }
        }
    }
}

fn has_event(f: &Frame, id: i64) -> bool {
    f.data["events"]
        .as_array()
        .is_some_and(|a| a.iter().any(|e| e["id"] == id))
}

/// The event ids of an `events` frame.
fn ids_in(f: &Frame) -> Vec<i64> {
    f.data["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect()
}

fn event_of(f: &Frame, id: i64) -> Value {
    f.data["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .cloned()
        .unwrap()
}

/// Points inside `n` units spread over the city, with their assignment chain.
async fn places(app: &TestApp, n: i64) -> Vec<(f64, f64, Value)> {
    let pts: Vec<(f64, f64)> = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (
           SELECT ST_PointOnSurface(geom) AS p,
                  row_number() OVER (ORDER BY code) AS k, count(*) OVER () AS total
             FROM area WHERE level = 5) s
          WHERE k % (total / $1) = 0 ORDER BY k LIMIT $1",
    )
    .bind(n)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    for (x, y) in pts {
        let (_, a) = app.get_json(&format!("/api/assign?lon={x}&lat={y}")).await;
        out.push((x, y, a));
    }
    out
}

async fn report(app: &TestApp, events: Value) -> Vec<i64> {
    let r = app
        .http
        .post(app.url("/api/events"))
        .json(&events)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let body: Value = r.json().await.unwrap();
    match body.get("events") {
        Some(list) => list
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect(),
        None => vec![body["id"].as_i64().unwrap()],
    }
}

fn one(x: f64, y: f64, category: &str) -> Value {
    json!({"category": category, "source": "hotline", "lon": x, "lat": y, "description": "实时推送测试"})
}

#[tokio::test]
async fn reports_and_transitions_reach_the_streams_of_their_subtree_only() {
    let app = spawn_app(demo_db().await).await;
    let spots = places(&app, 40).await;
    let (x, y, chain) = spots[0].clone();
    let town = chain["town"]["code"].as_str().unwrap().to_string();
    let other = spots
        .iter()
        .find(|(_, _, c)| c["town"]["code"] != town.as_str())
        .map(|(_, _, c)| c["town"]["code"].as_str().unwrap().to_string())
        .expect("the sample spans two towns");

    let mut city = Sse::open(&app, "?topics=events", None).await;
    let mut mine = Sse::open(&app, &format!("?topics=events&area={town}"), None).await;
    let mut theirs = Sse::open(&app, &format!("?topics=events&area={other}"), None).await;
    for s in [&mut city, &mut mine, &mut theirs] {
        let hello = s.until("hello", |_| true).await;
        assert_eq!(hello.data["topics"], json!(["events"]));
    }

    let id = report(&app, one(x, y, "environment")).await[0];
    let got = city.until("events", |f| has_event(f, id)).await;
    assert!(got.id.is_some(), "events frames carry an id for replays");
    let ev = event_of(&got, id);
    // The message says what the event API says.
    let (_, detail) = app.get_json(&format!("/api/events/{id}")).await;
    assert_eq!(ev["kind"], "reported");
    assert_eq!(ev["status"], "reported");
    assert_eq!(ev["category"], detail["category"]);
    for level in ["district", "town", "village", "grid", "unit"] {
        assert_eq!(ev[level]["code"], chain[level]["code"], "{level}");
        assert_eq!(ev[level]["name"], chain[level]["name"], "{level}");
    }
    assert_eq!(ev["lon"].as_f64().unwrap(), x);
    mine.until("events", |f| has_event(f, id)).await;

    // A transition is an update.
    let r = app
        .http
        .post(app.url(&format!("/api/events/{id}/transitions")))
        .json(&json!({"to": "accepted", "actor": "街道"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let got = mine
        .until("events", |f| {
            has_event(f, id) && event_of(f, id)["status"] == "accepted"
        })
        .await;
    assert_eq!(event_of(&got, id)["kind"], "updated");
    assert_eq!(event_of(&got, id)["status_label"], "已受理");

    // The other town's stream heard of neither: everything it got by now is elsewhere.
    while let Some(f) = theirs.next_within(Duration::from_secs(2)).await {
        if f.event == "events" {
            assert!(
                !has_event(&f, id),
                "an event of {town} reached {other}'s stream"
            );
            for e in f.data["events"].as_array().unwrap() {
                assert_eq!(e["town"]["code"], other.as_str());
            }
        }
    }
}

/// The statistics API's figures for `area`, as the stream's `kpi` message states them.
async fn kpi_oracle(app: &TestApp, area: Option<&str>) -> Value {
    let [today, month, all] = onemap::events::analytics::kpi::windows(onemap::time::now_us());
    let parent = area.map(|a| format!("&parent={a}")).unwrap_or_default();
    let total = |from: String| {
        let path = format!("/api/stats/areas?level=district&from={from}{parent}");
        async move {
            let (s, body) = app.get_json(&path).await;
            assert_eq!(s, 200, "{path}: {body}");
            body["total"].clone()
        }
    };
    let (t, m, a) = (total(today).await, total(month).await, total(all).await);
    json!({
        "today": t["count"], "open": a["open"], "overdue": a["overdue"],
        "month": {"count": m["count"], "closed": m["closed"], "closure_rate": m["closure_rate"],
                  "avg_handling_hours": m["avg_handling_hours"]},
    })
}

fn figures(kpi: &Value) -> Value {
    json!({"today": kpi["today"], "open": kpi["open"], "overdue": kpi["overdue"], "month": kpi["month"]})
}

#[tokio::test]
async fn figures_equal_the_statistics_api_and_follow_new_reports() {
    let app = spawn_app(demo_db().await).await;
    let spots = places(&app, 10).await;
    let (x, y, chain) = spots[3].clone();
    let town = chain["town"]["code"].as_str().unwrap().to_string();
    for area in [None, Some(town.as_str())] {
        let q = area.map(|a| format!("&area={a}")).unwrap_or_default();
        let mut s = Sse::open(&app, &format!("?topics=kpi{q}"), None).await;
        let first = s.until("kpi", |_| true).await;
        assert_eq!(first.data["area"], json!(area));
        assert_eq!(
            figures(&first.data),
            kpi_oracle(&app, area).await,
            "area {area:?}"
        );

        let before = first.data["today"].as_u64().unwrap();
        report(&app, json!([one(x, y, "traffic"), one(x, y, "dispute")])).await;
        let next = s
            .until("kpi", |f| f.data["today"].as_u64() >= Some(before + 2))
            .await;
        assert_eq!(next.data["today"].as_u64(), Some(before + 2));
        assert_eq!(
            figures(&next.data),
            kpi_oracle(&app, area).await,
            "area {area:?}"
        );
    }
}

#[tokio::test]
async fn last_event_id_replays_what_was_missed_or_says_reset() {
    let app = spawn_app(demo_db().await).await;
    let spots = places(&app, 10).await;
    let (x, y, _) = spots[1].clone();
    let mut s = Sse::open(&app, "?topics=events", None).await;
    let id1 = report(&app, one(x, y, "traffic")).await[0];
    let seen = s.until("events", |f| has_event(f, id1)).await;
    let last = seen.id.clone().unwrap();
    drop(s);

    // Other categories than the first report's, so none of them is linked to it as a repeat
    // (which would send it again, as updated).
    let missed = report(&app, json!([one(x, y, "other"), one(x, y, "food_safety")])).await;
    // Wait until the hub has announced them (a live stream sees them), then reconnect.
    let mut watcher = Sse::open(&app, "?topics=events", None).await;
    let id3 = report(&app, one(x, y, "dispute")).await[0];
    watcher.until("events", |f| has_event(f, id3)).await;

    let mut again = Sse::open(&app, "?topics=events", Some(&last)).await;
    let hello = again.until("hello", |_| true).await;
    assert!(hello.data["replayed"].as_u64().unwrap() >= 1);
    let mut got = Vec::new();
    while !got.contains(&id3) {
        let f = again
            .next_within(WAIT)
            .await
            .expect("the replay ended early");
        assert_ne!(f.event, "reset", "a fresh gap must be replayed");
        if f.event == "events" {
            got.extend(ids_in(&f));
        }
    }
    for id in missed {
        assert!(got.contains(&id), "{id} was not replayed: {got:?}");
    }
    assert!(!got.contains(&id1), "the last seen message is not replayed");

    // Ids of another server run, or not ours at all: start afresh.
    for bad in [
        "0-1",
        "nonsense",
        &format!("{}-999999999", last.rsplit_once('-').unwrap().0),
    ] {
        let mut s = Sse::open(&app, "?topics=events", Some(bad)).await;
        s.until("hello", |_| true).await;
        let f = s.next_within(WAIT).await.unwrap();
        assert_eq!(f.event, "reset", "after Last-Event-ID {bad}");
        assert!(f.data["reason"].as_str().is_some_and(|r| !r.is_empty()));
    }
}

#[tokio::test]
async fn bad_requests_and_the_stream_limit_are_answered_in_the_api_format() {
    let config = AppConfig {
        live: LiveConfig {
            max_streams: 2,
            heartbeat: Duration::from_secs(1),
            ..LiveConfig::default()
        },
        ..AppConfig::default()
    };
    let app = spawn_app_with_config(demo_db().await, config).await;
    for (q, code) in [
        ("?topics=events,weather", "unknown_topic"),
        ("?topics=%E8%88%B9", "unknown_topic"),
        ("?area=999999", "unknown_area"),
        (&format!("?area={}", "9".repeat(5000)), "unknown_area"),
    ] {
        let (s, body) = app.get_json(&format!("/api/stream{q}")).await;
        let msg = assert_error(s, &body, 400, code);
        if code == "unknown_topic" {
            assert!(msg.contains("events") && msg.contains("kpi"), "{msg}");
        }
    }
    let a = Sse::open(&app, "", None).await;
    let _b = Sse::open(&app, "?topics=kpi", None).await;
    let (s, body) = app.get_json("/api/stream").await;
    assert_error(s, &body, 503, "too_many_streams");
    // A closed stream frees its place (noticed at the latest at its next heartbeat).
    drop(a);
    let until = tokio::time::Instant::now() + WAIT;
    loop {
        let r = app.get("/api/stream").await;
        if r.status().as_u16() == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "the closed stream's place was never freed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// Two worker threads, so the reading client reads while reports are being ingested. (It used to
// read only after the bursts, leaning on the kernel's socket buffers; on a loaded machine they
// filled and the reader itself was dropped as slow.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_read_is_dropped_and_the_others_get_everything() {
    let config = AppConfig {
        live: LiveConfig {
            buffer_frames: 4,
            ..LiveConfig::default()
        },
        ..AppConfig::default()
    };
    let app = spawn_app_with_config(demo_db().await, config).await;
    let spots = places(&app, 20).await;

    // The stalled client: asks for the stream and never reads a byte.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(app.addr).await.unwrap();
    use tokio::io::AsyncWriteExt;
    stalled
        .write_all(
            format!(
                "GET /api/stream?topics=events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
                app.token
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut reader = Sse::open(&app, "?topics=events", None).await;
    reader.until("hello", |_| true).await;
    let streams = |app: &TestApp| {
        let url = app.url("/readyz");
        let http = app.http.clone();
        async move {
            let body: Value = http.get(url).send().await.unwrap().json().await.unwrap();
            body["live"].clone()
        }
    };
    let until = tokio::time::Instant::now() + WAIT;
    while streams(&app).await["streams"] != 2 {
        assert!(tokio::time::Instant::now() < until);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The reading client reads all along, as a real one does, on its own task; it collects
    // the ids of every event it is sent.
    let got = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    let reading = {
        let got = got.clone();
        tokio::spawn(async move {
            while let Some(f) = reader.next_within(WAIT).await {
                if f.event == "events" {
                    got.lock().unwrap().extend(ids_in(&f));
                }
            }
        })
    };

    // Big bursts until the stalled stream's buffer overflows (the kernel's socket buffers
    // take a few MB first).
    let mut sent = Vec::new();
    let mut batches = 0;
    while streams(&app).await["dropped_slow"] == 0 {
        assert!(batches < 60, "the stalled client was never dropped");
        let batch: Vec<Value> = (0..1000)
            .map(|i| {
                let (x, y, _) = &spots[i % spots.len()];
                one(*x, *y, "other")
            })
            .collect();
        sent.extend(report(&app, json!(batch)).await);
        batches += 1;
    }
    // The reading client got every event.
    let until = tokio::time::Instant::now() + WAIT;
    while !sent.iter().all(|id| got.lock().unwrap().contains(id)) {
        if reading.is_finished() || tokio::time::Instant::now() > until {
            let have = got.lock().unwrap().len();
            let live = streams(&app).await;
            panic!(
                "the reader's stream ended or stalled with {have} of {} events ({live})",
                sent.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let live = streams(&app).await;
    assert_eq!(live["streams"], 1, "{live}");
    drop(stalled);
}

#[tokio::test]
async fn a_stopping_server_ends_its_streams() {
    let db = demo_db().await;
    let store = onemap::store::Store::connect(&db.url, 4).await.unwrap();
    store.migrate().await.unwrap();
    let token = common::account(&store, "test-admin", "admin", "3503").await;
    let app = App::build(store, AppConfig::default()).unwrap();
    assert!(app.wait_ready(Duration::from_secs(120)).await);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(listener, async {
        let _ = stopped.await;
    }));
    let resp = common::client_with_token(&token)
        .get(format!("http://{addr}/api/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    stop.send(()).unwrap();
    let done = tokio::time::timeout(WAIT, server).await;
    assert!(
        done.is_ok(),
        "the server did not stop while a stream was open"
    );
    drop(resp);
}
