// The 消防 map layers: the fire tile sources (docs/FIRE.md, "Tile sources"), their layers in both
// palettes, and the nearest-water overlay. The styles in styles/ do not hold them: the client adds
// them to a style (main.js's transformStyle, so they survive a light/dark switch) or to the map
// the first time the panel opens. Layers carry metadata "onemap:group": "fire" and
// "onemap:fire": the panel toggle they belong to, so main.js's visibility rule covers them.
// Pure data and a few map calls; no MapLibre import.

import { metresToPixels } from './format.js';

export const GROUP = 'fire';

/** The panel's layer toggles, in order: id, title, description. */
export const TOGGLES = [
  ['heritage', '文物保护单位', '按保护级别着色，圈为覆盖半径'],
  ['hydrants', '消火栓', '按流量分级，灰色为停用'],
  ['water', '天然水源', '池塘、水库、河流取水点'],
  ['stations', '消防站', '专职、志愿/微型消防站'],
  ['sensors', '传感器', '按状态着色'],
  ['uncovered', '未覆盖区域', '建成区内无消火栓覆盖（默认半径）'],
];

/** Source id in the style → the server's tile source id and its one MVT layer. */
export const SOURCES = {
  'fire-heritage': { tiles: 'heritage', layer: 'heritage' },
  'fire-hydrants': { tiles: 'hydrants', layer: 'hydrants' },
  'fire-water': { tiles: 'water', layer: 'water' },
  'fire-stations': { tiles: 'stations', layer: 'stations' },
  'fire-sensors': { tiles: 'sensors', layer: 'sensors' },
  'fire-uncovered': { tiles: 'fire-uncovered', layer: 'uncovered' },
};

/** The nearest-water tool's GeoJSON: lines from the clicked point, the results, the point. */
export const NEAREST_SOURCE = 'fire-nearest';

/** The latitude the heritage rings are scaled at: the demo city's (莆田, about 25.4° N). */
export const RING_LATITUDE = 25.4;

const FONT = ['Noto Sans CJK SC Regular'];
const EMPTY = { type: 'FeatureCollection', features: [] };

export const PALETTES = {
  light: {
    levels: { national: '#b71c1c', provincial: '#e65100', municipal: '#7b1fa2', county: '#6d4c41' },
    covered: '#2e7d32',
    uncovered: '#d32f2f',
    flow: { high: '#0b4f9c', medium: '#2f8fd8', low: '#8cc4ec' },
    outOfService: '#9e9e9e',
    water: '#00897b',
    station: '#d84315',
    sensor: { normal: '#2e7d32', alarm: '#d50000', silent: '#f9a825', unknown: '#9e9e9e' },
    uncoveredFill: '#d32f2f',
    uncoveredOpacity: 0.26,
    stroke: '#ffffff',
    nearest: '#1f5fbf',
    text: '#3b3833',
    halo: 'rgba(255,255,255,0.92)',
  },
  dark: {
    levels: { national: '#ff5252', provincial: '#ffab40', municipal: '#e040fb', county: '#d7ccc8' },
    covered: '#4cd07d',
    uncovered: '#ff6b6b',
    flow: { high: '#29b6f6', medium: '#81d4fa', low: '#d6f1ff' },
    outOfService: '#607d8b',
    water: '#1de9b6',
    station: '#ff7043',
    sensor: { normal: '#4cd07d', alarm: '#ff1744', silent: '#ffd54f', unknown: '#78909c' },
    uncoveredFill: '#ff5252',
    uncoveredOpacity: 0.3,
    stroke: '#081221',
    nearest: '#5fc4ff',
    text: '#cfe9ff',
    halo: 'rgba(8,18,33,0.9)',
  },
};

export function palette(theme) {
  return PALETTES[theme] || PALETTES.light;
}

/**
 * The ring's circle-radius: `radiusM` metres in pixels at every zoom. Web Mercator doubles the
 * pixels per metre with each zoom, so an exponential base-2 ramp between zoom 0 and 24 is exact
 * (at the ring latitude; the city spans a few tenths of a degree, under 1% of error).
 */
export function ringRadius(radiusM, lat = RING_LATITUDE) {
  return ['interpolate', ['exponential', 2], ['zoom'], 0, metresToPixels(radiusM, lat, 0), 24, metresToPixels(radiusM, lat, 24)];
}

const meta = (toggle) => ({ 'onemap:group': GROUP, 'onemap:fire': toggle });
const isPoint = ['==', ['geometry-type'], 'Point'];
const isPolygon = ['==', ['geometry-type'], 'Polygon'];
const matchOf = (input, table, fallback) => ['match', input, ...Object.entries(table).flat(), fallback];
/** A property that feature-state may override (the panel's fresher answer beats the tile's). */
const stateOr = (key) => ['coalesce', ['feature-state', key], ['get', key]];

/** The style sources: the tile sources by TileJSON (root-relative, as the styles' own) and the tool's GeoJSON. */
export function fireSources(nearest = EMPTY) {
  const sources = {};
  for (const [id, s] of Object.entries(SOURCES)) {
    // promoteId: feature-state by asset id (coverage at the panel's radius, sensor states).
    sources[id] = { type: 'vector', url: `/tiles/${s.tiles}`, promoteId: 'id' };
  }
  sources[NEAREST_SOURCE] = { type: 'geojson', data: nearest };
  return sources;
}

/** Layers drawn beneath the area outlines (the uncovered built-up areas). */
export function fireUnderLayers(theme) {
  const p = palette(theme);
  return [
    {
      id: 'fire-uncovered-fill',
      type: 'fill',
      source: 'fire-uncovered',
      'source-layer': 'uncovered',
      metadata: meta('uncovered'),
      paint: { 'fill-color': p.uncoveredFill, 'fill-opacity': p.uncoveredOpacity },
    },
    {
      id: 'fire-uncovered-line',
      type: 'line',
      source: 'fire-uncovered',
      'source-layer': 'uncovered',
      minzoom: 13,
      metadata: meta('uncovered'),
      paint: { 'line-color': p.uncoveredFill, 'line-width': 0.8, 'line-opacity': 0.7 },
    },
  ];
}

/** Layers drawn above everything: the assets and the nearest-water overlay. */
export function fireOverLayers(theme, { radiusM }) {
  const p = palette(theme);
  const levelColour = matchOf(['to-string', ['get', 'level']], p.levels, p.levels.county);
  const coverColour = ['case', ['to-boolean', stateOr('covered')], p.covered, p.uncovered];
  const outOfService = ['==', ['to-string', ['get', 'in_service']], 'false'];
  const point = (id, source, toggle, paint, extra = {}) => ({
    id,
    type: 'circle',
    source,
    'source-layer': SOURCES[source].layer,
    metadata: meta(toggle),
    ...extra,
    paint: { 'circle-stroke-color': p.stroke, 'circle-stroke-width': 1.2, ...paint },
  });
  return [
    point(
      'fire-heritage-ring',
      'fire-heritage',
      'heritage',
      {
        'circle-radius': ringRadius(radiusM),
        'circle-color': coverColour,
        'circle-opacity': 0.08,
        'circle-stroke-color': coverColour,
        'circle-stroke-width': 1.4,
        'circle-stroke-opacity': 0.85,
        'circle-pitch-alignment': 'map',
      },
      { filter: isPoint, minzoom: 12 },
    ),
    {
      id: 'fire-heritage-area',
      type: 'fill',
      source: 'fire-heritage',
      'source-layer': 'heritage',
      filter: isPolygon,
      metadata: meta('heritage'),
      paint: { 'fill-color': levelColour, 'fill-opacity': 0.35, 'fill-outline-color': levelColour },
    },
    point('fire-water-point', 'fire-water', 'water', { 'circle-radius': ['interpolate', ['linear'], ['zoom'], 11, 3, 16, 7], 'circle-color': p.water }),
    point('fire-stations-point', 'fire-stations', 'stations', {
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 9, 4, 16, 9],
      'circle-color': p.station,
      'circle-stroke-width': 2.5,
    }),
    point(
      'fire-hydrants-point',
      'fire-hydrants',
      'hydrants',
      {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 2.5, 17, 6],
        'circle-color': ['case', outOfService, p.outOfService, matchOf(['to-string', ['get', 'flow_class']], p.flow, p.outOfService)],
      },
      { minzoom: 11 },
    ),
    point(
      'fire-sensors-point',
      'fire-sensors',
      'sensors',
      {
        'circle-radius': ['case', ['==', ['to-string', stateOr('state')], 'alarm'], 7, 4.5],
        'circle-color': matchOf(['to-string', stateOr('state')], p.sensor, p.sensor.unknown),
      },
      { minzoom: 11 },
    ),
    point(
      'fire-heritage-point',
      'fire-heritage',
      'heritage',
      { 'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 3.5, 16, 7.5], 'circle-color': levelColour, 'circle-stroke-width': 1.8 },
      { filter: isPoint },
    ),
    {
      id: 'fire-heritage-label',
      type: 'symbol',
      source: 'fire-heritage',
      'source-layer': 'heritage',
      minzoom: 15,
      metadata: meta('heritage'),
      layout: {
        'text-field': ['get', 'name'],
        'text-font': FONT,
        'text-size': 12,
        'text-anchor': 'top',
        'text-offset': [0, 0.9],
        'text-max-width': 8,
        'text-optional': true,
      },
      paint: { 'text-color': p.text, 'text-halo-color': p.halo, 'text-halo-width': 1.3 },
    },
    {
      id: 'fire-nearest-line',
      type: 'line',
      source: NEAREST_SOURCE,
      filter: ['==', ['geometry-type'], 'LineString'],
      metadata: meta('nearest'),
      layout: { 'line-cap': 'round' },
      paint: { 'line-color': p.nearest, 'line-width': 2, 'line-dasharray': [2, 1.5] },
    },
    {
      id: 'fire-nearest-point',
      type: 'circle',
      source: NEAREST_SOURCE,
      filter: ['all', isPoint, ['has', 'rank']],
      metadata: meta('nearest'),
      paint: { 'circle-radius': 8, 'circle-color': p.nearest, 'circle-stroke-color': p.stroke, 'circle-stroke-width': 1.5 },
    },
    {
      id: 'fire-nearest-rank',
      type: 'symbol',
      source: NEAREST_SOURCE,
      filter: ['all', isPoint, ['has', 'rank']],
      metadata: meta('nearest'),
      layout: { 'text-field': ['to-string', ['get', 'rank']], 'text-font': FONT, 'text-size': 11, 'text-allow-overlap': true, 'text-ignore-placement': true },
      paint: { 'text-color': p.stroke },
    },
    {
      id: 'fire-nearest-origin',
      type: 'circle',
      source: NEAREST_SOURCE,
      filter: ['all', isPoint, ['!', ['has', 'rank']]],
      metadata: meta('nearest'),
      paint: { 'circle-radius': 6, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': p.nearest, 'circle-stroke-width': 3 },
    },
  ];
}

/** The id of the layer the under-layers go beneath: the first line layer of the style, if any. */
function underAnchor(layers) {
  return layers.find((l) => l.type === 'line')?.id;
}

/**
 * Adds the fire sources and layers to a style object (a transformStyle step). `visible(layer)`
 * decides each layer's visibility.
 */
export function decorateStyle(style, { theme, radiusM, nearest, visible }) {
  Object.assign(style.sources, fireSources(nearest));
  const under = fireUnderLayers(theme);
  const over = fireOverLayers(theme, { radiusM });
  for (const l of [...under, ...over]) l.layout = { ...(l.layout || {}), visibility: visible(l) ? 'visible' : 'none' };
  const at = style.layers.findIndex((l) => l.id === underAnchor(style.layers));
  style.layers.splice(at < 0 ? style.layers.length : at, 0, ...under);
  style.layers.push(...over);
  return style;
}

/** Adds the same sources and layers to a live map (the first time the panel opens). */
export function installLayers(map, { theme, radiusM, nearest, visible }) {
  for (const [id, source] of Object.entries(fireSources(nearest))) {
    if (!map.getSource(id)) map.addSource(id, source);
  }
  const before = underAnchor(map.getStyle().layers);
  const add = (l, beforeId) => {
    if (map.getLayer(l.id)) return;
    l.layout = { ...(l.layout || {}), visibility: visible(l) ? 'visible' : 'none' };
    map.addLayer(l, beforeId);
  };
  for (const l of fireUnderLayers(theme)) add(l, before);
  for (const l of fireOverLayers(theme, { radiusM })) add(l);
}

/** Whether the map holds the fire layers (a style switch without them drops them). */
export function layersInstalled(map) {
  return Boolean(map.getLayer('fire-heritage-point'));
}

/** The nearest-water overlay: a line and a numbered point per result, and the clicked point. */
export function nearestData(point, water) {
  if (!point) return EMPTY;
  const origin = [point.lon, point.lat];
  const features = [];
  (water || []).forEach((w, i) => {
    const to = [Number(w.lon), Number(w.lat)];
    features.push({ type: 'Feature', properties: { id: w.id, rank: i + 1 }, geometry: { type: 'LineString', coordinates: [origin, to] } });
    features.push({ type: 'Feature', properties: { id: w.id, rank: i + 1, kind: w.kind }, geometry: { type: 'Point', coordinates: to } });
  });
  features.push({ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: origin } });
  return { type: 'FeatureCollection', features };
}
