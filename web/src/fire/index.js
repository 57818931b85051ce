// The 消防 panel (fire and flood protection, issue #12; contract docs/FIRE.md): for one area (the
// selected village, town or district, else 东阳村) the heritage sites by protection level with their
// hydrant cover, the villages' coverage, isolated hydrants, sensor states, the live alert list,
// the nearest-water tool, and the fire layers on the map with a toggle each. This module wires
// the parts: panel.js (DOM), layers.js (map layers), alerts.js (list and stream), nearest.js
// (the tool), api.js (requests), format.js (pure formatting).

import { areaDetail } from '../api.js';
import { showStatus } from '../status.js';
import { createAlerts } from './alerts.js';
import { fireCoverage, fireSensors } from './api.js';
import { DEFAULT_AREA, DEFAULT_RADIUS_M, RADII_M } from './format.js';
import { GROUP, SOURCES, TOGGLES, decorateStyle, installLayers, layersInstalled, ringRadius } from './layers.js';
import { createNearestTool } from './nearest.js';
import { buildPanel, paintPanel, renderArea, renderError, renderIsolated, renderSensors, renderSites, renderVillages } from './panel.js';

/** Levels whose selection the panel follows (coverage for a grid or unit says little). */
const FOLLOWED_LEVELS = new Set(['district', 'town', 'village']);
/** A view counts as showing the area from this zoom, with its centre inside the area's bbox. */
const SHOWS_AREA_FROM_ZOOM = 12;

/**
 * Builds the panel and wires it to the map. `onLayers` is called when a fire layer is shown or
 * hidden (main.js applies visibility), `onUrl` when the URL should change, `onZoomTo(bbox)` to
 * fly to an area, `onToolChange(on)` when the nearest-water tool turns on (main.js stops its grid
 * tool), `onOpen()` when the panel opens (main.js closes the 事件 panel), `theme()` the style's.
 */
export function createFire({ map, button, panel, hint, params, theme, onLayers, onUrl, onZoomTo, onToolChange, onOpen }) {
  const state = {
    open: false,
    installed: false, // the layers are in the style (from the first opening on)
    area: { code: DEFAULT_AREA, name: null },
    radiusM: DEFAULT_RADIUS_M,
    shown: new Set(TOGGLES.map(([id]) => id)),
    coverage: null, // the answer for area + radius, once read
    coverageKey: null,
    sensors: null,
    bbox: null, // of state.area, once read
  };
  let openAtStart = false;
  readParams(params);
  let loadSeq = 0;

  const badge = document.createElement('span');
  badge.className = 'fire-alert-badge';
  badge.id = 'fire-alert-badge';
  badge.hidden = true;
  button.append(badge);

  const nodes = buildPanel(panel, {
    shown: state.shown,
    radiusM: state.radiusM,
    on: {
      toggle: (id, on) => {
        if (on) state.shown.add(id);
        else state.shown.delete(id);
        onLayers();
        onUrl();
      },
      radius: (m) => setRadius(m),
      locate: () => locate({ always: true }),
      nearestTool: () => nearest.toggle(),
      clearNearest: () => nearest.clear(),
    },
  });
  paintPanel(panel, theme());

  const flyToPoint = (p) => {
    const lon = Number(p.lon);
    const lat = Number(p.lat);
    if (Number.isFinite(lon) && Number.isFinite(lat)) map.flyTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), 17), duration: 900 });
  };

  const alerts = createAlerts({
    nodes,
    onAlert: (a, { live }) => alertArrived(a, live),
    onPoint: flyToPoint,
    onCount: (count) => {
      badge.hidden = !count;
      badge.textContent = count > 99 ? '99+' : String(count);
    },
  });

  const nearest = createNearestTool({ map, nodes, hint, onToolChange, onPoint: flyToPoint });

  // --- opening and the area ------------------------------------------------------------------

  button.addEventListener('click', () => (state.open ? close() : open()));

  function open({ fly = true } = {}) {
    state.open = true;
    panel.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    onOpen();
    install();
    load();
    alerts.start(state.area.code);
    if (fly) locate();
    onUrl();
  }

  /**
   * Hides the panel. The layers stay (as the 事件 panel's do), and so does the alert stream once
   * started: the button's count and the toasts keep the duty officer informed.
   */
  function close() {
    state.open = false;
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    nearest.setActive(false);
    onUrl();
  }

  /** Hides the panel because another one took the corner. */
  function hidePanel() {
    if (state.open) close();
  }

  /** Puts the layers on the map the first time (later styles get them from decorate). */
  function install() {
    if (state.installed) return;
    state.installed = true;
    ensureLayers();
    onLayers();
  }

  /** Adds the layers to the live style if they should be there and are not (yet). */
  function ensureLayers() {
    if (!state.installed || layersInstalled(map)) return;
    try {
      installLayers(map, { theme: theme(), radiusM: state.radiusM, nearest: nearest.data(), visible: layerVisible });
    } catch {
      // The style is still loading ("Style is not done loading", thrown before anything is
      // added): decorate puts the layers into it, or style.load calls this again.
    }
  }

  /** The area the panel shows; `fly` moves the map there when the panel is open. */
  function setArea(code, { name = null, bbox = null, fly = false } = {}) {
    if (!code || code === state.area.code) return;
    state.area = { code: String(code), name };
    state.bbox = bbox;
    state.coverage = null;
    state.coverageKey = null;
    state.sensors = null;
    renderArea(nodes, state.area);
    if (state.open) {
      load();
      if (fly) locate();
    }
    // The alert stream, once started, follows the area (also while the panel is closed).
    if (state.open || alerts.state.code) alerts.start(state.area.code);
    onUrl();
  }

  /** main.js tells of every selection: a village, town or district becomes the panel's area. */
  function areaSelected(detail) {
    if (!detail?.code || !FOLLOWED_LEVELS.has(detail.level)) return;
    setArea(detail.code, { name: detail.name, bbox: detail.bbox || null });
  }

  function setRadius(m) {
    if (!RADII_M.includes(m) || m === state.radiusM) return;
    state.radiusM = m;
    if (map.getLayer('fire-heritage-ring')) map.setPaintProperty('fire-heritage-ring', 'circle-radius', ringRadius(m));
    loadCoverage();
    onUrl();
  }

  /** Flies to the area unless the map shows it already (or `always`). */
  async function locate({ always = false } = {}) {
    const code = state.area.code;
    try {
      if (!state.bbox) {
        const detail = await areaDetail(code);
        if (code !== state.area.code) return;
        state.bbox = detail.bbox || null;
        if (!state.area.name) {
          state.area.name = detail.name;
          renderArea(nodes, state.area);
        }
      }
    } catch (e) {
      showStatus(`无法读取区域 ${code}：${e.message}`, 'error');
      return;
    }
    const b = state.bbox;
    if (!b) return;
    const c = map.getCenter();
    const inView = map.getZoom() >= SHOWS_AREA_FROM_ZOOM && c.lng >= b[0] && c.lng <= b[2] && c.lat >= b[1] && c.lat <= b[3];
    if (always || !inView) onZoomTo(b);
  }

  // --- data -------------------------------------------------------------------------------------

  function load() {
    renderArea(nodes, state.area);
    loadCoverage();
    loadSensors();
  }

  async function loadCoverage() {
    const key = `${state.area.code}|${state.radiusM}`;
    if (state.coverageKey === key && state.coverage) return;
    const seq = ++loadSeq;
    state.coverageKey = key;
    state.coverage = null;
    panel.dataset.coverage = 'loading';
    for (const n of [nodes.sitesGroups, nodes.villagesBody, nodes.isolatedList]) n.replaceChildren();
    nodes.sitesSummary.textContent = '正在计算覆盖…';
    try {
      const answer = await fireCoverage(state.area.code, { radiusM: state.radiusM });
      if (seq !== loadSeq) return;
      state.coverage = answer;
      if (answer?.area?.name && answer.area.code === state.area.code) {
        state.area.name = answer.area.name;
        renderArea(nodes, state.area);
      }
      const handlers = { onSite: flyToPoint, onPoint: flyToPoint, onVillage: (v) => flyToVillage(v) };
      renderSites(nodes, answer, handlers);
      renderVillages(nodes, answer, handlers);
      renderIsolated(nodes, answer, handlers);
      applyCoverState();
      panel.dataset.coverage = key;
    } catch (e) {
      if (seq !== loadSeq) return;
      state.coverageKey = null;
      panel.dataset.coverage = 'error';
      renderError(nodes.sitesSummary, `无法读取覆盖情况：${e.message}`);
    }
  }

  let sensorSeq = 0;
  async function loadSensors() {
    const seq = ++sensorSeq;
    const code = state.area.code;
    try {
      const answer = await fireSensors(code);
      if (seq !== sensorSeq) return;
      state.sensors = answer;
      renderSensors(nodes, answer, { onPoint: flyToPoint });
      applySensorState();
      panel.dataset.sensors = code;
    } catch (e) {
      if (seq !== sensorSeq) return;
      renderError(nodes.sensorList, `无法读取传感器：${e.message}`);
    }
  }

  async function flyToVillage(v) {
    try {
      const detail = await areaDetail(v.code);
      if (detail.bbox) onZoomTo(detail.bbox);
    } catch (e) {
      showStatus(`无法读取区域 ${v.code}：${e.message}`, 'error');
    }
  }

  /** A sensor alarm (live or listed) marks its sensor on the map; a live one re-reads the list. */
  let sensorTimer = null;
  function alertArrived(a, live) {
    if (a.asset_id != null && (a.kind === 'sensor_alarm' || a.kind === 'sensor_silent')) {
      setState('fire-sensors', a.asset_id, { state: a.kind === 'sensor_alarm' ? 'alarm' : 'silent' });
    }
    if (live) {
      showStatus(`新告警：${a.kind_name || ''} ${a.message || ''}`.trim(), 'error');
      clearTimeout(sensorTimer);
      sensorTimer = setTimeout(loadSensors, 500);
    }
  }

  // --- feature-state: the panel's answers over the tiles' ---------------------------------------

  function setState(source, id, value) {
    if (!map.getSource(source)) return;
    map.setFeatureState({ source, sourceLayer: SOURCES[source].layer, id }, value);
  }

  /** The area's sites get the cover at the panel's radius; any other site shows its tile's (150 m). */
  function applyCoverState() {
    if (!map.getSource('fire-heritage')) return;
    map.removeFeatureState({ source: 'fire-heritage', sourceLayer: SOURCES['fire-heritage'].layer });
    for (const s of state.coverage?.sites || []) setState('fire-heritage', s.id, { covered: Boolean(s.covered) });
  }

  function applySensorState() {
    for (const s of state.sensors?.sensors || []) setState('fire-sensors', s.id, { state: s.state });
  }

  // A new style (light/dark) has new sources: feature-state is gone, the swatches change colour.
  map.on('style.load', () => {
    ensureLayers();
    paintPanel(panel, theme());
    applyCoverState();
    applySensorState();
  });

  // --- main.js's hooks -------------------------------------------------------------------------

  /** Whether a style layer of the fire group should show. */
  function layerVisible(layer) {
    const part = layer.metadata?.['onemap:fire'];
    if (!state.installed) return false;
    if (part === 'nearest') return true;
    return state.shown.has(part);
  }

  /** A transformStyle step: the fire layers go into every style once the panel has been opened. */
  function decorate(style) {
    if (!state.installed) return style;
    return decorateStyle(style, {
      theme: style.metadata?.['onemap:theme'] || theme(),
      radiusM: state.radiusM,
      nearest: nearest.data(),
      visible: layerVisible,
    });
  }

  /** A map click: used up (true) by the nearest-water tool. */
  function handleClick(e) {
    return nearest.handleClick(e);
  }

  function readParams(p) {
    const code = p.get('fire');
    if (code && /^\d+$/.test(code)) {
      state.area.code = code;
      openAtStart = true;
    }
    const r = Number(p.get('fire_r'));
    if (RADII_M.includes(r)) state.radiusM = r;
    const off = (p.get('fire_off') || '').split(',');
    for (const id of off) state.shown.delete(id);
  }

  /** Writes the panel's state into `url`'s query (only while it is open). */
  function writeParams(url) {
    const set = (k, v) => (v ? url.searchParams.set(k, v) : url.searchParams.delete(k));
    set('fire', state.open ? state.area.code : '');
    set('fire_r', state.open && state.radiusM !== DEFAULT_RADIUS_M ? String(state.radiusM) : '');
    const off = TOGGLES.map(([id]) => id).filter((id) => !state.shown.has(id));
    set('fire_off', state.open ? off.join(',') : '');
  }

  /** Opens the panel if the page's link says so (?fire=CODE); main.js calls this once the view is set. */
  function startFromUrl({ fly }) {
    if (openAtStart) open({ fly });
  }

  renderArea(nodes, state.area);
  // A link with ?fire=CODE: the layers go into the first style already.
  if (openAtStart) state.installed = true;

  return {
    state,
    group: GROUP,
    alerts: alerts.state,
    nearest: nearest.state,
    open,
    close,
    hidePanel,
    setArea,
    areaSelected,
    layerVisible,
    decorate,
    handleClick,
    stopTool: () => nearest.setActive(false),
    writeParams,
    startFromUrl,
  };
}
