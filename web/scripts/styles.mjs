#!/usr/bin/env node
// Writes the two MapLibre styles, styles/light.json (desks) and styles/dark.json (big screens),
// from one layer list and two palettes, so the styles cannot drift apart. Run `npm run styles`
// after changing this file; `npm test` fails while the committed JSON differs from the output.
//
// Every URL in the styles is root-relative (/tiles/..., /fonts/...): the styles name no host,
// and the client resolves them against the page it was loaded from (web/README.md, "Styles").

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const stylesDir = path.resolve(here, '../../styles');

/** The polygon levels of the area tree, coarsest first, each an MVT layer of its own name. */
export const LEVELS = ['district', 'town', 'village', 'grid', 'unit'];

/**
 * The one vector source: /tiles/areas holds every level and the label points as separate MVT
 * layers of one tile, so a view costs one request per tile position instead of six. (The server
 * also serves each level alone at /tiles/{level}; nothing here uses those.)
 */
export const SOURCE = 'areas';

/**
 * The event source: /tiles/events, one MVT layer `events` (H3 cells with `count` at z <= 13,
 * single events at z >= 14; docs/EVENTS.md). The client adds the category and time window to
 * its tile URLs (src/events.js), so the style itself names the bare TileJSON.
 */
export const EVENTS_SOURCE = 'events';

/** The ten event categories (src/events/model.rs), in the order the client lists them. */
export const CATEGORIES = [
  'dispute',
  'city_management',
  'safety_hazard',
  'food_safety',
  'environment',
  'forest_fire',
  'public_service',
  'public_order',
  'traffic',
  'other',
];

/** Number of classes of the event choropleth; the client sets feature-state `bucket` 0..CLASSES. */
export const CHOROPLETH_CLASSES = 5;

/** The area levels the event choropleth is drawn on, with the zooms where each one shows. */
export const CHOROPLETH_LEVELS = { village: [0, 13.5], grid: [12.5, 24] };

export const FONT_REGULAR = ['Noto Sans CJK SC Regular'];
export const FONT_BOLD = ['Noto Sans CJK SC Bold'];

const EMPTY = { type: 'FeatureCollection', features: [] };

const PALETTES = {
  light: {
    title: '一张图 · 浅色',
    background: '#f3f1ec',
    // District tints, picked by the district code modulo their count.
    districts: ['#e9dfc8', '#d8e6d2', '#d9e2ef', '#efdcd6', '#e3dcef', '#dde9e6', '#efe6cf'],
    districtOpacity: [[6, 0.9], [11, 0.55], [14, 0.25]],
    unitLine: '#d8d1c3',
    gridLine: '#bdb19c',
    villageLine: '#7a7468',
    townLine: '#6f6a62',
    districtCasing: '#ffffff',
    districtLine: '#4a4640',
    hover: '#2f6fd6',
    accent: '#d9480f',
    selectionFill: 0.1,
    accentCasing: '#ffffff',
    labels: {
      district: '#1f1d1a',
      town: '#2d2a26',
      village: '#3b3833',
      grid: '#5e5343',
      unit: '#9a948a',
    },
    halo: 'rgba(255,255,255,0.92)',
    textScale: 1,
    // Events: a warm heat ramp over a pale map; classes from "none" to "many" for the choropleth.
    heat: ['rgba(255,255,178,0)', 'rgba(254,217,118,0.55)', '#feb24c', '#fd8d3c', '#f03b20', '#bd0026'],
    heatOpacity: 0.8,
    heatRadius: [[6, 6], [10, 14], [13, 24], [15, 32]],
    choropleth: ['#f2efe9', '#fde0c5', '#facba6', '#f59e72', '#e4613f', '#b5281c'],
    choroplethOpacity: 0.72,
    categories: ['#8e44ad', '#1f77b4', '#d62728', '#e377c2', '#2ca02c', '#ff7f0e', '#17becf', '#7f3c8d', '#bcbd22', '#7f7f7f'],
    eventStroke: '#ffffff',
  },
  dark: {
    title: '一张图 · 深色',
    background: '#081221',
    districts: ['#0f2740', '#10303a', '#172444', '#1b2636', '#14243c', '#0f2d33', '#1a2a44'],
    districtOpacity: [[6, 1], [11, 0.75], [14, 0.45]],
    unitLine: '#1a3048',
    gridLine: '#386690',
    villageLine: '#4d93c6',
    townLine: '#56a6d8',
    districtCasing: '#0b4f85',
    districtLine: '#8fdcff',
    hover: '#5fd0ff',
    accent: '#ffb020',
    selectionFill: 0.06,
    accentCasing: '#081221',
    labels: {
      district: '#f0f8ff',
      town: '#cfe9ff',
      village: '#a9d2ef',
      grid: '#9cc3e0',
      unit: '#5f7f99',
    },
    halo: 'rgba(8,18,33,0.9)',
    // Big screens are read from across the room.
    textScale: 1.15,
    // A glowing ramp on the dark ground: cold cyan where events are few, white-hot where many.
    heat: ['rgba(0,40,90,0)', 'rgba(0,170,255,0.45)', '#00e0ff', '#ffe14d', '#ff7a1a', '#ff2d55'],
    heatOpacity: 0.9,
    heatRadius: [[6, 8], [10, 17], [13, 28], [15, 36]],
    choropleth: ['#12263f', '#1d4e6e', '#2b7a8c', '#d7a43a', '#f06c2c', '#ff2d55'],
    choroplethOpacity: 0.62,
    categories: ['#c38bff', '#4fb3ff', '#ff5a5f', '#ff8ad8', '#5fe08a', '#ffa629', '#3ee6e6', '#b18cff', '#e8e84a', '#b0bccb'],
    eventStroke: '#081221',
  },
};

/** Zoom bands in which each level is the one labelled (and clicked): see src/levels.js. */
const LABEL_ZOOMS = {
  district: [6, 11.5],
  town: [8.3, 13.5],
  village: [11.5, 16],
  grid: [13.5, 17.5],
  unit: [16, 24],
};

const meta = (group) => ({ 'onemap:group': group });
const ramp = (stops) => ['interpolate', ['linear'], ['zoom'], ...stops.flat()];

function districtTint(p) {
  const n = p.districts.length;
  const cases = [];
  for (let i = 0; i < n; i++) cases.push(i, p.districts[i]);
  return ['match', ['%', ['to-number', ['get', 'code'], 0], n], ...cases, p.districts[0]];
}

/** A transparent fill that lights up under the cursor; also what clicks are tested against. */
function hoverFill(level, p, minzoom) {
  return {
    id: `${level}-hover`,
    type: 'fill',
    source: SOURCE,
    'source-layer': level,
    minzoom,
    metadata: meta(level),
    paint: {
      'fill-color': p.hover,
      'fill-opacity': ['case', ['boolean', ['feature-state', 'hover'], false], 0.16, 0],
    },
  };
}

function label(level, p, { size, font, minzoom, maxzoom, spacing = 0, haloWidth = 1.4 }) {
  const s = p.textScale;
  return {
    id: `${level}-label`,
    type: 'symbol',
    source: SOURCE,
    'source-layer': 'label',
    minzoom,
    maxzoom,
    filter: ['==', ['get', 'level'], level],
    metadata: meta(level),
    layout: {
      'text-field': ['get', 'name'],
      'text-font': font,
      'text-size': ['interpolate', ['linear'], ['zoom'], minzoom, size[0] * s, maxzoom, size[1] * s],
      'text-letter-spacing': spacing,
      'text-max-width': 8,
      'text-padding': 3,
      'text-allow-overlap': false,
    },
    paint: {
      'text-color': p.labels[level],
      'text-halo-color': p.halo,
      'text-halo-width': haloWidth,
      'text-halo-blur': 0.4,
      'text-opacity': ramp([[minzoom, 0], [minzoom + 0.4, 1]]),
    },
  };
}

/** Layout of an event layer: hidden until the client's 事件 panel turns it on. */
const HIDDEN = { visibility: 'none' };
const eventsMeta = (part) => ({ 'onemap:group': 'events', 'onemap:events': part });

/**
 * The weight of an H3 cell in the heat: its event count on a log scale, with `full` events
 * counting as 1. Cells are coarser at low zoom and hold more events, so `full` shrinks with zoom.
 */
function heatWeight(stops) {
  const w = (full) => ['min', 1, ['/', ['ln', ['+', 1, ['max', 0, ['to-number', ['get', 'count'], 1]]]], Math.log(1 + full)]];
  return ['interpolate', ['linear'], ['zoom'], ...stops.flatMap(([z, full]) => [z, w(full)])];
}

/**
 * A fill on an area level coloured by the client's feature-state `bucket`. /api/stats/areas lists
 * only areas with events, so an area without a bucket has none: class 0.
 */
function choropleth(level, p) {
  const [minzoom, maxzoom] = CHOROPLETH_LEVELS[level];
  const bucket = ['coalesce', ['feature-state', 'bucket'], 0];
  const classes = [];
  for (let i = 0; i <= CHOROPLETH_CLASSES; i++) classes.push(i, p.choropleth[i]);
  // Villages hand over to grids between zoom 12.5 and 13.5.
  const opacity =
    level === 'village' ? ramp([[12.5, p.choroplethOpacity], [13.5, 0]]) : ramp([[12.5, 0], [13.5, p.choroplethOpacity]]);
  const layer = {
    id: `${level}-events`,
    type: 'fill',
    source: SOURCE,
    'source-layer': level,
    metadata: eventsMeta('choropleth'),
    layout: HIDDEN,
    paint: {
      'fill-color': ['match', bucket, ...classes, 'rgba(0,0,0,0)'],
      'fill-opacity': opacity,
      'fill-outline-color': 'rgba(0,0,0,0)',
    },
  };
  if (minzoom > 0) layer.minzoom = minzoom;
  if (maxzoom < 24) layer.maxzoom = maxzoom;
  return layer;
}

function eventLayers(p) {
  const categoryColour = ['match', ['get', 'category']];
  CATEGORIES.forEach((c, i) => categoryColour.push(c, p.categories[i]));
  categoryColour.push(p.categories[p.categories.length - 1]);
  const [c0, c1, c2, c3, c4, c5] = p.heat;
  return [
    {
      id: 'events-heat',
      type: 'heatmap',
      source: EVENTS_SOURCE,
      'source-layer': 'events',
      maxzoom: 16,
      metadata: eventsMeta('heat'),
      layout: HIDDEN,
      paint: {
        'heatmap-weight': heatWeight([[6, 400], [9, 120], [11, 30], [13, 8], [14, 2]]),
        'heatmap-intensity': ramp([[6, 0.9], [11, 1.2], [15, 1.6]]),
        'heatmap-radius': ramp(p.heatRadius),
        'heatmap-color': ['interpolate', ['linear'], ['heatmap-density'], 0, c0, 0.12, c1, 0.3, c2, 0.5, c3, 0.75, c4, 1, c5],
        // Above zoom 14 the tiles hold single events: the heat gives way to the points.
        'heatmap-opacity': ramp([[13.5, p.heatOpacity], [15.5, 0]]),
      },
    },
    {
      id: 'events-point',
      type: 'circle',
      source: EVENTS_SOURCE,
      'source-layer': 'events',
      minzoom: 14,
      filter: ['has', 'category'],
      metadata: eventsMeta('heat'),
      layout: HIDDEN,
      paint: {
        'circle-color': categoryColour,
        'circle-radius': ramp([[14, 3.5], [16, 5.5], [18, 8]]),
        'circle-stroke-color': p.eventStroke,
        'circle-stroke-width': ramp([[14, 0.6], [16, 1.2]]),
        'circle-opacity': ramp([[14, 0], [14.6, 0.95]]),
        'circle-stroke-opacity': ramp([[14, 0], [14.6, 0.9]]),
      },
    },
  ];
}

export function buildStyle(name) {
  const p = PALETTES[name];
  const sources = {
    [SOURCE]: {
      type: 'vector',
      url: `/tiles/${SOURCE}`,
      // Feature ids for hover state: area codes are unique across all levels.
      promoteId: 'code',
      attribution: '行政区划与网格：onemap',
    },
  };
  sources[EVENTS_SOURCE] = {
    type: 'vector',
    url: `/tiles/${EVENTS_SOURCE}`,
    attribution: '事件：onemap',
  };
  sources.selection = { type: 'geojson', data: EMPTY };
  sources.probe = { type: 'geojson', data: EMPTY };

  const layers = [
    { id: 'background', type: 'background', paint: { 'background-color': p.background } },
    {
      id: 'district-fill',
      type: 'fill',
      source: SOURCE,
      'source-layer': 'district',
      metadata: meta('district'),
      paint: { 'fill-color': districtTint(p), 'fill-opacity': ramp(p.districtOpacity) },
    },
    ...Object.keys(CHOROPLETH_LEVELS).map((level) => choropleth(level, p)),
    ...LEVELS.map((level) => hoverFill(level, p, { district: 0, town: 7, village: 9, grid: 11, unit: 13 }[level])),
    {
      id: 'selection-fill',
      type: 'fill',
      source: 'selection',
      paint: { 'fill-color': p.accent, 'fill-opacity': p.selectionFill },
    },
    {
      id: 'unit-line',
      type: 'line',
      source: SOURCE,
      'source-layer': 'unit',
      minzoom: 13.5,
      metadata: meta('unit'),
      paint: {
        'line-color': p.unitLine,
        'line-width': ramp([[14, 0.4], [17, 1]]),
        'line-opacity': ramp([[13.5, 0], [14.5, 1]]),
      },
    },
    {
      id: 'grid-line',
      type: 'line',
      source: SOURCE,
      'source-layer': 'grid',
      minzoom: 11,
      metadata: meta('grid'),
      paint: {
        'line-color': p.gridLine,
        'line-width': ramp([[11, 0.4], [14, 0.8], [17, 1.4]]),
        'line-opacity': ramp([[11, 0], [12, 0.9]]),
      },
    },
    {
      id: 'village-line',
      type: 'line',
      source: SOURCE,
      'source-layer': 'village',
      minzoom: 9,
      metadata: meta('village'),
      paint: {
        'line-color': p.villageLine,
        'line-width': ramp([[9, 0.4], [12, 1], [16, 2.6]]),
        'line-opacity': ramp([[9, 0], [10, 0.9]]),
      },
    },
    {
      id: 'town-line',
      type: 'line',
      source: SOURCE,
      'source-layer': 'town',
      minzoom: 7,
      metadata: meta('town'),
      layout: { 'line-join': 'round' },
      paint: {
        'line-color': p.townLine,
        'line-width': ramp([[7, 0.6], [10, 1.3], [16, 2.6]]),
        'line-dasharray': [4, 2],
        'line-opacity': ramp([[7, 0], [8, 1]]),
      },
    },
    {
      id: 'district-casing',
      type: 'line',
      source: SOURCE,
      'source-layer': 'district',
      metadata: meta('district'),
      layout: { 'line-join': 'round' },
      paint: {
        'line-color': p.districtCasing,
        'line-width': ramp([[6, 3], [12, 6], [16, 9]]),
        'line-opacity': name === 'dark' ? 0.55 : 0.8,
        'line-blur': name === 'dark' ? 3 : 0,
      },
    },
    {
      id: 'district-line',
      type: 'line',
      source: SOURCE,
      'source-layer': 'district',
      metadata: meta('district'),
      layout: { 'line-join': 'round' },
      paint: {
        'line-color': p.districtLine,
        'line-width': ramp([[6, 1.2], [12, 2.2], [16, 3.2]]),
      },
    },
    {
      id: 'selection-casing',
      type: 'line',
      source: 'selection',
      layout: { 'line-join': 'round' },
      paint: { 'line-color': p.accentCasing, 'line-width': 6, 'line-opacity': 0.85 },
    },
    {
      id: 'selection-line',
      type: 'line',
      source: 'selection',
      layout: { 'line-join': 'round' },
      paint: { 'line-color': p.accent, 'line-width': 3 },
    },
    ...eventLayers(p),
    label('unit', p, { size: [10, 11.5], font: FONT_REGULAR, haloWidth: 1, ...zooms('unit') }),
    label('grid', p, { size: [11.5, 13.5], font: FONT_REGULAR, ...zooms('grid') }),
    label('village', p, { size: [12, 17], font: FONT_REGULAR, spacing: 0.05, haloWidth: 1.6, ...zooms('village') }),
    label('town', p, { size: [13, 16], font: FONT_BOLD, spacing: 0.05, ...zooms('town') }),
    label('district', p, { size: [15, 20], font: FONT_BOLD, spacing: 0.2, haloWidth: 2, ...zooms('district') }),
    {
      id: 'probe-halo',
      type: 'circle',
      source: 'probe',
      paint: { 'circle-radius': 14, 'circle-color': p.accent, 'circle-opacity': 0.2 },
    },
    {
      id: 'probe',
      type: 'circle',
      source: 'probe',
      paint: {
        'circle-radius': 6,
        'circle-color': p.accent,
        'circle-stroke-color': p.accentCasing,
        'circle-stroke-width': 2,
      },
    },
  ];

  return {
    version: 8,
    name: p.title,
    metadata: {
      'onemap:theme': name,
      'onemap:note': 'Generated by web/scripts/styles.mjs; URLs are root-relative to the onemap server.',
    },
    center: [119.01, 25.45],
    zoom: 9,
    glyphs: '/fonts/{fontstack}/{range}.pbf',
    sources,
    layers,
  };
}

function zooms(level) {
  const [minzoom, maxzoom] = LABEL_ZOOMS[level];
  return { minzoom, maxzoom };
}

/** The style as written to disk: two-space JSON with a final newline. */
export function styleText(name) {
  return JSON.stringify(buildStyle(name), null, 2) + '\n';
}

export const THEMES = Object.keys(PALETTES);

function main() {
  for (const name of THEMES) {
    const file = path.join(stylesDir, `${name}.json`);
    fs.mkdirSync(stylesDir, { recursive: true });
    fs.writeFileSync(file, styleText(name));
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
