//! What the live stream says, and how it is framed: server-sent events (`id:`, `event:`,
//! `data:` lines), each message rendered to bytes once and shared by every stream it goes to.

use crate::events::analytics::AreaNames;
use crate::events::analytics::kpi::Kpi;
use crate::events::analytics::view::{AREA_LEVELS, EventRow, NO_TIME};
use crate::events::model::{Category, Priority, Source, Status};
use crate::time::format_time;
use bytes::Bytes;
use serde::Serialize;
use serde_json::json;

/// One event as a stream message carries it.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub id: i64,
    /// district, town, village, grid, unit codes (the subtree filter).
    pub chain: [Option<String>; 5],
    /// The event's JSON object (docs/STREAM.md, `Event`).
    pub json: String,
}

fn vocab<T: Copy>(
    all: &[T],
    i: u8,
    code: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
) -> (Option<&'static str>, Option<&'static str>) {
    match all.get(i as usize) {
        Some(&v) => (Some(code(v)), Some(label(v))),
        None => (None, None),
    }
}

#[derive(Serialize)]
struct Place<'a> {
    code: &'a str,
    name: Option<&'a str>,
}

impl LiveEvent {
    /// Renders a row read by the change feed; `now` decides `overdue`.
    pub fn from_row(r: &EventRow, names: &AreaNames, now: i64) -> LiveEvent {
        let (status, status_label) = vocab(Status::ALL, r.status, |v| v.code(), |v| v.label());
        let (category, category_label) =
            vocab(Category::ALL, r.category, |v| v.code(), |v| v.label());
        let (source, source_label) = vocab(Source::ALL, r.source, |v| v.code(), |v| v.label());
        let (priority, _) = vocab(Priority::ALL, r.priority, |v| v.code(), |v| v.label());
        let open = Status::ALL
            .get(r.status as usize)
            .is_some_and(|s| s.is_open());
        let time = |t: i64| (t != NO_TIME).then(|| format_time(t)).flatten();
        let mut obj = json!({
            "id": r.id,
            "kind": if status == Some(Status::Reported.code()) { "reported" } else { "updated" },
            "status": status,
            "status_label": status_label,
            "category": category,
            "category_label": category_label,
            "source": source,
            "source_label": source_label,
            "priority": priority,
            "reported_at": time(r.t),
            "deadline": time(r.deadline),
            "closed_at": time(r.closed_at),
            "overdue": open && r.deadline != NO_TIME && r.deadline < now,
            "lon": r.lon,
            "lat": r.lat,
        });
        for (level, code) in AREA_LEVELS.iter().zip(&r.area) {
            let place = code.as_deref().map(|c| Place {
                code: c,
                name: names.get(c).map(|n| &*n.name),
            });
            obj[level.as_str()] = serde_json::to_value(place).unwrap_or_default();
        }
        LiveEvent {
            id: r.id,
            chain: r.area.clone(),
            json: obj.to_string(),
        }
    }
}

/// One SSE frame: `id:` (when given), `event:`, one `data:` line (JSON has no raw newline).
pub fn frame(id: Option<&str>, event: &str, data: &str) -> Bytes {
    let mut s = String::with_capacity(data.len() + event.len() + 32);
    if let Some(id) = id {
        s.push_str("id: ");
        s.push_str(id);
        s.push('\n');
    }
    s.push_str("event: ");
    s.push_str(event);
    s.push_str("\ndata: ");
    s.push_str(data);
    s.push_str("\n\n");
    Bytes::from(s)
}

/// The `events` frame of some events.
pub fn events_frame<'a>(id: &str, events: impl Iterator<Item = &'a LiveEvent>) -> Bytes {
    let mut data = String::from("{\"events\":[");
    for (k, e) in events.enumerate() {
        if k > 0 {
            data.push(',');
        }
        data.push_str(&e.json);
    }
    data.push_str("]}");
    frame(Some(id), "events", &data)
}

/// The `kpi` frame of an area's figures.
pub fn kpi_frame(id: &str, kpi: &Kpi) -> Bytes {
    frame(
        Some(id),
        "kpi",
        &serde_json::to_string(kpi).unwrap_or_default(),
    )
}

/// The `reset` frame: the client fetches everything again.
/// The `vessels` frame of some boats' JSON.
pub fn vessels_frame(id: &str, items: &[&str]) -> Bytes {
    let mut data = String::with_capacity(14 + items.iter().map(|j| j.len() + 1).sum::<usize>());
    data.push_str("{\"vessels\":[");
    data.push_str(&items.join(","));
    data.push_str("]}");
    frame(Some(id), "vessels", &data)
}

pub fn reset_frame(reason: &str) -> Bytes {
    frame(None, "reset", &json!({ "reason": reason }).to_string())
}

/// The `heartbeat` frame.
pub fn heartbeat_frame(now: i64) -> Bytes {
    frame(
        None,
        "heartbeat",
        &json!({ "time": format_time(now) }).to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::analytics::AreaName;
    use std::collections::HashMap;

    #[test]
    fn frames_are_well_formed_sse() {
        let f = frame(Some("a-1"), "events", "{\"x\":1}");
        assert_eq!(&f[..], b"id: a-1\nevent: events\ndata: {\"x\":1}\n\n");
        let e = LiveEvent {
            id: 1,
            chain: Default::default(),
            json: "{\"id\":1}".into(),
        };
        let f = events_frame("s-2", [e.clone(), e].iter());
        assert_eq!(
            std::str::from_utf8(&f).unwrap(),
            "id: s-2\nevent: events\ndata: {\"events\":[{\"id\":1},{\"id\":1}]}\n\n"
        );
    }

    #[test]
    fn an_event_row_renders_its_vocabulary_and_places() {
        let row = EventRow {
            id: 7,
            lon: 119.0,
            lat: 25.4,
            t: 1_700_000_000_000_000,
            category: 4,
            source: 3,
            status: 0,
            priority: 1,
            deadline: 1_700_000_000_000_000 + 3_600_000_000,
            closed_at: NO_TIME,
            area: [Some("350304".into()), None, None, None, None],
        };
        let names = HashMap::from([(
            std::sync::Arc::<str>::from("350304"),
            AreaName {
                name: "荔城区".into(),
                level: crate::model::Level::District,
            },
        )]);
        let e = LiveEvent::from_row(&row, &names, 1_700_000_000_000_000);
        let v: serde_json::Value = serde_json::from_str(&e.json).unwrap();
        assert_eq!(v["kind"], "reported");
        assert_eq!(v["category"], Category::ALL[4].code());
        assert_eq!(v["source_label"], Source::ALL[3].label());
        assert_eq!(v["district"]["name"], "荔城区");
        assert!(v["town"].is_null());
        assert_eq!(v["closed_at"], serde_json::Value::Null);
        assert_eq!(v["overdue"], false);
        let late = LiveEvent::from_row(&row, &names, row.deadline + 1);
        assert!(late.json.contains("\"overdue\":true"));
    }
}
