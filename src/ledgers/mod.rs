//! The ledgers (基层一张表): a catalog of tables placed in the area tree, one query shape over
//! all of them, and the rendering of their rows (area names, masking, CSV). The SQL is in
//! `store::ledgers`; `api::ledgers` streams the answers.

pub mod catalog;
pub mod query;
pub mod xlsx;

use crate::events::analytics::AreaNames;
use crate::profiles::mask::{mask_id_number, mask_phone};
use catalog::{Field, FieldType, Personal};
use query::LedgerQuery;
use serde_json::Value;
use std::sync::Arc;

/// One row as the store reads it: each chosen field as text (None for NULL), in query order.
pub type RawRow = Vec<Option<String>>;

/// Who is asking, as far as personal data goes (access control, #14, decides who may).
#[derive(Debug, Clone, Copy, Default)]
pub struct Viewer {
    pub may_see_personal: bool,
}

/// Turns raw rows into what the caller sees: area codes into names, personal fields masked.
#[derive(Clone)]
pub struct Renderer {
    fields: Vec<&'static Field>,
    names: Arc<AreaNames>,
    viewer: Viewer,
}

impl Renderer {
    pub fn new(q: &LedgerQuery, names: Arc<AreaNames>, viewer: Viewer) -> Renderer {
        Renderer {
            fields: q.fields.clone(),
            names,
            viewer,
        }
    }

    /// The type of each chosen field.
    pub fn types(&self) -> Vec<FieldType> {
        self.fields.iter().map(|f| f.ty).collect()
    }

    /// The chosen fields that are answered masked.
    pub fn masked(&self) -> Vec<&'static str> {
        if self.viewer.may_see_personal {
            return Vec::new();
        }
        self.fields
            .iter()
            .filter(|f| f.personal.is_some())
            .map(|f| f.name)
            .collect()
    }

    /// The text of field `k` of a row (names for areas, masks applied).
    pub fn text(&self, k: usize, v: Option<&str>) -> String {
        let Some(v) = v else { return String::new() };
        let f = self.fields[k];
        if f.ty == FieldType::Area {
            return self
                .names
                .get(v)
                .map(|n| n.name.to_string())
                .unwrap_or_else(|| v.to_string());
        }
        match (f.personal, self.viewer.may_see_personal) {
            (Some(Personal::Phone), false) => mask_phone(v),
            (Some(Personal::IdNumber), false) => mask_id_number(v),
            _ => v.to_string(),
        }
    }

    /// A row as JSON values (numbers as numbers, tags as arrays).
    pub fn json(&self, row: &RawRow) -> Vec<Value> {
        row.iter()
            .enumerate()
            .map(|(k, v)| {
                let f = self.fields[k];
                match (f.ty, v) {
                    (_, None) => Value::Null,
                    (FieldType::Int, Some(s)) => s
                        .parse::<i64>()
                        .map(Value::from)
                        .unwrap_or_else(|_| Value::from(s.as_str())),
                    (FieldType::Number, Some(s)) => s
                        .parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map(Value::Number)
                        .unwrap_or_else(|| Value::from(s.as_str())),
                    (FieldType::Tags, Some(s)) => Value::Array(
                        s.split(',')
                            .filter(|t| !t.is_empty())
                            .map(Value::from)
                            .collect(),
                    ),
                    (_, Some(s)) => Value::from(self.text(k, Some(s))),
                }
            })
            .collect()
    }

    /// The CSV header: labels, a masked column marked.
    pub fn csv_header(&self) -> Vec<String> {
        self.fields
            .iter()
            .map(|f| {
                if f.personal.is_some() && !self.viewer.may_see_personal {
                    format!("{}（已脱敏）", f.label)
                } else {
                    f.label.to_string()
                }
            })
            .collect()
    }

    /// Appends rows as CSV to `out` (tags joined with 、).
    pub fn csv_rows(&self, rows: &[RawRow], out: &mut Vec<u8>) {
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(std::mem::take(out));
        let mut rec: Vec<String> = Vec::with_capacity(self.fields.len());
        for row in rows {
            rec.clear();
            for (k, v) in row.iter().enumerate() {
                let t = if self.fields[k].ty == FieldType::Tags {
                    v.as_deref().unwrap_or("").replace(',', "、")
                } else {
                    self.text(k, v.as_deref())
                };
                rec.push(t);
            }
            // Writing to a Vec cannot fail.
            let _ = w.write_record(&rec);
        }
        *out = w.into_inner().unwrap_or_default();
    }

    /// The byte-order mark and header line that start a CSV download (Excel reads UTF-8 with it).
    pub fn csv_start(&self) -> Vec<u8> {
        let mut out = b"\xEF\xBB\xBF".to_vec();
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        let _ = w.write_record(self.csv_header());
        out.extend(w.into_inner().unwrap_or_default());
        out
    }
}
