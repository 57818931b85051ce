//! Event tiles: the tile source `events` (`EventTiles`), served by the one tile handler at
//! `/tiles/events/{z}/{x}/{y}[.mvt|.pbf]` with its TileJSON at `/tiles/events`.
//!
//! One MVT layer `events`. At z ≤ `MAX_CELL_ZOOM` the events inside the tile are counted per
//! H3 cell (resolution by zoom, `cell_res`: a cell spans roughly 10–30 px) and each cell is a
//! point at its centre with `count` and `cell`; a cell that straddles a tile edge appears in
//! each tile with that tile's share, so the counts of a tile always add up to the events
//! inside it. "Inside" is decided by tile index (`TileId::contains`: half-open, west and north
//! edges in, the same rule at every zoom), so an event on a shared edge or corner is counted
//! in exactly one tile and the tiles of a block add up to the block. At z ≥ 14 every event is
//! a point with `id`, `category`, `status`, `source`, `reported_at` and `count` = 1.
//!
//! Filters: `category`, `source`, `status`, `area`, `from`, `to` as in `filter.rs` (default
//! window: the last 30 days), normalised into the filter's canonical form for the cache key.
//! Freshness: the source's epoch is the view's generation, which every applied change bumps;
//! a tile is cached under the generation of the snapshot it was rendered from, so a tile is
//! never served from before a change (old entries age out of the shared cache's LRU).

use super::AreaNames;
use super::EventAnalytics;
use super::filter::{self, Filter};
use super::view::ViewSnapshot;
use crate::events::filter::FilterErrorKind;
use crate::events::model::{Category, Source, Status};
use crate::index::AssignIndex;
use crate::tiles::source::{
    Query, QueryKey, Renderer, SourceError, SourceInfo, TileScoping, TileSource, VectorLayer,
};
use crate::tiles::tile_id::{MAX_ZOOM, TileId, WorldFraction};
use geozero::mvt::tile::{Feature, GeomType, Layer, Value};
use geozero::mvt::{Message, Tile};
use std::collections::HashMap;
use std::sync::Arc;

pub const LAYER: &str = "events";
pub const EXTENT: u32 = 4096;
/// Cell centres may lie this far (tile units) outside the tile.
const BUFFER: i32 = 256;
/// Deepest zoom with aggregated cells; individual events from the next zoom on.
pub const MAX_CELL_ZOOM: u8 = 13;
/// The query parameters of event tiles.
pub const PARAMETERS: &[&str] = &["category", "source", "status", "area", "from", "to"];

/// H3 resolution for a zoom: a cell about 10–30 px across on a 512 px tile at Putian's
/// latitude (each H3 level shrinks cells by √7 ≈ 2.65, each zoom by 2).
pub fn cell_res(z: u8) -> u8 {
    ((z as f64 * 0.71 - 0.1).round().max(0.0) as u8).min(super::view::CELL_RES)
}

const MOVE_TO_ONE: u32 = 1 | (1 << 3);

fn zigzag(n: i32) -> u32 {
    ((n << 1) ^ (n >> 31)) as u32
}

#[derive(Hash, PartialEq, Eq)]
enum Val {
    Str(String),
    UInt(u64),
}

/// A point layer with shared keys and de-duplicated values.
struct Points {
    layer: Layer,
    values: HashMap<Val, u32>,
}

impl Points {
    fn new(keys: &[&str]) -> Points {
        Points {
            layer: Layer {
                version: 2,
                name: LAYER.to_string(),
                extent: Some(EXTENT),
                keys: keys.iter().map(|k| k.to_string()).collect(),
                ..Default::default()
            },
            values: HashMap::new(),
        }
    }

    fn value(&mut self, v: Val) -> u32 {
        if let Some(&i) = self.values.get(&v) {
            return i;
        }
        let i = self.layer.values.len() as u32;
        self.layer.values.push(match &v {
            Val::Str(s) => Value {
                string_value: Some(s.clone()),
                ..Default::default()
            },
            Val::UInt(n) => Value {
                uint_value: Some(*n),
                ..Default::default()
            },
        });
        self.values.insert(v, i);
        i
    }

    /// Adds a point; `props` are values in the order of the keys.
    fn add(&mut self, id: Option<u64>, props: Vec<Val>, p: [i32; 2]) {
        let mut tags = Vec::with_capacity(props.len() * 2);
        for (k, v) in props.into_iter().enumerate() {
            tags.push(k as u32);
            tags.push(self.value(v));
        }
        self.layer.features.push(Feature {
            id,
            tags,
            r#type: Some(GeomType::Point as i32),
            geometry: vec![MOVE_TO_ONE, zigzag(p[0]), zigzag(p[1])],
        });
    }

    fn encode(self) -> Vec<u8> {
        if self.layer.features.is_empty() {
            return Vec::new();
        }
        Tile {
            layers: vec![self.layer],
        }
        .encode_to_vec()
    }
}

/// Renders one tile of the events passing `f`: MVT bytes, empty when nothing falls in it.
///
/// An event is in the tile by index (`TileId::contains`, half-open: west and north edges in),
/// so the tiles of a zoom partition the events and a tile's events are its four children's.
pub fn render(view: &ViewSnapshot, f: &Filter, tile: TileId) -> Vec<u8> {
    let to_tile = |p: WorldFraction| -> [i32; 2] {
        let lim = (EXTENT as i32 + BUFFER) as f64;
        p.in_tile(tile, EXTENT)
            .map(|v| v.floor().clamp(-BUFFER as f64, lim) as i32)
    };
    // Membership is `tile.contains`; the box in degrees only spares the trigonometry for the
    // events far from the tile. It is grown by ~1 cm (its edges computed through metres are
    // ~1e-13° off) and open towards the poles and the antimeridian, where positions clamp.
    let [w, s, e, n] = tile.bounds_4326();
    let last = (1u32 << tile.z) - 1;
    let grow = |v: f64, d: f64, open: bool| if open { d * f64::INFINITY } else { v + d };
    let (w, e) = (grow(w, -1e-7, tile.x == 0), grow(e, 1e-7, tile.x == last));
    let (s, n) = (grow(s, -1e-7, tile.y == last), grow(n, 1e-7, tile.y == 0));
    let near = |lon: f64, lat: f64| lon >= w && lon <= e && lat >= s && lat <= n;
    let inside = |lon: f64, lat: f64| -> Option<WorldFraction> {
        let p = near(lon, lat).then(|| WorldFraction::from_lon_lat(lon, lat))?;
        tile.contains(p).then_some(p)
    };
    if tile.z <= MAX_CELL_ZOOM {
        let res = h3o::Resolution::try_from(cell_res(tile.z)).unwrap_or(h3o::Resolution::Zero);
        let mut counts: HashMap<u64, u64> = HashMap::new();
        view.scan(f.from, f.to, |c, i| {
            if inside(c.lon[i], c.lat[i]).is_some() && f.matches(c, i) {
                let parent = h3o::CellIndex::try_from(c.cell[i])
                    .ok()
                    .and_then(|cell| cell.parent(res))
                    .map_or(0, u64::from);
                *counts.entry(parent).or_insert(0) += 1;
            }
        });
        let mut cells: Vec<(u64, u64)> = counts.into_iter().collect();
        cells.sort_unstable();
        let mut layer = Points::new(&["count", "cell"]);
        for (cell, count) in cells {
            let (p, name) = match h3o::CellIndex::try_from(cell) {
                Ok(ci) => {
                    let ll = h3o::LatLng::from(ci);
                    (
                        to_tile(WorldFraction::from_lon_lat(ll.lng(), ll.lat())),
                        ci.to_string(),
                    )
                }
                // Coordinates H3 refused: one point at the tile centre.
                Err(_) => ([EXTENT as i32 / 2; 2], String::new()),
            };
            layer.add(Some(cell), vec![Val::UInt(count), Val::Str(name)], p);
        }
        return layer.encode();
    }
    let mut layer = Points::new(&["id", "category", "status", "source", "reported_at", "count"]);
    let mut pts: Vec<(i64, [i32; 2], u8, u8, u8, i64)> = Vec::new();
    view.scan(f.from, f.to, |c, i| {
        if let Some(p) = inside(c.lon[i], c.lat[i])
            && f.matches(c, i)
        {
            pts.push((
                c.id[i],
                to_tile(p),
                c.category[i],
                c.status[i],
                c.source[i],
                c.t[i],
            ));
        }
    });
    pts.sort_unstable_by_key(|p| p.0);
    for (id, p, cat, st, src, t) in pts {
        let code = |all: Option<&'static str>| all.unwrap_or("unknown").to_string();
        layer.add(
            Some(id as u64),
            vec![
                Val::UInt(id as u64),
                Val::Str(code(Category::ALL.get(cat as usize).map(|c| c.code()))),
                Val::Str(code(Status::ALL.get(st as usize).map(|c| c.code()))),
                Val::Str(code(Source::ALL.get(src as usize).map(|c| c.code()))),
                Val::Str(filter::format_time(t).unwrap_or_default()),
                Val::UInt(1),
            ],
            p,
        );
    }
    layer.encode()
}

/// The event filter of a tile query (the one event filter, analytics dialect), compiled
/// against `view` and the area `names`.
fn event_filter(
    query: &HashMap<String, String>,
    view: &ViewSnapshot,
    names: &AreaNames,
) -> Result<Filter, SourceError> {
    filter::parse_query(query, view, names).map_err(|e| match e.kind {
        FilterErrorKind::NotFound => SourceError::NotFound {
            code: e.code,
            message: e.message,
        },
        FilterErrorKind::BadRequest => SourceError::Invalid {
            code: e.code,
            message: e.message,
        },
    })
}

/// The event heat as a tile source: `/tiles/events/…`.
pub struct EventTiles {
    analytics: Arc<EventAnalytics>,
    /// For the bounds in TileJSON: the extent of the units.
    index: Arc<AssignIndex>,
}

impl EventTiles {
    pub fn new(analytics: Arc<EventAnalytics>, index: Arc<AssignIndex>) -> EventTiles {
        EventTiles { analytics, index }
    }
}

/// Renders from one snapshot of the view, with the filter parsed against it.
struct ViewRenderer {
    view: Arc<ViewSnapshot>,
    filter: Filter,
}

impl Renderer for ViewRenderer {
    fn epoch(&self) -> u64 {
        self.view.stats.generation
    }

    fn render(&self, tile: TileId) -> Vec<u8> {
        render(&self.view, &self.filter, tile)
    }
}

impl TileSource for EventTiles {
    fn id(&self) -> &'static str {
        LAYER
    }

    fn info(&self) -> SourceInfo {
        let fields = [
            ("count", "Number"),
            ("cell", "String"),
            ("id", "Number"),
            ("category", "String"),
            ("status", "String"),
            ("source", "String"),
            ("reported_at", "String"),
        ];
        SourceInfo {
            name: "onemap events".into(),
            description: "事件分布：z≤13 为 H3 六边形聚合点（count），z≥14 为单个事件 (events: H3 cell counts up to z13, single events from z14)".into(),
            minzoom: 0,
            maxzoom: MAX_ZOOM,
            bounds: Some(
                self.index
                    .snapshot()
                    .units_bbox()
                    .unwrap_or([-180.0, -85.0, 180.0, 85.0]),
            ),
            center_zoom: 10,
            extent: EXTENT,
            vector_layers: vec![VectorLayer {
                id: LAYER.into(),
                description: "z≤13: H3 cell centres; z≥14: events".into(),
                minzoom: 0,
                maxzoom: MAX_ZOOM,
                fields: fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            }],
            parameters: PARAMETERS,
        }
    }

    fn is_ready(&self) -> bool {
        self.analytics.is_loaded()
    }

    fn normalise(&self, query: &Query) -> Result<QueryKey, SourceError> {
        let f = event_filter(query, &self.analytics.snapshot(), &self.analytics.names())?;
        Ok(QueryKey::new(&f.canonical))
    }

    fn epoch(&self) -> u64 {
        self.analytics.snapshot().stats.generation
    }

    /// The event filter's `area` is the scope: cells count only the caller's events.
    fn scoping(&self) -> TileScoping {
        TileScoping::AreaParam
    }

    /// Scanning the view takes milliseconds: always on the blocking pool.
    fn renderer(&self, query: &Query) -> Result<Box<dyn Renderer + '_>, SourceError> {
        let view = self.analytics.snapshot();
        let filter = event_filter(query, &view, &self.analytics.names())?;
        Ok(Box::new(ViewRenderer { view, filter }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_resolution_grows_with_zoom() {
        assert_eq!(cell_res(0), 0);
        assert_eq!(cell_res(10), 7);
        assert_eq!(cell_res(13), 9);
        for z in 1..=MAX_CELL_ZOOM {
            assert!(cell_res(z) >= cell_res(z - 1));
        }
    }
}
