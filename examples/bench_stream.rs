//! Live stream fan-out benchmark: `BENCH_STREAMS` concurrent `/api/stream` clients (default
//! 1,000, the whole city each, topics events and kpi) while events are reported through
//! `POST /api/events` at `BENCH_RATE` per second (default 1,000, in batches every 50 ms) for
//! `BENCH_SECONDS` (default 30), against a real `onemap serve` over loopback on the database of
//! `DATABASE_URL` (the script loads the demo history: 1,000,000 events).
//!
//! Latency from commit to delivery, per stream and batch: a batch is committed somewhere
//! between the POST being sent and its 201 arriving (201 = committed), so each delivery gives
//! two bounds — after the 201 (a lower bound, negative when the stream was faster than the
//! answer) and after the send (an upper bound). Both are reported, p50/p99/max over every
//! (stream, batch) pair, with how many of those pairs arrived at all and the server's resident
//! memory before the streams, with them idle, and at the end.
//!
//! The load generator and the 1,000 readers run on the same 2 cores as the server and
//! PostgreSQL: they compete with what they measure. What the run adds is deleted afterwards.
//! Run through `scripts/bench-stream`.

#[path = "support/auth.rs"]
mod auth;

mod support;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{CATEGORIES, land_points, restore_history, serve};

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A batch as sent: when it was sent and when its 201 arrived.
#[derive(Clone, Copy)]
struct Sent {
    sent: Instant,
    acked: Instant,
}

/// Every event's `"id":N` in an `events` frame (the place objects in it have no `id`).
fn event_ids(frame: &[u8]) -> Vec<i64> {
    memchr::memmem::find_iter(frame, b"\"id\":")
        .filter_map(|i| {
            let rest = &frame[i + 5..];
            let end = rest
                .iter()
                .position(|c| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
        })
        .collect()
}

/// What one stream saw: when each `events` message (by sequence number) arrived, and, for
/// the probe stream only, the event ids in each message. Every stream of the run asks for the
/// same thing, so a message carries the same events on every stream: the other streams only
/// read the frames' `id:` lines, which keeps the readers' own CPU use low.
#[derive(Default)]
struct Seen {
    arrived: HashMap<u64, Instant>,
    ids: HashMap<u64, Vec<i64>>,
}

async fn read_stream(mut resp: reqwest::Response, probe: bool, stop: Instant) -> Seen {
    let mut buf: Vec<u8> = Vec::new();
    let mut scanned = 0;
    let mut seen = Seen::default();
    let finder = memchr::memmem::Finder::new(b"\n\n");
    loop {
        let left = stop.saturating_duration_since(Instant::now());
        let Ok(Ok(Some(chunk))) = tokio::time::timeout(left, resp.chunk()).await else {
            break;
        };
        let now = Instant::now();
        buf.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(k) = finder.find(&buf[scanned.max(start)..]) {
            let end = scanned.max(start) + k + 2;
            let frame = &buf[start..end];
            start = end;
            // `id: <server>-<seq>\nevent: events\n…`
            let Some(line_end) = memchr::memchr(b'\n', frame) else {
                continue;
            };
            let (first, rest) = frame.split_at(line_end + 1);
            if !first.starts_with(b"id: ") || !rest.starts_with(b"event: events\n") {
                continue;
            }
            let id = std::str::from_utf8(&first[4..first.len() - 1]).unwrap_or("");
            let Some(seq) = id.rsplit_once('-').and_then(|(_, n)| n.parse::<u64>().ok()) else {
                continue;
            };
            seen.arrived.entry(seq).or_insert(now);
            if probe {
                seen.ids.insert(seq, event_ids(rest));
            }
        }
        buf.drain(..start);
        scanned = buf.len().saturating_sub(1);
    }
    seen
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let db = std::env::var("DATABASE_URL")?;
    let bin = std::env::var("ONEMAP_BIN").unwrap_or_else(|_| "target/release/onemap".into());
    let streams = env_num("BENCH_STREAMS", 1000);
    let rate = env_num("BENCH_RATE", 1000);
    let seconds = env_num("BENCH_SECONDS", 30);
    const TICK: Duration = Duration::from_millis(50);
    let per_tick = (rate * TICK.as_millis() as usize / 1000).max(1);

    let store = onemap::store::Store::connect(&db, 4).await?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&db)
        .await?;
    let (history, max_id): (i64, Option<i64>) =
        sqlx::query_as("SELECT count(*), max(id) FROM event")
            .fetch_one(&pool)
            .await?;
    let index = onemap::index::AssignIndex::default();
    index
        .load(Arc::new(store.area_shapes().await?))
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let points = land_points(&index.snapshot(), 20_000, &mut rng);
    store.close().await;

    auth::install(&db).await?;
    let http = {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {}", auth::token()).parse()?,
        );
        reqwest::Client::builder()
            .timeout(Duration::from_secs(600))
            .pool_max_idle_per_host(4)
            .default_headers(h)
            .build()?
    };
    let max_streams = (streams + 50).to_string();
    let server = serve(&bin, &db, &["--max-streams", &max_streams], &http).await?;
    let base = server.base.clone();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_start = server.rss_mib();

    // The streams: one connection each.
    let opened = Instant::now();
    let mut responses = Vec::with_capacity(streams);
    for _ in 0..streams {
        let client = auth::client(None)?;
        let r = client
            .get(format!("{base}/api/stream?topics=events,kpi"))
            .send()
            .await?;
        anyhow::ensure!(r.status() == 200, "a stream was refused: {}", r.status());
        responses.push(r);
    }
    let open_secs = opened.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_idle = server.rss_mib();

    let ledger: Arc<Mutex<Vec<(Sent, i64)>>> = Arc::default();
    let load_ends = Instant::now() + Duration::from_secs(seconds as u64);
    let stop = load_ends + Duration::from_secs(10);
    let readers: Vec<_> = responses
        .into_iter()
        .enumerate()
        .map(|(k, r)| tokio::spawn(read_stream(r, k == 0, stop)))
        .collect();

    // The load: `per_tick` events every 50 ms, each POST in its own task.
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut posts = Vec::new();
    let mut k = 0usize;
    while Instant::now() < load_ends {
        tick.tick().await;
        let batch: Vec<Value> = (0..per_tick)
            .map(|_| {
                let (x, y) = points[k % points.len()];
                k += 1;
                json!({"category": CATEGORIES[rng.random_range(0..CATEGORIES.len())],
                       "source": "hotline", "lon": x, "lat": y, "description": "fan-out benchmark"})
            })
            .collect();
        let (http, url, ledger) = (http.clone(), format!("{base}/api/events"), ledger.clone());
        posts.push(tokio::spawn(async move {
            let sent = Instant::now();
            let r = http.post(url).json(&batch).send().await?;
            anyhow::ensure!(r.status() == 201, "POST answered {}", r.status());
            let body: Value = r.json().await?;
            let acked = Instant::now();
            let first = body["events"][0]["id"]
                .as_i64()
                .ok_or_else(|| anyhow::anyhow!("no ids in the answer"))?;
            ledger.lock().unwrap().push((Sent { sent, acked }, first));
            anyhow::Ok(())
        }));
    }
    let mut failed_posts = 0;
    for p in posts {
        if !matches!(p.await, Ok(Ok(()))) {
            failed_posts += 1;
        }
    }
    let rss_load = server.rss_mib();
    let mut seen = Vec::new();
    for r in readers {
        seen.push(r.await?);
    }
    // The first message that carried each event (from the probe stream; an event is sent
    // again when a later report is linked to it as a repeat).
    let mut message_of: HashMap<i64, u64> = HashMap::new();
    for (seq, ids) in &seen[0].ids {
        for id in ids {
            let m = message_of.entry(*id).or_insert(*seq);
            *m = (*m).min(*seq);
        }
    }
    let sent = ledger.lock().unwrap().clone();
    let batches = sent.len();
    let mut after_ack = Vec::new();
    let mut after_send = Vec::new();
    let mut pairs = 0usize;
    let mut worst: Vec<(f64, f64)> = Vec::new();
    let load_started = sent.iter().map(|(s, _)| s.sent).min();
    for (s, first) in &sent {
        let Some(seq) = message_of.get(first) else {
            continue;
        };
        let mut slowest = 0f64;
        for stream in &seen {
            if let Some(&at) = stream.arrived.get(seq) {
                slowest = slowest.max(at.saturating_duration_since(s.sent).as_secs_f64() * 1000.0);
                pairs += 1;
                after_ack.push(if at >= s.acked {
                    (at - s.acked).as_secs_f64() * 1000.0
                } else {
                    -((s.acked - at).as_secs_f64() * 1000.0)
                });
                after_send.push(at.saturating_duration_since(s.sent).as_secs_f64() * 1000.0);
            }
        }
        let offset = load_started.map_or(0.0, |t0| (s.sent - t0).as_secs_f64());
        worst.push((slowest, offset));
    }
    worst.sort_by(|a, b| b.0.total_cmp(&a.0));
    let live: Value = http
        .get(format!("{base}/readyz"))
        .send()
        .await?
        .json()
        .await?;
    drop(server);

    println!(
        "state: {history} events stored before the run (demo history), the whole city on every stream"
    );
    println!(
        "load: {streams} streams (opened in {open_secs:.1} s), {} events/s in {} batches of {per_tick} every 50 ms for {seconds} s; {failed_posts} POSTs failed",
        batches * per_tick / seconds.max(1),
        batches
    );
    println!();
    println!("| figure | p50 | p99 | max |");
    println!("|---|---|---|---|");
    let mut a = after_ack.clone();
    let mut s = after_send.clone();
    println!(
        "| delivery after the 201 (lower bound of commit → delivery), ms | {:.0} | {:.0} | {:.0} |",
        pct(&mut a, 0.5),
        pct(&mut a, 0.99),
        pct(&mut a, 1.0)
    );
    println!(
        "| delivery after the POST was sent (upper bound), ms | {:.0} | {:.0} | {:.0} |",
        pct(&mut s, 0.5),
        pct(&mut s, 0.99),
        pct(&mut s, 1.0)
    );
    println!();
    println!(
        "delivered: {pairs} of {} (stream, batch) pairs ({:.2} %); streams dropped as slow: {}",
        streams * batches,
        100.0 * pairs as f64 / (streams * batches).max(1) as f64,
        live["live"]["dropped_slow"]
    );
    println!(
        "slowest batches (slowest stream, sent at): {}",
        worst
            .iter()
            .take(5)
            .map(|(ms, t)| format!("{ms:.0} ms at {t:.1} s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "server memory (RSS): {rss_start:.0} MiB before the streams, {rss_idle:.0} MiB with {streams} idle streams ({:.1} KiB per stream), {rss_load:.0} MiB at the end of the load",
        (rss_idle - rss_start) * 1024.0 / streams.max(1) as f64
    );

    // Leave the history as it was.
    restore_history(&pool, max_id).await?;
    Ok(())
}
