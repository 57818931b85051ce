// The side panel: what the selected area is (name, code, level, parent chain, child counts, area,
// profile), the summary of a town's or village's archive (村情档案, docs/PROFILES.md) with a link
// to its profile page, its children, and the answers of the grid tool. Built with DOM calls, never
// innerHTML, so names from the database cannot inject markup.

import { areaProfile, childAreas } from './api.js';
import { COUNT_NAMES, LEVEL_NAMES } from './levels.js';

/** Labels and units of the properties the demo city carries; others are shown by their key. */
const PROPERTY_LABELS = {
  official_name: ['标准名称', ''],
  kind: ['类型', ''],
  population: ['人口', '人'],
  households: ['户数', '户'],
  residents: ['居住人数', '人'],
  floors: ['楼层数', '层'],
  grid_count: ['网格数', '个'],
  unit_count: ['单元数', '个'],
  village_count: ['村（社区）数', '个'],
  province: ['所属省份', ''],
  seat: ['驻地坐标', ''],
};

const CHILD_ORDER = ['district', 'town', 'village', 'grid', 'unit'];
const numberFormat = new Intl.NumberFormat('zh-CN');

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function formatValue(key, value) {
  const unit = PROPERTY_LABELS[key]?.[1] || '';
  if (typeof value === 'number') return `${numberFormat.format(value)}${unit ? ' ' + unit : ''}`;
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number')) {
    return `${value[0].toFixed(5)}, ${value[1].toFixed(5)}`;
  }
  if (value && typeof value === 'object') return JSON.stringify(value);
  return `${value}${unit ? ' ' + unit : ''}`;
}

function formatArea(km2) {
  if (typeof km2 !== 'number') return '—';
  if (km2 >= 100) return `${numberFormat.format(Math.round(km2))} km²`;
  if (km2 >= 1) return `${km2.toFixed(2)} km²`;
  // Small areas read better in square metres as well.
  return `${km2.toFixed(4)} km²（约 ${numberFormat.format(Math.round(km2 * 1e6))} m²）`;
}

function formatTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString('zh-CN', { hour12: false });
}

/** Levels that have a profile (一村一档). */
const ARCHIVE_LEVELS = new Set(['town', 'village']);

export function createPanel(root, { onSelect, onZoomTo, onClose }) {
  let childSeq = 0;
  let archiveSeq = 0;

  function open(...children) {
    // Sections that do not apply come as null: replaceChildren would write them as "null" text.
    root.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false));
    root.hidden = false;
    root.scrollTop = 0;
  }

  function closeButton() {
    return el('button', { class: 'panel-close', type: 'button', title: '关闭', 'aria-label': '关闭', onclick: () => onClose() }, '×');
  }

  function areaLink(code, name, extraClass = '') {
    return el(
      'button',
      { class: `link ${extraClass}`.trim(), type: 'button', dataset: { code }, onclick: () => onSelect(code) },
      name,
    );
  }

  function chainNav(chain, current) {
    const items = [];
    chain.forEach((a) => {
      items.push(el('li', {}, areaLink(a.code, a.name)));
    });
    items.push(el('li', { 'aria-current': 'location' }, el('span', { class: 'chain-current' }, current)));
    return el('nav', { class: 'chain', 'aria-label': '上级区域' }, el('ol', {}, items));
  }

  function facts(rows) {
    return el(
      'dl',
      { class: 'facts' },
      rows.filter(Boolean).map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]),
    );
  }

  function childSummary(counts) {
    const parts = CHILD_ORDER.filter((l) => counts?.[l]).map((l) => `${numberFormat.format(counts[l])} 个${COUNT_NAMES[l]}`);
    return parts.length ? parts.join(' · ') : '无下级区域';
  }

  function profile(detail) {
    const props = detail.properties || {};
    const keys = Object.keys(props);
    if (!keys.length) return null;
    const title = detail.level === 'village' ? '村（社区）概况' : '基本情况';
    const known = keys.filter((k) => PROPERTY_LABELS[k]);
    const other = keys.filter((k) => !PROPERTY_LABELS[k]).sort();
    const ordered = [...Object.keys(PROPERTY_LABELS).filter((k) => known.includes(k)), ...other];
    return el(
      'section',
      { class: 'section profile' },
      el('h3', {}, title),
      facts(ordered.map((k) => [PROPERTY_LABELS[k]?.[0] || k, formatValue(k, props[k])])),
    );
  }

  /**
   * The archive's headline figures from `GET /api/areas/{code}/profile`, filled in when they come;
   * "暂无档案" for an area without a profile (404).
   */
  function archiveSection(detail) {
    if (!ARCHIVE_LEVELS.has(detail.level)) return null;
    const seq = ++archiveSeq;
    const body = el('div', { class: 'archive-body' }, el('p', { class: 'muted' }, '正在加载…'));
    const section = el(
      'section',
      { class: 'section archive', 'data-field': 'archive', 'aria-busy': 'true' },
      el('h3', {}, detail.level === 'village' ? '村情档案' : '镇情档案'),
      body,
    );
    const stat = (field, label, value, unit) =>
      el(
        'div',
        { class: 'archive-stat', dataset: { field } },
        el('span', { class: 'archive-value' }, typeof value === 'number' ? numberFormat.format(value) : '—', typeof value === 'number' && unit ? el('small', {}, unit) : null),
        el('span', { class: 'archive-label' }, label),
      );
    areaProfile(detail.code)
      .then((p) => {
        if (seq !== archiveSeq) return;
        const intro = p.introduction || {};
        const counts = p.counts || {};
        body.replaceChildren(
          el(
            'div',
            { class: 'archive-stats' },
            stat('registered', '户籍人口', intro.population?.registered, '人'),
            stat('resident', '常住人口', intro.population?.resident, '人'),
            stat('households', '户数', intro.households, '户'),
            stat('party', '党员', intro.party?.members, '名'),
          ),
          el(
            'div',
            { class: 'archive-lists' },
            stat('development', '发展清单', counts.development, '项'),
            stat('problems', '问题清单', counts.problems, '项'),
            stat('tasks', '任务清单', counts.tasks, '项'),
          ),
          el(
            'div',
            { class: 'archive-foot' },
            el('a', { class: 'btn profile-link', href: `/profile/${encodeURIComponent(detail.code)}` }, '查看完整档案'),
            el('span', { class: 'muted' }, `第 ${p.version ?? '—'} 版${p.updated_by ? ' · ' + p.updated_by : ''}`),
          ),
        );
        section.removeAttribute('aria-busy');
      })
      .catch((e) => {
        if (seq !== archiveSeq) return;
        body.replaceChildren(e.status === 404 ? el('p', { class: 'muted', 'data-field': 'no-archive' }, '暂无档案') : el('p', { class: 'error' }, `档案加载失败：${e.message}`));
        section.removeAttribute('aria-busy');
      });
    return section;
  }

  function childrenSection(detail) {
    if (!detail.children) return null;
    const seq = ++childSeq;
    const list = el('ul', { class: 'children-list' }, el('li', { class: 'muted' }, '正在加载…'));
    const section = el(
      'section',
      { class: 'section children' },
      el('h3', {}, `下级区域（${numberFormat.format(detail.children)}）`),
      list,
    );
    childAreas(detail.code, { limit: 200 })
      .then(({ areas }) => {
        if (seq !== childSeq) return;
        const items = areas.map((a) => el('li', {}, areaLink(a.code, a.name), el('span', { class: 'code' }, a.code)));
        if (detail.children > areas.length) {
          items.push(el('li', { class: 'muted' }, `另有 ${numberFormat.format(detail.children - areas.length)} 个未列出，请用搜索查找`));
        }
        list.replaceChildren(...items);
      })
      .catch((e) => {
        if (seq !== childSeq) return;
        list.replaceChildren(el('li', { class: 'error' }, `下级区域加载失败：${e.message}`));
      });
    return section;
  }

  return {
    hide() {
      childSeq++;
      archiveSeq++;
      root.hidden = true;
      root.replaceChildren();
    },

    loading(what) {
      open(closeButton(), el('div', { class: 'panel-loading' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), `正在查询 ${what} …`));
    },

    showError(message) {
      open(closeButton(), el('div', { class: 'panel-error', role: 'alert' }, message));
    },

    /** An area from `GET /api/areas/{code}`. */
    showArea(detail) {
      const kind = detail.properties?.kind;
      const header = el(
        'header',
        { class: 'panel-header' },
        el(
          'div',
          { class: 'chips' },
          el('span', { class: `chip level level-${detail.level}` }, detail.level_name || LEVEL_NAMES[detail.level] || detail.level),
          kind ? el('span', { class: 'chip' }, kind) : null,
        ),
        el('h2', { class: 'area-name' }, detail.name),
        el('div', { class: 'area-code' }, '代码 ', el('span', { class: 'code', 'data-field': 'code' }, detail.code)),
      );
      const actions = el(
        'div',
        { class: 'actions' },
        el('button', { type: 'button', class: 'btn', onclick: () => onZoomTo(detail.bbox) }, '缩放至此'),
        el(
          'button',
          {
            type: 'button',
            class: 'btn',
            onclick: (e) => {
              navigator.clipboard?.writeText(detail.code).then(
                () => (e.target.textContent = '已复制'),
                () => (e.target.textContent = '复制失败'),
              );
            },
          },
          '复制代码',
        ),
      );
      open(
        closeButton(),
        header,
        detail.chain?.length ? chainNav(detail.chain, detail.name) : null,
        el(
          'section',
          { class: 'section' },
          facts([
            ['层级', detail.level_name || LEVEL_NAMES[detail.level]],
            ['面积', formatArea(detail.area_km2)],
            ['下辖', childSummary(detail.child_counts)],
            detail.parent && detail.chain?.length
              ? ['上级', detail.chain[detail.chain.length - 1].name]
              : null,
          ]),
        ),
        profile(detail),
        archiveSection(detail),
        actions,
        childrenSection(detail),
        el('footer', { class: 'panel-footer' }, `数据版本 ${detail.version ?? '—'} · 更新于 ${formatTime(detail.updated_at)}`),
      );
    },

    /** An answer of `GET /api/assign` for the point [lon, lat]. */
    showAssignment(answer, [lon, lat]) {
      const coords = el('div', { class: 'area-code' }, '坐标 ', el('span', { class: 'code' }, `${lon.toFixed(6)}, ${lat.toFixed(6)}`));
      const chainOf = (a) =>
        el(
          'ol',
          { class: 'assign-chain' },
          ['city', 'district', 'town', 'village', 'grid', 'unit']
            .filter((l) => a[l]?.code)
            .map((l) => el('li', { dataset: { level: l } }, el('span', { class: 'assign-level' }, LEVEL_NAMES[l]), areaLink(a[l].code, a[l].name))),
        );
      if (answer.assigned) {
        open(
          closeButton(),
          el(
            'header',
            { class: 'panel-header' },
            el('div', { class: 'chips' }, el('span', { class: 'chip chip-tool' }, '网格查询'), el('span', { class: 'chip ok' }, '已落入网格')),
            el('h2', { class: 'area-name', 'data-field': 'grid' }, answer.grid?.name || '—'),
            coords,
          ),
          el('section', { class: 'section' }, el('h3', {}, '所属区域'), chainOf(answer)),
          el('p', { class: 'hint' }, '点击名称查看详情；继续点击地图可查询其他位置。'),
        );
        return;
      }
      const near = answer.nearest;
      open(
        closeButton(),
        el(
          'header',
          { class: 'panel-header' },
          el('div', { class: 'chips' }, el('span', { class: 'chip chip-tool' }, '网格查询'), el('span', { class: 'chip warn' }, '未落入网格')),
          el('h2', { class: 'area-name', 'data-field': 'grid' }, '此处不在任何网格内'),
          coords,
        ),
        near?.grid
          ? el(
              'section',
              { class: 'section' },
              el(
                'p',
                { class: 'nearest', 'data-field': 'nearest' },
                '最近的网格：',
                areaLink(near.grid.code, near.grid.name),
                `，相距约 ${numberFormat.format(Math.round(near.distance_m))} 米`,
              ),
              el('h3', {}, '最近网格的所属区域'),
              chainOf(near),
            )
          : el('p', { class: 'nearest muted', 'data-field': 'nearest' }, '附近 500 米内没有网格。'),
      );
    },
  };
}
