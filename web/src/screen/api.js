// The API calls of the big screen, same origin, through the client's one request helper
// (src/api.js: the session's CSRF header, the login page on 401): failures throw an ApiError
// with a Chinese message.

import { requestJson } from '../api.js';

const getJson = (path, params = {}) => requestJson('GET', path, { params });

export const areaDetail = (code, geometry = false) => getJson(`/api/areas/${encodeURIComponent(code)}`, geometry ? { geometry: 'true' } : {});
export const statsTop = (q) => getJson('/api/stats/top', q);
export const statsTrend = (q) => getJson('/api/stats/trend', { interval: 'day', ...q });
export const statsAreas = (q) => getJson('/api/stats/areas', q);
export const latestEvents = (area, limit) => getJson('/api/events', { area, limit });
