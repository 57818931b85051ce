// The 渔船 panel's pure parts (src/vessels/format.js) and its map layers (src/vessels/layers.js):
// speeds, courses, ages and durations in Chinese, the boats merged with the stream by time, their
// GeoJSON and counts, the search, the event list, the hatch image, and both styles with the
// vessel layers added still valid. Needs no server and no browser.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';
import {
  VESSEL_STATES,
  ageSeconds,
  boatFeature,
  boatsCollection,
  classText,
  countStates,
  eventTypeText,
  formatAge,
  formatCourse,
  formatDuration,
  formatSpeed,
  isVesselAlert,
  matchBoats,
  mergeEvents,
  newerBoat,
  normaliseCounts,
  ownerText,
  placeText,
  positionTimeText,
  sortHarbours,
  stateText,
  tripText,
} from '../src/vessels/format.js';
import { BOATS_SOURCE, GROUP, TOGGLES, TRACK_SOURCE, decorateStyle, hatchImage, hatchName } from '../src/vessels/layers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const stylesDir = path.resolve(here, '../../styles');

describe('vessel formats', () => {
  it('speeds in 节 with one decimal, courses as 方位; not available as —', () => {
    assert.equal(formatSpeed(4.25), '4.3 节');
    assert.equal(formatSpeed(0), '0.0 节');
    assert.equal(formatSpeed(null), '—');
    assert.equal(formatSpeed(undefined), '—');
    assert.equal(formatCourse(45), '东北 45°');
    assert.equal(formatCourse(181.4), '南 181°');
    assert.equal(formatCourse(null), '—');
  });

  it('ages in Chinese: 刚刚, seconds, minutes, hours and minutes, days and hours', () => {
    assert.equal(formatAge(0), '刚刚');
    assert.equal(formatAge(9.9), '刚刚');
    assert.equal(formatAge(10), '10 秒前');
    assert.equal(formatAge(59), '59 秒前');
    assert.equal(formatAge(60), '1 分钟前');
    assert.equal(formatAge(3599), '59 分钟前');
    assert.equal(formatAge(3600), '1 小时前');
    assert.equal(formatAge(3 * 3600 + 5 * 60 + 7), '3 小时 5 分钟前');
    assert.equal(formatAge(86400), '1 天前');
    assert.equal(formatAge(2 * 86400 + 4 * 3600), '2 天 4 小时前');
    assert.equal(formatAge(-5), '刚刚', 'a clock a little ahead is not in the future');
    assert.equal(formatAge(null), '—');
    assert.equal(formatDuration(45 * 60), '45 分钟');
    assert.equal(formatDuration(3 * 3600 + 20 * 60), '3 小时 20 分钟');
    assert.equal(formatDuration(2 * 86400 + 3 * 3600), '2 天 3 小时');
  });

  it('the age of a position: the server\'s age_s ticking on, else from its time; shown in Beijing time', () => {
    const now = Date.parse('2026-05-01T00:03:00Z');
    assert.equal(ageSeconds('2026-05-01T00:00:00Z', 999, now), 180);
    assert.equal(ageSeconds(null, 42, now), 42);
    assert.equal(ageSeconds(null, null, now), null);
    // The server's age (its fleet clock may follow a replayed feed) ticking on since the answer.
    assert.equal(ageSeconds('2026-05-01T00:00:00Z', 600, now, now - 30_000), 630);
    assert.equal(positionTimeText('2026-05-01T00:00:00Z', 7200, now, now), '05-01 08:00:00（2 小时前）');
    // 08:00 Beijing time is midnight UTC.
    assert.equal(positionTimeText('2026-05-01T00:00:00Z', null, now), '05-01 08:00:00（3 分钟前）');
    assert.equal(positionTimeText(null, 75, now), '1 分钟前');
    assert.equal(positionTimeText(null, null, now), '—');
  });

  it('labels: states, classes, places, owners, trips, event types', () => {
    assert.deepEqual(VESSEL_STATES.map(([s]) => s), ['in_port', 'at_sea', 'fishing', 'dark', 'lost', 'unknown']);
    assert.equal(stateText({ state: 'fishing' }), '作业');
    assert.equal(stateText({ state: 'fishing', state_name: '作业中' }), '作业中', 'the server\'s name wins');
    assert.equal(stateText({ state: 'sunk' }), '未知');
    assert.equal(classText('A'), 'A 类');
    assert.equal(classText(null), '—');
    assert.equal(placeText({ id: 'h1', name: '黄石渔港' }), '黄石渔港');
    assert.equal(placeText(null), '—');
    assert.equal(ownerText({ name: '林某', phone: '138****5678' }), '林某 · 138****5678');
    assert.equal(ownerText({ name: '林某', phone: null }), '林某');
    assert.equal(ownerText(null), '—');
    const now = Date.parse('2026-05-01T03:00:00Z');
    assert.equal(tripText({ departed_at: '2026-05-01T00:00:00Z', from: { id: 'h1', name: '黄石渔港' } }, now), '05-01 08:00:00 自 黄石渔港 出港（3 小时前）');
    assert.equal(tripText(null, now), '无当前航次');
    assert.equal(eventTypeText({ type: 'port_exit' }), '出港');
    assert.equal(eventTypeText({ type: 'port_entry', type_name: '进港' }), '进港');
  });

  it('the vessel alert kinds, and no other', () => {
    for (const kind of ['closure_departure', 'closure_at_sea', 'dark_at_sea', 'zone_entry']) assert.ok(isVesselAlert({ kind }), kind);
    for (const kind of ['sensor_alarm', 'fire_near_heritage', 'toString', undefined]) assert.ok(!isVesselAlert({ kind }), String(kind));
    assert.ok(!isVesselAlert(null));
  });

  it('a newer position replaces the held one, an older never, the same one from the stream does', () => {
    const held = { mmsi: 1, at: '2026-05-01T00:00:10Z', state: 'at_sea' };
    assert.ok(newerBoat(held, { at: '2026-05-01T00:00:11Z' }));
    assert.ok(!newerBoat(held, { at: '2026-05-01T00:00:09Z' }));
    assert.ok(newerBoat(held, { at: '2026-05-01T00:00:10Z', state: 'lost' }));
    assert.ok(!newerBoat(held, { at: '2026-05-01T00:00:10Z' }, { sameReplaces: false }));
    assert.ok(newerBoat(undefined, { at: null }));
    assert.ok(newerBoat({ at: null }, { at: '2026-05-01T00:00:00Z' }), 'a first position beats none');
  });

  it('boats as GeoJSON with the MMSI as feature id; boats without a position left out', () => {
    const boats = [
      { mmsi: 412000001, name: '闽莆渔01', state: 'fishing', class: 'A', lon: 119.3, lat: 25.2, speed_kn: 3.5, course: 90 },
      { mmsi: 412000002, name: '', state: 'unknown', lon: null, lat: null },
      { mmsi: '412000003', name: '闽莆渔03', state: 'weird', lon: '119.1', lat: '25.1', speed_kn: null },
    ];
    const fc = boatsCollection(boats);
    assert.equal(fc.features.length, 2);
    assert.deepEqual(fc.features[0], {
      type: 'Feature',
      id: 412000001,
      properties: { mmsi: '412000001', name: '闽莆渔01', state: 'fishing', class: 'A', speed_kn: 3.5, course: 90, stopped: false, rank: 3 },
      geometry: { type: 'Point', coordinates: [119.3, 25.2] },
    });
    assert.equal(fc.features[1].id, 412000003);
    assert.equal(fc.features[1].properties.state, 'unknown');
    assert.deepEqual(fc.features[1].geometry.coordinates, [119.1, 25.1]);
    assert.equal(boatFeature(boats[1]), null);
  });

  it('counts every state of the legend; the API\'s counts filled in the same way', () => {
    const counts = countStates([{ state: 'in_port' }, { state: 'in_port' }, { state: 'dark' }, { state: 'odd' }, {}]);
    assert.deepEqual(counts, { in_port: 2, at_sea: 0, fishing: 0, dark: 1, lost: 0, unknown: 2 });
    assert.deepEqual(normaliseCounts({ in_port: 3, fishing: 1, odd: 2 }), { in_port: 3, at_sea: 0, fishing: 1, dark: 0, lost: 0, unknown: 2 });
    assert.deepEqual(normaliseCounts(null), { in_port: 0, at_sea: 0, fishing: 0, dark: 0, lost: 0, unknown: 0 });
  });

  it('finds boats by MMSI prefix, name or call sign, exact MMSI first', () => {
    const boats = [
      { mmsi: 412000010, name: '闽莆渔10' },
      { mmsi: 412000001, name: '闽莆渔01', call_sign: 'BXYZ' },
      { mmsi: 413000001, name: '浙渔1' },
    ];
    assert.deepEqual(matchBoats(boats, '412000001').map((v) => v.mmsi), [412000001]);
    assert.deepEqual(matchBoats(boats, '41200').map((v) => v.mmsi), [412000001, 412000010]);
    assert.deepEqual(matchBoats(boats, '闽莆').map((v) => v.mmsi), [412000001, 412000010]);
    assert.deepEqual(matchBoats(boats, 'bxy').map((v) => v.mmsi), [412000001]);
    assert.deepEqual(matchBoats(boats, '  '), []);
    assert.equal(matchBoats(boats, '4', 2).length, 2);
  });

  it('events merged by id, newest first, at most 50', () => {
    const held = [{ id: 1, at: '2026-05-01T00:00:00Z', type: 'port_exit' }];
    const merged = mergeEvents(held, [{ id: 2, at: '2026-05-01T00:01:00Z' }, { id: 1, at: '2026-05-01T00:00:00Z', type: 'port_entry' }]);
    assert.deepEqual(merged.map((e) => e.id), [2, 1]);
    assert.equal(merged[1].type, 'port_entry');
    const many = Array.from({ length: 60 }, (_, i) => ({ id: i, at: new Date(Date.UTC(2026, 4, 1, 0, i)).toISOString() }));
    const top = mergeEvents([], many);
    assert.equal(top.length, 50);
    assert.equal(top[0].id, 59);
  });

  it('harbours with the most boats registered first', () => {
    const list = sortHarbours([{ name: '乙', home: 3, in_port: 1 }, { name: '甲', home: 9, in_port: 0 }, { name: '丙', home: 3, in_port: 2 }]);
    assert.deepEqual(list.map((h) => h.name), ['甲', '丙', '乙']);
  });
});

describe('vessel layers', () => {
  it('the zones\' hatch is an RGBA image of diagonal lines', () => {
    const img = hatchImage([255, 0, 0, 200], 16, 3);
    assert.equal(img.width, 16);
    assert.equal(img.data.length, 16 * 16 * 4);
    const alpha = (x, y) => img.data[(y * 16 + x) * 4 + 3];
    assert.equal(alpha(0, 0), 200);
    assert.equal(alpha(15, 1), 200, 'the line wraps (x + y) mod 16');
    assert.equal(alpha(8, 0), 0);
    assert.equal(hatchName('dark'), 'vessel-hatch-dark');
    assert.equal(hatchName('sepia'), 'vessel-hatch-light');
  });

  for (const theme of ['light', 'dark']) {
    it(`the ${theme} style with the vessel layers is valid, each layer in the vessels group`, () => {
      const style = JSON.parse(fs.readFileSync(path.join(stylesDir, `${theme}.json`), 'utf8'));
      const before = style.layers.length;
      const boats = boatsCollection([{ mmsi: 412000001, name: '闽莆渔01', state: 'fishing', lon: 119.3, lat: 25.2 }]);
      const track = { type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: [[119.2, 25.2], [119.3, 25.2]] } }] };
      decorateStyle(style, { theme, boats, track, selected: '412000001', visible: (l) => l.metadata['onemap:vessels'] !== 'labels' });
      assert.deepEqual(validateStyleMin(style).map((e) => e.message), []);
      const mine = style.layers.filter((l) => l.metadata?.['onemap:group'] === GROUP);
      assert.equal(style.layers.length - before, mine.length);
      const toggles = new Set(TOGGLES.map(([id]) => id));
      for (const l of mine) assert.ok(toggles.has(l.metadata['onemap:vessels']) || l.metadata['onemap:vessels'] === 'track', l.id);
      for (const id of toggles) assert.ok(mine.some((l) => l.metadata['onemap:vessels'] === id), `no layer for the ${id} toggle`);
      const index = (id) => style.layers.findIndex((l) => l.id === id);
      assert.ok(index('vessel-zones-fill') < index('unit-line'), 'the hatch lies beneath the area outlines');
      assert.ok(index('vessel-boats-point') > index('vessel-track-line'), 'boats above their track');
      assert.equal(style.layers.find((l) => l.id === 'vessel-zones-fill').paint['fill-pattern'], `vessel-hatch-${theme}`);
      assert.equal(style.layers.find((l) => l.id === 'vessel-boats-label').layout.visibility, 'none');
      assert.equal(style.layers.find((l) => l.id === 'vessel-boats-point').layout.visibility, 'visible');
      assert.deepEqual(style.layers.find((l) => l.id === 'vessel-boats-selected').filter, ['==', ['get', 'mmsi'], '412000001']);
      // Tile sources by root-relative TileJSON, as the styles' own; the boats and track are GeoJSON.
      assert.equal(style.sources['vessel-harbours'].url, '/tiles/harbours');
      assert.equal(style.sources['vessel-zones'].url, '/tiles/vessel-zones');
      assert.equal(style.sources[BOATS_SOURCE].data.features.length, 1);
      assert.equal(style.sources[TRACK_SOURCE].data.features.length, 1);
      for (const s of Object.values(style.sources)) if (s.url) assert.match(s.url, /^\/tiles\/[a-z-]+$/);
    });
  }
});
