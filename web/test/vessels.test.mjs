// The 渔船 panel (issue #11, docs/VESSELS.md) in a real browser against a real onemap server:
// headless Debian Chromium via playwright-core, the server at ONEMAP_URL (scripts/test starts one
// on the demo city with `serve --import-demo-if-empty`). What the page shows is compared with
// what the API answers, never with numbers written here; the test makes its own traffic with
// POST /api/vessels/positions, so it does not need the simulator (and bears it if it runs).
//
// 1. 渔船 opens: the stream is live, the legend's counts equal /api/vessels' counts, the harbour
//    table equals /api/harbours, harbours and the fleet are on the map.
// 2. A registered boat is put at its harbour and then 10 km out at sea (a point of no grid, 5 km
//    from every harbour): the API says it left port on a trip; the page moves it through the
//    stream (no reload); a click on it opens its card (MMSI, name, class, state, speed, course,
//    time and age, harbour, village, owner, trip as /api/vessels/{mmsi} has them) and draws its
//    track (/api/vessels/{mmsi}/track); its port exit is in the event list; counts follow.
// 3. Another boat sails from its harbour into the restricted zone: its zone_entry alert reaches
//    the open panel through the stream, the open list equals /api/vessels/alerts?state=open, and
//    it is acknowledged from the panel (an empty note refused first), which the API then shows.
// 4. The search finds a boat by MMSI and opens its card.
// 5. The dark style keeps layers, boats, track and panel.
// Fails on any console error, failed request or request to another host. It changes the
// database (positions, trips, events, an acknowledged alert; a zone if the demo has none): run it
// on a test database.
//
// Screenshots go to web/test-output/ (ignored by git): vessels-light.png, vessels-card.png,
// vessels-alert.png, vessels-dark.png.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { authFetch, guard, launch, sessionFor, signInContext } from './chromium.mjs';
import { PALETTES } from '../src/vessels/layers.js';
import { VESSEL_STATES, classText, countStates, formatCourse, formatSpeed, normaliseCounts, ownerText, placeText, stateText } from '../src/vessels/format.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, '../test-output');
const BASE = process.env.ONEMAP_URL?.replace(/\/+$/, '');
const WAIT_MS = 90_000;
const OUT_OF_PORT = new Set(['at_sea', 'fishing']);

// --- geometry on the sphere (enough for picking test points) ---------------------------------------

const R = 6371.0088;
const rad = (d) => (d * Math.PI) / 180;
const deg = (r) => (r * 180) / Math.PI;

function distanceKm([lon1, lat1], [lon2, lat2]) {
  const a = Math.sin(rad(lat2 - lat1) / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(rad(lon2 - lon1) / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(a)));
}

function destination([lon, lat], bearingDeg, km) {
  const d = km / R;
  const b = rad(bearingDeg);
  const la1 = rad(lat);
  const la2 = Math.asin(Math.sin(la1) * Math.cos(d) + Math.cos(la1) * Math.sin(d) * Math.cos(b));
  const lo2 = rad(lon) + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(la1), Math.cos(d) - Math.sin(la1) * Math.sin(la2));
  return [Number(deg(lo2).toFixed(6)), Number(deg(la2).toFixed(6))];
}

function inRing([x, y], ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function polygonsOf(geometry) {
  if (geometry?.type === 'Polygon') return [geometry.coordinates];
  if (geometry?.type === 'MultiPolygon') return geometry.coordinates;
  return [];
}

function inGeometry(p, geometry) {
  return polygonsOf(geometry).some(([outer, ...holes]) => inRing(p, outer) && !holes.some((h) => inRing(p, h)));
}

/** A point well inside a polygon: the centre of its bbox if inside, else the best of a grid. */
function interiorPoint(geometry) {
  const [outer] = polygonsOf(geometry)[0];
  const xs = outer.map((c) => c[0]);
  const ys = outer.map((c) => c[1]);
  const [w, e, s, n] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const centre = [(w + e) / 2, (s + n) / 2];
  if (inGeometry(centre, geometry)) return centre;
  let best = null;
  for (let i = 1; i < 20; i++) {
    for (let j = 1; j < 20; j++) {
      const p = [w + ((e - w) * i) / 20, s + ((n - s) * j) / 20];
      if (!inGeometry(p, geometry)) continue;
      const edge = Math.min(...outer.map((c) => distanceKm(p, c)));
      if (!best || edge > best.edge) best = { p, edge };
    }
  }
  return best?.p;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const iso = (ms) => new Date(ms).toISOString();
const KN_KMH = 1.852;

describe('渔船 panel in headless Chromium', { timeout: 15 * 60_000 }, () => {
  let browser;
  let context;
  let page;
  const requests = [];
  const foreign = [];
  const consoleErrors = [];
  const httpErrors = [];
  let harbours; // GET /api/harbours
  const harbourAnswers = []; // the page's /api/harbours answers, in the order they came: {at, body}
  let departed; // {boat, harbour, sea, times}
  let marker;

  before(async () => {
    assert.ok(BASE, 'ONEMAP_URL is not set: run the browser test through scripts/test, or point ONEMAP_URL at a running onemap server');
    fs.mkdirSync(outDir, { recursive: true });
    let ready = await fetch(`${BASE}/readyz`).catch(() => null);
    for (const until = Date.now() + 300_000; ready?.status !== 200 && Date.now() < until; ) {
      await sleep(1000);
      ready = await fetch(`${BASE}/readyz`).catch(() => null);
    }
    assert.equal(ready?.status, 200, `${BASE}/readyz did not answer 200`);
    const res = await authFetch(`${BASE}/api/vessels?limit=1`);
    assert.equal(res.status, 200, `GET /api/vessels answered ${res.status}: does this server have the vessel endpoints (docs/VESSELS.md)?`);
    for (const source of ['harbours', 'vessel-zones']) {
      const tj = await authFetch(`${BASE}/tiles/${source}`);
      assert.equal(tj.status, 200, `GET /tiles/${source} answered ${tj.status}`);
      const body = await tj.json();
      assert.ok(Array.isArray(body.tiles) && body.tiles.length, `/tiles/${source} has no tile URLs`);
    }

    browser = await launch();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'zh-CN', deviceScaleFactor: 1 });
    await guard(context, new URL(BASE).host, { requests, foreign, errors: httpErrors });
    await signInContext(context, BASE);
    context.on('response', (res) => {
      if (new URL(res.url()).pathname !== '/api/harbours' || !res.ok()) return;
      const entry = { at: Date.now(), body: null };
      harbourAnswers.push(entry);
      res.json().then((b) => (entry.body = b), () => {});
    });
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

  const post = (p, body) => api(p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  /**
   * Resolves once the map is still, has every tile it needs and has drawn them. Not the map's
   * `idle` event: while the fleet moves, the boats' source is updated every second and the map
   * may not be idle for long.
   */
  async function idle() {
    await page.waitForFunction(() => window.onemap?.started && window.onemap.map.isStyleLoaded() && !window.onemap.map.isMoving() && window.onemap.map.areTilesLoaded(), null, { timeout: WAIT_MS, polling: 100 });
    await page.evaluate(
      () =>
        new Promise((resolve) => {
          const map = window.onemap.map;
          map.once('render', resolve);
          map.triggerRepaint();
        }),
    );
  }

  async function clickMapAt(lngLat) {
    const { x, y } = await page.evaluate((ll) => window.onemap.map.project(ll), lngLat);
    const box = await page.locator('#map canvas').boundingBox();
    await page.mouse.click(box.x + x, box.y + y);
  }

  /**
   * Retries `check` (which reads the API and the page and throws an AssertionError) until it
   * passes: the fleet may move between two reads (the simulator, stream latency).
   */
  async function eventually(check, { timeoutMs = 30_000, what = 'the page and the API agree' } = {}) {
    let last;
    for (const until = Date.now() + timeoutMs; ; ) {
      try {
        return await check();
      } catch (e) {
        last = e;
        if (!(e instanceof assert.AssertionError) || Date.now() > until) throw Object.assign(last, { message: `${what}: ${last.message}` });
      }
      await sleep(500);
    }
  }

  /**
   * The legend equals /api/vessels' counts. The fleet may move while the page and the API are
   * read (a running simulator): the API's list is read before and after the page (1.5 s after
   * the first read, so the stream has brought what it had), the legend must count the boats the
   * page holds, and each of those must have the state the API gave it in one of the two reads.
   * When no boat changed between the reads, that is the legend equal to `counts`, asserted too.
   */
  async function checkLegend() {
    await eventually(
      async () => {
        const before = await api('/api/vessels?limit=100000');
        // The stream pushes every 500 ms; let the page take what happened before that read.
        await sleep(1500);
        const seen = await page.evaluate(() => ({
          legend: Object.fromEntries([...document.querySelectorAll('#vessel-legend li[data-state]')].map((li) => [li.dataset.state, Number(li.dataset.count)])),
          total: Number(document.getElementById('vessel-total').dataset.total),
          boats: [...window.onemap.vessels.state.boats.values()].map((v) => [String(v.mmsi), v.state]),
        }));
        const after = await api('/api/vessels?limit=100000');
        assert.deepEqual(seen.legend, countStates(seen.boats.map(([, state]) => ({ state }))), 'the legend does not count the boats the page holds');
        assert.equal(seen.total, seen.boats.length, 'the total is not the number of boats');
        const was = new Map(before.vessels.map((v) => [String(v.mmsi), v.state]));
        const is = new Map(after.vessels.map((v) => [String(v.mmsi), v.state]));
        const held = new Set(seen.boats.map(([m]) => m));
        assert.deepEqual([...was.keys()].filter((m) => is.has(m) && !held.has(m)), [], 'boats of /api/vessels the page does not hold');
        assert.deepEqual(seen.boats.filter(([m]) => !was.has(m) && !is.has(m)), [], 'boats the page holds that /api/vessels does not list');
        const wrong = seen.boats.filter(([m, st]) => st !== was.get(m) && st !== is.get(m)).map(([m, st]) => `${m}: ${st} on the page, ${was.get(m)} then ${is.get(m)} in the API`);
        assert.deepEqual(wrong, [], 'boats whose state is not the API\'s');
        if ([...is].every(([m, st]) => was.get(m) === st) && was.size === is.size) {
          assert.deepEqual(seen.legend, normaliseCounts(after.counts), 'legend counts');
        }
        return after;
      },
      { what: 'the legend equals /api/vessels counts', timeoutMs: 60_000 },
    );
  }

  /**
   * The harbour table shows the page's latest /api/harbours answer (recorded from the network:
   * the numbers move while boats do), one received after `since`, and that answer lists the
   * harbours a fresh read lists, with the same boats registered to each.
   */
  async function checkHarbours({ since = 0 } = {}) {
    return eventually(
      async () => {
        const last = harbourAnswers.at(-1);
        assert.ok(last?.body && last.at >= since, 'the page has not read /api/harbours (again)');
        const answer = last.body;
        const rows = await page.$$eval('#vessel-harbour-table tbody tr', (trs) => trs.map((tr) => ({ id: tr.dataset.id, in_port: tr.dataset.inPort, at_sea: tr.dataset.atSea, home: tr.dataset.home, text: tr.textContent })));
        assert.deepEqual(rows.map((r) => r.id).sort(), answer.harbours.map((h) => String(h.id)).sort(), 'harbours listed');
        for (const h of answer.harbours) {
          const r = rows.find((x) => x.id === String(h.id));
          assert.deepEqual([r.in_port, r.at_sea, r.home], [String(h.in_port), String(h.at_sea), String(h.home)], `in_port, at_sea, home of ${h.name}`);
          assert.ok(r.text.includes(h.name), `name of ${h.name}`);
        }
        const fresh = await api('/api/harbours');
        assert.deepEqual(fresh.harbours.map((h) => [String(h.id), h.home]).sort(), answer.harbours.map((h) => [String(h.id), h.home]).sort(), 'the harbours and their registered boats');
        return answer;
      },
      { what: 'the harbour table equals /api/harbours' },
    );
  }

  /**
   * A registered boat (not in `exclude`) that can be put at its harbour at `t1For(harbour)`: its
   * last position older than that and not more than 40 kn away from the harbour by then. Boats
   * quiet longest first (a running simulator is less likely to move them back meanwhile).
   */
  function boatsToMove(fleet, t1For, exclude = new Set()) {
    const byId = new Map(harbours.map((h) => [String(h.id), h]));
    const candidates = fleet.vessels
      .filter((v) => v.registered !== false && v.harbour && byId.has(String(v.harbour.id)) && !exclude.has(String(v.mmsi)))
      .filter((v) => {
        if (v.lon == null || !v.at) return true;
        const h = byId.get(String(v.harbour.id));
        const t1 = t1For(h);
        const last = new Date(v.at).getTime();
        if (!(last < t1 - 1000)) return false;
        const kn = distanceKm([v.lon, v.lat], [h.lon, h.lat]) / KN_KMH / ((t1 - last) / 3_600_000);
        return kn < 40;
      })
      .sort((a, b) => (a.at ? new Date(a.at).getTime() : 0) - (b.at ? new Date(b.at).getTime() : 0));
    assert.ok(candidates.length, `no registered boat can be moved to its harbour in time (${fleet.vessels.length} boats)`);
    return candidates.map((boat) => {
      const harbour = byId.get(String(boat.harbour.id));
      return { boat, harbour, t1: t1For(harbour) };
    });
  }

  /**
   * A point at sea 10 km from a harbour: in no grid, at least 5 km from every harbour, in no
   * zone; tried first away from the city's centre (the harbours are on its coast). Null if none.
   */
  async function seaPointOff(harbour, zones) {
    const hp = [Number(harbour.lon), Number(harbour.lat)];
    const { areas: [city] } = await api('/api/areas?level=city&limit=1');
    const centre = city?.bbox ? [(city.bbox[0] + city.bbox[2]) / 2, (city.bbox[1] + city.bbox[3]) / 2] : hp;
    const outward = deg(Math.atan2(hp[0] - centre[0], hp[1] - centre[1]));
    for (let i = 0; i < 16; i++) {
      const p = destination(hp, outward + (i % 2 ? 1 : -1) * Math.ceil(i / 2) * 22.5, 10);
      if (harbours.some((h) => distanceKm(p, [h.lon, h.lat]) < 5)) continue;
      if (zones.features?.some((f) => inGeometry(p, f.geometry))) continue;
      const where = await api(`/api/assign?lon=${p[0]}&lat=${p[1]}`);
      if (where.assigned === false) return p;
    }
    return null;
  }

  it('opens with the fleet: legend counts as /api/vessels, harbour counts as /api/harbours', async () => {
    await page.goto(`${BASE}/?test=1&style=light`);
    await idle();
    await page.click('#btn-vessels');
    assert.equal(await page.getAttribute('#btn-vessels', 'aria-expanded'), 'true');
    assert.ok(await page.isVisible('#vessels-panel'));
    await page.waitForFunction(() => window.onemap.vessels.state.loaded && window.onemap.vessels.state.streamState === 'live', null, { timeout: WAIT_MS });
    assert.match(await page.evaluate(() => location.href), /[?&]vessels=1/);
    marker = await page.evaluate(() => (window.__vesselTestMarker = Math.random()));

    // Every state of the contract in the legend, with its Chinese name.
    const labels = await page.$$eval('#vessel-legend li[data-state]', (lis) => lis.map((li) => [li.dataset.state, li.querySelector('.vs-legend-label').textContent]));
    assert.deepEqual(labels, VESSEL_STATES);
    harbours = (await api('/api/harbours')).harbours;
    assert.ok(harbours.length > 0, 'the demo has no harbours');
    await checkLegend();
    await checkHarbours();

    // The layers: visible; harbours drawn at the city view.
    await idle();
    const seen = await page.evaluate(() => {
      const map = window.onemap.map;
      return {
        layers: ['vessel-boats-point', 'vessel-harbours-point', 'vessel-harbours-label', 'vessel-zones-fill', 'vessel-zones-line'].map((id) => [id, map.getLayoutProperty(id, 'visibility')]),
        loaded: ['vessel-harbours', 'vessel-zones'].map((id) => map.isSourceLoaded(id)),
        harbours: [...new Set(map.queryRenderedFeatures({ layers: ['vessel-harbours-point'] }).map((f) => String(f.properties.id)))],
      };
    });
    for (const [id, visibility] of seen.layers) assert.equal(visibility, 'visible', `layer ${id}`);
    assert.deepEqual(seen.loaded, [true, true], 'the vessel tile sources did not finish loading');
    assert.ok(seen.harbours.length > 0, 'no harbour drawn at the city view');
    for (const id of seen.harbours) assert.ok(harbours.some((h) => String(h.id) === id), `harbour ${id} is drawn but not in /api/harbours`);
    await page.screenshot({ path: path.join(outDir, 'vessels-light.png') });
  });

  it('a boat leaving port moves through the stream; a click opens its card and draws its track', async () => {
    const fleet = await api('/api/vessels?limit=100000');
    const zones = await api('/api/vessels/zones');
    const t2 = Date.now() - 3000;
    const t1 = t2 - 20 * 60_000;
    // The first boat whose harbour has open sea 10 km out.
    let boat = null;
    let harbour = null;
    let sea = null;
    const tried = new Set();
    for (const c of boatsToMove(fleet, () => t1)) {
      if (tried.has(String(c.harbour.id))) continue;
      tried.add(String(c.harbour.id));
      sea = await seaPointOff(c.harbour, zones);
      if (sea) {
        ({ boat, harbour } = c);
        break;
      }
    }
    assert.ok(sea, `no sea point 10 km off any of ${[...tried].join(', ')}`);
    const hp = [Number(harbour.lon), Number(harbour.lat)];
    departed = { boat, harbour, sea };

    const answer = await post('/api/vessels/positions', [
      { mmsi: boat.mmsi, time: iso(t1), lon: hp[0], lat: hp[1], speed: 0, course: 0, source: 'manual' },
      { mmsi: boat.mmsi, time: iso(t2), lon: sea[0], lat: sea[1], speed: 1, course: 120, source: 'manual' },
    ]);
    assert.deepEqual([answer.stored, answer.flagged, answer.out_of_order, answer.errors?.length ?? 0], [2, 0, 0, 0], `positions: ${JSON.stringify(answer)}`);
    const posted = Date.now();
    const detail = await api(`/api/vessels/${boat.mmsi}`);
    assert.ok(OUT_OF_PORT.has(detail.state), `${boat.name} (${boat.mmsi}) 10 km off ${harbour.name} is ${detail.state}`);
    assert.ok(detail.trip, `${boat.name} left ${harbour.name} but has no current trip`);
    assert.equal(String(detail.trip.from?.id), String(harbour.id), 'the trip starts at its harbour');

    // The page has it out at sea, brought by the stream, without a reload.
    await page.waitForFunction(
      ([mmsi, lon, lat]) => {
        const v = window.onemap.vessels.state.boats.get(String(mmsi));
        return v && Math.abs(v.lon - lon) < 1e-6 && Math.abs(v.lat - lat) < 1e-6 && ['at_sea', 'fishing'].includes(v.state);
      },
      [boat.mmsi, sea[0], sea[1]],
      { timeout: WAIT_MS },
    );
    assert.equal(await page.evaluate(() => window.__vesselTestMarker), marker, 'the page was reloaded');
    assert.ok(await page.evaluate(() => window.onemap.vessels.state.frames > 0), 'no vessels frame came through the stream');

    // Drawn there: a click on it opens its card.
    await page.evaluate((c) => window.onemap.map.jumpTo({ center: c, zoom: 12 }), sea);
    await idle();
    const drawn = await page.evaluate((mmsi) => window.onemap.map.queryRenderedFeatures({ layers: ['vessel-boats-point'] }).some((f) => f.properties.mmsi === String(mmsi)), boat.mmsi);
    assert.ok(drawn, `${boat.mmsi} is not drawn at its new position`);
    await clickMapAt(sea);
    const card = page.locator(`#vessel-card[data-loaded="${boat.mmsi}"]`);
    await card.waitFor({ timeout: WAIT_MS });
    assert.match(await page.evaluate(() => location.href), new RegExp(`[?&]vessel=${boat.mmsi}`));

    const now = await api(`/api/vessels/${boat.mmsi}`);
    const field = (name) => page.textContent(`#vessel-card [data-field="${name}"]`);
    assert.equal(await field('mmsi'), String(now.mmsi));
    assert.ok((await field('name')).startsWith(now.name), `name: ${await field('name')}`);
    assert.ok((await field('class')).startsWith(classText(now.class)), `class: ${await field('class')}`);
    assert.ok((await field('state')).includes(stateText(now)), `state: ${await field('state')}, the API: ${now.state_name}`);
    assert.equal(await field('speed'), formatSpeed(now.speed_kn ?? now.last?.speed_kn));
    assert.equal(await field('course'), formatCourse(now.course ?? now.last?.course));
    assert.match(await field('at'), /^\d\d-\d\d \d\d:\d\d:\d\d（(刚刚|\d+ 秒前|\d+ 分钟前)）/, 'time and age');
    assert.equal(await field('harbour'), placeText(now.harbour));
    assert.ok((await field('village')).startsWith(placeText(now.village)), `village: ${await field('village')}`);
    assert.equal(await field('owner'), ownerText(now.owner));
    if (now.owner?.phone) assert.ok(!/\d{11}/.test(now.owner.phone), `the API answers an unmasked phone: ${now.owner.phone}`);
    assert.ok((await field('trip')).includes(`自 ${now.trip.from.name} 出港`), `trip: ${await field('trip')}`);

    // Its track: the line of /api/vessels/{mmsi}/track, ending at the sea point.
    await page.waitForFunction((mmsi) => document.getElementById('vessel-track-info').dataset.mmsi === String(mmsi), boat.mmsi, { timeout: WAIT_MS });
    const track = await api(`/api/vessels/${boat.mmsi}/track`);
    assert.equal(track.geometry?.type, 'LineString', `track: ${JSON.stringify(track).slice(0, 200)}`);
    const line = await page.evaluate(() => window.onemap.map.getSource('vessel-track').serialize().data.features[0]?.geometry.coordinates);
    assert.ok(line, 'no track drawn');
    assert.deepEqual(line.slice(0, track.geometry.coordinates.length), track.geometry.coordinates, 'the drawn track is not the API\'s');
    const end = line.at(-1);
    assert.ok(Math.abs(end[0] - sea[0]) < 1e-6 && Math.abs(end[1] - sea[1]) < 1e-6, `the track ends at ${end}, the boat is at ${sea}`);
    assert.ok(line.some((c) => distanceKm(c, hp) < 0.01), 'the track does not pass its harbour');
    await page.evaluate(([a, b]) => window.onemap.map.fitBounds([[Math.min(a[0], b[0]), Math.min(a[1], b[1])], [Math.max(a[0], b[0]), Math.max(a[1], b[1])]], { padding: { top: 80, bottom: 80, left: 420, right: 420 }, duration: 0 }), [hp, sea]);
    await idle();
    assert.ok(await page.evaluate(() => window.onemap.map.queryRenderedFeatures({ layers: ['vessel-track-line'] }).length > 0), 'the track is not drawn');
    assert.equal(await page.evaluate(() => JSON.stringify(window.onemap.map.getFilter('vessel-boats-selected'))), JSON.stringify(['==', ['get', 'mmsi'], String(boat.mmsi)]), 'the boat is not ringed');

    // Its port exit in the event list; counts follow.
    const { events } = await api(`/api/vessels/events?mmsi=${boat.mmsi}&limit=10`);
    const exit = events.find((e) => e.type === 'port_exit');
    assert.ok(exit, `no port_exit event for ${boat.mmsi}: ${JSON.stringify(events.map((e) => e.type))}`);
    await page.locator(`#vessel-event-list li[data-id="${exit.id}"][data-type="port_exit"]`).waitFor({ timeout: WAIT_MS });
    await checkLegend();
    const after = await checkHarbours({ since: posted });
    assert.ok(after.harbours.find((h) => String(h.id) === String(harbour.id)).at_sea >= 1, `${harbour.name} has no boat at sea`);
    await page.screenshot({ path: path.join(outDir, 'vessels-card.png') });
  });

  it('a boat entering the restricted zone: its alert arrives live and is acknowledged from the panel', async () => {
    let zones = await api('/api/vessels/zones');
    if (!zones.features?.length) {
      // No zone in this database: one square of 2 km around a point 8 km beyond the sea point.
      const c = destination(departed.sea, 120, 8);
      const ring = [destination(c, 315, 1.4), destination(c, 45, 1.4), destination(c, 135, 1.4), destination(c, 225, 1.4)];
      await post('/api/vessels/zones', { name: '测试禁航区', geometry: { type: 'Polygon', coordinates: [[...ring, ring[0]]] } });
      zones = await api('/api/vessels/zones');
    }
    const zone = zones.features[0];
    const target = interiorPoint(zone.geometry);
    assert.ok(target, `no point inside zone ${JSON.stringify(zone.properties)}`);

    const fleet = await api('/api/vessels?limit=100000');
    const { alerts: open } = await api('/api/vessels/alerts?state=open&kind=zone_entry&limit=1000');
    const busy = new Set([String(departed.boat.mmsi), ...open.map((a) => String(a.mmsi))]);
    const t2 = Date.now() - 2000;
    // From its harbour at 15 kn (at least 10 minutes): the harbour position that long before.
    const t1For = (h) => t2 - Math.max(10 * 60_000, (distanceKm([h.lon, h.lat], target) / KN_KMH / 15) * 3_600_000);
    const [{ boat, harbour, t1 }] = boatsToMove(fleet, t1For, busy);

    await page.waitForFunction(() => window.onemap.vessels.state.streamState === 'live', null, { timeout: WAIT_MS });
    const answer = await post('/api/vessels/positions', [
      { mmsi: boat.mmsi, time: iso(t1), lon: Number(harbour.lon), lat: Number(harbour.lat), speed: 0, source: 'manual' },
      { mmsi: boat.mmsi, time: iso(t2), lon: target[0], lat: target[1], speed: 1, course: 90, source: 'manual' },
    ]);
    assert.deepEqual([answer.stored, answer.flagged, answer.out_of_order, answer.errors?.length ?? 0], [2, 0, 0, 0], `positions: ${JSON.stringify(answer)}`);

    const row = page.locator(`#vessel-alert-list li.fire-alert[data-kind="zone_entry"][data-mmsi="${boat.mmsi}"][data-state="open"]`);
    await row.waitFor({ timeout: WAIT_MS });
    assert.equal(await row.getAttribute('data-via'), 'stream', 'the alert was not brought by the stream');
    assert.equal(await page.evaluate(() => window.__vesselTestMarker), marker, 'the page was reloaded');
    const id = await row.getAttribute('data-id');
    const { alerts: nowOpen } = await api('/api/vessels/alerts?state=open&limit=1000');
    const listed = nowOpen.find((a) => String(a.id) === id);
    assert.ok(listed, `alert ${id} from the stream is not an open alert of the API`);
    assert.equal(listed.kind, 'zone_entry');
    assert.ok((await row.textContent()).includes(listed.message), 'the row does not show the alert message');

    // The open list is the API's, newest first.
    await eventually(
      async () => {
        const { alerts } = await api('/api/vessels/alerts?state=open&limit=1000');
        const ids = await page.$$eval('#vessel-alert-list li.fire-alert[data-state="open"]', (lis) => lis.map((li) => li.dataset.id));
        assert.deepEqual([...ids].sort(), alerts.map((a) => String(a.id)).sort(), 'open alerts');
        assert.equal(await page.textContent('#vessel-alert-badge'), alerts.length > 99 ? '99+' : String(alerts.length), 'the button\'s count');
      },
      { what: 'the alert list equals /api/vessels/alerts?state=open' },
    );
    const raised = await page.$$eval('#vessel-alert-list li.fire-alert', (lis) => lis.map((li) => new Date(li.dataset.raised).getTime()));
    for (let i = 1; i < raised.length; i++) assert.ok(raised[i - 1] >= raised[i], 'the alert list is not newest first');
    await page.screenshot({ path: path.join(outDir, 'vessels-alert.png') });

    // 确认 from the panel.
    await row.locator('button.fire-ack-open').click();
    const form = row.locator('form.fire-ack-form');
    await form.waitFor({ state: 'visible', timeout: WAIT_MS });
    const { user } = await sessionFor(BASE);
    assert.equal(await form.locator('[data-field="by"]').textContent(), user.name, 'the acknowledger is the signed-in user');
    await form.locator('button[type="submit"]').click();
    assert.equal(await form.locator('[data-role="error"]').textContent(), '请填写处理说明');
    const note = `测试确认：已电话联系船主，渔船驶离禁航区 ${Date.now()}`;
    await form.locator('textarea[name="note"]').fill(note);
    await form.locator('button[type="submit"]').click();
    await page.locator(`#vessel-alert-list li[data-id="${id}"][data-state="acknowledged"]`).waitFor({ timeout: WAIT_MS });
    const { alerts: done } = await api('/api/vessels/alerts?state=acknowledged&limit=1000');
    const acked = done.find((a) => String(a.id) === id);
    assert.ok(acked, `alert ${id} is not acknowledged in /api/vessels/alerts`);
    assert.equal(acked.acked_by, user.name);
    assert.equal(acked.note, note);
    assert.ok(acked.acked_at, 'no acked_at');
    assert.ok((await page.textContent(`#vessel-alert-list li[data-id="${id}"] [data-field="ack"]`)).includes(note), 'the row does not show the note');
    const { alerts: stillOpen } = await api('/api/vessels/alerts?state=open&limit=1000');
    assert.ok(!stillOpen.some((a) => String(a.id) === id), 'the alert is still open');
  });

  it('the search finds a boat by MMSI and opens its card', async () => {
    const { boat } = departed;
    await page.fill('#vessel-search', String(boat.mmsi));
    const hit = page.locator(`#vessel-search-results li[data-mmsi="${boat.mmsi}"] button`);
    await hit.waitFor({ timeout: WAIT_MS });
    // Another boat's card first, then this one's from the search.
    await page.click('#vessel-card-close');
    assert.ok(await page.isHidden('#vessel-card'));
    await hit.click();
    await page.locator(`#vessel-card[data-loaded="${boat.mmsi}"]`).waitFor({ timeout: WAIT_MS });
    assert.equal(await page.textContent('#vessel-card [data-field="mmsi"]'), String(boat.mmsi));
    await page.waitForFunction((mmsi) => document.getElementById('vessel-track-info').dataset.mmsi === String(mmsi) && Number(document.getElementById('vessel-track-info').dataset.vertices) >= 2, boat.mmsi, { timeout: WAIT_MS });
  });

  it('works in the dark style: layers, boats, track and panel follow', async () => {
    await page.click('[data-theme-choice="dark"]');
    await page.waitForFunction(() => window.onemap.map.getStyle()?.metadata?.['onemap:theme'] === 'dark', null, { timeout: WAIT_MS });
    await page.evaluate((c) => window.onemap.map.jumpTo({ center: c, zoom: 11 }), departed.sea);
    await idle();
    const seen = await page.evaluate((mmsi) => {
      const map = window.onemap.map;
      const panel = document.getElementById('vessels-panel');
      return {
        visibility: ['vessel-boats-point', 'vessel-harbours-point', 'vessel-zones-fill', 'vessel-track-line'].map((id) => map.getLayoutProperty(id, 'visibility')),
        boat: map.queryRenderedFeatures({ layers: ['vessel-boats-point'] }).some((f) => f.properties.mmsi === String(mmsi)),
        track: map.getSource('vessel-track').serialize().data.features.length,
        colour: JSON.stringify(map.getPaintProperty('vessel-boats-point', 'circle-color')),
        hatch: map.hasImage('vessel-hatch-dark') || !map.queryRenderedFeatures({ layers: ['vessel-zones-fill'] }).length,
        inPort: panel.style.getPropertyValue('--vs-in_port'),
        open: !panel.hidden,
        card: document.getElementById('vessel-card').dataset.loaded,
      };
    }, departed.boat.mmsi);
    assert.deepEqual(seen.visibility, ['visible', 'visible', 'visible', 'visible']);
    assert.ok(seen.boat, 'the boat is not drawn in the dark style');
    assert.equal(seen.track, 1, 'the track is not carried into the dark style');
    assert.ok(seen.colour.includes(PALETTES.dark.state.fishing), `the boats keep the light palette: ${seen.colour}`);
    assert.ok(seen.hatch, 'the zones\' dark hatch was not made');
    assert.equal(seen.inPort, PALETTES.dark.state.in_port, 'the panel keeps the light palette');
    assert.ok(seen.open);
    assert.equal(seen.card, String(departed.boat.mmsi));
    await checkLegend();
    await page.screenshot({ path: path.join(outDir, 'vessels-dark.png') });
  });

  it('asked for nothing outside the server, and nothing failed', () => {
    assert.deepEqual(foreign, [], 'requests to other hosts');
    assert.deepEqual(consoleErrors, [], 'console errors');
    assert.deepEqual(httpErrors, [], 'failed requests');
    const paths = requests.map((u) => new URL(u));
    for (const want of [/^\/tiles\/harbours\/\d+\/\d+\/\d+/, /^\/tiles\/vessel-zones\/\d+\/\d+\/\d+/, /^\/api\/vessels$/, /^\/api\/harbours$/, /^\/api\/vessels\/alerts$/, /^\/api\/vessels\/events$/, /^\/api\/vessels\/\d+$/, /^\/api\/vessels\/\d+\/track$/]) {
      assert.ok(paths.some((u) => want.test(u.pathname)), `never requested ${want}`);
    }
    const streams = paths.filter((u) => u.pathname === '/api/stream');
    assert.ok(streams.some((u) => (u.searchParams.get('topics') || '').split(',').sort().join(',') === 'alerts,vessels'), 'no vessels+alerts stream');
  });
});
