// The levels of the area tree as the client shows them: Chinese names, and the zoom band in which
// a level is the one labelled and clicked (keep in step with LABEL_ZOOMS in scripts/styles.mjs).

/** Polygon levels drawn from tiles, coarsest first. */
export const LEVELS = ['district', 'town', 'village', 'grid', 'unit'];

/** Chinese names of every level, the city included. */
export const LEVEL_NAMES = {
  city: '市',
  district: '区县',
  town: '乡镇街道',
  village: '村社区',
  grid: '网格',
  unit: '单元',
};

/** Names used when counting children ("6 个乡镇街道"). */
export const COUNT_NAMES = {
  district: '区县',
  town: '乡镇街道',
  village: '村（社区）',
  grid: '网格',
  unit: '单元',
};

/** The zoom from which a click on the map picks an area of this level. */
export const CLICK_FROM_ZOOM = { district: 0, town: 9, village: 11.5, grid: 13.5, unit: 16 };

/**
 * The level a click picks at `zoom`: the finest level whose band has started, among the levels
 * the layer switcher shows. Falls back to the coarsest shown level (or null if none is shown).
 */
export function clickLevel(zoom, shown) {
  let pick = null;
  for (const level of LEVELS) {
    if (!shown.has(level)) continue;
    if (pick === null || zoom >= CLICK_FROM_ZOOM[level]) pick = level;
  }
  return pick;
}
