// The vessel endpoints (docs/VESSELS.md), same origin, through the client's one request helper:
// every failure is an ApiError with a message in Chinese that can be shown as is.

import { requestJson } from '../api.js';

/** The most boats one list answer holds (the API's limit). */
export const VESSELS_LIMIT = 100000;

/** `GET /api/vessels?limit=`: every boat with its state, and the counts per state. */
export function vesselList({ limit = VESSELS_LIMIT, signal } = {}) {
  return requestJson('GET', '/api/vessels', { params: { limit }, signal });
}

/** `GET /api/vessels/{mmsi}`: one boat with its owner, last position, trip and AIS statics. */
export function vesselDetail(mmsi, { signal } = {}) {
  return requestJson('GET', `/api/vessels/${encodeURIComponent(mmsi)}`, { signal });
}

/** `GET /api/vessels/{mmsi}/track`: the last 24 h as a GeoJSON Feature (LineString). */
export function vesselTrack(mmsi, { signal } = {}) {
  return requestJson('GET', `/api/vessels/${encodeURIComponent(mmsi)}/track`, { signal });
}

/** `GET /api/harbours`: harbours and anchorages with in_port / at_sea / home. */
export function harbourList({ signal } = {}) {
  return requestJson('GET', '/api/harbours', { signal });
}

/** `GET /api/vessels/events?limit=`: port entries, exits, stops, gaps …, newest first. */
export function vesselEvents({ limit = 50, signal } = {}) {
  return requestJson('GET', '/api/vessels/events', { params: { limit }, signal });
}

/** `GET /api/vessels/alerts?state=&limit=`: vessel alerts, newest first. */
export function vesselAlerts({ state = 'open', limit = 1000, signal } = {}) {
  return requestJson('GET', '/api/vessels/alerts', { params: { state, limit }, signal });
}

/** `POST /api/vessels/alerts/{id}/ack` `{by, note}`: the acknowledged alert (409 the second time). */
export function acknowledgeVesselAlert(id, { by, note }, { signal } = {}) {
  return requestJson('POST', `/api/vessels/alerts/${encodeURIComponent(id)}/ack`, { body: { by, note }, signal });
}
