// The live stream (docs/STREAM.md): one EventSource on /api/stream, a watchdog for silence
// (2 × heartbeat + 5 s), and a new EventSource after a backoff (1 s doubling to 30 s) when the
// browser gives up on the old one (readyState CLOSED, e.g. after a 503). The browser's own
// reconnect (readyState CONNECTING, Last-Event-ID) is left to do its work. The map's 消防 panel
// uses it too (src/fire/alerts.js, topic `alerts`). An EventSource cannot see why it was
// refused: when it gives up, `/api/auth/me` is asked, and a signed-out page goes to the login
// page (src/api.js).

import { checkSignedIn } from '../api.js';
import { backoffMs, staleAfterMs } from './model.js';

/** Message types every stream listens to; a caller's handlers may add others (the map's `alert`). */
const TYPES = ['hello', 'reset', 'events', 'kpi', 'heartbeat'];

/**
 * Opens the stream. `handlers` has one callback per message type (parsed JSON) and
 * `onState(state, lastFrameAt)` with state 'live' | 'stale'. `onRefused()` is called when the
 * browser gives up on a connection (default: the session check, which goes to the login page on
 * 401).
 */
export function openStream({ topics, area, handlers, onState, onRefused = checkSignedIn }) {
  let source = null;
  let attempt = 0;
  let heartbeatS = 15;
  let watchdog = null;
  let retryTimer = null;
  let state = 'stale';
  let lastFrameAt = null;
  let closed = false;

  const url = () => {
    const q = new URLSearchParams({ topics: topics.join(',') });
    if (area) q.set('area', area);
    return `/api/stream?${q}`;
  };

  function setState(next) {
    if (next === state) return;
    state = next;
    onState(state, lastFrameAt);
  }

  function arm() {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => setState('stale'), staleAfterMs(heartbeatS));
  }

  function frame() {
    lastFrameAt = new Date();
    attempt = 0;
    arm();
    setState('live');
  }

  function connect() {
    if (closed) return;
    const es = new EventSource(url());
    source = es;
    for (const type of new Set([...TYPES, ...Object.keys(handlers)])) {
      es.addEventListener(type, (msg) => {
        if (source !== es) return;
        let data = null;
        try {
          data = JSON.parse(msg.data);
        } catch {
          console.warn(`stream: ${type} frame is not JSON`);
          return;
        }
        if (type === 'hello' && Number(data?.heartbeat_s) > 0) heartbeatS = Number(data.heartbeat_s);
        frame();
        handlers[type]?.(data);
      });
    }
    es.onerror = () => {
      if (source !== es) return;
      setState('stale');
      // CONNECTING: the browser retries by itself (with Last-Event-ID). CLOSED: it gave up.
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        source = null;
        onRefused();
        const delay = backoffMs(attempt++);
        clearTimeout(retryTimer);
        retryTimer = setTimeout(connect, delay);
      }
    };
    arm();
  }

  connect();

  return {
    get state() {
      return state;
    },
    get lastFrameAt() {
      return lastFrameAt;
    },
    close() {
      closed = true;
      clearTimeout(watchdog);
      clearTimeout(retryTimer);
      source?.close();
      source = null;
    },
  };
}
