// The API calls of the big screen, same origin. Failures throw an Error with a Chinese message.

async function getJson(path, params = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  let res;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' } });
  } catch {
    throw new Error('无法连接服务器');
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message || `服务器返回错误 ${res.status}`);
  if (body === null) throw new Error('服务器返回的数据无法解析');
  return body;
}

export const areaDetail = (code, geometry = false) => getJson(`/api/areas/${encodeURIComponent(code)}`, geometry ? { geometry: 'true' } : {});
export const statsTop = (q) => getJson('/api/stats/top', q);
export const statsTrend = (q) => getJson('/api/stats/trend', { interval: 'day', ...q });
export const statsAreas = (q) => getJson('/api/stats/areas', q);
export const latestEvents = (area, limit) => getJson('/api/events', { area, limit });
