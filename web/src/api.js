// The onemap JSON API, same origin: every request of every page goes through requestJson (or
// downloadLedger) here. Every failure becomes an ApiError with a message in Chinese that can be
// shown as is. Access control (docs/ACCESS.md, README "Sign-in"): the session travels in the
// HttpOnly cookie `onemap_session`, which the browser sends by itself; every state-changing
// request carries `X-CSRF-Token` with the value of the readable `onemap_csrf` cookie; an answer
// of 401 `unauthenticated` sends the page to /login.html?next=<where it was>.

export class ApiError extends Error {
  constructor(message, { status = 0, code = 'network', body = null } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    /** The whole error answer (`{"error": {code, message, details?, current_version?}}`), if any. */
    this.body = body;
  }

  /** The `error` object of the answer: `details`, `current_version` … */
  get error() {
    return this.body?.error || null;
  }
}

function apiUrl(path, params = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  return url;
}

export const CSRF_COOKIE = 'onemap_csrf';
export const CSRF_HEADER = 'x-csrf-token';
export const LOGIN_PAGE = '/login.html';

/** The value of a cookie the page can read (`onemap_csrf`), or ''. */
export function readCookie(name, cookies = typeof document === 'undefined' ? '' : document.cookie) {
  for (const part of cookies.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return part.slice(eq + 1).trim();
    }
  }
  return '';
}

/** The headers a request needs beyond its own: the CSRF token on anything but GET and HEAD. */
function sessionHeaders(method) {
  if (method === 'GET' || method === 'HEAD') return {};
  const token = readCookie(CSRF_COOKIE);
  return token ? { [CSRF_HEADER]: token } : {};
}

/** The login page's address that comes back here afterwards (path, query and hash). */
export function loginUrl(next = `${window.location.pathname}${window.location.search}${window.location.hash}`) {
  return next && next !== '/' ? `${LOGIN_PAGE}?next=${encodeURIComponent(next)}` : LOGIN_PAGE;
}

let leaving = false;

/**
 * Sends the page to the login page (once) and returns a promise that never settles: whatever
 * waited for the answer stays quiet while the browser leaves, instead of showing an error.
 */
export function goToLogin() {
  if (!leaving) {
    leaving = true;
    window.location.assign(loginUrl());
  }
  return new Promise(() => {});
}

/** An ApiError from an answer that is not 2xx, with the body's `error` if it is JSON. */
function answerError(res, answer) {
  const message = answer?.error?.message || `服务器返回错误 ${res.status}`;
  return new ApiError(message, { status: res.status, code: answer?.error?.code || 'http', body: answer });
}

/** True for the answer that means "not signed in (any more)". */
function unauthenticated(res, answer) {
  return res.status === 401 && (answer?.error?.code || 'unauthenticated') === 'unauthenticated';
}

/**
 * Any request to the API; the answer's JSON (null for 204), or an ApiError with a message that
 * can be shown. A 401 `unauthenticated` goes to the login page and never settles, unless
 * `toLogin` is false (the login page itself, logout), when it throws like any other error.
 */
export async function requestJson(method, path, { params = {}, body, signal, headers = {}, toLogin = true } = {}) {
  const init = { method, signal, credentials: 'same-origin', headers: { accept: 'application/json', ...sessionHeaders(method), ...headers } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(apiUrl(path, params), init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError('无法连接服务器，请检查网络或服务状态');
  }
  if (res.status === 204) return null;
  let answer = null;
  try {
    answer = await res.json();
  } catch {
    // fall through: handled below
  }
  if (!res.ok) {
    if (toLogin && unauthenticated(res, answer)) return goToLogin();
    throw answerError(res, answer);
  }
  if (answer === null) throw new ApiError('服务器返回的数据无法解析', { status: res.status, code: 'parse' });
  return answer;
}

function getJson(path, params = {}, { signal } = {}) {
  return requestJson('GET', path, { params, signal });
}

/** `GET /api/areas?q=&limit=`: areas whose name contains q or whose code starts with it. */
export function searchAreas(q, { limit = 10, signal } = {}) {
  return getJson('/api/areas', { q, limit }, { signal });
}

/** `GET /api/areas?parent=`: the children of an area. */
export function childAreas(parent, { limit = 200, signal } = {}) {
  return getJson('/api/areas', { parent, limit }, { signal });
}

/** `GET /api/areas?level=`: e.g. the city itself. */
export function areasOfLevel(level, { limit = 10, signal } = {}) {
  return getJson('/api/areas', { level, limit }, { signal });
}

/** `GET /api/areas/{code}`, with the GeoJSON geometry if asked. */
export function areaDetail(code, { geometry = false, signal } = {}) {
  return getJson(`/api/areas/${encodeURIComponent(code)}`, geometry ? { geometry: 'true' } : {}, { signal });
}

/** `GET /api/assign?lon=&lat=`: the unit and chain covering a point, or the nearest grid. */
export function assignPoint(lon, lat, { toleranceM = 500, signal } = {}) {
  return getJson('/api/assign', { lon, lat, tolerance_m: toleranceM }, { signal });
}

/** `GET /api/stats/areas?level=&category=&from=&to=`: event counts per area of one level. */
export function eventStatsByArea(level, { category, from, to, parent, signal } = {}) {
  return getJson('/api/stats/areas', { level, category, from, to, parent }, { signal });
}

/** `GET /api/hotspots?category=&from=&to=`: the densest event clusters, ranked. */
export function eventHotspots({ category, from, to, signal } = {}) {
  return getJson('/api/hotspots', { category, from, to }, { signal });
}

/** `GET /api/events/{id}`: one event with its description, chain, deadline and history. */
export function eventDetail(id, { signal } = {}) {
  return getJson(`/api/events/${encodeURIComponent(id)}`, {}, { signal });
}

// --- profiles (一村一档) and ledgers (一张表): docs/PROFILES.md ----------------------------------

const areaPath = (code) => `/api/areas/${encodeURIComponent(code)}`;

/** `GET /api/areas/{code}/profile[?version=N]`: a town's or village's profile (404: none). */
export function areaProfile(code, { version, signal } = {}) {
  return getJson(`${areaPath(code)}/profile`, { version }, { signal });
}

/** `PUT /api/areas/{code}/profile` `{version, introduction, note}`: the new profile, or 409/400. */
export function saveProfile(code, { version, introduction, note }, { signal } = {}) {
  return requestJson('PUT', `${areaPath(code)}/profile`, { body: { version, introduction, note }, signal });
}

/** `GET /api/areas/{code}/profile/history`: the versions, newest first. */
export function profileHistory(code, { signal } = {}) {
  return getJson(`${areaPath(code)}/profile/history`, {}, { signal });
}

/** `GET /api/areas/{code}/profile/diff?from=&to=`: what changed between two versions. */
export function profileDiff(code, from, to, { signal } = {}) {
  return getJson(`${areaPath(code)}/profile/diff`, { from, to }, { signal });
}

/** `GET /api/areas/{code}/profile/figures`: the event figures of the profile page. */
export function profileFigures(code, { signal } = {}) {
  return getJson(`${areaPath(code)}/profile/figures`, {}, { signal });
}

/** `GET /api/areas/{code}/{list}` for list development | problems | tasks. */
export function profileList(code, list, { signal } = {}) {
  return getJson(`${areaPath(code)}/${list}`, {}, { signal });
}

/** `POST /api/areas/{code}/problems/{id}/promote` `{to, title?}`: the new item. */
export function promoteProblem(code, id, to, { title, signal } = {}) {
  return requestJson('POST', `${areaPath(code)}/problems/${encodeURIComponent(id)}/promote`, {
    body: title ? { to, title } : { to },
    signal,
  });
}

/** `GET /api/ledgers`: the ledgers with their fields. */
export function ledgers({ signal } = {}) {
  return getJson('/api/ledgers', {}, { signal });
}

/** `POST /api/ledgers/{name}/query` with format json: one page of rows. */
export function queryLedger(name, query, { signal } = {}) {
  return requestJson('POST', `/api/ledgers/${encodeURIComponent(name)}/query`, { body: { ...query, format: 'json' }, signal });
}

/**
 * `POST /api/ledgers/{name}/query` with format csv (or xlsx): the raw Response (streamed), or an ApiError
 * for an answer that is not 200.
 */
export async function downloadLedger(name, query, { signal, format = 'csv' } = {}) {
  let res;
  try {
    res = await fetch(apiUrl(`/api/ledgers/${encodeURIComponent(name)}/query`), {
      method: 'POST',
      signal,
      credentials: 'same-origin',
      headers: {
        accept: format === 'xlsx' ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv',
        'content-type': 'application/json',
        ...sessionHeaders('POST'),
      },
      body: JSON.stringify({ ...query, format }),
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError('无法连接服务器，请检查网络或服务状态');
  }
  if (!res.ok) {
    let answer = null;
    try {
      answer = await res.json();
    } catch {
      // not JSON
    }
    if (unauthenticated(res, answer)) return goToLogin();
    throw answerError(res, answer);
  }
  return res;
}

// --- access control (issue #14) ----------------------------------------------------------------

/** `GET /api/auth/me`: `{user, csrf}`; not signed in: to the login page (see requestJson). */
export function currentUser({ signal, toLogin = true } = {}) {
  return requestJson('GET', '/api/auth/me', { signal, toLogin });
}

/** `POST /api/auth/login` `{name, password}`: `{user, csrf}` and the session cookies, or 401/429. */
export function login(name, password, { signal } = {}) {
  return requestJson('POST', '/api/auth/login', { body: { name, password }, signal, toLogin: false });
}

/** `POST /api/auth/logout`: 204, the cookies cleared. */
export function logout({ signal } = {}) {
  return requestJson('POST', '/api/auth/logout', { signal, toLogin: false });
}

/** `GET /api/auth/demo-accounts`: `{accounts}` in demo mode, else a 404 ApiError. */
export function demoAccounts({ signal } = {}) {
  return requestJson('GET', '/api/auth/demo-accounts', { signal, toLogin: false });
}

let checking = null;

/**
 * After a request the page cannot read the status of was refused — the live stream (an
 * EventSource) given up, a tile answered 401 — asks `/api/auth/me`, which goes to the login page
 * on 401. Anything else (the server down or starting) is the caller's business: it retries. One
 * question at a time, however many tiles failed.
 */
export function checkSignedIn() {
  if (typeof window === 'undefined' || typeof fetch === 'undefined') return Promise.resolve();
  if (!checking) {
    checking = currentUser()
      .catch(() => {
        // not reachable: the stream's backoff, the map's next tiles
      })
      .finally(() => {
        checking = null;
      });
  }
  return checking;
}
