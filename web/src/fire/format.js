// The 消防 panel's pure parts: Chinese labels of the fire vocabulary (docs/FIRE.md), distances,
// bearings as 方位, areas in 亩, shares, times in Beijing time, the heritage sites grouped by
// protection level and the alert list merged with what the stream brings. No DOM and no map, so
// test/fire-format.test.mjs checks them in Node.

export const TZ = 'Asia/Shanghai';

/** Dongyang village (东阳村, 拱辰街道): the demo's heritage cluster, the panel's default area. */
export const DEFAULT_AREA = '350304002205';

/** Radii the panel offers (metres); the API's default is 150 (10…1000 allowed). */
export const RADII_M = [100, 150, 200, 300, 500];
export const DEFAULT_RADIUS_M = 150;

/** Protection levels of heritage sites, highest first: the order of the panel's groups. */
export const HERITAGE_LEVELS = [
  ['national', '全国重点'],
  ['provincial', '省级'],
  ['municipal', '市级'],
  ['county', '县级'],
];
export const HERITAGE_LEVEL_LABELS = Object.fromEntries(HERITAGE_LEVELS);

export const SENSOR_STATES = [
  ['alarm', '报警'],
  ['silent', '失联'],
  ['unknown', '未知'],
  ['normal', '正常'],
];
export const SENSOR_STATE_LABELS = Object.fromEntries(SENSOR_STATES);

export const SENSOR_TYPE_LABELS = { smoke: '烟感', temperature: '温感', current: '电气火灾', water_level: '水位' };
export const SENSOR_UNITS = { smoke: '', temperature: '°C', current: 'mA', water_level: 'm' };

export const ASSET_KIND_LABELS = { heritage: '文物保护单位', hydrant: '消火栓', water: '天然水源', station: '消防站', sensor: '传感器' };

export const ALERT_KIND_LABELS = {
  fire_near_heritage: '文物周边火情',
  sensor_alarm: '传感器报警',
  sensor_silent: '传感器失联',
  water_level: '水位超限',
  hydrant_unavailable: '消火栓不可用',
};

/** Square metres in one 亩 (10,000 / 15). */
export const M2_PER_MU = 10000 / 15;

const numberFormat = new Intl.NumberFormat('zh-CN');
const oneDecimal = new Intl.NumberFormat('zh-CN', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** A distance in metres as shown: "86 米" below a kilometre, "1.25 公里" from there; "—" if unknown. */
export function formatDistance(m) {
  const v = Number(m);
  if (m === null || m === undefined || m === '' || !Number.isFinite(v)) return '—';
  if (v < 1000) return `${numberFormat.format(Math.round(v))} 米`;
  return `${(v / 1000).toFixed(2)} 公里`;
}

const COMPASS = ['北', '东北', '东', '东南', '南', '西南', '西', '西北'];

/**
 * A bearing (degrees clockwise from north) as 方位 text: "东北 42°"; "—" if unknown. The point of
 * the compass is the server's `direction` when it sends one (it names the unrounded bearing), else
 * the nearest of eight.
 */
export function bearingText(deg, direction) {
  const v = Number(deg);
  if (deg === null || deg === undefined || deg === '' || !Number.isFinite(v)) return '—';
  let d = Math.round(((v % 360) + 360) % 360);
  if (d === 360) d = 0;
  return `${direction || COMPASS[Math.round(d / 45) % 8]} ${d}°`;
}

/** Square metres as shown: "320 m²" below one 亩, else "12.5 亩"; "—" if unknown. */
export function formatArea(m2) {
  const v = Number(m2);
  if (m2 === null || m2 === undefined || m2 === '' || !Number.isFinite(v)) return '—';
  if (v < M2_PER_MU) return `${numberFormat.format(Math.round(v))} m²`;
  return `${oneDecimal.format(v / M2_PER_MU)} 亩`;
}

/**
 * A share (0…1, the covered part of the built-up area) as a percentage: "87.5%". Values above 1
 * are taken as already in percent, so either reading of the contract shows the same text.
 */
export function formatShare(share) {
  if (share === null || share === undefined || share === '' || !Number.isFinite(Number(share))) return '—';
  return `${oneDecimal.format(shareFraction(share) * 100)}%`;
}

/** A share as a fraction 0…1 (values above 1 read as percent), clamped: also the bars' width. */
export function shareFraction(share) {
  const v = Number(share);
  if (!Number.isFinite(v)) return 0;
  return Math.min(1, Math.max(0, v > 1 ? v / 100 : v));
}

const timeParts = new Intl.DateTimeFormat('zh-CN', {
  timeZone: TZ,
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

/** MM-DD HH:MM:SS in Beijing time, whatever the machine's zone; "—" if unparseable. */
export function formatTime(when) {
  if (!when) return '—';
  const t = when instanceof Date ? when : new Date(when);
  if (Number.isNaN(t.getTime())) return '—';
  const p = Object.fromEntries(timeParts.formatToParts(t).map((x) => [x.type, x.value]));
  const hour = p.hour === '24' ? '00' : p.hour;
  return `${p.month}-${p.day} ${hour}:${p.minute}:${p.second}`;
}

/** A sensor's last value with its unit: "62.5 °C"; "—" if none. */
export function formatReading(value, type) {
  const v = Number(value);
  if (value === null || value === undefined || value === '' || !Number.isFinite(v)) return '—';
  const unit = SENSOR_UNITS[type] || '';
  const text = Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/0$/, '');
  return unit ? `${text} ${unit}` : text;
}

/**
 * The coverage answer's sites grouped by protection level, highest level first; sites of an
 * unknown level last under 其他. Within a group: uncovered first (they need attention), then by
 * name. Empty levels are kept, so the panel shows 0 for them.
 */
export function groupSitesByLevel(sites) {
  const groups = HERITAGE_LEVELS.map(([level, label]) => ({ level, label, sites: [] }));
  const other = { level: 'other', label: '其他', sites: [] };
  for (const s of sites || []) (groups.find((g) => g.level === s.level) || other).sites.push(s);
  if (other.sites.length) groups.push(other);
  const byCover = (a, b) => Number(Boolean(a.covered)) - Number(Boolean(b.covered)) || String(a.name).localeCompare(String(b.name), 'zh-CN');
  for (const g of groups) {
    g.sites.sort(byCover);
    g.covered = g.sites.filter((s) => s.covered).length;
  }
  return groups;
}

/** Sensors counted by state, in the panel's order (alarm first); unknown states count as 未知. */
export function countSensorStates(sensors) {
  const counts = Object.fromEntries(SENSOR_STATES.map(([s]) => [s, 0]));
  for (const s of sensors || []) counts[s.state in counts ? s.state : 'unknown']++;
  return counts;
}

/** Sensors ordered for the list: alarm, silent, unknown, normal; then by name. */
export function sortSensors(sensors) {
  const rank = Object.fromEntries(SENSOR_STATES.map(([s], i) => [s, i]));
  const r = (s) => rank[s.state] ?? rank.unknown;
  return [...(sensors || [])].sort((a, b) => r(a) - r(b) || String(a.name).localeCompare(String(b.name), 'zh-CN'));
}

function raisedMs(a) {
  const t = new Date(a?.raised_at).getTime();
  return Number.isNaN(t) ? 0 : t;
}

/**
 * The alert list after `incoming` arrived (from the list endpoint or the stream): one entry per
 * id, the incoming version replacing the held one, newest raised first (ties: higher id first).
 */
export function mergeAlerts(held, incoming) {
  const byId = new Map((held || []).map((a) => [String(a.id), a]));
  for (const a of incoming || []) {
    if (a && a.id !== undefined && a.id !== null) byId.set(String(a.id), { ...byId.get(String(a.id)), ...a });
  }
  return [...byId.values()].sort((a, b) => raisedMs(b) - raisedMs(a) || Number(b.id) - Number(a.id));
}

/** Whether an alert is still open (not acknowledged). */
export function alertOpen(a) {
  return !a?.acked_at;
}

/** Whether an alert belongs to the area `code` (its village's code starts with it). */
export function alertInArea(a, code) {
  const v = a?.village?.code;
  return !code || (typeof v === 'string' && v.startsWith(String(code)));
}

/** The kind of a nearest-water answer in Chinese: the server's kind_name, else ours. */
export function waterKindText(w) {
  return w?.kind_name || ASSET_KIND_LABELS[w?.kind] || w?.kind || '—';
}

/** Earth's equatorial radius (WGS84, metres): the Web Mercator world's scale. */
const EARTH_RADIUS_M = 6378137;
/** MapLibre's world is 512 px wide at zoom 0. */
const WORLD_PX = 512;

/** Screen pixels per `metres` at `lat` and `zoom` in Web Mercator (MapLibre's 512 px tiles). */
export function metresToPixels(metres, lat, zoom) {
  const metresPerPixel = (2 * Math.PI * EARTH_RADIUS_M * Math.cos((lat * Math.PI) / 180)) / (WORLD_PX * 2 ** zoom);
  return metres / metresPerPixel;
}
