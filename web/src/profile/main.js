// The profile page of a town or village (/profile/{code}, 一村一档): the header (name, level,
// parent chain, version, who and when), the introduction (村情简介) with an edit form for its
// numbers, the event figures as SVG charts, the development, problem and task lists (a problem
// can be promoted to a development item or a task), and the version history with a diff between
// two versions. A4 print layout in profile.css. Contract: docs/PROFILES.md.

import '../theme.css';
import '../page.css';
import './profile.css';

import { el, fill } from '../dom.js';
import { areaDetail, areaProfile, profileDiff, profileFigures, profileHistory, profileList, promoteProblem, saveProfile } from '../api.js';
import { CATEGORY_LABELS } from '../categories.js';
import { sessionUser } from '../session.js';
import { formatDateTime, formatInt, formatNumber, formatPercent, initTheme, showSignedIn, toast, todayInCity } from '../page.js';
import { OPTIONS, PALETTES, createCharts } from './charts.js';
import {
  LEVEL_NAMES,
  LISTS,
  LIST_ORDER,
  canPromote,
  codeFromLocation,
  diffValue,
  editedIntroduction,
  overdue,
  parseCount,
  pathLabel,
  progressOf,
  saveErrorText,
  stateInfo,
} from './model.js';

const $ = (id) => document.getElementById(id);

const state = {
  code: codeFromLocation(window.location.pathname, window.location.search),
  area: null, // GET /api/areas/{code}: chain
  profile: null,
  lists: { development: null, problems: null, tasks: null },
  figures: null,
  history: null,
  printing: false,
  editBase: null, // the version the edit form started from
};

// For tests and people debugging in the console.
const page = { state, ready: false, chartsDrawn: false, charts: null };
window.onemapProfile = page;

const theme = initTheme(() => drawCharts());

let charts = null;

// --- small pieces ----------------------------------------------------------------------------

function badge(list, s) {
  const { label, tone } = stateInfo(list, s);
  return el('span', { class: `badge tone-${tone}`, dataset: { state: s } }, label);
}

function progressBar(value, label = '进度') {
  const v = progressOf(value);
  if (v === null) return null;
  return el(
    'div',
    { class: 'progress', role: 'progressbar', 'aria-label': label, 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(v) },
    el('div', { class: 'progress-track' }, el('div', { class: 'progress-fill', style: { width: `${v}%` } })),
    el('span', { class: 'progress-text' }, `${Math.round(v)}%`),
  );
}

function facts(rows) {
  const shown = rows.filter((r) => r && r[1] !== null && r[1] !== undefined && r[1] !== '');
  if (!shown.length) return null;
  return el('dl', { class: 'item-facts' }, shown.map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, v))));
}

function table(head, rows, attrs = {}) {
  return el(
    'table',
    { class: 'table', ...attrs },
    el('thead', {}, el('tr', {}, head.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows),
  );
}

function mapLink(lon, lat, text = '地图') {
  if (typeof lon !== 'number' || typeof lat !== 'number') return null;
  return el('a', { class: 'map-link no-print', href: `/#16/${lat.toFixed(5)}/${lon.toFixed(5)}`, title: '在地图中查看' }, text);
}

function stat(field, label, value, unit, note) {
  return el(
    'div',
    { class: 'stat', dataset: { field } },
    el('span', { class: 'stat-value' }, value, unit && value !== '—' ? el('small', {}, unit) : null),
    el('span', { class: 'stat-label' }, label),
    note ? el('span', { class: 'stat-note' }, note) : null,
  );
}

function errorBox(message) {
  return el('p', { class: 'error', role: 'alert' }, message);
}

// --- header ---------------------------------------------------------------------------------

function renderHeader() {
  const p = state.profile;
  const a = state.area;
  const name = p?.name || a?.name || state.code;
  const level = p?.level || a?.level;
  const kind = level === 'town' ? '镇情档案' : level === 'village' ? '村情档案' : '档案';
  document.title = `${name} · ${kind} · 一张图`;
  const chain = a?.chain?.length ? a.chain : p?.parent ? [p.parent] : [];
  const parentCode = p?.parent?.code;
  const chainNodes = chain.map((c) =>
    el('li', {}, c.code === parentCode && c.code?.length >= 9 ? el('a', { href: `/profile/${c.code}`, title: '上级档案' }, c.name) : el('span', {}, c.name)),
  );
  chainNodes.push(el('li', { 'aria-current': 'page' }, el('strong', {}, name)));
  $('pf-intro-title').textContent = level === 'town' ? '镇情简介' : '村情简介';
  fill($('pf-header'),
    el(
      'div',
      { class: 'pf-title-row' },
      el(
        'div',
        {},
        el(
          'div',
          { class: 'chips' },
          level ? el('span', { class: `chip level level-${level}` }, LEVEL_NAMES[level] || level) : null,
          level === 'town' || level === 'village' ? el('span', { class: 'chip' }, level === 'town' ? '一镇一档' : '一村一档') : null,
        ),
        el('h1', { class: 'pf-title', 'data-field': 'name' }, name, el('small', {}, kind)),
        el('nav', { class: 'chain', 'aria-label': '上级区域' }, el('ol', {}, chainNodes)),
      ),
      el(
        'div',
        { class: 'pf-actions no-print' },
        el('a', { class: 'btn', href: `/?area=${encodeURIComponent(state.code)}` }, '在地图中查看'),
        el('button', { class: 'btn primary', type: 'button', id: 'pf-print', onclick: () => window.print() }, '打印'),
      ),
    ),
    p
      ? el(
          'dl',
          { class: 'pf-meta' },
          el('div', {}, el('dt', {}, '代码'), el('dd', { class: 'code' }, p.code)),
          el('div', {}, el('dt', {}, '版本'), el('dd', { 'data-field': 'version' }, `第 ${p.version} 版`)),
          el('div', {}, el('dt', {}, '更新'), el('dd', { 'data-field': 'updated' }, `${formatDateTime(p.updated_at)} · ${p.updated_by || '—'}`)),
          p.note ? el('div', {}, el('dt', {}, '说明'), el('dd', { 'data-field': 'note' }, p.note)) : null,
        )
      : null,
  );
  $('pf-print-foot').textContent = `${name}（${state.code}）${p ? ` · 档案第 ${p.version} 版` : ''} · 打印于 ${formatDateTime(new Date().toISOString())}`;
}

// --- introduction ---------------------------------------------------------------------------

function renderIntro() {
  const body = $('pf-intro-body');
  const p = state.profile;
  if (!p) return;
  const i = p.introduction || {};
  const masked = new Set(p.masked || []);
  const parts = [];
  parts.push(el('p', { class: 'pf-summary', 'data-field': 'summary' }, i.summary || '（暂无简介）'));
  parts.push(
    el(
      'div',
      { class: 'stats' },
      stat('registered', '户籍人口', formatInt(i.population?.registered), '人'),
      stat('resident', '常住人口', formatInt(i.population?.resident), '人'),
      stat('households', '户数', formatInt(i.households), '户'),
      stat('area', '面积', formatNumber(i.area_km2, 2), 'km²'),
      stat('party', '党员', formatInt(i.party?.members), '名'),
      stat('branches', '党支部', formatInt(i.party?.branches), '个'),
    ),
  );

  const committee = i.committee || [];
  parts.push(
    el(
      'div',
      { class: 'pf-block' },
      el('h3', {}, p.level === 'town' ? '领导班子' : '村（居）两委', masked.has('phone') ? el('small', { class: 'muted' }, '（电话已脱敏）') : null),
      committee.length
        ? table(['职务', '姓名', '联系电话'], committee.map((c) => el('tr', {}, el('td', {}, c.role || '—'), el('td', {}, c.name || '—'), el('td', { class: 'code', 'data-field': 'phone' }, c.phone || '—'))), { 'data-field': 'committee' })
        : el('p', { class: 'muted' }, '暂无'),
    ),
  );

  const grids = i.grids || [];
  if (p.level !== 'town' || grids.length) {
    parts.push(
      el(
        'div',
        { class: 'pf-block' },
        el('h3', {}, `网格（${grids.length}）`),
        grids.length
          ? table(
              ['网格代码', '网格长', '联系电话', '单元长'],
              grids.map((g) =>
                el(
                  'tr',
                  {},
                  el('td', { class: 'code' }, el('a', { href: `/?area=${encodeURIComponent(g.code)}` }, g.code)),
                  el('td', {}, g.leader || '—'),
                  el('td', { class: 'code' }, g.phone || '—'),
                  el('td', { class: 'num' }, g.unit_heads === undefined ? '—' : `${formatInt(g.unit_heads)} 名`),
                ),
              ),
              { 'data-field': 'grids' },
            )
          : el('p', { class: 'muted' }, '暂无'),
      ),
    );
  }

  const industries = i.industries || [];
  const income = (i.income || []).slice().sort((a, b) => a.year - b.year);
  parts.push(
    el(
      'div',
      { class: 'pf-row' },
      el(
        'div',
        { class: 'pf-block' },
        el('h3', {}, '主导产业'),
        industries.length ? el('ul', { class: 'tags', 'data-field': 'industries' }, industries.map((x) => el('li', { class: 'chip' }, x))) : el('p', { class: 'muted' }, '暂无'),
      ),
      el(
        'div',
        { class: 'pf-block' },
        el('h3', {}, '集体经济收入'),
        income.length
          ? table(
              ['年份', '收入（万元）', ''],
              (() => {
                const max = Math.max(...income.map((r) => r.amount_wan || 0), 1);
                return income.map((r) =>
                  el(
                    'tr',
                    {},
                    el('td', {}, `${r.year} 年`),
                    el('td', { class: 'num' }, formatNumber(r.amount_wan, 2)),
                    el('td', { class: 'bar-cell', 'aria-hidden': 'true' }, el('span', { class: 'inline-bar', style: { width: `${Math.round(((r.amount_wan || 0) / max) * 100)}%` } })),
                  ),
                );
              })(),
              { 'data-field': 'income' },
            )
          : el('p', { class: 'muted' }, '暂无'),
      ),
    ),
  );

  const photos = i.photos || [];
  parts.push(
    el(
      'div',
      { class: 'pf-block' },
      el('h3', {}, `照片（${photos.length}）`),
      photos.length
        ? el('ul', { class: 'photos', 'data-field': 'photos' }, photos.map((ph) => el('li', {}, el('span', { class: 'photo-icon', 'aria-hidden': 'true' }), el('span', {}, ph.caption || '（无说明）'), el('span', { class: 'code muted' }, ph.ref))))
        : el('p', { class: 'muted' }, '暂无'),
    ),
  );
  fill(body, ...parts);
  $('pf-edit-open').hidden = false;
}

// --- edit form --------------------------------------------------------------------------------

const form = $('pf-edit');

function showFormError(info) {
  const box = $('pf-edit-error');
  fill(box,
    el('div', { class: 'form-error-title', 'data-field': info.conflict ? 'conflict' : 'invalid' }, info.title),
    info.items.length ? el('ul', {}, info.items.map((t) => el('li', {}, t))) : null,
    info.conflict ? el('button', { type: 'button', class: 'btn', onclick: () => refreshAfterConflict() }, '刷新档案') : null,
  );
  box.hidden = false;
}

function clearFormError() {
  const box = $('pf-edit-error');
  box.hidden = true;
  fill(box);
}

function openForm() {
  const p = state.profile;
  if (!p) return;
  const i = p.introduction || {};
  state.editBase = p.version;
  form.elements.registered.value = i.population?.registered ?? '';
  form.elements.resident.value = i.population?.resident ?? '';
  form.elements.households.value = i.households ?? '';
  form.elements.members.value = i.party?.members ?? '';
  form.elements.summary.value = i.summary ?? '';
  form.elements.note.value = '';
  $('pf-edit-user').textContent = sessionUser()?.name || '—';
  $('pf-edit-base').textContent = `（基于第 ${p.version} 版）`;
  clearFormError();
  form.hidden = false;
  $('pf-edit-open').setAttribute('aria-expanded', 'true');
  form.elements.registered.focus();
}

function closeForm() {
  form.hidden = true;
  $('pf-edit-open').setAttribute('aria-expanded', 'false');
  clearFormError();
}

$('pf-edit-open').addEventListener('click', () => (form.hidden ? openForm() : closeForm()));
$('pf-edit-cancel').addEventListener('click', closeForm);

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearFormError();
  const edits = {};
  const wrong = [];
  const names = { registered: '户籍人口', resident: '常住人口', households: '户数', members: '党员人数' };
  for (const [k, label] of Object.entries(names)) {
    const r = parseCount(form.elements[k].value);
    if (r.error) wrong.push(`${label}：${r.error}`);
    else if (r.value !== null) edits[k] = r.value;
  }
  if (wrong.length) {
    showFormError({ title: '请检查输入', items: wrong, conflict: false });
    return;
  }
  edits.summary = form.elements.summary.value;
  const submit = form.querySelector('button[type="submit"]');
  submit.disabled = true;
  submit.textContent = '正在保存…';
  try {
    const saved = await saveProfile(state.code, {
      version: state.editBase,
      introduction: editedIntroduction(state.profile.introduction, edits),
      note: form.elements.note.value.trim(),
    });
    state.profile = saved;
    renderHeader();
    renderIntro();
    closeForm();
    toast(`已保存为第 ${saved.version} 版`, 'ok');
    loadHistory();
  } catch (err) {
    showFormError(saveErrorText(err));
  } finally {
    submit.disabled = false;
    submit.textContent = '保存';
  }
});

async function refreshAfterConflict() {
  try {
    state.profile = await areaProfile(state.code);
    renderHeader();
    renderIntro();
    closeForm();
    loadHistory();
    toast(`已刷新为第 ${state.profile.version} 版，请重新编辑`, 'info');
  } catch (e) {
    toast(`刷新失败：${e.message}`, 'error');
  }
}

// --- figures --------------------------------------------------------------------------------

function renderFigures() {
  const f = state.figures;
  if (!f) return;
  if (f.window?.from && f.window?.to) $('pf-window').textContent = `${formatDateTime(f.window.from).slice(0, 10)} 至 ${formatDateTime(f.window.to).slice(0, 10)}`;
  const c = f.closure || {};
  const diff = typeof c.rate === 'number' && typeof c.parent_rate === 'number' ? (c.rate - c.parent_rate) * 100 : null;
  fill($('pf-kpis'),
    stat('total', '事件总数', formatInt(f.total), '件'),
    stat('open', '未结案', formatInt(f.open), '件'),
    stat('rate', '结案率', formatPercent(c.rate), null, diff === null ? null : `${diff >= 0 ? '高于' : '低于'}${c.parent?.name || '上级'}平均 ${Math.abs(diff).toFixed(1)} 个百分点`),
    stat('parent-rate', `${c.parent?.name || '上级'}平均结案率`, formatPercent(c.parent_rate)),
  );
  const hot = f.hotspots || [];
  fill($('pf-hotspots'),
    ...(hot.length
      ? hot.slice(0, 8).map((h, idx) =>
          el(
            'li',
            {},
            el('span', { class: 'rank' }, String(idx + 1)),
            el('span', { class: 'hot-name' }, h.category_name || CATEGORY_LABELS[h.category] || h.category || '事件'),
            el('span', { class: 'num' }, `${formatInt(h.count)} 件`),
            mapLink(h.lon, h.lat, '定位'),
          ),
        )
      : [el('li', { class: 'muted' }, '暂无热点')]),
  );
  drawCharts();
}

async function drawCharts() {
  const f = state.figures;
  if (!f) return;
  if (!charts) {
    charts = createCharts({ months: $('chart-months'), categories: $('chart-categories'), closure: $('chart-closure') });
    page.charts = charts.charts;
  }
  const p = PALETTES[state.printing ? 'light' : theme()];
  const animate = !state.printing;
  const name = state.profile?.name || state.area?.name || '本村';
  await charts.draw({
    months: OPTIONS.months(f.months || [], p, animate),
    categories: OPTIONS.categories(f.categories || [], p, animate),
    closure: OPTIONS.closure(f.closure || {}, name, p, animate),
  });
  page.chartsDrawn = true;
}

// Print: light colours, no animation, charts drawn at their size on A4 (180 mm wide between the
// 15 mm margins) and scaled by CSS through their viewBox. `beforeprint` comes before the print
// layout exists, so the sizes are computed; a print media query (emulated, or some browsers'
// print preview) follows the laid-out boxes instead.
const MM = 96 / 25.4;

function printSizes() {
  const wide = 180 * MM - 6;
  const half = (180 * MM - 4 * MM) / 2 - 10;
  return { months: { width: wide, height: 60 * MM }, categories: { width: half, height: 60 * MM }, closure: { width: half, height: 28 * MM } };
}

function setPrinting(on, sizes) {
  if (state.printing === on && !sizes) return;
  state.printing = on;
  if (!charts) return;
  charts.resize(on && sizes ? sizes : {});
  drawCharts();
}

window.addEventListener('beforeprint', () => setPrinting(true, printSizes()));
window.addEventListener('afterprint', () => setPrinting(false));
window.matchMedia('print').addEventListener('change', (e) => setPrinting(e.matches, e.matches ? printSizes() : null));
let resizeTimer = null;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => charts?.resize(), 150);
});

// --- the three lists ----------------------------------------------------------------------------

function itemCard(list, item) {
  const origin = item.origin ? `${item.origin.list}:${item.origin.id}` : null;
  const head = el('header', { class: 'item-head' }, el('h3', { class: 'item-title' }, item.title), badge(list, item.state));
  const parts = [head];
  if (list === 'development') {
    parts.push(
      facts([
        ['类型', item.kind],
        ['负责人', item.owner],
        ['预算', typeof item.budget_wan === 'number' ? `${formatNumber(item.budget_wan, 2)} 万元` : null],
        ['资金来源', item.funding],
      ]),
      progressBar(item.progress),
    );
    const ms = item.milestones || [];
    if (ms.length) {
      parts.push(
        el(
          'ol',
          { class: 'milestones', 'aria-label': '里程碑' },
          ms.map((m) => el('li', { class: m.done ? 'done' : '' }, el('span', { class: 'ms-mark', 'aria-label': m.done ? '已完成' : '未完成' }), el('span', { class: 'ms-date' }, m.date || ''), el('span', {}, m.title))),
        ),
      );
    }
    const places = item.places || [];
    if (places.length) parts.push(el('div', { class: 'item-places' }, '地点：', places.map((pl) => el('span', {}, pl.label || `${pl.lon}, ${pl.lat}`, ' ', mapLink(pl.lon, pl.lat)))));
  } else if (list === 'problems') {
    parts.push(
      item.description ? el('p', { class: 'item-desc' }, item.description) : null,
      facts([
        ['类别', item.category ? CATEGORY_LABELS[item.category] || item.category : null],
        ['关联事件', typeof item.event_count === 'number' ? `${formatInt(item.event_count)} 件` : null],
        ['负责人', item.owner],
        ['位置', item.place ? el('span', {}, `${Number(item.place.lon).toFixed(4)}, ${Number(item.place.lat).toFixed(4)} `, mapLink(item.place.lon, item.place.lat)) : null],
      ]),
    );
    if (item.promoted_to) {
      parts.push(el('p', { class: 'item-origin', 'data-field': 'promoted-to' }, `已转入${LISTS[item.promoted_to.list]?.label || item.promoted_to.list}（#${item.promoted_to.id}）`));
    }
    if (canPromote(item)) {
      parts.push(
        el(
          'div',
          { class: 'item-actions no-print' },
          el('button', { type: 'button', class: 'btn small', dataset: { action: 'promote', to: 'development' }, onclick: (e) => promote(item, 'development', e.currentTarget) }, '转为发展项目'),
          el('button', { type: 'button', class: 'btn small', dataset: { action: 'promote', to: 'tasks' }, onclick: (e) => promote(item, 'tasks', e.currentTarget) }, '转为任务'),
        ),
      );
    }
  } else if (list === 'tasks') {
    const late = overdue(item, todayInCity());
    parts.push(
      item.description ? el('p', { class: 'item-desc' }, item.description) : null,
      facts([
        ['负责人', item.owner],
        ['期限', item.deadline ? el('span', { class: late ? 'late' : '' }, item.deadline, late ? el('span', { class: 'badge tone-late' }, '已逾期') : null) : '长期'],
      ]),
    );
    const targets = (item.targets || []).slice().sort((a, b) => a.year - b.year);
    if (targets.length) {
      parts.push(
        table(
          ['年份', '目标', '完成'],
          targets.map((t) => el('tr', {}, el('td', {}, `${t.year}`), el('td', {}, t.target), el('td', { class: 'progress-cell' }, progressBar(t.progress, `${t.year} 年目标进度`)))),
          { class: 'table targets' },
        ),
      );
    }
  }
  if (item.origin) {
    parts.push(el('p', { class: 'item-origin', 'data-field': 'origin' }, `由${LISTS[item.origin.list]?.label || item.origin.list}（#${item.origin.id}）转入`));
  }
  parts.push(el('footer', { class: 'item-foot muted' }, `#${item.id} · 更新于 ${formatDateTime(item.updated_at)}`));
  return el('article', { class: `item item-${list}`, dataset: { id: String(item.id), list, state: item.state, ...(origin ? { origin } : {}) } }, parts);
}

function renderList(list) {
  const section = $(`pf-${list}`);
  const box = section.querySelector('.pf-items');
  const items = state.lists[list];
  if (!Array.isArray(items)) return;
  section.querySelector('.pf-count').textContent = `共 ${items.length} 项`;
  fill(box, ...(items.length ? items.map((it) => itemCard(list, it)) : [el('p', { class: 'muted' }, '暂无')]));
}

async function loadList(list) {
  try {
    const body = await profileList(state.code, list);
    state.lists[list] = body.items || [];
    renderList(list);
  } catch (e) {
    state.lists[list] = null;
    fill($(`pf-${list}`).querySelector('.pf-items'), errorBox(`${LISTS[list].label}加载失败：${e.message}`));
  }
}

async function promote(item, to, button) {
  const buttons = button.parentElement.querySelectorAll('button');
  for (const b of buttons) b.disabled = true;
  button.textContent = '正在转入…';
  try {
    const created = await promoteProblem(state.code, item.id, to);
    await Promise.all([loadList('problems'), loadList(to), reloadProfile()]);
    toast(`已转入${LISTS[to].label}：${created.title}`, 'ok');
    const card = document.querySelector(`#pf-${to} .item[data-id="${created.id}"]`);
    if (card) {
      card.classList.add('fresh');
      card.scrollIntoView({ block: 'nearest' });
    }
  } catch (e) {
    toast(`转入失败：${e.message}`, 'error');
    for (const b of buttons) b.disabled = false;
    button.textContent = to === 'development' ? '转为发展项目' : '转为任务';
  }
}

async function reloadProfile() {
  try {
    state.profile = await areaProfile(state.code);
    renderHeader();
    if (form.hidden) renderIntro();
  } catch {
    // the lists are what changed; the header keeps what it had
  }
}

// --- history and diff -------------------------------------------------------------------------

async function loadHistory() {
  const box = $('pf-versions');
  try {
    const body = await profileHistory(state.code);
    state.history = body.versions || [];
    renderHistory();
  } catch (e) {
    fill(box, errorBox(`版本记录加载失败：${e.message}`));
  }
}

function renderHistory() {
  const versions = state.history || [];
  const from = $('pf-diff-from');
  const to = $('pf-diff-to');
  const option = (v) => el('option', { value: String(v.version) }, `第 ${v.version} 版 · ${formatDateTime(v.updated_at)}`);
  fill(from, ...versions.map(option));
  fill(to, ...versions.map(option));
  if (versions.length) {
    to.value = String(versions[0].version);
    from.value = String((versions[1] || versions[0]).version);
  }
  $('pf-compare').hidden = versions.length < 2;
  fill($('pf-versions'),
    versions.length
      ? table(
          ['版本', '时间', '修改人', '说明', ''],
          versions.map((v, idx) =>
            el(
              'tr',
              { dataset: { version: String(v.version) } },
              el('td', {}, `第 ${v.version} 版`),
              el('td', {}, formatDateTime(v.updated_at)),
              el('td', {}, v.updated_by || '—'),
              el('td', {}, v.note || ''),
              el('td', {}, versions[idx + 1] ? el('button', { type: 'button', class: 'link', onclick: () => showDiff(versions[idx + 1].version, v.version) }, '与上一版比较') : el('span', { class: 'muted' }, '首版')),
            ),
          ),
          { 'data-field': 'versions' },
        )
      : el('p', { class: 'muted' }, '暂无版本记录'),
  );
}

$('pf-compare').addEventListener('submit', (e) => {
  e.preventDefault();
  showDiff(Number($('pf-diff-from').value), Number($('pf-diff-to').value));
});

async function showDiff(from, to) {
  const box = $('pf-diff');
  $('pf-diff-from').value = String(from);
  $('pf-diff-to').value = String(to);
  fill(box, el('p', { class: 'muted' }, '正在比较…'));
  try {
    const d = await profileDiff(state.code, from, to);
    const changes = d.changes || [];
    fill(box,
      el('div', { class: 'pf-diff-title' }, `第 ${d.from ?? from} 版 → 第 ${d.to ?? to} 版：${changes.length ? `${changes.length} 处变化` : '没有变化'}`),
      changes.length
        ? table(
            ['内容', '原值', '新值'],
            changes.map((c) =>
              el(
                'tr',
                { dataset: { path: c.path } },
                el('td', {}, pathLabel(c.path), el('div', { class: 'code muted' }, c.path)),
                el('td', { class: c.from === null ? 'diff-none' : 'diff-old' }, diffValue(c.from)),
                el('td', { class: c.to === null ? 'diff-none' : 'diff-new' }, diffValue(c.to)),
              ),
            ),
            { 'data-field': 'diff' },
          )
        : null,
    );
  } catch (e) {
    fill(box, errorBox(`比较失败：${e.message}`));
  }
}

// --- start ------------------------------------------------------------------------------------

async function start() {
  if (!(await showSignedIn())) return;
  if (!state.code) {
    fill($('pf-header'), el('h1', { class: 'pf-title' }, '没有指定区域'), el('p', { class: 'muted' }, '地址应为 /profile/{区域代码}，如 /profile/350304100001。'));
    return;
  }
  const areaP = areaDetail(state.code)
    .then((a) => {
      state.area = a;
    })
    .catch(() => {});
  let missing = null;
  try {
    state.profile = await areaProfile(state.code);
  } catch (e) {
    missing = e;
  }
  await areaP;
  renderHeader();
  if (missing) {
    const text = missing.status === 404 ? `${state.area?.name || state.code} 暂无档案（只有乡镇街道和村社区有档案）。` : `档案加载失败：${missing.message}`;
    fill($('pf-intro-body'), errorBox(text));
    for (const id of ['pf-figures', ...LIST_ORDER.map((l) => `pf-${l}`), 'pf-history']) $(id).hidden = true;
    document.querySelector('.pf-toc').hidden = true;
    return;
  }
  renderIntro();
  const figuresP = profileFigures(state.code)
    .then((f) => {
      state.figures = f;
      renderFigures();
      return drawCharts();
    })
    .catch((e) => {
      const box = $('pf-figures-error');
      box.textContent = `事件态势加载失败：${e.message}`;
      box.hidden = false;
    });
  await Promise.all([...LIST_ORDER.map(loadList), figuresP, loadHistory()]);
}

start().finally(() => {
  $('profile').removeAttribute('aria-busy');
  page.ready = true;
});
