//! One MVT layer built feature by feature, with shared keys and values: the point and polygon
//! layers of the fire and vessel sources use it (the area layers have their own encoder in
//! `encode`).

use super::clip::area2;
use super::tile_id::{TileId, WorldFraction};
use geo::{BooleanOps, Coord, LineString, MapCoords, MultiPolygon, Rect};
use geozero::mvt::tile::{Feature, GeomType, Layer, Value};
use geozero::mvt::{Message, Tile};
use std::collections::HashMap;

/// Tile coordinates run 0..EXTENT.
pub const EXTENT: u32 = 4096;

/// A property value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    Num(f64),
    Bool(bool),
}

impl Val {
    fn key(&self) -> String {
        match self {
            Val::Str(s) => format!("s{s}"),
            Val::Num(n) => format!("n{n}"),
            Val::Bool(b) => format!("b{b}"),
        }
    }
    fn mvt(&self) -> Value {
        match self {
            Val::Str(s) => Value {
                string_value: Some(s.clone()),
                ..Default::default()
            },
            Val::Num(n) => Value {
                double_value: Some(*n),
                ..Default::default()
            },
            Val::Bool(b) => Value {
                bool_value: Some(*b),
                ..Default::default()
            },
        }
    }
}

/// One layer with shared keys and values; `encode` gives the tile (empty when no feature).
pub struct LayerOut {
    layer: Layer,
    keys: HashMap<&'static str, u32>,
    values: HashMap<String, u32>,
}

impl LayerOut {
    pub fn new(name: &str) -> LayerOut {
        LayerOut {
            layer: Layer {
                version: 2,
                name: name.to_string(),
                extent: Some(EXTENT),
                ..Default::default()
            },
            keys: HashMap::new(),
            values: HashMap::new(),
        }
    }

    fn tags(&mut self, props: &[(&'static str, Val)]) -> Vec<u32> {
        let mut tags = Vec::with_capacity(props.len() * 2);
        for (k, v) in props {
            let n = self.layer.keys.len() as u32;
            let ki = *self.keys.entry(k).or_insert_with(|| n);
            if ki == n {
                self.layer.keys.push(k.to_string());
            }
            let m = self.layer.values.len() as u32;
            let vi = *self.values.entry(v.key()).or_insert(m);
            if vi == m {
                self.layer.values.push(v.mvt());
            }
            tags.extend([ki, vi]);
        }
        tags
    }

    pub fn point(&mut self, id: u64, props: &[(&'static str, Val)], p: [i32; 2]) {
        let tags = self.tags(props);
        self.layer.features.push(Feature {
            id: Some(id),
            tags,
            r#type: Some(GeomType::Point as i32),
            geometry: vec![1 | (1 << 3), zigzag(p[0]), zigzag(p[1])],
        });
    }

    /// Rings in tile units, exteriors wound positive (`area2` > 0), holes negative.
    pub fn polygons(&mut self, id: u64, props: &[(&'static str, Val)], rings: &[Vec<[i32; 2]>]) {
        let tags = self.tags(props);
        let mut geom = Vec::new();
        let mut cur = [0i32, 0];
        for r in rings {
            geom.push(1 | (1 << 3));
            geom.extend([zigzag(r[0][0] - cur[0]), zigzag(r[0][1] - cur[1])]);
            cur = r[0];
            geom.push(2 | ((r.len() as u32 - 1) << 3));
            for p in &r[1..] {
                geom.extend([zigzag(p[0] - cur[0]), zigzag(p[1] - cur[1])]);
                cur = *p;
            }
            geom.push(7 | (1 << 3));
        }
        if geom.is_empty() {
            return;
        }
        self.layer.features.push(Feature {
            id: Some(id),
            tags,
            r#type: Some(GeomType::Polygon as i32),
            geometry: geom,
        });
    }

    pub fn encode(self) -> Vec<u8> {
        if self.layer.features.is_empty() {
            return Vec::new();
        }
        Tile {
            layers: vec![self.layer],
        }
        .encode_to_vec()
    }
}

fn zigzag(n: i32) -> u32 {
    ((n << 1) ^ (n >> 31)) as u32
}

/// Position of (lon, lat) in `tile` if the tile holds it (half-open, as the event tiles).
pub fn in_tile(tile: TileId, lon: f64, lat: f64) -> Option<[i32; 2]> {
    let w = WorldFraction::from_lon_lat(lon, lat);
    tile.contains(w)
        .then(|| w.in_tile(tile, EXTENT).map(|v| v.floor() as i32))
}

/// Rounds a ring to tile units and winds it (exterior positive, hole negative); drops rings
/// that collapse.
pub fn push_ring(rings: &mut Vec<Vec<[i32; 2]>>, ring: &LineString<f64>, exterior: bool) {
    let mut pts: Vec<[i32; 2]> = Vec::with_capacity(ring.0.len());
    for c in &ring.0 {
        let p = [c.x.round() as i32, c.y.round() as i32];
        if pts.last() != Some(&p) {
            pts.push(p);
        }
    }
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    if pts.len() < 3 {
        return;
    }
    let a = area2(&pts);
    if a == 0 {
        return;
    }
    if (a > 0) != exterior {
        pts.reverse();
    }
    rings.push(pts);
}

/// Tile units drawn beyond each edge, so polygons clipped to the tile leave no seams.
const BUFFER: f64 = 64.0;

/// The rings of polygons (degrees) in `tile`'s units, clipped to the tile and a buffer,
/// exteriors wound positive and holes negative: what `LayerOut::polygons` takes.
pub fn tile_rings(tile: TileId, polygons: &MultiPolygon<f64>) -> Vec<Vec<[i32; 2]>> {
    let to_tile = |c: Coord<f64>| {
        let p = WorldFraction::from_lon_lat(c.x, c.y).in_tile(tile, EXTENT);
        Coord { x: p[0], y: p[1] }
    };
    let clip = Rect::new(
        Coord {
            x: -BUFFER,
            y: -BUFFER,
        },
        Coord {
            x: EXTENT as f64 + BUFFER,
            y: EXTENT as f64 + BUFFER,
        },
    )
    .to_polygon();
    let projected: MultiPolygon<f64> = polygons.map_coords(to_tile);
    let clipped = projected.intersection(&MultiPolygon(vec![clip]));
    let mut rings = Vec::new();
    for poly in clipped.0 {
        push_ring(&mut rings, poly.exterior(), true);
        for h in poly.interiors() {
            push_ring(&mut rings, h, false);
        }
    }
    rings
}
