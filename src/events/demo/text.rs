//! The words of the demo events: subcategories, descriptions, reporters and actors (zh-CN).

use crate::events::model::{Category, Source, Status};

/// Subcategories of a category, each with a description template (`{}` = the place).
pub fn subcategories(c: Category) -> &'static [(&'static str, &'static str)] {
    match c {
        Category::Dispute => &[
            (
                "邻里纠纷",
                "{}居民反映邻里因噪音和公共空间使用发生纠纷，请求调解",
            ),
            ("婚姻家庭纠纷", "{}一户家庭矛盾激化，需社区介入调解"),
            ("劳资纠纷", "{}务工人员反映工资被拖欠"),
            ("物业纠纷", "{}业主与物业因收费问题发生争执"),
        ],
        Category::CityManagement => &[
            ("垃圾堆放", "{}空地垃圾堆积，气味难闻，请尽快清运"),
            ("占道经营", "{}路边摊贩占道经营，影响通行"),
            ("违章搭建", "{}发现疑似违章搭建"),
            ("积水内涝", "{}道路积水严重，车辆行人难以通行"),
            ("路灯损坏", "{}路灯不亮，夜间出行不便"),
        ],
        Category::SafetyHazard => &[
            ("消防通道堵塞", "{}消防通道被车辆和杂物堵塞"),
            ("电动车违规充电", "{}楼道内飞线给电动车充电"),
            ("危房隐患", "{}老旧房屋墙体开裂，存在倒塌隐患"),
            ("燃气隐患", "{}闻到燃气异味，请排查"),
        ],
        Category::FoodSafety => &[
            ("无证经营", "{}发现无证餐饮摊点"),
            ("过期食品", "{}商店销售过期食品"),
            ("卫生不达标", "{}餐馆后厨卫生状况差"),
        ],
        Category::Environment => &[
            ("噪音扰民", "{}夜间施工噪音扰民"),
            ("污水排放", "{}有污水直排河道"),
            ("焚烧垃圾", "{}有人露天焚烧垃圾，烟雾较大"),
            ("河道漂浮物", "{}河道漂浮物较多，需打捞"),
        ],
        Category::ForestFire => &[
            ("野外用火", "{}山上有人烧草木灰，存在火灾风险"),
            ("祭扫用火", "{}墓地祭扫燃放鞭炮烧纸"),
            ("烟点报告", "{}山林方向发现烟点"),
        ],
        Category::PublicService => &[
            ("社保医保咨询", "{}居民咨询医保报销事宜"),
            ("困难救助", "{}困难家庭申请临时救助"),
            ("供水停水", "{}停水超过一天，请尽快恢复"),
            ("养老服务", "{}独居老人需要上门服务"),
        ],
        Category::PublicOrder => &[
            ("可疑人员", "{}发现可疑人员多次出入"),
            ("打架斗殴", "{}夜间有人聚集斗殴"),
            ("电信诈骗", "{}居民反映接到诈骗电话"),
        ],
        Category::Traffic => &[
            ("违规停车", "{}车辆乱停乱放，堵塞道路"),
            ("道路破损", "{}路面坑洼破损，易发事故"),
            ("信号灯故障", "{}路口信号灯故障"),
        ],
        Category::Other => &[
            ("意见建议", "{}居民对社区建设提出建议"),
            ("其他事项", "{}其他需要协调的事项"),
        ],
    }
}

const SURNAMES: &[&str] = &[
    "林", "陈", "黄", "郑", "吴", "李", "王", "张", "刘", "许", "蔡", "方", "杨", "朱", "余", "徐",
];
const GIVEN: &[&str] = &[
    "志", "国", "华", "明", "建", "丽", "秀", "文", "伟", "芳", "强", "敏", "荣", "金", "玉", "海",
];

/// A reporter for a source: a person's name for people, a channel for feeds.
pub fn reporter(source: Source, pick: u64) -> String {
    let s = SURNAMES[(pick % SURNAMES.len() as u64) as usize];
    let g1 = GIVEN[((pick >> 8) % GIVEN.len() as u64) as usize];
    let g2 = GIVEN[((pick >> 16) % GIVEN.len() as u64) as usize];
    match source {
        Source::GridWorker => format!("网格员{s}{g1}{g2}"),
        Source::UnitHead => format!("单元长{s}{g1}"),
        Source::Patrol => [
            "城管局巡查",
            "市场监管局巡查",
            "生态环境局巡查",
            "应急局巡查",
        ][((pick >> 24) % 4) as usize]
            .to_string(),
        Source::Hotline => "12345热线".to_string(),
        Source::Police => "110转办".to_string(),
        Source::Petition => format!("信访人{s}某"),
        Source::QrScan => format!("居民{s}{g1}（扫码）"),
        Source::Iot => format!("传感器{s}{g1}"),
    }
}

/// Who moves an event into a status.
pub fn actor(to: Status) -> &'static str {
    match to {
        Status::Accepted | Status::Dispatched | Status::Closed | Status::Rejected => "镇街综治中心",
        Status::InProgress | Status::Resolved => "职能部门",
        Status::Verified => "网格员",
        Status::Reported => "上报人",
    }
}
