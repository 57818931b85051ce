//! A ledger query: the fields, filters, sort and page a cadre asked for, checked against the
//! catalog. Anything not in the catalog is refused with the names that are.

use super::catalog::{Field, FieldType, FilterKind, Ledger};
use crate::model::Level;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;

/// What a cadre sends (`POST /api/ledgers/{name}/query`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryBody {
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    #[serde(default)]
    pub filters: Filters,
    #[serde(default)]
    pub sort: Vec<SortBody>,
    #[serde(default)]
    pub page: PageBody,
    #[serde(default)]
    pub count: bool,
    #[serde(default)]
    pub format: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    pub area: Option<String>,
    pub tags: Option<TagsBody>,
    #[serde(default)]
    pub ranges: BTreeMap<String, RangeBody>,
    #[serde(default, rename = "in")]
    pub within: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub contains: BTreeMap<String, String>,
    pub updated_since: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagsBody {
    pub any: Option<Vec<String>>,
    pub all: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeBody {
    pub min: Option<serde_json::Value>,
    pub max: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortBody {
    pub field: String,
    #[serde(default)]
    pub dir: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageBody {
    #[serde(default = "default_size")]
    pub size: i64,
    #[serde(default)]
    pub offset: i64,
}
impl Default for PageBody {
    fn default() -> Self {
        PageBody {
            size: default_size(),
            offset: 0,
        }
    }
}
fn default_size() -> i64 {
    50
}

pub const MAX_PAGE: i64 = 1000;
pub const MAX_OFFSET: i64 = 10_000_000;
pub const MAX_VALUES: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Xlsx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagMode {
    Any,
    All,
}

/// A bound of a range, checked and normalised to text PostgreSQL casts (a number, a date
/// `YYYY-MM-DD` or an RFC 3339 time).
#[derive(Debug, Clone, PartialEq)]
pub struct Bound(pub String);

/// A checked query.
#[derive(Debug, Clone)]
pub struct LedgerQuery {
    pub ledger: &'static Ledger,
    pub fields: Vec<&'static Field>,
    /// The area whose subtree the rows must be in (None: the whole city).
    pub area: Option<(Level, String)>,
    pub tags: Option<(TagMode, Vec<String>)>,
    pub ranges: Vec<(&'static Field, Option<Bound>, Option<Bound>)>,
    pub within: Vec<(&'static Field, Vec<String>)>,
    pub contains: Vec<(&'static Field, String)>,
    pub updated_since: Option<DateTime<Utc>>,
    pub sort: Vec<(&'static Field, bool)>,
    pub size: i64,
    pub offset: i64,
    pub count: bool,
    pub format: Format,
}

/// Why a query was refused: a code and a message for the client.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryError {
    pub code: &'static str,
    pub message: String,
}

fn err(code: &'static str, message: String) -> QueryError {
    QueryError { code, message }
}

fn clip(s: &str) -> String {
    s.chars().take(60).collect()
}

fn field_of(ledger: &'static Ledger, name: &str, role: &str) -> Result<&'static Field, QueryError> {
    ledger.field(name).ok_or_else(|| {
        err(
            "unknown_field",
            format!(
                "{role}中的字段 '{}' 不在台账 {} 中；可用字段：{} (unknown field; known fields: {})",
                clip(name),
                ledger.name,
                ledger.field_names(),
                ledger.field_names()
            ),
        )
    })
}

fn filter_err(field: &Field, want: &str) -> QueryError {
    let how = match field.filter {
        Some(FilterKind::Contains) => "contains",
        Some(FilterKind::Range) => "ranges",
        Some(FilterKind::In) => "in",
        Some(FilterKind::Tags) => "tags",
        None => "（不可筛选 not filterable）",
    };
    err(
        "invalid_filter",
        format!(
            "字段 {} 不支持 {want} 筛选，应使用 {how} (field '{}' cannot be filtered with {want}; use {how})",
            field.name, field.name
        ),
    )
}

fn bound(field: &Field, v: &serde_json::Value, which: &str) -> Result<Bound, QueryError> {
    let bad = || {
        err(
            "invalid_filter",
            format!(
                "ranges.{}.{which} 的值无效 (invalid {which} for {}: expected {})",
                field.name,
                field.name,
                match field.ty {
                    FieldType::Date => "a date YYYY-MM-DD",
                    FieldType::Time => "an RFC 3339 time or a date",
                    _ => "a number",
                }
            ),
        )
    };
    match field.ty {
        FieldType::Int | FieldType::Number => {
            let n = v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse::<f64>().ok()))
                .filter(|n| n.is_finite() && n.abs() < 1e15)
                .ok_or_else(bad)?;
            Ok(Bound(format!("{n}")))
        }
        FieldType::Date => {
            let s = v.as_str().ok_or_else(bad)?;
            let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| bad())?;
            Ok(Bound(d.format("%Y-%m-%d").to_string()))
        }
        FieldType::Time => {
            let s = v.as_str().ok_or_else(bad)?;
            let t = parse_time(s).ok_or_else(bad)?;
            Ok(Bound(t.to_rfc3339()))
        }
        _ => Err(bad()),
    }
}

/// RFC 3339, or a date (its Beijing midnight).
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    crate::time::utc(crate::time::day_start(crate::time::day_of_date(d)))
}

impl LedgerQuery {
    /// Checks `body` against `ledger`; `level_of` tells the level of an area code (None: unknown).
    pub fn parse(
        ledger: &'static Ledger,
        body: QueryBody,
        level_of: &dyn Fn(&str) -> Option<Level>,
    ) -> Result<LedgerQuery, QueryError> {
        let names: Vec<String> = match body.fields {
            Some(f) if !f.is_empty() => f,
            Some(_) => {
                return Err(err(
                    "invalid_fields",
                    "fields 不能为空 (choose at least one field)".into(),
                ));
            }
            None => ledger
                .default_fields
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        if names.len() > ledger.fields.len() {
            return Err(err(
                "invalid_fields",
                format!("最多 {} 个字段 (too many fields)", ledger.fields.len()),
            ));
        }
        let mut fields = Vec::new();
        for n in &names {
            let f = field_of(ledger, n, "fields ")?;
            if fields.iter().any(|g: &&Field| g.name == f.name) {
                return Err(err(
                    "invalid_fields",
                    format!("字段 {} 重复 (field '{}' chosen twice)", f.name, f.name),
                ));
            }
            fields.push(f);
        }
        let fl = body.filters;
        let area = match fl.area.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(code) => match level_of(code) {
                Some(Level::City) => None,
                Some(level) => Some((level, code.to_string())),
                None => {
                    return Err(err(
                        "unknown_area",
                        format!(
                            "没有编码为 {} 的区域 (no area with code '{}')",
                            clip(code),
                            clip(code)
                        ),
                    ));
                }
            },
        };
        let tags = match fl.tags {
            None => None,
            Some(t) => {
                let tf = ledger.tags_field().ok_or_else(|| {
                    err(
                        "invalid_filter",
                        format!(
                            "台账 {} 没有标签字段 (ledger '{}' has no tags)",
                            ledger.name, ledger.name
                        ),
                    )
                })?;
                let (mode, list) = match (t.any, t.all) {
                    (Some(a), None) => (TagMode::Any, a),
                    (None, Some(a)) => (TagMode::All, a),
                    _ => return Err(err("invalid_filter", "tags 应为 {\"any\": [...]} 或 {\"all\": [...]} (tags takes exactly one of any, all)".into())),
                };
                check_values(tf, &list)?;
                if list.is_empty() {
                    None
                } else {
                    Some((mode, list))
                }
            }
        };
        let mut ranges = Vec::new();
        for (name, r) in fl.ranges {
            let f = field_of(ledger, &name, "ranges ")?;
            if f.filter != Some(FilterKind::Range) {
                return Err(filter_err(f, "ranges"));
            }
            let min = r
                .min
                .as_ref()
                .filter(|v| !v.is_null())
                .map(|v| bound(f, v, "min"))
                .transpose()?;
            let max = r
                .max
                .as_ref()
                .filter(|v| !v.is_null())
                .map(|v| bound(f, v, "max"))
                .transpose()?;
            if min.is_some() || max.is_some() {
                ranges.push((f, min, max));
            }
        }
        let mut within = Vec::new();
        for (name, vals) in fl.within {
            let f = field_of(ledger, &name, "in ")?;
            if f.filter != Some(FilterKind::In) {
                return Err(filter_err(f, "in"));
            }
            check_values(f, &vals)?;
            if !vals.is_empty() {
                within.push((f, vals));
            }
        }
        let mut contains = Vec::new();
        for (name, s) in fl.contains {
            let f = field_of(ledger, &name, "contains ")?;
            if f.filter != Some(FilterKind::Contains) {
                return Err(filter_err(f, "contains"));
            }
            if s.chars().count() > 100 {
                return Err(err(
                    "invalid_filter",
                    format!("contains.{name} 最多 100 个字符 (at most 100 characters)"),
                ));
            }
            if !s.trim().is_empty() {
                contains.push((f, s.trim().to_string()));
            }
        }
        let updated_since = match fl.updated_since.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(parse_time(s).ok_or_else(|| {
                err("invalid_filter", "updated_since 应为 RFC 3339 时间或 YYYY-MM-DD (updated_since must be a time or a date)".into())
            })?),
        };
        let mut sort = Vec::new();
        for s in body.sort {
            let f = field_of(ledger, &s.field, "sort ")?;
            if !f.sortable {
                return Err(err(
                    "invalid_sort",
                    format!(
                        "字段 {} 不能排序 (field '{}' cannot be sorted)",
                        f.name, f.name
                    ),
                ));
            }
            let desc = match s.dir.as_deref() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(d) => {
                    return Err(err(
                        "invalid_sort",
                        format!(
                            "排序方向应为 asc 或 desc，收到 '{}' (dir must be asc or desc)",
                            clip(d)
                        ),
                    ));
                }
            };
            sort.push((f, desc));
        }
        if sort.len() > 5 {
            return Err(err(
                "invalid_sort",
                "最多按 5 个字段排序 (at most 5 sort fields)".into(),
            ));
        }
        if !(1..=MAX_PAGE).contains(&body.page.size) {
            return Err(err(
                "invalid_page",
                format!("page.size 应在 1 到 {MAX_PAGE} 之间 (page size must be 1..={MAX_PAGE})"),
            ));
        }
        if !(0..=MAX_OFFSET).contains(&body.page.offset) {
            return Err(err(
                "invalid_page",
                format!(
                    "page.offset 应在 0 到 {MAX_OFFSET} 之间 (offset must be 0..={MAX_OFFSET})"
                ),
            ));
        }
        let format = match body.format.as_deref() {
            None | Some("json") => Format::Json,
            Some("csv") => Format::Csv,
            Some("xlsx") => Format::Xlsx,
            Some(other) => {
                return Err(err(
                    "invalid_format",
                    format!(
                        "format 应为 json、csv 或 xlsx，收到 '{}' (format must be json, csv or xlsx)",
                        clip(other)
                    ),
                ));
            }
        };
        Ok(LedgerQuery {
            ledger,
            fields,
            area,
            tags,
            ranges,
            within,
            contains,
            updated_since,
            sort,
            size: body.page.size,
            offset: body.page.offset,
            count: body.count,
            format,
        })
    }
}

fn check_values(f: &Field, vals: &[String]) -> Result<(), QueryError> {
    if vals.len() > MAX_VALUES {
        return Err(err(
            "invalid_filter",
            format!(
                "{} 最多 {MAX_VALUES} 个值 (at most {MAX_VALUES} values)",
                f.name
            ),
        ));
    }
    if let Some(known) = f.values {
        for v in vals {
            if !known.contains(&v.as_str()) {
                return Err(err(
                    "invalid_filter",
                    format!(
                        "字段 {} 没有取值 '{}'；可选：{} (unknown value; known values: {})",
                        f.name,
                        clip(v),
                        known.join("、"),
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledgers::catalog::ledger;
    use serde_json::json;

    fn parse(body: serde_json::Value) -> Result<LedgerQuery, QueryError> {
        let b: QueryBody = serde_json::from_value(body).unwrap();
        LedgerQuery::parse(ledger("people").unwrap(), b, &|c| {
            (c == "350302").then_some(Level::District)
        })
    }

    #[test]
    fn checks_fields_filters_sort_and_page() {
        let q = parse(json!({"fields": ["name", "age"], "filters": {"area": "350302", "tags": {"any": ["独居老人"]}, "ranges": {"age": {"min": 60}}}, "sort": [{"field": "age", "dir": "desc"}]})).unwrap();
        assert_eq!(q.fields.len(), 2);
        assert_eq!(q.area, Some((Level::District, "350302".into())));
        assert_eq!(q.ranges[0].1, Some(Bound("60".into())));
        assert!(q.sort[0].1);
        assert_eq!(
            parse(json!({"fields": ["nope"]})).unwrap_err().code,
            "unknown_field"
        );
        assert_eq!(
            parse(json!({"filters": {"ranges": {"name": {"min": 1}}}}))
                .unwrap_err()
                .code,
            "invalid_filter"
        );
        assert_eq!(
            parse(json!({"filters": {"tags": {"any": ["外星人"]}}}))
                .unwrap_err()
                .code,
            "invalid_filter"
        );
        assert_eq!(
            parse(json!({"filters": {"area": "999"}})).unwrap_err().code,
            "unknown_area"
        );
        assert_eq!(
            parse(json!({"filters": {"ranges": {"age": {"min": "abc"}}}}))
                .unwrap_err()
                .code,
            "invalid_filter"
        );
        assert_eq!(
            parse(json!({"sort": [{"field": "tags"}]}))
                .unwrap_err()
                .code,
            "invalid_sort"
        );
        assert_eq!(
            parse(json!({"page": {"size": 0}})).unwrap_err().code,
            "invalid_page"
        );
        assert_eq!(
            parse(json!({"format": "pdf"})).unwrap_err().code,
            "invalid_format"
        );
        assert_eq!(
            parse(json!({"filters": {"in": {"id_number": ["1"]}}}))
                .unwrap_err()
                .code,
            "invalid_filter"
        );
    }
}
