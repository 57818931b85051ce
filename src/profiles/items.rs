//! The three lists of a profile: development items (发展清单), problems (问题清单) and tasks
//! (任务清单). Each item has common fields (title, state, owner) and a list-specific document.

use super::{Checker, FieldError, MAX_NAME, MAX_TEXT};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Which list an item is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum List {
    Development,
    Problems,
    Tasks,
}

impl List {
    pub const ALL: [List; 3] = [List::Development, List::Problems, List::Tasks];

    pub fn as_str(self) -> &'static str {
        match self {
            List::Development => "development",
            List::Problems => "problems",
            List::Tasks => "tasks",
        }
    }
    pub fn parse(s: &str) -> Option<List> {
        List::ALL.into_iter().find(|l| l.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            List::Development => "发展清单",
            List::Problems => "问题清单",
            List::Tasks => "任务清单",
        }
    }
    /// The states an item of this list can be in; the first is a new item's.
    pub fn states(self) -> &'static [&'static str] {
        match self {
            List::Development => &["planned", "in_progress", "done", "suspended"],
            List::Problems => &["open", "in_progress", "resolved", "promoted"],
            List::Tasks => &["active", "paused", "done"],
        }
    }
}

/// A reference to another item.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRef {
    pub list: List,
    pub id: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LonLat {
    pub lon: f64,
    pub lat: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Milestone {
    pub title: String,
    pub date: String,
    #[serde(default)]
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    pub lon: f64,
    pub lat: f64,
    #[serde(default)]
    pub label: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Development {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub budget_wan: f64,
    #[serde(default)]
    pub funding: String,
    #[serde(default)]
    pub progress: f64,
    #[serde(default)]
    pub milestones: Vec<Milestone>,
    #[serde(default)]
    pub places: Vec<Place>,
}

/// The most event ids a problem carries.
pub const MAX_EVENT_IDS: usize = 500;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub event_count: i64,
    #[serde(default)]
    pub event_ids: Vec<i64>,
    #[serde(default)]
    pub place: Option<LonLat>,
    /// Set by a promotion, not by the client.
    #[serde(default, skip_deserializing)]
    pub promoted_to: Option<ItemRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub year: i64,
    pub target: String,
    #[serde(default)]
    pub progress: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub deadline: Option<String>,
    #[serde(default)]
    pub targets: Vec<Target>,
}

/// A submitted item, checked: the common fields and the list's document as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemDraft {
    pub title: String,
    pub state: String,
    pub owner: String,
    pub doc: Value,
    /// The version the editor started from (required to change an item).
    pub version: Option<i32>,
}

/// The keys every item has beside its list's document.
const COMMON: [&str; 4] = ["title", "state", "owner", "version"];
/// Keys the server sets, accepted in a submission (an edited copy of an answer) and ignored.
const SERVER_SET: [&str; 8] = [
    "id",
    "list",
    "area_code",
    "created_at",
    "updated_at",
    "origin",
    "promoted_to",
    "created_by",
];

/// Checks a submitted item of `list` (a JSON object): common fields, then the list's own.
pub fn check_item(
    list: List,
    body: &Value,
    categories: &dyn Fn(&str) -> bool,
) -> Result<ItemDraft, Vec<FieldError>> {
    let mut c = Checker::default();
    let Some(obj) = body.as_object() else {
        return Err(vec![FieldError::new(
            "",
            "请求体应为 JSON 对象 (body must be a JSON object)",
        )]);
    };
    let text = |c: &mut Checker, k: &str| -> Option<String> {
        match obj.get(k) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                c.fail(k, "应为字符串 (must be a string)");
                None
            }
        }
    };
    let title = text(&mut c, "title").unwrap_or_default();
    if title.trim().is_empty() {
        c.fail("title", "标题不能为空 (title is required)");
    }
    c.text("title", &title, 200);
    let state = text(&mut c, "state").unwrap_or_else(|| list.states()[0].to_string());
    c.one_of("state", &state, list.states());
    let owner = text(&mut c, "owner").unwrap_or_default();
    c.text("owner", &owner, 100);
    let version = match obj.get("version") {
        None | Some(Value::Null) => None,
        Some(v) => match v
            .as_i64()
            .and_then(|v| i32::try_from(v).ok())
            .filter(|v| *v > 0)
        {
            Some(v) => Some(v),
            None => {
                c.fail("version", "应为正整数 (must be a positive integer)");
                None
            }
        },
    };
    let rest: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| !COMMON.contains(&k.as_str()) && !SERVER_SET.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let doc = match list {
        List::Development => parse::<Development>(&mut c, rest).map(|d| {
            c.text("kind", &d.kind, 40);
            c.amount("budget_wan", d.budget_wan);
            c.text("funding", &d.funding, 200);
            c.percent("progress", d.progress);
            c.entries("milestones", &d.milestones);
            for (i, m) in d.milestones.iter().enumerate() {
                c.name(&format!("milestones[{i}].title"), &m.title);
                c.date(&format!("milestones[{i}].date"), &m.date);
            }
            c.entries("places", &d.places);
            for (i, p) in d.places.iter().enumerate() {
                c.lon_lat(&format!("places[{i}]"), p.lon, p.lat);
                c.text(&format!("places[{i}].label"), &p.label, MAX_NAME);
            }
            serde_json::to_value(d)
        }),
        List::Problems => parse::<Problem>(&mut c, rest).map(|p| {
            c.text("description", &p.description, MAX_TEXT);
            if let Some(cat) = &p.category
                && !categories(cat)
            {
                c.fail("category", "未知的事件类别 (unknown event category)");
            }
            c.count("event_count", p.event_count);
            if p.event_ids.len() > MAX_EVENT_IDS {
                c.fail(
                    "event_ids",
                    format!("最多 {MAX_EVENT_IDS} 个 (at most {MAX_EVENT_IDS} ids)"),
                );
            }
            if p.event_ids.iter().any(|id| *id <= 0) {
                c.fail(
                    "event_ids",
                    "事件编号应为正整数 (event ids are positive integers)",
                );
            }
            if let Some(pl) = p.place {
                c.lon_lat("place", pl.lon, pl.lat);
            }
            serde_json::to_value(p)
        }),
        List::Tasks => parse::<Task>(&mut c, rest).map(|t| {
            c.text("description", &t.description, MAX_TEXT);
            if let Some(d) = &t.deadline {
                c.date("deadline", d);
            }
            c.entries("targets", &t.targets);
            for (i, tg) in t.targets.iter().enumerate() {
                c.year(&format!("targets[{i}].year"), tg.year);
                c.name(&format!("targets[{i}].target"), &tg.target);
                c.text(&format!("targets[{i}].target"), &tg.target, 200);
                c.percent(&format!("targets[{i}].progress"), tg.progress);
            }
            serde_json::to_value(t)
        }),
    };
    let doc = doc.and_then(|r| r.ok());
    c.finish()?;
    Ok(ItemDraft {
        title: title.trim().to_string(),
        state,
        owner,
        doc: doc.unwrap_or(Value::Object(Map::new())),
        version,
    })
}

fn parse<T: serde::de::DeserializeOwned>(c: &mut Checker, rest: Map<String, Value>) -> Option<T> {
    match serde_json::from_value::<T>(Value::Object(rest)) {
        Ok(v) => Some(v),
        Err(e) => {
            c.fail(
                "",
                format!("字段不符合要求 (fields do not match the list's shape): {e}"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn items_are_checked_per_list() {
        let ok = check_item(
            List::Development,
            &json!({"title": "健身中心", "budget_wan": 80, "progress": 40, "milestones": [{"title": "开工", "date": "2026-03-01"}]}),
            &|_| true,
        )
        .unwrap();
        assert_eq!(ok.state, "planned");
        assert_eq!(ok.doc["budget_wan"], json!(80.0));
        let bad = check_item(
            List::Development,
            &json!({"title": "", "progress": 140, "colour": "red"}),
            &|_| true,
        )
        .unwrap_err();
        let paths: Vec<&str> = bad.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"title") && paths.contains(&""), "{paths:?}");
        let bad = check_item(
            List::Tasks,
            &json!({"title": "夏令营", "targets": [{"year": 1800, "target": "x", "progress": -1}]}),
            &|_| true,
        )
        .unwrap_err();
        assert_eq!(bad.len(), 2, "{bad:?}");
        let bad = check_item(
            List::Problems,
            &json!({"title": "垃圾", "state": "promoted?", "category": "nope"}),
            &|c| c == "environment",
        )
        .unwrap_err();
        assert_eq!(bad.len(), 2, "{bad:?}");
    }
}
