// The onemap JSON API, same origin. Every failure becomes an ApiError with a message in Chinese
// that can be shown as is.

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

/** Who makes a change (`X-Onemap-User`, until access control replaces it); see docs/PROFILES.md. */
export function userHeader() {
  let user = '';
  try {
    user = localStorage.getItem('onemap.user') || '';
  } catch {
    // storage may be unavailable: the server then records 匿名
  }
  user = user.trim();
  if (!user) return {};
  // fetch() takes header values as byte strings (one character per byte, none above U+00FF): a
  // Chinese name goes as its UTF-8 bytes, which the server reads as UTF-8.
  return { 'x-onemap-user': String.fromCharCode(...new TextEncoder().encode(user)) };
}

function apiUrl(path, params = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  return url;
}

/** Any request to the API; the answer's JSON, or an ApiError with a message that can be shown. */
export async function requestJson(method, path, { params = {}, body, signal, headers = {} } = {}) {
  const init = { method, signal, headers: { accept: 'application/json', ...headers } };
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
  let answer = null;
  try {
    answer = await res.json();
  } catch {
    // fall through: handled below
  }
  if (!res.ok) {
    const message = answer?.error?.message || `服务器返回错误 ${res.status}`;
    throw new ApiError(message, { status: res.status, code: answer?.error?.code || 'http', body: answer });
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
  return requestJson('PUT', `${areaPath(code)}/profile`, { body: { version, introduction, note }, signal, headers: userHeader() });
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
    headers: userHeader(),
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
      headers: {
        accept: format === 'xlsx' ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv',
        'content-type': 'application/json',
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
    throw new ApiError(answer?.error?.message || `服务器返回错误 ${res.status}`, { status: res.status, code: answer?.error?.code || 'http', body: answer });
  }
  return res;
}
