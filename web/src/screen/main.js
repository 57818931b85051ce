// The command centre's big screen (/screen, /screen/{code}): a dark map with the event heat of
// the scope, KPI cards fed only by the live stream (docs/STREAM.md), ECharts charts refreshed
// from the API when events arrive, a ticker of the latest events, flashes where new events are
// reported, and a rotating focus over the scope's children for unattended walls.
// Designed on a 1920×1080 canvas and scaled to any wall (see model.js, stageFor).

import { Map as MapLibreMap, setWorkerUrl } from 'maplibre-gl';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import 'maplibre-gl/dist/maplibre-gl.css';
import './screen.css';

import { checkSignedIn } from '../api.js';
import { el } from '../dom.js';
import { renderUserBox, requireUser } from '../session.js';
import { CATEGORIES, SOURCE_LABELS, STATUS_LABELS } from '../events.js';
import { areaDetail, latestEvents, statsAreas, statsTop, statsTrend } from './api.js';
import { OPTIONS, createCharts } from './charts.js';
import { openStream } from './stream.js';
import {
  LEVEL_NAMES,
  backoffMs,
  REFRESH_MIN_MS,
  TICKER_MAX,
  WINDOW_DAYS,
  cardsFor,
  childLevel,
  clockText,
  formatHours,
  formatInt,
  formatPercent,
  indicatorText,
  placeOf,
  rotateSeconds,
  scopeFromLocation,
  shortTime,
  stageFor,
  windowFrom,
} from './model.js';

setWorkerUrl(new URL(workerUrl, window.location.href).href);

const CATEGORY_LABELS = Object.fromEntries(CATEGORIES);
const TOPICS = ['events', 'kpi'];
const EMPTY = { type: 'FeatureCollection', features: [] };
const FLASH_MS = 4000;
const FLASH_MAX = 40;
const HEAT_REFRESH_MS = 5 * 60_000;
const params = new URLSearchParams(window.location.search);
const testMode = params.get('test') === '1';
const $ = (id) => document.getElementById(id);

const state = {
  code: scopeFromLocation(window.location.pathname, window.location.search),
  area: null, // {code, name, level, bbox, chain}
  from: windowFrom(WINDOW_DAYS),
  childLevel: null,
  childStats: new Map(), // code → /api/stats/areas row (30 days), for the focus caption
  rotate: rotateSeconds(window.location.search),
  focus: null, // code of the focused child, or null
  lastRefresh: 0,
  refreshTimer: null,
  refreshing: null,
  chartsDrawn: false,
  flashing: 0, // flashes on the map now
  flashed: 0, // flashes started since the page loaded
  eventsSinceHeat: false,
  heatAt: Date.now(),
  mapIdle: false,
  stage: stageFor(window.innerWidth, window.innerHeight),
};

const screen = {
  map: null,
  charts: {},
  state,
  ready: false,
  readyMs: null,
  kpi: null,
  streamState: 'stale',
  reloadMarker: Math.random().toString(36).slice(2) + Date.now().toString(36),
  lastFrameAt: null,
  heartbeatS: null, // from the stream's hello
};
window.onemapScreen = screen;

function fail(message) {
  const box = $('sc-error');
  box.textContent = message;
  box.hidden = false;
}

// --- the stage: design pixels scaled to the viewport ----------------------------------------------

const pixelRatio = () => (window.devicePixelRatio || 1) * state.stage.scale;

function applyStage() {
  state.stage = stageFor(window.innerWidth, window.innerHeight);
  const { scale, width, height } = state.stage;
  const stage = $('stage');
  stage.style.width = `${width}px`;
  stage.style.height = `${height}px`;
  stage.style.transform = `scale(${scale})`;
}
applyStage();

// --- header ------------------------------------------------------------------------------------

function tickClock() {
  const c = clockText();
  $('sc-date').textContent = c.date;
  $('sc-time').textContent = c.time;
}
tickClock();
setInterval(tickClock, 1000);

function renderIndicator() {
  const box = $('sc-indicator');
  box.dataset.state = screen.streamState;
  $('sc-indicator-text').textContent = indicatorText(screen.streamState, screen.lastFrameAt);
}

// --- KPI cards (the stream only) -------------------------------------------------------------------

const cards = cardsFor(TOPICS);
$('sc-kpis').replaceChildren(
  ...cards.map((c) =>
    el(
      'div',
      { class: 'sc-kpi', dataset: { kpi: c.id, tone: c.tone || '' } },
      el('div', { class: 'sc-kpi-label' }, c.label),
      el('div', { class: 'sc-kpi-figure' }, el('span', { class: 'sc-kpi-value' }, '—'), el('span', { class: 'sc-kpi-unit' }, c.unit)),
    ),
  ),
);

function renderKpi(kpi) {
  for (const c of cards) {
    const card = document.querySelector(`.sc-kpi[data-kpi="${c.id}"]`);
    const valueEl = card.querySelector('.sc-kpi-value');
    const v = c.value(kpi);
    const text = c.format(v);
    const raw = v === null || v === undefined ? '' : String(v);
    if (card.dataset.value !== undefined && card.dataset.value !== raw) {
      valueEl.classList.add('sc-bump');
      setTimeout(() => valueEl.classList.remove('sc-bump'), 1200);
    }
    card.dataset.value = raw;
    valueEl.textContent = text;
  }
}

// --- ticker -------------------------------------------------------------------------------------

const ticker = $('sc-ticker');
const tickerRows = new Map(); // event id → <li>

function eventRow(e, fresh) {
  const status = e.status || '';
  return el(
    'li',
    { class: fresh ? 'sc-new' : '', dataset: { id: String(e.id) } },
    el('span', { class: 'sc-tk-time' }, shortTime(e.reported_at)),
    el('span', { class: 'sc-tk-place' }, placeOf(e)),
    el('span', { class: 'sc-tk-cat' }, e.category_label || e.category_name || CATEGORY_LABELS[e.category] || e.category || '事件'),
    el('span', { class: 'sc-tk-status', dataset: { status } }, e.status_label || e.status_name || STATUS_LABELS[status] || status || '—'),
  );
}

const TICKER_ROW_PX = 38; // .sc-ticker li height in screen.css

/** The ticker shows whole rows only: its height is cut to a multiple of the row height. */
function fitTicker() {
  ticker.style.maxHeight = '';
  const h = ticker.clientHeight;
  ticker.style.maxHeight = `${Math.max(TICKER_ROW_PX, Math.floor(h / TICKER_ROW_PX) * TICKER_ROW_PX)}px`;
}

function trimTicker() {
  while (ticker.children.length > TICKER_MAX) {
    const last = ticker.lastElementChild;
    tickerRows.delete(last.dataset.id);
    last.remove();
  }
  $('sc-ticker-count').textContent = `最近 ${tickerRows.size} 条`;
}

function setTicker(events) {
  tickerRows.clear();
  const rows = events.slice(0, TICKER_MAX).map((e) => {
    const row = eventRow(e, false);
    tickerRows.set(String(e.id), row);
    return row;
  });
  ticker.replaceChildren(...(rows.length ? rows : [el('li', { class: 'sc-empty' }, '暂无事件')]));
  trimTicker();
}

/** Stream events: new reports go on top; a listed event that changed is redrawn in place. */
function tickerUpdate(events) {
  for (const e of events) {
    const id = String(e.id);
    const existing = tickerRows.get(id);
    if (existing) {
      const row = eventRow(e, false);
      existing.replaceWith(row);
      tickerRows.set(id, row);
    } else if (e.kind === 'reported') {
      ticker.querySelector('.sc-empty')?.remove();
      const row = eventRow(e, true);
      ticker.prepend(row);
      tickerRows.set(id, row);
    }
  }
  trimTicker();
}

async function loadTicker() {
  const body = await latestEvents(state.code, TICKER_MAX);
  setTicker(Array.isArray(body?.events) ? body.events : []);
}

// --- charts -------------------------------------------------------------------------------------

const charts = createCharts(
  {
    trend: $('chart-trend'),
    categories: $('chart-categories'),
    sources: $('chart-sources'),
    closure: $('chart-closure'),
    villages: $('chart-villages'),
  },
  pixelRatio(),
);
screen.charts = charts.charts;

/** Fetches every chart's data and draws them; resolves when all have finished drawing. */
async function refreshCharts() {
  state.lastRefresh = Date.now();
  state.from = windowFrom(WINDOW_DAYS);
  const from = state.from;
  const area = state.code;
  const rankLevel = state.area?.level === 'village' ? 'grid' : 'village';
  const [trend, top, children] = await Promise.all([
    statsTrend({ area, from }),
    statsTop({ level: rankLevel, area, from, limit: 10 }),
    state.childLevel ? statsAreas({ level: state.childLevel, parent: area, from }) : Promise.resolve({ areas: [] }),
  ]);
  const childRows = Array.isArray(children?.areas) ? children.areas : [];
  state.childStats = new Map(childRows.map((a) => [String(a.code), a]));
  // Lowest closure rate first (what a command centre acts on); as many bars as the strip holds
  // at about 30 design px each (all of them on a wide wall).
  const byRate = childRows.slice().sort((a, b) => (a.closure_rate ?? 0) - (b.closure_rate ?? 0) || b.count - a.count);
  const fits = Math.max(8, Math.floor($('chart-closure').clientWidth / 30));
  const shown = byRate.slice(0, fits);
  $('sc-closure-note').textContent = shown.length < byRate.length ? `近${WINDOW_DAYS}天 · 最低${shown.length}个（共${byRate.length}个）` : `近${WINDOW_DAYS}天`;
  // Every source's count, from the same answer as the rankings, in the vocabulary's order (so
  // each source keeps its colour).
  const bySource = new Map((Array.isArray(top?.sources) ? top.sources : []).map((r) => [r.code, Number(r.count) || 0]));
  const srcRows = Object.entries(SOURCE_LABELS)
    .map(([code, name]) => ({ name, value: bySource.get(code) || 0 }))
    .filter((r) => r.value > 0);
  const named = (rows) => (Array.isArray(rows) ? rows : []).map((r) => ({ name: r.name || CATEGORY_LABELS[r.code] || r.code, value: r.count }));
  await Promise.all([
    charts.set('trend', OPTIONS.trend(Array.isArray(trend?.buckets) ? trend.buckets : Array.isArray(trend) ? trend : [])),
    charts.set('categories', OPTIONS.ranking(named(top?.categories).slice(0, 10), '#35d0ff')),
    charts.set('villages', OPTIONS.ranking(named(top?.areas).slice(0, 10), '#ffc53d')),
    charts.set('sources', OPTIONS.sources(srcRows)),
    charts.set('closure', OPTIONS.closure(shown)),
  ]);
}

/** Charts again (the ticker follows the stream), at most every REFRESH_MIN_MS while events arrive. */
function scheduleRefresh() {
  if (state.refreshTimer) return;
  const wait = Math.max(0, state.lastRefresh + REFRESH_MIN_MS - Date.now());
  state.refreshTimer = setTimeout(() => {
    state.refreshTimer = null;
    refreshAll().catch((e) => console.warn(`screen: refresh failed: ${e.message}`));
  }, wait);
}

async function refreshAll({ ticker: withTicker = false } = {}) {
  if (state.refreshing) {
    await state.refreshing.catch(() => {});
  }
  const dayChanged = state.from !== windowFrom(WINDOW_DAYS);
  state.refreshing = Promise.all([refreshCharts(), withTicker ? loadTicker() : null]);
  try {
    await state.refreshing;
  } finally {
    state.refreshing = null;
  }
  // The heat follows new events too, but tiles are costlier than charts: every 5 minutes at most.
  const heatDue = state.eventsSinceHeat && Date.now() - state.heatAt >= HEAT_REFRESH_MS;
  if (withTicker || dayChanged || heatDue) {
    state.eventsSinceHeat = false;
    state.heatAt = Date.now();
    refreshHeat();
  }
}

// --- the map ------------------------------------------------------------------------------------

/** Event tile requests carry the scope and the 30-day window (as the charts). */
function eventQuery() {
  return new URLSearchParams({ from: state.from, area: state.code }).toString();
}

function transformRequest(url) {
  const resolved = new URL(url, window.location.href).href;
  const m = /^(.*\/tiles\/events(?:\.json|\/\d+\/\d+\/\d+(?:\.[a-z]+)?)?)(\?.*)?$/.exec(resolved);
  return { url: m ? `${m[1]}?${eventQuery()}` : resolved };
}

function refreshHeat() {
  const map = screen.map;
  const source = map?.getSource('events');
  if (!source || !Array.isArray(source.tiles)) return;
  source.setTiles(source.tiles.map((t) => `${t.split('?')[0]}?${eventQuery()}`));
}

/** The dark style with the event heat shown and the screen's own sources and layers. */
function screenStyle(style) {
  const s = structuredClone(style);
  for (const layer of s.layers) {
    if (layer.id === 'events-heat' || layer.id === 'events-point') layer.layout = { ...(layer.layout || {}), visibility: 'visible' };
    else if (layer.metadata?.['onemap:group'] === 'events') layer.layout = { ...(layer.layout || {}), visibility: 'none' };
  }
  s.sources.scope = { type: 'geojson', data: EMPTY };
  s.sources.mask = { type: 'geojson', data: EMPTY };
  s.sources.flash = { type: 'geojson', data: EMPTY };
  const before = s.layers.findIndex((l) => l.id === 'events-heat');
  const scopeLayers = [
    { id: 'scope-mask', type: 'fill', source: 'mask', paint: { 'fill-color': '#020b18', 'fill-opacity': 0.55 } },
    { id: 'scope-glow', type: 'line', source: 'scope', paint: { 'line-color': '#35d0ff', 'line-width': 8, 'line-opacity': 0.18, 'line-blur': 4 } },
    { id: 'scope-line', type: 'line', source: 'scope', paint: { 'line-color': '#35d0ff', 'line-width': 2, 'line-opacity': 0.9 } },
  ];
  s.layers.splice(before < 0 ? s.layers.length : before, 0, ...scopeLayers);
  s.layers.push(
    {
      id: 'flash-ring',
      type: 'circle',
      source: 'flash',
      paint: {
        'circle-radius': ['get', 'r'],
        'circle-color': 'rgba(0,0,0,0)',
        'circle-stroke-color': '#ff5a4d',
        'circle-stroke-width': 3,
        'circle-stroke-opacity': ['get', 'a'],
      },
    },
    {
      id: 'flash-dot',
      type: 'circle',
      source: 'flash',
      paint: { 'circle-radius': 6, 'circle-color': '#ffd0c2', 'circle-opacity': ['get', 'a'], 'circle-blur': 0.3 },
    },
  );
  return s;
}

/** Everything but the scope (the world with the scope's outer rings as holes), to dim it. */
function maskOf(geometry) {
  const polygons = geometry?.type === 'Polygon' ? [geometry.coordinates] : geometry?.type === 'MultiPolygon' ? geometry.coordinates : [];
  if (!polygons.length) return EMPTY;
  const world = [
    [-180, -85],
    [180, -85],
    [180, 85],
    [-180, 85],
    [-180, -85],
  ];
  // MapLibre tells holes from outer rings by winding: holes must turn against the world ring.
  const area2 = (ring) => ring.reduce((a, [x1, y1], i) => {
    const [x2, y2] = ring[(i + 1) % ring.length];
    return a + (x1 * y2 - x2 * y1);
  }, 0);
  const holes = polygons.map((p) => (area2(p[0]) > 0 ? p[0].slice().reverse() : p[0]));
  return { type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [world, ...holes] } };
}

function boundsOf(bbox) {
  const [w, s, e, n] = bbox;
  return [
    [w, s],
    [e, n],
  ];
}

function mapPadding() {
  return { top: 50, bottom: 50, left: 50, right: 50 };
}

function createMap(style, area) {
  const map = new MapLibreMap({
    container: 'sc-map',
    style: screenStyle(style),
    bounds: area?.bbox ? boundsOf(area.bbox) : undefined,
    fitBoundsOptions: { padding: mapPadding() },
    center: area?.bbox ? undefined : [119.01, 25.45],
    zoom: area?.bbox ? undefined : 9,
    maxZoom: 18,
    minZoom: 5,
    pixelRatio: pixelRatio(),
    maxCanvasSize: [16384, 16384],
    attributionControl: false,
    transformRequest,
    localIdeographFontFamily: '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif',
    canvasContextAttributes: { antialias: true, preserveDrawingBuffer: testMode },
    interactive: false,
    fadeDuration: 0,
  });
  map.on('error', (e) => {
    const msg = e?.error?.message || String(e?.error || e);
    console.error(`map error: ${msg}`);
    // A tile refused with 401: the session is gone (signed out elsewhere, expired).
    if (e?.error?.status === 401) checkSignedIn();
  });
  return map;
}

// --- flashes of new reports -------------------------------------------------------------------------

const flashes = []; // {lon, lat, t0}
let flashFrame = null;

function flash(e) {
  const lon = Number(e.lon);
  const lat = Number(e.lat);
  if (!Number.isFinite(lon) || !Number.isFinite(lat)) return;
  flashes.push({ lon, lat, t0: performance.now() });
  state.flashed += 1;
  while (flashes.length > FLASH_MAX) flashes.shift();
  if (!flashFrame) flashFrame = requestAnimationFrame(animateFlashes);
}

function animateFlashes(now) {
  flashFrame = null;
  const map = screen.map;
  while (flashes.length && now - flashes[0].t0 > FLASH_MS) flashes.shift();
  const features = flashes.map((f) => {
    const t = Math.min(1, Math.max(0, (now - f.t0) / FLASH_MS));
    const phase = (t * 3) % 1; // three rings per flash
    return {
      type: 'Feature',
      properties: { r: 6 + phase * 44, a: (1 - phase) * (1 - t * 0.5) },
      geometry: { type: 'Point', coordinates: [f.lon, f.lat] },
    };
  });
  map?.getSource('flash')?.setData({ type: 'FeatureCollection', features });
  state.flashing = features.length;
  if (flashes.length) flashFrame = requestAnimationFrame(animateFlashes);
}

// --- rotating focus ------------------------------------------------------------------------------

let rotation = { children: [], index: -1, timer: null };

/** The children to cycle through: those of the scope's child level with events in the window. */
function focusChildren() {
  return [...state.childStats.values()]
    .filter((a) => a.code)
    .map((a) => ({ code: String(a.code), name: a.name }))
    .sort((x, y) => x.code.localeCompare(y.code));
}

function hideFocus() {
  state.focus = null;
  $('sc-focus').hidden = true;
  screen.map?.getSource('selection')?.setData(EMPTY);
}

function showCaption(child) {
  const s = state.childStats.get(child.code) || {};
  const row = (k, v) => [el('dt', {}, k), el('dd', {}, v)];
  $('sc-focus-level').textContent = `${LEVEL_NAMES[state.childLevel] || ''} · 近${WINDOW_DAYS}天`;
  $('sc-focus-name').textContent = child.name || child.code;
  $('sc-focus-figures').replaceChildren(
    ...row('事件', `${formatInt(s.count ?? 0)} 件`),
    ...row('办理中', `${formatInt(s.open ?? 0)} 件`),
    ...row('超期', `${formatInt(s.overdue ?? 0)} 件`),
    ...row('结案率', s.closure_rate === undefined || s.closure_rate === null ? '—' : `${formatPercent(s.closure_rate)}%`),
    ...row('平均办理时长', s.avg_handling_hours === undefined || s.avg_handling_hours === null ? '—' : `${formatHours(s.avg_handling_hours)} 小时`),
  );
  $('sc-focus').dataset.code = child.code;
  $('sc-focus').hidden = false;
}

async function rotateStep() {
  const map = screen.map;
  // The list follows the statistics (refreshed with the charts).
  const fresh = focusChildren();
  if (fresh.length) rotation.children = fresh;
  const { children } = rotation;
  // One step beyond the last child is the whole scope again.
  rotation.index = (rotation.index + 1) % (children.length + 1);
  if (rotation.index === children.length) {
    hideFocus();
    if (state.area?.bbox) map.fitBounds(boundsOf(state.area.bbox), { padding: mapPadding(), duration: 2500 });
    return;
  }
  const child = children[rotation.index];
  try {
    const detail = await areaDetail(child.code, true);
    state.focus = child.code;
    map.getSource('selection')?.setData(detail.geometry ? { type: 'Feature', properties: { code: child.code }, geometry: detail.geometry } : EMPTY);
    if (detail.bbox) map.fitBounds(boundsOf(detail.bbox), { padding: mapPadding(), duration: 2500, maxZoom: 15 });
    showCaption({ code: child.code, name: detail.name || child.name });
  } catch (e) {
    console.warn(`screen: focus on ${child.code} failed: ${e.message}`);
  }
}

function startRotation() {
  if (!(state.rotate > 0) || !state.childLevel) return;
  rotation.children = focusChildren();
  if (!rotation.children.length) return;
  rotation.timer = setInterval(() => rotateStep(), state.rotate * 1000);
  rotateStep();
}

// --- the stream -------------------------------------------------------------------------------

function startStream() {
  openStream({
    topics: TOPICS,
    area: state.code,
    onState(next, lastFrameAt) {
      screen.streamState = next;
      screen.lastFrameAt = lastFrameAt;
      renderIndicator();
    },
    handlers: {
      hello(h) {
        screen.heartbeatS = Number(h?.heartbeat_s) || null;
      },
      // After a reconnect the server replays what was missed (`events`), or sends `reset`.
      reset() {
        // Before the first load has drawn, that load is the fresh copy.
        if (!state.chartsDrawn) return;
        refreshAll({ ticker: true }).catch((e) => console.warn(`screen: refresh after reset failed: ${e.message}`));
      },
      kpi(k) {
        screen.kpi = k;
        renderKpi(k);
      },
      events(body) {
        const events = Array.isArray(body?.events) ? body.events : [];
        if (!events.length) return;
        tickerUpdate(events);
        for (const e of events) if (e.kind === 'reported') flash(e);
        state.eventsSinceHeat = true;
        scheduleRefresh();
      },
      heartbeat() {},
    },
  });
}

// --- start ---------------------------------------------------------------------------------------

function markReady() {
  if (screen.ready || !state.mapIdle || !state.chartsDrawn) return;
  screen.readyMs = Math.round(performance.now());
  screen.ready = true;
  document.body.dataset.ready = 'true';
  startRotation();
}

/** Scope, map, charts and ticker; a part already done is not done again when retried. */
async function load() {
  if (!screen.map) await loadScope();
  if (!state.chartsDrawn) {
    await Promise.all([
      refreshCharts().then(() => {
        state.chartsDrawn = true;
        markReady();
      }),
      loadTicker(),
    ]);
  }
}

async function loadScope() {
  const [style, area] = await Promise.all([
    fetch('/styles/dark.json').then((r) => {
      if (!r.ok) throw new Error(`地图样式加载失败（${r.status}）`);
      return r.json();
    }),
    areaDetail(state.code, true),
  ]);
  state.area = area;
  state.childLevel = childLevel(area.level);
  const chain = (Array.isArray(area.chain) ? area.chain : []).map((a) => a.name).filter(Boolean);
  const title = `${area.name} 一张图 指挥中心`;
  $('sc-title').textContent = title;
  document.title = title;
  $('sc-subtitle').textContent = [chain.length ? chain.join(' · ') : null, '网格化服务管理 · 事件态势'].filter(Boolean).join('　');
  const childWord = LEVEL_NAMES[state.childLevel] || '下级区域';
  $('sc-closure-title').firstChild.textContent = `结案率 · 按${childWord}`;
  if (area.level === 'village') $('sc-villages-title').firstChild.textContent = '事件高发网格';

  const map = createMap(style, area);
  screen.map = map;
  map.once('load', () => {
    map.getSource('scope')?.setData(area.geometry ? { type: 'Feature', properties: {}, geometry: area.geometry } : EMPTY);
    map.getSource('mask')?.setData(maskOf(area.geometry));
    map.once('idle', () => {
      state.mapIdle = true;
      markReady();
    });
  });
}

/** Loads the page; an unattended wall retries (1 s doubling to 30 s) instead of giving up. */
let bootAttempt = 0;
function boot() {
  load()
    .then(() => {
      $('sc-error').hidden = true;
    })
    .catch((e) => {
      const wait = backoffMs(bootAttempt++);
      console.warn(`screen: loading failed: ${e.message}`);
      fail(`大屏加载失败：${e.message}（${Math.round(wait / 1000)} 秒后重试）`);
      setTimeout(boot, wait);
    });
}

let resizeTimer = null;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    applyStage();
    fitTicker();
    screen.map?.setPixelRatio(pixelRatio());
    screen.map?.resize();
    charts.rescale(pixelRatio());
  }, 100);
});

// Day rollover: the window moves on (heat and charts), even with no event arriving.
setInterval(() => {
  if (state.from !== windowFrom(WINDOW_DAYS)) scheduleRefresh();
}, 60_000);

/**
 * Who is signed in (not signed in: the login page). `/screen` shows the user's own scope. An
 * unreachable server is retried like the loading itself: a wall is unattended.
 */
async function signIn() {
  for (let attempt = 0; ; attempt++) {
    try {
      const user = await requireUser();
      $('sc-error').hidden = true;
      return user;
    } catch (e) {
      const wait = backoffMs(attempt);
      fail(`大屏加载失败：${e.message}（${Math.round(wait / 1000)} 秒后重试）`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

renderIndicator();
fitTicker();
signIn().then((user) => {
  renderUserBox($('sc-user'), user);
  state.code = scopeFromLocation(window.location.pathname, window.location.search, user.scope);
  startStream();
  boot();
});
