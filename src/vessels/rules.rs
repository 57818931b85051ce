//! The rules vessel alerts come from: port closures (the summer fishing moratorium and the
//! closures declared, e.g. for a typhoon) and restricted zones. The alert kinds are here too.

use chrono::{DateTime, Datelike, FixedOffset, TimeZone, Utc};

/// Vessel alert kinds: code and label.
pub const KINDS: &[(&str, &str)] = &[
    ("closure_departure", "封港期间出港"),
    ("closure_at_sea", "封港时未回港"),
    ("dark_at_sea", "海上失联"),
    ("zone_entry", "闯入禁航区"),
];

/// The moratorium covers harbours south of this latitude (26°30′N).
pub const MORATORIUM_SOUTH_OF: f64 = 26.5;
/// AIS ship type of fishing boats.
pub const FISHING: i16 = 30;

/// A window in which some harbours are closed.
#[derive(Debug, Clone, PartialEq)]
pub struct Closure {
    /// `moratorium-YYYY` or the stored id.
    pub id: String,
    pub name: String,
    /// Empty: every harbour.
    pub harbours: Vec<i32>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub reason: String,
    /// The moratorium: only fishing boats (or boats of unknown type), only harbours south of
    /// 26°30′N.
    pub moratorium: bool,
}

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("a valid offset")
}

/// The summer moratorium of `year`: 1 May 12:00 to 16 August 12:00, Beijing time.
pub fn moratorium(year: i32) -> Closure {
    let at = |m, d| {
        beijing()
            .with_ymd_and_hms(year, m, d, 12, 0, 0)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    };
    Closure {
        id: format!("moratorium-{year}"),
        name: format!("{year}年南海、东海伏季休渔"),
        harbours: Vec::new(),
        from: at(5, 1),
        to: at(8, 16),
        reason: "伏季休渔（北纬26°30′以南海域，5月1日12时至8月16日12时）".into(),
        moratorium: true,
    }
}

/// The moratoria around `at` (its year's and the next, so one starting soon is known).
pub fn moratoria_around(at: DateTime<Utc>) -> Vec<Closure> {
    let y = at.with_timezone(&beijing()).year();
    vec![moratorium(y), moratorium(y + 1)]
}

impl Closure {
    pub fn active(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.to
    }

    /// True if the closure holds a boat of `ship_type` in harbour `harbour` at latitude `lat`.
    pub fn covers(&self, harbour: i32, harbour_lat: f64, ship_type: Option<i16>) -> bool {
        if self.moratorium {
            return harbour_lat < MORATORIUM_SOUTH_OF
                && ship_type.is_none_or(|t| t == FISHING || t == 0);
        }
        self.harbours.is_empty() || self.harbours.contains(&harbour)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_moratorium_runs_from_noon_to_noon_beijing_time() {
        let m = moratorium(2026);
        assert_eq!(m.from.to_rfc3339(), "2026-05-01T04:00:00+00:00");
        assert_eq!(m.to.to_rfc3339(), "2026-08-16T04:00:00+00:00");
        assert!(m.covers(1, 25.2, Some(30)));
        assert!(m.covers(1, 25.2, None));
        assert!(!m.covers(1, 25.2, Some(70)));
        assert!(!m.covers(1, 27.0, Some(30)));
        assert!(m.active(m.from) && !m.active(m.to));
    }
}
