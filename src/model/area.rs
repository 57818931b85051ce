//! Area codes and area records.

use super::Level;
use geo_types::MultiPolygon;
use serde::Serialize;
use std::fmt;

/// The code of an area: GB/T 2260 digits for the city (4), districts (6), towns (9) and
/// villages (12); grids add 3 digits to their village's code and units 4 to their grid's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AreaCode(String);

/// Why a string is not an area code.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    #[error("area code must not be empty")]
    Empty,
    #[error("area code '{0}' must contain only the digits 0-9")]
    NotDigits(String),
    #[error("area code '{0}' is {1} digits long; codes have 4, 6, 9, 12, 15 or 19 digits")]
    BadLength(String, usize),
}

impl AreaCode {
    /// Number of digits in a code of each level, from city to unit.
    pub const DIGITS: [usize; 6] = [4, 6, 9, 12, 15, 19];

    /// Parses a code, checking it is all digits of a valid length.
    pub fn parse(s: &str) -> Result<AreaCode, CodeError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(CodeError::Empty);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError::NotDigits(s.to_string()));
        }
        if !Self::DIGITS.contains(&s.len()) {
            return Err(CodeError::BadLength(s.to_string(), s.len()));
        }
        Ok(AreaCode(s.to_string()))
    }

    /// Wraps a code that is known to be well formed (read back from the database).
    pub fn from_trusted(s: String) -> AreaCode {
        AreaCode(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The level this code's length implies.
    pub fn implied_level(&self) -> Option<Level> {
        Self::DIGITS
            .iter()
            .position(|&n| n == self.0.len())
            .and_then(|i| Level::from_rank(i as i16))
    }

    /// The code of the parent implied by the code's digits (prefix), if any.
    pub fn implied_parent(&self) -> Option<AreaCode> {
        let rank = self.implied_level()?.rank();
        let len = *Self::DIGITS.get(usize::try_from(rank - 1).ok()?)?;
        Some(AreaCode(self.0[..len].to_string()))
    }
}

impl fmt::Display for AreaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A short reference to an area, as it appears in an assignment chain.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AreaRef {
    pub code: String,
    pub name: String,
}

/// One area of the tree with its geometry in EPSG:4326 (lon/lat degrees).
#[derive(Clone, Debug)]
pub struct Area {
    pub code: AreaCode,
    pub name: String,
    pub level: Level,
    pub parent: Option<AreaCode>,
    pub geom: MultiPolygon<f64>,
    pub props: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_of_each_level() {
        let c = AreaCode::parse("350304100001").unwrap();
        assert_eq!(c.implied_level(), Some(Level::Village));
        assert_eq!(c.implied_parent().unwrap().as_str(), "350304100");
        assert_eq!(AreaCode::parse("3503").unwrap().implied_parent(), None);
        assert!(matches!(
            AreaCode::parse("35a3"),
            Err(CodeError::NotDigits(_))
        ));
        assert!(matches!(
            AreaCode::parse("35030"),
            Err(CodeError::BadLength(_, 5))
        ));
        assert!(matches!(AreaCode::parse("  "), Err(CodeError::Empty)));
    }
}
