// The search box: areas by name or code (GET /api/areas?q=), a list to pick from with the mouse
// or the keyboard, and the pick handed to the caller (which flies to the area and selects it).

import { searchAreas } from './api.js';
import { LEVEL_NAMES } from './levels.js';

export function createSearch({ input, list, onPick }) {
  let results = [];
  let active = -1;
  let timer = null;
  let controller = null;

  function close() {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    active = -1;
  }

  function render(message) {
    list.replaceChildren();
    if (message) {
      const li = document.createElement('li');
      li.className = 'search-message';
      li.textContent = message;
      list.append(li);
    }
    results.forEach((area, i) => {
      const li = document.createElement('li');
      li.setAttribute('role', 'option');
      li.id = `search-option-${i}`;
      li.className = 'search-result';
      li.dataset.code = area.code;
      if (i === active) {
        li.setAttribute('aria-selected', 'true');
        input.setAttribute('aria-activedescendant', li.id);
      }
      const top = document.createElement('div');
      top.className = 'search-result-top';
      const name = document.createElement('span');
      name.className = 'search-result-name';
      name.textContent = area.name;
      const level = document.createElement('span');
      level.className = `chip level level-${area.level}`;
      level.textContent = LEVEL_NAMES[area.level] || area.level;
      top.append(name, level);
      const sub = document.createElement('div');
      sub.className = 'search-result-sub';
      sub.textContent = [area.path, area.code].filter(Boolean).join(' · ');
      li.append(top, sub);
      // mousedown, not click: the input's blur would close the list first.
      li.addEventListener('mousedown', (e) => {
        e.preventDefault();
        pick(i);
      });
      list.append(li);
    });
    list.hidden = !message && results.length === 0;
    input.setAttribute('aria-expanded', String(!list.hidden));
  }

  function pick(i) {
    const area = results[i];
    if (!area) return;
    input.value = area.name;
    close();
    input.blur();
    onPick(area);
  }

  async function run(q) {
    controller?.abort();
    controller = new AbortController();
    try {
      const body = await searchAreas(q, { limit: 8, signal: controller.signal });
      results = body.areas || [];
      active = results.length ? 0 : -1;
      render(results.length ? null : `没有找到“${q}”`);
    } catch (e) {
      if (e.name === 'AbortError') return;
      results = [];
      render(`搜索失败：${e.message}`);
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (!q) {
      controller?.abort();
      results = [];
      close();
      return;
    }
    timer = setTimeout(() => run(q), 180);
  });

  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (!results.length) return;
      e.preventDefault();
      active = (active + (e.key === 'ArrowDown' ? 1 : -1) + results.length) % results.length;
      render(null);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      clearTimeout(timer);
      if (results.length && !list.hidden) pick(Math.max(active, 0));
      else if (input.value.trim()) run(input.value.trim());
    } else if (e.key === 'Escape') {
      close();
    }
  });

  input.addEventListener('focus', () => {
    if (results.length) render(null);
  });
  input.addEventListener('blur', () => setTimeout(close, 100));
}
