//! The tile layers served: one per polygon level, one of label points, and `areas`, which
//! carries every level (and the labels) as separate MVT layers of one tile, so a map client
//! needs one request per tile position instead of six.
//!
//! Zoom ranges are the contract with clients (TileJSON `minzoom`/`maxzoom`, and which levels an
//! `areas` tile holds); outside its range a layer's tiles are empty (HTTP 204).

use super::tile_id::MAX_ZOOM;
use crate::model::Level;
use std::fmt;
use std::str::FromStr;

/// MVT extent: tile coordinates run 0..4096.
pub const EXTENT: u32 = 4096;
/// Buffer around each tile, in extent units, so polygon edges never show at tile seams.
pub const BUFFER: u32 = 64;

/// The polygon levels that have tiles, from the top.
pub const POLYGON_LEVELS: [Level; 5] = [
    Level::District,
    Level::Town,
    Level::Village,
    Level::Grid,
    Level::Unit,
];

/// A tile source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    Polygons(Level),
    Label,
    Areas,
}

/// Not one of the layers.
#[derive(Debug, thiserror::Error)]
#[error("unknown tile layer '{0}'")]
pub struct UnknownLayer(pub String);

impl Layer {
    /// Every layer, in catalog order.
    pub fn all() -> Vec<Layer> {
        let mut v: Vec<Layer> = POLYGON_LEVELS.iter().map(|&l| Layer::Polygons(l)).collect();
        v.push(Layer::Label);
        v.push(Layer::Areas);
        v
    }

    pub fn id(self) -> &'static str {
        match self {
            Layer::Polygons(l) => l.as_str(),
            Layer::Label => "label",
            Layer::Areas => "areas",
        }
    }

    /// The lowest zoom with content.
    pub fn minzoom(self) -> u8 {
        match self {
            Layer::Polygons(l) => polygon_minzoom(l),
            Layer::Label | Layer::Areas => 0,
        }
    }

    pub fn maxzoom(self) -> u8 {
        MAX_ZOOM
    }

    pub fn description(self) -> String {
        match self {
            Layer::Polygons(l) => format!("{}边界 ({} polygons)", l.label_zh(), l.as_str()),
            Layer::Label => "名称标注点，位于各区域内部 (label points: each area's pole of inaccessibility)".into(),
            Layer::Areas => "全部层级合一：district、town、village、grid、unit、label 各为一个 MVT 图层 (all levels in one tile)".into(),
        }
    }

    /// The MVT layers this source's tiles hold at zoom `z`, in drawing order.
    pub fn parts_at(self, z: u8) -> Vec<Part> {
        match self {
            Layer::Polygons(l) if z >= polygon_minzoom(l) => vec![Part::Polygons(l)],
            Layer::Polygons(_) => vec![],
            Layer::Label => vec![Part::Labels],
            Layer::Areas => {
                let mut v: Vec<Part> = POLYGON_LEVELS
                    .iter()
                    .filter(|&&l| z >= polygon_minzoom(l))
                    .map(|&l| Part::Polygons(l))
                    .collect();
                v.push(Part::Labels);
                v
            }
        }
    }

    /// The MVT layers this source can hold at any zoom (for TileJSON `vector_layers`).
    pub fn vector_layers(self) -> Vec<Part> {
        match self {
            Layer::Polygons(l) => vec![Part::Polygons(l)],
            Layer::Label => vec![Part::Labels],
            Layer::Areas => {
                let mut v: Vec<Part> = POLYGON_LEVELS.iter().map(|&l| Part::Polygons(l)).collect();
                v.push(Part::Labels);
                v
            }
        }
    }

    /// True if an area change at `level` can alter this source's tiles.
    pub fn depends_on(self, level: Level) -> bool {
        match self {
            Layer::Polygons(l) => l == level,
            Layer::Label | Layer::Areas => level != Level::City,
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Layer {
    type Err = UnknownLayer;
    fn from_str(s: &str) -> Result<Layer, UnknownLayer> {
        Layer::all()
            .into_iter()
            .find(|l| l.id() == s)
            .ok_or_else(|| UnknownLayer(s.chars().take(40).collect()))
    }
}

/// One MVT layer inside a tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Polygons(Level),
    Labels,
}

impl Part {
    pub fn name(self) -> &'static str {
        match self {
            Part::Polygons(l) => l.as_str(),
            Part::Labels => "label",
        }
    }

    pub fn minzoom(self) -> u8 {
        match self {
            Part::Polygons(l) => polygon_minzoom(l),
            Part::Labels => 0,
        }
    }

    /// Attribute names and their types, as TileJSON `fields` lists them.
    pub fn fields(self) -> Vec<(&'static str, &'static str)> {
        let mut f = vec![
            ("code", "String: 区划代码 (area code)"),
            ("name", "String: 名称 (name)"),
            ("level", "String: district | town | village | grid | unit"),
        ];
        if let Part::Polygons(level) = self {
            f.push(("parent", "String: 上级代码 (parent's code)"));
            for a in Level::ALL.iter().take_while(|&&a| a < level) {
                f.push((a.as_str(), ancestor_field_doc(*a)));
            }
        }
        f
    }
}

fn ancestor_field_doc(level: Level) -> &'static str {
    match level {
        Level::City => "String: 所属市代码 (city code)",
        Level::District => "String: 所属区县代码 (district code)",
        Level::Town => "String: 所属乡镇街道代码 (town code)",
        Level::Village => "String: 所属村社区代码 (village code)",
        _ => "String: 所属网格代码 (grid code)",
    }
}

/// Lowest zoom of each polygon level: where its areas are a few pixels wide or more.
pub fn polygon_minzoom(level: Level) -> u8 {
    match level {
        Level::City | Level::District => 0,
        Level::Town => 7,
        Level::Village => 9,
        Level::Grid => 11,
        Level::Unit => 14,
    }
}

/// Lowest zoom at which an area of `level` has its label point in the `label` layer.
pub fn label_minzoom(level: Level) -> u8 {
    match level {
        Level::City | Level::District => 0,
        Level::Town => 8,
        Level::Village => 10,
        Level::Grid => 12,
        Level::Unit => 15,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_ranges_nest() {
        for l in Layer::all() {
            assert_eq!(l.id().parse::<Layer>().unwrap(), l);
            assert!(l.minzoom() <= l.maxzoom());
        }
        assert!("city".parse::<Layer>().is_err());
        assert!("units".parse::<Layer>().is_err());
        // Each level appears no earlier than its parent, in polygons and in labels.
        for w in POLYGON_LEVELS.windows(2) {
            assert!(polygon_minzoom(w[0]) <= polygon_minzoom(w[1]));
            assert!(label_minzoom(w[0]) <= label_minzoom(w[1]));
        }
        assert_eq!(
            Layer::Areas.parts_at(0),
            vec![Part::Polygons(Level::District), Part::Labels]
        );
        assert_eq!(Layer::Areas.parts_at(16).len(), 6);
        assert!(Layer::Polygons(Level::Unit).parts_at(13).is_empty());
    }

    #[test]
    fn fields_name_every_ancestor() {
        let names: Vec<&str> = Part::Polygons(Level::Unit)
            .fields()
            .iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(
            names,
            [
                "code", "name", "level", "parent", "city", "district", "town", "village", "grid"
            ]
        );
        let names: Vec<&str> = Part::Polygons(Level::District)
            .fields()
            .iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(names, ["code", "name", "level", "parent", "city"]);
    }
}
