//! The words of vessel monitoring: classes, states, vessel events, a position as it arrives,
//! and the registry record with its checks.

use serde::Deserialize;
use serde_json::Value;

/// AIS equipment class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    A,
    B,
}

impl Class {
    pub fn code(self) -> &'static str {
        match self {
            Class::A => "A",
            Class::B => "B",
        }
    }

    pub fn parse(s: &str) -> Option<Class> {
        match s.trim() {
            "A" | "a" => Some(Class::A),
            "B" | "b" => Some(Class::B),
            _ => None,
        }
    }

    /// The class an AIS message type speaks for.
    pub fn of_message(t: u8) -> Option<Class> {
        match t {
            1..=3 | 5 => Some(Class::A),
            18 | 19 | 24 => Some(Class::B),
            _ => None,
        }
    }
}

/// What the map shows a boat as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    InPort,
    Fishing,
    AtSea,
    Lost,
    Dark,
    Unknown,
}

impl State {
    pub const ALL: [State; 6] = [
        State::InPort,
        State::Fishing,
        State::AtSea,
        State::Lost,
        State::Dark,
        State::Unknown,
    ];

    pub fn code(self) -> &'static str {
        match self {
            State::InPort => "in_port",
            State::Fishing => "fishing",
            State::AtSea => "at_sea",
            State::Lost => "lost",
            State::Dark => "dark",
            State::Unknown => "unknown",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            State::InPort => "在港",
            State::Fishing => "作业",
            State::AtSea => "在航",
            State::Lost => "信号丢失",
            State::Dark => "失联",
            State::Unknown => "未知",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL
            .into_iter()
            .find(|t| t.code() == s.trim() || t.label() == s.trim())
    }
}

/// A transition of one boat, stored as a vessel event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    PortEntry,
    PortExit,
    StopStart,
    StopEnd,
    Gap,
    Dark,
    Lost,
    Found,
}

impl EventType {
    pub const ALL: [EventType; 8] = [
        EventType::PortEntry,
        EventType::PortExit,
        EventType::StopStart,
        EventType::StopEnd,
        EventType::Gap,
        EventType::Dark,
        EventType::Lost,
        EventType::Found,
    ];

    pub fn code(self) -> &'static str {
        match self {
            EventType::PortEntry => "port_entry",
            EventType::PortExit => "port_exit",
            EventType::StopStart => "stop_start",
            EventType::StopEnd => "stop_end",
            EventType::Gap => "gap",
            EventType::Dark => "dark",
            EventType::Lost => "lost",
            EventType::Found => "found",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            EventType::PortEntry => "进港",
            EventType::PortExit => "出港",
            EventType::StopStart => "停泊开始",
            EventType::StopEnd => "停泊结束",
            EventType::Gap => "港内信号中断",
            EventType::Dark => "海上失联",
            EventType::Lost => "信号丢失",
            EventType::Found => "信号恢复",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL
            .into_iter()
            .find(|t| t.code() == s.trim() || t.label() == s.trim())
    }
}

/// Where a position came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Ais,
    Beidou,
    Manual,
}

impl Source {
    pub fn code(self) -> &'static str {
        match self {
            Source::Ais => "ais",
            Source::Beidou => "beidou",
            Source::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        match s.trim() {
            "ais" => Some(Source::Ais),
            "beidou" => Some(Source::Beidou),
            "manual" => Some(Source::Manual),
            _ => None,
        }
    }
}

/// A position as it arrives, checked: WGS84 degrees, time in Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    pub mmsi: u32,
    pub at_ms: i64,
    pub lon: f64,
    pub lat: f64,
    pub speed_kn: Option<f32>,
    pub course: Option<f32>,
    pub heading: Option<u16>,
    /// AIS navigational status (class A).
    pub status: Option<u8>,
    /// The class its message speaks for, if it says.
    pub class: Option<Class>,
    pub source: Source,
}

/// True for a nine-digit MMSI.
pub fn valid_mmsi(mmsi: i64) -> bool {
    (100_000_000..=999_999_999).contains(&mmsi)
}

/// A registry record as written by a user (POST, PUT, import).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VesselBody {
    pub mmsi: Option<Value>,
    pub name: Option<String>,
    pub call_sign: Option<String>,
    pub ship_type: Option<Value>,
    pub class: Option<String>,
    pub length_m: Option<Value>,
    pub harbour: Option<Value>,
    pub owner: Option<Owner>,
    pub village: Option<String>,
    pub version: Option<i32>,
    /// Ignored on input (answers carry it).
    #[serde(default)]
    pub registered: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Owner {
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// The checks only the caller can make: that a harbour id and a village code exist.
pub type KnownCheck<'a> = dyn Fn(Option<i32>, Option<&str>) -> Vec<Problem> + 'a;

/// A checked registry record.
#[derive(Debug, Clone, PartialEq)]
pub struct VesselDraft {
    pub mmsi: i32,
    pub name: Option<String>,
    pub call_sign: Option<String>,
    pub ship_type: Option<i16>,
    pub class: Option<Class>,
    pub length_m: Option<f32>,
    pub harbour_id: Option<i32>,
    pub owner_name: Option<String>,
    pub owner_phone: Option<String>,
    pub village_code: Option<String>,
}

/// One problem of a record: where and what.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

fn problem(path: &str, message: impl Into<String>) -> Problem {
    Problem {
        path: path.into(),
        message: message.into(),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if !s.trim().is_empty() => s.trim().parse().ok(),
        _ => None,
    }
}

fn text(v: &Option<String>, path: &str, max: usize, problems: &mut Vec<Problem>) -> Option<String> {
    let s = v.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    if s.chars().count() > max || s.chars().any(char::is_control) {
        problems.push(problem(
            path,
            format!("最多 {max} 个字符，且不能含控制字符 (at most {max} characters, no control characters)"),
        ));
        return None;
    }
    Some(s.to_string())
}

impl VesselBody {
    /// Checks every field at once. `mmsi_in_path` is the MMSI of a PUT's address (the body's,
    /// if it has one, must agree). Harbour ids and village codes are checked by the caller,
    /// who knows them (`known`).
    pub fn check(
        &self,
        mmsi_in_path: Option<i32>,
        known: &KnownCheck<'_>,
    ) -> Result<VesselDraft, Vec<Problem>> {
        let mut p = Vec::new();
        let mmsi = match (&self.mmsi, mmsi_in_path) {
            (None, Some(m)) => Some(m),
            (None, None) => {
                p.push(problem(
                    "mmsi",
                    "必填：九位数字的 MMSI (required: a nine-digit MMSI)",
                ));
                None
            }
            (Some(v), path) => {
                match number(v).filter(|n| n.fract() == 0.0 && valid_mmsi(*n as i64)) {
                    Some(n) if path.is_none_or(|m| m == n as i32) => Some(n as i32),
                    Some(_) => {
                        p.push(problem(
                            "mmsi",
                            "与地址中的 MMSI 不一致 (differs from the MMSI in the address)",
                        ));
                        None
                    }
                    None => {
                        p.push(problem("mmsi", "应为九位数字 (must be nine digits)"));
                        None
                    }
                }
            }
        };
        let name = text(&self.name, "name", 100, &mut p);
        let call_sign = text(&self.call_sign, "call_sign", 20, &mut p);
        let ship_type = self.ship_type.as_ref().filter(|v| !v.is_null()).and_then(|v| {
            match number(v).filter(|n| n.fract() == 0.0 && (0.0..=99.0).contains(n)) {
                Some(n) => Some(n as i16),
                None => {
                    p.push(problem("ship_type", "应为 0 到 99 的 AIS 船舶类型代码，渔船为 30 (an AIS type code 0–99; fishing is 30)"));
                    None
                }
            }
        });
        let class = self
            .class
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .and_then(|s| {
                let c = Class::parse(s);
                if c.is_none() {
                    p.push(problem("class", "应为 A 或 B (must be A or B)"));
                }
                c
            });
        let length_m =
            self.length_m
                .as_ref()
                .filter(|v| !v.is_null())
                .and_then(|v| match number(v).filter(|n| *n > 0.0 && *n <= 500.0) {
                    Some(n) => Some(n as f32),
                    None => {
                        p.push(problem(
                            "length_m",
                            "应为 0 到 500 米之间的数 (a length in metres, 0–500)",
                        ));
                        None
                    }
                });
        let harbour_id = self
            .harbour
            .as_ref()
            .filter(|v| !v.is_null())
            .and_then(|v| {
                let id = match v {
                    Value::Object(o) => o.get("id").and_then(number),
                    v => number(v),
                };
                match id.filter(|n| n.fract() == 0.0 && *n >= 1.0 && *n <= i32::MAX as f64) {
                    Some(n) => Some(n as i32),
                    None => {
                        p.push(problem("harbour", "应为港口编号 (a harbour id)"));
                        None
                    }
                }
            });
        let (owner_name, owner_phone) = match &self.owner {
            None => (None, None),
            Some(o) => {
                let name = text(&o.name, "owner.name", 50, &mut p);
                let phone = text(&o.phone, "owner.phone", 30, &mut p);
                if let Some(ph) = &phone
                    // `*`: a masked phone sent back (the API keeps the stored one).
                    && !ph.chars().all(|c| c.is_ascii_digit() || "+- *".contains(c))
                {
                    p.push(problem(
                        "owner.phone",
                        "电话只能含数字、+、- 和空格 (digits, +, - and spaces only)",
                    ));
                }
                (name, phone)
            }
        };
        let village_code = text(&self.village, "village", 20, &mut p);
        if p.is_empty() {
            p.extend(known(harbour_id, village_code.as_deref()));
        }
        match mmsi {
            Some(mmsi) if p.is_empty() => Ok(VesselDraft {
                mmsi,
                name,
                call_sign,
                ship_type,
                class,
                length_m,
                harbour_id,
                owner_name,
                owner_phone,
                village_code,
            }),
            _ => Err(p),
        }
    }
}

/// Masks a phone number: the first three and last four digits stay.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..3].iter().collect();
    out.push_str(&"*".repeat(chars.len() - 7));
    out.extend(&chars[chars.len() - 4..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Result<VesselDraft, Vec<Problem>> {
        let b: VesselBody = serde_json::from_value(v).unwrap();
        b.check(None, &|_, _| Vec::new())
    }

    #[test]
    fn records_are_checked_field_by_field() {
        let ok = check(
            json!({"mmsi": 412345678, "name": "闽莆渔01234", "class": "A",
            "ship_type": 30, "length_m": 32.5, "owner": {"name": "林某", "phone": "13800001234"}}),
        )
        .unwrap();
        assert_eq!(ok.mmsi, 412_345_678);
        assert_eq!(ok.class, Some(Class::A));
        let bad = check(
            json!({"mmsi": 12, "class": "C", "ship_type": 300, "length_m": -1,
            "owner": {"phone": "call me"}}),
        )
        .unwrap_err();
        let paths: Vec<&str> = bad.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            ["mmsi", "ship_type", "class", "length_m", "owner.phone"]
        );
        assert_eq!(mask_phone("13800001234"), "138****1234");
    }
}
