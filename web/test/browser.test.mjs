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
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, '../test-output');
const BASE = process.env.ONEMAP_URL?.replace(/\/+$/, '');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

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
      let res = await fetch(`${BASE}/tiles/areas`);
      for (const until = Date.now() + 180_000; res.status === 503 && Date.now() < until; ) {
        await new Promise((r) => setTimeout(r, 1000));
        res = await fetch(`${BASE}/tiles/areas`);
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

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--use-gl=swiftshader',
        '--enable-unsafe-swiftshader',
      ],
    });
    context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'zh-CN', deviceScaleFactor: 1 });
    // Every request passes here: other hosts are refused (and remembered), ours go through.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      requests.push(url);
      const u = new URL(url);
      if ((u.protocol === 'http:' || u.protocol === 'https:') && u.host !== serverHost) {
        foreign.push(url);
        return route.abort('blockedbyclient');
      }
      return route.continue();
    });
    context.on('response', (res) => {
      if (res.status() >= 400) httpErrors.push(`${res.status()} ${res.url()}`);
    });
    context.on('requestfailed', (req) => {
      // MapLibre cancels the tiles it no longer needs: those end as ERR_ABORTED and are fine.
      if (req.failure()?.errorText === 'net::ERR_ABORTED') return;
      // Our own refusals of other hosts: counted in `foreign`, not here.
      if (req.failure()?.errorText === 'net::ERR_BLOCKED_BY_CLIENT') return;
      if (!foreign.includes(req.url())) httpErrors.push(`failed ${req.url()} (${req.failure()?.errorText})`);
    });
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
    const res = await fetch(`${BASE}${pathAndQuery}`);
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
    for (const want of [/^\/styles\/light\.json$/, /^\/styles\/dark\.json$/, /^\/tiles\/areas\/\d+\/\d+\/\d+/, /^\/fonts\/.+\/0-255\.pbf$/, /^\/assets\/maplibre-gl-worker/]) {
      assert.ok(paths.some((p) => want.test(decodeURIComponent(p))), `never requested ${want}`);
    }
  });
});
