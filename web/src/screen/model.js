// The big screen's pure parts: scope from the URL, the stage's scale, the KPI cards, the time
// formats (Beijing time whatever the machine's zone), the staleness rule and the reconnect
// backoff. No DOM and no map, so test/screen.test.mjs can check them in Node.

export const TZ = 'Asia/Shanghai';
export const CITY_CODE = '3503';
/** The design canvas: everything is laid out in these pixels and scaled to the viewport. */
export const DESIGN = { width: 1920, height: 1080 };
/** Window of the heat and the charts, in days (today included). */
export const WINDOW_DAYS = 30;
/** At most this many rows on the ticker. */
export const TICKER_MAX = 20;
/** Charts re-fetch at most this often while events arrive. */
export const REFRESH_MIN_MS = 10_000;
/** Reconnect backoff when the EventSource is closed for good: 1 s doubling to 30 s. */
export const BACKOFF_MIN_MS = 1000;
export const BACKOFF_MAX_MS = 30_000;

/**
 * The scope of the screen from the page's path (and query, for the dev server's /screen.html):
 * `/screen` → `fallback` (the city, or the signed-in user's scope), `/screen/{code}` → that
 * area, `?area=CODE` as a fallback.
 */
export function scopeFromLocation(pathname, search = '', fallback = CITY_CODE) {
  const m = /^\/screen\/(\d{2,20})\/?$/.exec(pathname);
  if (m) return m[1];
  const q = new URLSearchParams(search).get('area');
  if (q && /^\d{2,20}$/.test(q)) return q;
  return fallback || CITY_CODE;
}

/** `?rotate=N` seconds between focus steps; default 30, 0 turns it off. */
export function rotateSeconds(search = '') {
  const v = new URLSearchParams(search).get('rotate');
  if (v === null || v === '') return 30;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : 30;
}

/**
 * The stage for a viewport: scale s = min(w/1920, h/1080) and the stage's size in design pixels
 * (w/s × h/s), so the stage always fills the viewport: a wall wider than 16:9 gets a wider stage
 * (the middle column grows), never letterboxing.
 */
export function stageFor(innerWidth, innerHeight) {
  const w = Math.max(1, innerWidth);
  const h = Math.max(1, innerHeight);
  const scale = Math.min(w / DESIGN.width, h / DESIGN.height);
  return { scale, width: w / scale, height: h / scale };
}

const numberFormat = new Intl.NumberFormat('zh-CN');
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

export const formatInt = (v) => (isNum(v) ? numberFormat.format(Math.round(v)) : '—');
export const formatPercent = (v) => (isNum(v) ? (v * 100).toFixed(1) : '—');
export const formatHours = (v) => (isNum(v) ? v.toFixed(1) : '—');

/**
 * The KPI cards, in order. Data-driven: a card shows when its topic is on the stream; the
 * vessel, fire and alert cards join here when those topics exist (issues #11, #12).
 * `value(kpi)` reads the figure from the stream's `kpi` message (docs/STREAM.md).
 */
export const KPI_CARDS = [
  { id: 'today', topic: 'kpi', label: '今日事件', unit: '件', value: (k) => k?.today, format: formatInt },
  { id: 'open', topic: 'kpi', label: '办理中', unit: '件', value: (k) => k?.open, format: formatInt },
  { id: 'overdue', topic: 'kpi', label: '超期', unit: '件', tone: 'warn', value: (k) => k?.overdue, format: formatInt },
  { id: 'closure_rate', topic: 'kpi', label: '本月结案率', unit: '%', value: (k) => k?.month?.closure_rate, format: formatPercent },
  { id: 'avg_handling_hours', topic: 'kpi', label: '平均办理时长', unit: '小时', value: (k) => k?.month?.avg_handling_hours, format: formatHours },
];

/** The cards to show for the topics the stream carries. */
export function cardsFor(topics) {
  return KPI_CARDS.filter((c) => topics.includes(c.topic));
}

/** Today's date in the city, YYYY-MM-DD. */
export function todayInCity(now = new Date()) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/** `date` (YYYY-MM-DD) moved by `n` days. */
export function addDays(date, n) {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** First day of the window of `days` days ending today (the server's `from`). */
export function windowFrom(days = WINDOW_DAYS, now = new Date()) {
  return addDays(todayInCity(now), 1 - days);
}

const clockParts = new Intl.DateTimeFormat('zh-CN', {
  timeZone: TZ,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  weekday: 'long',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

/** The header clock in Beijing time: {date: '2026年12月02日 星期三', time: '14:05:09'}. */
export function clockText(now = new Date()) {
  const p = Object.fromEntries(clockParts.formatToParts(now).map((x) => [x.type, x.value]));
  const hour = p.hour === '24' ? '00' : p.hour;
  return { date: `${p.year}年${p.month}月${p.day}日 ${p.weekday}`, time: `${hour}:${p.minute}:${p.second}` };
}

/** HH:MM:SS in Beijing time. */
export function timeOfDay(when) {
  const t = when instanceof Date ? when : new Date(when);
  return Number.isNaN(t.getTime()) ? '—' : clockText(t).time;
}

/** MM-DD HH:MM in Beijing time, for the ticker. */
export function shortTime(when) {
  const t = when instanceof Date ? when : new Date(when);
  if (Number.isNaN(t.getTime())) return '—';
  const p = Object.fromEntries(clockParts.formatToParts(t).map((x) => [x.type, x.value]));
  const hour = p.hour === '24' ? '00' : p.hour;
  return `${p.month}-${p.day} ${hour}:${p.minute}`;
}

/** Longest silence (ms) before the stream counts as stale: 2 × heartbeat + 5 s. */
export function staleAfterMs(heartbeatS = 15) {
  const hb = Number(heartbeatS) > 0 ? Number(heartbeatS) : 15;
  return (2 * hb + 5) * 1000;
}

/** The header indicator's text. */
export function indicatorText(streamState, lastFrameAt) {
  if (streamState === 'live') return '实时';
  return lastFrameAt ? `连接中断 · 数据截至 ${timeOfDay(lastFrameAt)}` : '连接中断 · 正在连接…';
}

/** The n-th reconnect delay (n = 0, 1, …): 1 s doubling, at most 30 s. */
export function backoffMs(attempt) {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, Math.min(attempt, 16)));
}

/** The level of the children the focus mode cycles through, for the scope's level. */
export function childLevel(level) {
  return { city: 'town', district: 'town', town: 'village', village: 'grid' }[level] || null;
}

/** The zh-CN word for a level. */
export const LEVEL_NAMES = { city: '市', district: '区县', town: '乡镇（街道）', village: '村（社区）', grid: '网格', unit: '单元' };

/** An event's place for the ticker: village, else town, else district. */
export function placeOf(e) {
  return e?.village?.name || e?.town?.name || e?.district?.name || e?.nearest_grid?.name || '未落图';
}
