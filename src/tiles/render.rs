//! Renders one tile of one source from the in-memory model.
//!
//! Which areas a polygon layer holds: those whose (unsimplified) geometry meets the tile square
//! grown by `BUFFER` units on each side — the same set PostGIS gives for
//! `ST_Intersects(geom, ST_Transform(ST_TileEnvelope(z, x, y, margin => 64.0 / 4096), 4326))` —
//! less the ones whose part inside that square vanishes at the tile's resolution (slivers
//! under one tile unit). The label layer holds the label points that fall inside the tile
//! proper (no buffer), so no label is drawn twice.

use super::clip::{TileTransform, tile_polygons};
use super::encode::{LayerBuilder, encode};
use super::layers::{BUFFER, EXTENT, Layer, POLYGON_LEVELS, Part, label_minzoom};
use super::model::{AreaGeom, Model};
use super::tile_id::TileId;
use crate::model::Level;
use geozero::mvt::tile;

/// Simplification tolerance, in tile units: Douglas–Peucker removes detail under one unit
/// (1/4096 of the tile, an eighth of a pixel on a 512 px tile).
pub const TOLERANCE_UNITS: f64 = 1.0;

/// The encoded tile (empty if nothing falls in it).
pub fn render(model: &Model, layer: Layer, t: TileId) -> Vec<u8> {
    let layers = layer
        .parts_at(t.z)
        .into_iter()
        .filter_map(|p| render_part(model, p, t))
        .collect();
    encode(layers)
}

/// True if the tile holds at most `max_areas` candidate areas: cheap to render.
pub fn is_light(model: &Model, layer: Layer, t: TileId, max_areas: usize) -> bool {
    let mut n = 0;
    for part in layer.parts_at(t.z) {
        let levels: Vec<Level> = match part {
            Part::Polygons(l) => vec![l],
            Part::Labels => POLYGON_LEVELS
                .into_iter()
                .filter(|&l| t.z >= label_minzoom(l))
                .collect(),
        };
        let env = t.bounds_m(EXTENT, BUFFER);
        for level in levels {
            if let Some(index) = model.level(level) {
                n += index
                    .query(env)
                    .take(max_areas + 1 - n.min(max_areas))
                    .count();
                if n > max_areas {
                    return false;
                }
            }
        }
    }
    true
}

fn render_part(model: &Model, part: Part, t: TileId) -> Option<tile::Layer> {
    match part {
        Part::Polygons(level) => polygons(model, level, t),
        Part::Labels => labels(model, t),
    }
}

fn props(a: &AreaGeom, with_tree: bool) -> Vec<(&'static str, &str)> {
    let mut p: Vec<(&'static str, &str)> = vec![
        ("code", &a.code),
        ("name", &a.name),
        ("level", a.level.as_str()),
    ];
    if with_tree {
        if let Some(parent) = &a.parent {
            p.push(("parent", parent));
        }
        for (level, code) in a.ancestors.iter() {
            p.push((level.as_str(), code));
        }
    }
    p
}

fn polygons(model: &Model, level: Level, t: TileId) -> Option<tile::Layer> {
    let index = model.level(level)?;
    let env = t.bounds_m(EXTENT, BUFFER);
    let tf = TileTransform::new(t.bounds_m(EXTENT, 0), EXTENT);
    let tol = tf.metres(TOLERANCE_UNITS);
    let b = BUFFER as i32;
    let clip = [-b, -b, EXTENT as i32 + b, EXTENT as i32 + b];
    let mut areas: Vec<&AreaGeom> = index.query(env).filter(|a| a.intersects(env)).collect();
    // Stable order (by code) so equal data gives equal bytes, whatever the R-tree's history.
    areas.sort_unstable_by(|a, b| a.code.cmp(&b.code));
    let mut builder = LayerBuilder::new(level.as_str());
    for a in areas {
        let polys = tile_polygons(a, &tf, tol, clip);
        if !polys.is_empty() {
            builder.add_polygons(a.id, &props(a, true), &polys);
        }
    }
    (!builder.is_empty()).then(|| builder.finish())
}

fn labels(model: &Model, t: TileId) -> Option<tile::Layer> {
    let env = t.bounds_m(EXTENT, 0);
    let tf = TileTransform::new(env, EXTENT);
    let mut builder = LayerBuilder::new("label");
    for level in POLYGON_LEVELS
        .into_iter()
        .filter(|&l| t.z >= label_minzoom(l))
    {
        let Some(index) = model.level(level) else {
            continue;
        };
        let mut points: Vec<(&AreaGeom, [i32; 2])> = index
            .query(env)
            .filter_map(|a| {
                let p = a.label?;
                // Half-open, so a point on a seam belongs to exactly one tile.
                let inside = p[0] >= env[0] && p[0] < env[2] && p[1] > env[1] && p[1] <= env[3];
                inside.then(|| (a, tf.apply(p)))
            })
            .collect();
        points.sort_unstable_by(|a, b| a.0.code.cmp(&b.0.code));
        for (a, p) in points {
            builder.add_point(
                a.id,
                &props(a, false),
                [
                    p[0].clamp(0, EXTENT as i32 - 1),
                    p[1].clamp(0, EXTENT as i32 - 1),
                ],
            );
        }
    }
    (!builder.is_empty()).then(|| builder.finish())
}
