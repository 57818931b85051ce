// What the browser tests share: Debian's Chromium (never a downloaded browser) launched headless
// with software WebGL, a guard on a browser context that refuses and records requests to any
// other host and collects failed requests, and the signed-in session every page and request
// needs (see "signing in" below).

import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-gl=swiftshader',
  '--enable-unsafe-swiftshader',
];

/** Launches Debian's Chromium for a test. */
export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/**
 * Routes every request of `context`: each URL is appended to `lists.requests` (if given); a
 * request to another host than `host` is refused and appended to `lists.foreign`; responses of
 * 400 and above and failed requests go to `lists.errors` — except MapLibre's cancellations of
 * tiles it no longer needs (ERR_ABORTED) and our own refusals.
 */
export async function guard(context, host, { requests = [], foreign = [], errors = [] } = {}) {
  await context.route('**/*', (route) => {
    const url = route.request().url();
    requests.push(url);
    const u = new URL(url);
    if ((u.protocol === 'http:' || u.protocol === 'https:') && u.host !== host) {
      foreign.push(url);
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  context.on('response', (res) => {
    if (res.status() >= 400) errors.push(`${res.status()} ${res.url()}`);
  });
  context.on('requestfailed', (req) => {
    const text = req.failure()?.errorText;
    if (text === 'net::ERR_ABORTED' || text === 'net::ERR_BLOCKED_BY_CLIENT') return;
    if (!foreign.includes(req.url())) errors.push(`failed ${req.url()} (${text})`);
  });
  return { requests, foreign, errors };
}

// --- signing in (issue #14) ----------------------------------------------------------------------
// Every /api and /tiles request needs a signed-in caller. The tests sign in once per server (as
// the demo account `city`, 莆田市's administrator, which the test servers have through
// --demo-accounts), put the session's cookies into every browser context (`signInContext`) and
// send them with their own requests from Node (`authFetch`: the cookies, and the CSRF header on
// anything but GET).

/** The demo account the tests use unless they say otherwise: the whole city. */
export const TEST_ACCOUNT = { name: 'city', password: 'demo-city' };

const sessions = new Map(); // origin → Promise<session>

/** `name=value` pairs of the answer's Set-Cookie headers, with the attributes Playwright wants. */
function parseSetCookies(res) {
  return res.headers.getSetCookie().map((line) => {
    const [pair, ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    const cookie = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), httpOnly: false, sameSite: 'Lax' };
    for (const a of attrs) {
      const [k, v = ''] = a.split('=');
      const key = k.trim().toLowerCase();
      if (key === 'httponly') cookie.httpOnly = true;
      else if (key === 'samesite') cookie.sameSite = v.trim()[0].toUpperCase() + v.trim().slice(1).toLowerCase();
      else if (key === 'path') cookie.path = v.trim();
    }
    return cookie;
  });
}

/**
 * `POST /api/auth/login` at `base` (the server may still be loading: 503 is waited out); resolves
 * with `{base, user, csrf, cookies}`. Throws with the server's answer when refused.
 */
export async function signIn(base, account = TEST_ACCOUNT) {
  const origin = new URL(base).origin;
  for (const until = Date.now() + 180_000; ; ) {
    let res = null;
    try {
      res = await fetch(`${origin}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ name: account.name, password: account.password }),
      });
    } catch {
      // not listening yet
    }
    if (res?.status === 200) {
      const body = await res.json();
      const cookies = parseSetCookies(res);
      if (!cookies.some((c) => c.name === 'onemap_session')) throw new Error(`POST /api/auth/login set no onemap_session cookie: ${res.headers.getSetCookie().join(' | ')}`);
      // The header must equal the readable cookie; the body says the same.
      const csrf = cookies.find((c) => c.name === 'onemap_csrf')?.value || body.csrf;
      return { base: origin, user: body.user, csrf, cookies };
    }
    if (res && res.status !== 503) throw new Error(`POST /api/auth/login as ${account.name} answered ${res.status}: ${await res.text()}`);
    if (Date.now() > until) throw new Error(`POST /api/auth/login at ${origin} did not answer within 180 s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** An account's session at `base` (the test account's by default), signed in once per process. */
export function sessionFor(base, account = TEST_ACCOUNT) {
  const key = `${new URL(base).origin} ${account.name}`;
  if (!sessions.has(key)) {
    const p = signIn(base, account);
    p.catch(() => sessions.delete(key));
    sessions.set(key, p);
  }
  return sessions.get(key);
}

/** Puts an account's session cookies for `base` (the test account's by default) into a browser context. */
export async function signInContext(context, base, account = TEST_ACCOUNT) {
  const session = await sessionFor(base, account);
  await context.addCookies(session.cookies.map((c) => ({ name: c.name, value: c.value, url: session.base, httpOnly: c.httpOnly, sameSite: c.sameSite })));
  return session;
}

/**
 * `fetch` as the signed-in test account: the session cookie, and `X-CSRF-Token` on anything but
 * GET and HEAD. A 401 (a server restarted with its sessions gone) signs in again, once.
 */
export async function authFetch(url, init = {}) {
  const origin = new URL(url).origin;
  for (let attempt = 0; ; attempt++) {
    const session = await sessionFor(origin);
    const headers = new Headers(init.headers || {});
    headers.set('cookie', session.cookies.map((c) => `${c.name}=${c.value}`).join('; '));
    const method = (init.method || 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') headers.set('x-csrf-token', session.csrf);
    const res = await fetch(url, { ...init, headers });
    if (res.status !== 401 || attempt > 0) return res;
    sessions.delete(`${origin} ${TEST_ACCOUNT.name}`);
  }
}
