// The command centre's big screen (/screen, /screen/{code}) in headless Debian Chromium against a
// real onemap server (ONEMAP_URL; scripts/test starts one on the demo city): it fills walls of
// 1920×1080, 3840×2160 and 5760×1080 at full resolution with no scrollbars; its KPI cards equal
// the statistics API; a reported event reaches the ticker and the KPIs within 2 s; a town's
// screen is scoped to it; the focus rotates over the children; and — on a second server the test
// starts itself (ONEMAP_BIN, ONEMAP_SCREEN_DATABASE_URL) — the page survives a server restart
// without reloading. Fails on any console error, failed request or request to another host.
// The pure parts (scale, scope, clock, staleness, backoff) are checked in Node first.
//
// Screenshots go to web/test-output/screen-*.png (ignored by git).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { authFetch, guard, launch, signInContext } from './chromium.mjs';
import {
  backoffMs,
  cardsFor,
  childLevel,
  clockText,
  indicatorText,
  rotateSeconds,
  scopeFromLocation,
  stageFor,
  staleAfterMs,
  todayInCity,
  windowFrom,
} from '../src/screen/model.js';
import { openStream } from '../src/screen/stream.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, '../test-output');
const webDist = path.resolve(here, '../dist');
const stylesDir = path.resolve(here, '../../styles');
const BASE = process.env.ONEMAP_URL?.replace(/\/+$/, '');
const BIN = process.env.ONEMAP_BIN;
const DB_URL = process.env.ONEMAP_SCREEN_DATABASE_URL;
const WAIT_MS = 120_000;
/** The restart test also freezes its server for 2 × heartbeat + 5 s (about 35 s); 0 skips that. */
const SILENCE = process.env.ONEMAP_SCREEN_SILENCE !== '0';
const CITY = '3503';
const TOWN = { code: '350304100', name: '西天尾镇' }; // a town of the demo city (seed 3503)
const INSIDE = { lon: 119.028, lat: 25.41 }; // inside 东星社区, 西天尾镇

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('big screen: pure parts', () => {
  it('scales the 1920×1080 design to any wall without letterboxing', () => {
    assert.deepEqual(stageFor(1920, 1080), { scale: 1, width: 1920, height: 1080 });
    assert.deepEqual(stageFor(3840, 2160), { scale: 2, width: 1920, height: 1080 });
    // Ultra-wide: height decides, the stage gets wider (the middle column grows).
    assert.deepEqual(stageFor(5760, 1080), { scale: 1, width: 5760, height: 1080 });
    const tall = stageFor(1080, 1920);
    assert.equal(tall.scale, 1080 / 1920);
    assert.equal(tall.width, 1920);
    assert.ok(Math.abs(tall.height - 3413.33) < 0.01);
  });

  it('reads the scope and the rotation from the URL', () => {
    assert.equal(scopeFromLocation('/screen'), CITY);
    assert.equal(scopeFromLocation('/screen/'), CITY);
    assert.equal(scopeFromLocation('/screen/350304'), '350304');
    assert.equal(scopeFromLocation('/screen/350304100/'), '350304100');
    assert.equal(scopeFromLocation('/screen.html', '?area=350304'), '350304');
    assert.equal(scopeFromLocation('/screen/abc'), CITY);
    assert.equal(rotateSeconds(''), 30);
    assert.equal(rotateSeconds('?rotate=0'), 0);
    assert.equal(rotateSeconds('?rotate=12'), 12);
    assert.equal(rotateSeconds('?rotate=x'), 30);
    assert.equal(childLevel('city'), 'town');
    assert.equal(childLevel('town'), 'village');
  });

  it('keeps Beijing time whatever the machine zone', () => {
    const t = new Date('2026-12-02T16:30:05Z'); // 00:30:05 on 3 December in Beijing
    assert.deepEqual(clockText(t), { date: '2026年12月03日 星期四', time: '00:30:05' });
    assert.equal(todayInCity(t), '2026-12-03');
    assert.equal(windowFrom(30, t), '2026-11-04');
  });

  it('marks the stream stale after 2 × heartbeat + 5 s, and backs off 1 s doubling to 30 s', () => {
    assert.equal(staleAfterMs(15), 35_000);
    assert.equal(staleAfterMs(2), 9_000);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 20].map(backoffMs), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    assert.equal(indicatorText('live', null), '实时');
    assert.equal(indicatorText('stale', new Date('2026-12-02T06:05:09Z')), '连接中断 · 数据截至 14:05:09');
  });

  it('shows the event KPI cards only (vessel, fire and alert cards come with their topics)', () => {
    assert.deepEqual(
      cardsFor(['events', 'kpi']).map((c) => c.label),
      ['今日事件', '办理中', '超期', '本月结案率', '平均办理时长'],
    );
    assert.deepEqual(cardsFor(['events']), []);
  });
});

/** A stand-in for the browser's EventSource: the test drives its frames, errors and state. */
class FakeEventSource {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;
  static made = [];
  constructor(url) {
    this.url = url;
    this.readyState = FakeEventSource.CONNECTING;
    this.listeners = {};
    this.onerror = null;
    FakeEventSource.made.push(this);
  }
  addEventListener(type, fn) {
    (this.listeners[type] ||= []).push(fn);
  }
  close() {
    this.readyState = FakeEventSource.CLOSED;
  }
  frame(type, data) {
    this.readyState = FakeEventSource.OPEN;
    for (const fn of this.listeners[type] || []) fn({ data: JSON.stringify(data) });
  }
  fail(readyState) {
    this.readyState = readyState;
    this.onerror?.({});
  }
}

describe('big screen: the stream client', () => {
  it('goes stale on errors and on silence, live on any frame; recreates a closed stream with backoff', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const saved = globalThis.EventSource;
    globalThis.EventSource = FakeEventSource;
    FakeEventSource.made = [];
    const states = [];
    const got = [];
    try {
      const stream = openStream({
        topics: ['events', 'kpi'],
        area: '350304',
        handlers: { kpi: (k) => got.push(k.today), events: (b) => got.push(b.events.length) },
        onState: (st) => states.push(st),
      });
      assert.equal(FakeEventSource.made.length, 1);
      assert.equal(FakeEventSource.made[0].url, '/api/stream?topics=events%2Ckpi&area=350304');
      const es = FakeEventSource.made[0];
      es.frame('hello', { server: 'a', topics: ['events', 'kpi'], heartbeat_s: 2, replayed: 0 });
      es.frame('kpi', { today: 7 });
      assert.equal(stream.state, 'live');
      assert.deepEqual(got, [7]);

      // Silence: heartbeats every 2 s keep it live; nothing for 2 × 2 + 5 = 9 s makes it stale.
      t.mock.timers.tick(8000);
      es.frame('heartbeat', { time: 'x' });
      t.mock.timers.tick(8999);
      assert.equal(stream.state, 'live');
      t.mock.timers.tick(1);
      assert.equal(stream.state, 'stale');
      es.frame('events', { events: [{ id: 1 }, { id: 2 }] });
      assert.equal(stream.state, 'live');
      assert.deepEqual(got, [7, 2]);

      // An error while the browser reconnects by itself: stale, and no second EventSource.
      es.fail(FakeEventSource.CONNECTING);
      assert.equal(stream.state, 'stale');
      t.mock.timers.tick(60_000);
      assert.equal(FakeEventSource.made.length, 1);

      // Closed for good (e.g. 503): a new EventSource after 1 s, then 2 s, 4 s …
      es.fail(FakeEventSource.CLOSED);
      t.mock.timers.tick(999);
      assert.equal(FakeEventSource.made.length, 1);
      t.mock.timers.tick(1);
      assert.equal(FakeEventSource.made.length, 2);
      FakeEventSource.made[1].fail(FakeEventSource.CLOSED);
      t.mock.timers.tick(1999);
      assert.equal(FakeEventSource.made.length, 2);
      t.mock.timers.tick(1);
      assert.equal(FakeEventSource.made.length, 3);
      FakeEventSource.made[2].fail(FakeEventSource.CLOSED);
      t.mock.timers.tick(4000);
      assert.equal(FakeEventSource.made.length, 4);
      // Frames from an abandoned EventSource are ignored; the current one's count, and reset the backoff.
      es.frame('kpi', { today: 99 });
      assert.deepEqual(got, [7, 2]);
      FakeEventSource.made[3].frame('hello', { heartbeat_s: 15 });
      assert.equal(stream.state, 'live');
      FakeEventSource.made[3].fail(FakeEventSource.CLOSED);
      t.mock.timers.tick(1000);
      assert.equal(FakeEventSource.made.length, 5, 'backoff starts again at 1 s after frames flowed');
      stream.close();
      t.mock.timers.tick(120_000);
      assert.equal(FakeEventSource.made.length, 5);
      assert.equal(states[0], 'live');
    } finally {
      globalThis.EventSource = saved;
    }
  });
});

describe('big screen in headless Chromium', { timeout: 30 * 60_000 }, () => {
  let browser;

  before(async () => {
    assert.ok(BASE, 'ONEMAP_URL is not set: run through scripts/test, or point ONEMAP_URL at a running onemap server');
    fs.mkdirSync(outDir, { recursive: true });
    await waitReady(BASE);
    const res = await fetch(`${BASE}/screen`);
    assert.equal(res.status, 200, `GET /screen answered ${res.status}: this server does not serve the big screen (is the /screen route in the binary, and web/dist built?)`);
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
  });

  /**
   * Opens a screen in a fresh context and waits until it is ready (map idle, charts drawn).
   * Every request is recorded: other hosts are refused and counted, failures and console
   * errors are collected (`problems()`), minus those `tolerate(text)` accepts.
   */
  async function openScreen(base, pathAndQuery, { width = 1920, height = 1080, tolerate = () => false } = {}) {
    const host = new URL(base).host;
    const context = await browser.newContext({ viewport: { width, height }, locale: 'zh-CN', deviceScaleFactor: 1 });
    const foreign = [];
    const errors = [];
    await guard(context, host, { foreign, errors });
    await signInContext(context, base);
    const page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
    });
    page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
    await page.goto(`${base}${pathAndQuery}`);
    await page.waitForFunction(() => window.onemapScreen?.ready === true, null, { timeout: WAIT_MS });
    await page.waitForFunction(() => window.onemapScreen.streamState === 'live' && window.onemapScreen.kpi, null, { timeout: WAIT_MS });
    return {
      context,
      page,
      foreign,
      problems: () => errors.filter((e) => !tolerate(e)),
      async close() {
        await context.close();
      },
    };
  }

  function assertClean(s) {
    assert.deepEqual(s.foreign, [], 'requests to other hosts');
    assert.deepEqual(s.problems(), [], 'console errors and failed requests');
  }

  for (const [width, height] of [
    [1920, 1080],
    [3840, 2160],
    [5760, 1080],
  ]) {
    it(`fills a ${width}×${height} wall at full resolution, no scrollbars`, async () => {
      const s = await openScreen(BASE, '/screen?rotate=0&test=1', { width, height });
      try {
        const m = await s.page.evaluate(() => {
          const box = (sel) => document.querySelector(sel).getBoundingClientRect();
          const canvas = document.querySelector('#sc-map canvas.maplibregl-canvas');
          const chartCanvas = document.querySelector('#chart-trend canvas');
          return {
            innerWidth,
            innerHeight,
            dpr: devicePixelRatio,
            scrollWidth: document.documentElement.scrollWidth,
            scrollHeight: document.documentElement.scrollHeight,
            stage: box('#stage').toJSON(),
            mapBox: box('#sc-map').toJSON(),
            mapCanvas: canvas.width,
            chartBox: box('#chart-trend').toJSON(),
            chartCanvas: chartCanvas.width,
            readyMs: window.onemapScreen.readyMs,
            title: document.querySelector('#sc-title').textContent,
            tickerRows: document.querySelectorAll('#sc-ticker li[data-id]').length,
            kpiTexts: [...document.querySelectorAll('.sc-kpi-value')].map((e) => e.textContent),
            chartsWithData: Object.values(window.onemapScreen.charts).filter((c) => (c.getOption()?.series || []).some((x) => (x.data || []).length)).length,
          };
        });
        assert.ok(m.scrollWidth <= m.innerWidth && m.scrollHeight <= m.innerHeight, `scrollbars: ${m.scrollWidth}×${m.scrollHeight} in ${m.innerWidth}×${m.innerHeight}`);
        assert.ok(Math.abs(m.stage.x) < 1 && Math.abs(m.stage.y) < 1, 'stage at the top-left');
        assert.ok(Math.abs(m.stage.width - width) <= 1 && Math.abs(m.stage.height - height) <= 1, `stage ${m.stage.width}×${m.stage.height} fills ${width}×${height}`);
        // Canvases hold one pixel per device pixel of their box on the wall, not of the design.
        assert.ok(Math.abs(m.mapCanvas - m.mapBox.width * m.dpr) <= 2, `map canvas ${m.mapCanvas} px for a box of ${m.mapBox.width} px`);
        assert.ok(Math.abs(m.chartCanvas - m.chartBox.width * m.dpr) <= 2, `chart canvas ${m.chartCanvas} px for a box of ${m.chartBox.width} px`);
        if (width / height > 16 / 9 + 0.01) assert.ok(m.mapBox.width > width / 2, 'the middle column takes the extra width of a wide wall');
        assert.match(m.title, /^莆田市 一张图 指挥中心$/);
        assert.equal(m.chartsWithData, 5, 'every chart drawn with data');
        assert.ok(m.tickerRows > 0, 'the ticker lists events');
        assert.ok(m.kpiTexts.every((t) => t !== '—'), `KPI cards filled from the stream: ${m.kpiTexts}`);
        // The heat source holds features for the scope (30-day window, our area).
        const heat = await s.page.evaluate(() => {
          const map = window.onemapScreen.map;
          return { visible: map.getLayoutProperty('events-heat', 'visibility'), n: map.querySourceFeatures('events', { sourceLayer: 'events' }).length, tiles: map.getSource('events').tiles };
        });
        assert.equal(heat.visible, 'visible');
        assert.ok(heat.n > 0, 'event heat features');
        assert.ok(heat.tiles.every((t) => /[?&]from=\d{4}-\d{2}-\d{2}/.test(t) && /[?&]area=3503\b/.test(t)), `heat tile URLs: ${heat.tiles}`);
        await s.page.screenshot({ path: path.join(outDir, `screen-${width}x${height}.png`) });
        assertClean(s);
      } finally {
        await s.close();
      }
    });
  }

  it('follows a resize of the wall: stage, map and charts at the new resolution', async () => {
    const s = await openScreen(BASE, '/screen?rotate=0', { width: 1920, height: 1080 });
    try {
      await s.page.setViewportSize({ width: 3840, height: 2160 });
      const fits = () => {
        const box = (sel) => document.querySelector(sel).getBoundingClientRect();
        const mapCanvas = document.querySelector('#sc-map canvas.maplibregl-canvas').width;
        const charts = ['trend', 'categories', 'sources', 'closure', 'villages'].map((id) => [document.querySelector(`#chart-${id} canvas`)?.width, box(`#chart-${id}`).width]);
        return (
          Math.abs(box('#stage').width - innerWidth) <= 1 &&
          Math.abs(box('#stage').height - innerHeight) <= 1 &&
          Math.abs(mapCanvas - box('#sc-map').width) <= 2 &&
          charts.every(([c, w]) => Math.abs(c - w) <= 2) &&
          document.documentElement.scrollWidth <= innerWidth &&
          document.documentElement.scrollHeight <= innerHeight
        );
      };
      await s.page.waitForFunction(fits, null, { timeout: 10_000 });
      assert.equal(await s.page.evaluate(() => window.onemapScreen.state.stage.scale), 2);
      // Re-created charts keep their data.
      const withData = await s.page.evaluate(() => Object.values(window.onemapScreen.charts).filter((c) => (c.getOption()?.series || []).some((x) => (x.data || []).length)).length);
      assert.equal(withData, 5);
      assertClean(s);
    } finally {
      await s.close();
    }
  });

  /** The KPI figures as the statistics API answers them for an area (docs/STREAM.md). */
  async function kpiFromApi(base, area, level) {
    const today = todayInCity();
    const month = `${today.slice(0, 8)}01`;
    const [top, all, mon] = await Promise.all([
      apiJson(base, `/api/stats/top?area=${area}&from=${today}&limit=1`),
      // Open and overdue are over all time; the API's default window is 30 days.
      apiJson(base, `/api/stats/areas?parent=${area}&level=${level}&from=2000-01-01`),
      apiJson(base, `/api/stats/areas?parent=${area}&level=${level}&from=${month}`),
    ]);
    return {
      today: top.total,
      open: all.total.open,
      overdue: all.total.overdue,
      closure_rate: mon.total.closure_rate,
      avg_handling_hours: mon.total.avg_handling_hours,
      month_count: mon.total.count,
      month_closed: mon.total.closed,
    };
  }

  async function kpiOnPage(page) {
    return page.evaluate(() => {
      const cards = Object.fromEntries([...document.querySelectorAll('.sc-kpi')].map((c) => [c.dataset.kpi, c.dataset.value === '' ? null : Number(c.dataset.value)]));
      const k = window.onemapScreen.kpi;
      return { ...cards, month_count: k.month?.count, month_closed: k.month?.closed };
    });
  }

  /** The page's KPI cards equal the API's figures (asked again until both hold still). */
  async function assertKpiMatches(base, page, area, level) {
    let last;
    for (let i = 0; i < 20; i++) {
      const before = await kpiFromApi(base, area, level);
      const shown = await kpiOnPage(page);
      const after_ = await kpiFromApi(base, area, level);
      last = { before, shown, after: after_ };
      if (JSON.stringify(before) === JSON.stringify(after_)) {
        const same = Object.keys(before).every((k) => (before[k] === null ? shown[k] === null : Math.abs(shown[k] - before[k]) < 1e-9));
        if (same) return before;
      }
      await sleep(1000);
    }
    assert.fail(`KPI cards differ from the statistics API: ${JSON.stringify(last)}`);
  }

  it('shows the KPI figures the statistics API answers (city)', async () => {
    const s = await openScreen(BASE, '/screen?rotate=0');
    try {
      const kpi = await assertKpiMatches(BASE, s.page, CITY, 'town');
      // The cards show the figures as text too.
      const texts = await s.page.evaluate(() => Object.fromEntries([...document.querySelectorAll('.sc-kpi')].map((c) => [c.dataset.kpi, c.querySelector('.sc-kpi-value').textContent])));
      assert.equal(Number(texts.open.replace(/,/g, '')), kpi.open);
      assert.equal(Number(texts.overdue.replace(/,/g, '')), kpi.overdue);
      if (kpi.closure_rate !== null) assert.equal(texts.closure_rate, (kpi.closure_rate * 100).toFixed(1));
      assertClean(s);
    } finally {
      await s.close();
    }
  });

  it('puts a reported event on the ticker and in 今日事件 within 2 s, and flashes it on the map', async (t) => {
    const s = await openScreen(BASE, '/screen?rotate=0');
    try {
      const before = await s.page.evaluate(() => window.onemapScreen.kpi.today);
      const flashedBefore = await s.page.evaluate(() => window.onemapScreen.state.flashed);
      const { id, at } = await postEvent(BASE, '大屏测试：河道漂浮物');
      await s.page.waitForFunction(
        ({ id, before }) => document.querySelector(`#sc-ticker li[data-id="${id}"]`) && window.onemapScreen.kpi.today > before,
        { id, before },
        { timeout: WAIT_MS, polling: 50 },
      );
      const elapsed = Date.now() - at;
      t.diagnostic(`POST answered → on the ticker and in 今日事件: ${elapsed} ms`);
      assert.ok(elapsed <= 2000, `the event took ${elapsed} ms from the POST's answer to the ticker and KPI (limit 2000 ms)`);
      const row = await s.page.locator(`#sc-ticker li[data-id="${id}"]`).textContent();
      assert.match(row, /生态环境/);
      assert.match(row, /已上报/);
      assert.match(row, /东星社区/);
      assert.equal(await s.page.locator('#sc-ticker li').first().getAttribute('data-id'), String(id), 'the new event is on top');
      // Started when the message arrived; the ring is drawn in animation frames and lasts 4 s,
      // which a loaded machine may have spent on the checks above, so count starts.
      assert.ok((await s.page.evaluate(() => window.onemapScreen.state.flashed)) > flashedBefore, 'a flash on the map');
      await s.page.screenshot({ path: path.join(outDir, 'screen-new-event.png') });
      // The flash is gone after a few seconds, and the ticker stays capped.
      await s.page.waitForFunction(() => window.onemapScreen.state.flashing === 0, null, { timeout: 15_000 });
      assert.ok((await s.page.locator('#sc-ticker li').count()) <= 20);
      assertClean(s);
    } finally {
      await s.close();
    }
  });

  it('keeps memory flat under a burst: ticker capped, flashes bounded and gone, charts refreshed', async () => {
    const s = await openScreen(BASE, '/screen?rotate=0');
    try {
      const todayBefore = await s.page.evaluate(() => {
        const data = window.onemapScreen.charts.trend.getOption().series[0].data;
        return data[data.length - 1];
      });
      const rows = Array.from({ length: 25 }, (_, i) => ({
        lon: INSIDE.lon + (i % 5) * 0.004,
        lat: INSIDE.lat + Math.floor(i / 5) * 0.004,
        category: 'environment',
        source: 'hotline',
        description: `大屏测试：批量上报 ${i + 1}`,
      }));
      const res = await authFetch(`${BASE}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rows) });
      const body = await res.json();
      assert.equal(res.status, 201, JSON.stringify(body));
      const ids = body.events.map((e) => String(e.id));
      const newest = ids.slice(-20).reverse();
      await s.page.waitForFunction((last) => document.querySelector(`#sc-ticker li[data-id="${last}"]`), ids[ids.length - 1], { timeout: 30_000 });
      const listed = await s.page.$$eval('#sc-ticker li[data-id]', (lis) => lis.map((l) => l.dataset.id));
      assert.equal(listed.length, 20, 'the ticker holds 20 rows');
      assert.deepEqual(listed, newest, 'the 20 newest reports, newest first');
      assert.ok((await s.page.evaluate(() => window.onemapScreen.state.flashing)) <= 40);
      await s.page.waitForFunction(() => window.onemapScreen.state.flashing === 0, null, { timeout: 15_000 });
      await s.page.waitForFunction(() => window.onemapScreen.map.querySourceFeatures('flash').length === 0, null, { timeout: 10_000 });
      // The charts are fetched again (at most every 10 s): today's bucket has the new reports.
      await s.page.waitForFunction(
        (before) => {
          const data = window.onemapScreen.charts.trend.getOption().series[0].data;
          return data[data.length - 1] >= before + 25;
        },
        todayBefore,
        { timeout: 30_000 },
      );
      assertClean(s);
    } finally {
      await s.close();
    }
  });

  it('scopes /screen/{town} to that town', async () => {
    const s = await openScreen(BASE, `/screen/${TOWN.code}?rotate=0`);
    try {
      const title = await s.page.locator('#sc-title').textContent();
      assert.ok(title.includes(TOWN.name), `title: ${title}`);
      assert.ok((await s.page.title()).includes(TOWN.name));
      await assertKpiMatches(BASE, s.page, TOWN.code, 'village');
      // The closure chart is per village, and the ticker holds only the town's events.
      const closureTitle = await s.page.locator('#sc-closure-title').textContent();
      assert.match(closureTitle, /村（社区）/);
      const ids = await s.page.$$eval('#sc-ticker li[data-id]', (lis) => lis.map((l) => l.dataset.id));
      assert.ok(ids.length > 0);
      const listed = await apiJson(BASE, `/api/events?area=${TOWN.code}&limit=20`);
      const inTown = new Set(listed.events.map((e) => String(e.id)));
      for (const id of ids.slice(0, 5)) assert.ok(inTown.has(id), `event ${id} is in ${TOWN.name}`);
      await s.page.screenshot({ path: path.join(outDir, 'screen-town.png') });
      assertClean(s);
    } finally {
      await s.close();
    }
  });

  it('rotates the focus over the children with an outline and a caption', async () => {
    const s = await openScreen(BASE, '/screen?rotate=2');
    try {
      await s.page.waitForFunction(() => !document.querySelector('#sc-focus').hidden, null, { timeout: 30_000 });
      const focus = await s.page.evaluate(() => ({
        code: document.querySelector('#sc-focus').dataset.code,
        name: document.querySelector('#sc-focus-name').textContent,
        figures: document.querySelector('#sc-focus-figures').textContent,
      }));
      const town = await apiJson(BASE, `/api/areas/${focus.code}`);
      assert.equal(town.level, 'town');
      assert.equal(focus.name, town.name);
      assert.match(focus.figures, /结案率/);
      await s.page.waitForFunction(() => window.onemapScreen.map.querySourceFeatures('selection').length > 0, null, { timeout: 30_000 });
      // The next step moves on to another child.
      await s.page.waitForFunction((code) => document.querySelector('#sc-focus').dataset.code !== code, focus.code, { timeout: 30_000 });
      assertClean(s);
    } finally {
      await s.close();
    }
  });

  it('survives a server restart without reloading', { skip: !(BIN && DB_URL) && 'ONEMAP_BIN and ONEMAP_SCREEN_DATABASE_URL are not set: the restart test starts its own server' }, async (t) => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    let server = await startServer(port);
    let s;
    try {
      // Only the outage may fail requests: the stream while the server is down or loading.
      const tolerate = (e) => /ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET|ERR_INCOMPLETE_CHUNKED_ENCODING|Failed to load resource|\/api\/stream/.test(e);
      s = await openScreen(base, '/screen?rotate=0', { tolerate });
      const marker = await s.page.evaluate(() => window.onemapScreen.reloadMarker);
      assert.ok(marker);

      // Silence with the connection open (the server frozen): stale after 2 × heartbeat + 5 s,
      // live again when the frames flow.
      if (SILENCE) {
        const hb = (await s.page.evaluate(() => window.onemapScreen.heartbeatS)) || 15;
        server.kill('SIGSTOP');
        try {
          const t0 = Date.now();
          await s.page.waitForFunction(() => window.onemapScreen.streamState === 'stale', null, { timeout: (2 * hb + 5) * 1000 + 30_000 });
          t.diagnostic(`silent stream marked stale after ${Date.now() - t0} ms (limit ${(2 * hb + 5) * 1000} ms)`);
        } finally {
          server.kill('SIGCONT');
        }
        await s.page.waitForFunction(() => window.onemapScreen.streamState === 'live', null, { timeout: WAIT_MS });
      }

      await stopServer(server);
      await s.page.waitForFunction(() => window.onemapScreen.streamState === 'stale', null, { timeout: 60_000 });
      const indicator = await s.page.locator('#sc-indicator').textContent();
      assert.match(indicator, /连接中断 · 数据截至 \d{2}:\d{2}:\d{2}/);
      assert.equal(await s.page.locator('#sc-indicator').getAttribute('data-state'), 'stale');
      await s.page.screenshot({ path: path.join(outDir, 'screen-stale.png') });

      server = await startServer(port);
      await s.page.waitForFunction(() => window.onemapScreen.streamState === 'live', null, { timeout: WAIT_MS });
      assert.match(await s.page.locator('#sc-indicator').textContent(), /实时/);

      const { id } = await postEvent(base, '大屏测试：重启后的上报');
      await s.page.waitForFunction((id) => document.querySelector(`#sc-ticker li[data-id="${id}"]`), id, { timeout: 30_000 });
      assert.equal(await s.page.evaluate(() => window.onemapScreen.reloadMarker), marker, 'the page was not reloaded');
      assert.equal(await s.page.evaluate(() => performance.getEntriesByType('navigation').length), 1);
      assertClean(s);
    } finally {
      await s?.close();
      server?.kill('SIGCONT');
      await stopServer(server);
    }
  });
});

// --- helpers ------------------------------------------------------------------------------------

async function apiJson(base, pathAndQuery) {
  const res = await authFetch(`${base}${pathAndQuery}`);
  assert.equal(res.status, 200, `${pathAndQuery} answered ${res.status}`);
  return res.json();
}

/** Reports one event inside 东星社区; resolves with its id and the time the answer came. */
async function postEvent(base, description) {
  const res = await authFetch(`${base}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...INSIDE, category: 'environment', source: 'hotline', description }),
  });
  const at = Date.now();
  const body = await res.json();
  assert.equal(res.status, 201, `POST /api/events answered ${res.status}: ${JSON.stringify(body)}`);
  return { id: body.id, at };
}

async function waitReady(base, timeoutMs = 180_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${base}/readyz did not answer 200 within ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** `onemap serve` on the test's database, at 127.0.0.1:port; resolves once /readyz says 200. */
async function startServer(port) {
  const log = fs.openSync(path.join(outDir, 'screen-restart-server.log'), 'a');
  const child = spawn(BIN, ['serve', '--addr', `127.0.0.1:${port}`, '--web-dir', webDist, '--styles-dir', stylesDir, '--tile-cache-mb', '32', '--demo-accounts'], {
    env: { ...process.env, DATABASE_URL: DB_URL },
    stdio: ['ignore', log, log],
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.exited = exited;
  const early = exited.then(({ code, signal }) => {
    throw new Error(`onemap serve exited early (${code ?? signal}); see test-output/screen-restart-server.log`);
  });
  early.catch(() => {}); // after readiness, the exit is stopServer's business
  await Promise.race([waitReady(`http://127.0.0.1:${port}`), early]);
  return child;
}

/** SIGTERM, then SIGKILL if it has not gone within 10 s. */
async function stopServer(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const gone = await Promise.race([child.exited.then(() => true), sleep(10_000).then(() => false)]);
  if (!gone) {
    child.kill('SIGKILL');
    await child.exited;
  }
}
