//! Demo profiles and ledgers for the demo city, deterministic from a seed: a profile with its
//! three lists for every town and village, and the people, houses, enterprises and cadres of
//! the ledgers. Every person is synthetic: names are drawn from common characters, ID numbers
//! carry a deliberately wrong check digit (so none is a valid real number), and phones use the
//! unallocated `100` prefix.

use crate::model::Level;
use crate::store::areas::AreaShape;
use crate::store::demo_profiles::EventCell;
use chrono::{Datelike, NaiveDate};
use geo_types::Coord;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct DemoProfileParams {
    pub seed: u64,
    /// How many people rows (Putian has about 3.2 million residents; the figures of the
    /// profiles are scaled up to that).
    pub people: usize,
    /// "Today" of the generated data (birth dates, ages, years).
    pub today: NaiveDate,
}

impl Default for DemoProfileParams {
    fn default() -> Self {
        DemoProfileParams {
            seed: 3503,
            people: 1_000_000,
            today: chrono::Utc::now().date_naive(),
        }
    }
}

/// Putian's resident population, to which the profile figures are scaled.
pub const CITY_POPULATION: f64 = 3_200_000.0;

const SURNAMES: &[&str] = &[
    "林", "陈", "黄", "吴", "郑", "王", "李", "张", "刘", "蔡", "许", "方", "朱", "徐", "杨", "余",
    "翁", "宋", "卓", "游", "柯", "肖", "姚", "周", "关", "魏", "戴", "彭", "傅", "谢",
];
const GIVEN: &[&str] = &[
    "文", "华", "明", "国", "建", "秀", "丽", "志", "伟", "金", "玉", "清", "海", "荣", "春", "美",
    "芳", "德", "振", "兴", "宏", "晓", "雪", "梅", "琴", "强", "勇", "斌", "涛", "峰", "雅", "婷",
    "欣", "宇", "浩", "俊", "辉", "敏", "静", "燕",
];
const INDUSTRY_WORDS: &[&str] = &[
    "鞋业", "工艺", "食品", "电子", "贸易", "餐饮", "农业", "建材",
];
const BRAND: &[&str] = &[
    "兴华", "永丰", "鑫源", "福海", "嘉禾", "瑞祥", "宏图", "安泰", "恒盛", "东南", "荔城", "木兰",
];
const VILLAGE_INDUSTRIES: &[&str] = &[
    "枇杷种植",
    "龙眼种植",
    "水产养殖",
    "鞋服加工",
    "工艺美术",
    "乡村旅游",
    "电商物流",
    "茶叶种植",
    "木雕",
    "妈祖文化旅游",
];
const DEVELOPMENT: &[(&str, &str, f64)] = &[
    ("村道硬化提升工程", "基础设施", 120.0),
    ("农村生活污水管网改造", "生态环境", 260.0),
    ("党群服务中心提升改造", "公共服务", 80.0),
    ("老年人日间照料中心", "公共服务", 60.0),
    ("特色农产品冷链仓储", "产业发展", 300.0),
    ("村史馆与文化礼堂建设", "文化建设", 90.0),
    ("溪流两岸生态绿道", "生态环境", 180.0),
    ("农贸市场标准化改造", "基础设施", 150.0),
];
const TASKS: &[(&str, &str)] = &[
    (
        "返乡大学生留守儿童暑期夏令营",
        "每年暑期组织返乡大学生为留守儿童开展课业辅导和安全教育",
    ),
    (
        "独居老人常态化走访",
        "网格员每月至少走访一次辖区独居老人并记录",
    ),
    (
        "人居环境整治“月月清”",
        "每月开展一次房前屋后环境卫生集中整治",
    ),
    ("森林防火网格巡查", "防火期内护林员每日巡山，重点时段加密"),
    (
        "矛盾纠纷“网格吹哨”化解",
        "网格内矛盾纠纷三日内上报、七日内化解",
    ),
];
const CATEGORY_NAMES: &[(&str, &str)] = &[
    ("dispute", "矛盾纠纷"),
    ("city_management", "城市管理"),
    ("safety_hazard", "安全隐患"),
    ("food_safety", "食品安全"),
    ("environment", "生态环境"),
    ("forest_fire", "森林防火"),
    ("public_service", "民生服务"),
    ("public_order", "社会治安"),
    ("traffic", "交通"),
    ("other", "其他"),
];

fn hash(s: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(s.as_bytes())
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, v: &[T]) -> T {
    v[rng.random_range(0..v.len())]
}

/// A synthetic name: a common surname and one or two given characters.
pub fn name(rng: &mut ChaCha8Rng) -> String {
    let mut s = pick(rng, SURNAMES).to_string();
    s.push_str(pick(rng, GIVEN));
    if rng.random_bool(0.7) {
        s.push_str(pick(rng, GIVEN));
    }
    s
}

/// A phone in the unallocated `100` range: 11 digits that reach nobody.
pub fn phone(rng: &mut ChaCha8Rng) -> String {
    format!("100{:08}", rng.random_range(0..100_000_000u32))
}

/// An 18-character ID number of the given region and birth date whose check digit is wrong on
/// purpose (GB 11643's ISO 7064 MOD 11-2 digit plus one), so it is never a real person's.
pub fn id_number(rng: &mut ChaCha8Rng, region: &str, birth: NaiveDate, male: bool) -> String {
    let mut seq = rng.random_range(0..500u32) * 2;
    if male {
        seq += 1;
    }
    let region: String = region.chars().take(6).collect();
    let body = format!("{region:0<6}{}{:03}", birth.format("%Y%m%d"), seq % 1000);
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let right = (sum % 11) as usize;
    format!("{body}{}", CHECK[(right + 1) % 11])
}

/// Whether an ID number's check digit is the valid one (the demo's never are).
pub fn id_check_digit_valid(id: &str) -> bool {
    if id.chars().count() != 18 {
        return false;
    }
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = id
        .chars()
        .take(17)
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    id.chars().nth(17) == Some(CHECK[(sum % 11) as usize])
}

/// A value escaped for COPY text format.
fn esc(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// One COPY text row.
fn row(out: &mut Vec<u8>, values: &[Option<&str>]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match v {
            Some(s) => esc(out, s),
            None => out.extend_from_slice(b"\\N"),
        }
    }
    out.push(b'\n');
}

/// The area tree of the demo, for the generator.
pub struct Tree {
    by_code: HashMap<Arc<str>, usize>,
    areas: Vec<AreaShape>,
    children: HashMap<Arc<str>, Vec<usize>>,
}

impl Tree {
    pub fn new(areas: Vec<AreaShape>) -> Tree {
        let by_code = areas
            .iter()
            .enumerate()
            .map(|(i, a)| (a.code.clone(), i))
            .collect();
        let mut children: HashMap<Arc<str>, Vec<usize>> = HashMap::new();
        for (i, a) in areas.iter().enumerate() {
            if let Some(p) = &a.parent {
                children.entry(p.clone()).or_default().push(i);
            }
        }
        Tree {
            by_code,
            areas,
            children,
        }
    }
    pub fn get(&self, code: &str) -> Option<&AreaShape> {
        self.by_code.get(code).map(|&i| &self.areas[i])
    }
    pub fn children(&self, code: &str) -> impl Iterator<Item = &AreaShape> {
        self.children
            .get(code)
            .into_iter()
            .flatten()
            .map(|&i| &self.areas[i])
    }
    pub fn of_level(&self, level: Level) -> impl Iterator<Item = &AreaShape> {
        self.areas.iter().filter(move |a| a.level == level)
    }
    /// The codes from the district down to `code`: [district, town, village, grid, unit].
    pub fn chain(&self, code: &str) -> [Option<Arc<str>>; 5] {
        let mut out: [Option<Arc<str>>; 5] = Default::default();
        let mut cur = self.get(code);
        while let Some(a) = cur {
            let k = match a.level {
                Level::District => 0,
                Level::Town => 1,
                Level::Village => 2,
                Level::Grid => 3,
                Level::Unit => 4,
                Level::City => break,
            };
            out[k] = Some(a.code.clone());
            cur = a.parent.as_deref().and_then(|p| self.get(p));
        }
        out
    }
    /// A point inside `code` (its box centre if inside, else a sampled one, else a vertex).
    pub fn point_in(&self, code: &str, rng: &mut ChaCha8Rng) -> Option<(f64, f64)> {
        let shape = self.get(code)?.geom.as_ref()?;
        let b = shape.bbox();
        let c = Coord {
            x: (b[0] + b[2]) / 2.0,
            y: (b[1] + b[3]) / 2.0,
        };
        if shape.covers(c) {
            return Some((c.x, c.y));
        }
        for _ in 0..30 {
            let p = Coord {
                x: rng.random_range(b[0]..=b[2]),
                y: rng.random_range(b[1]..=b[3]),
            };
            if shape.covers(p) {
                return Some((p.x, p.y));
            }
        }
        shape
            .rings()
            .next()
            .and_then(|(r, _)| r.first())
            .map(|p| (p[0], p[1]))
    }
}

/// What the people of one village add up to (scaled to the city in the profile).
#[derive(Debug, Clone, Default)]
pub struct VillageCounts {
    pub registered: u64,
    pub resident: u64,
    pub households: u64,
    pub party: u64,
}

/// Ages of a realistic pyramid: weights per ten years, 0–9 to 90–99.
const AGE_WEIGHTS: [f64; 10] = [11.0, 11.5, 12.0, 14.5, 15.0, 14.0, 11.5, 6.5, 3.2, 0.8];

fn age(rng: &mut ChaCha8Rng) -> u32 {
    let total: f64 = AGE_WEIGHTS.iter().sum();
    let mut x = rng.random_range(0.0..total);
    for (k, w) in AGE_WEIGHTS.iter().enumerate() {
        if x < *w {
            return k as u32 * 10 + rng.random_range(0..10);
        }
        x -= w;
    }
    50
}

fn birth(rng: &mut ChaCha8Rng, today: NaiveDate, age: u32) -> NaiveDate {
    let days = age as i64 * 365 + rng.random_range(0..365);
    today - chrono::Days::new(days as u64)
}

/// The people of `village` as COPY rows (`COPY_PERSON`), and what they add up to.
pub fn people_of_village(
    tree: &Tree,
    village: &AreaShape,
    per_unit: f64,
    p: &DemoProfileParams,
    out: &mut Vec<u8>,
) -> VillageCounts {
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed ^ hash(&village.code) ^ 0x5eed_0001);
    let mut counts = VillageCounts::default();
    let chain = tree.chain(&village.code);
    let district = chain[0].as_deref().unwrap_or("");
    let town = chain[1].as_deref().unwrap_or("");
    for grid in tree.children(&village.code) {
        for unit in tree.children(&grid.code) {
            // Units get people in proportion; the fraction is carried by chance.
            let expect = per_unit * rng.random_range(0.5..1.5);
            let mut left = expect.floor() as usize
                + usize::from(rng.random_bool(expect.fract().clamp(0.0, 1.0)));
            let mut h = 0;
            while left > 0 {
                h += 1;
                let size = rng.random_range(1..=5usize).min(left);
                left -= size;
                let household = format!("{}{:02}", unit.code, h);
                let away = rng.random_bool(0.08);
                let migrant = !away && rng.random_bool(0.1);
                let poor = rng.random_bool(0.03);
                counts.households += 1;
                for k in 0..size {
                    let a = if k == 0 {
                        25 + age(&mut rng) % 70
                    } else {
                        age(&mut rng)
                    };
                    let male = rng.random_bool(0.51);
                    let b = birth(&mut rng, p.today, a);
                    let relation = match k {
                        0 => "户主",
                        1 if a >= 20 => "配偶",
                        _ if a < 25 => "子女",
                        _ if a >= 60 => "父母",
                        _ => "其他",
                    };
                    let residence = if migrant {
                        "外来常住"
                    } else if away && (18..60).contains(&a) {
                        "户籍外出"
                    } else {
                        "户籍常住"
                    };
                    let mut tags: Vec<&str> = Vec::new();
                    if size == 1 && a >= 65 {
                        tags.push("独居老人");
                    }
                    if away && a < 16 {
                        tags.push("留守儿童");
                    }
                    if rng.random_bool(0.02) {
                        tags.push("残疾人");
                    }
                    if poor {
                        tags.push("低保户");
                    }
                    if male && (20..70).contains(&a) && rng.random_bool(0.03) {
                        tags.push("退役军人");
                    }
                    if a >= 18 && rng.random_bool(0.07) {
                        tags.push("党员");
                        counts.party += 1;
                    }
                    if migrant {
                        tags.push("流动人口");
                    }
                    if residence != "外来常住" {
                        counts.registered += 1;
                    }
                    if residence != "户籍外出" {
                        counts.resident += 1;
                    }
                    let tag_text = format!("{{{}}}", tags.join(","));
                    let id = id_number(&mut rng, district, b, male);
                    let ph = if a >= 16 {
                        phone(&mut rng)
                    } else {
                        String::new()
                    };
                    let nm = name(&mut rng);
                    let bd = b.format("%Y-%m-%d").to_string();
                    row(
                        out,
                        &[
                            Some(&nm),
                            Some(&id),
                            Some(&ph),
                            Some(if male { "男" } else { "女" }),
                            Some(&bd),
                            Some(&household),
                            Some(relation),
                            Some(residence),
                            Some(&tag_text),
                            Some(&unit.code),
                            Some(&grid.code),
                            Some(&village.code),
                            Some(town),
                            Some(district),
                        ],
                    );
                }
            }
        }
    }
    counts
}

/// The houses (one per unit) of `village` as COPY rows (`COPY_HOUSE`).
pub fn houses_of_village(
    tree: &Tree,
    village: &AreaShape,
    p: &DemoProfileParams,
    out: &mut Vec<u8>,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed ^ hash(&village.code) ^ 0x5eed_0002);
    let chain = tree.chain(&village.code);
    let (district, town) = (chain[0].as_deref(), chain[1].as_deref());
    for grid in tree.children(&village.code) {
        for unit in tree.children(&grid.code) {
            let floors = if rng.random_bool(0.7) {
                rng.random_range(2..=6)
            } else {
                rng.random_range(7..=33)
            };
            let area = floors as f64 * rng.random_range(80.0..600.0);
            let use_ = pick(
                &mut rng,
                &["住宅", "住宅", "住宅", "商住", "商业", "厂房", "公共设施"],
            );
            let year = (p.today.year() - rng.random_range(0..45)).to_string();
            let (owner, ph) = (name(&mut rng), phone(&mut rng));
            row(
                out,
                &[
                    Some(&unit.name),
                    Some(use_),
                    Some(&floors.to_string()),
                    Some(&format!("{area:.1}")),
                    Some(&year),
                    Some(&owner),
                    Some(&ph),
                    Some(&unit.code),
                    Some(&grid.code),
                    Some(&village.code),
                    town,
                    district,
                ],
            );
        }
    }
}

/// The enterprises of `village` (about one per 20 units) as COPY rows (`COPY_ENTERPRISE`).
pub fn enterprises_of_village(
    tree: &Tree,
    village: &AreaShape,
    p: &DemoProfileParams,
    out: &mut Vec<u8>,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed ^ hash(&village.code) ^ 0x5eed_0003);
    let units: Vec<&AreaShape> = tree
        .children(&village.code)
        .flat_map(|g| tree.children(&g.code))
        .collect();
    let n = (units.len() as f64 / 20.0).round().max(1.0) as usize;
    for k in 0..n.min(units.len()) {
        let unit = units[rng.random_range(0..units.len())];
        let Some((lon, lat)) = tree.point_in(&unit.code, &mut rng) else {
            continue;
        };
        let chain = tree.chain(&unit.code);
        let ind = rng.random_range(0..crate::ledgers::catalog::INDUSTRIES.len());
        let name_ = format!(
            "莆田市{}{}{}有限公司",
            pick(&mut rng, BRAND),
            village.name.chars().take(2).collect::<String>(),
            INDUSTRY_WORDS[ind % INDUSTRY_WORDS.len()]
        );
        let name_ = if k > 0 {
            format!("{name_}（{}）", k + 1)
        } else {
            name_
        };
        const ALNUM: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
        let tail: String = (0..10)
            .map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char)
            .collect();
        let credit = format!("91{}{tail}", chain[0].as_deref().unwrap_or("350300"));
        let employees = match rng.random_range(0..10) {
            0..=5 => rng.random_range(1..20),
            6..=8 => rng.random_range(20..300),
            _ => rng.random_range(300..3000),
        };
        let scale = match employees {
            0..=9 => "微型",
            10..=99 => "小型",
            100..=999 => "中型",
            _ => "大型",
        };
        let (legal, ph) = (name(&mut rng), phone(&mut rng));
        let geom = format!("SRID=4326;POINT({lon} {lat})");
        row(
            out,
            &[
                Some(&name_),
                Some(&credit),
                Some(crate::ledgers::catalog::INDUSTRIES[ind]),
                Some(scale),
                Some(&employees.to_string()),
                Some(&legal),
                Some(&ph),
                Some(&geom),
                chain[4].as_deref(),
                chain[3].as_deref(),
                chain[2].as_deref(),
                chain[1].as_deref(),
                chain[0].as_deref(),
            ],
        );
    }
}

/// The leadership of a town or village: (role, name, phone, sex, birth year, education).
struct Leader {
    role: &'static str,
    name: String,
    phone: String,
    male: bool,
    birth_year: i32,
    education: &'static str,
}

fn leaders(area: &AreaShape, p: &DemoProfileParams) -> Vec<Leader> {
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed ^ hash(&area.code) ^ 0x5eed_0004);
    let roles: &[&str] = if area.level == Level::Town {
        &["党委书记", "镇长", "党委副书记", "副镇长", "人大主席"]
    } else {
        &[
            "党支部书记",
            "村委会主任",
            "村委会副主任",
            "村务监督委员会主任",
            "村委会委员",
        ]
    };
    roles
        .iter()
        .map(|r| Leader {
            role: r,
            name: name(&mut rng),
            phone: phone(&mut rng),
            male: rng.random_bool(0.7),
            birth_year: p.today.year() - rng.random_range(28..60),
            education: pick(&mut rng, &["高中/中专", "大专", "本科", "本科", "研究生"]),
        })
        .collect()
}

/// The cadres and talents of every town and village as COPY rows (`COPY_CADRE`).
pub fn cadres(tree: &Tree, p: &DemoProfileParams, out: &mut Vec<u8>) {
    for area in tree
        .of_level(Level::Town)
        .chain(tree.of_level(Level::Village))
    {
        let chain = tree.chain(&area.code);
        for l in leaders(area, p) {
            row(
                out,
                &[
                    Some(&l.name),
                    Some("干部"),
                    Some(l.role),
                    Some(if l.male { "男" } else { "女" }),
                    Some(&l.birth_year.to_string()),
                    Some(l.education),
                    Some(&l.phone),
                    Some(&area.code),
                    chain[2].as_deref(),
                    chain[1].as_deref(),
                    chain[0].as_deref(),
                ],
            );
        }
        if area.level == Level::Village {
            let mut rng = ChaCha8Rng::seed_from_u64(p.seed ^ hash(&area.code) ^ 0x5eed_0005);
            for _ in 0..rng.random_range(0..=3) {
                let role = pick(
                    &mut rng,
                    &["乡贤", "返乡大学生", "农技能手", "非遗传承人", "电商带头人"],
                );
                let (nm, ph) = (name(&mut rng), phone(&mut rng));
                row(
                    out,
                    &[
                        Some(&nm),
                        Some("人才"),
                        Some(role),
                        Some(if rng.random_bool(0.5) { "男" } else { "女" }),
                        Some(&(p.today.year() - rng.random_range(20..70)).to_string()),
                        Some(pick(&mut rng, crate::ledgers::catalog::EDUCATION)),
                        Some(&ph),
                        Some(&area.code),
                        chain[2].as_deref(),
                        chain[1].as_deref(),
                        chain[0].as_deref(),
                    ],
                );
            }
        }
    }
}

/// The introduction of a town or village.
pub fn introduction(
    tree: &Tree,
    area: &AreaShape,
    counts: &VillageCounts,
    scale: f64,
    p: &DemoProfileParams,
) -> Value {
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed ^ hash(&area.code) ^ 0x5eed_0006);
    let committee: Vec<Value> = leaders(area, p)
        .into_iter()
        .map(|l| json!({"role": l.role, "name": l.name, "phone": l.phone}))
        .collect();
    let grids: Vec<Value> = if area.level == Level::Village {
        tree.children(&area.code)
            .map(|g| json!({"code": &*g.code, "leader": name(&mut rng), "phone": phone(&mut rng), "unit_heads": tree.children(&g.code).count()}))
            .collect()
    } else {
        Vec::new()
    };
    let mut industries: Vec<&str> = Vec::new();
    while industries.len() < 2 + (hash(&area.code) % 2) as usize {
        let i = pick(&mut rng, VILLAGE_INDUSTRIES);
        if !industries.contains(&i) {
            industries.push(i);
        }
    }
    let base = rng.random_range(20.0..300.0_f64);
    let income: Vec<Value> = (0..3)
        .map(|k| {
            let year = p.today.year() - 3 + k;
            json!({"year": year, "amount_wan": (base * (1.0 + 0.08 * k as f64) * 10.0).round() / 10.0})
        })
        .collect();
    let parent = area
        .parent
        .as_deref()
        .and_then(|c| tree.get(c))
        .map(|a| a.name.to_string())
        .unwrap_or_default();
    let registered = (counts.registered as f64 * scale).round() as u64;
    let resident = (counts.resident as f64 * scale).round() as u64;
    let units: usize = tree
        .children(&area.code)
        .map(|g| tree.children(&g.code).count())
        .sum();
    let summary = if area.level == Level::Village {
        format!(
            "{}隶属{}，辖{}个网格、{}个单元，户籍人口约{}人、常住人口约{}人。主要产业为{}。",
            area.name,
            parent,
            grids.len(),
            units,
            registered,
            resident,
            industries.join("、")
        )
    } else {
        format!(
            "{}隶属{}，辖{}个村（社区），户籍人口约{}人。主要产业为{}。",
            area.name,
            parent,
            tree.children(&area.code).count(),
            registered,
            industries.join("、")
        )
    };
    let members = (counts.party as f64 * scale).round() as u64;
    json!({
        "summary": summary,
        "population": {"registered": registered, "resident": resident},
        "households": (counts.households as f64 * scale).round() as u64,
        "party": {"members": members, "branches": (members / 40).max(1)},
        "committee": committee,
        "grids": grids,
        "industries": industries,
        "income": income,
        "photos": [{"ref": format!("photos/{}-1.jpg", area.code), "caption": format!("{}全景", area.name)}],
    })
}

/// One list item to COPY.
#[derive(Debug, Clone)]
pub struct DemoItem {
    pub id: i64,
    pub area: Arc<str>,
    pub list: &'static str,
    pub title: String,
    pub state: &'static str,
    pub owner: String,
    pub doc: Value,
    pub origin: Option<(&'static str, i64)>,
}

/// The three lists of a town or village: problems from its repeated event spots (`cells`,
/// largest first; a generic one if it has none), development items, tasks; one village in
/// about eight has its largest problem promoted to a development item (the vacant lot
/// reported again and again that became a fitness centre).
pub fn items(
    tree: &Tree,
    area: &AreaShape,
    cells: &[&EventCell],
    p: &DemoProfileParams,
    next_id: &mut i64,
) -> Vec<DemoItem> {
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed ^ hash(&area.code) ^ 0x5eed_0007);
    let mut out = Vec::new();
    let mut id = || {
        *next_id += 1;
        *next_id
    };
    let owner = leaders(area, p)
        .into_iter()
        .next()
        .map(|l| l.name)
        .unwrap_or_default();
    let year = p.today.year();
    let cat_name = |c: &str| {
        CATEGORY_NAMES
            .iter()
            .find(|(k, _)| *k == c)
            .map(|(_, n)| *n)
            .unwrap_or("其他")
    };
    let mut problems = Vec::new();
    for cell in cells.iter().take(2) {
        let pid = id();
        let title = format!(
            "{}附近{}问题反复（近一年{}件）",
            area.name,
            cat_name(&cell.category),
            cell.count
        );
        problems.push(DemoItem {
            id: pid,
            area: area.code.clone(),
            list: "problems",
            title,
            state: if rng.random_bool(0.5) { "open" } else { "in_progress" },
            owner: owner.clone(),
            doc: json!({
                "description": format!("同一地点一年内被反映{}次，来源于事件热点。", cell.count),
                "category": cell.category,
                "event_count": cell.count,
                "event_ids": cell.ids,
                "place": {"lon": (cell.lon * 1e6).round() / 1e6, "lat": (cell.lat * 1e6).round() / 1e6},
                "promoted_to": null,
            }),
            origin: None,
        });
    }
    if problems.is_empty() {
        let (title, cat) = pick(
            &mut rng,
            &[
                ("村内停车难、乱停放", "traffic"),
                ("背街小巷路灯损坏较多", "public_service"),
                ("沟渠淤塞雨季易积水", "environment"),
            ],
        );
        let place = tree
            .point_in(&area.code, &mut rng)
            .map(|(lon, lat)| json!({"lon": lon, "lat": lat}));
        problems.push(DemoItem {
            id: id(),
            area: area.code.clone(),
            list: "problems",
            title: title.to_string(),
            state: "open",
            owner: owner.clone(),
            doc: json!({"description": "群众反映较多，待研究解决。", "category": cat, "event_count": 0, "event_ids": [], "place": place, "promoted_to": null}),
            origin: None,
        });
    }
    let promote = area.level == Level::Village
        && cells.first().is_some_and(|c| c.count >= 10)
        && hash(&area.code).is_multiple_of(8);
    let place_of = |rng: &mut ChaCha8Rng| {
        tree.point_in(&area.code, rng)
            .map(|(lon, lat)| json!([{"lon": lon, "lat": lat, "label": area.name.to_string()}]))
            .unwrap_or(json!([]))
    };
    if promote {
        let pid = problems[0].id;
        let did = id();
        problems[0].state = "promoted";
        problems[0].doc["promoted_to"] = json!({"list": "development", "id": did});
        let place = problems[0].doc["place"].clone();
        out.push(DemoItem {
            id: did,
            area: area.code.clone(),
            list: "development",
            title: "闲置地改建全民健身中心".into(),
            state: "in_progress",
            owner: owner.clone(),
            doc: json!({
                "kind": "公共服务", "budget_wan": 95.0, "funding": "财政补助+村集体自筹", "progress": 60.0,
                "milestones": [
                    {"title": "问题转为发展项目", "date": format!("{}-03-15", year), "done": true},
                    {"title": "场地平整", "date": format!("{}-06-30", year), "done": true},
                    {"title": "器材安装并开放", "date": format!("{}-12-31", year), "done": false}
                ],
                "places": if place.is_null() { json!([]) } else { json!([{"lon": place["lon"], "lat": place["lat"], "label": "原闲置地"}]) },
            }),
            origin: Some(("problems", pid)),
        });
    }
    out.extend(problems);
    for _ in 0..rng.random_range(1..=3) {
        let (title, kind, budget) = pick(&mut rng, DEVELOPMENT);
        if out.iter().any(|i| i.title == title) {
            continue;
        }
        let progress = rng.random_range(0..=10) as f64 * 10.0;
        let state = if progress >= 100.0 {
            "done"
        } else if progress > 0.0 {
            "in_progress"
        } else {
            "planned"
        };
        let budget = (budget * rng.random_range(0.6..1.6_f64)).round();
        let places = place_of(&mut rng);
        out.push(DemoItem {
            id: id(),
            area: area.code.clone(),
            list: "development",
            title: title.to_string(),
            state,
            owner: owner.clone(),
            doc: json!({
                "kind": kind, "budget_wan": budget, "funding": pick(&mut rng, &["财政资金", "乡村振兴专项", "村集体自筹", "社会资本"]),
                "progress": progress,
                "milestones": [
                    {"title": "立项", "date": format!("{}-02-01", year), "done": true},
                    {"title": "竣工验收", "date": format!("{}-11-30", year), "done": progress >= 100.0}
                ],
                "places": places,
            }),
            origin: None,
        });
    }
    for _ in 0..rng.random_range(1..=2) {
        let (title, description) = pick(&mut rng, TASKS);
        if out.iter().any(|i| i.title == title) {
            continue;
        }
        let targets: Vec<Value> = (0..3)
            .map(|k| {
                let y = year - 1 + k;
                let progress = if y < year {
                    100.0
                } else if y == year {
                    rng.random_range(3..=9) as f64 * 10.0
                } else {
                    0.0
                };
                json!({"year": y, "target": format!("{}年度目标", y), "progress": progress})
            })
            .collect();
        out.push(DemoItem {
            id: id(),
            area: area.code.clone(),
            list: "tasks",
            title: title.to_string(),
            state: "active",
            owner: owner.clone(),
            doc: json!({"description": description, "deadline": format!("{}-12-31", year + 1), "targets": targets}),
            origin: None,
        });
    }
    out
}

/// COPY rows (`COPY_ITEM`) of `items`.
pub fn item_rows(tree: &Tree, items: &[DemoItem], out: &mut Vec<u8>) {
    for it in items {
        let chain = tree.chain(&it.area);
        let doc = it.doc.to_string();
        let id = it.id.to_string();
        let origin_id = it.origin.map(|o| o.1.to_string());
        row(
            out,
            &[
                Some(&id),
                Some(&it.area),
                Some(it.list),
                Some(&it.title),
                Some(it.state),
                Some(&it.owner),
                Some(&doc),
                it.origin.map(|o| o.0),
                origin_id.as_deref(),
                Some("演示数据"),
                chain[2].as_deref(),
                chain[1].as_deref(),
                chain[0].as_deref(),
            ],
        );
    }
}

/// COPY rows (`COPY_PROFILE` and `COPY_PROFILE_VERSION`: the same) of one profile, version 1.
pub fn profile_row(code: &str, doc: &Value, at: &str, out: &mut Vec<u8>) {
    let d = doc.to_string();
    row(
        out,
        &[
            Some(code),
            Some("1"),
            Some(&d),
            Some("演示数据"),
            Some(at),
            Some("初始建档"),
        ],
    );
}

/// The people per unit for `people` rows over `units` units.
pub fn per_unit(people: usize, units: usize) -> f64 {
    people as f64 / units.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_ids_are_never_valid_and_phones_reach_nobody() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..1000 {
            let b = NaiveDate::from_ymd_opt(1980, 5, 17).unwrap();
            let id = id_number(&mut rng, "350302", b, true);
            assert_eq!(id.len(), 18);
            assert!(id.starts_with("35030219800517"));
            assert!(!id_check_digit_valid(&id), "{id}");
            assert!(phone(&mut rng).starts_with("100"));
        }
        // The check itself accepts a correctly computed digit (GB 11643's example).
        assert!(id_check_digit_valid("11010519491231002X"));
    }

    #[test]
    fn copy_text_escapes_tabs_newlines_and_backslashes() {
        let mut out = Vec::new();
        row(&mut out, &[Some("a\tb\\c\nd"), None]);
        assert_eq!(out, b"a\\tb\\\\c\\nd\t\\N\n");
    }
}
