// The 消防 panel's pure parts (src/fire/format.js) and its map layers (src/fire/layers.js): the
// texts for distances, 方位, areas and shares, the sites grouped by level, the alert list merged
// with the stream, the metres-to-pixels ring, and both styles with the fire layers added still
// valid. Needs no server and no browser.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateStyleMin, expression } from '@maplibre/maplibre-gl-style-spec';
import {
  M2_PER_MU,
  alertInArea,
  bearingText,
  countSensorStates,
  formatArea,
  formatDistance,
  formatReading,
  formatShare,
  formatTime,
  groupSitesByLevel,
  mergeAlerts,
  metresToPixels,
  shareFraction,
  sortSensors,
} from '../src/fire/format.js';
import { GROUP, NEAREST_SOURCE, TOGGLES, decorateStyle, nearestData, ringRadius } from '../src/fire/layers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const stylesDir = path.resolve(here, '../../styles');

describe('fire formats', () => {
  it('distances in 米 below a kilometre, 公里 above; unknown as —', () => {
    assert.equal(formatDistance(0), '0 米');
    assert.equal(formatDistance(86.4), '86 米');
    assert.equal(formatDistance(999.4), '999 米');
    assert.equal(formatDistance(1250), '1.25 公里');
    assert.equal(formatDistance(null), '—');
    assert.equal(formatDistance(undefined), '—');
    assert.equal(formatDistance('x'), '—');
  });

  it('bearings as 方位: eight sectors of 45°, centred on the compass points', () => {
    assert.equal(bearingText(0), '北 0°');
    assert.equal(bearingText(22.4), '北 22°');
    assert.equal(bearingText(22.6), '东北 23°');
    assert.equal(bearingText(42), '东北 42°');
    assert.equal(bearingText(90), '东 90°');
    assert.equal(bearingText(135), '东南 135°');
    assert.equal(bearingText(180), '南 180°');
    assert.equal(bearingText(225), '西南 225°');
    assert.equal(bearingText(270), '西 270°');
    assert.equal(bearingText(315), '西北 315°');
    assert.equal(bearingText(359.6), '北 0°', 'rounds to 360, which is north');
    assert.equal(bearingText(-45), '西北 315°');
    assert.equal(bearingText(405), '东北 45°');
    assert.equal(bearingText(null), '—');
    // The server's point of the compass wins (it names the bearing before rounding).
    assert.equal(bearingText(22.5, '北'), '北 23°');
    assert.equal(bearingText(22.5, ''), '东北 23°');
  });

  it('areas in m² below one 亩 (666.7 m²), in 亩 above', () => {
    assert.ok(Math.abs(M2_PER_MU - 666.6667) < 1e-3);
    assert.equal(formatArea(0), '0 m²');
    assert.equal(formatArea(320.4), '320 m²');
    assert.equal(formatArea(666), '666 m²');
    assert.equal(formatArea(667), '1.0 亩');
    assert.equal(formatArea(10000), '15.0 亩');
    assert.equal(formatArea(1_000_000), '1,500.0 亩');
    assert.equal(formatArea(null), '—');
  });

  it('shares as percentages, a fraction or (above 1) already percent', () => {
    assert.equal(formatShare(0.875), '87.5%');
    assert.equal(formatShare(1), '100.0%');
    assert.equal(formatShare(0), '0.0%');
    assert.equal(formatShare(62.5), '62.5%');
    assert.equal(formatShare(null), '—');
    assert.equal(shareFraction(0.25), 0.25);
    assert.equal(shareFraction(25), 0.25);
    assert.equal(shareFraction(-1), 0);
    assert.equal(shareFraction('x'), 0);
  });

  it('times in Beijing time whatever the zone; readings with their unit', () => {
    assert.equal(formatTime('2026-11-30T17:05:09Z'), '12-01 01:05:09');
    assert.equal(formatTime('2026-12-01T08:00:00+08:00'), '12-01 08:00:00');
    assert.equal(formatTime(null), '—');
    assert.equal(formatTime('nonsense'), '—');
    assert.equal(formatReading(62.5, 'temperature'), '62.5 °C');
    assert.equal(formatReading(320, 'current'), '320 mA');
    assert.equal(formatReading(1, 'smoke'), '1');
    assert.equal(formatReading(null, 'smoke'), '—');
  });
});

describe('fire lists', () => {
  const sites = [
    { id: 1, name: '乙祠', level: 'county', covered: true },
    { id: 2, name: '甲寺', level: 'national', covered: true },
    { id: 3, name: '丙塔', level: 'national', covered: false },
    { id: 4, name: '丁桥', level: 'provincial', covered: false },
    { id: 5, name: '戊宅', level: 'weird', covered: true },
  ];

  it('groups heritage sites by level, highest first, uncovered first within a level', () => {
    const groups = groupSitesByLevel(sites);
    assert.deepEqual(
      groups.map((g) => [g.level, g.label, g.sites.map((s) => s.id), g.covered]),
      [
        ['national', '全国重点', [3, 2], 1],
        ['provincial', '省级', [4], 0],
        ['municipal', '市级', [], 0],
        ['county', '县级', [1], 1],
        ['other', '其他', [5], 1],
      ],
    );
    assert.equal(groups.reduce((s, g) => s + g.sites.length, 0), sites.length, 'every site in one group');
    assert.equal(groupSitesByLevel([]).length, 4, 'the four levels even when empty');
  });

  it('counts and orders sensors by state, alarm first; unknown states count as 未知', () => {
    const sensors = [
      { id: 1, name: 'b', state: 'normal' },
      { id: 2, name: 'a', state: 'alarm' },
      { id: 3, name: 'c', state: 'silent' },
      { id: 4, name: 'd', state: 'broken' },
      { id: 5, name: 'a', state: 'normal' },
    ];
    assert.deepEqual(countSensorStates(sensors), { alarm: 1, silent: 1, unknown: 1, normal: 2 });
    assert.deepEqual(sortSensors(sensors).map((s) => s.id), [2, 3, 4, 5, 1]);
  });

  it('merges alerts by id, the newer version winning, newest raised first', () => {
    const held = [
      { id: 1, raised_at: '2026-12-01T08:00:00+08:00', acked_at: null },
      { id: 2, raised_at: '2026-12-01T09:00:00+08:00', acked_at: null },
    ];
    const merged = mergeAlerts(held, [
      { id: 3, raised_at: '2026-12-01T10:00:00+08:00', acked_at: null },
      { id: 1, raised_at: '2026-12-01T08:00:00+08:00', acked_at: '2026-12-01T10:05:00+08:00', note: '已处理' },
    ]);
    assert.deepEqual(merged.map((a) => a.id), [3, 2, 1]);
    assert.equal(merged[2].note, '已处理');
    assert.equal(held[0].acked_at, null, 'the held list is not changed');
    // Same time: the higher id (raised later) first; a repeat changes nothing.
    const tie = mergeAlerts([{ id: 7, raised_at: 'x' }], [{ id: 8, raised_at: 'x' }, { id: 7, raised_at: 'x' }]);
    assert.deepEqual(tie.map((a) => a.id), [8, 7]);
  });

  it('an alert is in an area when its village lies in that area', () => {
    const a = { village: { code: '350304002205' } };
    assert.ok(alertInArea(a, '350304002205'));
    assert.ok(alertInArea(a, '350304002'));
    assert.ok(!alertInArea(a, '350304100001'));
    assert.ok(!alertInArea({ village: null }, '3503'));
    assert.ok(alertInArea({ village: null }, null));
  });
});

describe('fire layers', () => {
  it('converts metres to pixels as the map scale does, doubling with each zoom', () => {
    // At the equator, zoom 0: 40,075,016.7 m over 512 px.
    assert.ok(Math.abs(metresToPixels(40075016.686, 0, 0) - 512) < 1e-6);
    // Zoom 16 of MapLibre's 512 px world is 1.1943 m/px at the equator; times cos 25.4° = 1.0788
    // m/px in Putian, so 150 m are 139.0 px.
    const px = metresToPixels(150, 25.4, 16);
    assert.ok(Math.abs(px - 139.0) < 0.1, `${px}`);
    assert.ok(Math.abs(metresToPixels(150, 25.4, 17) / px - 2) < 1e-12);
  });

  it('the ring expression gives the radius in pixels at every zoom', () => {
    const expr = expression.createExpression(ringRadius(150), { type: 'number', 'property-type': 'data-constant', expression: { interpolated: true, parameters: ['zoom'] } });
    assert.equal(expr.result, 'success', JSON.stringify(expr.value));
    for (const zoom of [10, 13.5, 16, 18.25]) {
      const got = expr.value.evaluate({ zoom });
      const want = metresToPixels(150, 25.4, zoom);
      assert.ok(Math.abs(got / want - 1) < 1e-9, `zoom ${zoom}: ${got} px, want ${want}`);
    }
  });

  for (const theme of ['light', 'dark']) {
    it(`the ${theme} style with the fire layers is valid, each layer in the fire group`, () => {
      const style = JSON.parse(fs.readFileSync(path.join(stylesDir, `${theme}.json`), 'utf8'));
      const before = style.layers.length;
      const point = { lon: 119.01, lat: 25.43 };
      const water = [{ id: 7, kind: 'hydrant', lon: 119.011, lat: 25.431 }, { id: 9, kind: 'water', lon: 119.02, lat: 25.42 }];
      decorateStyle(style, { theme, radiusM: 150, nearest: nearestData(point, water), visible: (l) => l.metadata['onemap:fire'] !== 'uncovered' });
      assert.deepEqual(validateStyleMin(style).map((e) => e.message), []);
      const fire = style.layers.filter((l) => l.metadata?.['onemap:group'] === GROUP);
      assert.equal(style.layers.length - before, fire.length);
      const toggles = new Set(TOGGLES.map(([id]) => id));
      for (const l of fire) assert.ok(toggles.has(l.metadata['onemap:fire']) || l.metadata['onemap:fire'] === 'nearest', l.id);
      for (const id of toggles) assert.ok(fire.some((l) => l.metadata['onemap:fire'] === id), `no layer for the ${id} toggle`);
      // The uncovered areas lie beneath the area outlines, the points above everything.
      const index = (id) => style.layers.findIndex((l) => l.id === id);
      assert.ok(index('fire-uncovered-fill') < index('unit-line'));
      assert.equal(style.layers.at(-1).metadata?.['onemap:group'], GROUP);
      assert.equal(style.layers.find((l) => l.id === 'fire-uncovered-fill').layout.visibility, 'none');
      assert.equal(style.layers.find((l) => l.id === 'fire-heritage-point').layout.visibility, 'visible');
      // Sources by root-relative TileJSON, as the styles' own.
      for (const [id, s] of Object.entries(style.sources)) {
        if (s.type === 'vector') assert.match(s.url, /^\/tiles\/[a-z-]+$/, id);
      }
      assert.equal(style.sources['fire-uncovered'].url, '/tiles/fire-uncovered');
      assert.equal(style.sources[NEAREST_SOURCE].data.features.length, 2 * water.length + 1);
    });
  }

  it('draws a numbered line to each nearest water from the clicked point', () => {
    const data = nearestData({ lon: 1, lat: 2 }, [{ id: 'a', lon: 3, lat: 4 }]);
    assert.deepEqual(
      data.features.map((f) => [f.geometry.type, f.properties.rank ?? null, f.geometry.coordinates]),
      [
        ['LineString', 1, [[1, 2], [3, 4]]],
        ['Point', 1, [3, 4]],
        ['Point', null, [1, 2]],
      ],
    );
    assert.deepEqual(nearestData(null, []).features, []);
  });
});
