// The map client in a real browser against a real onemap server: headless Debian Chromium via
// playwright-core, the server at ONEMAP_URL (scripts/test starts one on the demo city). Fails on
// any console error, any failed or refused request, and any request to another host.
//
// Screenshots of both styles are written to web/test-output/ (ignored by git) for review.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { authFetch, guard, launch, signInContext } from './chromium.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, '../test-output');
const BASE = process.env.ONEMAP_URL?.replace(/\/+$/, '');

// Known places of the demo city (seed 3503).
const VILLAGE = { code: '350304100001', name: '东星社区', chain: ['莆田市', '荔城区', '西天尾镇'] };
const INSIDE = [119.028, 25.41]; // a point inside 东星社区
const OFFSHORE = [119.6504, 25.2298]; // sea, about 200 m east of the city's easternmost grid
const WAIT_MS = 90_000;

describe('map client in headless Chromium', { timeout: 15 * 60_000 }, () => {
  let browser;
  let context;
  let page;
  let serverHost;
  const requests = []; // every URL the page asked for
  const foreign = []; // requests to any other host (refused)
  const consoleErrors = [];
  const httpErrors = [];

  before(async () => {
    assert.ok(BASE, 'ONEMAP_URL is not set: run the browser test through scripts/test, or point ONEMAP_URL at a running onemap server');
    serverHost = new URL(BASE).host;
    fs.mkdirSync(outDir, { recursive: true });

    // Fail early and clearly when the server has no tiles: nothing below can pass without them.
    // The styles use one source, /tiles/areas (every level and the labels in one tile).
    {
      // 503 means the tile geometry is still loading after start: wait for it, within reason.
      let res = await authFetch(`${BASE}/tiles/areas`);
      for (const until = Date.now() + 180_000; res.status === 503 && Date.now() < until; ) {
        await new Promise((r) => setTimeout(r, 1000));
        res = await authFetch(`${BASE}/tiles/areas`);
      }
      assert.equal(res.status, 200, `GET /tiles/areas answered ${res.status}: this server serves no vector tiles (is the tiles work merged and built?)`);
      const tilejson = await res.json();
      assert.ok(Array.isArray(tilejson.tiles) && tilejson.tiles.length, '/tiles/areas has no tile URLs');
      for (const url of tilejson.tiles) {
        assert.equal(new URL(url, BASE).host, serverHost, `/tiles/areas points at another host: ${url}`);
      }
      const layers = (tilejson.vector_layers || []).map((l) => l.id).sort();
      assert.deepEqual(layers, ['district', 'grid', 'label', 'town', 'unit', 'village'], 'MVT layers of /tiles/areas');
    }

    browser = await launch();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'zh-CN', deviceScaleFactor: 1 });
    // Every request passes here: other hosts are refused (and remembered), ours go through.
    await guard(context, serverHost, { requests, foreign, errors: httpErrors });
    await signInContext(context, BASE);
    page = await context.newPage();
    watch(page);
  });

  function watch(p) {
    p.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    p.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
  }

  after(async () => {
    await browser?.close();
  });

  /** Resolves once the map has loaded every tile it needs and drawn them. */
  async function idle(p = page) {
    await p.waitForFunction(() => window.onemap?.started && window.onemap.map.isStyleLoaded(), null, { timeout: WAIT_MS });
    await p.evaluate(
      () =>
        new Promise((resolve) => {
          const map = window.onemap.map;
          map.once('idle', resolve);
          map.triggerRepaint();
        }),
    );
  }

  async function panelText(selector) {
    return (await page.locator(`#panel ${selector}`).first().textContent())?.trim();
  }

  /** Clicks the map at a [lon, lat]. */
  async function clickMapAt(lngLat) {
    const { x, y } = await page.evaluate((ll) => window.onemap.map.project(ll), lngLat);
    const box = await page.locator('#map canvas').boundingBox();
    await page.mouse.click(box.x + x, box.y + y);
  }

  async function apiJson(pathAndQuery) {
    const res = await authFetch(`${BASE}${pathAndQuery}`);
    assert.equal(res.status, 200, `${pathAndQuery} answered ${res.status}`);
    return res.json();
  }

  it('opens on the whole city and draws tiles with names', async () => {
    await page.goto(`${BASE}/?test=1&style=light`);
    await idle();
    const seen = await page.evaluate(() => {
      const map = window.onemap.map;
      const count = (layer) => map.queryRenderedFeatures({ layers: [layer] }).length;
      return {
        districts: count('district-fill'),
        districtLabels: count('district-label'),
        sourcesLoaded: map.isSourceLoaded('areas'),
        theme: map.getStyle().metadata['onemap:theme'],
        city: document.getElementById('city-name').textContent,
      };
    });
    assert.equal(seen.theme, 'light');
    assert.equal(seen.city, '莆田市');
    assert.ok(seen.sourcesLoaded, 'tile sources did not finish loading');
    assert.ok(seen.districts >= 5, `expected the 5 districts on screen, rendered ${seen.districts} district features`);
    assert.ok(seen.districtLabels >= 4, `expected district names on screen, got ${seen.districtLabels}`);

    // The canvas itself must show a map, not a blank: read it back (preserveDrawingBuffer in
    // test mode) and measure how much it varies and how much of it differs from the background.
    const pixels = await page.evaluate(() => {
      const map = window.onemap.map;
      const src = map.getCanvas();
      const c = document.createElement('canvas');
      c.width = src.width;
      c.height = src.height;
      const ctx = c.getContext('2d', { willReadFrequently: true });
      ctx.drawImage(src, 0, 0);
      const { data } = ctx.getImageData(0, 0, c.width, c.height);
      const bg = map.getPaintProperty('background', 'background-color');
      const probe = document.createElement('canvas').getContext('2d');
      probe.fillStyle = typeof bg === 'string' ? bg : '#000';
      probe.fillRect(0, 0, 1, 1);
      const [br, bgc, bb] = probe.getImageData(0, 0, 1, 1).data;
      let sum = 0;
      let sum2 = 0;
      let notBg = 0;
      const colours = new Set();
      const n = data.length / 4;
      for (let i = 0; i < data.length; i += 4) {
        const l = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
        sum += l;
        sum2 += l * l;
        if (Math.abs(data[i] - br) + Math.abs(data[i + 1] - bgc) + Math.abs(data[i + 2] - bb) > 12) notBg++;
        if (i % 40 === 0) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      }
      const mean = sum / n;
      return { std: Math.sqrt(sum2 / n - mean * mean), notBgShare: notBg / n, colours: colours.size };
    });
    await page.screenshot({ path: path.join(outDir, 'light-city.png') });
    assert.ok(pixels.std > 5, `the map canvas is nearly uniform (luminance std ${pixels.std.toFixed(2)})`);
    assert.ok(pixels.notBgShare > 0.1, `only ${(pixels.notBgShare * 100).toFixed(1)}% of the canvas differs from the background`);
    assert.ok(pixels.colours > 50, `only ${pixels.colours} distinct colours on the canvas`);
  });

  it('finds 东星社区 by name, flies there and reads it in the panel', async () => {
    await page.fill('#search', VILLAGE.name);
    const option = page.locator(`#search-results li[data-code="${VILLAGE.code}"]`);
    await option.waitFor({ timeout: WAIT_MS });
    assert.match(await option.textContent(), /村社区/);
    await option.dispatchEvent('mousedown');
    await page.waitForFunction((name) => document.querySelector('#panel .area-name')?.textContent === name, VILLAGE.name, { timeout: WAIT_MS });

    assert.equal(await panelText('[data-field="code"]'), VILLAGE.code);
    assert.equal(await panelText('.chip.level'), '村社区');
    const chain = await page.locator('#panel .chain li').allTextContents();
    assert.deepEqual(chain, [...VILLAGE.chain, VILLAGE.name]);
    const facts = Object.fromEntries(
      await page.$$eval('#panel dl.facts', (dls) =>
        dls.flatMap((dl) => [...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])),
      ),
    );
    const detail = await apiJson(`/api/areas/${VILLAGE.code}`);
    assert.match(facts['面积'], new RegExp(`^${detail.area_km2.toFixed(4)} km²`));
    assert.equal(facts['下辖'], `${detail.child_counts.grid} 个网格 · ${detail.child_counts.unit} 个单元`);
    assert.equal(facts['类型'], detail.properties.kind);
    assert.equal(facts['标准名称'], detail.properties.official_name);
    assert.equal(facts['人口'], `${detail.properties.population.toLocaleString('zh-CN')} 人`);
    assert.equal(facts['户数'], `${detail.properties.households.toLocaleString('zh-CN')} 户`);
    await page.locator('#panel .children-list li button').first().waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('#panel .children-list li button').count(), detail.children);

    await idle();
    const view = await page.evaluate(() => {
      const map = window.onemap.map;
      const sel = map.getSource('selection').serialize().data;
      return { zoom: map.getZoom(), center: map.getCenter().toArray(), selected: sel?.properties?.code, url: location.href };
    });
    const [w, s, e, n] = detail.bbox;
    assert.ok(view.zoom > 13, `flew only to zoom ${view.zoom}`);
    assert.ok(view.center[0] > w && view.center[0] < e && view.center[1] > s && view.center[1] < n, `the map is not centred on the village: ${view.center}`);
    assert.equal(view.selected, VILLAGE.code, 'the village is not outlined on the map');
    assert.match(view.url, /[?&]area=350304100001/);
    assert.match(view.url, /#\d+(\.\d+)?\/[\d.]+\/[\d.]+/, 'the URL hash does not hold the view');
    await page.screenshot({ path: path.join(outDir, 'light-village.png') });
  });

  it('walks up the chain: 西天尾镇 from the breadcrumb', async () => {
    await page.locator('#panel .chain button', { hasText: '西天尾镇' }).click();
    await page.waitForFunction(() => document.querySelector('#panel .area-name')?.textContent === '西天尾镇', null, { timeout: WAIT_MS });
    assert.equal(await panelText('.chip.level'), '乡镇街道');
    assert.deepEqual(await page.locator('#panel .chain li').allTextContents(), ['莆田市', '荔城区', '西天尾镇']);
  });

  it('clicking the map picks the area under the cursor, as the server would assign it', async () => {
    const answer = await apiJson(`/api/assign?lon=${INSIDE[0]}&lat=${INSIDE[1]}`);
    assert.equal(answer.assigned, true);
    assert.equal(answer.village.code, VILLAGE.code);
    // Grid band of zooms: a click picks a grid.
    await page.evaluate((c) => window.onemap.map.jumpTo({ center: c, zoom: 14.5 }), INSIDE);
    await idle();
    await clickMapAt(INSIDE);
    await page.waitForFunction((name) => document.querySelector('#panel .area-name')?.textContent === name, answer.grid.name, { timeout: WAIT_MS });
    assert.equal(await panelText('[data-field="code"]'), answer.grid.code);
    assert.deepEqual(await page.locator('#panel .chain li').allTextContents(), [...VILLAGE.chain, VILLAGE.name, answer.grid.name]);
  });

  it('the grid tool answers for a point inside the city', async () => {
    const answer = await apiJson(`/api/assign?lon=${INSIDE[0]}&lat=${INSIDE[1]}`);
    await page.click('#btn-assign');
    assert.equal(await page.getAttribute('#btn-assign', 'aria-pressed'), 'true');
    await clickMapAt(INSIDE);
    await page.waitForFunction(() => document.querySelector('#panel .chip.chip-tool'), null, { timeout: WAIT_MS });
    await page.waitForFunction((name) => document.querySelector('#panel [data-field="grid"]')?.textContent === name, answer.grid.name, { timeout: WAIT_MS });
    const rows = await page.$$eval('#panel .assign-chain li', (lis) => lis.map((li) => [li.dataset.level, li.querySelector('button').textContent, li.querySelector('button').dataset.code]));
    assert.deepEqual(
      rows,
      ['city', 'district', 'town', 'village', 'grid', 'unit'].map((l) => [l, answer[l].name, answer[l].code]),
    );
    const marked = await page.evaluate(() => window.onemap.map.getSource('probe').serialize().data?.geometry?.coordinates);
    assert.ok(marked && Math.abs(marked[0] - INSIDE[0]) < 1e-4 && Math.abs(marked[1] - INSIDE[1]) < 1e-4, `probe marker at ${marked}`);
  });

  it('the grid tool says so for a point outside every grid, with the nearest grid', async () => {
    const answer = await apiJson(`/api/assign?lon=${OFFSHORE[0]}&lat=${OFFSHORE[1]}&tolerance_m=500`);
    assert.equal(answer.assigned, false, 'the offshore test point is inside a unit: pick another');
    assert.ok(answer.nearest?.grid, 'no grid within 500 m of the offshore test point: pick another');
    await page.evaluate((c) => window.onemap.map.jumpTo({ center: c, zoom: 14 }), OFFSHORE);
    await idle();
    await clickMapAt(OFFSHORE);
    await page.waitForFunction(() => document.querySelector('#panel [data-field="grid"]')?.textContent === '此处不在任何网格内', null, { timeout: WAIT_MS });
    const nearest = await panelText('[data-field="nearest"]');
    assert.ok(nearest.includes(answer.nearest.grid.name), `panel says "${nearest}"`);
    assert.ok(nearest.includes(`${Math.round(answer.nearest.distance_m)} 米`), `panel says "${nearest}", expected ${answer.nearest.distance_m} m`);
    await page.keyboard.press('Escape');
    assert.equal(await page.getAttribute('#btn-assign', 'aria-pressed'), 'false');
  });

  it('the layer switcher hides and shows a level', async () => {
    await page.evaluate((c) => window.onemap.map.jumpTo({ center: c, zoom: 14.5 }), INSIDE);
    await page.click('#btn-layers');
    const box = page.locator('#layer-list input[data-layer="grid"]');
    await box.uncheck();
    const hidden = await page.evaluate(() => ['grid-line', 'grid-label', 'grid-hover'].map((id) => window.onemap.map.getLayoutProperty(id, 'visibility')));
    assert.deepEqual(hidden, ['none', 'none', 'none']);
    await box.check();
    const shown = await page.evaluate(() => ['grid-line', 'grid-label'].map((id) => window.onemap.map.getLayoutProperty(id, 'visibility')));
    assert.deepEqual(shown, ['visible', 'visible']);
    await page.click('#btn-layers');
  });

  it('switches to the dark style and keeps the selection', async () => {
    await page.evaluate((code) => window.onemap.select(code, { fly: true }), VILLAGE.code);
    await page.waitForFunction((name) => document.querySelector('#panel .area-name')?.textContent === name, VILLAGE.name, { timeout: WAIT_MS });
    await idle();
    await page.click('[data-theme-choice="dark"]');
    await page.waitForFunction(() => window.onemap.map.getStyle()?.metadata?.['onemap:theme'] === 'dark', null, { timeout: WAIT_MS });
    await idle();
    const after = await page.evaluate(() => {
      const map = window.onemap.map;
      return {
        selected: map.getSource('selection').serialize().data?.properties?.code,
        villages: map.queryRenderedFeatures({ layers: ['village-hover'] }).length,
        bodyTheme: document.body.dataset.theme,
        url: location.href,
      };
    });
    assert.equal(after.selected, VILLAGE.code);
    assert.equal(after.bodyTheme, 'dark');
    assert.ok(after.villages > 0, 'no village drawn in the dark style');
    assert.match(after.url, /[?&]style=dark/);
    await page.screenshot({ path: path.join(outDir, 'dark-village.png') });
    await page.locator('.maplibregl-ctrl button', { hasText: '全市' }).click();
    await idle();
    await page.screenshot({ path: path.join(outDir, 'dark-city.png') });
  });

  it('a copied link opens the same view, style and area', async () => {
    await page.evaluate((c) => window.onemap.map.jumpTo({ center: c, zoom: 15.25 }), INSIDE);
    await page.evaluate((code) => window.onemap.select(code), VILLAGE.code);
    await page.waitForFunction(() => /#15\.25\//.test(location.hash), null, { timeout: WAIT_MS });
    const link = await page.evaluate(() => location.href);
    const second = await context.newPage();
    watch(second);
    await second.goto(link);
    await idle(second);
    await second.waitForFunction((name) => document.querySelector('#panel .area-name')?.textContent === name, VILLAGE.name, { timeout: WAIT_MS });
    const view = await second.evaluate(() => ({
      zoom: window.onemap.map.getZoom(),
      center: window.onemap.map.getCenter().toArray(),
      theme: window.onemap.map.getStyle().metadata['onemap:theme'],
    }));
    assert.ok(Math.abs(view.zoom - 15.25) < 0.01, `zoom ${view.zoom}`);
    assert.ok(Math.abs(view.center[0] - INSIDE[0]) < 1e-4 && Math.abs(view.center[1] - INSIDE[1]) < 1e-4, `center ${view.center}`);
    assert.equal(view.theme, 'dark');
    await second.close();
  });

  // --- events (issue #4): heat, choropleth, filters ------------------------------------------

  /** A date in the city (Asia/Shanghai), `days` from today, YYYY-MM-DD. */
  function cityDate(days = 0) {
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
    const [y, m, d] = today.split('-').map(Number);
    return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
  }

  /** Event tile requests made since `mark` (an index into `requests`), as URL objects. */
  function eventTileRequests(mark = 0) {
    return requests
      .slice(mark)
      .map((u) => new URL(u))
      .filter((u) => /^\/tiles\/events\/\d+\/\d+\/\d+/.test(u.pathname));
  }

  /** Features the event source holds for the current view: [{count, category}]. */
  async function eventFeatures() {
    return page.evaluate(() =>
      window.onemap.map.querySourceFeatures('events', { sourceLayer: 'events' }).map((f) => ({
        count: Number(f.properties.count) || 0,
        category: f.properties.category ?? null,
      })),
    );
  }

  async function statsTotal(level, query) {
    const body = await apiJson(`/api/stats/areas?level=${level}&${new URLSearchParams(query)}`);
    assert.ok(Array.isArray(body.areas), `/api/stats/areas?level=${level} has no areas list`);
    return { total: body.areas.reduce((s, a) => s + a.count, 0), areas: body.areas };
  }

  async function waitLegend(level, total) {
    await page.waitForFunction(
      ([l, t]) => {
        const lg = document.getElementById('ev-legend');
        return lg && !lg.hidden && lg.dataset.level === l && lg.dataset.total === String(t);
      },
      [level, total],
      { timeout: WAIT_MS },
    );
  }

  async function cityView() {
    await page.locator('.maplibregl-ctrl button', { hasText: '全市' }).click();
    await idle();
  }

  it('the server has event tiles and demo events', async () => {
    const res = await authFetch(`${BASE}/tiles/events`);
    assert.equal(res.status, 200, `GET /tiles/events answered ${res.status}: the event endpoints are not on this server`);
    const tilejson = await res.json();
    assert.ok((tilejson.vector_layers || []).some((l) => l.id === 'events'), 'no MVT layer "events" in /tiles/events');
    for (const url of tilejson.tiles) assert.equal(new URL(url, BASE).host, serverHost, `/tiles/events points at another host: ${url}`);
    const { total } = await statsTotal('village', { from: cityDate(-29) });
    assert.ok(total > 0, 'no events in the last 30 days: serve --import-demo-if-empty should load the demo events');
  });

  it('事件 turns on the heat layer, drawn from /tiles/events with the default window', async () => {
    await page.click('[data-theme-choice="light"]');
    await page.waitForFunction(() => window.onemap.map.getStyle()?.metadata?.['onemap:theme'] === 'light', null, { timeout: WAIT_MS });
    await cityView();
    const mark = requests.length;
    await page.click('#btn-events');
    assert.equal(await page.getAttribute('#btn-events', 'aria-expanded'), 'true');
    assert.equal(await page.isChecked('#ev-heat'), true, 'opening the panel should show the heat');
    await idle();
    const seen = await page.evaluate(() => {
      const map = window.onemap.map;
      return {
        heat: map.getLayoutProperty('events-heat', 'visibility'),
        points: map.getLayoutProperty('events-point', 'visibility'),
        choropleth: map.getLayoutProperty('village-events', 'visibility'),
        loaded: map.isSourceLoaded('events'),
        url: location.href,
      };
    });
    assert.deepEqual([seen.heat, seen.points, seen.choropleth], ['visible', 'visible', 'none']);
    assert.ok(seen.loaded, 'the events source did not finish loading');
    assert.match(seen.url, /[?&]ev=heat(&|#|$)/);
    const features = await eventFeatures();
    assert.ok(features.length > 0, 'the events source holds no features for the city view');
    assert.ok(features.reduce((s, f) => s + f.count, 0) > 0, 'event features carry no count');
    // City zoom: H3 cells, not single events.
    assert.ok(features.every((f) => f.category === null), 'single events at city zoom');
    const tiles = eventTileRequests(mark);
    assert.ok(tiles.length > 0, 'no /tiles/events/{z}/{x}/{y} request');
    for (const u of tiles) {
      assert.equal(u.searchParams.get('from'), cityDate(-29), `tile ${u} does not ask for the last 30 days`);
      assert.equal(u.searchParams.get('category'), null, `tile ${u} asks for a category`);
    }
    // The same tile from outside the browser: a real MVT with bytes.
    const tile = await authFetch(tiles[0].href);
    assert.equal(tile.status, 200);
    assert.ok((await tile.arrayBuffer()).byteLength > 0, `${tiles[0]} is empty`);
    await page.screenshot({ path: path.join(outDir, 'light-heat.png') });
  });

  it('category and time window change the tile URLs and the tiles asked for', async () => {
    let mark = requests.length;
    await page.selectOption('#ev-category', 'food_safety');
    await idle();
    let template = await page.evaluate(() => window.onemap.map.getSource('events').tiles[0]);
    assert.match(template, /[?&]category=food_safety(&|$)/, `tile template ${template}`);
    let tiles = eventTileRequests(mark);
    assert.ok(tiles.length > 0, 'no tiles asked for after the category changed');
    assert.ok(tiles.every((u) => u.searchParams.get('category') === 'food_safety'), tiles.join('\n'));
    const features = await eventFeatures();
    const all = await statsTotal('village', { from: cityDate(-29) });
    const food = await statsTotal('village', { from: cityDate(-29), category: 'food_safety' });
    assert.ok(food.total < all.total, 'food safety should be a part of all events');
    if (food.total > 0) assert.ok(features.length > 0, 'no food-safety features although the stats count some');

    mark = requests.length;
    await page.click('[data-window="7d"]');
    await idle();
    assert.equal(await page.getAttribute('[data-window="7d"]', 'aria-pressed'), 'true');
    template = await page.evaluate(() => window.onemap.map.getSource('events').tiles[0]);
    assert.match(template, new RegExp(`[?&]from=${cityDate(-6)}(&|$)`), `tile template ${template}`);
    tiles = eventTileRequests(mark);
    assert.ok(tiles.length > 0, 'no tiles asked for after the window changed');
    assert.ok(tiles.every((u) => u.searchParams.get('from') === cityDate(-6) && u.searchParams.get('category') === 'food_safety'), tiles.join('\n'));

    mark = requests.length;
    await page.click('[data-window="custom"]');
    assert.equal(await page.isVisible('#ev-range'), true, 'the date pair is not shown');
    await page.fill('#ev-from', cityDate(-60));
    await page.fill('#ev-to', cityDate(-31));
    await idle();
    template = await page.evaluate(() => window.onemap.map.getSource('events').tiles[0]);
    assert.match(template, new RegExp(`from=${cityDate(-60)}`), `tile template ${template}`);
    assert.match(template, new RegExp(`to=${cityDate(-31)}`), `tile template ${template}`);
    tiles = eventTileRequests(mark);
    assert.ok(tiles.some((u) => u.searchParams.get('from') === cityDate(-60) && u.searchParams.get('to') === cityDate(-31)), 'no tile asked for the picked dates');
    const url = await page.evaluate(() => location.href);
    assert.match(url, /[?&]ev_cat=food_safety/);
    assert.match(url, new RegExp(`[?&]ev_win=${cityDate(-60)}_${cityDate(-31)}`));

    // Back to the defaults for what follows.
    await page.selectOption('#ev-category', '');
    await page.click('[data-window="30d"]');
    await idle();
    const back = await page.evaluate(() => ({ template: window.onemap.map.getSource('events').tiles[0], url: location.href }));
    assert.ok(!/category=/.test(back.template) && back.template.includes(`from=${cityDate(-29)}`), back.template);
    assert.ok(!/ev_cat=|ev_win=/.test(back.url), back.url);
  });

  it('the choropleth colours villages from /api/stats/areas and its legend follows the filter', async () => {
    await page.check('#ev-choropleth');
    const query = { from: cityDate(-29) };
    const villages = await statsTotal('village', query);
    await waitLegend('village', villages.total);
    await idle();
    const top = villages.areas.reduce((a, b) => (b.count > a.count ? b : a));
    const seen = await page.evaluate((code) => {
      const map = window.onemap.map;
      return {
        visible: map.getLayoutProperty('village-events', 'visibility'),
        state: map.getFeatureState({ source: 'areas', sourceLayer: 'village', id: code }),
        rendered: map.queryRenderedFeatures({ layers: ['village-events'] }).length,
        classes: [...document.querySelectorAll('#ev-legend li')].map((li) => li.textContent),
      };
    }, top.code);
    assert.equal(seen.visible, 'visible');
    assert.equal(seen.state.count, top.count, `feature-state of ${top.name}`);
    assert.equal(seen.state.bucket, 5, `${top.name} has the most events and should be in the top class`);
    assert.ok(seen.rendered > 0, 'no village drawn by the choropleth');
    assert.ok(seen.classes.length >= 2 && seen.classes[0].startsWith('0'), `legend classes: ${seen.classes}`);
    assert.ok(seen.classes.at(-1).includes(String(top.count)), `the top class should end at ${top.count}: ${seen.classes}`);
    const footer = await page.textContent('#ev-legend .ev-legend-foot');
    assert.ok(footer.includes(`合计 ${villages.total.toLocaleString('zh-CN')} 件`), footer);

    // Another category: the legend is redrawn from that category's statistics.
    const dispute = await statsTotal('village', { ...query, category: 'dispute' });
    assert.notEqual(dispute.total, villages.total);
    const mark = requests.length;
    await page.selectOption('#ev-category', 'dispute');
    await waitLegend('village', dispute.total);
    const asked = requests.slice(mark).map((u) => new URL(u)).filter((u) => u.pathname === '/api/stats/areas');
    assert.ok(asked.some((u) => u.searchParams.get('category') === 'dispute' && u.searchParams.get('level') === 'village'), 'no stats request for the category');
    await page.screenshot({ path: path.join(outDir, 'light-choropleth.png') });

    // Zoomed in, the grids take over.
    const grids = await statsTotal('grid', { ...query, category: 'dispute' });
    await page.evaluate((c) => window.onemap.map.jumpTo({ center: c, zoom: 14 }), INSIDE);
    await waitLegend('grid', grids.total);
    await page.selectOption('#ev-category', '');
    await waitLegend('grid', (await statsTotal('grid', query)).total);
    await page.uncheck('#ev-choropleth');
    assert.equal(await page.isHidden('#ev-legend'), true, 'the legend stays after the choropleth is off');
  });

  it('at street zoom single events show by category and open a popup', async () => {
    // The densest single-event spot near the test village: zoom in on an H3 cell with events.
    await page.evaluate((c) => window.onemap.map.jumpTo({ center: c, zoom: 12 }), INSIDE);
    await idle();
    const cell = await page.evaluate(() => {
      const map = window.onemap.map;
      const fs = map.queryRenderedFeatures({ layers: ['events-heat'] });
      fs.sort((a, b) => b.properties.count - a.properties.count);
      return fs[0]?.geometry.coordinates ?? null;
    });
    assert.ok(cell, 'no event cell near the test village');
    await page.evaluate((c) => window.onemap.map.jumpTo({ center: c, zoom: 16 }), cell);
    await idle();
    // The event nearest the middle of the map, clear of the side panel and the events panel.
    const point = await page.evaluate(() => {
      const map = window.onemap.map;
      const mid = map.project(map.getCenter());
      const d = (f) => {
        const p = map.project(f.geometry.coordinates);
        return (p.x - mid.x) ** 2 + (p.y - mid.y) ** 2;
      };
      const f = map.queryRenderedFeatures({ layers: ['events-point'] }).sort((a, b) => d(a) - d(b))[0];
      return f ? { lngLat: f.geometry.coordinates, properties: f.properties } : null;
    });
    assert.ok(point, 'no single event drawn at zoom 16');
    assert.ok(point.properties.id !== undefined && point.properties.category && point.properties.status, JSON.stringify(point.properties));
    await clickMapAt(point.lngLat);
    const popup = page.locator('.maplibregl-popup .ev-popup');
    await popup.waitFor({ timeout: WAIT_MS });
    const labels = { dispute: '矛盾纠纷', city_management: '城市管理', safety_hazard: '安全隐患', food_safety: '食品安全', environment: '生态环境', forest_fire: '森林防火', public_service: '民生服务', public_order: '社会治安', traffic: '交通', other: '其他' };
    assert.equal(await popup.locator('.ev-popup-title').textContent(), labels[point.properties.category]);
    assert.match(await popup.locator('[data-field="上报时间"]').textContent(), /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}$/);
    // Then the details from /api/events/{id}: the event's village or grid.
    const detail = await apiJson(`/api/events/${point.properties.id}`);
    await popup.locator('[data-field="所在"]').waitFor({ timeout: WAIT_MS });
    const place = await popup.locator('[data-field="所在"]').textContent();
    assert.ok(place.includes(detail.village?.name ?? detail.nearest_grid?.name ?? '—'), `popup says the event is in "${place}"`);
    assert.equal(await popup.locator('[data-field="优先级"]').textContent(), detail.priority_name);
    await page.screenshot({ path: path.join(outDir, 'light-events-street.png') });
    await page.locator('.maplibregl-popup-close-button').click();
  });

  it('the hotspot list ranks /api/hotspots and flies to one', async () => {
    const body = await apiJson(`/api/hotspots?from=${cityDate(-29)}`);
    assert.ok(Array.isArray(body.hotspots), '/api/hotspots has no hotspots list');
    await page.click('#ev-hotspots summary');
    const want = Math.min(10, body.hotspots.length);
    await page.waitForFunction((n) => document.querySelectorAll('#ev-hotspot-list li button').length === n && (n > 0 || document.querySelector('#ev-hotspot-list li')?.textContent === '此范围内没有热点'), want, { timeout: WAIT_MS });
    if (want > 0) {
      const first = body.hotspots[0];
      assert.match(await page.textContent('#ev-hotspot-list li button .ev-hot-count'), new RegExp(`^${first.count.toLocaleString('zh-CN')} 件`));
      await page.click('#ev-hotspot-list li button');
      await page.waitForFunction(() => !window.onemap.map.isMoving(), null, { timeout: WAIT_MS });
      await idle();
      const center = await page.evaluate(() => window.onemap.map.getCenter().toArray());
      const [lon, lat] = [first.center?.lon ?? first.lon, first.center?.lat ?? first.lat];
      assert.ok(Math.abs(center[0] - lon) < 1e-3 && Math.abs(center[1] - lat) < 1e-3, `the map is at ${center}, the hotspot at ${[lon, lat]}`);
    }
    await page.click('#ev-hotspots summary');
  });

  it('the dark style keeps the event layers and shows the heat', async () => {
    await page.check('#ev-choropleth');
    await page.click('[data-theme-choice="dark"]');
    await page.waitForFunction(() => window.onemap.map.getStyle()?.metadata?.['onemap:theme'] === 'dark', null, { timeout: WAIT_MS });
    await cityView();
    const villages = await statsTotal('village', { from: cityDate(-29) });
    await waitLegend('village', villages.total);
    const top = villages.areas.reduce((a, b) => (b.count > a.count ? b : a));
    const seen = await page.evaluate((code) => {
      const map = window.onemap.map;
      return {
        heat: map.getLayoutProperty('events-heat', 'visibility'),
        choropleth: map.getLayoutProperty('village-events', 'visibility'),
        bucket: map.getFeatureState({ source: 'areas', sourceLayer: 'village', id: code }).bucket,
        features: map.querySourceFeatures('events', { sourceLayer: 'events' }).length,
      };
    }, top.code);
    assert.deepEqual([seen.heat, seen.choropleth], ['visible', 'visible']);
    assert.equal(seen.bucket, 5, 'the choropleth was not carried into the dark style');
    assert.ok(seen.features > 0, 'no event features in the dark style');
    await page.screenshot({ path: path.join(outDir, 'dark-heat-choropleth.png') });
    await page.uncheck('#ev-choropleth');
    await idle();
    await page.screenshot({ path: path.join(outDir, 'dark-heat.png') });
  });

  it('the request guard catches a request to another host (self-check)', async () => {
    // A page whose console is not watched asks a host that cannot exist (.invalid); the route
    // refuses it before anything is sent. Then the deliberate entry is taken off the list.
    const probe = await context.newPage();
    const outcome = await probe.evaluate(() => fetch('http://guard-check.invalid/probe').then(() => 'sent', () => 'refused'));
    await probe.close();
    assert.equal(outcome, 'refused');
    const i = foreign.indexOf('http://guard-check.invalid/probe');
    assert.ok(i >= 0, 'the guard did not see the request to another host');
    foreign.splice(i, 1);
  });

  it('asked for nothing outside the server, and nothing failed', () => {
    assert.deepEqual(foreign, [], 'requests to other hosts');
    assert.deepEqual(consoleErrors, [], 'console errors');
    assert.deepEqual(httpErrors, [], 'failed requests');
    const paths = requests.map((u) => new URL(u).pathname);
    for (const want of [
      /^\/styles\/light\.json$/,
      /^\/styles\/dark\.json$/,
      /^\/tiles\/areas\/\d+\/\d+\/\d+/,
      /^\/tiles\/events\/\d+\/\d+\/\d+/,
      /^\/api\/stats\/areas$/,
      /^\/fonts\/.+\/0-255\.pbf$/,
      /^\/assets\/maplibre-gl-worker/,
    ]) {
      assert.ok(paths.some((p) => want.test(decodeURIComponent(p))), `never requested ${want}`);
    }
  });
});
