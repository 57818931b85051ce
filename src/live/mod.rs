//! The live hub: what every open stream (`GET /api/stream`, server-sent events) is told.
//!
//! Owns: `LiveHub`, a follower of the change feed (`crate::feed`: it is told of a change after
//! the event view has applied it, so figures computed from the view include it). Each change
//! becomes one message, rendered once to an SSE frame (`message`) and shared by every stream:
//! - `events`: the rows of a burst of reported or changed events;
//! - `kpi`: an area's figures (`events::analytics::kpi`), computed for each area some stream
//!   watches, on connect and at most once a second while events change;
//! - `reset`: the views were reloaded, clients fetch everything again.
//!
//! Messages carry ids `<server>-<seq>`; the last `LiveConfig::backlog` are kept, so a client
//! that reconnects with `Last-Event-ID` gets what it missed (or `reset` when that is gone or the
//! server restarted). Each stream has its own bounded buffer filled by its own task
//! (`Stream::run`); the hub never waits for a stream, and a stream whose client stops reading
//! is dropped when its buffer is full. Streams are counted against `max_streams`.
//!
//! The HTTP side is `api::stream`; the protocol is docs/STREAM.md.

pub mod message;

use crate::events::analytics::view::area_column;
use crate::events::analytics::{EventAnalytics, NotReady, kpi};
use crate::feed::{Change, ChangeSink, EventDelta, SinkError};
use crate::model::Level;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use message::LiveEvent;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, broadcast, mpsc, watch};

/// What a stream can subscribe to. Vessels join as they are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Reported and changed events.
    Events,
    /// The area's figures.
    Kpi,
    /// Fire-protection and vessel alerts (`crate::assets::alerts`, `crate::vessels::rules`).
    Alerts,
    /// Boats that moved or changed state, and vessel events (`crate::vessels`).
    Vessels,
}

impl Topic {
    pub const ALL: [Topic; 4] = [Topic::Events, Topic::Kpi, Topic::Alerts, Topic::Vessels];

    pub fn code(self) -> &'static str {
        match self {
            Topic::Events => "events",
            Topic::Kpi => "kpi",
            Topic::Alerts => "alerts",
            Topic::Vessels => "vessels",
        }
    }

    pub fn parse(s: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.code() == s.trim())
    }

    fn list() -> String {
        Topic::ALL.map(Topic::code).join(", ")
    }
}

/// Settings of the hub.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Open streams at most; more are refused (503).
    pub max_streams: usize,
    /// A heartbeat frame this often, so proxies keep an idle stream open and clients can tell
    /// a quiet server from a lost one.
    pub heartbeat: Duration,
    /// Frames buffered per stream; a client that lets this many pile up is dropped.
    pub buffer_frames: usize,
    /// Messages kept for `Last-Event-ID` replays.
    pub backlog: usize,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            max_streams: 2000,
            heartbeat: Duration::from_secs(15),
            buffer_frames: 256,
            backlog: 1024,
        }
    }
}

/// Events kept in the backlog at most (over all its messages): about 10 s at 1,000 events/s,
/// some 12 MB of rendered JSON.
const BACKLOG_EVENTS: usize = 10_000;
/// Messages a stream's task may fall behind the hub before it is dropped.
const BROADCAST_CAPACITY: usize = 4096;
/// Figures are recomputed at most this often while events change.
const KPI_INTERVAL: Duration = Duration::from_secs(1);
/// How long the first frames of a stream (hello, replay) may wait for its client.
const FIRST_FRAMES_WAIT: Duration = Duration::from_secs(10);

/// Why a stream cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("未知的主题 \"{0}\"；可用：{list} (unknown topic)", list = Topic::list())]
    UnknownTopic(String),
    #[error("没有编码为 {0} 的区域：请检查参数 area (no area with code '{0}')")]
    UnknownArea(String),
    #[error("实时推送连接数已达上限 {0}，请稍后重试 (too many open streams; retry later)")]
    TooManyStreams(usize),
    #[error("服务正在停止，请稍后重连 (the server is stopping; reconnect shortly)")]
    Closing,
    #[error(transparent)]
    NotReady(#[from] NotReady),
}

/// The area a stream is limited to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub code: String,
    pub name: String,
    pub level: Level,
}

impl Scope {
    /// True if an event with this area chain is in the subtree.
    fn contains(&self, chain: &[Option<String>; 5]) -> bool {
        if self.level == Level::City {
            return chain[0].is_some();
        }
        area_column(self.level)
            .and_then(|k| chain[k].as_deref())
            .is_some_and(|c| c == self.code)
    }
}

/// What one stream asked for.
#[derive(Debug, Clone)]
pub struct Interest {
    pub topics: Vec<Topic>,
    pub scope: Option<Scope>,
}

impl Interest {
    fn wants(&self, t: Topic) -> bool {
        self.topics.contains(&t)
    }

    /// The key its figures are computed and cached under.
    fn kpi_key(&self) -> Option<String> {
        self.scope.as_ref().map(|s| s.code.clone())
    }
}

/// One message of the hub.
#[derive(Debug)]
pub struct Message {
    seq: u64,
    id: String,
    body: Body,
}

#[derive(Debug)]
enum Body {
    Events {
        events: Vec<LiveEvent>,
        all: Bytes,
    },
    Kpi {
        key: Option<String>,
        frame: Bytes,
    },
    Reset {
        frame: Bytes,
    },
    /// One alert, with the area chain (district, town, village, grid, unit) it belongs to.
    Alert {
        chain: [Option<String>; 5],
        frame: Bytes,
    },
    /// Boats that changed, each with the chain of its managing village and its JSON.
    Vessels {
        items: Vec<([Option<String>; 5], String)>,
        all: Bytes,
    },
    /// One vessel event.
    VesselEvent {
        chain: [Option<String>; 5],
        frame: Bytes,
    },
}

impl Message {
    /// Bytes of its rendered JSON and frames.
    fn bytes(&self) -> usize {
        match &self.body {
            Body::Events { events, all } => {
                all.len() + events.iter().map(|e| e.json.len()).sum::<usize>()
            }
            Body::Kpi { frame, .. }
            | Body::Reset { frame }
            | Body::Alert { frame, .. }
            | Body::VesselEvent { frame, .. } => frame.len(),
            Body::Vessels { items, all } => {
                all.len() + items.iter().map(|(_, j)| j.len()).sum::<usize>()
            }
        }
    }

    fn event_count(&self) -> usize {
        match &self.body {
            Body::Events { events, .. } => events.len(),
            _ => 0,
        }
    }

    /// This message's frame for a stream with `interest`, if it is for that stream.
    fn frame_for(&self, interest: &Interest, kpi_key: &Option<String>) -> Option<Bytes> {
        match &self.body {
            Body::Events { events, all } => {
                if !interest.wants(Topic::Events) {
                    return None;
                }
                match &interest.scope {
                    None => Some(all.clone()),
                    Some(scope) => {
                        let mut mine = events
                            .iter()
                            .filter(|e| scope.contains(&e.chain))
                            .peekable();
                        mine.peek()?;
                        Some(message::events_frame(&self.id, mine))
                    }
                }
            }
            Body::Kpi { key, frame } => {
                (interest.wants(Topic::Kpi) && key == kpi_key).then(|| frame.clone())
            }
            Body::Reset { frame } => Some(frame.clone()),
            Body::Alert { chain, frame } => (interest.wants(Topic::Alerts)
                && interest.scope.as_ref().is_none_or(|s| s.contains(chain)))
            .then(|| frame.clone()),
            Body::VesselEvent { chain, frame } => (interest.wants(Topic::Vessels)
                && interest.scope.as_ref().is_none_or(|s| s.contains(chain)))
            .then(|| frame.clone()),
            Body::Vessels { items, all } => {
                if !interest.wants(Topic::Vessels) {
                    return None;
                }
                match &interest.scope {
                    None => Some(all.clone()),
                    Some(scope) => {
                        let mine: Vec<&str> = items
                            .iter()
                            .filter(|(c, _)| scope.contains(c))
                            .map(|(_, j)| j.as_str())
                            .collect();
                        (!mine.is_empty()).then(|| message::vessels_frame(&self.id, &mine))
                    }
                }
            }
        }
    }
}

struct Inner {
    seq: u64,
    backlog: VecDeque<Arc<Message>>,
    backlog_events: usize,
    backlog_bytes: usize,
    tx: broadcast::Sender<Arc<Message>>,
    /// Streams per figures key.
    watchers: HashMap<Option<String>, usize>,
    /// The latest figures per watched key.
    kpis: HashMap<Option<String>, Arc<Message>>,
    /// Events changed since the figures were computed.
    dirty: bool,
    /// Keys whose figures have not been computed yet.
    pending: HashSet<Option<String>>,
}

/// Counters of the hub (for `/readyz`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveStats {
    pub streams: usize,
    pub max_streams: usize,
    pub dropped_slow: u64,
    pub messages: u64,
    pub backlog: usize,
    /// Bytes of the messages kept for replays.
    pub backlog_bytes: usize,
}

/// The hub of one server process.
pub struct LiveHub {
    /// Changes at every start: ids of an earlier run cannot be replayed.
    server: String,
    config: LiveConfig,
    analytics: Arc<EventAnalytics>,
    inner: Mutex<Inner>,
    permits: Arc<Semaphore>,
    kpi_wake: Notify,
    dropped_slow: AtomicU64,
    /// Set when the server stops: every stream ends, so a graceful shutdown can finish.
    closing: watch::Sender<bool>,
}

impl LiveHub {
    pub fn new(analytics: Arc<EventAnalytics>, config: LiveConfig) -> LiveHub {
        let (tx, _) = broadcast::channel(BROADCAST_CAPACITY);
        let server = format!("{:x}", chrono::Utc::now().timestamp_millis());
        LiveHub {
            server,
            permits: Arc::new(Semaphore::new(config.max_streams)),
            config,
            analytics,
            inner: Mutex::new(Inner {
                seq: 0,
                backlog: VecDeque::new(),
                backlog_events: 0,
                backlog_bytes: 0,
                tx,
                watchers: HashMap::new(),
                kpis: HashMap::new(),
                dirty: false,
                pending: HashSet::new(),
            }),
            kpi_wake: Notify::new(),
            dropped_slow: AtomicU64::new(0),
            closing: watch::Sender::new(false),
        }
    }

    /// Ends every stream and refuses new ones (the server is stopping).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    pub fn config(&self) -> &LiveConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn stats(&self) -> LiveStats {
        let inner = self.lock();
        LiveStats {
            streams: self.config.max_streams - self.permits.available_permits(),
            max_streams: self.config.max_streams,
            dropped_slow: self.dropped_slow.load(Ordering::Relaxed),
            messages: inner.seq,
            backlog: inner.backlog.len(),
            backlog_bytes: inner.backlog_bytes,
        }
    }

    /// Parses what a stream asks for: `topics` (comma-separated, default all) and `area` (an
    /// area code at any level, default none).
    pub fn interest(
        &self,
        topics: Option<&str>,
        area: Option<&str>,
    ) -> Result<Interest, LiveError> {
        let mut list = Vec::new();
        for t in topics
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let topic = Topic::parse(t)
                .ok_or_else(|| LiveError::UnknownTopic(t.chars().take(40).collect()))?;
            if !list.contains(&topic) {
                list.push(topic);
            }
        }
        if list.is_empty() {
            list = Topic::ALL.to_vec();
        }
        let scope = match area.map(str::trim).filter(|a| !a.is_empty()) {
            None => None,
            Some(code) => {
                let names = self.analytics.names();
                let n = names
                    .get(code)
                    .ok_or_else(|| LiveError::UnknownArea(code.chars().take(40).collect()))?;
                Some(Scope {
                    code: code.to_string(),
                    name: n.name.to_string(),
                    level: n.level,
                })
            }
        };
        Ok(Interest {
            topics: list,
            scope,
        })
    }

    /// Opens a stream: its first frames (hello, then a replay since `last_event_id` or a
    /// reset, then the latest figures) and its place among the hub's listeners.
    pub fn subscribe(
        self: &Arc<Self>,
        interest: Interest,
        last_event_id: Option<&str>,
    ) -> Result<Stream, LiveError> {
        crate::events::analytics::ready(&self.analytics)?;
        if *self.closing.borrow() {
            return Err(LiveError::Closing);
        }
        let permit = self
            .permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| LiveError::TooManyStreams(self.config.max_streams))?;
        let key = interest.kpi_key();
        let mut inner = self.lock();
        let rx = inner.tx.subscribe();
        let mut frames = Vec::new();
        let mut replayed = 0usize;
        let mut reset = None;
        if let Some(last) = last_event_id.map(str::trim).filter(|s| !s.is_empty()) {
            match self.missed_since(&inner, last) {
                Ok(missed) => {
                    for m in missed {
                        if let Some(f) = m.frame_for(&interest, &key) {
                            frames.push(f);
                            replayed += 1;
                        }
                    }
                }
                Err(reason) => reset = Some(reason),
            }
        }
        if interest.wants(Topic::Kpi) {
            *inner.watchers.entry(key.clone()).or_default() += 1;
            match inner.kpis.get(&key) {
                Some(m) => {
                    if let Some(f) = m.frame_for(&interest, &key) {
                        frames.push(f);
                    }
                }
                None => {
                    inner.pending.insert(key.clone());
                    self.kpi_wake.notify_one();
                }
            }
        }
        drop(inner);
        let hello = serde_json::json!({
            "server": self.server,
            "topics": interest.topics.iter().map(|t| t.code()).collect::<Vec<_>>(),
            "area": interest.scope.as_ref().map(|s| serde_json::json!({
                "code": s.code, "name": s.name, "level": s.level.as_str(),
            })),
            "heartbeat_s": self.config.heartbeat.as_secs_f64(),
            "replayed": replayed,
        });
        let mut first = vec![Bytes::from(format!(
            "retry: 2000\nevent: hello\ndata: {hello}\n\n"
        ))];
        if let Some(reason) = reset {
            first.push(message::reset_frame(reason));
        }
        first.extend(frames);
        Ok(Stream {
            first,
            rx,
            watch: Watcher {
                hub: self.clone(),
                key,
                counted: interest.wants(Topic::Kpi),
                _permit: permit,
            },
            interest,
        })
    }

    /// The messages after `last` (an id this server gave), or why they cannot be replayed.
    fn missed_since(&self, inner: &Inner, last: &str) -> Result<Vec<Arc<Message>>, &'static str> {
        let Some((server, seq)) = last.rsplit_once('-') else {
            return Err("无法识别的 Last-Event-ID (unrecognised Last-Event-ID)");
        };
        if server != self.server {
            return Err("服务已重启 (the server restarted)");
        }
        let Ok(seq) = seq.parse::<u64>() else {
            return Err("无法识别的 Last-Event-ID (unrecognised Last-Event-ID)");
        };
        if seq > inner.seq {
            return Err("无法识别的 Last-Event-ID (unrecognised Last-Event-ID)");
        }
        if seq == inner.seq {
            return Ok(Vec::new());
        }
        match inner.backlog.front() {
            Some(first) if first.seq <= seq + 1 => Ok(inner
                .backlog
                .iter()
                .filter(|m| m.seq > seq)
                .cloned()
                .collect()),
            _ => Err("断开太久，缺失的消息已不在缓存中 (the gap is older than the backlog)"),
        }
    }

    /// Numbers the message `make` builds from its id, keeps it for replays and sends it to
    /// every stream.
    fn publish(&self, make: impl FnOnce(&str) -> Body) -> Arc<Message> {
        let mut inner = self.lock();
        inner.seq += 1;
        let seq = inner.seq;
        let id = format!("{}-{seq}", self.server);
        let body = make(&id);
        let m = Arc::new(Message { seq, id, body });
        inner.backlog_events += m.event_count();
        inner.backlog_bytes += m.bytes();
        inner.backlog.push_back(m.clone());
        while inner.backlog.len() > self.config.backlog
            || (inner.backlog_events > BACKLOG_EVENTS && inner.backlog.len() > 1)
        {
            if let Some(old) = inner.backlog.pop_front() {
                inner.backlog_events -= old.event_count();
                inner.backlog_bytes -= old.bytes();
            }
        }
        // No receiver is fine: nobody is watching.
        let _ = inner.tx.send(m.clone());
        m
    }

    /// Sends an alert (its JSON) to every stream that watches alerts in an area holding
    /// `chain` (district, town, village, grid, unit).
    pub fn publish_alert(&self, chain: [Option<String>; 5], json: &str) {
        self.publish(|id| Body::Alert {
            chain,
            frame: message::frame(Some(id), "alert", json),
        });
    }

    /// Sends the boats that changed (each with its managing village's chain and its JSON)
    /// to every stream that watches vessels in an area holding them.
    pub fn publish_vessels(&self, items: Vec<([Option<String>; 5], String)>) {
        if items.is_empty() {
            return;
        }
        self.publish(|id| {
            let all: Vec<&str> = items.iter().map(|(_, j)| j.as_str()).collect();
            Body::Vessels {
                all: message::vessels_frame(id, &all),
                items,
            }
        });
    }

    /// Sends a vessel event (its JSON) to every stream that watches vessels in an area
    /// holding `chain`.
    pub fn publish_vessel_event(&self, chain: [Option<String>; 5], json: &str) {
        self.publish(|id| Body::VesselEvent {
            chain,
            frame: message::frame(Some(id), "vessel_event", json),
        });
    }

    fn events_changed(&self, delta: &EventDelta) {
        if !delta.rows.is_empty() {
            let names = self.analytics.names();
            let now = crate::time::now_us();
            let mut events: Vec<LiveEvent> = delta
                .rows
                .iter()
                .map(|r| LiveEvent::from_row(r, &names, now))
                .collect();
            events.sort_by_key(|e| e.id);
            events.dedup_by_key(|e| e.id);
            self.publish(|id| Body::Events {
                all: message::events_frame(id, events.iter()),
                events,
            });
        }
        self.figures_changed();
    }

    fn figures_changed(&self) {
        self.lock().dirty = true;
        self.kpi_wake.notify_one();
    }

    /// Keeps the figures of every watched area current: computes them when a stream asks
    /// for an area not computed yet, and after events change (at most once per
    /// `KPI_INTERVAL`). Runs until the server stops.
    pub async fn run_figures(self: Arc<Self>) {
        loop {
            self.kpi_wake.notified().await;
            loop {
                let (keys, changed) = {
                    let mut inner = self.lock();
                    if inner.dirty {
                        inner.dirty = false;
                        inner.pending.clear();
                        (inner.watchers.keys().cloned().collect::<Vec<_>>(), true)
                    } else {
                        let pending: Vec<_> = inner.pending.drain().collect();
                        let keys = pending
                            .into_iter()
                            .filter(|k| inner.watchers.contains_key(k))
                            .collect();
                        (keys, false)
                    }
                };
                if keys.is_empty() {
                    break;
                }
                if crate::events::analytics::ready(&self.analytics).is_err() {
                    // Computed once the view is in (its load marks the figures changed).
                    self.lock().pending.extend(keys);
                    break;
                }
                let view = self.analytics.snapshot();
                let names = self.analytics.names();
                let now = crate::time::now_us();
                let computed = tokio::task::spawn_blocking(move || {
                    keys.into_iter()
                        .map(|k| {
                            let r = kpi::compute(&view, &names, k.as_deref(), now);
                            (k, r)
                        })
                        .collect::<Vec<_>>()
                })
                .await
                .unwrap_or_default();
                for (key, result) in computed {
                    match result {
                        Ok(figures) => {
                            let m = self.publish(|id| Body::Kpi {
                                frame: message::kpi_frame(id, &figures),
                                key: key.clone(),
                            });
                            let mut inner = self.lock();
                            if inner.watchers.contains_key(&key) {
                                inner.kpis.insert(key, m);
                            }
                        }
                        Err(e) => tracing::warn!(area = ?key, error = %e, "figures not computed"),
                    }
                }
                if changed {
                    tokio::time::sleep(KPI_INTERVAL).await;
                }
            }
        }
    }
}

impl ChangeSink for LiveHub {
    fn name(&self) -> &'static str {
        "live stream"
    }

    fn apply<'a>(&'a self, change: &'a Change) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            match change {
                Change::EventsChanged(delta) => self.events_changed(delta),
                Change::EventsReload => {
                    self.publish(|_| Body::Reset {
                        frame: message::reset_frame(
                            "事件数据已重新加载 (the event view was reloaded)",
                        ),
                    });
                    self.figures_changed();
                }
                Change::AreasLoaded(_)
                | Change::AreasChanged(_)
                | Change::AssetsLoaded(_)
                | Change::AssetsChanged(_)
                | Change::VesselsReload
                | Change::VesselsChanged(_) => {}
            }
            Ok(())
        })
    }
}

/// A stream's place among the hub's listeners: its figures key is watched and a stream is
/// counted while it lives.
struct Watcher {
    hub: Arc<LiveHub>,
    key: Option<String>,
    counted: bool,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if !self.counted {
            return;
        }
        let mut inner = self.hub.lock();
        if let Some(n) = inner.watchers.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                inner.watchers.remove(&self.key);
                inner.kpis.remove(&self.key);
            }
        }
    }
}

/// One open stream, until its client goes away or stops reading.
pub struct Stream {
    first: Vec<Bytes>,
    rx: broadcast::Receiver<Arc<Message>>,
    interest: Interest,
    watch: Watcher,
}

impl Stream {
    /// Feeds the stream's frames into `out` (the response body reads the other end) until the
    /// client goes away, fills the buffer (it is dropped) or falls too far behind.
    pub async fn run(self, out: mpsc::Sender<Bytes>) {
        let Stream {
            first,
            mut rx,
            interest,
            watch,
        } = self;
        let hub = watch.hub.clone();
        let mut closing = hub.closing.subscribe();
        for f in first {
            match tokio::time::timeout(FIRST_FRAMES_WAIT, out.send(f)).await {
                Ok(Ok(())) => {}
                _ => return,
            }
        }
        let push = |f: Bytes| match out.try_send(f) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                hub.dropped_slow.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    area = ?watch.key,
                    "dropping a live stream whose client does not read (its buffer is full)"
                );
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        };
        let period = hub.config.heartbeat;
        let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = out.closed() => return,
                _ = closing.wait_for(|c| *c) => return,
                _ = beat.tick() => {
                    if !push(message::heartbeat_frame(crate::time::now_us())) {
                        return;
                    }
                }
                m = rx.recv() => match m {
                    Ok(m) => {
                        if let Some(f) = m.frame_for(&interest, &watch.key)
                            && !push(f)
                        {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        hub.dropped_slow.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(missed = n, "dropping a live stream that fell behind the hub");
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }
}
