// The events panel's pure parts (src/eventfilter.js): the query the tiles and statistics get for
// each time window, and the choropleth's classes. Needs no server and no browser.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addDays, bucketOf, classBounds, eventQuery, todayInCity, CLASSES } from '../src/eventfilter.js';

describe('event filter', () => {
  it('dates are the city\'s (Asia/Shanghai), not the browser\'s', () => {
    // 2026-11-30 17:00 UTC is already 2026-12-01 01:00 in Putian.
    assert.equal(todayInCity(new Date('2026-11-30T17:00:00Z')), '2026-12-01');
    assert.equal(todayInCity(new Date('2026-11-30T15:59:59Z')), '2026-11-30');
    assert.equal(addDays('2026-03-01', -1), '2026-02-28');
    assert.equal(addDays('2026-12-01', -29), '2026-11-02');
  });

  it('a window of N days starts N-1 days back, today included, open at the end', () => {
    const base = { category: '', from: '', to: '' };
    assert.deepEqual(eventQuery({ ...base, window: '30d' }, '2026-12-01'), { from: '2026-11-02' });
    assert.deepEqual(eventQuery({ ...base, window: '7d' }, '2026-12-01'), { from: '2026-11-25' });
    assert.deepEqual(eventQuery({ ...base, window: '365d' }, '2026-12-01'), { from: '2025-12-02' });
    assert.deepEqual(eventQuery({ ...base, window: 'nonsense' }, '2026-12-01'), { from: '2026-11-02' });
    assert.deepEqual(eventQuery({ ...base, window: '90d', category: 'traffic' }, '2026-12-01'), { category: 'traffic', from: '2026-09-03' });
  });

  it('a custom pair is sent as picked; a missing or malformed end is left out', () => {
    const q = (from, to) => eventQuery({ category: '', window: 'custom', from, to }, '2026-12-01');
    assert.deepEqual(q('2026-11-01', '2026-11-30'), { from: '2026-11-01', to: '2026-11-30' });
    assert.deepEqual(q('2026-11-01', ''), { from: '2026-11-01' });
    assert.deepEqual(q('', '2026-11-30'), { to: '2026-11-30' });
    assert.deepEqual(q('11/01/2026', 'x'), {});
  });
});

describe('choropleth classes', () => {
  it('quantile bounds of the non-zero counts, strictly increasing, ending at the largest', () => {
    assert.deepEqual(classBounds([]), []);
    assert.deepEqual(classBounds([0, 0]), []);
    assert.deepEqual(classBounds([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), [2, 4, 6, 8, 10]);
    assert.deepEqual(classBounds([3, 3, 3, 0]), [3]);
    assert.deepEqual(classBounds([1, 1, 1, 1, 50]), [1, 50]);
  });

  it('buckets: 0 for none, the top class for the largest, every bucket in 0..CLASSES', () => {
    const counts = [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89];
    const bounds = classBounds(counts);
    assert.equal(bucketOf(0, bounds), 0);
    assert.equal(bucketOf(89, bounds), CLASSES);
    assert.equal(bucketOf(1, bounds), 1);
    for (const c of counts) assert.ok(bucketOf(c, bounds) >= 0 && bucketOf(c, bounds) <= CLASSES);
    // Monotonic: more events never fall into a lower class.
    for (let i = 1; i < counts.length; i++) assert.ok(bucketOf(counts[i], bounds) >= bucketOf(counts[i - 1], bounds));
    // Two classes only: the lowest and the highest colour, so the contrast stays.
    assert.deepEqual([1, 50].map((c) => bucketOf(c, [1, 50])), [1, CLASSES]);
    assert.equal(bucketOf(7, [7]), CLASSES);
    // Beyond the last bound (stats refreshed while the map held older ones): top class.
    assert.equal(bucketOf(100, [2, 4]), CLASSES);
  });
});
