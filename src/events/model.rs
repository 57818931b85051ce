//! The vocabulary of events: categories, sources, priorities, statuses and the closed loop's
//! state machine. Codes are the stable English slugs stored in the database and used in the
//! API; every value also has its zh-CN label, which the API accepts as input too.

use serde::{Deserialize, Serialize};

/// A closed vocabulary: an enum with stable codes and zh-CN labels, parsed from either (used
/// here and by `crate::assets::model`).
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($variant:ident = $code:literal, $label:literal;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            /// The code stored in the database and used by the API.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),* }
            }
            /// The zh-CN label shown to users.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),* }
            }
            /// Parses a code or a zh-CN label (surrounding spaces ignored).
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.trim();
                $name::ALL.iter().copied().find(|v| v.code() == s || v.label() == s)
            }
            /// "a, b, c": the accepted codes, for error messages.
            pub fn codes_list() -> String {
                $name::ALL.iter().map(|v| format!("{} ({})", v.code(), v.label()))
                    .collect::<Vec<_>>().join(", ")
            }
            /// What this vocabulary is called, for error messages.
            pub const WHAT: &'static str = $what;
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::events::model::UnknownValue;
            fn from_str(s: &str) -> Result<$name, $crate::events::model::UnknownValue> {
                $name::parse(s).ok_or_else(|| $crate::events::model::UnknownValue {
                    what: $what,
                    value: s.chars().take(60).collect(),
                    allowed: $name::codes_list(),
                })
            }
        }
    };
}
pub(crate) use vocabulary;

/// The id of a stored event (a positive integer, the `event.id` identity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(i64);

/// Text that is not an event id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("事件编号应为正整数 (event id must be a positive integer, got '{0}')")]
pub struct InvalidEventId(pub String);

impl EventId {
    /// An id as stored; `None` unless positive.
    pub fn new(id: i64) -> Option<EventId> {
        (id > 0).then_some(EventId(id))
    }

    /// Parses the text of an id (surrounding spaces ignored).
    pub fn parse(s: &str) -> Result<EventId, InvalidEventId> {
        s.trim()
            .parse::<i64>()
            .ok()
            .and_then(EventId::new)
            .ok_or_else(|| InvalidEventId(s.chars().take(40).collect()))
    }

    /// An id read back from the database (the identity column, always positive); not for
    /// text from a client, which goes through `parse`.
    pub fn from_stored(id: i64) -> EventId {
        EventId(id)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for EventId {
    type Err = InvalidEventId;
    fn from_str(s: &str) -> Result<EventId, InvalidEventId> {
        EventId::parse(s)
    }
}

/// A value that is not in a vocabulary; the message lists the accepted ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("未知的{what} \"{value}\"；可用：{allowed}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
    pub allowed: String,
}

vocabulary! {
    /// The theme an event is filed under (rows of `event_category`, which also holds the
    /// per-category deadline and repeat radius/window).
    Category, "事件类别" {
        Dispute = "dispute", "矛盾纠纷";
        CityManagement = "city_management", "城市管理";
        SafetyHazard = "safety_hazard", "安全隐患";
        FoodSafety = "food_safety", "食品安全";
        Environment = "environment", "生态环境";
        ForestFire = "forest_fire", "森林防火";
        PublicService = "public_service", "民生服务";
        PublicOrder = "public_order", "社会治安";
        Traffic = "traffic", "交通";
        Other = "other", "其他";
    }
}

vocabulary! {
    /// Who or what channel reported the event.
    Source, "事件来源" {
        GridWorker = "grid_worker", "网格员";
        UnitHead = "unit_head", "单元长";
        Patrol = "patrol", "部门巡查";
        Hotline = "hotline", "12345热线";
        Police = "police", "110非警务警情";
        Petition = "petition", "信访";
        QrScan = "qr_scan", "扫码上报";
        Iot = "iot", "物联感知";
    }
}

vocabulary! {
    /// How urgent an event is; scales the category's deadline.
    Priority, "优先级" {
        Low = "low", "低";
        Normal = "normal", "普通";
        High = "high", "高";
        Urgent = "urgent", "紧急";
    }
}

vocabulary! {
    /// Where an event is in the closed loop.
    Status, "事件状态" {
        Reported = "reported", "已上报";
        Accepted = "accepted", "已受理";
        Dispatched = "dispatched", "已派遣";
        InProgress = "in_progress", "处置中";
        Resolved = "resolved", "已处置";
        Verified = "verified", "已核查";
        Closed = "closed", "已结案";
        Rejected = "rejected", "不予受理";
    }
}

impl Priority {
    /// The deadline for this priority, from the category's deadline for 'normal'.
    pub fn deadline_hours(self, normal_hours: u32) -> f64 {
        let f = match self {
            Priority::Low => 2.0,
            Priority::Normal => 1.0,
            Priority::High => 0.5,
            Priority::Urgent => 0.25,
        };
        normal_hours as f64 * f
    }
}

impl Status {
    /// Closed and rejected events are finished; every other status is open (counts towards
    /// overdue and can collect repeats).
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Closed | Status::Rejected)
    }

    /// The statuses this one may move to. The loop is
    /// reported → accepted → dispatched → in_progress → resolved → verified → closed;
    /// an event can be rejected before work starts, sent back to work when verification
    /// fails (resolved → in_progress), and reopened (→ accepted) after it was resolved,
    /// verified, closed or rejected.
    pub fn next(self) -> &'static [Status] {
        use Status::*;
        match self {
            Reported => &[Accepted, Rejected],
            Accepted => &[Dispatched, Rejected],
            Dispatched => &[InProgress, Rejected],
            InProgress => &[Resolved],
            Resolved => &[Verified, InProgress, Accepted],
            Verified => &[Closed, Accepted],
            Closed => &[Accepted],
            Rejected => &[Accepted],
        }
    }

    pub fn can_move_to(self, to: Status) -> bool {
        self.next().contains(&to)
    }

    /// SQL list of the finished statuses, for `status NOT IN (...)`.
    pub const FINISHED_SQL: &'static str = "('closed', 'rejected')";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_positive_integers() {
        assert_eq!(EventId::parse(" 42 ").map(EventId::get), Ok(42));
        for bad in ["0", "-3", "abc", "", "1.5", "99999999999999999999"] {
            assert!(EventId::parse(bad).is_err(), "{bad}");
        }
        let long = "x".repeat(100);
        assert_eq!(EventId::parse(&long).unwrap_err().0.chars().count(), 40);
    }

    #[test]
    fn codes_and_labels_parse() {
        assert_eq!(Category::parse("food_safety"), Some(Category::FoodSafety));
        assert_eq!(Category::parse(" 食品安全 "), Some(Category::FoodSafety));
        assert_eq!(Source::parse("12345热线"), Some(Source::Hotline));
        assert_eq!(Category::parse("food"), None);
        let err = "food".parse::<Category>().unwrap_err();
        assert!(err.to_string().contains("food_safety (食品安全)"));
    }

    #[test]
    fn the_loop_reaches_closed_and_finished_events_can_reopen() {
        let path = [
            Status::Reported,
            Status::Accepted,
            Status::Dispatched,
            Status::InProgress,
            Status::Resolved,
            Status::Verified,
            Status::Closed,
        ];
        for w in path.windows(2) {
            assert!(w[0].can_move_to(w[1]), "{:?} → {:?}", w[0], w[1]);
        }
        assert!(!Status::Reported.can_move_to(Status::Closed));
        assert!(Status::Closed.can_move_to(Status::Accepted));
        for s in Status::ALL {
            assert_eq!(s.is_open(), !matches!(s, Status::Closed | Status::Rejected));
            assert!(!s.can_move_to(*s), "{s:?} may not move to itself");
        }
    }
}
