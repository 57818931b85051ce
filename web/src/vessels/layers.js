// The 渔船 map layers: the harbours and restricted zones from their tile sources (docs/VESSELS.md,
// "Tile sources"), the boats from a GeoJSON source the panel keeps live from the stream, and the
// selected boat's 24-hour track. The styles in styles/ do not hold them: the client adds them to
// a style (main.js's transformStyle, so they survive a light/dark switch) or to the map the first
// time the panel opens. Layers carry metadata "onemap:group": "vessels" and "onemap:vessels": the
// panel toggle they belong to, so main.js's visibility rule covers them.
//
// The `vessels` tile source is not used: its tiles move on a two-second epoch, while the stream
// brings every change within 500 ms; one GeoJSON source fed by the list and the stream is both
// simpler and smoother (and never draws a boat twice).
// Pure data and a few map calls; no MapLibre import.

export const GROUP = 'vessels';

/** The panel's layer toggles, in order: id, title. */
export const TOGGLES = [
  ['boats', '渔船'],
  ['harbours', '渔港、锚地'],
  ['zones', '禁航区'],
  ['labels', '船名'],
];

/** Source id in the style → the server's tile source id and its one MVT layer. */
export const TILE_SOURCES = {
  'vessel-harbours': { tiles: 'harbours', layer: 'harbours' },
  'vessel-zones': { tiles: 'vessel-zones', layer: 'zones' },
};

/** The boats (GeoJSON, fed by GET /api/vessels and the stream) and the selected boat's track. */
export const BOATS_SOURCE = 'vessel-boats';
export const TRACK_SOURCE = 'vessel-track';

/** The layer a map click looks for boats in. */
export const BOATS_LAYER = 'vessel-boats-point';

const FONT = ['Noto Sans CJK SC Regular'];
const EMPTY = { type: 'FeatureCollection', features: [] };

export const PALETTES = {
  light: {
    state: { in_port: '#1f6fd1', at_sea: '#2e9d4f', fishing: '#ef8a00', dark: '#c62828', lost: '#8a8f98', unknown: '#b0b4bb' },
    stroke: '#ffffff',
    harbour: '#0b3d6e',
    anchorage: '#00838f',
    zone: '#d32f2f',
    zoneHatch: [211, 47, 47, 150],
    track: '#6a1b9a',
    selected: '#1f2328',
    text: '#1f3550',
    halo: 'rgba(255,255,255,0.92)',
  },
  dark: {
    state: { in_port: '#5fb0ff', at_sea: '#4cd07d', fishing: '#ffb74d', dark: '#ff5252', lost: '#90a4ae', unknown: '#607d8b' },
    stroke: '#081221',
    harbour: '#cfe9ff',
    anchorage: '#4dd0e1',
    zone: '#ff5252',
    zoneHatch: [255, 82, 82, 140],
    track: '#e040fb',
    selected: '#ffffff',
    text: '#cfe9ff',
    halo: 'rgba(8,18,33,0.9)',
  },
};

export function palette(theme) {
  return PALETTES[theme] || PALETTES.light;
}

/** The hatch image of a theme's zones: registered on demand (styleimagemissing), never fetched. */
export const HATCH_PREFIX = 'vessel-hatch-';
export const hatchName = (theme) => `${HATCH_PREFIX}${PALETTES[theme] ? theme : 'light'}`;

/**
 * A 16×16 RGBA image of diagonal lines (drawn at pixel ratio 2: an 8 px period on screen), for
 * `fill-pattern`: `{width, height, data}` as map.addImage takes it.
 */
export function hatchImage(rgba, size = 16, width = 3) {
  const data = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if ((x + y) % size < width) data.set(rgba, (y * size + x) * 4);
    }
  }
  return { width: size, height: size, data };
}

const meta = (toggle) => ({ 'onemap:group': GROUP, 'onemap:vessels': toggle });
const matchOf = (input, table, fallback) => ['match', input, ...Object.entries(table).flat(), fallback];
/** A filter that matches no boat (the selection ring without a selection). */
const selectedFilter = (mmsi) => ['==', ['get', 'mmsi'], mmsi ? String(mmsi) : '-'];

/** The style sources: the tile sources by TileJSON (root-relative, as the styles' own) and the GeoJSON ones. */
export function vesselSources({ boats = EMPTY, track = EMPTY } = {}) {
  const sources = {};
  for (const [id, s] of Object.entries(TILE_SOURCES)) sources[id] = { type: 'vector', url: `/tiles/${s.tiles}` };
  sources[BOATS_SOURCE] = { type: 'geojson', data: boats };
  sources[TRACK_SOURCE] = { type: 'geojson', data: track };
  return sources;
}

/** Layers drawn beneath the area outlines: the zones' hatch. */
export function vesselUnderLayers(theme) {
  return [
    {
      id: 'vessel-zones-fill',
      type: 'fill',
      source: 'vessel-zones',
      'source-layer': 'zones',
      metadata: meta('zones'),
      paint: { 'fill-pattern': hatchName(theme), 'fill-opacity': 0.9 },
    },
  ];
}

/** Layers drawn above everything: zone outlines, harbours, the track, the boats. */
export function vesselOverLayers(theme, { selected = null } = {}) {
  const p = palette(theme);
  const stateColour = matchOf(['to-string', ['get', 'state']], p.state, p.state.unknown);
  const label = (extra) => ({ 'text-font': FONT, 'text-optional': true, ...extra });
  return [
    {
      id: 'vessel-zones-line',
      type: 'line',
      source: 'vessel-zones',
      'source-layer': 'zones',
      metadata: meta('zones'),
      paint: { 'line-color': p.zone, 'line-width': 2, 'line-dasharray': [3, 1.5] },
    },
    {
      id: 'vessel-zones-label',
      type: 'symbol',
      source: 'vessel-zones',
      'source-layer': 'zones',
      minzoom: 9,
      metadata: meta('zones'),
      layout: label({ 'text-field': ['get', 'name'], 'text-size': 12, 'symbol-placement': 'point', 'text-max-width': 10 }),
      paint: { 'text-color': p.zone, 'text-halo-color': p.halo, 'text-halo-width': 1.4 },
    },
    {
      id: 'vessel-harbours-point',
      type: 'circle',
      source: 'vessel-harbours',
      'source-layer': 'harbours',
      metadata: meta('harbours'),
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 8, 4, 14, 8],
        'circle-color': p.stroke,
        'circle-stroke-color': ['match', ['to-string', ['get', 'kind']], 'anchorage', p.anchorage, p.harbour],
        'circle-stroke-width': 3,
      },
    },
    {
      id: 'vessel-harbours-label',
      type: 'symbol',
      source: 'vessel-harbours',
      'source-layer': 'harbours',
      minzoom: 9,
      metadata: meta('harbours'),
      layout: label({ 'text-field': ['get', 'name'], 'text-size': 12.5, 'text-anchor': 'top', 'text-offset': [0, 0.9], 'text-max-width': 8 }),
      paint: { 'text-color': ['match', ['to-string', ['get', 'kind']], 'anchorage', p.anchorage, p.harbour], 'text-halo-color': p.halo, 'text-halo-width': 1.5 },
    },
    {
      id: 'vessel-track-line',
      type: 'line',
      source: TRACK_SOURCE,
      metadata: meta('track'),
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': p.track, 'line-width': ['interpolate', ['linear'], ['zoom'], 8, 1.5, 14, 3], 'line-opacity': 0.9 },
    },
    {
      id: BOATS_LAYER,
      type: 'circle',
      source: BOATS_SOURCE,
      metadata: meta('boats'),
      layout: { 'circle-sort-key': ['get', 'rank'] },
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 7, 2.5, 11, 4, 15, 7],
        'circle-color': stateColour,
        'circle-stroke-color': p.stroke,
        'circle-stroke-width': ['interpolate', ['linear'], ['zoom'], 7, 0.5, 12, 1.2],
        'circle-opacity': ['match', ['get', 'state'], 'lost', 0.75, 1],
      },
    },
    {
      id: 'vessel-boats-selected',
      type: 'circle',
      source: BOATS_SOURCE,
      filter: selectedFilter(selected),
      metadata: meta('track'),
      paint: { 'circle-radius': ['interpolate', ['linear'], ['zoom'], 7, 7, 15, 13], 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': p.selected, 'circle-stroke-width': 2.5 },
    },
    {
      id: 'vessel-boats-label',
      type: 'symbol',
      source: BOATS_SOURCE,
      minzoom: 13,
      metadata: meta('labels'),
      layout: label({ 'text-field': ['get', 'name'], 'text-size': 11.5, 'text-anchor': 'left', 'text-offset': [0.9, 0], 'text-max-width': 8 }),
      paint: { 'text-color': p.text, 'text-halo-color': p.halo, 'text-halo-width': 1.3 },
    },
  ];
}

/** The id of the layer the under-layers go beneath: the first line layer of the style, if any. */
function underAnchor(layers) {
  return layers.find((l) => l.type === 'line')?.id;
}

/**
 * Adds the vessel sources and layers to a style object (a transformStyle step). `visible(layer)`
 * decides each layer's visibility; `boats` and `track` are the GeoJSON the panel holds.
 */
export function decorateStyle(style, { theme, boats, track, selected, visible }) {
  Object.assign(style.sources, vesselSources({ boats, track }));
  const under = vesselUnderLayers(theme);
  const over = vesselOverLayers(theme, { selected });
  for (const l of [...under, ...over]) l.layout = { ...(l.layout || {}), visibility: visible(l) ? 'visible' : 'none' };
  const at = style.layers.findIndex((l) => l.id === underAnchor(style.layers));
  style.layers.splice(at < 0 ? style.layers.length : at, 0, ...under);
  style.layers.push(...over);
  return style;
}

/** Adds the same sources and layers to a live map (the first time the panel opens). */
export function installLayers(map, { theme, boats, track, selected, visible }) {
  for (const [id, source] of Object.entries(vesselSources({ boats, track }))) {
    if (!map.getSource(id)) map.addSource(id, source);
  }
  const before = underAnchor(map.getStyle().layers);
  const add = (l, beforeId) => {
    if (map.getLayer(l.id)) return;
    l.layout = { ...(l.layout || {}), visibility: visible(l) ? 'visible' : 'none' };
    map.addLayer(l, beforeId);
  };
  for (const l of vesselUnderLayers(theme)) add(l, before);
  for (const l of vesselOverLayers(theme, { selected })) add(l);
}

/** Whether the map holds the vessel layers (a style switch without them drops them). */
export function layersInstalled(map) {
  return Boolean(map.getLayer(BOATS_LAYER));
}

/** Points the selection ring at a boat (or at none). */
export function selectBoatOnMap(map, mmsi) {
  if (map.getLayer('vessel-boats-selected')) map.setFilter('vessel-boats-selected', selectedFilter(mmsi));
}

/** Registers a zone hatch the style asks for (a `styleimagemissing` handler's work). */
export function provideImage(map, id) {
  if (!id?.startsWith(HATCH_PREFIX) || map.hasImage(id)) return false;
  const theme = id.slice(HATCH_PREFIX.length);
  map.addImage(id, hatchImage(palette(theme).zoneHatch), { pixelRatio: 2 });
  return true;
}
