//! Sensor readings: the batch as a client sends it, checked row by row, and the state machine
//! of each sensor (threshold, debounce, silence). No I/O here: `super::Fire` stores the rows
//! and acts on the transitions.

use super::model::{SensorProps, Spec};
use super::set::AssetSet;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::HashMap;

/// Most readings in one request.
pub const MAX_READINGS: usize = 50_000;
/// How far ahead of the server's clock a reading may be.
const MAX_FUTURE_S: i64 = 600;

/// A reading that passed its checks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub index: usize,
    pub sensor: i64,
    pub at: DateTime<Utc>,
    pub value: f64,
}

/// Why one row was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub index: usize,
    pub code: &'static str,
    pub message: String,
}

/// Why a whole request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReadingsError {
    #[error("请求体不是合法的 JSON 数组 (malformed JSON: send an array of readings): {0}")]
    Malformed(String),
    #[error(
        "一次最多提交 {MAX_READINGS} 条读数，本次 {0} 条，请分批提交 (at most {MAX_READINGS} readings per request, got {0})"
    )]
    TooMany(usize),
    #[error("读数数组为空 (the batch holds no readings)")]
    Empty,
    #[error("批次中的 {} 条读数均不合格，未保存任何读数 (none of the {} readings is valid)", .0.len(), .0.len())]
    NoValid(Vec<RowError>),
    #[error("设施数据正在加载，请稍候 (the assets are still loading)")]
    Loading,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadingIn {
    sensor: serde_json::Value,
    at: String,
    value: serde_json::Value,
}

/// Parses and checks a batch against the sensors of `set`.
pub fn parse(
    body: &[u8],
    set: &AssetSet,
    now: DateTime<Utc>,
) -> Result<(Vec<Reading>, Vec<RowError>), ReadingsError> {
    let items: Vec<&RawValue> =
        serde_json::from_slice(body).map_err(|e| ReadingsError::Malformed(e.to_string()))?;
    if items.len() > MAX_READINGS {
        return Err(ReadingsError::TooMany(items.len()));
    }
    if items.is_empty() {
        return Err(ReadingsError::Empty);
    }
    let earliest = DateTime::parse_from_rfc3339("2000-01-01T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    let latest = now + chrono::Duration::seconds(MAX_FUTURE_S);
    let mut good = Vec::with_capacity(items.len());
    let mut bad = Vec::new();
    for (index, raw) in items.into_iter().enumerate() {
        let err = |code, message: String| RowError {
            index,
            code,
            message,
        };
        let r: ReadingIn = match serde_json::from_str(raw.get()) {
            Ok(r) => r,
            Err(e) => {
                bad.push(err("invalid_reading", format!("读数应为 {{\"sensor\", \"at\", \"value\"}} (a reading is {{sensor, at, value}}): {e}")));
                continue;
            }
        };
        let Some(sensor) = r.sensor.as_i64() else {
            bad.push(err(
                "unknown_sensor",
                format!(
                    "传感器编号应为整数 (sensor must be an integer id, got {})",
                    r.sensor
                ),
            ));
            continue;
        };
        if !set
            .get(sensor)
            .is_some_and(|a| matches!(a.spec, Spec::Sensor(_)))
        {
            bad.push(err(
                "unknown_sensor",
                format!("没有编号为 {sensor} 的传感器 (no sensor {sensor})"),
            ));
            continue;
        }
        let at = match DateTime::parse_from_rfc3339(r.at.trim()) {
            Ok(t) => t.with_timezone(&Utc),
            Err(_) => {
                bad.push(err("invalid_time", format!("时间应为带时区的 RFC 3339，如 2026-05-01T08:00:00+08:00 (at must be RFC 3339 with a zone, got '{}')", r.at.chars().take(40).collect::<String>())));
                continue;
            }
        };
        if at < earliest || at > latest {
            bad.push(err("invalid_time", format!("时间 {at} 不能早于 2000 年或晚于当前时间 10 分钟以上 (at must be after 2000 and at most 10 minutes ahead)")));
            continue;
        }
        let value = match r.value.as_f64() {
            Some(v) if v.is_finite() => v,
            _ => {
                bad.push(err(
                    "invalid_value",
                    format!(
                        "读数应为有限数值 (value must be a finite number, got {})",
                        r.value.to_string().chars().take(40).collect::<String>()
                    ),
                ));
                continue;
            }
        };
        good.push(Reading {
            index,
            sensor,
            at,
            value,
        });
    }
    if good.is_empty() {
        return Err(ReadingsError::NoValid(bad));
    }
    Ok((good, bad))
}

/// What a sensor is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorCondition {
    /// No reading since it was placed.
    Unknown,
    Normal,
    Alarm,
    Silent,
}

impl SensorCondition {
    pub fn label(self) -> &'static str {
        match self {
            SensorCondition::Unknown => "未知",
            SensorCondition::Normal => "正常",
            SensorCondition::Alarm => "报警",
            SensorCondition::Silent => "失联",
        }
    }
}

/// The live state of one sensor.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SensorState {
    pub last_at: Option<DateTime<Utc>>,
    pub last_value: f64,
    /// Consecutive readings over the threshold.
    pub streak: u32,
    pub alarm: bool,
    pub silent: bool,
}

impl SensorState {
    pub fn condition(&self) -> SensorCondition {
        if self.silent {
            SensorCondition::Silent
        } else if self.alarm {
            SensorCondition::Alarm
        } else if self.last_at.is_some() {
            SensorCondition::Normal
        } else {
            SensorCondition::Unknown
        }
    }
}

/// What a reading did to its sensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transition {
    /// The debounce count was reached: an alarm starts.
    AlarmRaised {
        sensor: i64,
        at: DateTime<Utc>,
        value: f64,
    },
}

/// The outcome of applying stored readings.
#[derive(Debug, Default)]
pub struct Applied {
    /// Readings older than their sensor's latest: stored, not used.
    pub late: usize,
    pub transitions: Vec<Transition>,
}

/// Applies fresh readings (stored just now, in request order) to the sensors' states.
pub fn apply(
    states: &mut HashMap<i64, SensorState>,
    set: &AssetSet,
    readings: &[Reading],
) -> Applied {
    let mut out = Applied::default();
    let mut sorted: Vec<&Reading> = readings.iter().collect();
    sorted.sort_by_key(|r| (r.sensor, r.at));
    for r in sorted {
        let Some(Spec::Sensor(props)) = set.get(r.sensor).map(|a| &a.spec) else {
            continue;
        };
        let s = states.entry(r.sensor).or_default();
        if s.last_at.is_some_and(|t| r.at <= t) {
            out.late += 1;
            continue;
        }
        if let Some(t) = step(s, props, r) {
            out.transitions.push(t);
        }
    }
    out
}

fn step(s: &mut SensorState, props: &SensorProps, r: &Reading) -> Option<Transition> {
    s.last_at = Some(r.at);
    s.last_value = r.value;
    s.silent = false;
    if r.value >= props.threshold() {
        s.streak = s.streak.saturating_add(1);
        if !s.alarm && s.streak >= props.debounce() {
            s.alarm = true;
            return Some(Transition::AlarmRaised {
                sensor: r.sensor,
                at: r.at,
                value: r.value,
            });
        }
    } else {
        s.streak = 0;
        s.alarm = false;
    }
    None
}

/// Sensors that have gone quiet at `now`: marked silent, their ids returned.
pub fn newly_silent(
    states: &mut HashMap<i64, SensorState>,
    set: &AssetSet,
    now: DateTime<Utc>,
) -> Vec<(i64, DateTime<Utc>)> {
    let mut out = Vec::new();
    for (id, s) in states.iter_mut() {
        let Some(a) = set.get(*id) else { continue };
        let Spec::Sensor(props) = &a.spec else {
            continue;
        };
        if !a.in_service || s.silent {
            continue;
        }
        if let Some(last) = s.last_at
            && (now - last).num_seconds() > props.silence_s() as i64
        {
            s.silent = true;
            out.push((*id, last));
        }
    }
    out.sort_unstable_by_key(|p| p.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::assets::AssetRow;
    use serde_json::json;

    fn set() -> AssetSet {
        let row = |id: i64, props: serde_json::Value| AssetRow {
            id,
            kind: "sensor".into(),
            name: format!("s{id}"),
            lon: 119.0,
            lat: 25.4,
            geojson: String::new(),
            props,
            in_service: true,
            chain: Default::default(),
            version: 1,
            updated_at: Utc::now(),
            retired_at: None,
            alarm_event_id: None,
        };
        AssetSet::from_rows(&[
            row(1, json!({"type": "smoke"})),
            row(
                2,
                json!({"type": "temperature", "threshold": 60.0, "debounce": 2, "silence_s": 600}),
            ),
        ])
    }

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000 + s, 0).unwrap()
    }

    #[test]
    fn bad_rows_are_named_and_good_rows_kept() {
        let now = t(0);
        let body = json!([
            {"sensor": 1, "at": "2026-05-28T20:26:40Z", "value": 0},
            {"sensor": 9, "at": "2026-05-28T20:26:40Z", "value": 0},
            {"sensor": 1, "at": "yesterday", "value": 0},
            {"sensor": 1, "at": "2036-01-01T00:00:00Z", "value": 0},
            {"sensor": 1, "at": "2026-05-28T20:26:41Z", "value": "NaN"},
            {"sensor": 1, "at": "2026-05-28T20:26:41Z"},
        ]);
        let (good, bad) = parse(body.to_string().as_bytes(), &set(), now).unwrap();
        assert_eq!(good.len(), 1);
        let codes: Vec<_> = bad.iter().map(|e| (e.index, e.code)).collect();
        assert_eq!(
            codes,
            [
                (1, "unknown_sensor"),
                (2, "invalid_time"),
                (3, "invalid_time"),
                (4, "invalid_value"),
                (5, "invalid_reading")
            ]
        );
        assert!(matches!(
            parse(b"[]", &set(), now),
            Err(ReadingsError::Empty)
        ));
        assert!(matches!(
            parse(b"{", &set(), now),
            Err(ReadingsError::Malformed(_))
        ));
        assert!(matches!(
            parse(br#"[{"sensor": 5, "at": "x", "value": 1}]"#, &set(), now),
            Err(ReadingsError::NoValid(_))
        ));
    }

    #[test]
    fn an_alarm_needs_debounce_readings_in_a_row_and_rises_once() {
        let set = set();
        let mut st = HashMap::new();
        let r = |i: i64, v: f64| Reading {
            index: 0,
            sensor: 2,
            at: t(i),
            value: v,
        };
        // Over, under, over, over: the alarm rises at the fourth.
        let a = apply(&mut st, &set, &[r(1, 70.0), r(2, 20.0), r(3, 70.0)]);
        assert!(a.transitions.is_empty());
        let a = apply(&mut st, &set, &[r(4, 75.0), r(5, 80.0)]);
        assert_eq!(
            a.transitions,
            [Transition::AlarmRaised {
                sensor: 2,
                at: t(4),
                value: 75.0
            }]
        );
        // A late reading is counted, not used.
        let a = apply(&mut st, &set, &[r(0, 10.0)]);
        assert_eq!((a.late, a.transitions.len()), (1, 0));
        assert_eq!(st[&2].condition(), SensorCondition::Alarm);
        // Back under, then over twice: a second alarm.
        apply(&mut st, &set, &[r(6, 20.0)]);
        let a = apply(&mut st, &set, &[r(8, 90.0), r(7, 90.0)]);
        assert_eq!(a.transitions.len(), 1);
        // Silence after 600 s.
        assert!(newly_silent(&mut st, &set, t(400)).is_empty());
        assert_eq!(newly_silent(&mut st, &set, t(700)), [(2, t(8))]);
        assert!(newly_silent(&mut st, &set, t(800)).is_empty());
        assert_eq!(st[&2].condition(), SensorCondition::Silent);
    }
}
