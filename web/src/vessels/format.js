// The 渔船 panel's pure parts: Chinese labels of the vessel vocabulary (docs/VESSELS.md), speeds,
// courses, ages, the boats held by the page merged with what the stream brings, their GeoJSON,
// counts per state, the boat search, and the event list. No DOM and no map, so
// test/vessels-format.test.mjs checks them in Node. Times and 方位 are the 消防 panel's.

import { bearingText, formatTime } from '../fire/format.js';

export { formatTime };

/** States in the legend's order (docs/VESSELS.md, "States"); `unknown` boats have no position. */
export const VESSEL_STATES = [
  ['in_port', '在港'],
  ['at_sea', '在航'],
  ['fishing', '作业'],
  ['dark', '失联'],
  ['lost', '信号丢失'],
  ['unknown', '未知'],
];
export const VESSEL_STATE_LABELS = Object.fromEntries(VESSEL_STATES);

/** The alert kinds of the vessel engine; the stream's `alert` frames of other kinds are the 消防 panel's. */
export const VESSEL_ALERT_KINDS = {
  closure_departure: '封港期间出港',
  closure_at_sea: '封港时未回港',
  dark_at_sea: '海上失联',
  zone_entry: '闯入禁航区',
};

export const VESSEL_EVENT_TYPES = {
  port_entry: '进港',
  port_exit: '出港',
  stop_start: '停泊开始',
  stop_end: '停泊结束',
  gap: '港内信号中断',
  dark: '海上失联',
  lost: '信号丢失',
  found: '信号恢复',
};

export const HARBOUR_KIND_LABELS = { harbour: '渔港', anchorage: '锚地' };

export const SOURCE_LABELS = { ais: 'AIS', beidou: '北斗', manual: '人工' };

/** How many events the list keeps (the first read asks for as many). */
export const EVENTS_MAX = 50;

const numberFormat = new Intl.NumberFormat('zh-CN');
const isNum = (v) => v !== null && v !== undefined && v !== '' && Number.isFinite(Number(v));

/** A state the legend knows, else `unknown`. */
export function stateOf(v) {
  return VESSEL_STATE_LABELS[v?.state] ? v.state : 'unknown';
}

/** The state in Chinese: the server's `state_name`, else ours. */
export function stateText(v) {
  return v?.state_name || VESSEL_STATE_LABELS[stateOf(v)];
}

/** AIS class: "A 类" / "B 类"; "—" if unknown. */
export function classText(c) {
  return c === 'A' || c === 'B' ? `${c} 类` : '—';
}

/** Speed over ground in knots: "4.2 节"; "—" if not available. */
export function formatSpeed(kn) {
  if (!isNum(kn)) return '—';
  return `${Number(kn).toFixed(1)} 节`;
}

/** Course over ground as 方位: "东北 45°"; "—" if not available. */
export function formatCourse(deg) {
  return bearingText(deg);
}

/** A boat's length: "12.5 米"; "—" if unknown. */
export function formatLength(m) {
  if (!isNum(m)) return '—';
  const v = Number(m);
  return `${Number.isInteger(v) ? v : v.toFixed(1)} 米`;
}

/**
 * An age in seconds in Chinese: "刚刚" under 10 s, "35 秒前", "12 分钟前", "3 小时 5 分钟前",
 * "2 天 4 小时前"; "—" if unknown.
 */
export function formatAge(seconds) {
  if (!isNum(seconds)) return '—';
  const s = Math.max(0, Math.floor(Number(seconds)));
  if (s < 10) return '刚刚';
  if (s < 60) return `${s} 秒前`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} 分钟前`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} 小时 ${m % 60} 分钟前` : `${h} 小时前`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} 天 ${h % 24} 小时前` : `${d} 天前`;
}

/** A duration in seconds: "45 分钟", "3 小时 20 分钟", "2 天 3 小时"; "—" if unknown. */
export function formatDuration(seconds) {
  if (!isNum(seconds)) return '—';
  const m = Math.floor(Math.max(0, Number(seconds)) / 60);
  if (m < 60) return `${m} 分钟`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} 小时 ${m % 60} 分钟` : `${h} 小时`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} 天 ${h % 24} 小时` : `${d} 天`;
}

/**
 * A position's age in seconds at `now`: the server's `age_s` (its fleet clock, which a replayed
 * feed sets, decides the states) plus the time since the answer was received (`receivedAt`);
 * without those, the seconds since `at`; null if neither is known.
 */
export function ageSeconds(at, ageS, now = Date.now(), receivedAt = null) {
  if (isNum(ageS) && isNum(receivedAt)) return Math.max(0, Number(ageS) + (now - Number(receivedAt)) / 1000);
  const t = at ? new Date(at).getTime() : NaN;
  if (Number.isFinite(t)) return Math.max(0, (now - t) / 1000);
  return isNum(ageS) ? Number(ageS) : null;
}

/** A position time with its age: "05-01 08:30:12（3 分钟前）"; "—" if none. */
export function positionTimeText(at, ageS, now = Date.now(), receivedAt = null) {
  if (!at && !isNum(ageS)) return '—';
  const age = formatAge(ageSeconds(at, ageS, now, receivedAt));
  return at ? `${formatTime(at)}（${age}）` : age;
}

/** A name and code object ({code|id, name}) as text; "—" if none. */
export function placeText(p) {
  if (!p) return '—';
  if (typeof p === 'string') return p;
  return p.name || p.code || p.id || '—';
}

/** The owner: "林某某 · 138****5678"; "—" if none. The phone comes masked from the server. */
export function ownerText(owner) {
  if (!owner) return '—';
  return [owner.name, owner.phone].filter(Boolean).join(' · ') || '—';
}

/** The current trip: "05-01 05:12:00 自 黄石渔港 出港（3 小时前）"; "无当前航次" without one. */
export function tripText(trip, now = Date.now()) {
  if (!trip) return '无当前航次';
  const from = trip.from?.name ? ` 自 ${trip.from.name}` : '';
  return `${formatTime(trip.departed_at)}${from} 出港（${formatAge(ageSeconds(trip.departed_at, null, now))}）`;
}

/** A boat's display name: its name, else 未命名. */
export function boatName(v) {
  return (v?.name || '').trim() || '未命名';
}

function atMs(v) {
  const t = v?.at ? new Date(v.at).getTime() : NaN;
  return Number.isFinite(t) ? t : -Infinity;
}

/**
 * Whether `incoming` should replace `held` for the same boat: a newer position always; an
 * older one never (a list read before a stream frame must not undo it); the same position when
 * `sameReplaces` (the stream's frames are newer news: a state that changed without a position,
 * lost or dark).
 */
export function newerBoat(held, incoming, { sameReplaces = true } = {}) {
  if (!held) return true;
  const a = atMs(held);
  const b = atMs(incoming);
  if (b !== a) return b > a;
  return sameReplaces;
}

/** The map's feature of a boat (id = MMSI as a number, for updateData), or null without a position. */
export function boatFeature(v) {
  if (!v || !isNum(v.lon) || !isNum(v.lat)) return null;
  const state = stateOf(v);
  return {
    type: 'Feature',
    id: Number(v.mmsi),
    properties: {
      mmsi: String(v.mmsi),
      name: boatName(v),
      state,
      class: v.class || '',
      speed_kn: isNum(v.speed_kn) ? Number(v.speed_kn) : null,
      course: isNum(v.course) ? Number(v.course) : null,
      stopped: Boolean(v.stopped),
      // Boats that need attention are drawn on top.
      rank: { dark: 5, lost: 4, fishing: 3, at_sea: 2, in_port: 1 }[state] || 0,
    },
    geometry: { type: 'Point', coordinates: [Number(v.lon), Number(v.lat)] },
  };
}

/** The boats' FeatureCollection (boats without a position are left out). */
export function boatsCollection(boats) {
  const features = [];
  for (const v of boats) {
    const f = boatFeature(v);
    if (f) features.push(f);
  }
  return { type: 'FeatureCollection', features };
}

/** Boats counted by state, every state of the legend present (0 if none). */
export function countStates(boats) {
  const counts = Object.fromEntries(VESSEL_STATES.map(([s]) => [s, 0]));
  for (const v of boats) counts[stateOf(v)]++;
  return counts;
}

/** The API's `counts` with every state of the legend present; unknown states count as 未知. */
export function normaliseCounts(counts) {
  const out = Object.fromEntries(VESSEL_STATES.map(([s]) => [s, 0]));
  for (const [k, n] of Object.entries(counts || {})) out[VESSEL_STATE_LABELS[k] ? k : 'unknown'] += Number(n) || 0;
  return out;
}

/**
 * The boats matching a search: MMSI prefix, or name containing the text (case-insensitive);
 * exact MMSI first, then by name. At most `limit`.
 */
export function matchBoats(boats, query, limit = 20) {
  const q = String(query || '').trim().toLowerCase();
  if (!q) return [];
  const hits = [];
  for (const v of boats) {
    const mmsi = String(v.mmsi);
    const name = String(v.name || '').toLowerCase();
    const call = String(v.call_sign || '').toLowerCase();
    if (mmsi.startsWith(q) || name.includes(q) || (call && call.includes(q))) hits.push(v);
  }
  const rank = (v) => (String(v.mmsi) === q ? 0 : String(v.name || '').toLowerCase() === q ? 1 : 2);
  hits.sort((a, b) => rank(a) - rank(b) || String(a.name || '').localeCompare(String(b.name || ''), 'zh-CN') || String(a.mmsi).localeCompare(String(b.mmsi)));
  return hits.slice(0, limit);
}

/** Whether an alert (a stream `alert` frame or a list row) is one of the vessel engine's. */
export function isVesselAlert(a) {
  return Boolean(a && Object.hasOwn(VESSEL_ALERT_KINDS, a.kind));
}

function eventMs(e) {
  const t = new Date(e?.at).getTime();
  return Number.isNaN(t) ? 0 : t;
}

/** The event list after `incoming` arrived: one per id, newest first (ties: higher id), at most `max`. */
export function mergeEvents(held, incoming, max = EVENTS_MAX) {
  const byId = new Map((held || []).map((e) => [String(e.id), e]));
  for (const e of incoming || []) if (e && e.id !== undefined && e.id !== null) byId.set(String(e.id), e);
  return [...byId.values()].sort((a, b) => eventMs(b) - eventMs(a) || Number(b.id) - Number(a.id)).slice(0, max);
}

/** An event type in Chinese: the server's `type_name`, else ours. */
export function eventTypeText(e) {
  return e?.type_name || VESSEL_EVENT_TYPES[e?.type] || e?.type || '—';
}

/** Harbours for the table: the busiest (boats registered there) first, then by name. */
export function sortHarbours(harbours) {
  return [...(harbours || [])].sort((a, b) => (Number(b.home) || 0) - (Number(a.home) || 0) || (Number(b.in_port) || 0) - (Number(a.in_port) || 0) || String(a.name).localeCompare(String(b.name), 'zh-CN'));
}

/** A harbour's count as shown: the number, "—" if missing. */
export function countText(n) {
  return isNum(n) ? numberFormat.format(Number(n)) : '—';
}

/** The text of a track's extent: "24 小时轨迹 · 138 点"; "—" if none. */
export function trackText(track) {
  const coords = track?.geometry?.coordinates;
  if (!Array.isArray(coords) || !coords.length) return '近 24 小时无轨迹';
  const points = track.properties?.points;
  return `近 24 小时轨迹 · ${numberFormat.format(coords.length)} 个顶点${isNum(points) && Number(points) !== coords.length ? `（原始 ${numberFormat.format(Number(points))} 点）` : ''}`;
}
