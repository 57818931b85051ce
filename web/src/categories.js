// The events' vocabulary in Chinese: the ten categories (src/events/model.rs), statuses, sources
// and priorities. Shared by the map client, the big screen, the profile and the ledger pages
// (which must not pull MapLibre in through events.js).

/** The ten categories (src/events/model.rs), code → label, in the style's colour order. */
export const CATEGORIES = [
  ['dispute', '矛盾纠纷'],
  ['city_management', '城市管理'],
  ['safety_hazard', '安全隐患'],
  ['food_safety', '食品安全'],
  ['environment', '生态环境'],
  ['forest_fire', '森林防火'],
  ['public_service', '民生服务'],
  ['public_order', '社会治安'],
  ['traffic', '交通'],
  ['other', '其他'],
];

export const CATEGORY_LABELS = Object.fromEntries(CATEGORIES);

export const STATUS_LABELS = {
  reported: '已上报',
  accepted: '已受理',
  dispatched: '已派遣',
  in_progress: '处置中',
  resolved: '已处置',
  verified: '已核查',
  closed: '已结案',
  rejected: '不予受理',
};

export const SOURCE_LABELS = {
  grid_worker: '网格员',
  unit_head: '单元长',
  patrol: '部门巡查',
  hotline: '12345热线',
  police: '110非警务警情',
  petition: '信访',
  qr_scan: '扫码上报',
};

export const PRIORITY_LABELS = {
  low: '低',
  normal: '普通',
  high: '高',
  urgent: '紧急',
};
