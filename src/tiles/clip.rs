//! From an area's simplified Mercator rings to valid, clipped polygons in integer tile
//! coordinates, wound as MVT 2.1 requires (exterior rings positive area by the surveyor's
//! formula with y down; holes negative).
//!
//! Steps per area: keep the vertices above the zoom's tolerance, snap them to the 4096 grid,
//! drop repeated points and zero-width spikes (neither changes the covered area, so neighbours
//! still meet exactly), drop rings that collapsed. Areas that reach past the buffered tile, or
//! whose snapped rings touch or cross (found by a sweep over their segments), go through
//! i_overlay on integers: intersection with the buffered tile square, or a plain union. Its
//! output is OGC-valid and covers exactly what the input covered inside the square, so two
//! neighbours cut by the same square still share their edge. The fill rule is "positive
//! winding": a fold that a simplified ring makes over itself is left to the neighbour that winds
//! positively there (see `overlay`).

use super::model::{AreaGeom, merc};
use super::topology::simplified;
use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay::{IntOverlayOptions, Overlay, ShapeType};
use i_overlay::core::overlay_rule::OverlayRule;
use i_overlay::i_float::int::point::IntPoint;

/// A point in tile coordinates (x right, y down).
pub type IPt = [i32; 2];
/// An outer ring then its holes, open (no repeated closing point).
pub type IPolygon = Vec<Vec<IPt>>;

/// Mercator metres to tile units.
#[derive(Debug, Clone, Copy)]
pub struct TileTransform {
    pub x0: f64,
    pub y1: f64,
    pub scale: f64,
}

impl TileTransform {
    /// For the tile whose unbuffered Mercator bounds are `b`, with `extent` units across.
    pub fn new(b: [f64; 4], extent: u32) -> TileTransform {
        TileTransform {
            x0: b[0],
            y1: b[3],
            scale: extent as f64 / (b[2] - b[0]),
        }
    }

    pub fn apply(&self, p: [f64; 2]) -> IPt {
        [
            ((p[0] - self.x0) * self.scale).round() as i32,
            ((self.y1 - p[1]) * self.scale).round() as i32,
        ]
    }

    /// Tile units to Mercator metres.
    pub fn metres(&self, units: f64) -> f64 {
        units / self.scale
    }
}

/// Twice the signed area (surveyor's formula).
pub fn area2(r: &[IPt]) -> i64 {
    let n = r.len();
    (0..n)
        .map(|i| {
            r[i][0] as i64 * r[(i + 1) % n][1] as i64 - r[(i + 1) % n][0] as i64 * r[i][1] as i64
        })
        .sum()
}

/// Removes repeated points and back-and-forth spikes, around the seam too.
fn clean(pts: &mut Vec<IPt>) {
    let mut out: Vec<IPt> = Vec::with_capacity(pts.len());
    for &p in pts.iter() {
        if out.last() == Some(&p) {
            continue;
        }
        if out.len() >= 2 && out[out.len() - 2] == p {
            out.pop();
            continue;
        }
        out.push(p);
    }
    // Points on a straight run add nothing (what ST_AsMVTGeom removes too); dropping one
    // never changes the covered area, so neighbours still meet exactly.
    let mut kept: Vec<IPt> = Vec::with_capacity(out.len());
    for i in 0..out.len() {
        let (p, q) = (
            kept.last().copied().unwrap_or(out[out.len() - 1]),
            out[(i + 1) % out.len()],
        );
        if out.len() >= 3 && orient(p, out[i], q) == 0 && between(p, out[i], q) {
            continue;
        }
        kept.push(out[i]);
    }
    if kept.len() >= 3 {
        out = kept;
    }
    loop {
        let n = out.len();
        if n < 3 {
            break;
        }
        if out[n - 1] == out[0] || out[n - 2] == out[0] {
            out.pop();
        } else if out[n - 1] == out[1] {
            out.remove(0);
        } else {
            break;
        }
    }
    *pts = out;
}

/// The area at tolerance `tol_m` in tile units, clipped to `clip` = [min x, min y, max x, max y].
pub fn tile_polygons(
    area: &AreaGeom,
    tf: &TileTransform,
    tol_m: f64,
    clip: [i32; 4],
) -> Vec<IPolygon> {
    let mut polys: Vec<IPolygon> = Vec::new();
    let mut bb = [i32::MAX, i32::MAX, i32::MIN, i32::MIN];
    let mut folded = false;
    // The polygon being assembled; `None` after its outer ring collapsed (its holes go too).
    let mut current: Option<IPolygon> = None;
    for ring in area.ring_refs() {
        if ring.exterior
            && let Some(rings) = current.take().filter(|r| !r.is_empty())
        {
            polys.push(rings);
        }
        let mut pts: Vec<IPt> = simplified(ring.pts, ring.keep, tol_m)
            .map(|p| tf.apply(merc(p)))
            .collect();
        clean(&mut pts);
        if pts.len() < 3 || area2(&pts) == 0 {
            continue; // an outer ring that collapsed leaves `current` empty: so did the polygon
        }
        let rings = match (ring.exterior, current.as_mut()) {
            (true, _) => current.insert(Vec::new()),
            (false, Some(r)) if !r.is_empty() => r,
            (false, _) => continue,
        };
        // Orient by the unsimplified ring (y flips, so counter-clockwise in Mercator is
        // negative here): exterior positive, holes negative. A ring that comes out the other
        // way has folded over under simplification; the overlay below then keeps only its
        // positively wound part, as its neighbour's same (reversed) arc agrees.
        if ring.exterior == ring.ccw {
            pts.reverse();
        }
        folded |= (area2(&pts) > 0) != ring.exterior;
        for p in &pts {
            bb = [
                bb[0].min(p[0]),
                bb[1].min(p[1]),
                bb[2].max(p[0]),
                bb[3].max(p[1]),
            ];
        }
        rings.push(pts);
    }
    if let Some(rings) = current.take().filter(|r| !r.is_empty()) {
        polys.push(rings);
    }
    if polys.is_empty() || bb[2] < clip[0] || bb[0] > clip[2] || bb[3] < clip[1] || bb[1] > clip[3]
    {
        return Vec::new();
    }
    let inside = bb[0] >= clip[0] && bb[1] >= clip[1] && bb[2] <= clip[2] && bb[3] <= clip[3];
    if inside {
        return if !folded && is_simple(&polys) {
            polys
        } else {
            overlay(&polys, None)
        };
    }
    if !folded {
        // Most areas are convex or nearly so: cutting each ring by the square's four sides is
        // enough, and exact where it applies. Where it leaves edges doubled along the square's
        // side (a concave area leaving and re-entering), the sweep finds them and the overlay
        // does it properly.
        let cut = cut_by_square(&polys, clip);
        if is_simple(&cut) {
            return cut;
        }
    }
    overlay(&polys, Some(clip))
}

/// Sutherland–Hodgman: each ring cut by the four sides of `c` in turn. Crossing points are
/// rounded from the exact rational value, so a segment shared by two neighbours gives the same
/// point whichever way it is walked.
fn cut_by_square(polys: &[IPolygon], c: [i32; 4]) -> Vec<IPolygon> {
    let mut out = Vec::with_capacity(polys.len());
    let mut buf: Vec<IPt> = Vec::new();
    for poly in polys {
        let mut rings: IPolygon = Vec::with_capacity(poly.len());
        for (i, ring) in poly.iter().enumerate() {
            let mut pts = ring.clone();
            for side in 0..4 {
                buf.clear();
                let n = pts.len();
                for k in 0..n {
                    let (a, b) = (pts[(k + n - 1) % n], pts[k]);
                    let (ia, ib) = (keeps(a, side, c), keeps(b, side, c));
                    if ib {
                        if !ia {
                            buf.push(crossing(a, b, side, c));
                        }
                        buf.push(b);
                    } else if ia {
                        buf.push(crossing(a, b, side, c));
                    }
                }
                std::mem::swap(&mut pts, &mut buf);
                if pts.is_empty() {
                    break;
                }
            }
            clean(&mut pts);
            if pts.len() < 3 || area2(&pts) == 0 {
                if i == 0 {
                    break;
                }
                continue;
            }
            rings.push(pts);
        }
        if !rings.is_empty() {
            out.push(rings);
        }
    }
    out
}

fn keeps(p: IPt, side: usize, c: [i32; 4]) -> bool {
    match side {
        0 => p[0] >= c[0],
        1 => p[0] <= c[2],
        2 => p[1] >= c[1],
        _ => p[1] <= c[3],
    }
}

/// Where a–b crosses the side's line (a and b are on opposite sides of it).
fn crossing(a: IPt, b: IPt, side: usize, c: [i32; 4]) -> IPt {
    let (ax, ay, bx, by) = (a[0] as i64, a[1] as i64, b[0] as i64, b[1] as i64);
    match side {
        0 | 1 => {
            let x = if side == 0 { c[0] } else { c[2] } as i64;
            // y = ay + (x − ax)(by − ay)/(bx − ax), as one exact fraction.
            [
                x as i32,
                div_round(ay * (bx - ax) + (x - ax) * (by - ay), bx - ax) as i32,
            ]
        }
        _ => {
            let y = if side == 2 { c[1] } else { c[3] } as i64;
            [
                div_round(ax * (by - ay) + (y - ay) * (bx - ax), by - ay) as i32,
                y as i32,
            ]
        }
    }
}

/// num/den rounded half up, for any signs.
fn div_round(num: i64, den: i64) -> i64 {
    let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
    (2 * num + den).div_euclid(2 * den)
}

/// Union (or intersection with the square `clip`) of the polygons, as OGC-valid polygons.
fn overlay(polys: &[IPolygon], clip: Option<[i32; 4]>) -> Vec<IPolygon> {
    let subject: Vec<Vec<IntPoint<i32>>> = polys
        .iter()
        .flatten()
        .map(|r| r.iter().map(|p| IntPoint::new(p[0], p[1])).collect())
        .collect();
    let n: usize = subject.iter().map(Vec::len).sum();
    let mut ov = Overlay::<i32>::new_custom(n + 4, IntOverlayOptions::ogc(), Default::default());
    ov.add_source(&subject, ShapeType::Subject);
    let rule = match clip {
        Some(c) => {
            let square = vec![
                IntPoint::new(c[0], c[1]),
                IntPoint::new(c[2], c[1]),
                IntPoint::new(c[2], c[3]),
                IntPoint::new(c[0], c[3]),
            ];
            ov.add_source(&square, ShapeType::Clip);
            OverlayRule::Intersect
        }
        None => OverlayRule::Subject,
    };
    // Positive, not non-zero: where a simplified ring folds over itself, the fold winds
    // negatively for this area and doubly for its neighbour; keeping only positive winding
    // leaves the fold to exactly one of them, so the partition stays exact.
    let shapes = ov.overlay(rule, FillRule::Positive);
    shapes
        .into_iter()
        .map(|shape| {
            shape
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    let mut r: Vec<IPt> = c.into_iter().map(|p| [p.x, p.y]).collect();
                    let a = area2(&r);
                    if (i == 0) != (a > 0) {
                        r.reverse();
                    }
                    r
                })
                .collect::<IPolygon>()
        })
        .filter(|p: &IPolygon| p.first().is_some_and(|r| r.len() >= 3))
        .collect()
}

/// True if no two segments of the polygons touch or cross, other than consecutive segments of
/// one ring at their shared vertex. Sweep over segments sorted by their left end.
pub fn is_simple(polys: &[IPolygon]) -> bool {
    struct Seg {
        a: IPt,
        b: IPt,
        ring: u32,
        idx: u32,
        len: u32,
        x0: i32,
        x1: i32,
    }
    let mut segs: Vec<Seg> = Vec::new();
    for (ring_id, r) in polys.iter().flatten().enumerate() {
        let n = r.len();
        for i in 0..n {
            let (a, b) = (r[i], r[(i + 1) % n]);
            segs.push(Seg {
                a,
                b,
                ring: ring_id as u32,
                idx: i as u32,
                len: n as u32,
                x0: a[0].min(b[0]),
                x1: a[0].max(b[0]),
            });
        }
    }
    segs.sort_unstable_by_key(|s| s.x0);
    for i in 0..segs.len() {
        let s = &segs[i];
        for t in &segs[i + 1..] {
            if t.x0 > s.x1 {
                break;
            }
            let adjacent =
                s.ring == t.ring && ((s.idx + 1) % s.len == t.idx || (t.idx + 1) % t.len == s.idx);
            if adjacent {
                // Consecutive segments may only meet at their common vertex: fold-backs fail.
                if s.len <= 2 || collinear_overlap(s.a, s.b, t.a, t.b) {
                    return false;
                }
                continue;
            }
            if segments_meet(s.a, s.b, t.a, t.b) {
                return false;
            }
        }
    }
    true
}

fn orient(a: IPt, b: IPt, c: IPt) -> i64 {
    (b[0] as i64 - a[0] as i64) * (c[1] as i64 - a[1] as i64)
        - (b[1] as i64 - a[1] as i64) * (c[0] as i64 - a[0] as i64)
}

/// `m` lies strictly inside the box of a–b on the way from a to b (not a fold-back).
fn between(a: IPt, m: IPt, b: IPt) -> bool {
    let d1 = (m[0] as i64 - a[0] as i64) * (b[0] as i64 - m[0] as i64)
        + (m[1] as i64 - a[1] as i64) * (b[1] as i64 - m[1] as i64);
    d1 > 0
}

fn on_segment(a: IPt, b: IPt, p: IPt) -> bool {
    p[0] >= a[0].min(b[0])
        && p[0] <= a[0].max(b[0])
        && p[1] >= a[1].min(b[1])
        && p[1] <= a[1].max(b[1])
}

/// Closed segments a–b and c–d share at least one point.
fn segments_meet(a: IPt, b: IPt, c: IPt, d: IPt) -> bool {
    let (d1, d2, d3, d4) = (
        orient(c, d, a),
        orient(c, d, b),
        orient(a, b, c),
        orient(a, b, d),
    );
    if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
        return true;
    }
    (d1 == 0 && on_segment(c, d, a))
        || (d2 == 0 && on_segment(c, d, b))
        || (d3 == 0 && on_segment(a, b, c))
        || (d4 == 0 && on_segment(a, b, d))
}

/// Two consecutive segments (sharing a vertex) lie on one line and fold back over each other.
fn collinear_overlap(a: IPt, b: IPt, c: IPt, d: IPt) -> bool {
    if orient(a, b, c) != 0 || orient(a, b, d) != 0 {
        return false;
    }
    let dir1 = [b[0] as i64 - a[0] as i64, b[1] as i64 - a[1] as i64];
    let dir2 = [d[0] as i64 - c[0] as i64, d[1] as i64 - c[1] as i64];
    dir1[0] * dir2[0] + dir1[1] * dir2[1] < 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sq(x: i32, y: i32, s: i32) -> Vec<IPt> {
        vec![[x, y], [x, y + s], [x + s, y + s], [x + s, y]]
    }

    #[test]
    fn cleans_duplicates_and_spikes() {
        let mut r = vec![
            [0, 0],
            [0, 0],
            [10, 0],
            [20, 0],
            [10, 0],
            [10, 10],
            [0, 10],
            [0, 0],
        ];
        clean(&mut r);
        assert_eq!(r, vec![[0, 0], [10, 0], [10, 10], [0, 10]]);
        let mut spike_at_seam = vec![[5, 5], [0, 0], [10, 0], [10, 10], [0, 10], [0, 0]];
        clean(&mut spike_at_seam);
        assert_eq!(area2(&spike_at_seam).abs(), 200);
        assert_eq!(spike_at_seam.len(), 4);
        let mut straight = vec![[0, 0], [5, 0], [10, 0], [10, 10], [0, 10], [0, 5]];
        clean(&mut straight);
        assert_eq!(straight, vec![[0, 0], [10, 0], [10, 10], [0, 10]]);
    }

    #[test]
    fn simple_and_not_simple() {
        assert!(is_simple(&[vec![sq(0, 0, 10)]]));
        assert!(is_simple(&[vec![sq(0, 0, 10), sq(2, 2, 3)]]));
        let bowtie = vec![[0, 0], [10, 10], [10, 0], [0, 10]];
        assert!(!is_simple(&[vec![bowtie]]));
        // A hole touching the outer ring at a vertex, two parts sharing an edge.
        assert!(!is_simple(&[vec![sq(0, 0, 10), sq(0, 0, 3)]]));
        assert!(!is_simple(&[vec![sq(0, 0, 10)], vec![sq(10, 0, 10)]]));
        let fold = vec![[0, 0], [10, 0], [5, 0], [5, 5]];
        assert!(!is_simple(&[vec![fold]]));
    }

    #[test]
    fn overlay_clips_to_the_square_and_fixes_a_bowtie() {
        let mut outer = sq(-100, -100, 300);
        outer.reverse();
        let out = overlay(&[vec![outer]], Some([0, 0, 100, 100]));
        assert_eq!(out.len(), 1);
        assert_eq!(area2(&out[0][0]), 2 * 100 * 100);
        // A bow-tie winds one lobe each way: only the positive one is this area's.
        let bowtie = vec![[0, 0], [10, 10], [10, 0], [0, 10]];
        let out = overlay(&[vec![bowtie]], None);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(area2(&out[0][0]), 50, "{out:?}");
    }

    #[test]
    fn cutting_by_the_square_agrees_with_the_overlay() {
        // A convex pentagon across the corner, and a shared slanted edge walked both ways.
        let penta = vec![vec![vec![
            [-50, 30],
            [40, -60],
            [130, -10],
            [120, 90],
            [10, 110],
        ]]];
        let cut = cut_by_square(&penta, [0, 0, 100, 100]);
        let ov = overlay(&penta, Some([0, 0, 100, 100]));
        assert!(is_simple(&cut));
        // Both round the crossing points to the grid, each its own way: within a unit per side.
        assert!(
            (area2(&cut[0][0]) - area2(&ov[0][0])).abs() <= 2 * 4 * 100,
            "{cut:?} {ov:?}"
        );
        let (a, b) = ([-7, 3], [9, 20]);
        assert_eq!(
            crossing(a, b, 0, [0, 0, 100, 100]),
            crossing(b, a, 0, [0, 0, 100, 100])
        );
        assert_eq!(div_round(-7, 2), -3);
        assert_eq!(div_round(7, -2), -3);
        assert_eq!(div_round(5, 2), 3);
        // A "U" leaving and re-entering the square: the cut doubles an edge, the sweep says so.
        let u = vec![vec![vec![
            [10, 10],
            [10, -50],
            [90, -50],
            [90, 10],
            [70, 10],
            [70, -20],
            [30, -20],
            [30, 10],
        ]]];
        let cut = cut_by_square(&u, [0, 0, 100, 100]);
        assert!(!is_simple(&cut));
    }

    #[test]
    fn neighbours_clipped_by_the_same_square_still_share_their_edge() {
        // Two rectangles sharing x = 50, both reaching past the square.
        let a = vec![[-20, -20], [50, -20], [50, 120], [-20, 120]];
        let b = vec![[50, -20], [130, -20], [130, 120], [50, 120]];
        let ca = overlay(&[vec![a]], Some([0, 0, 100, 100]));
        let cb = overlay(&[vec![b]], Some([0, 0, 100, 100]));
        let total = area2(&ca[0][0]) + area2(&cb[0][0]);
        assert_eq!(total, 2 * 100 * 100, "no gap, no overlap");
    }
}
