// The 消防 panel's DOM: the skeleton (header, layer toggles, sections) and one render function
// per section, each taking the API's answer as it is (docs/FIRE.md). Built with DOM calls, never
// innerHTML. Rows carry data-* attributes with the ids and states they show (the browser test
// compares them with the API). The alert list is alerts.js's, the wiring index.js's.

import { el, fill } from '../dom.js';
import { RADII_M, SENSOR_STATES, SENSOR_STATE_LABELS, SENSOR_TYPE_LABELS, bearingText, countSensorStates, formatArea, formatDistance, formatReading, formatShare, formatTime, groupSitesByLevel, shareFraction, sortSensors, waterKindText } from './format.js';
import { TOGGLES, palette } from './layers.js';

const numberFormat = new Intl.NumberFormat('zh-CN');
const n = (v) => numberFormat.format(Number(v) || 0);

/** A collapsible section: `<details open>` with a title and an optional count beside it. */
function section(id, title, ...body) {
  const count = el('span', { class: 'fire-count', 'data-role': 'count' });
  return el('details', { class: 'fire-section', id, open: true }, el('summary', {}, el('span', {}, title), count), ...body);
}

const NEAREST_HINT = '按下按钮后在地图上点选位置，查找最近的 5 处消火栓或天然水源';

const muted = (text) => el('div', { class: 'fire-muted' }, text);

/**
 * Builds the panel's fixed parts into `root` and returns the nodes the renderers fill.
 * `on` holds the callbacks: toggle(id, on), radius(m), locate(), nearestTool(), clearNearest().
 */
export function buildPanel(root, { shown, radiusM, on }) {
  const areaName = el('span', { class: 'fire-area-name', id: 'fire-area-name' }, '…');
  const areaCode = el('span', { class: 'code', id: 'fire-area-code' });
  const radius = el(
    'select',
    { id: 'fire-radius', 'aria-label': '覆盖半径', onchange: () => on.radius(Number(radius.value)) },
    RADII_M.map((r) => el('option', { value: String(r) }, `${r} 米`)),
  );
  radius.value = String(radiusM);

  const toggles = TOGGLES.map(([id, title, desc]) => {
    const box = el('input', { type: 'checkbox', id: `fire-layer-${id}`, dataset: { layer: id }, onchange: () => on.toggle(id, box.checked) });
    box.checked = shown.has(id);
    const swatch = el('span', { class: `swatch fire-swatch fire-swatch-${id}`, 'aria-hidden': 'true' });
    return el('label', { class: 'layer-row fire-toggle', for: box.id }, box, swatch, el('span', { class: 'layer-text' }, el('span', { class: 'layer-title' }, title), el('span', { class: 'layer-desc' }, desc)));
  });

  const alertLive = el('span', { class: 'fire-live', id: 'fire-live', dataset: { state: 'closed' } }, '未连接');
  const alertList = el('ul', { class: 'fire-list fire-alert-list', id: 'fire-alert-list' });
  const alerts = section('fire-alerts', '告警', el('div', { class: 'fire-row-between' }, el('span', { class: 'fire-muted' }, '未确认的告警，最新在前'), alertLive), alertList);

  const nearestButton = el('button', { type: 'button', class: 'btn fire-tool', id: 'fire-nearest-btn', 'aria-pressed': 'false', onclick: () => on.nearestTool() }, '最近水源');
  const nearestClear = el('button', { type: 'button', class: 'link', id: 'fire-nearest-clear', hidden: true, onclick: () => on.clearNearest() }, '清除');
  const nearestInfo = el('div', { class: 'fire-muted', id: 'fire-nearest-info' }, NEAREST_HINT);
  const nearestList = el('ol', { class: 'fire-list fire-nearest-list', id: 'fire-nearest-list' });
  const nearest = section('fire-nearest', '最近水源', el('div', { class: 'fire-row-between' }, nearestButton, nearestClear), nearestInfo, nearestList);

  const sitesSummary = el('div', { class: 'fire-summary', id: 'fire-sites-summary' }, muted('正在读取…'));
  const sitesGroups = el('div', { class: 'fire-levels', id: 'fire-site-groups' });
  const sites = section('fire-sites', '文物保护单位 · 消火栓覆盖', sitesSummary, sitesGroups);

  const villagesBody = el('div', { id: 'fire-village-table' });
  const villages = section('fire-villages', '村（社区）覆盖率', villagesBody);

  const isolatedList = el('ul', { class: 'fire-list', id: 'fire-isolated-list' });
  const isolated = section('fire-isolated', '孤立消火栓', isolatedList);

  const sensorCounts = el('div', { class: 'fire-chips', id: 'fire-sensor-counts' });
  const sensorList = el('ul', { class: 'fire-list fire-sensor-list', id: 'fire-sensor-list' });
  const sensors = section('fire-sensors', '传感器状态', sensorCounts, sensorList);

  fill(
    root,
    el(
      'div',
      { class: 'fire-head' },
      el('div', { class: 'popover-title' }, '消防 · ', areaName),
      el(
        'div',
        { class: 'fire-row-between' },
        el('span', {}, '代码 ', areaCode),
        el('span', { class: 'fire-head-tools' }, el('label', { class: 'fire-muted', for: 'fire-radius' }, '覆盖半径'), radius, el('button', { type: 'button', class: 'btn fire-small', id: 'fire-locate', onclick: () => on.locate() }, '定位')),
      ),
    ),
    el('div', { class: 'fire-toggles', id: 'fire-toggles' }, toggles),
    alerts,
    nearest,
    sites,
    villages,
    isolated,
    sensors,
  );

  return { areaName, areaCode, radius, alertLive, alertList, alerts, nearestButton, nearestClear, nearestInfo, nearestList, nearest, sitesSummary, sitesGroups, sites, villagesBody, villages, isolatedList, isolated, sensorCounts, sensorList, sensors };
}

function setCount(sectionNode, text) {
  const c = sectionNode.querySelector('[data-role="count"]');
  if (c) c.textContent = text;
}

/**
 * Hands the map palette of `theme` to the panel's CSS as custom properties (--fire-national …),
 * so swatches, level dots and state badges show the layers' own colours in either style.
 */
export function paintPanel(root, theme) {
  const p = palette(theme);
  const vars = {
    ...Object.fromEntries(Object.entries(p.levels).map(([k, v]) => [`--fire-${k}`, v])),
    ...Object.fromEntries(Object.entries(p.flow).map(([k, v]) => [`--fire-flow-${k}`, v])),
    ...Object.fromEntries(Object.entries(p.sensor).map(([k, v]) => [`--fire-sensor-${k}`, v])),
    '--fire-covered': p.covered,
    '--fire-uncovered': p.uncovered,
    '--fire-water': p.water,
    '--fire-station': p.station,
    '--fire-nearest': p.nearest,
  };
  for (const [k, v] of Object.entries(vars)) root.style.setProperty(k, v);
}

/** The area's name and code in the header. */
export function renderArea(nodes, area) {
  nodes.areaName.textContent = area?.name || '…';
  nodes.areaCode.textContent = area?.code || '';
}

/** A section that could not be read: the server's message in place of its rows. */
export function renderError(container, message) {
  fill(container, el('div', { class: 'fire-error' }, message));
}

/** Heritage sites by protection level with their cover (coverage answer), each row clickable. */
export function renderSites(nodes, coverage, { onSite }) {
  const sites = Array.isArray(coverage?.sites) ? coverage.sites : [];
  const covered = sites.filter((s) => s.covered).length;
  setCount(nodes.sites, `${n(sites.length)} 处`);
  const t = coverage?.totals || {};
  fill(
    nodes.sitesSummary,
    el(
      'div',
      { dataset: { sites: String(sites.length), covered: String(covered) } },
      `文物 ${n(sites.length)} 处 · `,
      el('span', { class: 'fire-ok' }, `已覆盖 ${n(covered)}`),
      ' · ',
      el('span', { class: 'fire-bad' }, `未覆盖 ${n(sites.length - covered)}`),
      el('span', { class: 'fire-muted' }, ` · 半径 ${n(coverage?.radius_m)} 米`),
    ),
    t.built_m2 !== undefined ? el('div', { class: 'fire-muted' }, `建成区 ${formatArea(t.built_m2)}，未覆盖 ${formatArea(t.uncovered_m2)}，覆盖率 ${formatShare(t.share)}`) : null,
  );
  if (!sites.length) {
    fill(nodes.sitesGroups, muted('此区域没有文物保护单位'));
    return;
  }
  fill(
    nodes.sitesGroups,
    groupSitesByLevel(sites).map((g) =>
      el(
        'div',
        { class: 'fire-level', dataset: { level: g.level, count: String(g.sites.length), covered: String(g.covered) } },
        el('div', { class: 'fire-level-head' }, el('span', { class: `fire-dot fire-dot-${g.level}` }), el('span', { class: 'fire-level-name' }, g.label), el('span', { class: 'fire-muted' }, `${n(g.sites.length)} 处 · 已覆盖 ${n(g.covered)}`)),
        g.sites.length
          ? el(
              'ul',
              { class: 'fire-list' },
              g.sites.map((s) =>
                el(
                  'li',
                  { dataset: { siteId: String(s.id), covered: String(Boolean(s.covered)), level: g.level } },
                  el(
                    'button',
                    { type: 'button', class: 'fire-item', onclick: () => onSite(s) },
                    el('span', { class: 'fire-item-name' }, s.name),
                    el('span', { class: `fire-badge ${s.covered ? 'fire-badge-ok' : 'fire-badge-bad'}` }, s.covered ? '已覆盖' : '未覆盖'),
                    el('span', { class: 'fire-item-sub', dataset: { field: 'nearest' } }, s.nearest ? `最近消火栓 ${formatDistance(s.nearest.distance_m)}${s.nearest.name ? ` · ${s.nearest.name}` : ''}` : '附近无可用消火栓'),
                  ),
                ),
              ),
            )
          : null,
      ),
    ),
  );
}

/** Coverage per village: the covered share and the uncovered built-up area (亩 or m²). */
export function renderVillages(nodes, coverage, { onVillage }) {
  const villages = Array.isArray(coverage?.villages) ? [...coverage.villages] : [];
  setCount(nodes.villages, villages.length ? `${n(villages.length)} 个` : '');
  if (!villages.length) {
    fill(nodes.villagesBody, muted('无建成区数据'));
    return;
  }
  villages.sort((a, b) => (Number(a.share) || 0) - (Number(b.share) || 0));
  fill(
    nodes.villagesBody,
    el(
      'table',
      { class: 'fire-table' },
      el('thead', {}, el('tr', {}, el('th', {}, '村（社区）'), el('th', {}, '覆盖率'), el('th', {}, '未覆盖'))),
      el(
        'tbody',
        {},
        villages.map((v) =>
          el(
            'tr',
            { dataset: { code: String(v.code) } },
            el('td', {}, el('button', { type: 'button', class: 'link', onclick: () => onVillage(v) }, v.name)),
            el('td', { dataset: { field: 'share' } }, el('span', { class: 'fire-bar', 'aria-hidden': 'true' }, el('span', { style: { width: `${shareFraction(v.share) * 100}%` } })), formatShare(v.share)),
            el('td', { dataset: { field: 'uncovered' }, title: `${n(Math.round(Number(v.uncovered_m2) || 0))} m²` }, formatArea(v.uncovered_m2)),
          ),
        ),
      ),
    ),
  );
}

/** Hydrants far from any other hydrant (the coverage answer's isolated_hydrants, nearest_m to the next one). */
export function renderIsolated(nodes, coverage, { onPoint }) {
  const list = Array.isArray(coverage?.isolated_hydrants) ? coverage.isolated_hydrants : [];
  setCount(nodes.isolated, `${n(list.length)} 个`);
  if (!list.length) {
    fill(nodes.isolatedList, el('li', { class: 'fire-muted' }, '没有孤立消火栓'));
    return;
  }
  fill(
    nodes.isolatedList,
    list.map((h) =>
      el(
        'li',
        { dataset: { id: String(h.id) } },
        el('button', { type: 'button', class: 'fire-item', onclick: () => onPoint(h) }, el('span', { class: 'fire-item-name' }, h.name), el('span', { class: 'fire-item-sub' }, h.nearest_m == null ? '附近没有其他消火栓' : `距最近的消火栓 ${formatDistance(h.nearest_m)}`)),
      ),
    ),
  );
}

/** Sensor states: counts per state, then each sensor (alarm first) with its last reading. */
export function renderSensors(nodes, answer, { onPoint }) {
  const sensors = Array.isArray(answer?.sensors) ? answer.sensors : [];
  setCount(nodes.sensors, `${n(sensors.length)} 个`);
  const counts = countSensorStates(sensors);
  fill(
    nodes.sensorCounts,
    SENSOR_STATES.map(([state, label]) => el('span', { class: `fire-chip fire-state-${state}`, dataset: { state, count: String(counts[state]) } }, `${label} ${n(counts[state])}`)),
  );
  if (!sensors.length) {
    fill(nodes.sensorList, el('li', { class: 'fire-muted' }, '此区域没有传感器'));
    return;
  }
  fill(
    nodes.sensorList,
    sortSensors(sensors).map((s) => {
      const state = SENSOR_STATE_LABELS[s.state] ? s.state : 'unknown';
      return el(
        'li',
        { dataset: { id: String(s.id), state } },
        el(
          'button',
          { type: 'button', class: 'fire-item', onclick: () => onPoint(s) },
          el('span', { class: 'fire-item-name' }, s.name),
          el('span', { class: `fire-badge fire-state-${state}` }, SENSOR_STATE_LABELS[state]),
          el('span', { class: 'fire-item-sub' }, `${s.type_name || SENSOR_TYPE_LABELS[s.type] || s.type || ''} · ${formatReading(s.last_value, s.type)} · ${formatTime(s.last_at)}`),
        ),
      );
    }),
  );
}

/** The nearest-water answer: rank, name, kind, distance and 方位 per result. */
export function renderNearest(nodes, { point, water, loading, error }, { onPoint }) {
  nodes.nearestList.dataset.lon = point ? String(point.lon) : '';
  nodes.nearestList.dataset.lat = point ? String(point.lat) : '';
  nodes.nearestClear.hidden = !point;
  nodes.nearestInfo.textContent = point ? `点选位置 ${point.lon.toFixed(5)}, ${point.lat.toFixed(5)}` : NEAREST_HINT;
  if (loading) {
    fill(nodes.nearestList, el('li', { class: 'fire-muted' }, '正在查找…'));
    return;
  }
  if (error) {
    fill(nodes.nearestList, el('li', { class: 'fire-error' }, error));
    return;
  }
  if (!point) {
    fill(nodes.nearestList);
    return;
  }
  if (!water?.length) {
    fill(nodes.nearestList, el('li', { class: 'fire-muted' }, '附近没有可用水源'));
    return;
  }
  fill(
    nodes.nearestList,
    water.map((w, i) =>
      el(
        'li',
        { dataset: { id: String(w.id), kind: String(w.kind) } },
        el(
          'button',
          { type: 'button', class: 'fire-item', onclick: () => onPoint(w) },
          el('span', { class: 'fire-rank' }, String(i + 1)),
          el('span', { class: 'fire-item-name' }, w.name),
          el('span', { class: 'fire-badge' }, waterKindText(w)),
          el('span', { class: 'fire-item-sub' }, el('span', { dataset: { field: 'distance' } }, formatDistance(w.distance_m)), ' · 方位 ', el('span', { dataset: { field: 'bearing' } }, bearingText(w.bearing_deg, w.direction))),
        ),
      ),
    ),
  );
}
