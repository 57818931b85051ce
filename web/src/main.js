// The map client: one MapLibre map over onemap's tiles, a search box, a side panel for the
// selected area, a layer switcher, a light/dark switch, the "which grid is this?" tool, and the
// 事件, 消防 and 渔船 panels (src/events.js, src/fire/, src/vessels/).
// Everything it loads comes from the server that served this page (see web/README.md).

import { Map as MapLibreMap, NavigationControl, ScaleControl, AttributionControl, FullscreenControl, setWorkerUrl } from 'maplibre-gl';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import 'maplibre-gl/dist/maplibre-gl.css';
import './style.css';

import { areaDetail, assignPoint, checkSignedIn } from './api.js';
import { LEVELS, LEVEL_NAMES, clickLevel } from './levels.js';
import { createPanel } from './panel.js';
import { createSearch } from './search.js';
import { createLayerSwitcher } from './layers.js';
import { createEvents } from './events.js';
import { createFire } from './fire/index.js';
import { createVessels } from './vessels/index.js';
import { showStatus } from './status.js';
import { CITY_CODE } from './screen/model.js';
import { renderUserBox, requireUser } from './session.js';

setWorkerUrl(new URL(workerUrl, window.location.href).href);

// Who is signed in, before anything asks for data or tiles; not signed in: the login page (and
// nothing below runs).
const user = await requireUser().catch((e) => {
  showStatus(`无法确认登录状态：${e.message}`, 'error', { timeoutMs: 0 });
  return new Promise(() => {});
});
renderUserBox(document.getElementById('userbox'), user);

const THEMES = ['light', 'dark'];
const EMPTY = { type: 'FeatureCollection', features: [] };
const params = new URLSearchParams(window.location.search);
const testMode = params.get('test') === '1';
// Whether the link names a view (#zoom/lat/lon): read before the map writes its own hash.
const linkedView = /^#\d/.test(window.location.hash);

const state = {
  theme: THEMES.includes(params.get('style')) ? params.get('style') : localStorage.getItem('onemap.theme') || 'light',
  shown: new Set(LEVELS),
  labels: true,
  selection: EMPTY, // GeoJSON of the selected area (or the grid found by the tool)
  probe: EMPTY, // the point the grid tool was used on
  selectedCode: null,
  assignMode: false,
  home: null, // the area the map opens on: the user's scope (the city for a city-wide user)
};
if (!THEMES.includes(state.theme)) state.theme = 'light';

/** Root-relative URLs in the styles resolve against this page; see web/README.md ("Styles"). */
function transformRequest(url) {
  const resolved = new URL(url, window.location.href);
  // Event tiles carry the 事件 panel's category and time window (src/events.js).
  return { url: events ? events.tileUrl(resolved.href) : resolved.href };
}

/** The events, fire and vessel panels; created below, once the map exists. */
let events = null;
let fire = null;
let vessels = null;

const map = new MapLibreMap({
  container: 'map',
  hash: true,
  center: [119.01, 25.45],
  zoom: 9,
  maxZoom: 19,
  minZoom: 5,
  attributionControl: false,
  transformRequest,
  // CJK glyphs are never fetched: MapLibre draws them in the browser from local fonts (for our
  // stacks: the stack's name, then sans-serif; this list serves the default stack). Our glyph
  // PBFs (/fonts/) hold the rest: digits, Latin, punctuation.
  localIdeographFontFamily: '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif',
  canvasContextAttributes: { antialias: true, preserveDrawingBuffer: testMode },
  locale: {
    'NavigationControl.ZoomIn': '放大',
    'NavigationControl.ZoomOut': '缩小',
    'FullscreenControl.Enter': '全屏',
    'FullscreenControl.Exit': '退出全屏',
    'AttributionControl.ToggleAttribution': '数据来源',
    'ScaleControl.Meters': '米',
    'ScaleControl.Kilometers': '公里',
  },
  dragRotate: false,
  pitchWithRotate: false,
  touchPitch: false,
});
map.touchZoomRotate.disableRotation();
map.addControl(new NavigationControl({ showCompass: false }), 'bottom-right');
map.addControl(new ScaleControl({ unit: 'metric', maxWidth: 120 }), 'bottom-left');
map.addControl(new AttributionControl({ compact: true }), 'bottom-right');
map.addControl(homeControl(), 'bottom-right');
// Wall screens: the map alone, full screen (the browser's own fullscreen, nothing fetched).
map.addControl(new FullscreenControl(), 'bottom-right');

// For people debugging in the console, and for the browser test.
// `started` turns true once the first view (city or linked area) is set.
window.onemap = { map, state, started: false, select: (code, opts) => selectArea(code, opts) };

map.on('error', (e) => {
  const msg = e?.error?.message || String(e?.error || e);
  console.error(`map error: ${msg}`);
  // A tile refused with 401: the session is gone (signed out elsewhere, expired).
  if (e?.error?.status === 401) checkSignedIn();
  const what = e?.sourceId ? `图层数据（${e.sourceId}）` : '地图资源';
  showStatus(`${what}加载失败：${msg}`, 'error');
});

function styleUrl(theme) {
  return `/styles/${theme}.json`;
}

/** Carries the client's state (selection, visibility) into a freshly loaded style. */
function decorate(_previous, next) {
  let style = structuredClone(next);
  if (fire) style = fire.decorate(style);
  if (vessels) style = vessels.decorate(style);
  if (style.sources.selection) style.sources.selection.data = state.selection;
  if (style.sources.probe) style.sources.probe.data = state.probe;
  for (const layer of style.layers) {
    const visible = layerVisible(layer);
    if (visible === null) continue;
    layer.layout = { ...(layer.layout || {}), visibility: visible ? 'visible' : 'none' };
  }
  return style;
}

/** Whether a style layer should show, or null for layers the switcher does not govern. */
function layerVisible(layer) {
  const group = layer.metadata?.['onemap:group'];
  if (!group) return null;
  if (group === 'events') return events ? events.layerVisible(layer) : false;
  if (group === 'fire') return fire ? fire.layerVisible(layer) : false;
  if (group === 'vessels') return vessels ? vessels.layerVisible(layer) : false;
  if (!state.shown.has(group)) return false;
  if (layer.type === 'symbol') return state.labels;
  return true;
}

function applyVisibility() {
  const style = map.getStyle();
  if (!style) return;
  for (const layer of style.layers) {
    const visible = layerVisible(layer);
    if (visible === null) continue;
    map.setLayoutProperty(layer.id, 'visibility', visible ? 'visible' : 'none');
  }
  updateInfo();
}

function setTheme(theme) {
  if (!THEMES.includes(theme)) return;
  state.theme = theme;
  document.body.dataset.theme = theme;
  localStorage.setItem('onemap.theme', theme);
  for (const b of document.querySelectorAll('[data-theme-choice]')) {
    b.setAttribute('aria-pressed', String(b.dataset.themeChoice === theme));
  }
  updateUrl();
  map.setStyle(styleUrl(theme), { transformStyle: decorate });
}

document.body.dataset.theme = state.theme;
for (const b of document.querySelectorAll('[data-theme-choice]')) {
  b.setAttribute('aria-pressed', String(b.dataset.themeChoice === state.theme));
  b.addEventListener('click', () => setTheme(b.dataset.themeChoice));
}

function updateUrl() {
  const url = new URL(window.location.href);
  url.searchParams.set('style', state.theme);
  if (state.selectedCode) url.searchParams.set('area', state.selectedCode);
  else url.searchParams.delete('area');
  events?.writeParams(url);
  fire?.writeParams(url);
  vessels?.writeParams(url);
  // Keep the hash: MapLibre owns it (zoom/lat/lon).
  window.history.replaceState(window.history.state, '', url.pathname + url.search + window.location.hash);
}

function setSourceData(id, data) {
  const source = map.getSource(id);
  if (source) source.setData(data);
}

// --- selection ---------------------------------------------------------------------------

const panel = createPanel(document.getElementById('panel'), {
  onSelect: (code) => selectArea(code, { fly: true }),
  onZoomTo: (bbox) => flyToBbox(bbox),
  onClose: () => clearSelection(),
});

let selectSeq = 0;

/**
 * Selects an area: outlines it on the map, opens its panel, keeps it in the URL.
 * `fly` moves the map to its bounding box.
 */
async function selectArea(code, { fly = false } = {}) {
  const seq = ++selectSeq;
  state.selectedCode = code;
  state.probe = EMPTY;
  setSourceData('probe', EMPTY);
  updateUrl();
  panel.loading(code);
  try {
    const detail = await areaDetail(code, { geometry: true });
    if (seq !== selectSeq) return null;
    state.selection = detail.geometry
      ? { type: 'Feature', properties: { code: detail.code }, geometry: detail.geometry }
      : EMPTY;
    setSourceData('selection', state.selection);
    panel.showArea(detail);
    fire?.areaSelected(detail);
    if (fly && detail.bbox) flyToBbox(detail.bbox);
    return detail;
  } catch (e) {
    if (seq !== selectSeq) return null;
    panel.showError(`无法读取区域 ${code}：${e.message}`);
    return null;
  }
}

function clearSelection() {
  selectSeq++;
  state.selectedCode = null;
  state.selection = EMPTY;
  state.probe = EMPTY;
  setSourceData('selection', EMPTY);
  setSourceData('probe', EMPTY);
  panel.hide();
  updateUrl();
}

function flyToBbox(bbox) {
  const [w, s, e, n] = bbox;
  // Keep the area clear of the sidebar: beside it on wide screens, below it on narrow ones; and
  // clear of the 消防 or 渔船 panel on the right while one is open.
  const side = document.querySelector('.sidebar').getBoundingClientRect();
  const narrow = window.innerWidth < 720;
  const rightPanel = ['fire-panel', 'vessels-panel'].map((id) => document.getElementById(id)).find((p) => !p.hidden);
  const right = rightPanel ? Math.min(window.innerWidth - rightPanel.getBoundingClientRect().left + 30, window.innerWidth / 3) : 60;
  const padding = narrow
    ? { top: Math.min(side.bottom + 20, window.innerHeight * 0.7), bottom: 70, left: 30, right: 30 }
    : { top: 60, bottom: 60, left: Math.min(side.right + 40, window.innerWidth / 2), right };
  map.fitBounds(
    [
      [w, s],
      [e, n],
    ],
    { padding, maxZoom: 17, duration: testMode ? 0 : 900 },
  );
}

// --- the grid tool -----------------------------------------------------------------------

const assignButton = document.getElementById('btn-assign');
const toolHint = document.getElementById('tool-hint');

function setAssignMode(on) {
  // One map tool at a time: the 最近水源 tool goes off (and takes its crosshair) first.
  if (on) fire?.stopTool();
  state.assignMode = on;
  assignButton.setAttribute('aria-pressed', String(on));
  toolHint.hidden = !on;
  map.getCanvas().classList.toggle('crosshair', on);
}
assignButton.addEventListener('click', () => setAssignMode(!state.assignMode));

let assignSeq = 0;

async function assignAt(lngLat) {
  const seq = ++assignSeq;
  selectSeq++;
  const lon = Number(lngLat.lng.toFixed(7));
  const lat = Number(lngLat.lat.toFixed(7));
  state.probe = { type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [lon, lat] } };
  setSourceData('probe', state.probe);
  state.selectedCode = null;
  state.selection = EMPTY;
  setSourceData('selection', EMPTY);
  updateUrl();
  panel.loading(`${lon.toFixed(6)}, ${lat.toFixed(6)}`);
  try {
    const answer = await assignPoint(lon, lat);
    if (seq !== assignSeq) return;
    panel.showAssignment(answer, [lon, lat]);
    const grid = answer.assigned ? answer.grid : answer.nearest?.grid;
    if (grid?.code) {
      const detail = await areaDetail(grid.code, { geometry: true });
      if (seq !== assignSeq) return;
      state.selection = { type: 'Feature', properties: { code: detail.code }, geometry: detail.geometry };
      setSourceData('selection', state.selection);
    }
  } catch (e) {
    if (seq !== assignSeq) return;
    panel.showError(`网格查询失败：${e.message}`);
  }
}

// --- map interaction ---------------------------------------------------------------------

function labelLayerIds() {
  return LEVELS.map((l) => `${l}-label`).filter((id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none');
}

/** The area a click at `point` means: a label under the cursor first, else the polygon of the click level. */
function areaAt(point) {
  const labels = labelLayerIds();
  if (labels.length) {
    const hit = map.queryRenderedFeatures(point, { layers: labels })[0];
    if (hit?.properties?.code) return { code: String(hit.properties.code), level: hit.properties.level };
  }
  const level = clickLevel(map.getZoom(), state.shown);
  if (!level || !map.getLayer(`${level}-hover`)) return null;
  const hit = map.queryRenderedFeatures(point, { layers: [`${level}-hover`] })[0];
  if (!hit?.properties?.code) return null;
  return { code: String(hit.properties.code), level, feature: hit };
}

map.on('click', (e) => {
  if (state.assignMode) {
    assignAt(e.lngLat);
    return;
  }
  if (fire.handleClick(e)) return;
  if (vessels.handleClick(e)) return;
  if (events.handleClick(e)) return;
  const area = areaAt(e.point);
  if (area) selectArea(area.code);
  else clearSelection();
});

let hovered = null; // { source, sourceLayer, id } of the area under the cursor

/** The feature-state target of a feature hit on a style layer (sources are the style's business). */
function stateTarget(layerId, code) {
  const layer = map.getLayer(layerId);
  return layer ? { source: layer.source, sourceLayer: layer.sourceLayer, id: code } : null;
}

function setHover(next) {
  const same = hovered && next && hovered.source === next.source && hovered.id === next.id;
  if (hovered && !same) {
    if (map.getSource(hovered.source)) map.setFeatureState(hovered, { hover: false });
    hovered = null;
  }
  if (next && !same) {
    map.setFeatureState(next, { hover: true });
    hovered = next;
  }
}

map.on('mousemove', (e) => {
  if (state.assignMode || fire.nearest.active) {
    setHover(null);
    return;
  }
  const level = clickLevel(map.getZoom(), state.shown);
  const layer = level && `${level}-hover`;
  const hit = layer && map.getLayer(layer) ? map.queryRenderedFeatures(e.point, { layers: [layer] })[0] : null;
  const code = hit?.properties?.code;
  setHover(code ? stateTarget(layer, String(code)) : null);
  map.getCanvas().style.cursor = code ? 'pointer' : '';
  const words = code ? events.describeArea(level, code) : null;
  if (words !== hoverWords) {
    hoverWords = words;
    updateInfo();
  }
});
map.on('mouseout', () => setHover(null));

let hoverWords = null; // the choropleth's count for the area under the cursor

// --- info line -----------------------------------------------------------------------------

const info = document.getElementById('map-info');
function updateInfo() {
  const level = clickLevel(map.getZoom(), state.shown);
  const parts = [`缩放 ${map.getZoom().toFixed(1)}`];
  if (level) parts.push(`点击选取：${LEVEL_NAMES[level]}`);
  if (hoverWords) parts.push(hoverWords);
  info.textContent = parts.join(' · ');
}
map.on('zoom', updateInfo);
map.on('load', updateInfo);

// --- controls ------------------------------------------------------------------------------

function homeControl() {
  const container = document.createElement('div');
  container.className = 'maplibregl-ctrl maplibregl-ctrl-group';
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'home-button';
  // 全市 for a city-wide user, 辖区 (the scope) for everyone else.
  const cityWide = user.scope === CITY_CODE;
  const label = cityWide ? '全市视图' : `${user.scope_name || '辖区'}全域`;
  button.title = label;
  button.setAttribute('aria-label', label);
  button.textContent = cityWide ? '全市' : '辖区';
  button.addEventListener('click', () => {
    if (state.home?.bbox) flyToBbox(state.home.bbox);
  });
  container.append(button);
  return { onAdd: () => container, onRemove: () => container.remove() };
}

createSearch({
  input: document.getElementById('search'),
  list: document.getElementById('search-results'),
  onPick: (area) => selectArea(area.code, { fly: true }),
});

events = createEvents({
  map,
  button: document.getElementById('btn-events'),
  panel: document.getElementById('events-panel'),
  params,
  onLayers: () => applyVisibility(),
  onUrl: () => updateUrl(),
});
window.onemap.events = events;

const eventsButton = document.getElementById('btn-events');
const eventsPanel = document.getElementById('events-panel');
fire = createFire({
  map,
  button: document.getElementById('btn-fire'),
  panel: document.getElementById('fire-panel'),
  hint: document.getElementById('fire-hint'),
  params,
  theme: () => state.theme,
  onLayers: () => applyVisibility(),
  onUrl: () => updateUrl(),
  onZoomTo: (bbox) => flyToBbox(bbox),
  onToolChange: (on) => {
    if (on && state.assignMode) setAssignMode(false);
  },
  // The 事件, 消防 and 渔船 panels share the corner under the toolbar: opening one hides the others.
  onOpen: () => {
    hideEventsPanel();
    vessels?.hidePanel();
  },
});
window.onemap.fire = fire;

function hideEventsPanel() {
  if (eventsPanel.hidden) return;
  eventsPanel.hidden = true;
  eventsButton.setAttribute('aria-expanded', 'false');
}

vessels = createVessels({
  map,
  button: document.getElementById('btn-vessels'),
  panel: document.getElementById('vessels-panel'),
  params,
  theme: () => state.theme,
  onLayers: () => applyVisibility(),
  onUrl: () => updateUrl(),
  onOpen: () => {
    hideEventsPanel();
    fire.hidePanel();
  },
});
eventsButton.addEventListener('click', () => {
  if (eventsPanel.hidden) return;
  fire.hidePanel();
  vessels.hidePanel();
});
window.onemap.vessels = vessels;

createLayerSwitcher({
  button: document.getElementById('btn-layers'),
  popover: document.getElementById('layers-popover'),
  list: document.getElementById('layer-list'),
  state,
  onChange: () => applyVisibility(),
});

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') {
    if (state.assignMode) setAssignMode(false);
  } else if (e.key === '/' && document.activeElement?.tagName !== 'INPUT') {
    e.preventDefault();
    document.getElementById('search').focus();
  }
});

// --- start ---------------------------------------------------------------------------------

// The first style goes through decorate too, so later loads and the first one behave alike.
map.setStyle(styleUrl(state.theme), { transformStyle: decorate });

async function start() {
  try {
    state.home = await areaDetail(user.scope);
  } catch (e) {
    showStatus(`无法读取辖区信息：${e.message}`, 'error');
  }
  const homeName = state.home?.name || user.scope_name || '';
  document.getElementById('city-name').textContent = homeName;
  if (homeName) document.title = `一张图 · ${homeName}`;
  const hasView = linkedView;
  const wanted = params.get('area');
  const linkedArea = wanted && /^\d+$/.test(wanted);
  if (linkedArea) {
    await selectArea(wanted, { fly: !hasView });
  } else if (!hasView && state.home?.bbox) {
    map.fitBounds(
      [
        [state.home.bbox[0], state.home.bbox[1]],
        [state.home.bbox[2], state.home.bbox[3]],
      ],
      { padding: 40, duration: 0 },
    );
  }
  // A link with ?fire=CODE opens the 消防 panel; it flies there only if the link names no view.
  fire.startFromUrl({ fly: !hasView && !linkedArea });
  // ?vessels=1 opens the 渔船 panel, ?vessel=MMSI a boat's card (flying to it unless the link names a view).
  vessels.startFromUrl({ fly: !hasView && !linkedArea });
}

start().finally(() => {
  window.onemap.started = true;
});
