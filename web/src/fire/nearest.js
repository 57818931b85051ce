// The 最近水源 tool: while it is on, a click on the map asks /api/fire/nearest for the five
// nearest in-service hydrants and water sources, lists them (name, kind, distance, 方位) and draws
// a line from the clicked point to each. The button or Esc leaves the tool; the answer stays on
// the map until 清除 or the next click.

import { nearestWater } from './api.js';
import { NEAREST_SOURCE, nearestData } from './layers.js';
import { renderNearest } from './panel.js';

export const NEAREST_K = 5;

/**
 * `onToolChange(on)` lets main.js stop its own map tool first; `onPoint(item)` flies to a result.
 */
export function createNearestTool({ map, nodes, hint, onToolChange, onPoint }) {
  const state = { active: false, point: null, water: null, loading: false, error: null };
  let seq = 0;

  function setActive(on) {
    if (on === state.active) return;
    // main.js's grid tool goes off first: it clears the crosshair we set below.
    if (on) onToolChange(true);
    state.active = on;
    nodes.nearestButton.setAttribute('aria-pressed', String(on));
    hint.hidden = !on;
    map.getCanvas().classList.toggle('crosshair', on);
    if (!on) onToolChange(false);
  }

  function show() {
    renderNearest(nodes, state, { onPoint });
    map.getSource(NEAREST_SOURCE)?.setData(data());
  }

  /** The overlay's GeoJSON for the current answer (also what a new style starts with). */
  function data() {
    return nearestData(state.water ? state.point : null, state.water);
  }

  async function query(lngLat) {
    const mine = ++seq;
    const lon = Number(lngLat.lng.toFixed(7));
    const lat = Number(lngLat.lat.toFixed(7));
    Object.assign(state, { point: { lon, lat }, water: null, loading: true, error: null });
    show();
    try {
      const body = await nearestWater(lon, lat, { k: NEAREST_K });
      if (mine !== seq) return;
      state.water = Array.isArray(body?.water) ? body.water : [];
    } catch (e) {
      if (mine !== seq) return;
      state.error = `查找失败：${e.message}`;
    }
    state.loading = false;
    show();
  }

  function clear() {
    seq++;
    Object.assign(state, { point: null, water: null, loading: false, error: null });
    show();
  }

  /** A map click: used up (true) while the tool is on. */
  function handleClick(e) {
    if (!state.active) return false;
    query(e.lngLat);
    return true;
  }

  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.active) setActive(false);
  });

  return { state, setActive, toggle: () => setActive(!state.active), handleClick, clear, data };
}
