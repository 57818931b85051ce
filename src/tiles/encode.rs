//! Mapbox Vector Tile 2.1 encoding, with geozero's generated protobuf types.
//!
//! A `LayerBuilder` collects features (polygons or points already in tile coordinates and
//! wound correctly) and de-duplicates keys and values; `encode` writes the layers of one tile.
//! Concatenated encoded tiles are a valid tile holding all their layers (protobuf repeated
//! fields), which is how the `areas` source is put together.

use super::clip::{IPolygon, IPt};
use super::layers::EXTENT;
use super::topology::FastBuild;
use geozero::mvt::tile::{Feature, GeomType, Layer, Value};
use geozero::mvt::{Message, Tile};
use std::collections::HashMap;

/// The property whose values are unique per feature (each area appears once per layer).
pub const UNIQUE_KEY: &str = "code";

const MOVE_TO: u32 = 1;
const LINE_TO: u32 = 2;
const CLOSE_PATH: u32 = 7;

fn command(id: u32, count: u32) -> u32 {
    (id & 7) | (count << 3)
}

fn zigzag(n: i32) -> u32 {
    ((n << 1) ^ (n >> 31)) as u32
}

/// Builds one MVT layer.
pub struct LayerBuilder<'a> {
    layer: Layer,
    /// The layer's keys as given (static strings), in `layer.keys` order.
    keys: Vec<&'static str>,
    values: HashMap<&'a str, u32, FastBuild>,
    cursor: IPt,
}

impl<'a> LayerBuilder<'a> {
    pub fn new(name: &str) -> LayerBuilder<'a> {
        LayerBuilder {
            layer: Layer {
                version: 2,
                name: name.to_string(),
                extent: Some(EXTENT),
                ..Default::default()
            },
            keys: Vec::new(),
            values: HashMap::default(),
            cursor: [0, 0],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.layer.features.is_empty()
    }

    fn tags(&mut self, props: &[(&'static str, &'a str)]) -> Vec<u32> {
        let mut tags = Vec::with_capacity(props.len() * 2);
        for &(k, v) in props {
            // At most a dozen keys, the same static strings feature after feature: a scan
            // comparing addresses first beats hashing.
            let ki = match self
                .keys
                .iter()
                .position(|x| std::ptr::eq(*x, k) || *x == k)
            {
                Some(i) => i as u32,
                None => {
                    self.keys.push(k);
                    self.layer.keys.push(k.to_string());
                    self.layer.keys.len() as u32 - 1
                }
            };
            // A feature's own code is unique in its layer: no point looking it up.
            let vi = if k == UNIQUE_KEY {
                self.push_value(v)
            } else {
                match self.values.get(v) {
                    Some(&i) => i,
                    None => {
                        let i = self.push_value(v);
                        self.values.insert(v, i);
                        i
                    }
                }
            };
            tags.push(ki);
            tags.push(vi);
        }
        tags
    }

    fn push_value(&mut self, v: &str) -> u32 {
        self.layer.values.push(Value {
            string_value: Some(v.to_string()),
            ..Default::default()
        });
        self.layer.values.len() as u32 - 1
    }

    fn push_point(&mut self, geom: &mut Vec<u32>, p: IPt) {
        geom.push(zigzag(p[0] - self.cursor[0]));
        geom.push(zigzag(p[1] - self.cursor[1]));
        self.cursor = p;
    }

    /// Adds a (multi)polygon feature; rings must be open, exteriors wound positive.
    pub fn add_polygons(
        &mut self,
        id: Option<u64>,
        props: &[(&'static str, &'a str)],
        polys: &[IPolygon],
    ) {
        let tags = self.tags(props);
        self.cursor = [0, 0];
        let mut geom = Vec::with_capacity(polys.iter().flatten().map(|r| r.len() * 2 + 3).sum());
        for ring in polys.iter().flatten() {
            if ring.len() < 3 {
                continue;
            }
            geom.push(command(MOVE_TO, 1));
            self.push_point(&mut geom, ring[0]);
            geom.push(command(LINE_TO, ring.len() as u32 - 1));
            for &p in &ring[1..] {
                self.push_point(&mut geom, p);
            }
            geom.push(command(CLOSE_PATH, 1));
        }
        self.layer.features.push(Feature {
            id,
            tags,
            r#type: Some(GeomType::Polygon as i32),
            geometry: geom,
        });
    }

    /// Adds a point feature.
    pub fn add_point(&mut self, id: Option<u64>, props: &[(&'static str, &'a str)], p: IPt) {
        let tags = self.tags(props);
        self.cursor = [0, 0];
        let mut geom = vec![command(MOVE_TO, 1)];
        self.push_point(&mut geom, p);
        self.layer.features.push(Feature {
            id,
            tags,
            r#type: Some(GeomType::Point as i32),
            geometry: geom,
        });
    }

    /// The layer, with its values ordered by how often features use them: tags are varints,
    /// so the shared values (level, city, district, ...) get one-byte indices.
    pub fn finish(mut self) -> Layer {
        let n = self.layer.values.len();
        let mut uses = vec![0u32; n];
        for f in &self.layer.features {
            for v in f.tags.iter().skip(1).step_by(2) {
                uses[*v as usize] += 1;
            }
        }
        let mut order: Vec<u32> = (0..n as u32).collect();
        // Stable: equal counts keep their first-seen order, so equal input gives equal bytes.
        order.sort_by_key(|&i| std::cmp::Reverse(uses[i as usize]));
        let mut new_index = vec![0u32; n];
        for (new, &old) in order.iter().enumerate() {
            new_index[old as usize] = new as u32;
        }
        for f in &mut self.layer.features {
            for v in f.tags.iter_mut().skip(1).step_by(2) {
                *v = new_index[*v as usize];
            }
        }
        let mut values: Vec<Option<Value>> = std::mem::take(&mut self.layer.values)
            .into_iter()
            .map(Some)
            .collect();
        self.layer.values = order
            .iter()
            .filter_map(|&i| values[i as usize].take())
            .collect();
        self.layer
    }
}

/// The bytes of a tile with `layers` (empty layers left out; no layers gives no bytes).
pub fn encode(layers: Vec<Layer>) -> Vec<u8> {
    let layers: Vec<Layer> = layers
        .into_iter()
        .filter(|l| !l.features.is_empty())
        .collect();
    if layers.is_empty() {
        return Vec::new();
    }
    Tile { layers }.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_commands_follow_the_spec() {
        // The spec's example polygon: MoveTo(3,6) LineTo(8,12) (20,34) ClosePath.
        let mut b = LayerBuilder::new("t");
        b.add_polygons(
            Some(7),
            &[("code", "1"), ("name", "a")],
            &[vec![vec![[3, 6], [8, 12], [20, 34]]]],
        );
        b.add_point(None, &[("code", "2"), ("name", "a")], [25, 17]);
        let layer = b.finish();
        assert_eq!(
            layer.features[0].geometry,
            vec![9, 6, 12, 18, 10, 12, 24, 44, 15]
        );
        assert_eq!(layer.features[1].geometry, vec![9, 50, 34]);
        // Keys and values are shared between features; the most used value comes first.
        assert_eq!(layer.keys, vec!["code", "name"]);
        assert_eq!(layer.values.len(), 3);
        assert_eq!(layer.values[0].string_value.as_deref(), Some("a"));
        assert_eq!(layer.features[0].tags, vec![0, 1, 1, 0]);
        assert_eq!(layer.features[1].tags, vec![0, 2, 1, 0]);
        let bytes = encode(vec![layer]);
        let back = Tile::decode(bytes.as_slice()).unwrap();
        assert_eq!(back.layers[0].extent, Some(4096));
        assert_eq!(back.layers[0].version, 2);
        assert!(encode(vec![LayerBuilder::new("empty").finish()]).is_empty());
    }
}
