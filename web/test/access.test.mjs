// Access control in the client (issue #14), in headless Debian Chromium against a real onemap
// server run with --demo-accounts (ONEMAP_URL; scripts/test starts one): an anonymous visit goes
// to the login page and comes back after signing in; the login page lists the demo accounts and
// fills the form from them; a village's leader sees their village only; a wrong password shows
// the server's message; 退出 ends the session on the server; and no page trips the server's
// Content-Security-Policy or asks another host for anything. The pure parts (where the login page
// may go afterwards, reading the CSRF cookie) are checked in Node first.
//
// Screenshots go to web/test-output/access-*.png (ignored by git).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { authFetch, guard, launch, signIn, signInContext } from './chromium.mjs';
import { safeNext } from '../src/login/next.js';
import { readCookie } from '../src/api.js';
import { openStream } from '../src/screen/stream.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, '../test-output');
const BASE = process.env.ONEMAP_URL?.replace(/\/+$/, '');
const WAIT_MS = 90_000;
const VILLAGE_CODE = '350304100001'; // 东星社区 (demo city, seed 3503): has a profile
/** The demo accounts scripts/test's server has (--demo-accounts), by name. */
const DEMO_NAMES = ['city', 'district', 'town', 'village', 'grid', 'analyst', 'screen'];
const CJK = /[\u4e00-\u9fff]/;

describe('access control: pure parts', () => {
  it('goes on only to a path of this origin after signing in', () => {
    const origin = 'http://127.0.0.1:8080';
    assert.equal(safeNext('/?area=350304#12/25.4/119.0', origin), '/?area=350304#12/25.4/119.0');
    assert.equal(safeNext('/profile/350304100001', origin), '/profile/350304100001');
    assert.equal(safeNext('/screen/350304?rotate=0', origin), '/screen/350304?rotate=0');
    for (const bad of [null, undefined, '', 'profile/1', 'http://evil.example/', 'https://127.0.0.1:8080/', '//evil.example/x', '/\\evil.example', '/\t/evil.example', 'javascript:alert(1)', '/login.html', '/login.html?next=/']) {
      assert.equal(safeNext(bad, origin), '/', `next=${JSON.stringify(bad)}`);
    }
  });

  it('reads the CSRF cookie among others', () => {
    assert.equal(readCookie('onemap_csrf', 'a=1; onemap_csrf=tok%2Ben; onemap.theme=dark'), 'tok+en');
    assert.equal(readCookie('onemap_csrf', 'onemap_csrf=abc'), 'abc');
    assert.equal(readCookie('onemap_csrf', 'x_onemap_csrf=abc'), '');
    assert.equal(readCookie('onemap_csrf', ''), '');
  });
});

describe('access control: the stream', () => {
  it('asks whether the session is still there when the browser gives up on the stream, not before', () => {
    // An EventSource refused with 401 ends CLOSED (checked in Chromium below); the browser's own
    // reconnect (CONNECTING) is no reason to ask.
    const made = [];
    class FakeEventSource {
      static CONNECTING = 0;
      static CLOSED = 2;
      constructor(url) {
        this.url = url;
        this.readyState = 0;
        made.push(this);
      }
      addEventListener() {}
      close() {
        this.readyState = 2;
      }
    }
    const saved = globalThis.EventSource;
    globalThis.EventSource = FakeEventSource;
    let asked = 0;
    try {
      const stream = openStream({ topics: ['events'], handlers: {}, onState: () => {}, onRefused: () => asked++ });
      made[0].readyState = FakeEventSource.CONNECTING;
      made[0].onerror({});
      assert.equal(asked, 0, 'asked while the browser reconnects by itself');
      made[0].readyState = FakeEventSource.CLOSED;
      made[0].onerror({});
      assert.equal(asked, 1);
      stream.close();
    } finally {
      globalThis.EventSource = saved;
    }
  });
});

describe('access control in headless Chromium', { timeout: 15 * 60_000 }, () => {
  let browser;
  let host;
  let demo = [];
  let loginStatus = 0;

  before(async () => {
    assert.ok(BASE, 'ONEMAP_URL is not set: run through scripts/test, or point ONEMAP_URL at a running onemap server');
    host = new URL(BASE).host;
    fs.mkdirSync(outDir, { recursive: true });
    let ready = await fetch(`${BASE}/readyz`).catch(() => null);
    for (const until = Date.now() + 300_000; ready?.status !== 200 && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 1000));
      ready = await fetch(`${BASE}/readyz`).catch(() => null);
    }
    assert.equal(ready?.status, 200, `${BASE}/readyz did not answer 200`);
    const res = await fetch(`${BASE}/api/auth/demo-accounts`);
    assert.equal(res.status, 200, `GET /api/auth/demo-accounts answered ${res.status}: is the server running with --demo-accounts?`);
    demo = (await res.json()).accounts;
    loginStatus = (await fetch(`${BASE}/login.html`)).status;
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
  });

  const account = (name) => {
    const a = demo.find((d) => d.name === name);
    assert.ok(a, `no demo account ${name}`);
    return a;
  };

  /**
   * A fresh context (anonymous unless `signedIn`), guarded: other hosts refused, failed requests
   * and console errors collected, CSP violations recorded in the page (securitypolicyviolation).
   */
  async function open({ signedIn = false } = {}) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'zh-CN', deviceScaleFactor: 1 });
    const lists = { requests: [], foreign: [], errors: [] };
    await guard(context, host, lists);
    if (signedIn) await signInContext(context, BASE);
    // Runs before the page's own scripts, outside its CSP (Playwright injects it).
    await context.addInitScript(() => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
    });
    const page = await context.newPage();
    const consoleErrors = [];
    const cspConsole = [];
    page.on('console', (msg) => {
      if (/Content Security Policy|Content-Security-Policy/i.test(msg.text())) cspConsole.push(msg.text());
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
    return { context, page, ...lists, consoleErrors, cspConsole, close: () => context.close() };
  }

  /** The tests that use the login page fail at once, and say why, when the server has none. */
  function needLoginPage() {
    assert.equal(loginStatus, 200, `GET /login.html answered ${loginStatus}: the server does not serve the login page (web/dist/login.html)`);
  }

  async function signInThroughForm(page, name) {
    await page.locator(`#demo-rows tr[data-name="${name}"] button[data-action="fill"]`).click();
    assert.equal(await page.inputValue('#login-name'), name);
    assert.equal(await page.inputValue('#login-password'), account(name).password);
    await page.click('#login-submit');
  }

  it('sends an anonymous visit to the login page, which remembers where it was going', async () => {
    const s = await open();
    try {
      const target = '/?test=1&style=light&area=350304100001';
      await s.page.goto(`${BASE}${target}`);
      await s.page.waitForURL((u) => u.pathname === '/login.html', { timeout: WAIT_MS });
      const url = new URL(s.page.url());
      assert.equal(url.searchParams.get('next'), target);
      // The map never started: it waited for /api/auth/me, which said 401.
      assert.equal(s.requests.filter((u) => /\/tiles\//.test(new URL(u).pathname)).length, 0, 'an anonymous page asked for tiles');
      // The other pages go there too.
      for (const page of ['/ledger', `/profile/${VILLAGE_CODE}`, '/screen?rotate=0']) {
        await s.page.goto(`${BASE}${page}`);
        await s.page.waitForURL((u) => u.pathname === '/login.html', { timeout: WAIT_MS });
        assert.equal(new URL(s.page.url()).searchParams.get('next'), page);
      }
      assert.deepEqual(s.foreign, []);
    } finally {
      await s.close();
    }
  });

  it('lists the demo accounts on the login page', async () => {
    needLoginPage();
    const s = await open();
    try {
      await s.page.goto(`${BASE}/login.html`);
      await s.page.waitForFunction(() => window.onemapLogin?.ready === true, null, { timeout: WAIT_MS });
      assert.equal(await s.page.isVisible('#demo-accounts'), true, 'the demo accounts are hidden');
      const rows = await s.page.$$eval('#demo-rows tr', (trs) =>
        trs.map((tr) => Object.fromEntries([...tr.querySelectorAll('[data-field]')].map((td) => [td.dataset.field, td.textContent]))),
      );
      assert.deepEqual(
        rows.map((r) => r.name),
        demo.map((a) => a.name),
      );
      for (const name of DEMO_NAMES) assert.ok(rows.some((r) => r.name === name), `${name} is not listed`);
      for (const [i, r] of rows.entries()) {
        assert.equal(r.password, demo[i].password);
        assert.equal(r.role, demo[i].role_name);
        assert.equal(r.scope, demo[i].scope_name);
      }
      assert.deepEqual(await s.page.$$eval('table.login-demo-table thead th', (ths) => ths.map((t) => t.textContent).filter(Boolean)), ['账号', '密码', '角色', '范围']);
      await s.page.screenshot({ path: path.join(outDir, 'access-login.png') });
      assert.deepEqual(s.consoleErrors, []);
      assert.deepEqual(s.errors, []);
    } finally {
      await s.close();
    }
  });

  it('signs a village leader in through the form: the map, the user, and only the village', async () => {
    needLoginPage();
    const village = account('village');
    const s = await open();
    /** Every `/api/areas` list the page loaded, with the codes it held. */
    const lists = [];
    s.page.on('response', async (res) => {
      const u = new URL(res.url());
      if (u.pathname !== '/api/areas' || res.status() !== 200) return;
      try {
        lists.push({ url: `${u.pathname}${u.search}`, codes: ((await res.json()).areas || []).map((a) => a.code) });
      } catch {
        // a body that went with its page
      }
    });
    try {
      await s.page.goto(`${BASE}/?test=1&style=light`);
      await s.page.waitForURL((u) => u.pathname === '/login.html', { timeout: WAIT_MS });
      await s.page.waitForFunction(() => window.onemapLogin?.ready === true, null, { timeout: WAIT_MS });
      await signInThroughForm(s.page, 'village');
      await s.page.waitForURL((u) => u.pathname === '/' && u.searchParams.get('test') === '1', { timeout: WAIT_MS });
      await s.page.waitForFunction(() => window.onemap?.started === true, null, { timeout: WAIT_MS });

      // The header: name, role, scope, 退出.
      const box = s.page.locator('#userbox');
      assert.equal(await box.isVisible(), true);
      assert.equal(await box.locator('[data-field="user-name"]').textContent(), 'village');
      assert.equal(await box.locator('[data-field="user-role"]').textContent(), village.role_name);
      assert.equal(await box.locator('[data-field="user-scope"]').textContent(), village.scope_name);
      assert.equal(await box.locator('button[data-action="logout"]').textContent(), '退出');

      // The session is the village's, and the map opened on it.
      const me = await s.page.evaluate(() => fetch('/api/auth/me').then((r) => r.json()));
      assert.equal(me.user.name, 'village');
      assert.equal(me.user.scope, village.scope);
      assert.equal(me.user.role, village.role);
      assert.equal(await s.page.textContent('#city-name'), village.scope_name);
      // The map opened on the village (its bbox in view), not on the city.
      const view = await s.page.evaluate(async (code) => {
        const area = await fetch(`/api/areas/${code}`).then((r) => r.json());
        const b = window.onemap.map.getBounds();
        const [w, so, e, n] = area.bbox;
        return { inside: b.contains([(w + e) / 2, (so + n) / 2]), zoom: window.onemap.map.getZoom() };
      }, village.scope);
      assert.ok(view.inside && view.zoom > 12, `the map did not open on the village: ${JSON.stringify(view)}`);

      // Lists of areas hold the village's subtree only: its children and what the search finds.
      await s.page.fill('#search', '网格');
      await s.page.locator('#search-results li').first().waitFor({ timeout: WAIT_MS });
      await s.page.fill('#search', '社区');
      await s.page.waitForFunction(() => !document.querySelector('#search-results').hidden, null, { timeout: WAIT_MS });
      await s.page.evaluate((code) => window.onemap.select(code), village.scope);
      await s.page.waitForFunction(() => document.querySelector('#panel')?.hidden === false, null, { timeout: WAIT_MS });
      await s.page.waitForTimeout(1000);
      assert.ok(lists.length > 0, 'the page loaded no area list');
      assert.ok(lists.some((l) => l.codes.length > 0), `every area list was empty: ${JSON.stringify(lists)}`);
      for (const l of lists) {
        const outside = l.codes.filter((c) => !c.startsWith(village.scope));
        assert.deepEqual(outside, [], `${l.url} lists areas outside ${village.scope}`);
      }
      await s.page.screenshot({ path: path.join(outDir, 'access-village.png') });
      assert.deepEqual(s.foreign, []);
      assert.deepEqual(s.consoleErrors.filter((t) => !/401/.test(t)), [], 'console errors after signing in');
    } finally {
      await s.close();
    }
  });

  it('shows the server\'s message for a wrong password', async () => {
    needLoginPage();
    const s = await open();
    try {
      await s.page.goto(`${BASE}/login.html`);
      await s.page.waitForFunction(() => window.onemapLogin?.ready === true, null, { timeout: WAIT_MS });
      await s.page.fill('#login-name', 'analyst');
      await s.page.fill('#login-password', 'not-the-password');
      const [answer] = await Promise.all([s.page.waitForResponse((r) => new URL(r.url()).pathname === '/api/auth/login'), s.page.click('#login-submit')]);
      assert.equal(answer.status(), 401);
      const body = await answer.json();
      assert.equal(body.error?.code, 'login_failed');
      await s.page.locator('#login-error').waitFor({ state: 'visible', timeout: WAIT_MS });
      const shown = await s.page.textContent('#login-error');
      assert.equal(shown, body.error.message);
      assert.match(shown, CJK, 'the message is not in Chinese');
      assert.equal(new URL(s.page.url()).pathname, '/login.html', 'the page moved on');
      assert.equal(await s.page.isEnabled('#login-submit'), true);
      await s.page.screenshot({ path: path.join(outDir, 'access-wrong-password.png') });
    } finally {
      await s.close();
    }
  });

  it('退出 ends the session: back to the login page, and the API says 401', async () => {
    needLoginPage();
    const s = await open();
    try {
      await s.page.goto(`${BASE}/login.html?next=${encodeURIComponent('/ledger')}`);
      await s.page.waitForFunction(() => window.onemapLogin?.ready === true, null, { timeout: WAIT_MS });
      await signInThroughForm(s.page, 'analyst');
      await s.page.waitForURL((u) => u.pathname === '/ledger', { timeout: WAIT_MS });
      await s.page.waitForFunction(() => window.onemapLedger?.ready === true, null, { timeout: WAIT_MS });
      assert.equal(await s.page.textContent('#userbox [data-field="user-name"]'), 'analyst');
      const cookie = (await s.context.cookies(BASE)).find((c) => c.name === 'onemap_session');
      assert.ok(cookie, 'no onemap_session cookie after signing in');
      assert.equal(cookie.httpOnly, true, 'the session cookie is readable by scripts');
      assert.equal(cookie.sameSite, 'Strict');

      const [logout] = await Promise.all([
        s.page.waitForResponse((r) => new URL(r.url()).pathname === '/api/auth/logout'),
        s.page.click('#userbox button[data-action="logout"]'),
      ]);
      assert.equal(logout.status(), 204);
      assert.ok(logout.request().headers()['x-csrf-token'], 'logout was sent without the CSRF header');
      await s.page.waitForURL((u) => u.pathname === '/login.html', { timeout: WAIT_MS });
      const after = await s.page.evaluate(() =>
        Promise.all(['/api/auth/me', '/api/areas?level=city'].map((p) => fetch(p).then(async (r) => [r.status, (await r.json())?.error?.code]))),
      );
      assert.deepEqual(after, [
        [401, 'unauthenticated'],
        [401, 'unauthenticated'],
      ]);
      // The old session itself is gone on the server, not only its cookie in this browser.
      const old = await fetch(`${BASE}/api/auth/me`, { headers: { cookie: `onemap_session=${cookie.value}` } });
      assert.equal(old.status, 401, 'the signed-out session still works');
    } finally {
      await s.close();
    }
  });

  it('a stream refused for want of a session ends CLOSED in Chromium (so the page asks /api/auth/me)', async () => {
    const s = await open();
    try {
      await s.page.goto(`${BASE}/login.html`);
      const seen = await s.page.evaluate(
        () =>
          new Promise((resolve) => {
            const es = new EventSource('/api/stream?topics=events');
            es.onerror = () => {
              resolve(es.readyState);
              es.close();
            };
          }),
      );
      assert.equal(seen, 2, 'the EventSource is not CLOSED after a 401');
      assert.ok(s.errors.some((e) => /^401 .*\/api\/stream/.test(e)), `the stream was not refused with 401: ${s.errors}`);
    } finally {
      await s.close();
    }
  });

  it('a tile refused after the session ended sends the map to the login page', async () => {
    // A session of its own, so that ending it leaves the other tests' alone.
    const own = await signIn(BASE, { name: 'district', password: account('district').password });
    const s = await open();
    try {
      await s.context.addCookies(own.cookies.map((c) => ({ name: c.name, value: c.value, url: own.base })));
      await s.page.goto(`${BASE}/?test=1&style=light`);
      await s.page.waitForFunction(() => window.onemap?.started === true && window.onemap.map.loaded(), null, { timeout: WAIT_MS });
      const out = await fetch(`${BASE}/api/auth/logout`, {
        method: 'POST',
        headers: { cookie: own.cookies.map((c) => `${c.name}=${c.value}`).join('; '), 'x-csrf-token': own.csrf },
      });
      assert.equal(out.status, 204);
      // New tiles only: a jump far into the district.
      await s.page.evaluate(() => window.onemap.map.jumpTo({ zoom: 15 }));
      await s.page.waitForURL((u) => u.pathname === '/login.html', { timeout: WAIT_MS });
      assert.ok(s.errors.some((e) => /^401 .*\/tiles\//.test(e)), `no tile was refused: ${s.errors}`);
      assert.ok(new URL(s.page.url()).searchParams.get('next')?.startsWith('/?test=1'), s.page.url());
    } finally {
      await s.close();
    }
  });

  it('refuses a state-changing request without the CSRF header (403 csrf), and the client sends it', async () => {
    const s = await open({ signedIn: true });
    try {
      await s.page.goto(`${BASE}/login.html`);
      const answers = await s.page.evaluate(async () => {
        const csrf = decodeURIComponent(/(?:^|;\s*)onemap_csrf=([^;]*)/.exec(document.cookie)?.[1] || '');
        const post = (headers) =>
          fetch('/api/ledgers/people/query', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ page: { size: 1, offset: 0 }, format: 'json' }) }).then(async (r) => [
            r.status,
            r.ok ? null : (await r.json())?.error?.code,
          ]);
        return { without: await post({}), wrong: await post({ 'x-csrf-token': 'wrong' }), right: await post({ 'x-csrf-token': csrf }), csrf: Boolean(csrf) };
      });
      assert.equal(answers.csrf, true, 'the onemap_csrf cookie is not readable');
      assert.deepEqual(answers.without, [403, 'csrf']);
      assert.deepEqual(answers.wrong, [403, 'csrf']);
      assert.equal(answers.right[0], 200, `with the token: ${JSON.stringify(answers.right)}`);
    } finally {
      await s.close();
    }
  });

  // The pages under the server's Content-Security-Policy: nothing refused, nothing from elsewhere.
  const PAGES = [
    { path: '/?test=1&style=light', ready: () => window.onemap?.started === true && window.onemap.map.loaded() },
    { path: `/profile/${VILLAGE_CODE}`, ready: () => window.onemapProfile?.ready === true },
    { path: '/ledger', ready: () => window.onemapLedger?.ready === true },
    { path: '/screen?rotate=0&test=1', ready: () => window.onemapScreen?.ready === true },
    { path: '/login.html', ready: () => window.onemapLogin?.ready === true },
  ];
  for (const p of PAGES) {
    it(`${p.path}: no CSP violation, nothing from another host`, async () => {
      if (p.path === '/login.html') needLoginPage();
      const s = await open({ signedIn: true });
      try {
        const res = await s.page.goto(`${BASE}${p.path}`);
        const csp = res.headers()['content-security-policy'] || '';
        assert.match(csp, /script-src 'self'/, `${p.path} came without the Content-Security-Policy: ${JSON.stringify(res.headers())}`);
        await s.page.waitForFunction(p.ready, null, { timeout: WAIT_MS });
        if (p.path.startsWith('/?')) {
          // The map's workers and the heat layer: open the 事件 panel and let it draw.
          await s.page.click('#btn-events');
          await s.page.waitForFunction(() => window.onemap.map.getLayoutProperty('events-heat', 'visibility') === 'visible', null, { timeout: WAIT_MS });
          await s.page.waitForFunction(() => window.onemap.map.loaded() && window.onemap.map.areTilesLoaded(), null, { timeout: WAIT_MS });
        }
        await s.page.waitForTimeout(500);
        assert.deepEqual(await s.page.evaluate(() => window.__csp), [], 'securitypolicyviolation events');
        assert.deepEqual(s.cspConsole, [], 'CSP messages in the console');
        assert.deepEqual(s.foreign, [], 'requests to other hosts');
        assert.deepEqual(s.consoleErrors, [], 'console errors');
        assert.deepEqual(s.errors, [], 'failed requests');
        if (p.path !== '/login.html') assert.equal(await s.page.textContent('#userbox [data-field="user-name"], #sc-user [data-field="user-name"]'), 'city');
      } finally {
        await s.close();
      }
    });
  }

  it('the signed-in test session works from Node too (the harness the other tests use)', async () => {
    const res = await authFetch(`${BASE}/api/auth/me`);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).user.name, 'city');
  });
});
