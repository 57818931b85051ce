//! Profiles of towns and villages (一村一档): the versioned introduction, the development,
//! problem and task lists, the figures of the profile page, and the demo data. Typed values in,
//! typed values out; the SQL is in `store::profiles`, the HTTP in `api::profiles`.

pub mod demo;
pub mod diff;
pub mod figures;
pub mod intro;
pub mod items;
pub mod mask;

use serde::Serialize;

/// One thing wrong with a submitted profile or item, at a JSON path.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Collects field errors while a value is checked.
#[derive(Debug, Default)]
pub struct Checker {
    pub errors: Vec<FieldError>,
}

/// The longest free text (summary, descriptions).
pub const MAX_TEXT: usize = 2000;
/// The longest short text (names, roles, titles).
pub const MAX_NAME: usize = 50;
/// The most entries of one array in a profile or item.
pub const MAX_ENTRIES: usize = 200;
/// The largest count (people, households, members).
pub const MAX_COUNT: i64 = 10_000_000;

impl Checker {
    pub fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(path, message));
    }
    pub fn text(&mut self, path: &str, s: &str, max: usize) {
        let n = s.chars().count();
        if n > max {
            self.fail(
                path,
                format!("最多 {max} 个字符，收到 {n} 个 (at most {max} characters)"),
            );
        }
        if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            self.fail(path, "含有控制字符 (contains control characters)");
        }
    }
    pub fn name(&mut self, path: &str, s: &str) {
        if s.trim().is_empty() {
            self.fail(path, "不能为空 (must not be empty)");
        }
        self.text(path, s, MAX_NAME);
    }
    pub fn count(&mut self, path: &str, v: i64) {
        if !(0..=MAX_COUNT).contains(&v) {
            self.fail(
                path,
                format!("应为 0 到 {MAX_COUNT} 的整数 (must be 0..={MAX_COUNT})"),
            );
        }
    }
    pub fn amount(&mut self, path: &str, v: f64) {
        if !v.is_finite() || !(0.0..=1e9).contains(&v) {
            self.fail(path, "应为 0 到 1e9 的数 (must be between 0 and 1e9)");
        }
    }
    pub fn percent(&mut self, path: &str, v: f64) {
        if !v.is_finite() || !(0.0..=100.0).contains(&v) {
            self.fail(
                path,
                "应为 0 到 100 的百分数 (must be a percentage 0..=100)",
            );
        }
    }
    pub fn year(&mut self, path: &str, y: i64) {
        if !(1949..=2100).contains(&y) {
            self.fail(
                path,
                "年份应在 1949 到 2100 之间 (year must be 1949..=2100)",
            );
        }
    }
    pub fn entries<T>(&mut self, path: &str, v: &[T]) {
        if v.len() > MAX_ENTRIES {
            self.fail(
                path,
                format!("最多 {MAX_ENTRIES} 项 (at most {MAX_ENTRIES} entries)"),
            );
        }
    }
    pub fn date(&mut self, path: &str, s: &str) {
        if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_err() {
            self.fail(path, "日期格式应为 YYYY-MM-DD (date must be YYYY-MM-DD)");
        }
    }
    pub fn lon_lat(&mut self, path: &str, lon: f64, lat: f64) {
        if !lon.is_finite()
            || !lat.is_finite()
            || !(-180.0..=180.0).contains(&lon)
            || !(-90.0..=90.0).contains(&lat)
        {
            self.fail(path, "坐标无效 (lon must be -180..180 and lat -90..90)");
        }
    }
    pub fn one_of(&mut self, path: &str, s: &str, allowed: &[&str]) {
        if !allowed.contains(&s) {
            self.fail(
                path,
                format!(
                    "应为 {} 之一 (must be one of {})",
                    allowed.join("、"),
                    allowed.join(", ")
                ),
            );
        }
    }
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}
