//! Vessel monitoring (issue #11; contract docs/VESSELS.md): AIS and BeiDou positions in, each
//! boat's state (in port, at sea, fishing, lost, dark) and its transitions out, stored,
//! alerted and pushed live. No HTTP and no SQL here.
//!
//! Data flow: a feed (`listen` for TCP/UDP, the API for HTTP bodies) decodes lines with its
//! own `nmea::Feed` and hands positions to `Fleet::ingest`. That applies them to the boats'
//! `track::Track`s under one lock (so a boat's positions are taken in order), and queues the
//! positions, the transitions (vessel events) and the registrations of unknown boats for the
//! writer (`run_writer`: one transaction per burst, positions by COPY into the day's
//! partition). HTTP callers wait for their rows' commit; the TCP and UDP feeds do not.
//! Committed events go to the live hub. `run_clock` applies the passing of time (lost, dark,
//! closures starting), pushes the boats that changed every `PUSH_EVERY`, and drops days of
//! positions past the retention.
//!
//! `Fleet` is a follower of the change feed: the registry, harbours, closures and zones are
//! reloaded on `Change::VesselsReload` (any write to those tables, from any tool), the area
//! tree on `AreasLoaded`.

pub mod ais;
pub mod demo;
pub mod encode;
pub mod listen;
pub mod model;
pub mod nmea;
pub mod port;
pub mod rules;
pub mod simulate;
pub mod tiles;
pub mod track;

use crate::events::analytics::EventAnalytics;
use crate::feed::{Change, ChangeSink, SinkError};
use crate::live::LiveHub;
use crate::model::Level;
use crate::store::assets::NewAlert;
use crate::store::vessels::{NewVesselEvent, PositionRow, VesselRow};
use crate::store::{Store, StoreError};
use arc_swap::ArcSwap;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use model::{Class, EventType, Fix, State};
use port::{Harbour, HarbourKind, Harbours, Zone, Zones};
use rules::Closure;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use track::{Track, Transition, Use};

/// Boats that moved are pushed at most this often.
pub const PUSH_EVERY: Duration = Duration::from_millis(500);
/// The boats tile layer moves on at most this often.
pub const TILE_EVERY: Duration = Duration::from_secs(2);
/// Positions more than this far ahead of the server's clock are refused.
pub const MAX_AHEAD_MS: i64 = 10 * 60 * 1000;
/// Positions of a burst written in one transaction, at most.
const WRITE_BURST: usize = 50_000;
/// Jobs queued for the writer before feeds wait.
const WRITE_QUEUE: usize = 256;

/// Settings of the fleet.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// Days of positions kept.
    pub retention_days: u32,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig { retention_days: 90 }
    }
}

/// The registry and the map features the rules use.
#[derive(Default)]
pub struct Registry {
    pub vessels: HashMap<u32, Arc<VesselRow>>,
    pub harbours: Harbours,
    pub zones: Zones,
    /// The stored closures (the moratoria are added by `closures_at`).
    pub closures: Vec<Closure>,
    /// Each village's town and district.
    parents: HashMap<Arc<str>, Option<Arc<str>>>,
}

impl Registry {
    /// The area chain (district, town, village, grid, unit) of a village code.
    pub fn chain(&self, village: Option<&str>) -> [Option<String>; 5] {
        let Some(v) = village else {
            return [None, None, None, None, None];
        };
        let town = self.parents.get(v).cloned().flatten();
        let district = town
            .as_deref()
            .and_then(|t| self.parents.get(t).cloned().flatten());
        [
            district.map(|d| d.to_string()),
            town.map(|t| t.to_string()),
            Some(v.to_string()),
            None,
            None,
        ]
    }

    /// Every closure in force around `at`: the moratoria and the stored ones.
    pub fn closures_at(&self, at: DateTime<Utc>) -> Vec<Closure> {
        let mut all = rules::moratoria_around(at);
        all.extend(self.closures.iter().cloned());
        all
    }
}

/// What a batch of positions did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct IngestOutcome {
    pub stored: usize,
    pub flagged: usize,
    pub out_of_order: usize,
    pub registered: usize,
    pub transitions: usize,
}

/// Why positions could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("船舶数据正在加载，请稍候 (the vessel registry is still loading)")]
    Loading,
    #[error("写入位置失败：{0} (storing the positions failed)")]
    Store(String),
    #[error("服务正在停止 (the server is stopping)")]
    Closed,
}

/// Counters of the ingest (for `/readyz` and `/api/vessels/ingest`).
#[derive(Default)]
struct Counters {
    lines: Mutex<nmea::LineCounts>,
    stored: AtomicU64,
    flagged: AtomicU64,
    out_of_order: AtomicU64,
    registered: AtomicU64,
    events: AtomicU64,
    write_failures: AtomicU64,
    positions_lost: AtomicU64,
    tcp_clients: AtomicU64,
    tcp_open: AtomicU64,
    udp_packets: AtomicU64,
    refused_rows: AtomicU64,
}

/// The counters as answered.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IngestStats {
    pub loaded: bool,
    pub vessels: usize,
    pub tracked: usize,
    pub nmea: nmea::LineCounts,
    pub positions_stored: u64,
    pub positions_flagged: u64,
    pub positions_out_of_order: u64,
    pub positions_refused: u64,
    pub vessels_registered: u64,
    pub vessel_events: u64,
    pub write_failures: u64,
    /// Positions of the TCP/UDP feeds that could not be stored after a retry.
    pub positions_lost: u64,
    pub tcp_clients_total: u64,
    pub tcp_clients_open: u64,
    pub udp_packets: u64,
    pub clock: Option<DateTime<Utc>>,
}

/// One job for the writer.
struct WriteJob {
    unknown: Vec<(i32, Option<&'static str>)>,
    positions: Vec<PositionRow>,
    events: Vec<NewVesselEvent>,
    done: Option<oneshot::Sender<Result<(), String>>>,
}

/// A boat as the tile layer draws it.
#[derive(Debug, Clone)]
pub struct Dot {
    pub mmsi: u32,
    pub lon: f64,
    pub lat: f64,
    pub state: State,
    pub class: Option<Class>,
    pub speed_kn: Option<f32>,
    pub course: Option<f32>,
    pub name: Option<String>,
    /// The harbour it is in.
    pub port: Option<i32>,
    pub chain: [Option<String>; 5],
}

/// The fleet of one server process.
pub struct Fleet {
    store: Store,
    live: Arc<LiveHub>,
    analytics: Arc<EventAnalytics>,
    config: FleetConfig,
    registry: ArcSwap<Registry>,
    registry_in: AtomicBool,
    tracks_in: AtomicBool,
    tracks: Mutex<HashMap<u32, Track>>,
    /// What the boats' AIS static messages said.
    statics: Mutex<HashMap<u32, ais::Static>>,
    /// Boats registered by their first position, not yet in the registry read back.
    registering: Mutex<HashSet<u32>>,
    tx: mpsc::Sender<WriteJob>,
    rx: Mutex<Option<mpsc::Receiver<WriteJob>>>,
    counters: Counters,
    /// The feed's clock: the latest position time and when it arrived.
    clock: Mutex<Option<(i64, Instant)>>,
    /// Boats changed since the last push.
    dirty: Mutex<HashSet<u32>>,
    dots: ArcSwap<Vec<Dot>>,
    dots_epoch: AtomicU64,
    /// Moves with every read of the registry (harbour and zone tiles).
    registry_epoch: AtomicU64,
    /// Days whose partition exists.
    days: Mutex<HashSet<NaiveDate>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

impl Fleet {
    pub fn new(
        store: Store,
        analytics: Arc<EventAnalytics>,
        live: Arc<LiveHub>,
        config: FleetConfig,
    ) -> Fleet {
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        Fleet {
            store,
            live,
            analytics,
            config,
            registry: ArcSwap::from_pointee(Registry::default()),
            registry_in: AtomicBool::new(false),
            tracks_in: AtomicBool::new(false),
            tracks: Mutex::new(HashMap::new()),
            statics: Mutex::new(HashMap::new()),
            registering: Mutex::new(HashSet::new()),
            tx,
            rx: Mutex::new(Some(rx)),
            counters: Counters::default(),
            clock: Mutex::new(None),
            dirty: Mutex::new(HashSet::new()),
            dots: ArcSwap::from_pointee(Vec::new()),
            dots_epoch: AtomicU64::new(1),
            registry_epoch: AtomicU64::new(1),
            days: Mutex::new(HashSet::new()),
        }
    }

    pub fn is_loaded(&self) -> bool {
        self.registry_in.load(Ordering::Acquire) && self.tracks_in.load(Ordering::Acquire)
    }

    pub fn registry(&self) -> Arc<Registry> {
        self.registry.load_full()
    }

    pub fn config(&self) -> &FleetConfig {
        &self.config
    }

    /// The fleet's clock: the latest position time plus the time since it arrived (so a
    /// replayed day keeps its own time, a live feed keeps the wall clock's); the wall clock
    /// before any position.
    pub fn now_ms(&self) -> i64 {
        match *lock(&self.clock) {
            Some((at, since)) => at + since.elapsed().as_millis() as i64,
            None => crate::time::now_us() / 1000,
        }
    }

    /// The fleet's clock if any position has arrived (or was restored).
    pub fn data_clock_ms(&self) -> Option<i64> {
        lock(&self.clock).map(|(at, since)| at + since.elapsed().as_millis() as i64)
    }

    fn advance_clock(&self, at_ms: i64) {
        let wall = crate::time::now_us() / 1000;
        // Times from the future do not move the clock past the wall clock.
        let at_ms = at_ms.min(wall + MAX_AHEAD_MS);
        let mut c = lock(&self.clock);
        let now = c.map(|(a, s)| a + s.elapsed().as_millis() as i64);
        if now.is_none_or(|n| at_ms > n) {
            *c = Some((at_ms, Instant::now()));
        }
    }

    /// The earliest time a position may have: the retention.
    pub fn oldest_ms(&self) -> i64 {
        crate::time::now_us() / 1000 - self.config.retention_days as i64 * 86_400_000
    }

    pub fn stats(&self) -> IngestStats {
        let c = &self.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        IngestStats {
            loaded: self.is_loaded(),
            vessels: self.registry.load().vessels.len(),
            tracked: lock(&self.tracks).len(),
            nmea: *lock(&c.lines),
            positions_stored: l(&c.stored),
            positions_flagged: l(&c.flagged),
            positions_out_of_order: l(&c.out_of_order),
            positions_refused: l(&c.refused_rows),
            vessels_registered: l(&c.registered),
            vessel_events: l(&c.events),
            write_failures: l(&c.write_failures),
            positions_lost: l(&c.positions_lost),
            tcp_clients_total: l(&c.tcp_clients),
            tcp_clients_open: l(&c.tcp_open),
            udp_packets: l(&c.udp_packets),
            clock: lock(&self.clock).map(|(a, s)| time(a + s.elapsed().as_millis() as i64)),
        }
    }

    /// Adds a feed's line counts.
    pub fn count_lines(&self, counts: &nmea::LineCounts) {
        lock(&self.counters.lines).add(counts);
    }

    pub fn count_refused(&self, n: usize) {
        self.counters
            .refused_rows
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn tcp_opened(&self) {
        self.counters.tcp_clients.fetch_add(1, Ordering::Relaxed);
        self.counters.tcp_open.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn tcp_closed(&self) {
        self.counters.tcp_open.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn udp_packet(&self) {
        self.counters.udp_packets.fetch_add(1, Ordering::Relaxed);
    }

    /// A boat's track, if it has one.
    pub fn track(&self, mmsi: u32) -> Option<Track> {
        lock(&self.tracks).get(&mmsi).cloned()
    }

    /// Every boat's track (a copy).
    pub fn tracks(&self) -> HashMap<u32, Track> {
        lock(&self.tracks).clone()
    }

    /// What a boat's static messages said.
    pub fn ais_static(&self, mmsi: u32) -> Option<ais::Static> {
        lock(&self.statics).get(&mmsi).cloned()
    }

    /// The boats as the tile layer draws them, and the epoch they are drawn at.
    pub fn dots(&self) -> (Arc<Vec<Dot>>, u64) {
        (
            self.dots.load_full(),
            self.dots_epoch.load(Ordering::Acquire),
        )
    }

    pub fn registry_epoch(&self) -> u64 {
        self.registry_epoch.load(Ordering::Acquire)
    }

    pub fn dots_epoch(&self) -> u64 {
        self.dots_epoch.load(Ordering::Acquire)
    }

    /// Keeps what static messages say (registry fields that are empty are filled).
    pub fn statics(&self, list: Vec<ais::Static>) {
        if list.is_empty() {
            return;
        }
        let reg = self.registry.load();
        let mut fill = Vec::new();
        {
            let mut statics = lock(&self.statics);
            for s in list {
                let merged = statics.entry(s.mmsi).or_insert_with(|| ais::Static {
                    mmsi: s.mmsi,
                    ..Default::default()
                });
                let before = merged.clone();
                merged.name = s.name.or(merged.name.take());
                merged.call_sign = s.call_sign.or(merged.call_sign.take());
                merged.ship_type = s.ship_type.or(merged.ship_type);
                merged.length_m = s.length_m.or(merged.length_m);
                let missing = reg.vessels.get(&s.mmsi).is_some_and(|v| {
                    (v.name.is_none() && merged.name.is_some())
                        || (v.call_sign.is_none() && merged.call_sign.is_some())
                        || (v.ship_type.is_none() && merged.ship_type.is_some())
                        || (v.length_m.is_none() && merged.length_m.is_some())
                });
                if missing && *merged != before {
                    fill.push((
                        s.mmsi as i32,
                        merged.name.clone(),
                        merged.call_sign.clone(),
                        merged.ship_type.map(|t| t as i16),
                        merged.length_m.map(|l| l as f32),
                    ));
                }
            }
        }
        if !fill.is_empty() {
            let store = self.store.clone();
            tokio::spawn(async move {
                if let Err(e) = store.fill_vessel_statics(&fill).await {
                    tracing::warn!(error = %e, "filling vessels from AIS static data failed");
                }
            });
        }
    }

    /// Takes positions: applies them to the boats' states and queues them, their transitions
    /// and the registration of unknown boats for the writer. With `wait`, returns once they
    /// are committed.
    pub async fn ingest(&self, fixes: Vec<Fix>, wait: bool) -> Result<IngestOutcome, IngestError> {
        if !self.is_loaded() {
            return Err(IngestError::Loading);
        }
        let mut out = IngestOutcome::default();
        if fixes.is_empty() {
            return Ok(out);
        }
        let reg = self.registry.load_full();
        let mut positions = Vec::with_capacity(fixes.len());
        let mut transitions: Vec<(u32, Transition)> = Vec::new();
        let mut unknown = Vec::new();
        let mut zone_entries: Vec<(u32, Fix, i32)> = Vec::new();
        let mut latest = i64::MIN;
        let wall = crate::time::now_us() / 1000;
        {
            let mut tracks = lock(&self.tracks);
            let mut registering = lock(&self.registering);
            let mut dirty = lock(&self.dirty);
            for fix in &fixes {
                let track = tracks.entry(fix.mmsi).or_insert_with(|| {
                    let class = reg
                        .vessels
                        .get(&fix.mmsi)
                        .and_then(|v| v.class.as_deref().and_then(Class::parse));
                    Track::new(class)
                });
                if !reg.vessels.contains_key(&fix.mmsi) && registering.insert(fix.mmsi) {
                    unknown.push((fix.mmsi as i32, fix.class.map(Class::code)));
                }
                let (used, ts) = track.position(fix, &reg.harbours);
                match used {
                    Use::Used => {
                        track.heard_ms = wall;
                        latest = latest.max(fix.at_ms);
                        let zone = reg.zones.containing(fix.lon, fix.lat).map(|z| z.id);
                        if zone != track.zone {
                            if let Some(z) = zone {
                                zone_entries.push((fix.mmsi, *fix, z));
                            }
                            track.zone = zone;
                        }
                        dirty.insert(fix.mmsi);
                    }
                    Use::OutOfOrder => out.out_of_order += 1,
                    Use::Flagged => out.flagged += 1,
                }
                transitions.extend(ts.into_iter().map(|t| (fix.mmsi, t)));
                positions.push(PositionRow {
                    mmsi: fix.mmsi,
                    at_ms: fix.at_ms,
                    lon: fix.lon,
                    lat: fix.lat,
                    speed_kn: fix.speed_kn,
                    course: fix.course,
                    heading: fix.heading,
                    source: fix.source.code(),
                    flagged: used == Use::Flagged,
                });
            }
        }
        if latest > i64::MIN {
            self.advance_clock(latest);
        }
        out.stored = positions.len();
        out.registered = unknown.len();
        out.transitions = transitions.len();
        let events = self.events_of(&reg, &transitions);
        self.alerts_of(&reg, &transitions, &zone_entries);
        let c = &self.counters;
        c.flagged.fetch_add(out.flagged as u64, Ordering::Relaxed);
        c.out_of_order
            .fetch_add(out.out_of_order as u64, Ordering::Relaxed);
        let (done, wait_on) = if wait {
            let (t, r) = oneshot::channel();
            (Some(t), Some(r))
        } else {
            (None, None)
        };
        self.tx
            .send(WriteJob {
                unknown,
                positions,
                events,
                done,
            })
            .await
            .map_err(|_| IngestError::Closed)?;
        if let Some(r) = wait_on {
            match r.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(IngestError::Store(e)),
                Err(_) => return Err(IngestError::Closed),
            }
        }
        Ok(out)
    }

    /// The vessel events of some transitions.
    fn events_of(&self, reg: &Registry, ts: &[(u32, Transition)]) -> Vec<NewVesselEvent> {
        ts.iter()
            .map(|(mmsi, t)| {
                let mut detail = serde_json::Map::new();
                if let Some(h) = t.harbour.and_then(|h| reg.harbours.get(h)) {
                    detail.insert("harbour_name".into(), json!(h.name));
                }
                if let Some(s) = t.since_ms {
                    detail.insert("since".into(), json!(time(s)));
                }
                if let Some(v) = t.visit {
                    detail.insert("visit".into(), json!(v));
                }
                NewVesselEvent {
                    mmsi: *mmsi as i32,
                    kind: t.kind.code(),
                    at: time(t.at_ms),
                    lon: t.lon,
                    lat: t.lat,
                    harbour_id: t.harbour,
                    detail: Value::Object(detail),
                }
            })
            .collect()
    }

    fn vessel_label(reg: &Registry, mmsi: u32) -> String {
        match reg.vessels.get(&mmsi).and_then(|v| v.name.clone()) {
            Some(n) => format!("{n}（{mmsi}）"),
            None => format!("MMSI {mmsi}"),
        }
    }

    /// Raises the alerts some transitions and zone entries call for.
    fn alerts_of(&self, reg: &Registry, ts: &[(u32, Transition)], zones: &[(u32, Fix, i32)]) {
        let mut alerts = Vec::new();
        for (mmsi, t) in ts {
            match t.kind {
                EventType::PortExit => {
                    let Some(h) = t.harbour.and_then(|h| reg.harbours.get(h)) else {
                        continue;
                    };
                    let at = time(t.at_ms);
                    let ship_type = reg.vessels.get(mmsi).and_then(|v| v.ship_type);
                    for c in reg.closures_at(at) {
                        if c.active(at) && c.covers(h.id, h.lat, ship_type) {
                            alerts.push(self.alert(
                                reg,
                                "closure_departure",
                                *mmsi,
                                format!("closure:{}|vessel:{mmsi}", c.id),
                                format!(
                                    "{} 在{}期间驶离{}",
                                    Self::vessel_label(reg, *mmsi),
                                    c.name,
                                    h.name
                                ),
                                (t.lon, t.lat),
                                json!({"closure": c.id, "closure_name": c.name, "harbour": h.id,
                                       "harbour_name": h.name, "at": at}),
                            ));
                        }
                    }
                }
                EventType::Dark => alerts.push(self.alert(
                    reg,
                    "dark_at_sea",
                    *mmsi,
                    format!("vessel:{mmsi}"),
                    format!(
                        "{} 在海上超过 6 小时无位置信号",
                        Self::vessel_label(reg, *mmsi)
                    ),
                    (t.lon, t.lat),
                    json!({"since": t.since_ms.map(time), "at": time(t.at_ms)}),
                )),
                _ => {}
            }
        }
        for (mmsi, fix, zone) in zones {
            let name = reg
                .zones
                .list
                .iter()
                .find(|z| z.id == *zone)
                .map_or(String::new(), |z| z.name.clone());
            alerts.push(self.alert(
                reg,
                "zone_entry",
                *mmsi,
                format!("zone:{zone}|vessel:{mmsi}"),
                format!("{} 驶入{}", Self::vessel_label(reg, *mmsi), name),
                (fix.lon, fix.lat),
                json!({"zone": zone, "zone_name": name, "at": time(fix.at_ms)}),
            ));
        }
        self.raise(alerts);
    }

    #[allow(clippy::too_many_arguments)]
    fn alert(
        &self,
        reg: &Registry,
        kind: &'static str,
        mmsi: u32,
        subject: String,
        message: String,
        (lon, lat): (f64, f64),
        detail: Value,
    ) -> NewAlert {
        let village = reg.vessels.get(&mmsi).and_then(|v| v.village_code.clone());
        let chain = reg.chain(village.as_deref());
        NewAlert {
            kind,
            subject,
            message,
            asset_id: None,
            event_id: None,
            mmsi: Some(mmsi as i32),
            chain: [chain[2].clone(), chain[1].clone(), chain[0].clone()],
            lon: Some(lon),
            lat: Some(lat),
            detail,
        }
    }

    /// Stores alerts (one open per kind and subject) and sends the new ones live.
    fn raise(&self, alerts: Vec<NewAlert>) {
        if alerts.is_empty() {
            return;
        }
        let store = self.store.clone();
        let live = self.live.clone();
        let analytics = self.analytics.clone();
        tokio::spawn(async move {
            for a in alerts {
                match store.raise_alert(&a).await {
                    Ok(Some(row)) => {
                        tracing::info!(
                            kind = row.kind,
                            subject = row.subject,
                            "vessel alert raised"
                        );
                        let names = analytics.names();
                        let json = crate::assets::alerts::alert_json(&row, &names).to_string();
                        live.publish_alert(crate::assets::alerts::stream_chain(&row), &json);
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "raising a vessel alert failed"),
                }
            }
        });
    }

    /// The compact JSON of a boat (lists and the live push).
    pub fn vessel_json(&self, reg: &Registry, mmsi: u32, t: Option<&Track>, now_ms: i64) -> Value {
        self.vessel_json_of(
            reg,
            reg.vessels.get(&mmsi).map(|v| v.as_ref()),
            mmsi,
            t,
            now_ms,
        )
    }

    /// The same for a registry row that may be newer than the registry's (just written).
    pub fn vessel_json_of(
        &self,
        reg: &Registry,
        v: Option<&VesselRow>,
        mmsi: u32,
        t: Option<&Track>,
        now_ms: i64,
    ) -> Value {
        let names = self.analytics.names();
        let harbour = |id: Option<i32>| {
            id.and_then(|h| reg.harbours.get(h))
                .map(|h| json!({"id": h.id, "name": h.name}))
        };
        let state = t.map_or(State::Unknown, Track::state);
        let last = t.and_then(|t| t.last);
        let class = t
            .and_then(|t| t.class)
            .map(Class::code)
            .or_else(|| v.and_then(|v| v.class.as_deref()))
            .map(str::to_string);
        let name = v
            .and_then(|v| v.name.clone())
            .or_else(|| self.ais_static(mmsi).and_then(|s| s.name));
        json!({
            "mmsi": mmsi,
            "name": name,
            "class": class,
            "ship_type": v.and_then(|v| v.ship_type),
            "state": state.code(),
            "state_name": state.label(),
            "stopped": t.is_some_and(|t| t.stopped),
            "lon": last.map(|f| (f.lon * 1e6).round() / 1e6),
            "lat": last.map(|f| (f.lat * 1e6).round() / 1e6),
            "speed_kn": last.and_then(|f| f.speed_kn),
            "course": last.and_then(|f| f.course),
            "heading": last.and_then(|f| f.heading),
            "at": last.map(|f| time(f.at_ms)),
            "age_s": last.map(|f| ((now_ms - f.at_ms) / 1000).max(0)),
            "harbour": harbour(v.and_then(|v| v.harbour_id)),
            "port": harbour(t.and_then(|t| t.port)),
            "village": v.and_then(|v| v.village_code.as_deref()).map(|c| json!({
                "code": c, "name": names.get(c).map(|n| n.name.to_string())})),
            "registered": v.is_some_and(|v| v.registered),
        })
    }

    /// The JSON of a stored vessel event.
    pub fn event_json(&self, reg: &Registry, e: &crate::store::vessels::VesselEventRow) -> Value {
        let kind = EventType::parse(&e.kind);
        json!({
            "id": e.id,
            "mmsi": e.mmsi,
            "vessel_name": reg.vessels.get(&(e.mmsi as u32)).and_then(|v| v.name.clone()),
            "type": e.kind,
            "type_name": kind.map_or("", EventType::label),
            "at": e.at,
            "lon": e.lon,
            "lat": e.lat,
            "harbour": e.harbour_id.and_then(|h| reg.harbours.get(h)).map(|h| json!({"id": h.id, "name": h.name})),
            "detail": e.detail,
        })
    }

    /// Writes queued positions until the server stops: one transaction per burst.
    pub async fn run_writer(self: Arc<Self>) {
        let Some(mut rx) = lock(&self.rx).take() else {
            return;
        };
        while let Some(first) = rx.recv().await {
            let mut jobs = vec![first];
            let mut n = jobs[0].positions.len();
            while n < WRITE_BURST {
                match rx.try_recv() {
                    Ok(j) => {
                        n += j.positions.len();
                        jobs.push(j);
                    }
                    Err(_) => break,
                }
            }
            self.write(jobs).await;
        }
    }

    async fn write(&self, jobs: Vec<WriteJob>) {
        let mut unknown = Vec::new();
        let mut positions = Vec::new();
        let mut events = Vec::new();
        let mut acks = Vec::new();
        for j in jobs {
            unknown.extend(j.unknown);
            positions.extend(j.positions);
            events.extend(j.events);
            acks.extend(j.done);
        }
        let mut result = self.write_once(&unknown, &positions, &events).await;
        if result.is_err() && acks.is_empty() {
            // Nobody waits: try once more before giving the rows up.
            tokio::time::sleep(Duration::from_secs(1)).await;
            result = self.write_once(&unknown, &positions, &events).await;
        }
        match result {
            Ok(ids) => {
                let c = &self.counters;
                c.stored
                    .fetch_add(positions.len() as u64, Ordering::Relaxed);
                c.registered
                    .fetch_add(unknown.len() as u64, Ordering::Relaxed);
                c.events.fetch_add(ids.len() as u64, Ordering::Relaxed);
                for a in acks {
                    let _ = a.send(Ok(()));
                }
                self.publish_events(&events, &ids);
            }
            Err(e) => {
                tracing::warn!(error = %e, positions = positions.len(), "storing positions failed");
                let c = &self.counters;
                c.write_failures.fetch_add(1, Ordering::Relaxed);
                if acks.is_empty() {
                    c.positions_lost
                        .fetch_add(positions.len() as u64, Ordering::Relaxed);
                }
                // Unknown boats may be named again.
                let mut registering = lock(&self.registering);
                for (m, _) in &unknown {
                    registering.remove(&(*m as u32));
                }
                for a in acks {
                    let _ = a.send(Err(e.to_string()));
                }
            }
        }
    }

    async fn write_once(
        &self,
        unknown: &[(i32, Option<&'static str>)],
        positions: &[PositionRow],
        events: &[NewVesselEvent],
    ) -> Result<Vec<i64>, StoreError> {
        let days: Vec<NaiveDate> = {
            let known = lock(&self.days);
            let mut d: Vec<NaiveDate> = positions
                .iter()
                .map(|p| time(p.at_ms).date_naive())
                .filter(|d| !known.contains(d))
                .collect();
            d.sort_unstable();
            d.dedup();
            d
        };
        if !days.is_empty() {
            self.store.ensure_position_days(&days).await?;
            lock(&self.days).extend(days);
        }
        self.store.write_positions(unknown, positions, events).await
    }

    fn publish_events(&self, events: &[NewVesselEvent], ids: &[i64]) {
        if ids.is_empty() {
            return;
        }
        let reg = self.registry.load();
        for (e, id) in events.iter().zip(ids) {
            let row = crate::store::vessels::VesselEventRow {
                id: *id,
                mmsi: e.mmsi,
                kind: e.kind.to_string(),
                at: e.at,
                lon: Some(e.lon),
                lat: Some(e.lat),
                harbour_id: e.harbour_id,
                detail: e.detail.clone(),
            };
            let village = reg
                .vessels
                .get(&(e.mmsi as u32))
                .and_then(|v| v.village_code.clone());
            self.live.publish_vessel_event(
                reg.chain(village.as_deref()),
                &self.event_json(&reg, &row).to_string(),
            );
        }
    }

    /// The passing of time, the live push and the retention, until the server stops.
    pub async fn run_clock(self: Arc<Self>) {
        let mut last_clock: Option<i64> = None;
        let mut last_tiles = Instant::now();
        let mut redraw_due = false;
        let mut last_retention: Option<Instant> = None;
        let mut tick = tokio::time::interval(PUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if !self.is_loaded() {
                continue;
            }
            let now = self.now_ms();
            self.time_passes(last_clock, now).await;
            last_clock = Some(now);
            redraw_due |= self.push(now);
            if redraw_due && last_tiles.elapsed() >= TILE_EVERY {
                self.redraw();
                last_tiles = Instant::now();
                redraw_due = false;
            }
            if last_retention.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
                last_retention = Some(Instant::now());
                self.retention().await;
            }
        }
    }

    /// Lost and dark boats, closures starting between `from` and `now`.
    async fn time_passes(&self, from: Option<i64>, now: i64) {
        let reg = self.registry.load_full();
        let mut ts = Vec::new();
        let mut at_sea_when_closed = Vec::new();
        let wall = crate::time::now_us() / 1000;
        let starting: Vec<Closure> = match from {
            Some(from) => reg
                .closures_at(time(now))
                .into_iter()
                .filter(|c| {
                    let s = c.from.timestamp_millis();
                    s > from && s <= now
                })
                .collect(),
            None => Vec::new(),
        };
        {
            let mut tracks = lock(&self.tracks);
            let mut dirty = lock(&self.dirty);
            for (mmsi, t) in tracks.iter_mut() {
                if let Some(tr) = t.clock(now, wall) {
                    dirty.insert(*mmsi);
                    ts.push((*mmsi, tr));
                }
                if !starting.is_empty() && t.last.is_some() && t.port.is_none() {
                    let v = reg.vessels.get(mmsi);
                    let home = v
                        .and_then(|v| v.harbour_id)
                        .and_then(|h| reg.harbours.get(h));
                    for c in &starting {
                        if let Some(h) = home
                            && c.covers(h.id, h.lat, v.and_then(|v| v.ship_type))
                        {
                            at_sea_when_closed.push((*mmsi, t.last, c.clone()));
                        }
                    }
                }
            }
        }
        let mut alerts = Vec::new();
        for (mmsi, last, c) in at_sea_when_closed {
            let (lon, lat) = last.map_or((0.0, 0.0), |f| (f.lon, f.lat));
            alerts.push(self.alert(
                &reg,
                "closure_at_sea",
                mmsi,
                format!("closure:{}|vessel:{mmsi}", c.id),
                format!(
                    "{}开始时 {} 仍在海上",
                    c.name,
                    Self::vessel_label(&reg, mmsi)
                ),
                (lon, lat),
                json!({"closure": c.id, "closure_name": c.name, "from": c.from}),
            ));
        }
        self.raise(alerts);
        if ts.is_empty() {
            return;
        }
        let events = self.events_of(&reg, &ts);
        self.alerts_of(&reg, &ts, &[]);
        let _ = self
            .tx
            .send(WriteJob {
                unknown: Vec::new(),
                positions: Vec::new(),
                events,
                done: None,
            })
            .await;
    }

    /// Sends the boats that changed since the last push; true if any did.
    fn push(&self, now: i64) -> bool {
        let dirty: Vec<u32> = lock(&self.dirty).drain().collect();
        if dirty.is_empty() {
            return false;
        }
        let reg = self.registry.load();
        let items: Vec<([Option<String>; 5], String)> = {
            let tracks = lock(&self.tracks);
            dirty
                .iter()
                .map(|m| {
                    let t = tracks.get(m);
                    let village = reg.vessels.get(m).and_then(|v| v.village_code.clone());
                    (
                        reg.chain(village.as_deref()),
                        self.vessel_json(&reg, *m, t, now).to_string(),
                    )
                })
                .collect()
        };
        self.live.publish_vessels(items);
        true
    }

    /// Rebuilds what the boats tile layer draws.
    pub fn redraw(&self) {
        let reg = self.registry.load();
        let tracks = lock(&self.tracks);
        let dots: Vec<Dot> = tracks
            .iter()
            .filter_map(|(m, t)| {
                let last = t.last?;
                let v = reg.vessels.get(m);
                let village = v.and_then(|v| v.village_code.clone());
                Some(Dot {
                    mmsi: *m,
                    lon: last.lon,
                    lat: last.lat,
                    state: t.state(),
                    class: t.class,
                    speed_kn: last.speed_kn,
                    course: last.course,
                    name: v.and_then(|v| v.name.clone()),
                    port: t.port,
                    chain: reg.chain(village.as_deref()),
                })
            })
            .collect();
        drop(tracks);
        self.dots.store(Arc::new(dots));
        self.dots_epoch.fetch_add(1, Ordering::AcqRel);
    }

    async fn retention(&self) {
        let keep = time(self.oldest_ms()).date_naive();
        match self.store.drop_position_days_before(keep).await {
            Ok(d) if !d.is_empty() => {
                tracing::info!(days = ?d, "dropped days of positions past the retention");
                let mut days = lock(&self.days);
                days.retain(|day| *day >= keep);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "dropping old positions failed"),
        }
    }

    /// Reads the registry, harbours, closures and zones again.
    async fn reload(&self) -> Result<(), StoreError> {
        let started = Instant::now();
        let (vessels, harbours, closures, zones) = tokio::try_join!(
            self.store.vessels(),
            self.store.harbours(),
            self.store.closures(),
            self.store.zones()
        )?;
        let old = self.registry.load_full();
        let registry = Registry {
            vessels: vessels
                .into_iter()
                .map(|v| (v.mmsi as u32, Arc::new(v)))
                .collect(),
            harbours: Harbours::new(
                harbours
                    .into_iter()
                    .map(|h| Harbour {
                        id: h.id,
                        name: h.name,
                        kind: HarbourKind::parse(&h.kind).unwrap_or(HarbourKind::Harbour),
                        lon: h.lon,
                        lat: h.lat,
                        fairway: h.fairway,
                        town_code: h.town_code,
                    })
                    .collect(),
            ),
            zones: Zones {
                list: zones
                    .into_iter()
                    .filter_map(|z| Zone::new(z.id, z.name, z.polygon))
                    .collect(),
            },
            closures: closures
                .into_iter()
                .map(|c| Closure {
                    id: c.id.to_string(),
                    name: c.name,
                    harbours: c.harbour_ids,
                    from: c.starts_at,
                    to: c.ends_at,
                    reason: c.reason,
                    moratorium: false,
                })
                .collect(),
            parents: old.parents.clone(),
        };
        {
            let mut registering = lock(&self.registering);
            registering.retain(|m| !registry.vessels.contains_key(m));
        }
        tracing::info!(
            vessels = registry.vessels.len(),
            harbours = registry.harbours.list().len(),
            closures = registry.closures.len(),
            zones = registry.zones.list.len(),
            ms = started.elapsed().as_millis() as u64,
            "vessel registry read"
        );
        self.registry.store(Arc::new(registry));
        self.registry_epoch.fetch_add(1, Ordering::AcqRel);
        self.registry_in.store(true, Ordering::Release);
        if self.tracks_in.load(Ordering::Acquire) {
            // Names and villages of the boats may have changed.
            self.redraw();
        }
        Ok(())
    }

    /// After a start: each boat from its latest stored position and port event.
    fn patch(&self, delta: &crate::feed::VesselDelta) {
        let old = self.registry.load_full();
        let mut vessels = old.vessels.clone();
        for m in &delta.deleted {
            vessels.remove(&(*m as u32));
        }
        for r in &delta.rows {
            vessels.insert(r.mmsi as u32, Arc::new(r.clone()));
        }
        {
            let mut registering = lock(&self.registering);
            registering.retain(|m| !vessels.contains_key(m));
        }
        self.registry.store(Arc::new(Registry {
            vessels,
            harbours: old.harbours.clone(),
            zones: old.zones.clone(),
            closures: old.closures.clone(),
            parents: old.parents.clone(),
        }));
        self.registry_epoch.fetch_add(1, Ordering::AcqRel);
    }

    async fn restore(&self) -> Result<(), StoreError> {
        if self.tracks_in.load(Ordering::Acquire) {
            return Ok(());
        }
        let since = time(crate::time::now_us() / 1000 - 7 * 86_400_000);
        let (latest, ports) = tokio::try_join!(
            self.store.latest_positions(since),
            self.store.last_port_events()
        )?;
        let reg = self.registry.load_full();
        let ports: HashMap<i32, _> = ports.into_iter().map(|e| (e.mmsi, e)).collect();
        let mut tracks = HashMap::with_capacity(latest.len());
        let mut newest = None;
        for p in latest {
            let fix = Fix {
                mmsi: p.mmsi as u32,
                at_ms: p.at.timestamp_millis(),
                lon: p.lon,
                lat: p.lat,
                speed_kn: p.speed_kn,
                course: p.course,
                heading: p.heading.map(|h| h as u16),
                status: None,
                class: None,
                source: model::Source::parse(&p.source).unwrap_or(model::Source::Ais),
            };
            newest = newest.max(Some(fix.at_ms));
            let class = reg
                .vessels
                .get(&fix.mmsi)
                .and_then(|v| v.class.as_deref().and_then(Class::parse));
            let mut t = Track::new(class);
            match ports.get(&p.mmsi) {
                Some(e) if e.kind == "port_entry" => {
                    t.port = e.harbour_id;
                }
                Some(e) if e.kind == "port_exit" => {
                    t.trip = e.harbour_id.map(|h| (h, e.at.timestamp_millis()));
                }
                _ => {}
            }
            t.stopped = fix.speed_kn.is_some_and(|s| s < track::STOP_START_KN);
            t.last = Some(fix);
            tracks.insert(fix.mmsi, t);
        }
        let n = tracks.len();
        *lock(&self.tracks) = tracks;
        if let Some(at) = newest {
            self.advance_clock(at);
        }
        self.tracks_in.store(true, Ordering::Release);
        self.redraw();
        tracing::info!(
            boats = n,
            "vessel states restored from the latest positions"
        );
        Ok(())
    }

    fn set_areas(&self, rows: &[crate::store::areas::AreaShape], replace: bool) {
        let old = self.registry.load_full();
        let mut parents = if replace {
            HashMap::new()
        } else {
            old.parents.clone()
        };
        for r in rows {
            if matches!(r.level, Level::Village | Level::Town | Level::District) {
                parents.insert(r.code.clone(), r.parent.clone());
            }
        }
        self.registry.store(Arc::new(Registry {
            vessels: old.vessels.clone(),
            harbours: old.harbours.clone(),
            zones: old.zones.clone(),
            closures: old.closures.clone(),
            parents,
        }));
    }
}

impl ChangeSink for Fleet {
    fn name(&self) -> &'static str {
        "vessels"
    }

    fn apply<'a>(&'a self, change: &'a Change) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            match change {
                Change::AreasLoaded(rows) => self.set_areas(rows, true),
                Change::AreasChanged(delta) => self.set_areas(&delta.rows, false),
                Change::VesselsReload => {
                    self.reload().await?;
                    self.restore().await?;
                }
                Change::VesselsChanged(delta) => self.patch(delta),
                _ => {}
            }
            Ok(())
        })
    }
}
