// The event filter as the server takes it, and the choropleth's classes: pure functions, no DOM
// and no map, so they are tested in Node (test/events.test.mjs). Used by src/events.js.

/** Time windows offered; `days` counts today. */
export const WINDOWS = [
  { id: '7d', days: 7, label: '近7天' },
  { id: '30d', days: 30, label: '近30天' },
  { id: '90d', days: 90, label: '近90天' },
  { id: '365d', days: 365, label: '近一年' },
  { id: 'custom', label: '自定义' },
];
export const DEFAULT_WINDOW = '30d';

/** Dates are the city's dates (China Standard Time), whatever the browser's time zone. */
export const TZ = 'Asia/Shanghai';

/** Classes of the choropleth besides "no events" (CHOROPLETH_CLASSES in scripts/styles.mjs). */
export const CLASSES = 5;

/** Today's date in the city, YYYY-MM-DD. */
export function todayInCity(now = new Date()) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/** `date` (YYYY-MM-DD) moved by `n` days. */
export function addDays(date, n) {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

export const isDate = (s) => typeof s === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s);

/**
 * The query parameters of a filter, as the event tiles and the stats endpoints take them:
 * `category`, and `from`/`to` as dates. A window of N days starts N-1 days before today and is
 * open at the end; a custom pair sends both dates as picked.
 */
export function eventQuery(filter, today = todayInCity()) {
  const q = {};
  if (filter.category) q.category = filter.category;
  if (filter.window === 'custom') {
    if (isDate(filter.from)) q.from = filter.from;
    if (isDate(filter.to)) q.to = filter.to;
  } else {
    const w = WINDOWS.find((x) => x.id === filter.window) || WINDOWS.find((x) => x.id === DEFAULT_WINDOW);
    q.from = addDays(today, 1 - w.days);
  }
  return q;
}

export const queryString = (q) => new URLSearchParams(q).toString();

/**
 * Upper bounds of the choropleth classes: quantiles of the non-zero counts, at most `n` classes,
 * strictly increasing (equal quantiles merge), the last one the largest count.
 */
export function classBounds(counts, n = CLASSES) {
  const xs = counts.filter((c) => c > 0).sort((a, b) => a - b);
  const bounds = [];
  for (let k = 1; k <= n && xs.length; k++) {
    const b = xs[Math.min(xs.length - 1, Math.ceil((k * xs.length) / n) - 1)];
    if (!bounds.length || b > bounds[bounds.length - 1]) bounds.push(b);
  }
  return bounds;
}

/** The palette index (feature-state `bucket`) of class `i` of `n`: spread over 1..CLASSES. */
export function paletteIndex(i, n) {
  return n <= 1 ? CLASSES : 1 + Math.round((i * (CLASSES - 1)) / (n - 1));
}

/** The feature-state `bucket` of a count: 0 for none, else its class's palette index. */
export function bucketOf(count, bounds) {
  if (!(count > 0) || !bounds.length) return 0;
  const i = bounds.findIndex((b) => count <= b);
  return paletteIndex(i === -1 ? bounds.length - 1 : i, bounds.length);
}

