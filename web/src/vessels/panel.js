// The 渔船 panel's DOM: the skeleton (header, layer toggles, legend, search, boat card, alerts,
// harbours, events) and one render function per part, each taking the API's answer as it is
// (docs/VESSELS.md). Built with DOM calls, never innerHTML. Rows carry data-* attributes with
// the ids, states and counts they show (the browser test compares them with the API). It wears
// the 消防 panel's classes (fire-section, fire-list, fire-item, fire-badge …) for the same look;
// what is its own is vs-*. The alert list is alerts.js's, the wiring index.js's.

import { el, fill } from '../dom.js';
import {
  HARBOUR_KIND_LABELS,
  SOURCE_LABELS,
  VESSEL_STATES,
  boatName,
  classText,
  countText,
  eventTypeText,
  formatCourse,
  formatLength,
  formatSpeed,
  formatTime,
  ownerText,
  placeText,
  positionTimeText,
  sortHarbours,
  stateOf,
  stateText,
  trackText,
  tripText,
} from './format.js';
import { TOGGLES, palette } from './layers.js';

const numberFormat = new Intl.NumberFormat('zh-CN');
const n = (v) => numberFormat.format(Number(v) || 0);

/** A collapsible section: `<details open>` with a title and an optional count beside it. */
function section(id, title, ...body) {
  const count = el('span', { class: 'fire-count', 'data-role': 'count' });
  return el('details', { class: 'fire-section', id, open: true }, el('summary', {}, el('span', {}, title), count), ...body);
}

function setCount(sectionNode, text) {
  const c = sectionNode.querySelector('[data-role="count"]');
  if (c) c.textContent = text;
}

const muted = (text) => el('div', { class: 'fire-muted' }, text);

/**
 * Builds the panel's fixed parts into `root` and returns the nodes the renderers fill. `on`
 * holds the callbacks: toggle(id, on), search(text), closeCard(), locateBoat(), reloadTrack().
 */
export function buildPanel(root, { shown, on }) {
  const live = el('span', { class: 'fire-live', id: 'vessel-live', dataset: { state: 'closed' } }, '未连接');
  const total = el('span', { class: 'fire-muted', id: 'vessel-total' });

  const toggles = TOGGLES.map(([id, title]) => {
    const box = el('input', { type: 'checkbox', id: `vessel-layer-${id}`, dataset: { layer: id }, onchange: () => on.toggle(id, box.checked) });
    box.checked = shown.has(id);
    const swatch = el('span', { class: `swatch fire-swatch vs-swatch-${id}`, 'aria-hidden': 'true' });
    return el('label', { class: 'layer-row fire-toggle', for: box.id }, box, swatch, el('span', { class: 'layer-text' }, el('span', { class: 'layer-title' }, title)));
  });

  const legend = el(
    'ul',
    { class: 'vs-legend', id: 'vessel-legend', 'aria-label': '渔船状态' },
    VESSEL_STATES.map(([state, label]) =>
      el('li', { dataset: { state, count: '0' } }, el('span', { class: `vs-dot vs-dot-${state}`, 'aria-hidden': 'true' }), el('span', { class: 'vs-legend-label' }, label), el('span', { class: 'vs-legend-count', dataset: { field: 'count' } }, '—')),
    ),
  );

  const search = el('input', { type: 'search', id: 'vessel-search', placeholder: '船名或 MMSI', autocomplete: 'off', spellcheck: 'false', 'aria-label': '查找渔船', oninput: () => on.search(search.value) });
  const searchList = el('ul', { class: 'fire-list vs-search-list', id: 'vessel-search-results' });

  const cardBody = el('div', { id: 'vessel-card-body' });
  const card = el(
    'section',
    { class: 'vs-card', id: 'vessel-card', hidden: true, 'aria-label': '渔船详情' },
    el(
      'div',
      { class: 'fire-row-between' },
      el('span', { class: 'vs-card-title', id: 'vessel-card-title' }, ''),
      el(
        'span',
        { class: 'fire-head-tools' },
        el('button', { type: 'button', class: 'btn fire-small', id: 'vessel-card-locate', onclick: () => on.locateBoat() }, '定位'),
        el('button', { type: 'button', class: 'btn fire-small', id: 'vessel-card-close', 'aria-label': '关闭详情', onclick: () => on.closeCard() }, '关闭'),
      ),
    ),
    cardBody,
    el('div', { class: 'fire-row-between vs-track-row' }, el('span', { class: 'fire-muted', id: 'vessel-track-info' }, ''), el('button', { type: 'button', class: 'link', id: 'vessel-track-reload', onclick: () => on.reloadTrack() }, '刷新轨迹')),
  );

  const alertLive = el('span', { class: 'fire-muted' }, '未确认的告警，最新在前');
  const alertList = el('ul', { class: 'fire-list fire-alert-list', id: 'vessel-alert-list' });
  const alerts = section('vessel-alerts', '告警', alertLive, alertList);

  const harboursBody = el('div', { id: 'vessel-harbour-table' }, muted('正在读取…'));
  const harbours = section('vessel-harbours', '渔港、锚地', harboursBody);

  const eventList = el('ul', { class: 'fire-list vs-event-list', id: 'vessel-event-list' });
  const events = section('vessel-events', '最近动态', eventList);

  fill(
    root,
    el(
      'div',
      { class: 'fire-head' },
      el('div', { class: 'popover-title' }, '渔船 · 船队动态'),
      el('div', { class: 'fire-row-between' }, total, live),
    ),
    el('div', { class: 'fire-toggles', id: 'vessel-toggles' }, toggles),
    legend,
    el('div', { class: 'vs-search' }, search, searchList),
    card,
    alerts,
    harbours,
    events,
  );

  return { live, total, legend, search, searchList, card, cardBody, cardTitle: card.querySelector('#vessel-card-title'), trackInfo: card.querySelector('#vessel-track-info'), alertList, alerts, harboursBody, harbours, eventList, events };
}

/**
 * Hands the map palette of `theme` to the panel's CSS as custom properties (--vs-in_port …), so
 * the legend's dots and the state badges show the layers' own colours in either style.
 */
export function paintPanel(root, theme) {
  const p = palette(theme);
  const vars = {
    ...Object.fromEntries(Object.entries(p.state).map(([k, v]) => [`--vs-${k}`, v])),
    '--vs-harbour': p.harbour,
    '--vs-anchorage': p.anchorage,
    '--vs-zone': p.zone,
    '--vs-track': p.track,
  };
  for (const [k, v] of Object.entries(vars)) root.style.setProperty(k, v);
}

/** The live indicator: 实时 / 连接中断 / 未连接. */
export function renderLive(nodes, state) {
  const text = { live: '实时', stale: '连接中断，正在重连…', closed: '未连接' };
  nodes.live.dataset.state = state;
  nodes.live.textContent = text[state] || state;
}

/** The legend's counts per state and the total. `counts` has every state (format.js's countStates). */
export function renderLegend(nodes, counts, { loaded }) {
  let sum = 0;
  for (const li of nodes.legend.children) {
    const c = Number(counts[li.dataset.state]) || 0;
    sum += c;
    li.dataset.count = String(c);
    li.querySelector('[data-field="count"]').textContent = loaded ? n(c) : '—';
  }
  nodes.total.textContent = loaded ? `共 ${n(sum)} 艘` : '正在读取…';
  nodes.total.dataset.total = String(sum);
}

/** A section that could not be read: the server's message in place of its rows. */
export function renderError(container, message) {
  fill(container, el('div', { class: 'fire-error' }, message));
}

/** The search's matches: name, MMSI and state, each selecting its boat. */
export function renderSearch(nodes, boats, { query, onPick }) {
  if (!query.trim()) {
    fill(nodes.searchList);
    return;
  }
  if (!boats.length) {
    fill(nodes.searchList, el('li', { class: 'fire-muted' }, '没有匹配的渔船'));
    return;
  }
  fill(
    nodes.searchList,
    boats.map((v) => {
      const state = stateOf(v);
      return el(
        'li',
        { dataset: { mmsi: String(v.mmsi), state } },
        el('button', { type: 'button', class: 'fire-item', onclick: () => onPick(v) }, el('span', { class: 'fire-item-name' }, boatName(v)), el('span', { class: `fire-badge vs-state vs-state-${state}` }, stateText(v)), el('span', { class: 'fire-item-sub' }, `MMSI ${v.mmsi}${v.harbour?.name ? ` · ${v.harbour.name}` : ''}`)),
      );
    }),
  );
}

/** One row of the card: a term and its value (data-field for the test). */
const row = (field, term, ...value) => [el('dt', {}, term), el('dd', { dataset: { field } }, ...value)];

/**
 * The boat card: `detail` is GET /api/vessels/{mmsi} (null while it loads), `boat` the list's or
 * stream's latest row of the same boat (fresher state and position between reads).
 */
export function renderCard(nodes, { mmsi, detail, boat, error, now = Date.now() }) {
  nodes.card.hidden = !mmsi;
  nodes.card.dataset.mmsi = mmsi ? String(mmsi) : '';
  if (!mmsi) {
    fill(nodes.cardBody);
    return;
  }
  const v = { ...(detail || {}), ...(boat && (!detail || newerThanDetail(boat, detail)) ? pickLive(boat) : {}) };
  nodes.cardTitle.textContent = detail || boat ? boatName(detail || boat) : `MMSI ${mmsi}`;
  if (error) {
    fill(nodes.cardBody, el('div', { class: 'fire-error' }, error));
    return;
  }
  if (!detail) {
    fill(nodes.cardBody, muted('正在读取…'));
    return;
  }
  nodes.card.dataset.loaded = String(mmsi);
  const state = stateOf(v);
  const last = detail.last || {};
  const at = v.at ?? last.at;
  // The age by the server's clock: the row's age_s when it has one, else the last position's.
  const ageS = v.age_s ?? last.age_s;
  fill(
    nodes.cardBody,
    el(
      'dl',
      { class: 'vs-card-fields' },
      row('mmsi', 'MMSI', String(detail.mmsi ?? mmsi)),
      row('name', '船名', boatName(detail), detail.registered === false ? el('span', { class: 'fire-badge vs-unregistered' }, '未登记') : null),
      row('call_sign', '呼号', detail.call_sign || '—'),
      row('class', '类别', classText(detail.class), detail.length_m != null ? ` · ${formatLength(detail.length_m)}` : ''),
      row('state', '状态', el('span', { class: `fire-badge vs-state vs-state-${state}` }, stateText(v)), v.stopped ? el('span', { class: 'fire-muted' }, ' 静止') : null, v.port?.name ? el('span', { class: 'fire-muted' }, ` · ${v.port.name}`) : null),
      row('speed', '航速', formatSpeed(v.speed_kn ?? last.speed_kn)),
      row('course', '航向', formatCourse(v.course ?? last.course)),
      row('at', '最后位置', positionTimeText(at, ageS, now, v._rx ?? detail._rx), last.source ? el('span', { class: 'fire-muted' }, ` · ${SOURCE_LABELS[last.source] || last.source}`) : null),
      row('position', '经纬度', v.lon != null && v.lat != null ? `${Number(v.lon).toFixed(5)}, ${Number(v.lat).toFixed(5)}` : '—'),
      row('harbour', '船籍港', placeText(detail.harbour)),
      row('village', '管理村', placeText(detail.village), detail.town?.name ? el('span', { class: 'fire-muted' }, ` · ${detail.town.name}`) : null),
      row('owner', '船主', ownerText(detail.owner)),
      row('trip', '当前航次', tripText(detail.trip, now)),
    ),
  );
}

/** Whether the list's/stream's row is at least as new as the detail (it then wins for live fields). */
function newerThanDetail(boat, detail) {
  const b = new Date(boat.at || 0).getTime();
  const d = new Date(detail.at || detail.last?.at || 0).getTime();
  return !(d > b);
}

/** The live fields of a list row. */
function pickLive(b) {
  const keys = ['state', 'state_name', 'stopped', 'lon', 'lat', 'speed_kn', 'course', 'heading', 'at', 'age_s', 'port', '_rx'];
  return Object.fromEntries(keys.filter((k) => k in b).map((k) => [k, b[k]]));
}

/** The track line under the card: its vertices, or why there is none. */
export function renderTrackInfo(nodes, { track, loading, error }) {
  nodes.trackInfo.textContent = loading ? '正在读取轨迹…' : error ? `无法读取轨迹：${error}` : trackText(track);
  nodes.trackInfo.dataset.vertices = String(track?.geometry?.coordinates?.length || 0);
}

/** Harbours and anchorages with the boats in port, out at sea and registered there. */
export function renderHarbours(nodes, answer, { onHarbour }) {
  const list = sortHarbours(Array.isArray(answer?.harbours) ? answer.harbours : []);
  setCount(nodes.harbours, `${n(list.length)} 个`);
  if (!list.length) {
    fill(nodes.harboursBody, muted('没有渔港或锚地'));
    return;
  }
  fill(
    nodes.harboursBody,
    el(
      'table',
      { class: 'fire-table vs-harbour-table' },
      el('thead', {}, el('tr', {}, el('th', {}, '名称'), el('th', { title: '现在港内的渔船' }, '在港'), el('th', { title: '船籍在此、现在港外的渔船' }, '出海'), el('th', { title: '船籍在此的渔船' }, '船籍'))),
      el(
        'tbody',
        {},
        list.map((h) =>
          el(
            'tr',
            { dataset: { id: String(h.id), kind: String(h.kind || ''), inPort: String(h.in_port ?? ''), atSea: String(h.at_sea ?? ''), home: String(h.home ?? '') } },
            el('td', {}, el('button', { type: 'button', class: 'link', onclick: () => onHarbour(h) }, h.name), el('span', { class: `vs-kind vs-kind-${h.kind}` }, h.kind_name || HARBOUR_KIND_LABELS[h.kind] || '')),
            el('td', { dataset: { field: 'in_port' } }, countText(h.in_port)),
            el('td', { dataset: { field: 'at_sea' } }, countText(h.at_sea)),
            el('td', { dataset: { field: 'home' } }, countText(h.home)),
          ),
        ),
      ),
    ),
  );
}

/** The latest vessel events: time, type, boat, harbour. */
export function renderEvents(nodes, events, { loaded, error, onEvent }) {
  setCount(nodes.events, events.length ? `${n(events.length)} 条` : '');
  if (!events.length) {
    fill(nodes.eventList, el('li', { class: error ? 'fire-error' : 'fire-muted' }, error || (loaded ? '暂无动态' : '正在读取…')));
    return;
  }
  fill(
    nodes.eventList,
    events.map((e) =>
      el(
        'li',
        { dataset: { id: String(e.id), type: String(e.type), mmsi: String(e.mmsi ?? '') } },
        el(
          'button',
          { type: 'button', class: 'fire-item', onclick: () => onEvent(e) },
          el('span', { class: 'fire-item-name' }, e.vessel_name || `MMSI ${e.mmsi}`),
          el('span', { class: `fire-badge vs-event vs-event-${e.type}` }, eventTypeText(e)),
          el('span', { class: 'fire-item-sub' }, `${formatTime(e.at)}${e.harbour?.name ? ` · ${e.harbour.name}` : ''}`),
        ),
      ),
    ),
  );
}
