//! The vessel layers as tile sources: `vessels` (the boats as now, coloured by state; the
//! epoch is the fleet's redraw counter, which moves at most every `TILE_EVERY` while boats
//! move), `harbours` and `vessel-zones` (their epoch moves with every registry read).

use super::port::Zone;
use super::{Dot, Fleet, Registry};
use crate::tiles::layer_out::{EXTENT, LayerOut, Val, in_tile, tile_rings};
use crate::tiles::source::{
    Query, QueryKey, Renderer, SourceError, SourceInfo, TileScoping, TileSource, VectorLayer,
};
use crate::tiles::tile_id::{MAX_ZOOM, TileId};
use geo::MultiPolygon;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Boats,
    Harbours,
    Zones,
}

/// One vessel layer served as tiles.
pub struct VesselTiles {
    fleet: Arc<Fleet>,
    kind: Kind,
}

impl VesselTiles {
    /// The three vessel sources, in catalog order.
    pub fn all(fleet: &Arc<Fleet>) -> Vec<Arc<dyn TileSource>> {
        [Kind::Boats, Kind::Harbours, Kind::Zones]
            .into_iter()
            .map(|kind| {
                Arc::new(VesselTiles {
                    fleet: fleet.clone(),
                    kind,
                }) as Arc<dyn TileSource>
            })
            .collect()
    }
}

/// Renders from the boats and the registry it pinned.
struct VesselRenderer {
    kind: Kind,
    epoch: u64,
    dots: Arc<Vec<Dot>>,
    registry: Arc<Registry>,
}

impl Renderer for VesselRenderer {
    fn epoch(&self) -> u64 {
        self.epoch
    }

    fn render(&self, tile: TileId) -> Vec<u8> {
        match self.kind {
            Kind::Boats => render_boats(&self.dots, tile),
            Kind::Harbours => render_harbours(&self.registry, &self.dots, tile),
            Kind::Zones => render_zones(&self.registry.zones.list, tile),
        }
    }
}

fn render_boats(dots: &[Dot], tile: TileId) -> Vec<u8> {
    let mut out = LayerOut::new("vessels");
    let mut mine: Vec<_> = dots
        .iter()
        .filter_map(|d| in_tile(tile, d.lon, d.lat).map(|p| (d, p)))
        .collect();
    mine.sort_by_key(|(d, _)| d.mmsi);
    for (d, p) in mine {
        let mut props = vec![
            ("mmsi", Val::Num(d.mmsi as f64)),
            ("state", Val::Str(d.state.code().into())),
        ];
        // The managing village (the finest code of its chain): scoped tiles keep a caller's.
        if let Some(code) = d.chain.iter().rev().flatten().next() {
            props.push(("area", Val::Str(code.clone())));
        }
        if let Some(n) = &d.name {
            props.push(("name", Val::Str(n.clone())));
        }
        if let Some(c) = d.class {
            props.push(("class", Val::Str(c.code().into())));
        }
        if let Some(s) = d.speed_kn {
            props.push(("speed_kn", Val::Num((s as f64 * 10.0).round() / 10.0)));
        }
        if let Some(c) = d.course {
            props.push(("course", Val::Num((c as f64 * 10.0).round() / 10.0)));
        }
        out.point(d.mmsi as u64, &props, p);
    }
    out.encode()
}

fn render_harbours(reg: &Registry, dots: &[Dot], tile: TileId) -> Vec<u8> {
    let mut out = LayerOut::new("harbours");
    for h in reg.harbours.list() {
        let Some(p) = in_tile(tile, h.lon, h.lat) else {
            continue;
        };
        let in_port = dots.iter().filter(|d| d.port == Some(h.id)).count();
        let mut props = vec![
            ("id", Val::Num(h.id as f64)),
            ("name", Val::Str(h.name.clone())),
            ("kind", Val::Str(h.kind.code().into())),
            ("in_port", Val::Num(in_port as f64)),
        ];
        if let Some(t) = &h.town_code {
            props.push(("area", Val::Str(t.clone())));
        }
        out.point(h.id as u64, &props, p);
    }
    out.encode()
}

/// The zones, clipped to the tile and a buffer.
pub fn render_zones(zones: &[Zone], tile: TileId) -> Vec<u8> {
    let [w, s, e, n] = tile.bounds_4326();
    let mut out = LayerOut::new("zones");
    for z in zones {
        use geo::BoundingRect;
        let Some(b) = z.polygon.bounding_rect() else {
            continue;
        };
        if b.min().x > e || b.max().x < w || b.min().y > n || b.max().y < s {
            continue;
        }
        let rings = tile_rings(tile, &MultiPolygon(vec![z.polygon.clone()]));
        if rings.is_empty() {
            continue;
        }
        out.polygons(
            z.id as u64,
            &[
                ("id", Val::Num(z.id as f64)),
                ("name", Val::Str(z.name.clone())),
            ],
            &rings,
        );
    }
    out.encode()
}

impl TileSource for VesselTiles {
    fn id(&self) -> &'static str {
        match self.kind {
            Kind::Boats => "vessels",
            Kind::Harbours => "harbours",
            Kind::Zones => "vessel-zones",
        }
    }

    fn info(&self) -> SourceInfo {
        let (layer, description, minzoom, fields): (&str, &str, u8, &[(&str, &str)]) =
            match self.kind {
                Kind::Boats => (
                    "vessels",
                    "渔船实时位置，按状态着色 (boats as now, by state)",
                    6,
                    &[
                        ("mmsi", "Number"),
                        ("name", "String"),
                        ("state", "String"),
                        ("class", "String"),
                        ("speed_kn", "Number"),
                        ("course", "Number"),
                        ("area", "String"),
                    ],
                ),
                Kind::Harbours => (
                    "harbours",
                    "渔港与锚地 (harbours and anchorages)",
                    6,
                    &[
                        ("id", "Number"),
                        ("name", "String"),
                        ("kind", "String"),
                        ("in_port", "Number"),
                        ("area", "String"),
                    ],
                ),
                Kind::Zones => (
                    "zones",
                    "禁航区 (restricted zones)",
                    6,
                    &[("id", "Number"), ("name", "String")],
                ),
            };
        let reg = self.fleet.registry();
        let mut b = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut grow = |lon: f64, lat: f64| {
            b = [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)];
        };
        for h in reg.harbours.list() {
            grow(h.lon, h.lat);
        }
        for z in &reg.zones.list {
            for c in z.polygon.exterior().coords() {
                grow(c.x, c.y);
            }
        }
        // Boats go out to sea: a margin of about 50 km around the harbours.
        let pad = if self.kind == Kind::Boats { 0.5 } else { 0.01 };
        SourceInfo {
            name: format!("onemap {}", self.id()),
            description: description.into(),
            minzoom,
            maxzoom: MAX_ZOOM,
            bounds: b[0]
                .is_finite()
                .then_some([b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad]),
            center_zoom: 10,
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
        self.fleet.is_loaded()
    }

    fn normalise(&self, _query: &Query) -> Result<QueryKey, SourceError> {
        Ok(QueryKey::NONE)
    }

    fn epoch(&self) -> u64 {
        match self.kind {
            // Harbour counts move with the boats too.
            Kind::Boats | Kind::Harbours => {
                (self.fleet.registry_epoch() << 32) | (self.fleet.dots_epoch() & 0xffff_ffff)
            }
            Kind::Zones => self.fleet.registry_epoch(),
        }
    }

    fn scoping(&self) -> TileScoping {
        match self.kind {
            // Boats by managing village, harbours by town; the zones are city-wide rules.
            Kind::Boats | Kind::Harbours => TileScoping::Features(&["area"]),
            Kind::Zones => TileScoping::Shared,
        }
    }

    fn renderer(&self, _query: &Query) -> Result<Box<dyn Renderer + '_>, SourceError> {
        // The epoch first: the data pinned after it is at least as new.
        let epoch = self.epoch();
        Ok(Box::new(VesselRenderer {
            kind: self.kind,
            epoch,
            dots: self.fleet.dots().0,
            registry: self.fleet.registry(),
        }))
    }
}
