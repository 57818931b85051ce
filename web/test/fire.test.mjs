// The 消防 panel (issue #12, docs/FIRE.md) in a real browser against a real onemap server:
// headless Debian Chromium via playwright-core, the server at ONEMAP_URL (scripts/test starts one
// on the demo city with `serve --import-demo-if-empty`). What the page shows is compared with
// what the API answers; the only fact of the demo written here is that 东阳村 (350304002205,
// 拱辰街道) holds 19 heritage sites.
//
// 1. 消防 opens on 东阳村: its 19 sites by protection level, each covered or not and its nearest
//    hydrant, the covered count, the villages' figures and the isolated hydrants, and the sensor
//    states — as /api/fire/coverage and /api/fire/sensors have them.
// 2. The fire layers are on the map and draw heritage sites (every site in view) and hydrants;
//    a toggle hides a layer; the sites' cover is on the map as feature-state.
// 3. 最近水源: a click on the map lists /api/fire/nearest for that point (same ids, same order,
//    distance and 方位) and draws a line to each; Esc leaves the tool.
// 4. A sensor of 东阳村 reads over its threshold `debounce` times (POST /api/sensors/readings):
//    its sensor_alarm alert reaches the open panel through the stream, without a reload; it is
//    acknowledged from the panel with a note, which /api/fire/alerts then shows.
// 5. The dark style keeps the layers and the panel.
// Fails on any console error, failed request or request to another host. It changes the
// database (readings, an alert acknowledged): run it on a test database.
//
// Screenshots go to web/test-output/ (ignored by git): fire-light.png, fire-nearest.png,
// fire-alert.png, fire-dark.png.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { authFetch, guard, launch, sessionFor, signInContext } from './chromium.mjs';
import { HERITAGE_LEVEL_LABELS, SENSOR_STATE_LABELS, bearingText, formatArea, formatDistance, formatShare } from '../src/fire/format.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, '../test-output');
const BASE = process.env.ONEMAP_URL?.replace(/\/+$/, '');
const WAIT_MS = 90_000;

// The demo city (seed 3503): 东阳村 of 拱辰街道 holds the demo's heritage cluster.
const DONGYANG = { code: '350304002205', sites: 19 };

describe('消防 panel in headless Chromium', { timeout: 15 * 60_000 }, () => {
  let browser;
  let context;
  let page;
  const requests = [];
  const foreign = [];
  const consoleErrors = [];
  const httpErrors = [];
  let coverage; // /api/fire/coverage for 东阳村, read once the panel shows it

  before(async () => {
    assert.ok(BASE, 'ONEMAP_URL is not set: run the browser test through scripts/test, or point ONEMAP_URL at a running onemap server');
    fs.mkdirSync(outDir, { recursive: true });
    // The server may still be loading the demo city: wait for /readyz, within reason.
    let ready = await fetch(`${BASE}/readyz`).catch(() => null);
    for (const until = Date.now() + 300_000; ready?.status !== 200 && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 1000));
      ready = await fetch(`${BASE}/readyz`).catch(() => null);
    }
    assert.equal(ready?.status, 200, `${BASE}/readyz did not answer 200`);
    const res = await authFetch(`${BASE}/api/fire/coverage?area=${DONGYANG.code}`);
    assert.equal(res.status, 200, `GET /api/fire/coverage answered ${res.status}: does this server have the fire endpoints (docs/FIRE.md) and the demo assets?`);
    for (const source of ['heritage', 'hydrants', 'water', 'stations', 'sensors', 'fire-uncovered']) {
      const tj = await authFetch(`${BASE}/tiles/${source}`);
      assert.equal(tj.status, 200, `GET /tiles/${source} answered ${tj.status}`);
      const body = await tj.json();
      assert.ok(Array.isArray(body.tiles) && body.tiles.length, `/tiles/${source} has no tile URLs`);
    }

    browser = await launch();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'zh-CN', deviceScaleFactor: 1 });
    await guard(context, new URL(BASE).host, { requests, foreign, errors: httpErrors });
    await signInContext(context, BASE);
    page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
  });

  after(async () => {
    await browser?.close();
  });

  async function api(pathAndQuery, init) {
    const res = await authFetch(`${BASE}${pathAndQuery}`, init);
    const body = await res.json();
    assert.ok(res.ok, `${init?.method || 'GET'} ${pathAndQuery} answered ${res.status}: ${JSON.stringify(body)}`);
    return body;
  }

  /** Resolves once the map has loaded every tile it needs and drawn them. */
  async function idle() {
    await page.waitForFunction(() => window.onemap?.started && window.onemap.map.isStyleLoaded() && !window.onemap.map.isMoving(), null, { timeout: WAIT_MS });
    await page.evaluate(
      () =>
        new Promise((resolve) => {
          const map = window.onemap.map;
          map.once('idle', resolve);
          map.triggerRepaint();
        }),
    );
  }

  /** Clicks the map at a [lon, lat]. */
  async function clickMapAt(lngLat) {
    const { x, y } = await page.evaluate((ll) => window.onemap.map.project(ll), lngLat);
    const box = await page.locator('#map canvas').boundingBox();
    await page.mouse.click(box.x + x, box.y + y);
  }

  const levelOf = (s) => (HERITAGE_LEVEL_LABELS[s.level] ? s.level : 'other');

  it('opens on 东阳村 with its 19 heritage sites by level and their cover, as /api/fire/coverage has them', async () => {
    await page.goto(`${BASE}/?test=1&style=light`);
    await idle();
    coverage = await api(`/api/fire/coverage?area=${DONGYANG.code}`);
    assert.equal(coverage.area?.code, DONGYANG.code);
    assert.equal(coverage.sites.length, DONGYANG.sites, `the demo should give 东阳村 ${DONGYANG.sites} heritage sites`);

    // Nothing selected: the panel opens on 东阳村 and flies there.
    await page.click('#btn-fire');
    assert.equal(await page.getAttribute('#btn-fire', 'aria-expanded'), 'true');
    await page.waitForFunction((key) => document.getElementById('fire-panel').dataset.coverage === key, `${DONGYANG.code}|${coverage.radius_m}`, { timeout: WAIT_MS });
    assert.equal(await page.textContent('#fire-area-code'), DONGYANG.code);
    assert.equal(await page.textContent('#fire-area-name'), coverage.area.name);
    assert.match(await page.evaluate(() => location.href), new RegExp(`[?&]fire=${DONGYANG.code}`));

    const rows = await page.$$eval('#fire-site-groups li[data-site-id]', (lis) =>
      lis.map((li) => ({ id: li.dataset.siteId, covered: li.dataset.covered, level: li.dataset.level, nearest: li.querySelector('[data-field="nearest"]').textContent })),
    );
    assert.equal(rows.length, DONGYANG.sites, 'site rows in the panel');
    const byId = new Map(rows.map((r) => [r.id, r]));
    assert.equal(byId.size, rows.length, 'a site is listed twice');
    for (const s of coverage.sites) {
      const row = byId.get(String(s.id));
      assert.ok(row, `site ${s.id} ${s.name} is not in the panel`);
      assert.equal(row.covered, String(Boolean(s.covered)), `cover of ${s.name}`);
      assert.equal(row.level, levelOf(s), `level of ${s.name}`);
      if (s.nearest) assert.ok(row.nearest.startsWith(`最近消火栓 ${formatDistance(s.nearest.distance_m)}`), `${s.name}: "${row.nearest}", nearest hydrant at ${s.nearest.distance_m} m`);
      else assert.equal(row.nearest, '附近无可用消火栓');
    }

    // Groups by level: each group's count and covered count as the API's sites give them.
    const groups = await page.$$eval('#fire-site-groups .fire-level', (divs) => divs.map((d) => [d.dataset.level, Number(d.dataset.count), Number(d.dataset.covered)]));
    for (const [level, count, covered] of groups) {
      const mine = coverage.sites.filter((s) => levelOf(s) === level);
      assert.equal(count, mine.length, `sites of level ${level}`);
      assert.equal(covered, mine.filter((s) => s.covered).length, `covered sites of level ${level}`);
    }
    assert.deepEqual(groups.slice(0, 4).map((g) => g[0]), ['national', 'provincial', 'municipal', 'county'], 'levels highest first');

    // The covered count: the page's, the sites' and the totals' agree.
    const covered = coverage.sites.filter((s) => s.covered).length;
    assert.equal(coverage.totals.covered_sites, covered, 'the API: totals.covered_sites differs from its sites');
    assert.equal(coverage.totals.sites, DONGYANG.sites);
    const summary = await page.$eval('#fire-sites-summary [data-sites]', (d) => ({ ...d.dataset }));
    assert.deepEqual(summary, { sites: String(DONGYANG.sites), covered: String(covered) });
    assert.equal(await page.locator('#fire-site-groups li[data-covered="true"]').count(), covered);

    // Villages: share and uncovered area, as the API has them.
    const villages = await page.$$eval('#fire-village-table tbody tr', (trs) =>
      trs.map((tr) => ({ code: tr.dataset.code, share: tr.querySelector('[data-field="share"]').textContent, uncovered: tr.querySelector('[data-field="uncovered"]').textContent })),
    );
    assert.deepEqual(villages.map((v) => v.code).sort(), coverage.villages.map((v) => String(v.code)).sort());
    for (const v of coverage.villages) {
      const row = villages.find((r) => r.code === String(v.code));
      assert.equal(row.share, formatShare(v.share), `share of ${v.name}`);
      assert.equal(row.uncovered, formatArea(v.uncovered_m2), `uncovered area of ${v.name}`);
    }
    const isolated = await page.$$eval('#fire-isolated-list li[data-id]', (lis) => lis.map((li) => li.dataset.id));
    assert.deepEqual(isolated.sort(), coverage.isolated_hydrants.map((h) => String(h.id)).sort(), 'isolated hydrants');
  });

  it('lists the sensors of 东阳村 with their states, as /api/fire/sensors has them', async () => {
    await page.waitForFunction((code) => document.getElementById('fire-panel').dataset.sensors === code, DONGYANG.code, { timeout: WAIT_MS });
    const { sensors } = await api(`/api/fire/sensors?area=${DONGYANG.code}`);
    assert.ok(sensors.length > 0, 'the demo gives 东阳村 no sensors');
    const rows = await page.$$eval('#fire-sensor-list li[data-id]', (lis) => lis.map((li) => ({ id: li.dataset.id, state: li.dataset.state, badge: li.querySelector('.fire-badge').textContent })));
    assert.deepEqual(rows.map((r) => r.id).sort(), sensors.map((s) => String(s.id)).sort());
    for (const s of sensors) {
      const row = rows.find((r) => r.id === String(s.id));
      const state = SENSOR_STATE_LABELS[s.state] ? s.state : 'unknown';
      assert.equal(row.state, state, `state of ${s.name}`);
      assert.equal(row.badge, SENSOR_STATE_LABELS[state]);
    }
    const counts = await page.$$eval('#fire-sensor-counts [data-state]', (spans) => Object.fromEntries(spans.map((s) => [s.dataset.state, Number(s.dataset.count)])));
    for (const state of Object.keys(SENSOR_STATE_LABELS)) {
      assert.equal(counts[state], sensors.filter((s) => (SENSOR_STATE_LABELS[s.state] ? s.state : 'unknown') === state).length, `sensors ${state}`);
    }
  });

  it('adds the fire layers and draws the heritage sites and hydrants of 东阳村', async () => {
    await idle();
    const seen = await page.evaluate(() => {
      const map = window.onemap.map;
      const ids = (layers) => [...new Set(map.queryRenderedFeatures({ layers }).map((f) => String(f.properties.id)))];
      const b = map.getBounds();
      return {
        layers: ['fire-heritage-point', 'fire-heritage-ring', 'fire-hydrants-point', 'fire-water-point', 'fire-stations-point', 'fire-sensors-point', 'fire-uncovered-fill'].map((id) => [id, map.getLayoutProperty(id, 'visibility')]),
        loaded: ['fire-heritage', 'fire-hydrants'].map((id) => map.isSourceLoaded(id)),
        heritage: ids(['fire-heritage-point', 'fire-heritage-area']),
        hydrants: ids(['fire-hydrants-point']).length,
        bounds: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()],
        zoom: map.getZoom(),
      };
    });
    for (const [id, visibility] of seen.layers) assert.equal(visibility, 'visible', `layer ${id}`);
    assert.deepEqual(seen.loaded, [true, true], 'the fire tile sources did not finish loading');
    const [w, s, e, n] = seen.bounds;
    const inView = coverage.sites.filter((x) => x.lon > w && x.lon < e && x.lat > s && x.lat < n);
    assert.equal(inView.length, DONGYANG.sites, `the panel should show all of 东阳村; ${inView.length} of its sites are in view at zoom ${seen.zoom}`);
    for (const x of inView) assert.ok(seen.heritage.includes(String(x.id)), `heritage site ${x.id} ${x.name} is in view but not drawn`);
    assert.ok(seen.hydrants > 0, 'no hydrant drawn in 东阳村');

    // The panel's cover is on the map (the rings' colour) as feature-state.
    const states = await page.evaluate((ids) => ids.map((id) => window.onemap.map.getFeatureState({ source: 'fire-heritage', sourceLayer: 'heritage', id }).covered), coverage.sites.map((x) => x.id));
    assert.deepEqual(states, coverage.sites.map((x) => Boolean(x.covered)));

    // A toggle hides its layer and shows it again.
    await page.uncheck('#fire-layer-hydrants');
    assert.equal(await page.evaluate(() => window.onemap.map.getLayoutProperty('fire-hydrants-point', 'visibility')), 'none');
    assert.match(await page.evaluate(() => location.href), /[?&]fire_off=hydrants/);
    await page.check('#fire-layer-hydrants');
    assert.equal(await page.evaluate(() => window.onemap.map.getLayoutProperty('fire-hydrants-point', 'visibility')), 'visible');
    await idle();
    await page.screenshot({ path: path.join(outDir, 'fire-light.png') });
  });

  it('最近水源 lists /api/fire/nearest for a clicked point and draws a line to each', async () => {
    // A point in 东阳村 a few tens of metres off its first site, in the middle of the map.
    const site = coverage.sites[0];
    const target = [site.lon + 0.0003, site.lat + 0.0002];
    await page.evaluate((c) => window.onemap.map.jumpTo({ center: c }), target);
    await idle();
    await page.click('#fire-nearest-btn');
    assert.equal(await page.getAttribute('#fire-nearest-btn', 'aria-pressed'), 'true');
    assert.ok(await page.isVisible('#fire-hint'), 'the tool hint is not shown');
    await clickMapAt(target);
    await page.waitForFunction(() => {
      const list = document.getElementById('fire-nearest-list');
      return list.dataset.lon && !list.querySelector('.fire-muted') && list.children.length > 0;
    }, null, { timeout: WAIT_MS });
    const asked = await page.$eval('#fire-nearest-list', (l) => [Number(l.dataset.lon), Number(l.dataset.lat)]);
    assert.ok(Math.abs(asked[0] - target[0]) < 2e-5 && Math.abs(asked[1] - target[1]) < 2e-5, `the page asked for ${asked}, the click was at ${target}`);
    const answer = await api(`/api/fire/nearest?lon=${asked[0]}&lat=${asked[1]}&k=5`);
    assert.ok(answer.water.length > 0, 'no water near 东阳村');
    const rows = await page.$$eval('#fire-nearest-list li[data-id]', (lis) =>
      lis.map((li) => ({ id: li.dataset.id, distance: li.querySelector('[data-field="distance"]').textContent, bearing: li.querySelector('[data-field="bearing"]').textContent, text: li.textContent })),
    );
    assert.deepEqual(rows.map((r) => r.id), answer.water.map((w) => String(w.id)), 'the nearest water, nearest first');
    answer.water.forEach((w, i) => {
      assert.equal(rows[i].distance, formatDistance(w.distance_m), `distance of ${w.name}`);
      assert.equal(rows[i].bearing, bearingText(w.bearing_deg, w.direction), `方位 of ${w.name}`);
      assert.ok(rows[i].text.includes(w.name), `name of ${w.name}`);
    });
    const drawn = await page.evaluate(() => {
      const data = window.onemap.map.getSource('fire-nearest').serialize().data;
      return data.features.filter((f) => f.geometry.type === 'LineString').map((f) => [String(f.properties.id), f.geometry.coordinates]);
    });
    assert.deepEqual(drawn.map((d) => d[0]), answer.water.map((w) => String(w.id)), 'one line per result');
    for (const [, line] of drawn) assert.deepEqual(line[0], asked, 'lines start at the clicked point');
    await idle();
    await page.screenshot({ path: path.join(outDir, 'fire-nearest.png') });

    await page.keyboard.press('Escape');
    assert.equal(await page.getAttribute('#fire-nearest-btn', 'aria-pressed'), 'false');
    assert.ok(await page.isHidden('#fire-hint'), 'the tool hint stays after Esc');
  });

  it('a sensor alarm reaches the panel live and is acknowledged from it', async () => {
    const { sensors } = await api(`/api/fire/sensors?area=${DONGYANG.code}`);
    const { alerts: open } = await api(`/api/fire/alerts?state=open&area=${DONGYANG.code}&kind=sensor_alarm`);
    // A sensor whose alarm opens a sensor_alarm alert (water levels raise water_level ones), with
    // no open alarm event and no open alert (one open alert per kind and subject).
    const sensor = sensors.find((s) => s.type !== 'water_level' && s.in_service !== false && s.state !== 'alarm' && s.event_id == null && !open.some((a) => String(a.asset_id) === String(s.id)));
    assert.ok(sensor, `no sensor of 东阳村 can raise a new alarm: ${JSON.stringify(sensors.map((s) => [s.id, s.type, s.state, s.event_id]))}`);
    // debounce and threshold: the sensor list's, else the asset's props (docs/FIRE.md defaults).
    const asset = sensor.debounce == null || sensor.threshold == null ? await api(`/api/assets/${sensor.id}`) : null;
    const debounce = Number(sensor.debounce ?? asset?.props?.debounce ?? 3);
    const threshold = Number(sensor.threshold ?? asset?.props?.threshold);
    assert.ok(Number.isFinite(threshold) && debounce >= 1, `sensor ${sensor.id}: threshold ${threshold}, debounce ${debounce}`);

    // The page must be listening before the alarm: the alert comes through the stream.
    await page.waitForFunction(() => window.onemap.fire.alerts.streamState === 'live', null, { timeout: WAIT_MS });
    const marker = await page.evaluate(() => (window.__fireTestMarker = Math.random()));

    // `debounce` readings over the threshold at consecutive seconds just before now (after the
    // sensor's last reading, so none is late).
    const last = sensor.last_at ? new Date(sensor.last_at).getTime() : 0;
    const start = Math.max(Date.now() - (debounce + 1) * 1000, last + 1000);
    const readings = Array.from({ length: debounce }, (_, i) => ({ sensor: sensor.id, at: new Date(start + i * 1000).toISOString(), value: threshold + 10 }));
    const stored = await api('/api/sensors/readings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(readings) });
    assert.deepEqual([stored.stored, stored.late, stored.errors?.length ?? 0], [debounce, 0, 0], `readings: ${JSON.stringify(stored)}`);

    const row = page.locator(`#fire-alert-list li.fire-alert[data-kind="sensor_alarm"][data-asset="${sensor.id}"][data-state="open"]`);
    await row.waitFor({ timeout: WAIT_MS });
    assert.equal(await row.getAttribute('data-via'), 'stream', 'the alert was not brought by the stream');
    assert.equal(await page.evaluate(() => window.__fireTestMarker), marker, 'the page was reloaded');
    const id = await row.getAttribute('data-id');
    const raised = await page.$$eval('#fire-alert-list li.fire-alert', (lis) => lis.map((li) => new Date(li.dataset.raised).getTime()));
    for (let i = 1; i < raised.length; i++) assert.ok(raised[i - 1] >= raised[i], `the alert list is not newest first: ${await page.$$eval('#fire-alert-list li.fire-alert', (lis) => lis.map((li) => `${li.dataset.id} ${li.dataset.raised}`).join(', '))}`);
    const { alerts: now } = await api(`/api/fire/alerts?state=open&area=${DONGYANG.code}&kind=sensor_alarm`);
    const listed = now.find((a) => String(a.id) === id);
    assert.ok(listed, `alert ${id} from the stream is not an open alert of the API`);
    assert.equal(String(listed.asset_id), String(sensor.id));
    assert.ok((await row.textContent()).includes(listed.message), 'the row does not show the alert message');
    await page.screenshot({ path: path.join(outDir, 'fire-alert.png') });

    // 确认: an inline form with a note; the acknowledger is the signed-in user.
    await row.locator('button.fire-ack-open').click();
    const form = row.locator('form.fire-ack-form');
    await form.waitFor({ state: 'visible', timeout: WAIT_MS });
    const { user } = await sessionFor(BASE);
    assert.equal(await form.locator('[data-field="by"]').textContent(), user.name, 'the acknowledger is the signed-in user');
    // An empty note is refused in the page, before anything is sent.
    await form.locator('button[type="submit"]').click();
    assert.equal(await form.locator('[data-role="error"]').textContent(), '请填写处理说明');
    const note = `测试确认：已联系看护人核实 ${Date.now()}`;
    await form.locator('textarea[name="note"]').fill(note);
    await form.locator('button[type="submit"]').click();
    await page.locator(`#fire-alert-list li[data-id="${id}"][data-state="acknowledged"]`).waitFor({ timeout: WAIT_MS });
    const { alerts: done } = await api(`/api/fire/alerts?state=acknowledged&area=${DONGYANG.code}&kind=sensor_alarm`);
    const acked = done.find((a) => String(a.id) === id);
    assert.ok(acked, `alert ${id} is not acknowledged in /api/fire/alerts`);
    assert.equal(acked.acked_by, user.name);
    assert.equal(acked.note, note);
    assert.ok(acked.acked_at, 'no acked_at');
    assert.ok((await page.textContent(`#fire-alert-list li[data-id="${id}"] [data-field="ack"]`)).includes(note), 'the row does not show the note');
    const { alerts: stillOpen } = await api(`/api/fire/alerts?state=open&area=${DONGYANG.code}&kind=sensor_alarm`);
    assert.ok(!stillOpen.some((a) => String(a.id) === id), 'the alert is still open');
  });

  it('works in the dark style: layers, panel and its colours follow', async () => {
    await page.click('[data-theme-choice="dark"]');
    await page.waitForFunction(() => window.onemap.map.getStyle()?.metadata?.['onemap:theme'] === 'dark', null, { timeout: WAIT_MS });
    await idle();
    const seen = await page.evaluate(() => {
      const map = window.onemap.map;
      const panel = document.getElementById('fire-panel');
      return {
        visibility: ['fire-heritage-point', 'fire-hydrants-point', 'fire-uncovered-fill'].map((id) => map.getLayoutProperty(id, 'visibility')),
        heritage: map.queryRenderedFeatures({ layers: ['fire-heritage-point', 'fire-heritage-area'] }).length,
        hydrants: map.queryRenderedFeatures({ layers: ['fire-hydrants-point'] }).length,
        ringColour: JSON.stringify(map.getPaintProperty('fire-heritage-ring', 'circle-stroke-color')),
        colour: getComputedStyle(panel).color,
        national: panel.style.getPropertyValue('--fire-national'),
        open: !panel.hidden,
      };
    });
    assert.deepEqual(seen.visibility, ['visible', 'visible', 'visible']);
    assert.ok(seen.heritage > 0 && seen.hydrants > 0, `dark style draws ${seen.heritage} heritage sites and ${seen.hydrants} hydrants`);
    assert.ok(seen.ringColour.includes('#4cd07d'), `the rings keep the light palette: ${seen.ringColour}`);
    assert.equal(seen.national, '#ff5252', 'the panel keeps the light palette');
    // The dark theme's --fg (src/theme.css) on the panel.
    assert.equal(seen.colour, 'rgb(230, 241, 255)', 'the panel does not follow the dark theme');
    assert.ok(seen.open);
    const states = await page.evaluate((ids) => ids.map((id) => window.onemap.map.getFeatureState({ source: 'fire-heritage', sourceLayer: 'heritage', id }).covered), coverage.sites.map((x) => x.id));
    assert.deepEqual(states, coverage.sites.map((x) => Boolean(x.covered)), 'the cover is not carried into the dark style');

    // Closed and opened again: the same sites.
    await page.click('#btn-fire');
    assert.ok(await page.isHidden('#fire-panel'));
    await page.click('#btn-fire');
    await page.waitForFunction(() => document.getElementById('fire-alert-list').children.length > 0 && window.onemap.fire.alerts.streamState === 'live', null, { timeout: WAIT_MS });
    assert.equal(await page.locator('#fire-site-groups li[data-site-id]').count(), DONGYANG.sites);
    await page.screenshot({ path: path.join(outDir, 'fire-dark.png') });
  });

  it('asked for nothing outside the server, and nothing failed', () => {
    assert.deepEqual(foreign, [], 'requests to other hosts');
    assert.deepEqual(consoleErrors, [], 'console errors');
    assert.deepEqual(httpErrors, [], 'failed requests');
    const paths = requests.map((u) => new URL(u));
    for (const want of [/^\/tiles\/heritage\/\d+\/\d+\/\d+/, /^\/tiles\/hydrants\/\d+\/\d+\/\d+/, /^\/tiles\/fire-uncovered\/\d+\/\d+\/\d+/, /^\/api\/fire\/coverage$/, /^\/api\/fire\/nearest$/, /^\/api\/fire\/sensors$/, /^\/api\/fire\/alerts$/]) {
      assert.ok(paths.some((u) => want.test(u.pathname)), `never requested ${want}`);
    }
    const streams = paths.filter((u) => u.pathname === '/api/stream');
    assert.ok(streams.some((u) => u.searchParams.get('topics') === 'alerts' && u.searchParams.get('area') === DONGYANG.code), 'no alert stream for 东阳村');
  });
});
