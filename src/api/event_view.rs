//! How an event looks in the API (JSON, GeoJSON) and in the CSV export: presentation of the
//! rows `store::events` reads, for the event handlers.

use crate::events::model::{Category, Priority, Source, Status};
use crate::store::events::{EventRow, TransitionRow};
use crate::time::format_local;
use serde_json::{Value, json};

fn area(code: &Option<String>, name: &Option<String>) -> Value {
    match code {
        Some(c) => json!({ "code": c, "name": name }),
        None => Value::Null,
    }
}

fn label<T: Copy>(parse: fn(&str) -> Option<T>, f: fn(T) -> &'static str, code: &str) -> Value {
    parse(code)
        .map(|v| Value::from(f(v)))
        .unwrap_or(Value::Null)
}

/// The event's properties (everything but the point when `with_point` is false).
pub fn event_json(e: &EventRow, with_point: bool) -> Value {
    let mut v = json!({
        "id": e.id,
        "client_id": e.client_id,
        "category": e.category,
        "category_name": label(Category::parse, Category::label, &e.category),
        "subcategory": e.subcategory,
        "source": e.source,
        "source_name": label(Source::parse, Source::label, &e.source),
        "priority": e.priority,
        "priority_name": label(Priority::parse, Priority::label, &e.priority),
        "description": e.description,
        "reporter": e.reporter,
        "reported_at": e.reported_at,
        "received_at": e.received_at,
        "assigned": e.assigned,
        "unit": area(&e.unit_code, &e.unit_name),
        "grid": area(&e.grid_code, &e.grid_name),
        "village": area(&e.village_code, &e.village_name),
        "town": area(&e.town_code, &e.town_name),
        "district": area(&e.district_code, &e.district_name),
        "nearest_grid": e.nearest_grid_code.as_ref().map(|c| json!({
            "code": c, "name": e.nearest_grid_name, "distance_m": e.nearest_grid_m,
        })),
        "status": e.status,
        "status_name": label(Status::parse, Status::label, &e.status),
        "deadline": e.deadline,
        "overdue": e.overdue,
        "resolved_at": e.resolved_at,
        "closed_at": e.closed_at,
        "duplicate_of": e.duplicate_of,
        "repeat_count": e.repeat_count,
        "updated_at": e.updated_at,
    });
    if with_point && let Value::Object(m) = &mut v {
        m.insert("lon".into(), json!(e.lon));
        m.insert("lat".into(), json!(e.lat));
    }
    v
}

/// A GeoJSON Feature of the event (id = event id, point in WGS84).
pub fn event_feature(e: &EventRow) -> Value {
    json!({
        "type": "Feature",
        "id": e.id,
        "geometry": { "type": "Point", "coordinates": [e.lon, e.lat] },
        "properties": event_json(e, false),
    })
}

pub fn transition_json(t: &TransitionRow) -> Value {
    json!({
        "from": t.from_status,
        "to": t.to_status,
        "actor": t.actor,
        "at": t.at,
        "note": t.note,
    })
}

/// Column headers of the CSV export (zh-CN, for people opening it in Excel).
pub const CSV_HEADER: [&str; 33] = [
    "事件编号",
    "客户端编号",
    "类别",
    "子类",
    "来源",
    "优先级",
    "状态",
    "描述",
    "上报人",
    "经度",
    "纬度",
    "上报时间(北京时间)",
    "接收时间(北京时间)",
    "是否落格",
    "单元编码",
    "单元",
    "网格编码",
    "网格",
    "村(社区)编码",
    "村(社区)",
    "乡镇(街道)编码",
    "乡镇(街道)",
    "区县编码",
    "区县",
    "最近网格编码",
    "最近网格距离(米)",
    "处置时限(北京时间)",
    "是否超期",
    "处置时间(北京时间)",
    "结案时间(北京时间)",
    "重复于",
    "重复次数",
    "更新时间(北京时间)",
];

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn yes_no(b: bool) -> String {
    if b { "是" } else { "否" }.to_string()
}

/// One CSV record of the export, in the order of `CSV_HEADER`.
pub fn csv_record(e: &EventRow) -> [String; 33] {
    let lbl = |v: Value, code: &str| v.as_str().unwrap_or(code).to_string();
    [
        e.id.to_string(),
        opt(&e.client_id),
        lbl(
            label(Category::parse, Category::label, &e.category),
            &e.category,
        ),
        opt(&e.subcategory),
        lbl(label(Source::parse, Source::label, &e.source), &e.source),
        lbl(
            label(Priority::parse, Priority::label, &e.priority),
            &e.priority,
        ),
        lbl(label(Status::parse, Status::label, &e.status), &e.status),
        e.description.clone(),
        opt(&e.reporter),
        format!("{:.7}", e.lon),
        format!("{:.7}", e.lat),
        format_local(e.reported_at),
        format_local(e.received_at),
        yes_no(e.assigned),
        opt(&e.unit_code),
        opt(&e.unit_name),
        opt(&e.grid_code),
        opt(&e.grid_name),
        opt(&e.village_code),
        opt(&e.village_name),
        opt(&e.town_code),
        opt(&e.town_name),
        opt(&e.district_code),
        opt(&e.district_name),
        opt(&e.nearest_grid_code),
        opt(&e.nearest_grid_m),
        format_local(e.deadline),
        yes_no(e.overdue),
        e.resolved_at.map(format_local).unwrap_or_default(),
        e.closed_at.map(format_local).unwrap_or_default(),
        opt(&e.duplicate_of),
        e.repeat_count.to_string(),
        format_local(e.updated_at),
    ]
}
