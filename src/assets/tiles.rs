//! The fire layers as tile sources: one point source per asset kind (`heritage`, `hydrants`,
//! `water`, `stations`, `sensors`) and the uncovered areas (`fire-uncovered`). Each renders
//! from one `FireView`, whose generation is the epoch: a change of any asset moves every fire
//! layer to a new cache key.

use super::coverage::VillageCover;
use super::model::{AssetKind, Spec, flow_class};
use super::sensors::SensorState;
use super::{Fire, FireView};
use crate::tiles::layer_out::{EXTENT, LayerOut, Val, in_tile, tile_rings};
use crate::tiles::source::{
    Query, QueryKey, Renderer, SourceError, SourceInfo, TileScoping, TileSource, VectorLayer,
};
use crate::tiles::tile_id::{MAX_ZOOM, TileId};
use std::collections::HashMap;
use std::sync::Arc;

/// Which assets a point source draws.
#[derive(Debug, Clone, Copy)]
pub struct PointLayer {
    pub id: &'static str,
    pub kind: AssetKind,
    pub description: &'static str,
}

pub const POINT_LAYERS: [PointLayer; 5] = [
    PointLayer {
        id: "heritage",
        kind: AssetKind::Heritage,
        description: "文物保护单位：level、structure、covered、nearest_m (heritage sites)",
    },
    PointLayer {
        id: "hydrants",
        kind: AssetKind::Hydrant,
        description: "消火栓：flow_lps、flow_class、in_service (hydrants)",
    },
    PointLayer {
        id: "water",
        kind: AssetKind::Water,
        description: "天然水源：type (natural water)",
    },
    PointLayer {
        id: "stations",
        kind: AssetKind::Station,
        description: "消防站：type (fire stations)",
    },
    PointLayer {
        id: "sensors",
        kind: AssetKind::Sensor,
        description: "传感器：type、state、site_id (sensors)",
    },
];

/// Properties of one asset as the tiles carry them.
fn point_props(
    a: &super::set::Asset,
    view: &FireView,
    sensors: &HashMap<i64, SensorState>,
) -> Vec<(&'static str, Val)> {
    let mut p = vec![
        ("id", Val::Num(a.id as f64)),
        ("name", Val::Str(a.name.to_string())),
        ("kind", Val::Str(a.kind().code().to_string())),
        ("in_service", Val::Bool(a.in_service)),
    ];
    // The finest area it lies in: scoped tiles keep what lies in the caller's scope.
    if let Some(code) = a.chain.iter().flatten().next() {
        p.push(("area", Val::Str(code.to_string())));
    }
    match &a.spec {
        Spec::Heritage(h) => {
            p.push(("level", Val::Str(h.level.code().into())));
            p.push(("structure", Val::Str(h.structure.code().into())));
            if let Some(c) = view.coverage.sites.get(&a.id) {
                p.push(("covered", Val::Bool(c.covered)));
                if let Some(n) = c.nearest {
                    p.push(("nearest_m", Val::Num(n.distance_m.round())));
                }
            }
        }
        Spec::Hydrant(h) => {
            p.push(("type", Val::Str(h.kind.code().into())));
            p.push(("flow_lps", Val::Num(h.flow_lps)));
            p.push(("flow_class", Val::Str(flow_class(h.flow_lps).into())));
        }
        Spec::Water(w) => p.push(("type", Val::Str(w.kind.code().into()))),
        Spec::Station(s) => p.push(("type", Val::Str(s.kind.code().into()))),
        Spec::Sensor(s) => {
            p.push(("type", Val::Str(s.kind.code().into())));
            let state = sensors.get(&a.id).copied().unwrap_or_default().condition();
            p.push(("state", Val::Str(format!("{state:?}").to_lowercase())));
            if let Some(site) = s.site_id {
                p.push(("site_id", Val::Num(site as f64)));
            }
        }
    }
    p
}

/// A fire layer served as tiles.
pub struct FireTiles {
    fire: Arc<Fire>,
    layer: Option<PointLayer>,
}

impl FireTiles {
    /// The six fire sources.
    pub fn all(fire: &Arc<Fire>) -> Vec<Arc<dyn TileSource>> {
        let mut v: Vec<Arc<dyn TileSource>> = POINT_LAYERS
            .iter()
            .map(|l| {
                Arc::new(FireTiles {
                    fire: fire.clone(),
                    layer: Some(*l),
                }) as Arc<dyn TileSource>
            })
            .collect();
        v.push(Arc::new(FireTiles {
            fire: fire.clone(),
            layer: None,
        }));
        v
    }
}

pub const UNCOVERED: &str = "fire-uncovered";
const UNCOVERED_LAYER: &str = "uncovered";

struct FireRenderer {
    epoch: u64,
    view: Arc<FireView>,
    sensors: HashMap<i64, SensorState>,
    layer: Option<PointLayer>,
}

impl Renderer for FireRenderer {
    fn epoch(&self) -> u64 {
        self.epoch
    }

    fn render(&self, tile: TileId) -> Vec<u8> {
        match self.layer {
            Some(l) => {
                let mut out = LayerOut::new(l.id);
                for a in self.view.set.of_kind(l.kind) {
                    if let Some(p) = in_tile(tile, a.lon, a.lat) {
                        out.point(a.id as u64, &point_props(a, &self.view, &self.sensors), p);
                    }
                }
                out.encode()
            }
            None => render_uncovered(&self.view, tile),
        }
    }
}

/// The uncovered part of every village the tile touches, clipped to the tile (plus a buffer).
fn render_uncovered(view: &FireView, tile: TileId) -> Vec<u8> {
    let [w, s, e, n] = tile.bounds_4326();
    let mut out = LayerOut::new(UNCOVERED_LAYER);
    let mut covers: Vec<&VillageCover> = view
        .coverage
        .villages
        .values()
        .filter(|c| c.uncovered_m2 > 0.0)
        .filter(|c| {
            view.villages.by_code.get(&c.code).is_some_and(|v| {
                let b = v.shape.bbox();
                b[0] <= e && b[2] >= w && b[1] <= n && b[3] >= s
            })
        })
        .collect();
    covers.sort_by(|a, b| a.code.cmp(&b.code));
    for (i, c) in covers.into_iter().enumerate() {
        let rings = tile_rings(tile, &c.uncovered);
        if rings.is_empty() {
            continue;
        }
        let name = view
            .villages
            .by_code
            .get(&c.code)
            .map(|v| v.name.to_string())
            .unwrap_or_default();
        out.polygons(
            i as u64 + 1,
            &[
                ("code", Val::Str(c.code.to_string())),
                ("name", Val::Str(name)),
                ("uncovered_m2", Val::Num(c.uncovered_m2.round())),
                ("share", Val::Num((c.share() * 1000.0).round() / 1000.0)),
            ],
            &rings,
        );
    }
    out.encode()
}

/// The view's generation; for sensors, whose states move without a new view, also the
/// clock in 5-second steps (a sensor tile is at most 5 s behind).
fn epoch_of(layer: Option<PointLayer>, view: &FireView) -> u64 {
    match layer {
        Some(l) if l.kind == AssetKind::Sensor => {
            (view.generation << 32) | ((crate::time::now_us() / 5_000_000) as u64 & 0xffff_ffff)
        }
        _ => view.generation,
    }
}

impl TileSource for FireTiles {
    fn id(&self) -> &'static str {
        self.layer.map_or(UNCOVERED, |l| l.id)
    }

    fn info(&self) -> SourceInfo {
        let (name, description, minzoom, fields): (String, String, u8, &[(&str, &str)]) = match self.layer {
            Some(l) => (
                format!("onemap {}", l.id),
                l.description.to_string(),
                8,
                &[("id", "Number"), ("name", "String"), ("kind", "String"), ("in_service", "Boolean"), ("area", "String"),
                  ("level", "String"), ("structure", "String"), ("covered", "Boolean"), ("nearest_m", "Number"),
                  ("type", "String"), ("flow_lps", "Number"), ("flow_class", "String"), ("state", "String"),
                  ("site_id", "Number")],
            ),
            None => (
                "onemap fire-uncovered".into(),
                "消火栓保护半径（150 米）以外的建成区 (built-up area outside every in-service hydrant's 150 m)".into(),
                10,
                &[("code", "String"), ("name", "String"), ("uncovered_m2", "Number"), ("share", "Number")],
            ),
        };
        let layer = self.layer.map_or(UNCOVERED_LAYER, |l| l.id);
        // The extent of the layer's assets (padded a little), else of the villages.
        let bounds = {
            let v = self.fire.view();
            let mut b = [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ];
            if let Some(l) = self.layer {
                for a in v.set.of_kind(l.kind) {
                    b = [
                        b[0].min(a.lon),
                        b[1].min(a.lat),
                        b[2].max(a.lon),
                        b[3].max(a.lat),
                    ];
                }
            }
            if !b[0].is_finite() {
                for vil in v.villages.by_code.values() {
                    let s = vil.shape.bbox();
                    b = [
                        b[0].min(s[0]),
                        b[1].min(s[1]),
                        b[2].max(s[2]),
                        b[3].max(s[3]),
                    ];
                }
            }
            b[0].is_finite()
                .then_some([b[0] - 0.001, b[1] - 0.001, b[2] + 0.001, b[3] + 0.001])
        };
        SourceInfo {
            name,
            description,
            minzoom,
            maxzoom: MAX_ZOOM,
            bounds,
            center_zoom: 14,
            extent: EXTENT,
            vector_layers: vec![VectorLayer {
                id: layer.into(),
                description: String::new(),
                minzoom,
                maxzoom: MAX_ZOOM,
                fields: fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            }],
            parameters: &[],
        }
    }

    fn is_ready(&self) -> bool {
        self.fire.is_loaded()
    }

    fn normalise(&self, _query: &Query) -> Result<QueryKey, SourceError> {
        Ok(QueryKey::NONE)
    }

    fn epoch(&self) -> u64 {
        epoch_of(self.layer, &self.fire.view())
    }

    fn scoping(&self) -> TileScoping {
        // Assets carry their finest area; the uncovered areas are villages by code.
        match self.layer {
            Some(_) => TileScoping::Features(&["area"]),
            None => TileScoping::Features(&["code"]),
        }
    }

    fn renderer(&self, _query: &Query) -> Result<Box<dyn Renderer + '_>, SourceError> {
        let sensors = match self.layer {
            Some(l) if l.kind == AssetKind::Sensor => self.fire.sensor_states(),
            _ => HashMap::new(),
        };
        let view = self.fire.view();
        Ok(Box::new(FireRenderer {
            epoch: epoch_of(self.layer, &view),
            view,
            sensors,
            layer: self.layer,
        }))
    }
}
