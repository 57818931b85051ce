//! The six levels of the city tree, from the city down to a building unit.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One level of the six-level tree. The numeric rank is what the database stores
/// (`area.level`), and a child's rank is always its parent's plus one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    City,
    District,
    Town,
    Village,
    Grid,
    Unit,
}

/// A level name or rank that is not one of the six.
#[derive(Debug, thiserror::Error)]
#[error("unknown level '{0}': expected one of city, district, town, village, grid, unit")]
pub struct LevelError(pub String);

impl Level {
    /// All levels from the top of the tree to the bottom.
    pub const ALL: [Level; 6] = [
        Level::City,
        Level::District,
        Level::Town,
        Level::Village,
        Level::Grid,
        Level::Unit,
    ];

    /// The rank stored in the database: 0 for the city, 5 for a unit.
    pub fn rank(self) -> i16 {
        self as i16
    }

    pub fn from_rank(rank: i16) -> Option<Level> {
        Level::ALL.get(usize::try_from(rank).ok()?).copied()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::City => "city",
            Level::District => "district",
            Level::Town => "town",
            Level::Village => "village",
            Level::Grid => "grid",
            Level::Unit => "unit",
        }
    }

    /// Chinese name of the level, for user-facing text.
    pub fn label_zh(self) -> &'static str {
        match self {
            Level::City => "市",
            Level::District => "区县",
            Level::Town => "乡镇街道",
            Level::Village => "村社区",
            Level::Grid => "网格",
            Level::Unit => "单元",
        }
    }

    pub fn parent(self) -> Option<Level> {
        Level::from_rank(self.rank() - 1)
    }

    pub fn child(self) -> Option<Level> {
        Level::from_rank(self.rank() + 1)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = LevelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| LevelError(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_round_trip_and_chain() {
        for l in Level::ALL {
            assert_eq!(Level::from_rank(l.rank()), Some(l));
            assert_eq!(l.as_str().parse::<Level>().unwrap(), l);
        }
        assert_eq!(Level::Unit.parent(), Some(Level::Grid));
        assert_eq!(Level::City.parent(), None);
        assert_eq!(Level::Unit.child(), None);
        assert!("block".parse::<Level>().is_err());
    }
}
