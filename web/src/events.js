// Events on the map: the 事件 panel (heat layer, choropleth per village or grid, category and time
// window, hotspots), the query every event tile request carries, the choropleth's feature-state
// and the popup of a single event. The layers live in the styles (scripts/styles.mjs), hidden;
// this module shows them and feeds them. Contract of the endpoints: docs/EVENTS.md.

import { Popup } from 'maplibre-gl';
import { eventDetail, eventHotspots, eventStatsByArea } from './api.js';
import { el } from './dom.js';
import { CATEGORIES, CATEGORY_LABELS, SOURCE_LABELS, STATUS_LABELS } from './categories.js';
import { showStatus } from './status.js';
import { DEFAULT_WINDOW, TZ, WINDOWS, addDays, bucketOf, classBounds, eventQuery, isDate, paletteIndex, queryString, todayInCity } from './eventfilter.js';

export { WINDOWS, CATEGORIES, SOURCE_LABELS, STATUS_LABELS };

const AREAS_SOURCE = 'areas';
const EVENTS_SOURCE = 'events';
/** Grid statistics are fetched from this zoom (the grid choropleth fades in from 12.5). */
const GRID_STATS_FROM_ZOOM = 12.5;
/** The legend describes grids from this zoom, villages below it (the crossfade's middle). */
const GRID_LEGEND_FROM_ZOOM = 13;
const LEVEL_LABELS = { village: '村（社区）', grid: '网格' };

const numberFormat = new Intl.NumberFormat('zh-CN');
const timeFormat = new Intl.DateTimeFormat('zh-CN', {
  timeZone: TZ,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
});

/** Summary of one level's statistics: what the legend shows and the map is coloured by. */
function summarise(areas) {
  const counts = areas.map((a) => Number(a.count) || 0);
  const bounds = classBounds(counts);
  const sum = (k) => areas.reduce((s, a) => s + (Number(a[k]) || 0), 0);
  return {
    areas,
    bounds,
    byCode: new Map(areas.map((a) => [String(a.code), a])),
    total: sum('count'),
    open: sum('open'),
    closed: sum('closed'),
    overdue: sum('overdue'),
    withEvents: counts.filter((c) => c > 0).length,
  };
}

/** `reported_at` of a tile feature: RFC 3339 text, or unix seconds (either is accepted). */
function formatReported(value) {
  const t = typeof value === 'number' || /^\d+$/.test(String(value)) ? new Date(Number(value) * 1000) : new Date(String(value));
  return Number.isNaN(t.getTime()) ? '—' : timeFormat.format(t);
}

function categoryList(value) {
  // Hotspots name their categories as {code: count} or [{category|code, count}]; take either.
  let pairs = [];
  if (Array.isArray(value)) pairs = value.map((v) => (typeof v === 'string' ? [v, null] : [v.category ?? v.code, v.count ?? null]));
  // One category per hotspot: its name is enough, the count is the hotspot's.
  if (pairs.length === 1) return CATEGORY_LABELS[pairs[0][0]] || pairs[0][0] || '';
  else if (value && typeof value === 'object') pairs = Object.entries(value);
  pairs.sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0));
  return pairs
    .slice(0, 3)
    .map(([c, n]) => `${CATEGORY_LABELS[c] || c}${n ? ' ' + n : ''}`)
    .join('、');
}

function chainName(chain) {
  // The area a hotspot lies in: the finest named level of its chain, in whatever shape it comes.
  if (!chain) return '';
  if (typeof chain === 'string') return chain;
  if (chain.assigned === false && chain.nearest?.grid?.name) return `${chain.nearest.grid.name}附近`;
  if (Array.isArray(chain)) return chain.map((c) => c?.name).filter(Boolean).slice(-2).join(' · ');
  const names = ['town', 'village', 'grid'].map((l) => chain[l]?.name || chain[`${l}_name`]).filter(Boolean);
  return names.slice(-2).join(' · ');
}

/**
 * Builds the panel and wires it to the map. `onLayers` is called when a layer is shown or hidden
 * (main.js applies visibility), `onUrl` when the filter changes (main.js rewrites the URL).
 */
export function createEvents({ map, button, panel, params, onLayers, onUrl }) {
  const filter = { heat: false, choropleth: false, category: '', window: DEFAULT_WINDOW, from: '', to: '' };
  readParams(params);

  const stats = { key: null, village: null, grid: null };
  const pending = new Map(); // `${key}|${level}` → in-flight request
  let hotspotSeq = 0;
  let popup = null;

  // --- the panel -----------------------------------------------------------------------------

  const toggle = (id, title, desc, checked, onToggle) => {
    const box = el('input', { type: 'checkbox', id, onchange: () => onToggle(box.checked) });
    box.checked = checked;
    return [
      box,
      el(
        'label',
        { class: 'layer-row', for: id },
        el('span', { class: `swatch swatch-${id}`, 'aria-hidden': 'true' }),
        el('span', { class: 'layer-text' }, el('span', { class: 'layer-title' }, title), el('span', { class: 'layer-desc' }, desc)),
      ),
    ];
  };
  const [heatBox, heatRow] = toggle('ev-heat', '热力图', '事件密度；放大到 14 级后显示单个事件', filter.heat, (on) => {
    filter.heat = on;
    changed({ layers: true });
  });
  const [choroBox, choroRow] = toggle('ev-choropleth', '分区统计', '按村（社区）着色，放大后按网格', filter.choropleth, (on) => {
    filter.choropleth = on;
    changed({ layers: true });
  });
  heatRow.prepend(heatBox);
  choroRow.prepend(choroBox);

  const category = el(
    'select',
    { id: 'ev-category', 'aria-label': '事件类别', onchange: () => {
      filter.category = category.value;
      changed({ query: true });
    } },
    el('option', { value: '' }, '全部类别'),
    CATEGORIES.map(([code, label]) => el('option', { value: code }, label)),
  );
  category.value = filter.category;

  const windowButtons = WINDOWS.map((w) =>
    el('button', { type: 'button', dataset: { window: w.id }, 'aria-pressed': 'false', onclick: () => setWindow(w.id) }, w.label),
  );
  const from = el('input', { type: 'date', id: 'ev-from', 'aria-label': '开始日期', onchange: () => setRange() });
  const to = el('input', { type: 'date', id: 'ev-to', 'aria-label': '结束日期', onchange: () => setRange() });
  const range = el('div', { class: 'ev-range', id: 'ev-range' }, from, el('span', {}, '至'), to);
  const summary = el('div', { class: 'ev-summary', id: 'ev-summary', 'aria-live': 'polite' });
  const legend = el('div', { class: 'ev-legend', id: 'ev-legend', 'aria-live': 'polite' });
  const hotList = el('ol', { class: 'ev-hotspots', id: 'ev-hotspot-list' });
  const hotspots = el('details', { class: 'ev-hot', id: 'ev-hotspots', ontoggle: () => hotspots.open && loadHotspots() }, el('summary', {}, '热点排行'), hotList);

  panel.append(
    el('div', { class: 'popover-title' }, '事件'),
    heatRow,
    choroRow,
    el('div', { class: 'ev-field' }, el('span', { class: 'ev-label' }, '类别'), category),
    el('div', { class: 'ev-field' }, el('span', { class: 'ev-label' }, '时间'), el('div', { class: 'segmented ev-windows', role: 'group', 'aria-label': '时间范围' }, windowButtons)),
    range,
    summary,
    legend,
    hotspots,
  );

  button.addEventListener('click', () => {
    const open = panel.hidden;
    panel.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    // Opening the panel with nothing shown shows the heat: the panel is about seeing events.
    if (open && !filter.heat && !filter.choropleth) {
      filter.heat = true;
      heatBox.checked = true;
      changed({ layers: true });
    }
  });
  if (filter.heat || filter.choropleth) {
    panel.hidden = false;
    button.setAttribute('aria-expanded', 'true');
  }

  function setWindow(id) {
    filter.window = id;
    if (id === 'custom') {
      // Start the pair from the window shown until now, so the first pick changes one end only.
      const today = todayInCity();
      if (!isDate(filter.to)) filter.to = today;
      if (!isDate(filter.from)) filter.from = addDays(filter.to, -29);
    }
    changed({ query: true });
  }

  function setRange() {
    filter.from = from.value;
    filter.to = to.value;
    if (isDate(filter.from) && isDate(filter.to) && filter.from > filter.to) {
      showStatus('开始日期晚于结束日期', 'error');
      return;
    }
    changed({ query: true });
  }

  function renderControls() {
    for (const b of windowButtons) b.setAttribute('aria-pressed', String(b.dataset.window === filter.window));
    range.hidden = filter.window !== 'custom';
    from.value = filter.from;
    to.value = filter.to;
    const q = eventQuery(filter);
    const when = q.from && q.to ? `${q.from} 至 ${q.to}` : q.from ? `${q.from} 至今` : q.to ? `截至 ${q.to}` : '全部时间';
    summary.textContent = `${CATEGORY_LABELS[filter.category] || '全部类别'} · ${when}`;
  }

  // --- changes ---------------------------------------------------------------------------------

  function changed({ layers = false, query = false }) {
    renderControls();
    if (layers) onLayers();
    if (query) {
      refreshTiles();
      if (hotspots.open) loadHotspots();
    }
    refreshStats();
    onUrl();
  }

  /** Rewrites an event tile URL to carry the current filter (transformRequest calls this). */
  function tileUrl(url) {
    const m = /^(.*\/tiles\/events\/\d+\/\d+\/\d+(?:\.[a-z]+)?)(\?.*)?$/.exec(url);
    if (!m) return url;
    const qs = queryString(eventQuery(filter));
    return qs ? `${m[1]}?${qs}` : m[1];
  }

  /** Points the event source at tile URLs with the current filter: its tiles are fetched anew. */
  function refreshTiles() {
    const source = map.getSource(EVENTS_SOURCE);
    // Before the TileJSON has arrived there are no tiles to redo; tileUrl() covers the first ones.
    // (Not `source.loaded()`: it is false again for a moment after every setTiles, and a second
    // change inside that moment — two dates picked in a row — would be lost.)
    if (!source || !Array.isArray(source.tiles)) return;
    const qs = queryString(eventQuery(filter));
    source.setTiles(source.tiles.map((t) => t.split('?')[0] + (qs ? `?${qs}` : '')));
  }

  // --- the choropleth ----------------------------------------------------------------------------

  function legendLevel() {
    return map.getZoom() >= GRID_LEGEND_FROM_ZOOM ? 'grid' : 'village';
  }

  function refreshStats() {
    if (!filter.choropleth) {
      renderLegend();
      return;
    }
    const key = queryString(eventQuery(filter));
    if (stats.key !== key) {
      stats.key = key;
      stats.village = null;
      stats.grid = null;
      for (const level of ['village', 'grid']) clearLevel(level);
    }
    const levels = map.getZoom() >= GRID_STATS_FROM_ZOOM ? ['village', 'grid'] : ['village'];
    for (const level of levels) {
      if (stats[level] || pending.has(`${key}|${level}`)) continue;
      const request = eventStatsByArea(level, eventQuery(filter))
        .then((body) => {
          if (stats.key !== key) return;
          stats[level] = summarise(Array.isArray(body?.areas) ? body.areas : []);
          applyLevel(level);
        })
        .catch((e) => {
          if (stats.key === key) showStatus(`无法读取事件统计：${e.message}`, 'error');
        })
        .finally(() => {
          pending.delete(`${key}|${level}`);
          renderLegend();
        });
      pending.set(`${key}|${level}`, request);
    }
    renderLegend();
  }

  function clearLevel(level) {
    if (map.getSource(AREAS_SOURCE)) map.removeFeatureState({ source: AREAS_SOURCE, sourceLayer: level });
  }

  /** Colours one level: feature-state {bucket, count} on every area the statistics name. */
  function applyLevel(level) {
    const s = stats[level];
    if (!s || !map.getSource(AREAS_SOURCE)) return;
    clearLevel(level);
    for (const a of s.areas) {
      const count = Number(a.count) || 0;
      map.setFeatureState({ source: AREAS_SOURCE, sourceLayer: level, id: String(a.code) }, { bucket: bucketOf(count, s.bounds), count });
    }
  }

  /** The colours of the choropleth classes, read from the style so the legend follows the theme. */
  function paletteColours() {
    const expr = map.getLayer('village-events') ? map.getPaintProperty('village-events', 'fill-color') : null;
    const colours = {};
    if (Array.isArray(expr) && expr[0] === 'match') {
      for (let i = 2; i + 1 < expr.length; i += 2) colours[expr[i]] = expr[i + 1];
    }
    return colours;
  }

  function renderLegend() {
    legend.replaceChildren();
    legend.hidden = !filter.choropleth;
    delete legend.dataset.total;
    delete legend.dataset.level;
    if (!filter.choropleth) return;
    const level = legendLevel();
    const s = stats[level];
    legend.dataset.level = level;
    legend.append(el('div', { class: 'ev-legend-title' }, `事件数 · 按${LEVEL_LABELS[level]}`));
    if (!s) {
      legend.append(el('div', { class: 'ev-legend-foot' }, '正在统计…'));
      return;
    }
    legend.dataset.total = String(s.total);
    const colours = paletteColours();
    const row = (bucket, text) => el('li', { dataset: { bucket: String(bucket) } }, el('span', { class: 'ev-sw', style: { background: colours[bucket] || 'transparent' } }), text);
    const rows = [row(0, '0（无事件）')];
    s.bounds.forEach((hi, i) => {
      const lo = i === 0 ? 1 : s.bounds[i - 1] + 1;
      rows.push(row(paletteIndex(i, s.bounds.length), lo === hi ? `${numberFormat.format(hi)}` : `${numberFormat.format(lo)}–${numberFormat.format(hi)}`));
    });
    legend.append(el('ul', { class: 'ev-classes' }, rows));
    const rate = s.total ? `${((s.closed / s.total) * 100).toFixed(1)}%` : '—';
    legend.append(
      el(
        'div',
        { class: 'ev-legend-foot' },
        `${numberFormat.format(s.withEvents)} 个${LEVEL_LABELS[level]}有事件 · 合计 ${numberFormat.format(s.total)} 件`,
        el('br'),
        `未结 ${numberFormat.format(s.open)} · 超期 ${numberFormat.format(s.overdue)} · 结案率 ${rate}`,
      ),
    );
  }

  let lastLegendLevel = legendLevel();
  map.on('zoomend', () => {
    if (!filter.choropleth) return;
    refreshStats();
    if (legendLevel() !== lastLegendLevel) {
      lastLegendLevel = legendLevel();
      renderLegend();
    }
  });

  // A new style has new sources: feature-state is gone, and the legend's colours have changed.
  map.on('style.load', () => {
    applyLevel('village');
    applyLevel('grid');
    renderLegend();
  });

  /** The choropleth's words for an area under the cursor, or null. */
  function describeArea(level, code) {
    if (!filter.choropleth) return null;
    const a = stats[level]?.byCode.get(String(code));
    return a ? `${a.name || code}：事件 ${numberFormat.format(Number(a.count) || 0)} 件` : null;
  }

  // --- hotspots ----------------------------------------------------------------------------------

  async function loadHotspots() {
    const seq = ++hotspotSeq;
    hotList.replaceChildren(el('li', { class: 'ev-muted' }, '正在计算热点…'));
    try {
      const body = await eventHotspots(eventQuery(filter));
      if (seq !== hotspotSeq) return;
      const list = (Array.isArray(body?.hotspots) ? body.hotspots : []).slice(0, 10);
      if (!list.length) {
        hotList.replaceChildren(el('li', { class: 'ev-muted' }, '此范围内没有热点'));
        return;
      }
      hotList.replaceChildren(
        ...list.map((h, i) => {
          const lon = Number(h.center?.lon ?? h.lon);
          const lat = Number(h.center?.lat ?? h.lat);
          const where = chainName(h.area ?? h.chain);
          return el(
            'li',
            {},
            el(
              'button',
              {
                type: 'button',
                dataset: { lon, lat },
                onclick: () => map.flyTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), 15), duration: 900 }),
              },
              el('span', { class: 'ev-rank' }, String(h.rank ?? i + 1)),
              el(
                'span',
                { class: 'ev-hot-text' },
                el('span', { class: 'ev-hot-count' }, `${numberFormat.format(h.count)} 件`, where ? ` · ${where}` : ''),
                el('span', { class: 'ev-muted' }, categoryList(h.categories), h.open !== undefined ? ` · 未结 ${numberFormat.format(h.open)}` : ''),
              ),
            ),
          );
        }),
      );
    } catch (e) {
      if (seq !== hotspotSeq) return;
      hotList.replaceChildren(el('li', { class: 'ev-muted' }, `无法读取热点：${e.message}`));
    }
  }

  // --- single events -------------------------------------------------------------------------

  /** Opens the popup of an event under `point`, if any; true if it did (the click is used up). */
  function handleClick(e) {
    if (!filter.heat || !map.getLayer('events-point') || map.getZoom() < 14) return false;
    const r = 5;
    const hit = map.queryRenderedFeatures(
      [
        [e.point.x - r, e.point.y - r],
        [e.point.x + r, e.point.y + r],
      ],
      { layers: ['events-point'] },
    )[0];
    if (!hit) return false;
    showPopup(hit, hit.geometry?.type === 'Point' ? hit.geometry.coordinates : e.lngLat);
    return true;
  }

  function showPopup(feature, lngLat) {
    const p = feature.properties || {};
    const row = (k, v) => [el('dt', {}, k), el('dd', { dataset: { field: k } }, v)];
    const when = formatReported(p.reported_at);
    const facts = el(
      'dl',
      {},
      row('状态', STATUS_LABELS[p.status] || p.status || '—'),
      row('上报时间', when),
      row('来源', SOURCE_LABELS[p.source] || p.source || '—'),
      row('编号', p.id ?? '—'),
    );
    const more = el('div', { class: 'ev-popup-more ev-muted' }, p.id !== undefined ? '正在读取详情…' : '');
    const content = el('div', { class: 'ev-popup' }, el('div', { class: 'ev-popup-title' }, CATEGORY_LABELS[p.category] || p.category || '事件'), facts, more);
    popup?.remove();
    const mine = new Popup({ closeButton: true, maxWidth: '280px', className: 'ev-popup-wrap' }).setLngLat(lngLat).setDOMContent(content).addTo(map);
    popup = mine;
    if (p.id === undefined) return;
    // The tile carries what the map needs; the rest (description, place, deadline) is one request.
    eventDetail(p.id)
      .then((e) => {
        if (popup !== mine) return;
        const place = [e.village?.name, e.grid?.name].filter(Boolean).join(' · ') || (e.nearest_grid?.name ? `${e.nearest_grid.name}附近` : '—');
        const deadline = e.deadline ? `${formatReported(e.deadline)}${e.overdue ? '（已超期）' : ''}` : '—';
        facts.append(...row('优先级', e.priority_name || e.priority || '—'), ...row('所在', place), ...row('办理期限', deadline));
        more.className = 'ev-popup-more';
        more.textContent = e.description || '';
        mine.setDOMContent(content);
      })
      .catch((err) => {
        if (popup === mine) more.textContent = `详情读取失败：${err.message}`;
      });
  }

  // --- URL -------------------------------------------------------------------------------------

  function readParams(p) {
    const shown = (p.get('ev') || '').split(',');
    filter.heat = shown.includes('heat');
    filter.choropleth = shown.includes('areas');
    const cat = p.get('ev_cat');
    if (cat && CATEGORY_LABELS[cat]) filter.category = cat;
    const win = p.get('ev_win') || '';
    const pair = /^(\d{4}-\d{2}-\d{2})?_(\d{4}-\d{2}-\d{2})?$/.exec(win);
    if (pair) {
      filter.window = 'custom';
      filter.from = pair[1] || '';
      filter.to = pair[2] || '';
    } else if (WINDOWS.some((w) => w.id === win && w.id !== 'custom')) filter.window = win;
  }

  /** Writes the filter into `url`'s query (only what differs from the defaults). */
  function writeParams(url) {
    const shown = [filter.heat && 'heat', filter.choropleth && 'areas'].filter(Boolean).join(',');
    const set = (k, v) => (v ? url.searchParams.set(k, v) : url.searchParams.delete(k));
    set('ev', shown);
    set('ev_cat', filter.category);
    set('ev_win', filter.window === DEFAULT_WINDOW ? '' : filter.window === 'custom' ? `${filter.from}_${filter.to}` : filter.window);
  }

  /** Whether a style layer of the events group should show. */
  function layerVisible(layer) {
    const part = layer.metadata?.['onemap:events'];
    if (part === 'heat') return filter.heat;
    if (part === 'choropleth') return filter.choropleth;
    return false;
  }

  renderControls();
  renderLegend();
  if (filter.choropleth) map.once('load', () => refreshStats());

  return { filter, stats, tileUrl, layerVisible, writeParams, handleClick, describeArea };
}
