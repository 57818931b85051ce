// The layer switcher: one checkbox per level of the area tree plus one for the names. Style layers
// belong to a level through their metadata "onemap:group"; main.js applies the choice.

import { LEVELS, LEVEL_NAMES } from './levels.js';

const DESCRIPTIONS = {
  district: '区县边界与底色',
  town: '乡镇、街道边界',
  village: '村、社区边界',
  grid: '网格边界（放大后显示）',
  unit: '楼栋、院落等单元（放大后显示）',
};

export function createLayerSwitcher({ button, popover, list, state, onChange }) {
  const row = (id, title, description, checked, onToggle, swatchClass) => {
    const label = document.createElement('label');
    label.className = 'layer-row';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = checked;
    box.dataset.layer = id;
    box.addEventListener('change', () => onToggle(box.checked));
    const swatch = document.createElement('span');
    swatch.className = `swatch ${swatchClass}`;
    swatch.setAttribute('aria-hidden', 'true');
    const text = document.createElement('span');
    text.className = 'layer-text';
    const t = document.createElement('span');
    t.className = 'layer-title';
    t.textContent = title;
    const d = document.createElement('span');
    d.className = 'layer-desc';
    d.textContent = description;
    text.append(t, d);
    label.append(box, swatch, text);
    return label;
  };

  for (const level of LEVELS) {
    list.append(
      row(level, LEVEL_NAMES[level], DESCRIPTIONS[level], state.shown.has(level), (on) => {
        if (on) state.shown.add(level);
        else state.shown.delete(level);
        onChange();
      }, `swatch-${level}`),
    );
  }
  list.append(
    row('labels', '名称标注', '各级区域名称', state.labels, (on) => {
      state.labels = on;
      onChange();
    }, 'swatch-labels'),
  );

  const setOpen = (open) => {
    popover.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
  };
  button.addEventListener('click', (e) => {
    e.stopPropagation();
    setOpen(popover.hidden);
  });
  document.addEventListener('click', (e) => {
    if (!popover.hidden && !popover.contains(e.target) && e.target !== button) setOpen(false);
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') setOpen(false);
  });
}
