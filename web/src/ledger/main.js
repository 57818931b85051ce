// The ledger page (/ledger, 基层一张表): pick one of the ledgers of `GET /api/ledgers`, tick the
// fields to show, filter (area, tags, ranges, enums, text, updated since), sort, preview a page
// of 50 rows (`POST /api/ledgers/{name}/query`, format json) and download the whole result as CSV
// (format csv, streamed into a file). Contract: docs/PROFILES.md ("Ledgers").

import '../theme.css';
import '../page.css';
import './ledger.css';

import { el, fill } from '../dom.js';
import { downloadLedger, ledgers as fetchLedgers, queryLedger } from '../api.js';
import { createSearch } from '../search.js';
import { formatBytes, formatInt, formatNumber, initTheme, showSignedIn, toast, todayInCity } from '../page.js';
import { PAGE_SIZE, VALUE_LABELS, buildQuery, cellText, csvFileName, hasNext, pageText, rangeInputType, valueLabel } from './model.js';

const $ = (id) => document.getElementById(id);

const state = {
  ledgers: [],
  ledger: null, // the chosen entry of GET /api/ledgers
  areaCode: null, // the area filter (a code)
  areaName: null,
  query: null, // the body of the last preview (paging re-sends it with another offset)
  offset: 0,
  result: null, // the last JSON answer
  busy: false,
  download: null, // AbortController of a running download
  lastDownload: null, // {name, bytes, rows, masked}
};

// For tests and people debugging in the console.
window.onemapLedger = { state, ready: false };

initTheme();

const TYPE_NAMES = { text: '文本', int: '整数', number: '数值', date: '日期', time: '时间', enum: '枚举', tags: '标签', area: '区域' };

// --- the ledger and its fields ----------------------------------------------------------------

function fieldOf(name) {
  return state.ledger?.fields.find((f) => f.name === name) || null;
}

function renderLedgerOptions() {
  const select = $('lg-ledger');
  // `rows` (docs/PROFILES.md) may be missing: then the label alone.
  fill(select, ...state.ledgers.map((l) => el('option', { value: l.name }, typeof l.rows === 'number' ? `${l.label}（${formatInt(l.rows)} 条）` : l.label)));
}

function chooseLedger(name) {
  const ledger = state.ledgers.find((l) => l.name === name) || state.ledgers[0] || null;
  state.ledger = ledger;
  state.query = null;
  state.result = null;
  state.offset = 0;
  if (!ledger) return;
  $('lg-ledger').value = ledger.name;
  const url = new URL(window.location.href);
  url.searchParams.set('ledger', ledger.name);
  window.history.replaceState(null, '', url.pathname + url.search);
  document.title = `一张图 · 一张表 · ${ledger.label}`;
  $('lg-ledger-info').textContent = `${ledger.label}台账，${typeof ledger.rows === 'number' ? `共 ${formatInt(ledger.rows)} 条记录，` : ''}${ledger.fields.length} 个字段`;
  renderFields(ledger.default_fields);
  renderFilters();
  renderSort();
  clearError();
  renderResult();
}

function renderFields(checked) {
  const on = new Set(checked);
  const box = $('lg-fields');
  fill(box,
    ...state.ledger.fields.map((f) =>
      el(
        'label',
        { class: 'lg-check', title: `${f.name} · ${TYPE_NAMES[f.type] || f.type}` },
        el('input', { type: 'checkbox', name: 'field', value: f.name, checked: on.has(f.name), onchange: updateFieldCount }),
        el('span', {}, f.label),
        f.personal ? el('span', { class: 'chip chip-personal', title: '个人信息：预览和导出时脱敏' }, '脱敏') : null,
      ),
    ),
  );
  updateFieldCount();
}

function checkedFields() {
  return [...document.querySelectorAll('#lg-fields input[name="field"]:checked')].map((i) => i.value);
}

function updateFieldCount() {
  $('lg-field-count').textContent = `（已选 ${checkedFields().length}/${state.ledger?.fields.length ?? 0}）`;
}

$('lg-fields-default').addEventListener('click', () => renderFields(state.ledger?.default_fields || []));
$('lg-fields-all').addEventListener('click', () => renderFields(state.ledger?.fields.map((f) => f.name) || []));
$('lg-fields-none').addEventListener('click', () => renderFields([]));

// --- filters ----------------------------------------------------------------------------------

function renderFilters() {
  const box = $('lg-filters');
  const rows = [];
  for (const f of state.ledger.fields) {
    if (f.filter === 'contains') {
      rows.push(el('label', { class: 'lg-field', dataset: { filter: 'contains', field: f.name } }, `${f.label} 包含`, el('input', { type: 'text', 'data-contains': f.name, autocomplete: 'off' })));
    } else if (f.filter === 'range') {
      const type = rangeInputType(f.type);
      const step = f.type === 'number' ? 'any' : undefined;
      rows.push(
        el(
          'div',
          { class: 'lg-field', dataset: { filter: 'range', field: f.name } },
          el('span', {}, f.label),
          el(
            'div',
            { class: 'lg-range' },
            el('input', { type, step, 'data-range-min': f.name, placeholder: '最小', 'aria-label': `${f.label} 最小` }),
            el('span', { class: 'muted' }, '至'),
            el('input', { type, step, 'data-range-max': f.name, placeholder: '最大', 'aria-label': `${f.label} 最大` }),
          ),
        ),
      );
    } else if (f.filter === 'in' && Array.isArray(f.values)) {
      rows.push(
        el(
          'fieldset',
          { class: 'lg-field lg-set', dataset: { filter: 'in', field: f.name } },
          el('legend', {}, f.label),
          el('div', { class: 'lg-values' }, f.values.map((v) => el('label', { class: 'lg-check' }, el('input', { type: 'checkbox', 'data-in': f.name, value: v }), el('span', {}, valueLabel(state.ledger.name, f.name, v))))),
        ),
      );
    } else if (f.filter === 'tags' && Array.isArray(f.values)) {
      const mode = `tagmode-${f.name}`;
      rows.push(
        el(
          'fieldset',
          { class: 'lg-field lg-set', dataset: { filter: 'tags', field: f.name } },
          el(
            'legend',
            {},
            f.label,
            el(
              'span',
              { class: 'lg-mode' },
              el('label', {}, el('input', { type: 'radio', name: mode, value: 'any', checked: true, 'data-tagmode': f.name }), '任一'),
              el('label', {}, el('input', { type: 'radio', name: mode, value: 'all', 'data-tagmode': f.name }), '全部'),
            ),
          ),
          el('div', { class: 'lg-values' }, f.values.map((v) => el('label', { class: 'lg-check' }, el('input', { type: 'checkbox', 'data-tags': f.name, value: v }), el('span', {}, v)))),
        ),
      );
    }
  }
  fill(box, ...rows);
}

function formState() {
  const q = (sel) => [...document.querySelectorAll(sel)];
  const tags = {};
  for (const input of q('#lg-filters input[data-tags]:checked')) {
    const f = input.dataset.tags;
    tags[f] ??= { mode: document.querySelector(`input[data-tagmode="${f}"]:checked`)?.value || 'any', values: [] };
    tags[f].values.push(input.value);
  }
  const ranges = {};
  for (const input of q('#lg-filters input[data-range-min], #lg-filters input[data-range-max]')) {
    const f = input.dataset.rangeMin || input.dataset.rangeMax;
    ranges[f] ??= {};
    ranges[f][input.dataset.rangeMin ? 'min' : 'max'] = input.value;
  }
  const inn = {};
  for (const input of q('#lg-filters input[data-in]:checked')) (inn[input.dataset.in] ??= []).push(input.value);
  const contains = {};
  for (const input of q('#lg-filters input[data-contains]')) contains[input.dataset.contains] = input.value;
  return {
    fields: checkedFields(),
    area: areaFilter(),
    tags,
    ranges,
    in: inn,
    contains,
    updatedSince: $('lg-updated').value,
    sort: { field: $('lg-sort-field').value, dir: $('lg-sort-dir').value },
  };
}

// --- the area filter: a code typed, or an area picked from the search -------------------------

const areaInput = $('lg-area');

function areaFilter() {
  const typed = areaInput.value.trim();
  if (!typed) return '';
  if (state.areaCode && typed === state.areaName) return state.areaCode;
  if (/^\d+$/.test(typed)) return typed;
  return state.areaCode || typed; // a name not picked: the server says what is wrong with it
}

function showPickedArea() {
  const code = areaFilter();
  $('lg-area-picked').textContent = code ? (state.areaName && state.areaCode === code ? `${state.areaName} · ${code}` : /^\d+$/.test(code) ? `代码 ${code}` : '请从列表中选择区域') : '全市';
}

createSearch({
  input: areaInput,
  list: $('lg-area-results'),
  onPick: (area) => {
    state.areaCode = area.code;
    state.areaName = area.name;
    showPickedArea();
  },
});
areaInput.addEventListener('input', () => {
  if (areaInput.value.trim() !== state.areaName) {
    state.areaCode = null;
    state.areaName = null;
  }
  showPickedArea();
});

// --- sort ---------------------------------------------------------------------------------------

function renderSort() {
  const select = $('lg-sort-field');
  fill(select, el('option', { value: '' }, '默认顺序'), ...state.ledger.fields.filter((f) => f.sortable).map((f) => el('option', { value: f.name }, f.label)));
  $('lg-sort-dir').value = 'asc';
}

// --- errors -------------------------------------------------------------------------------------

function showError(e, what) {
  const box = $('lg-error');
  const lines = [];
  if (e.status === 400) lines.push(el('div', { class: 'form-error-title' }, `${what}：查询条件有误`), el('div', { 'data-field': 'message' }, e.message));
  else if (e.status === 404) lines.push(el('div', { class: 'form-error-title' }, `${what}：台账不存在`), el('div', {}, e.message));
  else lines.push(el('div', { class: 'form-error-title' }, `${what}失败`), el('div', {}, e.message));
  const errors = e.error?.details?.errors;
  if (Array.isArray(errors) && errors.length) lines.push(el('ul', {}, errors.map((x) => el('li', {}, x.path ? `${x.path}：${x.message}` : x.message))));
  fill(box, ...lines);
  box.hidden = false;
}

function clearError() {
  $('lg-error').hidden = true;
  fill($('lg-error'));
}

// --- preview --------------------------------------------------------------------------------------

async function runQuery(query, offset) {
  if (state.busy) return;
  state.busy = true;
  clearError();
  setBusy(true);
  try {
    const body = { ...query, page: { size: PAGE_SIZE, offset } };
    const answer = await queryLedger(state.ledger.name, body);
    state.query = query;
    state.offset = answer.offset ?? offset;
    // Without count in a later page, keep the total of the first.
    if (answer.total == null && typeof state.result?.total === 'number') answer.total = state.result.total;
    state.result = answer;
    renderResult();
  } catch (e) {
    showError(e, '预览');
  } finally {
    state.busy = false;
    setBusy(false);
  }
}

function setBusy(on) {
  $('lg-preview').disabled = on;
  $('lg-preview').textContent = on ? '正在查询…' : '预览';
  $('lg-table').setAttribute('aria-busy', String(on));
  updatePager();
}

$('lg-preview').addEventListener('click', () => {
  const form = formState();
  if (!form.fields.length) {
    showError({ status: 0, message: '请至少勾选一个显示字段' }, '预览');
    return;
  }
  state.result = null;
  runQuery(buildQuery(state.ledger, form, { offset: 0, size: PAGE_SIZE, count: true }), 0);
});

$('lg-prev').addEventListener('click', () => {
  if (state.query) runQuery(state.query, Math.max(0, state.offset - PAGE_SIZE));
});
$('lg-next').addEventListener('click', () => {
  if (state.query) runQuery(state.query, state.offset + PAGE_SIZE);
});

function renderResult() {
  const table = $('lg-table');
  const r = state.result;
  if (!r) {
    fill(table);
    $('lg-summary').textContent = state.ledger ? `${state.ledger.label}：勾选字段、设置条件后点击“预览”。` : '';
    updatePager();
    return;
  }
  const masked = new Set(r.masked || []);
  const fields = r.fields || [];
  fill(table,
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { class: 'lg-rownum', scope: 'col' }, '#'),
        fields.map((f) => el('th', { scope: 'col', dataset: { field: f.name }, class: masked.has(f.name) ? 'masked' : '' }, f.label, masked.has(f.name) ? el('span', { class: 'chip chip-personal' }, '已脱敏') : null)),
      ),
    ),
    el(
      'tbody',
      {},
      (r.rows || []).map((row, i) =>
        el(
          'tr',
          {},
          el('td', { class: 'lg-rownum muted' }, String(state.offset + i + 1)),
          fields.map((f, j) => {
            const v = row[j];
            const numeric = typeof v === 'number';
            return el('td', { dataset: { field: f.name }, class: `${masked.has(f.name) ? 'masked code' : ''}${numeric ? ' num' : ''}`.trim() }, cellText(v, f.type, VALUE_LABELS[`${r.ledger}.${f.name}`]));
          }),
        ),
      ),
    ),
  );
  if (!(r.rows || []).length) table.append(el('tbody', {}, el('tr', {}, el('td', { colspan: String(fields.length + 1), class: 'muted lg-empty' }, '没有符合条件的记录'))));
  const maskedLabels = fields.filter((f) => masked.has(f.name)).map((f) => f.label);
  fill($('lg-summary'),
    el('strong', {}, state.ledger.label),
    el('span', { 'data-field': 'total' }, typeof r.total === 'number' ? `共 ${formatInt(r.total)} 条` : '总数未统计'),
    el('span', { 'data-field': 'elapsed' }, `查询用时 ${formatNumber(r.elapsed_ms, 1)} ms`),
    maskedLabels.length ? el('span', { 'data-field': 'masked', class: 'lg-masked' }, `已脱敏：${maskedLabels.join('、')}`) : null,
  );
  updatePager();
}

function updatePager() {
  const r = state.result;
  const rows = r?.rows?.length ?? 0;
  $('lg-page').textContent = r ? pageText(state.offset, rows, r.total) : '';
  $('lg-prev').disabled = state.busy || !r || state.offset <= 0;
  $('lg-next').disabled = state.busy || !r || !hasNext(state.offset, rows, PAGE_SIZE, r.total);
}

// --- CSV download: streamed into a Blob, then saved through an <a download> ------------------------

const csvButton = $('lg-csv');
const xlsxButton = $('lg-xlsx');
const BUTTON_TEXT = { csv: '下载 CSV', xlsx: '下载 Excel' };

csvButton.addEventListener('click', () => startDownload('csv'));
xlsxButton.addEventListener('click', () => startDownload('xlsx'));

function startDownload(format) {
  if (state.download) {
    state.download.abort();
    return;
  }
  const form = formState();
  if (!form.fields.length) {
    showError({ status: 0, message: '请至少勾选一个显示字段' }, '下载');
    return;
  }
  const query = buildQuery(state.ledger, form, { offset: 0, size: PAGE_SIZE, count: false });
  delete query.page; // a download is the whole result
  delete query.count;
  download(query, format);
}

async function download(query, format) {
  clearError();
  const status = $('lg-download');
  const controller = new AbortController();
  const button = format === 'xlsx' ? xlsxButton : csvButton;
  state.download = controller;
  button.textContent = '取消下载';
  button.classList.add('busy');
  status.textContent = '正在导出…';
  const ledger = state.ledger;
  try {
    const res = await downloadLedger(ledger.name, query, { signal: controller.signal, format });
    const maskedHeader = res.headers.get('x-onemap-masked') || '';
    let name = csvFileName(res.headers.get('content-disposition'), ledger.label, todayInCity());
    if (format === 'xlsx') name = name.replace(/\.csv$/, '.xlsx');
    const chunks = [];
    let bytes = 0;
    let newlines = 0;
    let last = 10;
    let shownAt = 0;
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      bytes += value.length;
      for (let i = 0; i < value.length; i++) if (value[i] === 10) newlines++;
      last = value[value.length - 1];
      const now = performance.now();
      if (now - shownAt > 200) {
        shownAt = now;
        status.textContent = format === 'xlsx'
          ? `正在导出… 已接收 ${formatBytes(bytes)}`
          : `正在导出… 已接收 ${formatBytes(bytes)}，约 ${formatInt(Math.max(0, newlines - 1))} 行`;
      }
    }
    const rows = Math.max(0, newlines + (last === 10 ? 0 : 1) - 1);
    const blob = new Blob(chunks, {
      type: format === 'xlsx' ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv;charset=utf-8',
    });
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    // Revoked later: the browser may still be reading it.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    const maskedLabels = maskedHeader
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((n) => fieldOf(n)?.label || n);
    state.lastDownload = { name, bytes, rows: format === 'xlsx' ? null : rows, masked: maskedLabels };
    const size = format === 'xlsx' ? formatBytes(bytes) : `${formatBytes(bytes)}，${formatInt(rows)} 行`;
    fill(status,
      el('span', { 'data-field': 'done' }, `已下载 ${name}（${size}）`),
      maskedLabels.length ? el('span', { class: 'lg-masked' }, `，已脱敏：${maskedLabels.join('、')}`) : null,
    );
  } catch (e) {
    if (e.name === 'AbortError') {
      status.textContent = '已取消下载';
    } else {
      status.textContent = '';
      showError(e, '下载');
    }
  } finally {
    state.download = null;
    button.textContent = BUTTON_TEXT[format];
    button.classList.remove('busy');
  }
}

// --- reset, start ---------------------------------------------------------------------------------

$('lg-reset').addEventListener('click', () => {
  areaInput.value = '';
  state.areaCode = null;
  state.areaName = null;
  $('lg-updated').value = '';
  showPickedArea();
  chooseLedger(state.ledger?.name);
});

$('lg-ledger').addEventListener('change', (e) => chooseLedger(e.target.value));

async function start() {
  showPickedArea();
  if (!(await showSignedIn())) return;
  try {
    const body = await fetchLedgers();
    state.ledgers = body.ledgers || [];
    if (!state.ledgers.length) {
      $('lg-summary').textContent = '服务器没有提供任何台账。';
      return;
    }
    renderLedgerOptions();
    chooseLedger(new URLSearchParams(window.location.search).get('ledger'));
  } catch (e) {
    fill($('lg-ledger'), el('option', { value: '' }, '加载失败'));
    showError(e, '台账列表加载');
    toast(`台账列表加载失败：${e.message}`, 'error');
  }
}

start().finally(() => {
  window.onemapLedger.ready = true;
});
