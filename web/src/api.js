// The onemap JSON API, same origin. Every failure becomes an ApiError with a message in Chinese
// that can be shown as is.

export class ApiError extends Error {
  constructor(message, { status = 0, code = 'network' } = {}) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function getJson(path, params = {}, { signal } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  let res;
  try {
    res = await fetch(url, { signal, headers: { accept: 'application/json' } });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError('无法连接服务器，请检查网络或服务状态');
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    // fall through: handled below
  }
  if (!res.ok) {
    const message = body?.error?.message || `服务器返回错误 ${res.status}`;
    throw new ApiError(message, { status: res.status, code: body?.error?.code || 'http' });
  }
  if (body === null) throw new ApiError('服务器返回的数据无法解析', { status: res.status, code: 'parse' });
  return body;
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
