//! Fire and flood protection (issue #12; contract docs/FIRE.md): assets on the map (heritage
//! sites, hydrants, natural water, fire stations, sensors), their coverage, the nearest water,
//! the sensors' states and the alerts. No HTTP and no SQL here.
//!
//! `Fire` is a follower of the change feed: it reads the villages from the areas and the assets
//! from the `asset` table (every write, from the API, an import or plain SQL, comes back as an
//! `asset:ids:` notice), keeps `FireView` (the assets with their indexes, the villages and the
//! coverage at the default radius) current, and raises alerts: hydrants that cannot be counted
//! on near heritage sites (on asset changes and hourly), fire events near heritage sites (on
//! event changes), sensor alarms and silences (on readings and every `WATCH_EVERY`). Alerts are
//! stored (one open per kind and subject) and sent to the live hub.

pub mod alerts;
pub mod coverage;
pub mod demo;
pub mod model;
pub mod nearest;
pub mod sensors;
pub mod set;
pub mod simulate;
pub mod tiles;

use crate::events::analytics::EventAnalytics;
use crate::events::analytics::view::{category_idx, source_idx, status_idx};
use crate::events::model::{Category, Source, Status};
use crate::feed::{AssetDelta, Change, ChangeSink, SinkError};
use crate::index::{AssignIndex, DEFAULT_TOLERANCE_M, Snapshot};
use crate::live::LiveHub;
use crate::model::Level;
use crate::store::areas::AreaShape;
use crate::store::assets::{AssetRow, AssetWrite, NewAlert};
use crate::store::{Store, StoreError};
use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use coverage::{Coverage, DEFAULT_RADIUS_M, Village, Villages};
use futures_util::future::BoxFuture;
use model::{AssetDraft, AssetKind, SensorType, Spec};
use sensors::{Reading, ReadingsError, RowError, SensorState, Transition};
use set::{Asset, AssetSet};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How often silences are looked for.
const WATCH_EVERY: Duration = Duration::from_secs(15);
/// How often every hydrant near a heritage site is checked for overdue inspections.
const HYDRANT_CHECK_EVERY: Duration = Duration::from_secs(3600);

/// What the fire engine holds at one moment.
#[derive(Default)]
pub struct FireView {
    pub set: Arc<AssetSet>,
    pub villages: Arc<Villages>,
    /// At `DEFAULT_RADIUS_M`.
    pub coverage: Arc<Coverage>,
    /// Moves on with every change (tiles are cached under it).
    pub generation: u64,
    areas_in: bool,
    assets_in: bool,
}

impl FireView {
    pub fn asset(&self, id: i64) -> Option<&Arc<Asset>> {
        self.set.get(id)
    }
}

/// Counters of the sensor feed (for `/readyz`).
#[derive(Debug, Default, serde::Serialize)]
pub struct FeedCounters {
    pub readings_stored: u64,
    pub readings_duplicate: u64,
    pub readings_late: u64,
    pub readings_refused: u64,
    pub alarms: u64,
    pub events_opened: u64,
}

#[derive(Default)]
struct Counters {
    stored: AtomicU64,
    duplicate: AtomicU64,
    late: AtomicU64,
    refused: AtomicU64,
    alarms: AtomicU64,
    events: AtomicU64,
}

/// The fire engine of one server process.
pub struct Fire {
    store: Store,
    index: Arc<AssignIndex>,
    analytics: Arc<EventAnalytics>,
    live: Arc<LiveHub>,
    view: ArcSwap<FireView>,
    /// Applying a change (one at a time: the feed calls in order; the lock keeps the watch
    /// task's swaps out of the way).
    apply_lock: tokio::sync::Mutex<()>,
    sensors: Mutex<HashMap<i64, SensorState>>,
    /// The event each sensor's last alarm opened, as soon as it is opened (the asset rows
    /// carry it too, but reach the view only through the feed).
    alarm_events: Mutex<HashMap<i64, i64>>,
    sensors_read: AtomicBool,
    /// Left-right copies of the asset set: the one not in the view, with the changes it has
    /// not had yet. A change is applied in place to this copy (a copy is made only when a
    /// reader still holds it), which then goes into the view; the set it replaces becomes the
    /// spare. So a change costs a few tree edits, not a copy of 100,000 points.
    spare: Mutex<Option<Spare>>,
    counters: Counters,
    generation: AtomicU64,
}

/// What a batch of readings did.
#[derive(Debug)]
pub struct ReadingsOutcome {
    pub stored: usize,
    pub duplicates: usize,
    pub late: usize,
    pub errors: Vec<RowError>,
    pub alarms: usize,
}

/// Why an asset cannot be placed.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("分配索引正在加载，请稍候 (the assignment index is still loading)")]
    IndexLoading,
    #[error(
        "坐标 ({lon}, {lat}) 不在本市范围内；若确需登记市外设施，请设置 allow_outside: true (the point is outside the city)"
    )]
    OutsideCity { lon: f64, lat: f64 },
    #[error("传感器所属文物 {0} 不存在 (props.site_id names no heritage site)")]
    NoSuchSite(i64),
}

impl Fire {
    pub fn new(
        store: Store,
        index: Arc<AssignIndex>,
        analytics: Arc<EventAnalytics>,
        live: Arc<LiveHub>,
    ) -> Fire {
        Fire {
            store,
            index,
            analytics,
            live,
            view: ArcSwap::from_pointee(FireView::default()),
            apply_lock: tokio::sync::Mutex::new(()),
            sensors: Mutex::new(HashMap::new()),
            alarm_events: Mutex::new(HashMap::new()),
            sensors_read: AtomicBool::new(false),
            spare: Mutex::new(None),
            counters: Counters::default(),
            generation: AtomicU64::new(1),
        }
    }

    /// The view in force now.
    pub fn view(&self) -> Arc<FireView> {
        self.view.load_full()
    }

    /// True once the assets, the villages and the coverage are in.
    pub fn is_loaded(&self) -> bool {
        let v = self.view.load();
        v.areas_in && v.assets_in
    }

    pub fn counters(&self) -> FeedCounters {
        let c = &self.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        FeedCounters {
            readings_stored: l(&c.stored),
            readings_duplicate: l(&c.duplicate),
            readings_late: l(&c.late),
            readings_refused: l(&c.refused),
            alarms: l(&c.alarms),
            events_opened: l(&c.events),
        }
    }

    fn sensors(&self) -> MutexGuard<'_, HashMap<i64, SensorState>> {
        self.sensors.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state of every sensor in the set.
    pub fn sensor_states(&self) -> HashMap<i64, SensorState> {
        self.sensors().clone()
    }

    fn next_generation(&self) -> u64 {
        self.generation.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Places a checked asset in the area tree: the row to write.
    pub fn place(&self, draft: AssetDraft) -> Result<AssetWrite, PlaceError> {
        if !self.index.is_loaded() {
            return Err(PlaceError::IndexLoading);
        }
        let view = self.view();
        place(&self.index.snapshot(), draft, |site| {
            view.asset(site)
                .is_some_and(|a| a.kind() == AssetKind::Heritage)
        })
    }

    /// The coverage at `radius_m` of the villages `codes` (all at the default radius: the
    /// kept one).
    pub fn coverage_at(&self, radius_m: f64, codes: Option<&[Arc<str>]>) -> Arc<Coverage> {
        let view = self.view();
        if (radius_m - DEFAULT_RADIUS_M).abs() < 1e-9 {
            return view.coverage.clone();
        }
        let villages = match codes {
            None => view.villages.clone(),
            Some(codes) => Arc::new(Villages::new(
                codes
                    .iter()
                    .filter_map(|c| view.villages.by_code.get(c).cloned())
                    .collect(),
            )),
        };
        Arc::new(Coverage::compute(&view.set, &villages, radius_m))
    }

    /// Stores a batch of readings and moves the sensors' states; opens events and raises
    /// alerts for the alarms it starts. The good rows are committed when this returns.
    pub async fn ingest_readings(&self, body: &[u8]) -> Result<ReadingsOutcome, IngestFailure> {
        if !self.is_loaded() {
            return Err(IngestFailure::Refused(ReadingsError::Loading));
        }
        let view = self.view();
        let (good, errors) = match sensors::parse(body, &view.set, Utc::now()) {
            Ok(p) => p,
            Err(e) => {
                if let ReadingsError::NoValid(rows) = &e {
                    self.counters
                        .refused
                        .fetch_add(rows.len() as u64, Ordering::Relaxed);
                }
                return Err(IngestFailure::Refused(e));
            }
        };
        let ids: Vec<i64> = good.iter().map(|r| r.sensor).collect();
        let ats: Vec<DateTime<Utc>> = good.iter().map(|r| r.at).collect();
        let values: Vec<f64> = good.iter().map(|r| r.value).collect();
        let fresh_flags = self.store.insert_readings(&ids, &ats, &values).await?;
        let fresh: Vec<Reading> = good
            .iter()
            .zip(&fresh_flags)
            .filter(|(_, f)| **f)
            .map(|(r, _)| *r)
            .collect();
        let applied = sensors::apply(&mut self.sensors(), &view.set, &fresh);
        let c = &self.counters;
        c.stored.fetch_add(fresh.len() as u64, Ordering::Relaxed);
        c.duplicate
            .fetch_add((good.len() - fresh.len()) as u64, Ordering::Relaxed);
        c.late.fetch_add(applied.late as u64, Ordering::Relaxed);
        c.refused.fetch_add(errors.len() as u64, Ordering::Relaxed);
        let alarms = applied.transitions.len();
        for t in applied.transitions {
            let Transition::AlarmRaised { sensor, at, value } = t;
            c.alarms.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = self.alarm(&view, sensor, at, value).await {
                tracing::warn!(sensor, error = %e, "handling a sensor alarm failed");
            }
        }
        Ok(ReadingsOutcome {
            stored: fresh.len(),
            duplicates: good.len() - fresh.len(),
            late: applied.late,
            errors,
            alarms,
        })
    }

    /// An alarm of `sensor`: opens an event through the event loop (unless the one it opened
    /// before is still open) and raises the alert.
    async fn alarm(
        &self,
        view: &FireView,
        sensor: i64,
        at: DateTime<Utc>,
        value: f64,
    ) -> Result<(), StoreError> {
        let Some(a) = view.asset(sensor) else {
            return Ok(());
        };
        let Spec::Sensor(props) = &a.spec else {
            return Ok(());
        };
        let site = props.site_id.and_then(|s| view.asset(s));
        let water = alerts::nearest_water_json(&view.set, a.lon, a.lat, 3);
        let water_text: Vec<String> = water
            .iter()
            .map(|w| {
                format!(
                    "{}（{}，{:.0} 米，{}）",
                    w["name"].as_str().unwrap_or(""),
                    w["kind_name"].as_str().unwrap_or(""),
                    w["distance_m"].as_f64().unwrap_or(0.0),
                    alerts::compass(w["bearing_deg"].as_f64().unwrap_or(0.0))
                )
            })
            .collect();
        let place = site.map_or_else(
            || a.name.to_string(),
            |s| format!("{}（{}）", s.name, a.name),
        );
        let what = format!(
            "{}报警：{place} 读数 {value} 超过阈值 {}",
            props.kind.label(),
            props.threshold()
        );
        let known = self
            .alarm_events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&sensor)
            .copied()
            .or(a.alarm_event_id);
        let open = match known {
            Some(e) => self.store.event_is_open(e).await?.unwrap_or(false),
            None => false,
        };
        let event_id = if open {
            known
        } else {
            let opened = self
                .open_event(a, props.kind, site.is_some(), at, &what, &water_text)
                .await;
            match opened {
                Ok(id) => {
                    self.counters.events.fetch_add(1, Ordering::Relaxed);
                    self.alarm_events
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(sensor, id);
                    self.store.set_alarm_event(sensor, Some(id)).await?;
                    Some(id)
                }
                Err(e) => {
                    tracing::warn!(sensor, error = %e, "a sensor alarm could not open an event");
                    None
                }
            }
        };
        let kind = if props.kind == SensorType::WaterLevel {
            "water_level"
        } else {
            "sensor_alarm"
        };
        let alert = NewAlert {
            kind,
            subject: format!("sensor:{sensor}"),
            message: what,
            asset_id: Some(sensor),
            event_id,
            mmsi: None,
            chain: village_chain(a),
            lon: Some(a.lon),
            lat: Some(a.lat),
            detail: serde_json::json!({
                "value": value, "at": at, "threshold": props.threshold(),
                "sensor_type": props.kind.code(), "site_id": props.site_id, "water": water,
            }),
        };
        self.raise(alert).await
    }

    /// Opens the event of an alarm through the event loop (a client id per sensor and time,
    /// so a retry cannot open two).
    async fn open_event(
        &self,
        a: &Asset,
        kind: SensorType,
        on_site: bool,
        at: DateTime<Utc>,
        what: &str,
        water: &[String],
    ) -> Result<i64, String> {
        use crate::events::reporting::ingest::{IngestOutcome, ReportRequest, report};
        let category = match kind {
            SensorType::WaterLevel => Category::Environment,
            SensorType::Smoke | SensorType::Temperature if !on_site => Category::ForestFire,
            _ => Category::SafetyHazard,
        };
        let mut description = what.to_string();
        if !water.is_empty() {
            description.push_str("。最近水源：");
            description.push_str(&water.join("；"));
        }
        let body = serde_json::json!({
            "id": format!("iot-{}-{}", a.id, at.timestamp_millis()),
            "category": category.code(),
            "subcategory": format!("{}报警", kind.label()),
            "source": Source::Iot.code(),
            "priority": "urgent",
            "description": description.chars().take(3900).collect::<String>(),
            "reporter": format!("传感器 {}", a.id),
            "lon": a.lon, "lat": a.lat,
            "reported_at": at.to_rfc3339(),
        });
        let id = Arc::new(Mutex::new(None));
        let seen = id.clone();
        let request = ReportRequest {
            body: body.to_string().into_bytes(),
            crs: crate::crs::Crs::Wgs84,
            key: None,
            scope: None,
        };
        report(&self.store, &self.index, request, move |o| {
            if let IngestOutcome::Single { event, .. } = o {
                *seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(event.id);
            }
            crate::store::event_reports::Answer {
                status: 201,
                body: serde_json::Value::Null,
            }
        })
        .await
        .map_err(|e| e.to_string())?;
        let got = *id.lock().unwrap_or_else(|e| e.into_inner());
        got.ok_or_else(|| "the event loop gave no event".to_string())
    }

    /// Stores an alert (unless one of its kind and subject is open) and streams it.
    pub async fn raise(&self, alert: NewAlert) -> Result<(), StoreError> {
        if let Some(row) = self.store.raise_alert(&alert).await? {
            let json = alerts::alert_json(&row, &self.analytics.names());
            self.live
                .publish_alert(alerts::stream_chain(&row), &json.to_string());
            tracing::info!(
                kind = row.kind,
                id = row.id,
                "fire alert raised: {}",
                row.message
            );
        }
        Ok(())
    }

    async fn raise_all(&self, list: Vec<NewAlert>) {
        for a in list {
            if let Err(e) = self.raise(a).await {
                tracing::warn!(error = %e, "raising an alert failed");
            }
        }
    }

    /// Looks for silent sensors every `WATCH_EVERY` and checks every hydrant near a heritage
    /// site every `HYDRANT_CHECK_EVERY`. Runs until the server stops.
    pub async fn run_watch(self: Arc<Self>) {
        let mut last_hydrant_check = Instant::now();
        loop {
            tokio::time::sleep(WATCH_EVERY).await;
            if !self.is_loaded() {
                continue;
            }
            let view = self.view();
            let silent = sensors::newly_silent(&mut self.sensors(), &view.set, Utc::now());
            for (id, last) in silent {
                let Some(a) = view.asset(id) else { continue };
                let minutes = (Utc::now() - last).num_minutes();
                let alert = NewAlert {
                    kind: "sensor_silent",
                    subject: format!("sensor:{id}"),
                    message: format!("传感器「{}」已 {minutes} 分钟无数据", a.name),
                    asset_id: Some(id),
                    event_id: None,
                    mmsi: None,
                    chain: village_chain(a),
                    lon: Some(a.lon),
                    lat: Some(a.lat),
                    detail: serde_json::json!({"last_at": last}),
                };
                if let Err(e) = self.raise(alert).await {
                    tracing::warn!(error = %e, "raising a silence alert failed");
                }
            }
            if last_hydrant_check.elapsed() > HYDRANT_CHECK_EVERY {
                last_hydrant_check = Instant::now();
                let list = alerts::hydrants_unavailable(&view.set, None, Utc::now().date_naive());
                self.raise_all(list).await;
            }
        }
    }

    async fn load_villages(&self, rows: &[AreaShape]) -> Result<(), SinkError> {
        let villages = villages_from(rows);
        let mut next = self.swap_base();
        next.villages = Arc::new(villages);
        next.areas_in = true;
        self.recompute(next).await
    }

    async fn load_assets(&self, rows: Arc<Vec<AssetRow>>) -> Result<(), SinkError> {
        if !self.sensors_read.load(Ordering::Relaxed) {
            let latest = self.store.latest_readings().await?;
            let mut states = self.sensors();
            for (id, at, value) in latest {
                let s = states.entry(id).or_default();
                s.last_at = Some(at);
                s.last_value = value;
            }
            self.sensors_read.store(true, Ordering::Relaxed);
        }
        let set = tokio::task::spawn_blocking(move || AssetSet::from_rows(&rows))
            .await
            .map_err(|e| SinkError(format!("loading assets panicked: {e}")))?;
        *self.spare.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let mut next = self.swap_base();
        next.set = Arc::new(set);
        next.assets_in = true;
        self.recompute(next).await?;
        let view = self.view();
        let list = alerts::hydrants_unavailable(&view.set, None, Utc::now().date_naive());
        self.raise_all(list).await;
        Ok(())
    }

    /// A copy of the current view's parts, to change some.
    fn swap_base(&self) -> FireView {
        let v = self.view.load();
        FireView {
            set: v.set.clone(),
            villages: v.villages.clone(),
            coverage: v.coverage.clone(),
            generation: v.generation,
            areas_in: v.areas_in,
            assets_in: v.assets_in,
        }
    }

    /// Computes the coverage of `next` from scratch (once both halves are in) and swaps it in.
    async fn recompute(&self, mut next: FireView) -> Result<(), SinkError> {
        if next.areas_in && next.assets_in {
            let (set, villages) = (next.set.clone(), next.villages.clone());
            let started = Instant::now();
            let coverage = tokio::task::spawn_blocking(move || {
                Coverage::compute(&set, &villages, DEFAULT_RADIUS_M)
            })
            .await
            .map_err(|e| SinkError(format!("coverage panicked: {e}")))?;
            tracing::info!(
                villages = coverage.villages.len(),
                sites = coverage.sites.len(),
                ms = started.elapsed().as_millis() as u64,
                "fire coverage computed"
            );
            next.coverage = Arc::new(coverage);
        }
        next.generation = self.next_generation();
        self.view.store(Arc::new(next));
        Ok(())
    }

    async fn patch_assets(&self, delta: &AssetDelta) -> Result<(), SinkError> {
        let base = self.swap_base();
        let old = base.set.clone();
        let mut places = Vec::new();
        let mut hydrants = Vec::new();
        let touches = |a: &Asset| matches!(a.kind(), AssetKind::Hydrant | AssetKind::Heritage);
        for r in &delta.rows {
            if let Some(a) = old.get(r.id)
                && touches(a)
            {
                places.push((a.lon, a.lat));
            }
            if r.kind == "hydrant" || r.kind == "heritage" {
                places.push((r.lon, r.lat));
            }
            if r.kind == "hydrant" {
                hydrants.push(r.id);
            }
        }
        for id in &delta.deleted {
            if let Some(a) = old.get(*id)
                && touches(a)
            {
                places.push((a.lon, a.lat));
            }
        }
        let spare = self.spare.lock().unwrap_or_else(|e| e.into_inner()).take();
        let delta = Arc::new(AssetDelta {
            rows: delta.rows.clone(),
            deleted: delta.deleted.clone(),
        });
        let (areas_in, coverage, villages) =
            (base.areas_in, base.coverage.clone(), base.villages.clone());
        let started = Instant::now();
        let this = delta.clone();
        let (set, coverage) = tokio::task::spawn_blocking(move || {
            let set = next_set(&old, spare, &this);
            let coverage = if areas_in && !places.is_empty() {
                Arc::new(coverage.patched(&set, &villages, &places))
            } else {
                coverage
            };
            (set, coverage)
        })
        .await
        .map_err(|e| SinkError(format!("patching assets panicked: {e}")))?;
        // The set just replaced becomes the spare, owing this change.
        *self.spare.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((base.set.clone(), vec![delta.clone()]));
        tracing::debug!(
            assets = delta.rows.len(),
            ms = started.elapsed().as_millis() as u64,
            "assets and coverage patched"
        );
        let mut next = base;
        next.set = set;
        next.coverage = coverage;
        next.generation = self.next_generation();
        self.view.store(Arc::new(next));
        if !hydrants.is_empty() {
            let view = self.view();
            let list =
                alerts::hydrants_unavailable(&view.set, Some(&hydrants), Utc::now().date_naive());
            self.raise_all(list).await;
        }
        Ok(())
    }

    async fn events_changed(&self, rows: &[crate::events::analytics::view::EventRow]) {
        let fire = category_idx(Category::ForestFire.code());
        let iot = source_idx(Source::Iot.code());
        let finished = [
            status_idx(Status::Closed.code()),
            status_idx(Status::Rejected.code()),
        ];
        let view = self.view();
        let mut list = Vec::new();
        for r in rows {
            if r.category != fire || r.source == iot || finished.contains(&r.status) {
                continue;
            }
            let chain = [r.area[2].clone(), r.area[1].clone(), r.area[0].clone()];
            if let Some(a) = alerts::fire_near_heritage(&view.set, r.id, r.lon, r.lat, chain) {
                list.push(a);
            }
        }
        self.raise_all(list).await;
    }
}

/// Places a checked asset with `snapshot`: the row to write, with its unit, grid, village,
/// town and district (the nearest grid's within the index's tolerance of the city's edge).
/// `is_site` says whether an id is a heritage site (a sensor's `site_id` must be one).
pub fn place(
    snapshot: &Snapshot,
    draft: AssetDraft,
    is_site: impl Fn(i64) -> bool,
) -> Result<AssetWrite, PlaceError> {
    if let Spec::Sensor(s) = &draft.spec
        && let Some(site) = s.site_id
        && !is_site(site)
    {
        return Err(PlaceError::NoSuchSite(site));
    }
    let a = snapshot.assign(draft.lon, draft.lat, DEFAULT_TOLERANCE_M);
    let chain = if a.assigned {
        a.chain
    } else if let Some(n) = a.nearest {
        n.chain
    } else if draft.allow_outside {
        Default::default()
    } else {
        return Err(PlaceError::OutsideCity {
            lon: draft.lon,
            lat: draft.lat,
        });
    };
    let code = |r: &Option<crate::model::AreaRef>| r.as_ref().map(|r| r.code.to_string());
    Ok(AssetWrite {
        kind: draft.spec.kind().code(),
        name: draft.name,
        lon: draft.lon,
        lat: draft.lat,
        geojson: draft.geojson,
        props: draft.spec.to_json(),
        in_service: draft.in_service,
        chain: [
            code(&chain.unit),
            code(&chain.grid),
            code(&chain.village),
            code(&chain.town),
            code(&chain.district),
        ],
    })
}

/// The spare asset set and the changes it has not had yet.
type Spare = (Arc<AssetSet>, Vec<Arc<AssetDelta>>);

/// The set after `delta`: the spare brought up to date in place when no reader holds it,
/// else a patched copy of `current`.
fn next_set(current: &Arc<AssetSet>, spare: Option<Spare>, delta: &AssetDelta) -> Arc<AssetSet> {
    if let Some((mut set, owed)) = spare
        && let Some(s) = Arc::get_mut(&mut set)
    {
        for d in owed {
            s.apply(&d.rows, &d.deleted);
        }
        s.apply(&delta.rows, &delta.deleted);
        return set;
    }
    Arc::new(current.patched(&delta.rows, &delta.deleted))
}

/// Why a batch of readings stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum IngestFailure {
    #[error(transparent)]
    Refused(ReadingsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An asset's village, town and district.
fn village_chain(a: &Asset) -> [Option<String>; 3] {
    [a.chain[2].clone(), a.chain[3].clone(), a.chain[4].clone()].map(|c| c.map(|c| c.to_string()))
}

/// The villages of the area rows, each with its town and district.
pub fn villages_from(rows: &[AreaShape]) -> Villages {
    let parent: HashMap<&str, Option<&Arc<str>>> = rows
        .iter()
        .map(|r| (r.code.as_ref(), r.parent.as_ref()))
        .collect();
    let list = rows
        .iter()
        .filter(|r| r.level == Level::Village)
        .filter_map(|r| {
            let town = r.parent.clone();
            let district = town
                .as_deref()
                .and_then(|t| parent.get(t).copied().flatten().cloned());
            Some(Village {
                code: r.code.clone(),
                name: r.name.clone(),
                parents: [town, district],
                shape: r.geom.clone()?,
            })
        })
        .collect();
    Villages::new(list)
}

impl ChangeSink for Fire {
    fn name(&self) -> &'static str {
        "fire protection"
    }

    fn apply<'a>(&'a self, change: &'a Change) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let _guard = self.apply_lock.lock().await;
            match change {
                Change::AreasLoaded(rows) => self.load_villages(rows).await?,
                Change::AreasChanged(delta) => {
                    let villages_touched = delta.rows.iter().any(|r| r.level == Level::Village)
                        || delta.log.iter().any(|c| c.level == Level::Village);
                    if villages_touched {
                        let rows = self.store.area_shapes().await?;
                        self.load_villages(&rows).await?;
                    }
                }
                Change::AssetsLoaded(rows) => self.load_assets(rows.clone()).await?,
                Change::AssetsChanged(delta) => self.patch_assets(delta).await?,
                Change::EventsChanged(delta) => self.events_changed(&delta.rows).await,
                Change::EventsReload | Change::VesselsReload | Change::VesselsChanged(_) => {}
            }
            Ok(())
        })
    }
}
