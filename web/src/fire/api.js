// The fire endpoints (docs/FIRE.md), same origin, through the client's one request helper: every
// failure is an ApiError with a message in Chinese that can be shown as is.

import { requestJson } from '../api.js';

/** `GET /api/fire/coverage?area=&radius=`: sites, villages, isolated hydrants and totals. */
export function fireCoverage(area, { radiusM, signal } = {}) {
  return requestJson('GET', '/api/fire/coverage', { params: { area, radius: radiusM }, signal });
}

/** `GET /api/fire/nearest?lon=&lat=&k=`: in-service hydrants and water sources, nearest first. */
export function nearestWater(lon, lat, { k = 5, signal } = {}) {
  return requestJson('GET', '/api/fire/nearest', { params: { lon, lat, k }, signal });
}

/** `GET /api/fire/sensors?area=`: the area's sensors with their states. */
export function fireSensors(area, { signal } = {}) {
  return requestJson('GET', '/api/fire/sensors', { params: { area }, signal });
}

/** `GET /api/fire/alerts?state=&area=&limit=`: alerts, newest first. */
export function fireAlerts(area, { state = 'open', limit = 100, signal } = {}) {
  return requestJson('GET', '/api/fire/alerts', { params: { area, state, limit }, signal });
}

/** `POST /api/fire/alerts/{id}/ack` `{by, note}`: the acknowledged alert (409 the second time). */
export function acknowledgeAlert(id, { by, note }, { signal } = {}) {
  return requestJson('POST', `/api/fire/alerts/${encodeURIComponent(id)}/ack`, { body: { by, note }, signal });
}
