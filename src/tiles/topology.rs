//! Topology-preserving simplification of one level's partition.
//!
//! Neighbouring areas share bit-identical vertices along their common edges (the demo city is
//! built that way, and PostGIS topology or any snapped import gives the same). A vertex is a
//! *junction* when the boundary branches there: its occurrences in the level's rings do not all
//! have the same unordered pair of neighbours (three areas meet, or a shared edge meets the
//! coast). Junctions cut every ring into *arcs*; an arc between two neighbours appears in both
//! rings, once in each direction.
//!
//! Each arc is simplified with Douglas–Peucker, endpoints fixed, always walked in one canonical
//! direction, so both neighbours drop exactly the same vertices and the partition stays free of
//! gaps and overlaps at every zoom. Rather than storing a copy per zoom, each vertex gets a
//! *keep threshold*: the largest tolerance at which DP still keeps it (made monotone down the
//! DP recursion, so "keep if threshold > tolerance" is exactly DP at that tolerance). A
//! junction's threshold is infinite. A ring with no junction (an island, an enclave) is one
//! closed arc starting at its smallest vertex.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A small multiply-rotate hasher (the one rustc uses, "FxHash") for the hot maps here and in
/// the encoder: keys are our own coordinates and codes, not attacker-chosen, and SipHash or a
/// streaming xxh3 state cost more than the lookups themselves.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl FastHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        // splitmix64's finaliser: the multiply above leaves the low bits (the table's bucket)
        // depending on the low bits of the words only, which for coordinates in degrees are
        // often alike; mixing the high bits down spreads them.
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

pub type FastBuild = BuildHasherDefault<FastHasher>;

/// A point in Mercator metres.
pub type Pt = [f64; 2];
/// A vertex's identity: the bits of its coordinates (shared vertices are bit-identical).
pub type VKey = [u64; 2];

pub type JunctionSet = HashSet<VKey, FastBuild>;

pub fn key(p: Pt) -> VKey {
    [p[0].to_bits(), p[1].to_bits()]
}

/// An unordered pair of neighbour vertices.
fn pair(a: Pt, b: Pt) -> [VKey; 2] {
    let (ka, kb) = (key(a), key(b));
    if ka <= kb { [ka, kb] } else { [kb, ka] }
}

/// The junctions of a set of open rings (no repeated closing vertex).
pub fn junctions<'a>(rings: impl Iterator<Item = &'a [Pt]>) -> JunctionSet {
    let mut seen: HashMap<VKey, ([VKey; 2], bool), FastBuild> = HashMap::default();
    for ring in rings {
        let n = ring.len();
        for i in 0..n {
            let p = pair(ring[(i + n - 1) % n], ring[(i + 1) % n]);
            seen.entry(key(ring[i]))
                .and_modify(|(first, junction)| *junction |= *first != p)
                .or_insert((p, false));
        }
    }
    seen.into_iter()
        .filter(|(_, (_, j))| *j)
        .map(|(k, _)| k)
        .collect()
}

/// Whether `v` is a junction, from every ring of the level that passes through it.
pub fn is_junction<'a>(v: Pt, rings: impl Iterator<Item = &'a [Pt]>) -> bool {
    let kv = key(v);
    let mut first: Option<[VKey; 2]> = None;
    for ring in rings {
        let n = ring.len();
        for i in 0..n {
            if key(ring[i]) == kv {
                let p = pair(ring[(i + n - 1) % n], ring[(i + 1) % n]);
                match first {
                    None => first = Some(p),
                    Some(f) if f != p => return true,
                    Some(_) => {}
                }
            }
        }
    }
    false
}

fn lex_less(a: Pt, b: Pt) -> bool {
    a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])).is_lt()
}

/// Keep thresholds for each vertex of an open ring. Vertices are identified (junctions, the
/// canonical direction of an arc) by `ring`'s own coordinates; distances are measured between
/// the `project`ed points (Mercator metres, for a ring in degrees), which keeps the order of x
/// and of y.
pub fn thresholds(ring: &[Pt], junctions: &JunctionSet, project: impl Fn(Pt) -> Pt) -> Vec<f64> {
    let n = ring.len();
    let mut out = vec![0.0; n];
    if n == 0 {
        return out;
    }
    let mut cuts: Vec<usize> = (0..n)
        .filter(|&i| junctions.contains(&key(ring[i])))
        .collect();
    if cuts.is_empty() {
        // A closed arc: start at the smallest vertex, which both sides agree on.
        let s = (0..n).fold(0, |best, i| {
            if lex_less(ring[i], ring[best]) {
                i
            } else {
                best
            }
        });
        cuts.push(s);
    }
    let mut idx: Vec<usize> = Vec::new();
    let mut pts: Vec<Pt> = Vec::new();
    let mut projected: Vec<Pt> = Vec::new();
    let mut t: Vec<f64> = Vec::new();
    for (c, &start) in cuts.iter().enumerate() {
        let end = cuts[(c + 1) % cuts.len()];
        idx.clear();
        let mut i = start;
        idx.push(i);
        loop {
            i = (i + 1) % n;
            idx.push(i);
            if i == end {
                break;
            }
        }
        pts.clear();
        pts.extend(idx.iter().map(|&i| ring[i]));
        let m = pts.len() - 1;
        // Canonical direction, so both sides agree: from the smaller endpoint; a closed arc
        // (both ends at one vertex) towards the smaller of its two second vertices.
        let reversed = if key(pts[0]) != key(pts[m]) {
            lex_less(pts[m], pts[0])
        } else {
            m >= 2 && lex_less(pts[m - 1], pts[1])
        };
        if reversed {
            pts.reverse();
        }
        t.clear();
        t.resize(pts.len(), 0.0);
        projected.clear();
        projected.extend(pts.iter().map(|&p| project(p)));
        douglas_peucker(&projected, &mut t);
        if reversed {
            t.reverse();
        }
        for (k, &i) in idx.iter().enumerate() {
            out[i] = t[k];
        }
    }
    for &c in &cuts {
        out[c] = f64::INFINITY;
    }
    out
}

/// Distance from `p` to the segment `a`–`b` (to `a` if the segment is a point).
fn seg_dist2(p: Pt, a: Pt, b: Pt) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (qx, qy) = (a[0] + t * dx - p[0], a[1] + t * dy - p[1]);
    qx * qx + qy * qy
}

/// Fills `out` with DP keep thresholds of `pts`' interior vertices; endpoints get infinity.
fn douglas_peucker(pts: &[Pt], out: &mut [f64]) {
    let m = pts.len() - 1;
    out[0] = f64::INFINITY;
    out[m] = f64::INFINITY;
    let mut stack = vec![(0usize, m, f64::INFINITY)];
    while let Some((i, j, cap)) = stack.pop() {
        if j <= i + 1 {
            continue;
        }
        let (mut best, mut best_d) = (i + 1, -1.0);
        for k in i + 1..j {
            let d = seg_dist2(pts[k], pts[i], pts[j]);
            if d > best_d {
                best = k;
                best_d = d;
            }
        }
        let t = best_d.sqrt().min(cap);
        out[best] = t;
        stack.push((i, best, t));
        stack.push((best, j, t));
    }
}

/// The vertices of `ring` kept at `tolerance` (metres).
pub fn simplified<'a>(
    ring: &'a [Pt],
    thresholds: &'a [f32],
    tolerance: f64,
) -> impl Iterator<Item = Pt> + 'a {
    ring.iter()
        .zip(thresholds)
        .filter(move |(_, t)| f64::from(**t) > tolerance)
        .map(|(p, _)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Thresholds of a ring already in metres, as the model stores them.
    fn keep(ring: &[Pt], j: &JunctionSet) -> Vec<f32> {
        thresholds(ring, j, |p| p)
            .into_iter()
            .map(|t| t as f32)
            .collect()
    }

    fn sq(x: f64, y: f64, s: f64) -> Vec<Pt> {
        vec![[x, y], [x + s, y], [x + s, y + s], [x, y + s]]
    }

    #[test]
    fn junctions_of_two_squares_sharing_a_wavy_edge() {
        // Left square with a wavy right edge, right square with the same edge reversed.
        let left = vec![
            [0.0, 0.0],
            [10.0, 0.0],
            [10.5, 3.0],
            [9.7, 6.0],
            [10.0, 10.0],
            [0.0, 10.0],
        ];
        let right = vec![
            [10.0, 0.0],
            [20.0, 0.0],
            [20.0, 10.0],
            [10.0, 10.0],
            [9.7, 6.0],
            [10.5, 3.0],
        ];
        let j = junctions([left.as_slice(), right.as_slice()].into_iter());
        let want: JunctionSet = [[10.0, 0.0], [10.0, 10.0]]
            .iter()
            .map(|p| key(*p))
            .collect();
        assert_eq!(j, want);
        assert!(is_junction(
            [10.0, 0.0],
            [left.as_slice(), right.as_slice()].into_iter()
        ));
        assert!(!is_junction(
            [10.5, 3.0],
            [left.as_slice(), right.as_slice()].into_iter()
        ));

        // The shared edge simplifies identically from both sides at every tolerance.
        let (tl, tr) = (keep(&left, &j), keep(&right, &j));
        for tol in [0.0, 0.1, 0.3, 0.5, 0.6, 1.0, 100.0] {
            let a: Vec<Pt> = simplified(&left, &tl, tol)
                .filter(|p| p[0] > 5.0 && p[0] < 15.0)
                .collect();
            let mut b: Vec<Pt> = simplified(&right, &tr, tol)
                .filter(|p| p[0] > 5.0 && p[0] < 15.0)
                .collect();
            b.reverse();
            // Right ring starts at (10,0); rotate b so both start at (10,0).
            let start = b.iter().position(|p| *p == [10.0, 0.0]).unwrap();
            b.rotate_left(start);
            assert_eq!(a, b, "tolerance {tol}");
        }
        // At 8 m the wave goes and one far corner stays; at 100 m only the junctions.
        assert_eq!(simplified(&left, &tl, 8.0).count(), 3);
        assert_eq!(simplified(&left, &tl, 100.0).count(), 2);
    }

    #[test]
    fn thresholds_are_douglas_peucker() {
        // A flat line with one peak of height 4 and ripples of 0.1.
        let line = vec![
            [0.0, 0.0],
            [1.0, 0.1],
            [2.0, -0.1],
            [3.0, 0.0],
            [3.5, 4.0],
            [4.0, 0.0],
            [5.0, 0.1],
            [6.0, 0.0],
        ];
        let mut t = vec![0.0; line.len()];
        douglas_peucker(&line, &mut t);
        assert_eq!(t[4], 4.0, "the peak is the first split: {t:?}");
        assert!(
            t.iter().filter(|v| v.is_finite()).all(|v| *v <= 4.0),
            "monotone: {t:?}"
        );
        for i in [1, 2, 6] {
            assert!(t[i] <= 0.1 + 1e-12, "ripple {i}: {t:?}");
        }
        // At 0.5 m: the ends, the peak and the feet of the peak.
        let t32: Vec<f32> = t.iter().map(|&v| v as f32).collect();
        let kept: Vec<Pt> = simplified(&line, &t32, 0.5).collect();
        assert_eq!(
            kept,
            vec![[0.0, 0.0], [3.0, 0.0], [3.5, 4.0], [4.0, 0.0], [6.0, 0.0]]
        );
    }

    #[test]
    fn island_without_junctions_is_one_closed_arc() {
        let island = sq(0.0, 0.0, 10.0);
        let j = junctions(std::iter::once(island.as_slice()));
        assert!(j.is_empty());
        let t = thresholds(&island, &j, |p| p);
        assert_eq!(t[0], f64::INFINITY, "starts at the smallest vertex");
        assert!(t.iter().filter(|v| v.is_finite()).all(|v| *v > 0.0));
        // The two sides of a hole and its enclave agree too (same ring, reversed).
        let mut hole = island.clone();
        hole.reverse();
        let th = thresholds(&hole, &j, |p| p);
        let mut back = th.clone();
        back.reverse();
        assert_eq!(back, t);
    }
}
