// The profile page's pure parts: which area the URL names, the Chinese names of the lists and
// their states, labels of the paths a diff names, the edit form's numbers and the messages of the
// API's refusals (409 version_conflict, 400 invalid_profile). No DOM here: Node tests import it.

/** The area of `/profile/{code}` (or `/profile.html?area={code}` in the dev server), or null. */
export function codeFromLocation(pathname, search = '') {
  const m = /^\/profile\/(\d{2,20})\/?$/.exec(pathname);
  if (m) return m[1];
  const q = new URLSearchParams(search).get('area');
  return q && /^\d{2,20}$/.test(q) ? q : null;
}

export const LEVEL_NAMES = { city: '市', district: '区县', town: '乡镇街道', village: '村社区', grid: '网格', unit: '单元' };

/** The three lists in page order, with their states: label and tone (todo, doing, done, off). */
export const LISTS = {
  development: {
    label: '发展清单',
    item: '发展项目',
    states: {
      planned: ['计划中', 'todo'],
      in_progress: ['实施中', 'doing'],
      done: ['已完成', 'done'],
      suspended: ['已暂停', 'off'],
    },
  },
  problems: {
    label: '问题清单',
    item: '问题',
    states: {
      open: ['待解决', 'todo'],
      in_progress: ['处理中', 'doing'],
      resolved: ['已解决', 'done'],
      promoted: ['已转办', 'off'],
    },
  },
  tasks: {
    label: '任务清单',
    item: '任务',
    states: {
      active: ['进行中', 'doing'],
      paused: ['已暂停', 'off'],
      done: ['已完成', 'done'],
    },
  },
};

export const LIST_ORDER = ['development', 'problems', 'tasks'];

/** `{label, tone}` of an item's state; an unknown state shows as it is. */
export function stateInfo(list, state) {
  const s = LISTS[list]?.states?.[state];
  return s ? { label: s[0], tone: s[1] } : { label: String(state ?? '—'), tone: 'off' };
}

/** Whether a problem can still be promoted to a development item or a task. */
export function canPromote(item) {
  return item && item.state !== 'promoted' && item.state !== 'resolved' && !item.promoted_to;
}

/** A progress value clamped to 0–100, or null. */
export function progressOf(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return null;
  return Math.max(0, Math.min(100, v));
}

/** Whether a task's deadline (YYYY-MM-DD) has passed on `today` (YYYY-MM-DD) and it is not done. */
export function overdue(item, today) {
  return Boolean(item?.deadline) && item.state !== 'done' && item.deadline < today;
}

/** Names of the keys a diff path goes through (docs/PROFILES.md: `introduction.committee[0].name`). */
const KEY_LABELS = {
  introduction: '村情简介',
  summary: '简介',
  population: '人口',
  registered: '户籍',
  resident: '常住',
  households: '户数',
  area_km2: '面积',
  party: '党组织',
  members: '党员数',
  branches: '支部数',
  committee: '村（居）两委',
  role: '职务',
  name: '姓名',
  phone: '电话',
  grids: '网格',
  code: '代码',
  leader: '网格长',
  unit_heads: '单元长数',
  industries: '主导产业',
  income: '集体收入',
  year: '年份',
  amount_wan: '金额（万元）',
  photos: '照片',
  ref: '文件',
  caption: '说明',
  note: '修改说明',
};

/** `introduction.committee[0].name` → "村情简介 · 村（居）两委 第1项 · 姓名". */
export function pathLabel(path) {
  return String(path)
    .split('.')
    .map((part) => {
      const m = /^([^[\]]+)((?:\[\d+\])*)$/.exec(part);
      if (!m) return part;
      const idx = [...m[2].matchAll(/\[(\d+)\]/g)].map((x) => ` 第${Number(x[1]) + 1}项`).join('');
      return `${KEY_LABELS[m[1]] || m[1]}${idx}`;
    })
    .join(' · ');
}

/** A value of a diff as text: null → "（无）", objects as compact JSON. */
export function diffValue(v) {
  if (v === null || v === undefined) return '（无）';
  if (typeof v === 'string') return v === '' ? '（空）' : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

export const MAX_COUNT = 10_000_000;

/**
 * A count typed in the edit form: `{value}` for an integer (range is the server's to judge: its
 * 400 answer is shown), `{value: null}` for an empty field, `{error}` for anything else.
 */
export function parseCount(text) {
  const s = String(text ?? '').trim().replace(/[,，\s]/g, '');
  if (s === '') return { value: null };
  if (!/^-?\d+$/.test(s)) return { error: '请输入整数' };
  return { value: Number(s) };
}

/**
 * The introduction to PUT: the one loaded, with the edited numbers and summary, without the
 * read-only area_km2. Everything else (committee with its masked phones, grids, industries,
 * income, photos) goes back as it came: the server keeps a phone sent back masked.
 */
export function editedIntroduction(intro, edits) {
  const next = structuredClone(intro || {});
  // Computed from the map, read-only: docs/PROFILES.md says a PUT ignores it, the server refuses it.
  delete next.area_km2;
  next.population = { ...(next.population || {}) };
  next.party = { ...(next.party || {}) };
  if ('registered' in edits) next.population.registered = edits.registered;
  if ('resident' in edits) next.population.resident = edits.resident;
  if ('households' in edits) next.households = edits.households;
  if ('members' in edits) next.party.members = edits.members;
  if ('summary' in edits) next.summary = edits.summary;
  return next;
}

/** The Chinese message of a refused save: a version conflict, invalid fields, or any other error. */
export function saveErrorText(e) {
  const err = e?.error || e?.body?.error || null;
  if (e?.status === 409 || err?.code === 'version_conflict') {
    const current = err?.current_version ?? err?.details?.current_version ?? '?';
    return { title: `档案已被他人修改（当前版本 ${current}），请刷新后重试`, items: [], conflict: true, current };
  }
  if (e?.status === 400) {
    // docs/PROFILES.md says details.errors; the server answers them as error.errors.
    const list = err?.details?.errors ?? err?.errors;
    const errors = Array.isArray(list) ? list : [];
    return {
      title: errors.length ? `保存失败：${errors.length} 处内容不符合要求` : `保存失败：${e.message}`,
      items: errors.map((x) => `${pathLabel(x.path)}：${x.message}`),
      conflict: false,
    };
  }
  return { title: `保存失败：${e?.message || e}`, items: [], conflict: false };
}

/** `2025-12` → `25年12月`; the month axis of the figures. */
export function monthLabel(month) {
  const m = /^(\d{4})-(\d{2})$/.exec(String(month));
  return m ? `${m[1].slice(2)}年${Number(m[2])}月` : String(month);
}
