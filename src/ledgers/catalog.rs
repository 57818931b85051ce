//! The ledgers (基层一张表) and their fields: what a cadre can pick, filter and sort by. The
//! SQL behind each field is in `store::ledgers`; this is the vocabulary the client is shown.

use crate::model::Level;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Text,
    Int,
    Number,
    Date,
    Time,
    Enum,
    Tags,
    /// The name of an area of the row's chain (the value behind it is the area code).
    Area,
}

/// How a field can be filtered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterKind {
    Contains,
    Range,
    In,
    Tags,
}

/// What kind of personal data a field holds (masked unless the caller may see it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Personal {
    Phone,
    IdNumber,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    #[serde(rename = "type")]
    pub ty: FieldType,
    #[serde(serialize_with = "personal_flag")]
    pub personal: Option<Personal>,
    pub filter: Option<FilterKind>,
    pub sortable: bool,
    pub values: Option<&'static [&'static str]>,
    /// For `Area` fields: the level whose name is shown (`Unit` shows the village and unit).
    #[serde(skip)]
    pub area_level: Option<Level>,
}

fn personal_flag<S: serde::Serializer>(p: &Option<Personal>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(p.is_some())
}

#[derive(Debug, Clone, Serialize)]
pub struct Ledger {
    pub name: &'static str,
    pub label: &'static str,
    pub default_fields: &'static [&'static str],
    pub fields: &'static [Field],
}

impl Ledger {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }
    pub fn field_names(&self) -> String {
        self.fields
            .iter()
            .map(|f| f.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
    pub fn tags_field(&self) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.ty == FieldType::Tags)
    }
}

const fn f(name: &'static str, label: &'static str, ty: FieldType) -> Field {
    let filter = match ty {
        FieldType::Text => Some(FilterKind::Contains),
        FieldType::Int | FieldType::Number | FieldType::Date | FieldType::Time => {
            Some(FilterKind::Range)
        }
        FieldType::Enum => Some(FilterKind::In),
        FieldType::Tags => Some(FilterKind::Tags),
        FieldType::Area => None,
    };
    Field {
        name,
        label,
        ty,
        personal: None,
        filter,
        sortable: !matches!(ty, FieldType::Tags),
        values: None,
        area_level: None,
    }
}
const fn personal(mut x: Field, p: Personal) -> Field {
    x.personal = Some(p);
    x.filter = None;
    x.sortable = false;
    x
}
const fn values(mut x: Field, v: &'static [&'static str]) -> Field {
    x.values = Some(v);
    x
}
const fn area(name: &'static str, label: &'static str, level: Level) -> Field {
    let mut x = f(name, label, FieldType::Area);
    x.area_level = Some(level);
    x
}

use FieldType::*;

pub const PERSON_TAGS: &[&str] = &[
    "独居老人",
    "留守儿童",
    "残疾人",
    "低保户",
    "退役军人",
    "党员",
    "流动人口",
];
pub const AGE_BANDS: &[&str] = &["0-17", "18-34", "35-59", "60-79", "80+"];
pub const RELATIONS: &[&str] = &["户主", "配偶", "子女", "父母", "孙辈", "其他"];
pub const RESIDENCE: &[&str] = &["户籍常住", "户籍外出", "外来常住"];
pub const HOUSE_USES: &[&str] = &["住宅", "商住", "商业", "厂房", "公共设施"];
pub const INDUSTRIES: &[&str] = &[
    "鞋服制造",
    "工艺美术",
    "食品加工",
    "电子信息",
    "商贸物流",
    "餐饮住宿",
    "农林渔业",
    "建筑建材",
];
pub const SCALES: &[&str] = &["微型", "小型", "中型", "大型"];
pub const CADRE_KINDS: &[&str] = &["干部", "人才"];
pub const EDUCATION: &[&str] = &["初中", "高中/中专", "大专", "本科", "研究生"];
/// Labels of the development items' states, in `List::Development.states()` order.
pub const PROJECT_STATES: &[&str] = &["计划中", "推进中", "已完成", "已暂停"];
/// Labels of the events' statuses, sources and priorities, in the model's order (checked by a
/// test against `events::model`).
pub const EVENT_STATUSES: &[&str] = &[
    "已上报",
    "已受理",
    "已派遣",
    "处置中",
    "已处置",
    "已核查",
    "已结案",
    "不予受理",
];
pub const EVENT_SOURCES: &[&str] = &[
    "网格员",
    "单元长",
    "部门巡查",
    "12345热线",
    "110非警务警情",
    "信访",
    "扫码上报",
    "物联感知",
];
pub const EVENT_PRIORITIES: &[&str] = &["低", "普通", "高", "紧急"];
pub const EVENT_CATEGORIES: &[&str] = &[
    "矛盾纠纷",
    "城市管理",
    "安全隐患",
    "食品安全",
    "生态环境",
    "森林防火",
    "民生服务",
    "社会治安",
    "交通",
    "其他",
];

const AREA_FIELDS_TAIL: [Field; 4] = [
    area("district", "区县", Level::District),
    area("town", "乡镇街道", Level::Town),
    area("village", "村社区", Level::Village),
    area("grid", "网格", Level::Grid),
];

pub static LEDGERS: &[Ledger] = &[
    Ledger {
        name: "people",
        label: "人口",
        default_fields: &["name", "id_number", "sex", "age", "address", "tags"],
        fields: &[
            f("id", "编号", Int),
            f("name", "姓名", Text),
            personal(f("id_number", "身份证号", Text), Personal::IdNumber),
            personal(f("phone", "联系电话", Text), Personal::Phone),
            values(f("sex", "性别", Enum), &["男", "女"]),
            f("birth_date", "出生日期", Date),
            f("age", "年龄", Int),
            values(f("age_band", "年龄段", Enum), AGE_BANDS),
            f("household", "户号", Text),
            values(f("relation", "与户主关系", Enum), RELATIONS),
            values(f("residence", "居住状况", Enum), RESIDENCE),
            values(f("tags", "人群标签", Tags), PERSON_TAGS),
            area("address", "住址（单元）", Level::Unit),
            AREA_FIELDS_TAIL[0],
            AREA_FIELDS_TAIL[1],
            AREA_FIELDS_TAIL[2],
            AREA_FIELDS_TAIL[3],
            f("updated_at", "更新时间", Time),
        ],
    },
    Ledger {
        name: "enterprises",
        label: "企业",
        default_fields: &["name", "industry", "scale", "employees", "village"],
        fields: &[
            f("id", "编号", Int),
            f("name", "企业名称", Text),
            f("credit_code", "统一社会信用代码", Text),
            values(f("industry", "行业", Enum), INDUSTRIES),
            values(f("scale", "规模", Enum), SCALES),
            f("employees", "从业人数", Int),
            f("legal_person", "法定代表人", Text),
            personal(f("phone", "联系电话", Text), Personal::Phone),
            area("address", "所在单元", Level::Unit),
            AREA_FIELDS_TAIL[0],
            AREA_FIELDS_TAIL[1],
            AREA_FIELDS_TAIL[2],
            AREA_FIELDS_TAIL[3],
            f("updated_at", "更新时间", Time),
        ],
    },
    Ledger {
        name: "houses",
        label: "房屋",
        default_fields: &["name", "use", "floors", "owner", "village"],
        fields: &[
            f("id", "编号", Int),
            f("name", "房屋名称", Text),
            values(f("use", "用途", Enum), HOUSE_USES),
            f("floors", "层数", Int),
            f("floor_area_m2", "建筑面积（㎡）", Number),
            f("built_year", "建成年份", Int),
            f("owner", "产权人", Text),
            personal(f("owner_phone", "产权人电话", Text), Personal::Phone),
            area("address", "所在单元", Level::Unit),
            AREA_FIELDS_TAIL[0],
            AREA_FIELDS_TAIL[1],
            AREA_FIELDS_TAIL[2],
            AREA_FIELDS_TAIL[3],
            f("updated_at", "更新时间", Time),
        ],
    },
    Ledger {
        name: "projects",
        label: "项目",
        default_fields: &[
            "title",
            "kind",
            "budget_wan",
            "progress",
            "state",
            "village",
        ],
        fields: &[
            f("id", "编号", Int),
            f("title", "项目名称", Text),
            f("kind", "类型", Text),
            f("budget_wan", "预算（万元）", Number),
            f("funding", "资金来源", Text),
            f("progress", "进度（%）", Number),
            values(f("state", "状态", Enum), PROJECT_STATES),
            f("owner", "负责人", Text),
            AREA_FIELDS_TAIL[0],
            AREA_FIELDS_TAIL[1],
            AREA_FIELDS_TAIL[2],
            f("updated_at", "更新时间", Time),
        ],
    },
    Ledger {
        name: "cadres",
        label: "干部人才",
        default_fields: &["name", "kind", "role", "sex", "age", "education", "village"],
        fields: &[
            f("id", "编号", Int),
            f("name", "姓名", Text),
            values(f("kind", "类别", Enum), CADRE_KINDS),
            f("role", "职务/专长", Text),
            values(f("sex", "性别", Enum), &["男", "女"]),
            f("age", "年龄", Int),
            values(f("education", "学历", Enum), EDUCATION),
            personal(f("phone", "联系电话", Text), Personal::Phone),
            AREA_FIELDS_TAIL[0],
            AREA_FIELDS_TAIL[1],
            AREA_FIELDS_TAIL[2],
            f("updated_at", "更新时间", Time),
        ],
    },
    Ledger {
        name: "events",
        label: "事件",
        default_fields: &["id", "category", "status", "reported_at", "village"],
        fields: &[
            f("id", "事件编号", Int),
            values(f("category", "类别", Enum), EVENT_CATEGORIES),
            values(f("source", "来源", Enum), EVENT_SOURCES),
            values(f("priority", "优先级", Enum), EVENT_PRIORITIES),
            values(f("status", "状态", Enum), EVENT_STATUSES),
            f("description", "描述", Text),
            f("reported_at", "上报时间", Time),
            f("closed_at", "办结时间", Time),
            area("address", "所在单元", Level::Unit),
            AREA_FIELDS_TAIL[0],
            AREA_FIELDS_TAIL[1],
            AREA_FIELDS_TAIL[2],
            AREA_FIELDS_TAIL[3],
            f("updated_at", "更新时间", Time),
        ],
    },
];

pub fn ledger(name: &str) -> Option<&'static Ledger> {
    LEDGERS.iter().find(|l| l.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_models_vocabularies() {
        use crate::events::model::{Category, Priority, Source, Status};
        let labels = |v: Vec<&'static str>| v;
        assert_eq!(
            labels(Category::ALL.iter().map(|c| c.label()).collect()),
            EVENT_CATEGORIES
        );
        assert_eq!(
            labels(Status::ALL.iter().map(|c| c.label()).collect()),
            EVENT_STATUSES
        );
        assert_eq!(
            labels(Source::ALL.iter().map(|c| c.label()).collect()),
            EVENT_SOURCES
        );
        assert_eq!(
            labels(Priority::ALL.iter().map(|c| c.label()).collect()),
            EVENT_PRIORITIES
        );
        assert_eq!(
            crate::profiles::items::List::Development.states().len(),
            PROJECT_STATES.len()
        );
    }

    #[test]
    fn every_default_field_exists_and_names_are_unique() {
        for l in LEDGERS {
            for d in l.default_fields {
                assert!(l.field(d).is_some(), "{}: {d}", l.name);
            }
            let mut names: Vec<_> = l.fields.iter().map(|f| f.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), l.fields.len(), "{}", l.name);
        }
    }
}
