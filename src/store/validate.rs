//! Topology checks of the area tree, computed by PostGIS: gaps inside a parent not covered by
//! its children, overlaps between siblings, children spilling outside their parent, and invalid
//! or empty geometries, each with the codes involved and its size in m².

use super::{Op, Store, StoreError};
use crate::model::Level;
use serde::Serialize;
use sqlx::{PgConnection, Row};

/// What kind of problem an issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// Part of a parent covered by none of its children (a "blind spot").
    Gap,
    /// Two siblings covering the same ground.
    Overlap,
    /// Part of a child outside its parent.
    OutsideParent,
    /// A geometry PostGIS finds invalid (self-intersection, ...).
    InvalidGeometry,
    /// A geometry with no area.
    EmptyGeometry,
}

/// One problem found.
#[derive(Debug, Clone, Serialize)]
pub struct Issue {
    pub kind: IssueKind,
    /// The areas involved: the parent for a gap, both siblings for an overlap, the child for a
    /// spill, the area itself for invalid or empty geometry.
    pub codes: Vec<String>,
    pub parent: Option<String>,
    /// Size of the problem in square metres (0 for invalid or empty geometry).
    pub area_m2: f64,
    /// A point inside the problem, [lon, lat], to fly to on a map.
    pub location: Option<[f64; 2]>,
    /// What is wrong, for people (zh-CN).
    pub message: String,
}

/// The result of validating a subtree.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub root: String,
    pub areas_checked: usize,
    pub parents_checked: usize,
    /// Problems smaller than this many m² are not reported (floating-point dust).
    pub min_area_m2: f64,
    pub ok: bool,
    pub issues: Vec<Issue>,
}

impl Issue {
    fn new(
        kind: IssueKind,
        codes: Vec<String>,
        parent: Option<String>,
        area_m2: f64,
        location: Option<[f64; 2]>,
    ) -> Issue {
        let message = match kind {
            IssueKind::Gap => format!(
                "{} 内有 {:.1} 平方米未被任何下级区域覆盖（盲区）",
                codes.join("、"),
                area_m2
            ),
            IssueKind::Overlap => format!("{} 相互重叠 {:.1} 平方米", codes.join(" 与 "), area_m2),
            IssueKind::OutsideParent => format!(
                "{} 有 {:.1} 平方米超出上级区域 {}",
                codes.join("、"),
                area_m2,
                parent.as_deref().unwrap_or("?")
            ),
            IssueKind::InvalidGeometry => format!("{} 的几何图形无效", codes.join("、")),
            IssueKind::EmptyGeometry => format!("{} 的几何图形为空或面积为零", codes.join("、")),
        };
        Issue {
            kind,
            codes,
            parent,
            area_m2,
            location,
            message,
        }
    }

    fn with_detail(mut self, detail: &str) -> Issue {
        self.message = format!("{}：{}", self.message, detail);
        self
    }
}

/// Codes and levels of `root` and everything below it.
pub async fn subtree(
    conn: &mut PgConnection,
    root: &str,
) -> Result<Vec<(String, Level)>, StoreError> {
    let rows = sqlx::query(
        "WITH RECURSIVE sub AS (
             SELECT code, level FROM area WHERE code = $1
             UNION ALL
             SELECT c.code, c.level FROM area c JOIN sub ON c.parent_code = sub.code)
         SELECT code, level FROM sub ORDER BY level, code",
    )
    .bind(root)
    .fetch_all(&mut *conn)
    .await
    .op("walking the area tree")?;
    rows.iter()
        .map(|r| {
            let rank: i16 = r.try_get("level").op("walking the area tree")?;
            Ok((
                r.try_get("code").op("walking the area tree")?,
                Level::from_rank(rank).unwrap_or(Level::Unit),
            ))
        })
        .collect()
}

/// Invalid and empty geometries among `codes`.
pub async fn check_geometries(
    conn: &mut PgConnection,
    codes: &[String],
) -> Result<Vec<Issue>, StoreError> {
    let rows = sqlx::query(
        "SELECT code, parent_code, ST_IsValidReason(geom) AS reason,
                ST_IsEmpty(geom) OR (ST_IsValid(geom) AND ST_Area(geom) = 0) AS empty,
                ST_X(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1)) AS x,
                ST_Y(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1)) AS y
         FROM area WHERE code = ANY($1) AND (NOT ST_IsValid(geom) OR ST_IsEmpty(geom) OR ST_Area(geom) = 0)",
    )
    .bind(codes)
    .fetch_all(&mut *conn)
    .await
    .op("checking geometries")?;
    rows.iter()
        .map(|r| {
            let code: String = r.try_get("code").op("checking geometries")?;
            let parent: Option<String> = r.try_get("parent_code").op("checking geometries")?;
            let empty: bool = r.try_get("empty").op("checking geometries")?;
            let reason: String = r.try_get("reason").op("checking geometries")?;
            let loc = match (
                r.try_get::<Option<f64>, _>("x"),
                r.try_get::<Option<f64>, _>("y"),
            ) {
                (Ok(Some(x)), Ok(Some(y))) => Some([x, y]),
                _ => None,
            };
            Ok(if empty {
                Issue::new(IssueKind::EmptyGeometry, vec![code], parent, 0.0, loc)
            } else {
                Issue::new(IssueKind::InvalidGeometry, vec![code], parent, 0.0, loc)
                    .with_detail(&reason)
            })
        })
        .collect()
}

/// Gaps, overlaps and spills among the children of each of `parents`. Invalid or empty
/// geometries are left out of these checks (they are reported by `check_geometries`).
pub async fn check_children(
    conn: &mut PgConnection,
    parents: &[String],
    min_area_m2: f64,
) -> Result<Vec<Issue>, StoreError> {
    let mut issues = Vec::new();
    // Gaps: parent minus the union of its children, piece by piece. Spills: each child minus
    // its parent. Both only where a cheap test says there is something to find.
    let rows = sqlx::query(
        "WITH p AS (
             SELECT code, geom FROM area
             WHERE code = ANY($1) AND level < 5 AND ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
         kids AS (
             SELECT c.parent_code, c.code, c.geom FROM area c JOIN p ON c.parent_code = p.code
             WHERE ST_IsValid(c.geom) AND NOT ST_IsEmpty(c.geom)),
         u AS (
             SELECT parent_code, ST_Union(geom) AS ug, sum(ST_Area(geom)) AS sum_area, count(*) AS n
             FROM kids GROUP BY parent_code),
         gaps AS (
             SELECT p.code AS parent, (ST_Dump(
                 CASE WHEN u.ug IS NULL THEN p.geom ELSE ST_Difference(p.geom, u.ug) END)).geom AS piece
             FROM p LEFT JOIN u ON u.parent_code = p.code
             WHERE u.ug IS NULL OR NOT ST_CoveredBy(p.geom, u.ug)),
         spills AS (
             SELECT k.parent_code AS parent, k.code, (ST_Dump(ST_Difference(k.geom, p.geom))).geom AS piece
             FROM kids k JOIN p ON p.code = k.parent_code
             WHERE NOT ST_CoveredBy(k.geom, p.geom)),
         overlapping AS (
             SELECT u.parent_code FROM u WHERE u.n > 1 AND u.sum_area - ST_Area(u.ug) > 1e-14)
         SELECT 'gap' AS kind, parent, NULL::text AS code, NULL::text AS other,
                ST_Area(piece::geography) AS m2, ST_X(ST_PointOnSurface(piece)) AS x, ST_Y(ST_PointOnSurface(piece)) AS y
           FROM gaps WHERE ST_Dimension(piece) = 2
         UNION ALL
         SELECT 'outside', parent, code, NULL, ST_Area(piece::geography), ST_X(ST_PointOnSurface(piece)), ST_Y(ST_PointOnSurface(piece))
           FROM spills WHERE ST_Dimension(piece) = 2
         UNION ALL
         SELECT 'overlap', a.parent_code, a.code, b.code, ST_Area(ST_Intersection(a.geom, b.geom)::geography),
                ST_X(ST_PointOnSurface(ST_Intersection(a.geom, b.geom))), ST_Y(ST_PointOnSurface(ST_Intersection(a.geom, b.geom)))
           FROM kids a JOIN kids b ON a.parent_code = b.parent_code AND a.code < b.code
           WHERE a.parent_code IN (SELECT parent_code FROM overlapping)
             AND ST_Intersects(a.geom, b.geom) AND ST_Relate(a.geom, b.geom, '2********')",
    )
    .bind(parents)
    .fetch_all(&mut *conn)
    .await
    .op("checking gaps, overlaps and spills")?;
    for r in rows {
        let kind: String = r.try_get("kind").op("reading validation results")?;
        let parent: String = r.try_get("parent").op("reading validation results")?;
        let m2: f64 = r
            .try_get::<Option<f64>, _>("m2")
            .op("reading validation results")?
            .unwrap_or(0.0);
        if m2 < min_area_m2 {
            continue;
        }
        let loc = match (
            r.try_get::<Option<f64>, _>("x"),
            r.try_get::<Option<f64>, _>("y"),
        ) {
            (Ok(Some(x)), Ok(Some(y))) => Some([x, y]),
            _ => None,
        };
        let code: Option<String> = r.try_get("code").op("reading validation results")?;
        let other: Option<String> = r.try_get("other").op("reading validation results")?;
        issues.push(match kind.as_str() {
            "gap" => Issue::new(IssueKind::Gap, vec![parent.clone()], Some(parent), m2, loc),
            "outside" => Issue::new(
                IssueKind::OutsideParent,
                code.into_iter().collect(),
                Some(parent),
                m2,
                loc,
            ),
            _ => Issue::new(
                IssueKind::Overlap,
                code.into_iter().chain(other).collect(),
                Some(parent),
                m2,
                loc,
            ),
        });
    }
    Ok(issues)
}

impl Store {
    /// Validates `root` and everything below it. `progress(done, total)` follows the checks.
    pub async fn validate(
        &self,
        root: &str,
        min_area_m2: f64,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<Option<Report>, StoreError> {
        let mut conn = self.pool.acquire().await.op("acquiring a connection")?;
        let areas = subtree(&mut conn, root).await?;
        if areas.is_empty() {
            return Ok(None);
        }
        let codes: Vec<String> = areas.iter().map(|(c, _)| c.clone()).collect();
        let parents: Vec<String> = areas
            .iter()
            .filter(|(_, l)| *l < Level::Unit)
            .map(|(c, _)| c.clone())
            .collect();
        let geometry_batches = codes.chunks(20_000).count() as u64;
        let parent_batches = parents.chunks(500).count() as u64;
        let total = geometry_batches + parent_batches;
        let mut issues = Vec::new();
        let mut done = 0;
        for batch in codes.chunks(20_000) {
            issues.extend(check_geometries(&mut conn, batch).await?);
            done += 1;
            progress(done, total);
        }
        for batch in parents.chunks(500) {
            issues.extend(check_children(&mut conn, batch, min_area_m2).await?);
            done += 1;
            progress(done, total);
        }
        sort_issues(&mut issues);
        Ok(Some(Report {
            root: root.to_string(),
            areas_checked: codes.len(),
            parents_checked: parents.len(),
            min_area_m2,
            ok: issues.is_empty(),
            issues,
        }))
    }
}

/// Largest problems first within each kind; kinds in a fixed order.
pub fn sort_issues(issues: &mut [Issue]) {
    issues.sort_by(|a, b| {
        (a.kind as u8)
            .cmp(&(b.kind as u8))
            .then(b.area_m2.total_cmp(&a.area_m2))
            .then(a.codes.cmp(&b.codes))
    });
}
