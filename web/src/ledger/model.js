// The ledger page's pure parts: the query body built from what the form holds, cell texts, the
// CSV file name, and the Chinese message of a refused query. No DOM: Node tests import it.
// Contract: docs/PROFILES.md ("Ledgers").

import { PRIORITY_LABELS, SOURCE_LABELS, STATUS_LABELS } from '../categories.js';
import { LISTS } from '../profile/model.js';

export const PAGE_SIZE = 50;

/**
 * Chinese names of the enum values some ledgers answer as codes (`ledger.field` → code → name);
 * filters still send the codes.
 */
export const VALUE_LABELS = {
  'events.status': STATUS_LABELS,
  'events.source': SOURCE_LABELS,
  'events.priority': PRIORITY_LABELS,
  'projects.state': Object.fromEntries(Object.entries(LISTS.development.states).map(([k, [label]]) => [k, label])),
};

/** The name shown for an enum value: its Chinese name if known, else the value. */
export function valueLabel(ledger, field, value) {
  return VALUE_LABELS[`${ledger}.${field}`]?.[value] ?? value;
}

/** Field types whose range inputs are numbers. */
const NUMERIC = new Set(['int', 'number']);

/**
 * The HTML input type of a range bound for a field type: number, date, or datetime-local for
 * `time` (a moment; sent as RFC 3339 in Beijing time).
 */
export function rangeInputType(type) {
  if (NUMERIC.has(type)) return 'number';
  if (type === 'date') return 'date';
  if (type === 'time') return 'datetime-local';
  return 'text';
}

/** A range bound typed in the form as the API wants it, or undefined for an empty one. */
export function rangeValue(type, text) {
  const s = String(text ?? '').trim();
  if (s === '') return undefined;
  if (NUMERIC.has(type)) {
    const n = Number(s);
    return Number.isFinite(n) ? n : s; // the server says what is wrong with it
  }
  if (type === 'time') return localToRfc3339(s);
  return s;
}

/** `2026-11-01T08:30` (datetime-local, Beijing) → `2026-11-01T08:30:00+08:00`. */
export function localToRfc3339(s) {
  const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2})(?::(\d{2}))?)?$/.exec(s);
  if (!m) return s;
  return `${m[1]}T${m[2] || '00:00'}:${m[3] || '00'}+08:00`;
}

/**
 * The body of `POST /api/ledgers/{name}/query` (without `format`) from the form's state:
 * `{fields, area, tags: {field: {mode, values}}, ranges: {field: {min, max}}, in: {field: [v]},
 * contains: {field: text}, updatedSince: 'YYYY-MM-DD', sort: {field, dir}}` and the field list of
 * the ledger (for types). Empty filters are left out.
 */
export function buildQuery(ledger, form, { offset = 0, size = PAGE_SIZE, count = true } = {}) {
  const types = Object.fromEntries((ledger?.fields || []).map((f) => [f.name, f.type]));
  const filters = {};
  const area = String(form.area ?? '').trim();
  if (area) filters.area = area;

  // The contract's tags filter names no field: a ledger has one tags field (people: 标签).
  for (const t of Object.values(form.tags || {})) {
    const values = (t.values || []).filter(Boolean);
    if (!values.length) continue;
    filters.tags = { [t.mode === 'all' ? 'all' : 'any']: values };
    break;
  }

  const ranges = {};
  for (const [field, r] of Object.entries(form.ranges || {})) {
    const min = rangeValue(types[field], r.min);
    const max = rangeValue(types[field], r.max);
    if (min === undefined && max === undefined) continue;
    ranges[field] = {};
    if (min !== undefined) ranges[field].min = min;
    if (max !== undefined) ranges[field].max = max;
  }
  if (Object.keys(ranges).length) filters.ranges = ranges;

  const inn = {};
  for (const [field, values] of Object.entries(form.in || {})) {
    if (values?.length) inn[field] = values.slice();
  }
  if (Object.keys(inn).length) filters.in = inn;

  const contains = {};
  for (const [field, text] of Object.entries(form.contains || {})) {
    const s = String(text ?? '').trim();
    if (s) contains[field] = s;
  }
  if (Object.keys(contains).length) filters.contains = contains;

  const since = String(form.updatedSince ?? '').trim();
  if (since) filters.updated_since = /^\d{4}-\d{2}-\d{2}$/.test(since) ? `${since}T00:00:00+08:00` : since;

  const body = { fields: (form.fields || []).slice(), filters };
  if (form.sort?.field) body.sort = [{ field: form.sort.field, dir: form.sort.dir === 'desc' ? 'desc' : 'asc' }];
  body.page = { size, offset };
  body.count = count;
  return body;
}

/** The text of one cell: tags joined with 、, null as —, times in Beijing time, codes named. */
export function cellText(value, type, labels = null) {
  if (value === null || value === undefined || value === '') return '—';
  if (labels && typeof value === 'string' && labels[value]) return labels[value];
  if (Array.isArray(value)) return value.length ? value.join('、') : '—';
  if (type === 'time' && typeof value === 'string') {
    const d = new Date(value);
    if (!Number.isNaN(d.getTime())) {
      return d.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
    }
  }
  if (typeof value === 'number') return new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 6, useGrouping: type !== 'int' || Math.abs(value) >= 10000 }).format(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The file name of a download: the server's (Content-Disposition), else `{label}_{YYYYMMDD}.csv`. */
export function csvFileName(disposition, label, today) {
  const d = String(disposition || '');
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(d);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''));
    } catch {
      // fall through
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/.exec(d);
  if (plain) return plain[1].trim();
  return `${label || 'ledger'}_${String(today).replace(/-/g, '')}.csv`;
}

/** "第 51–100 条，共 1,234 条" for a page. */
export function pageText(offset, rows, total) {
  const fmt = (n) => new Intl.NumberFormat('zh-CN').format(n);
  if (!rows) return total === undefined || total === null ? '没有数据' : `共 ${fmt(total)} 条，本页无数据`;
  const range = `第 ${fmt(offset + 1)}–${fmt(offset + rows)} 条`;
  return total === undefined || total === null ? range : `${range}，共 ${fmt(total)} 条`;
}

/** Whether there is a page after this one. */
export function hasNext(offset, rows, size, total) {
  if (typeof total === 'number') return offset + rows < total;
  return rows >= size;
}
