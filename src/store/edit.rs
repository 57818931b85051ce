//! Applying new or changed areas in one transaction that is committed only if the result
//! passes validation; otherwise rolled back, with a report of everything that is wrong.

use super::validate::{Issue, IssueKind, check_children, check_geometries, sort_issues};
use super::{Op, Store, StoreError};
use crate::geom::wkb::multipolygon_to_ewkb;
use crate::model::{AreaCode, Level};
use geo_types::MultiPolygon;
use serde::Serialize;
use sqlx::Row;
use std::collections::{BTreeSet, HashMap};

/// An area as an import or an edit describes it; missing fields keep their stored values.
#[derive(Debug, Clone)]
pub struct AreaDraft {
    pub code: AreaCode,
    pub level: Option<Level>,
    pub parent: Option<AreaCode>,
    pub name: Option<String>,
    pub geom: Option<MultiPolygon<f64>>,
    /// Properties to set (a null value removes the key).
    pub props: serde_json::Map<String, serde_json::Value>,
}

/// One reason a change was refused (or, for allowed gaps, a warning).
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub kind: String,
    pub codes: Vec<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_m2: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<[f64; 2]>,
}

impl Problem {
    fn new(kind: &str, codes: Vec<String>, message: String) -> Problem {
        Problem {
            kind: kind.to_string(),
            codes,
            message,
            area_m2: None,
            location: None,
        }
    }
}

impl From<Issue> for Problem {
    fn from(i: Issue) -> Problem {
        let kind = serde_json::to_value(i.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let area = (i.area_m2 > 0.0).then_some(i.area_m2);
        Problem {
            kind,
            codes: i.codes,
            message: i.message,
            area_m2: area,
            location: i.location,
        }
    }
}

/// What happened to a change.
#[derive(Debug, Clone, Serialize)]
pub struct EditReport {
    /// True if the change was committed.
    pub applied: bool,
    pub created: Vec<String>,
    pub updated: Vec<String>,
    /// Why the change was refused (empty if applied).
    pub problems: Vec<Problem>,
    /// Gaps accepted because the caller allowed them.
    pub warnings: Vec<Problem>,
}

/// Gaps and overlaps smaller than this (m²) are floating-point dust, not problems.
pub const DUST_M2: f64 = 0.01;

impl Store {
    /// Applies `drafts` atomically if the result is valid; otherwise changes nothing.
    pub async fn apply_drafts(
        &self,
        drafts: &[AreaDraft],
        allow_gaps: bool,
    ) -> Result<EditReport, StoreError> {
        let mut tx = self.pool.begin().await.op("starting the edit")?;
        // One editor at a time, so two edits cannot each pass validation and together overlap.
        sqlx::query("LOCK TABLE area IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .op("locking areas")?;
        sqlx::query("SET CONSTRAINTS ALL DEFERRED")
            .execute(&mut *tx)
            .await
            .op("deferring constraints")?;

        let codes: Vec<String> = drafts.iter().map(|d| d.code.as_str().to_string()).collect();
        let existing: HashMap<String, (i16, serde_json::Value)> =
            sqlx::query("SELECT code, level, props FROM area WHERE code = ANY($1)")
                .bind(&codes)
                .fetch_all(&mut *tx)
                .await
                .op("reading areas to change")?
                .iter()
                .map(|r| {
                    Ok((
                        r.try_get("code")?,
                        (r.try_get("level")?, r.try_get("props")?),
                    ))
                })
                .collect::<Result<_, sqlx::Error>>()
                .op("reading areas to change")?;

        let mut problems = Vec::new();
        let (mut created, mut updated) = (Vec::new(), Vec::new());
        for d in drafts {
            let code = d.code.as_str().to_string();
            let old = existing.get(&code);
            let level = match (d.level, old) {
                (Some(l), Some((rank, _))) if l.rank() != *rank => {
                    problems.push(Problem::new(
                        "level_change",
                        vec![code.clone()],
                        format!(
                            "{code} 的层级不能从 {} 改为 {} (an area's level cannot change)",
                            Level::from_rank(*rank).map(|l| l.label_zh()).unwrap_or("?"),
                            l.label_zh()
                        ),
                    ));
                    continue;
                }
                (Some(l), _) => l,
                (None, Some((rank, _))) => Level::from_rank(*rank).unwrap_or(Level::Unit),
                (None, None) => {
                    problems.push(Problem::new(
                        "missing_level",
                        vec![code.clone()],
                        format!(
                            "{code} 无法确定层级，请提供 properties.level (cannot tell the level)"
                        ),
                    ));
                    continue;
                }
            };
            let mut props = old
                .map(|(_, p)| p.clone())
                .unwrap_or_else(|| serde_json::json!({}));
            if let Some(map) = props.as_object_mut() {
                for (k, v) in &d.props {
                    if v.is_null() {
                        map.remove(k);
                    } else {
                        map.insert(k.clone(), v.clone());
                    }
                }
            }
            let wkb = d.geom.as_ref().map(multipolygon_to_ewkb);
            let parent = if level == Level::City {
                None
            } else {
                d.parent.as_ref().map(|p| p.as_str().to_string())
            };
            if old.is_none() {
                let (Some(name), Some(wkb)) = (&d.name, &wkb) else {
                    problems.push(Problem::new("incomplete", vec![code.clone()], format!("新建区域 {code} 需要名称和几何 (a new area needs a name and a geometry)")));
                    continue;
                };
                if level != Level::City && parent.is_none() {
                    problems.push(Problem::new(
                        "unknown_parent",
                        vec![code.clone()],
                        format!(
                            "新建区域 {code} 需要上级编码 (a new area needs its parent's code)"
                        ),
                    ));
                    continue;
                }
                sqlx::query(
                    "INSERT INTO area (code, name, level, parent_code, geom, props)
                     VALUES ($1, $2, $3, $4, ST_Multi(ST_GeomFromEWKB($5)), $6)",
                )
                .bind(&code)
                .bind(name)
                .bind(level.rank())
                .bind(&parent)
                .bind(wkb)
                .bind(&props)
                .execute(&mut *tx)
                .await
                .op("inserting an area")?;
                created.push(code);
            } else {
                sqlx::query(
                    "UPDATE area SET name = coalesce($2, name),
                            parent_code = CASE WHEN level = 0 THEN NULL ELSE coalesce($3, parent_code) END,
                            geom = coalesce(ST_Multi(ST_GeomFromEWKB($4)), geom), props = $5
                     WHERE code = $1",
                )
                .bind(&code).bind(&d.name).bind(&parent).bind(&wkb).bind(&props)
                .execute(&mut *tx)
                .await
                .op("updating an area")?;
                updated.push(code);
            }
        }

        let touched: Vec<String> = created.iter().chain(&updated).cloned().collect();
        if problems.is_empty() && !touched.is_empty() {
            // Parents that must be known and one level up.
            let rows = sqlx::query(
                "SELECT d.code, d.parent_code, p.level AS parent_level, d.level
                 FROM area d LEFT JOIN area p ON p.code = d.parent_code
                 WHERE d.code = ANY($1) AND d.parent_code IS NOT NULL AND (p.code IS NULL OR p.level <> d.level - 1)",
            )
            .bind(&touched)
            .fetch_all(&mut *tx)
            .await
            .op("checking parents")?;
            for r in rows {
                let code: String = r.try_get("code").op("checking parents")?;
                let parent: String = r.try_get("parent_code").op("checking parents")?;
                let parent_level: Option<i16> = r.try_get("parent_level").op("checking parents")?;
                problems.push(match parent_level {
                    None => Problem::new("unknown_parent", vec![code.clone(), parent.clone()], format!("{code} 的上级 {parent} 不存在 (parent {parent} does not exist)")),
                    Some(_) => Problem::new("wrong_parent_level", vec![code.clone(), parent.clone()], format!("{parent} 不是 {code} 的上一级区域 (parent {parent} is not one level above {code})")),
                });
            }
            let geometry_issues = check_geometries(&mut tx, &touched).await?;
            problems.extend(geometry_issues.into_iter().map(Problem::from));
        }
        let mut warnings = Vec::new();
        if problems.is_empty() && !touched.is_empty() {
            // Topology of every family the change touches: the changed areas' parents (their
            // siblings) and the changed areas themselves (their children).
            let parents: BTreeSet<String> = sqlx::query_scalar::<_, Option<String>>(
                "SELECT DISTINCT unnest(ARRAY[code, parent_code]) FROM area WHERE code = ANY($1)",
            )
            .bind(&touched)
            .fetch_all(&mut *tx)
            .await
            .op("finding the families to check")?
            .into_iter()
            .flatten()
            .collect();
            let parents: Vec<String> = parents.into_iter().collect();
            let mut issues = check_children(&mut tx, &parents, DUST_M2).await?;
            sort_issues(&mut issues);
            for issue in issues {
                if allow_gaps && issue.kind == IssueKind::Gap {
                    warnings.push(Problem::from(issue));
                } else {
                    problems.push(Problem::from(issue));
                }
            }
        }

        if !problems.is_empty() {
            tx.rollback().await.op("rolling back the edit")?;
            return Ok(EditReport {
                applied: false,
                created: vec![],
                updated: vec![],
                problems,
                warnings,
            });
        }
        match tx.commit().await {
            Ok(()) => Ok(EditReport {
                applied: true,
                created,
                updated,
                problems,
                warnings,
            }),
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23503") => {
                Ok(EditReport {
                    applied: false,
                    created: vec![],
                    updated: vec![],
                    problems: vec![Problem::new(
                        "unknown_parent",
                        vec![],
                        format!(
                            "上级区域不存在或层级不符 (a parent is missing or at the wrong level): {}",
                            e.message()
                        ),
                    )],
                    warnings,
                })
            }
            Err(e) => Err(StoreError::Db {
                op: "committing the edit",
                source: e,
            }),
        }
    }
}
