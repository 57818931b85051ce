// The 渔船 panel (vessel monitoring, issue #11; contract docs/VESSELS.md): the fleet live on the
// map coloured by state with a legend of counts, harbours and restricted zones, the boats per
// harbour, a boat's card and 24-hour track, the open vessel alerts with their acknowledgement,
// and the latest port entries and exits. This module wires the parts: panel.js (DOM), layers.js
// (map layers), alerts.js (alert list), api.js (requests), format.js (pure formatting).
//
// Boats: one GeoJSON source, read whole from GET /api/vessels?limit=100000 and kept live by the
// stream's `vessels` frames (the boats that moved or changed state, at most every 500 ms),
// applied with updateData. The stream is the page's one client (src/screen/stream.js) with
// topics vessels and alerts, opened when the panel first opens and kept while it is closed (the
// button's alert count).

import { showStatus } from '../status.js';
import { openStream } from '../screen/stream.js';
import { createVesselAlerts } from './alerts.js';
import { harbourList, vesselDetail, vesselEvents, vesselList, vesselTrack } from './api.js';
import { EVENTS_MAX, VESSEL_ALERT_KINDS, boatFeature, boatsCollection, countStates, matchBoats, mergeEvents, newerBoat, normaliseCounts, stateOf } from './format.js';
import { BOATS_LAYER, BOATS_SOURCE, GROUP, TOGGLES, TRACK_SOURCE, decorateStyle, installLayers, layersInstalled, provideImage, selectBoatOnMap } from './layers.js';
import { buildPanel, paintPanel, renderCard, renderError, renderEvents, renderHarbours, renderLegend, renderLive, renderSearch, renderTrackInfo } from './panel.js';

const EMPTY = { type: 'FeatureCollection', features: [] };
/** Harbour counts are read again at most this often while boats move. */
const HARBOURS_REFRESH_MS = 3000;
/** The card's ages are redrawn this often. */
const CARD_TICK_MS = 10_000;
/** The boats on the map are updated at most this often (the legend and the card at once). */
const MAP_EVERY_MS = 1000;
/** Pixels around a click in which a boat counts as clicked. */
const CLICK_SLOP_PX = 6;

/**
 * Builds the panel and wires it to the map. `onLayers` is called when a layer is shown or hidden
 * (main.js applies visibility), `onUrl` when the URL should change, `onOpen()` when the panel
 * opens (main.js hides the other panels of the corner), `theme()` the style's.
 */
export function createVessels({ map, button, panel, params, theme, onLayers, onUrl, onOpen }) {
  const state = {
    open: false,
    installed: false,
    shown: new Set(TOGGLES.map(([id]) => id)),
    boats: new Map(), // mmsi → the latest row (list or stream)
    loaded: false,
    truncated: false, // the list held fewer boats than its counts: the legend shows the API's counts
    counts: normaliseCounts({}),
    listCounts: null,
    selected: null, // MMSI of the boat on the card
    detail: null,
    detailError: null,
    track: null, // GeoJSON Feature of the selected boat
    trackLoading: false,
    trackError: null,
    harbours: null,
    events: [],
    eventsLoaded: false,
    eventsError: null,
    streamState: 'closed',
    frames: 0, // `vessels` frames applied
  };
  let openAtStart = false;
  let selectAtStart = null;
  readParams(params);

  const badge = document.createElement('span');
  badge.className = 'fire-alert-badge vs-alert-badge';
  badge.id = 'vessel-alert-badge';
  badge.hidden = true;
  button.append(badge);

  let searchText = '';
  const nodes = buildPanel(panel, {
    shown: state.shown,
    on: {
      toggle: (id, on) => {
        if (on) state.shown.add(id);
        else state.shown.delete(id);
        onLayers();
        onUrl();
      },
      search: (text) => {
        searchText = text;
        renderSearch(nodes, matchBoats(state.boats.values(), text), { query: text, onPick: (v) => selectBoat(v.mmsi, { fly: true }) });
      },
      closeCard: () => selectBoat(null),
      locateBoat: () => flyToBoat(state.selected),
      reloadTrack: () => loadTrack(state.selected),
    },
  });
  paintPanel(panel, theme());
  renderLegend(nodes, state.counts, { loaded: false });

  const alerts = createVesselAlerts({
    nodes,
    onAlert: (a, { live }) => {
      if (live) showStatus(`新告警：${a.kind_name || VESSEL_ALERT_KINDS[a.kind] || ''} ${a.message || ''}`.trim(), 'error');
    },
    onBoat: (a) => {
      if (a.mmsi != null) selectBoat(a.mmsi, { fly: true });
      else if (a.lon != null && a.lat != null) map.flyTo({ center: [Number(a.lon), Number(a.lat)], zoom: Math.max(map.getZoom(), 12), duration: 900 });
    },
    onCount: (count) => {
      badge.hidden = !count;
      badge.textContent = count > 99 ? '99+' : String(count);
    },
  });

  // --- opening ---------------------------------------------------------------------------------

  button.addEventListener('click', () => (state.open ? close() : open()));

  function open() {
    state.open = true;
    panel.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    onOpen();
    install();
    startStream();
    onUrl();
  }

  /** Hides the panel. Layers, boats and stream stay: the map keeps the fleet live, the button its count. */
  function close() {
    state.open = false;
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    onUrl();
  }

  function hidePanel() {
    if (state.open) close();
  }

  function install() {
    if (state.installed && layersInstalled(map)) return;
    state.installed = true;
    ensureLayers();
    onLayers();
  }

  function ensureLayers() {
    if (!state.installed || layersInstalled(map)) return;
    try {
      installLayers(map, { theme: theme(), boats: collection(), track: trackData(), selected: state.selected, visible: layerVisible });
    } catch {
      // The style is still loading: decorate puts the layers into it, or style.load calls this again.
    }
  }

  // --- the stream and the data ------------------------------------------------------------------

  let stream = null;
  /** Stream frames counted: a list read keeps what the stream brought while it was on its way. */
  let streamSeq = 0;
  const touched = new Map(); // mmsi → streamSeq of its last stream row

  function startStream() {
    if (stream) return;
    // Stream first, lists second: a change in between is in one or the other (merged by time).
    stream = openStream({
      topics: ['vessels', 'alerts'],
      handlers: {
        vessels: (data) => vesselsArrived(data),
        vessel_event: (e) => eventArrived(e),
        alert: (a) => alerts.arrived(a),
        reset: () => loadAll(),
      },
      onState: (s) => setLive(s),
    });
    setLive('stale');
    loadAll();
  }

  function setLive(s) {
    state.streamState = s;
    renderLive(nodes, s);
  }

  function loadAll() {
    loadBoats();
    loadHarbours();
    loadEvents();
    alerts.load();
    if (state.selected) loadDetail(state.selected);
  }

  let boatsSeq = 0;
  async function loadBoats() {
    const seq = ++boatsSeq;
    const since = streamSeq;
    try {
      const answer = await vesselList();
      if (seq !== boatsSeq) return;
      const list = Array.isArray(answer?.vessels) ? answer.vessels : [];
      const next = new Map();
      const received = Date.now();
      for (const v of list) {
        v._rx = received; // age_s is the server's at this moment
        const key = String(v.mmsi);
        const held = state.boats.get(key);
        // A row the stream brought after this read began wins unless the list's is newer.
        const keepHeld = held && (touched.get(key) || 0) > since && !newerBoat(held, v, { sameReplaces: false });
        next.set(key, keepHeld ? held : v);
      }
      for (const [key, seqOf] of touched) if (seqOf > since && !next.has(key)) next.set(key, state.boats.get(key));
      state.boats = next;
      state.listCounts = normaliseCounts(answer?.counts);
      const listed = Object.values(state.listCounts).reduce((a, b) => a + b, 0);
      state.truncated = listed > list.length;
      state.loaded = true;
      panel.dataset.boats = String(list.length);
      recount();
      setBoatsData();
      if (searchText) nodes.search.dispatchEvent(new Event('input'));
      if (state.selected) renderCardNow();
      flyIfPending();
    } catch (e) {
      if (seq !== boatsSeq) return;
      nodes.total.textContent = `无法读取渔船：${e.message}`;
      showStatus(`无法读取渔船：${e.message}`, 'error');
    }
  }

  function recount() {
    state.counts = state.truncated && state.listCounts ? state.listCounts : countStates(state.boats.values());
    renderLegend(nodes, state.counts, { loaded: state.loaded });
  }

  function collection() {
    return boatsCollection(state.boats.values());
  }

  function setBoatsData() {
    pending.clear();
    map.getSource(BOATS_SOURCE)?.setData(collection());
  }

  /** Boats changed by the stream and not yet on the map. */
  const pending = new Set();
  let flushTimer = null;

  function vesselsArrived(data) {
    const list = Array.isArray(data?.vessels) ? data.vessels : [];
    if (!list.length) return;
    streamSeq++;
    const received = Date.now();
    let selectedChanged = null;
    for (const v of list) {
      if (v?.mmsi === undefined || v.mmsi === null) continue;
      const key = String(v.mmsi);
      const held = state.boats.get(key);
      if (!newerBoat(held, v)) continue;
      v._rx = received;
      state.boats.set(key, held ? { ...held, ...v } : v);
      touched.set(key, streamSeq);
      pending.add(key);
      if (key === state.selected) selectedChanged = { before: held, after: state.boats.get(key) };
    }
    state.frames++;
    if (!flushTimer) flushTimer = setTimeout(flush, 50);
    if (selectedChanged) selectedMoved(selectedChanged.before, selectedChanged.after);
    scheduleHarbours();
  }

  /** Recounts once per burst of frames; the map follows at most every MAP_EVERY_MS. */
  function flush() {
    flushTimer = null;
    if (state.loaded) recount();
    if (!mapTimer) mapTimer = setTimeout(flushMap, Math.max(0, mapLast + MAP_EVERY_MS - Date.now()));
  }

  let mapTimer = null;
  let mapLast = 0;
  /** Puts the boats the stream changed on the map: one updateData for all of them. */
  function flushMap() {
    mapTimer = null;
    mapLast = Date.now();
    const source = map.getSource(BOATS_SOURCE);
    if (!source || !pending.size) {
      pending.clear();
      return;
    }
    const add = [];
    const remove = [];
    for (const key of pending) {
      const f = boatFeature(state.boats.get(key));
      if (f) add.push(f);
      else remove.push(Number(key));
    }
    pending.clear();
    if (typeof source.updateData === 'function') {
      source.updateData({ remove, add }).catch?.(() => setBoatsData());
    } else {
      setBoatsData();
    }
  }

  let harbourTimer = null;
  let harbourLast = 0;
  function scheduleHarbours() {
    if (harbourTimer) return;
    const wait = Math.max(0, harbourLast + HARBOURS_REFRESH_MS - Date.now());
    harbourTimer = setTimeout(() => {
      harbourTimer = null;
      loadHarbours();
    }, wait);
  }

  let harbourSeq = 0;
  async function loadHarbours() {
    const seq = ++harbourSeq;
    harbourLast = Date.now();
    try {
      const answer = await harbourList();
      if (seq !== harbourSeq) return;
      state.harbours = answer;
      renderHarbours(nodes, answer, { onHarbour: (h) => flyToPoint(h, 13) });
      panel.dataset.harbours = String(harbourSeq);
    } catch (e) {
      if (seq !== harbourSeq) return;
      renderError(nodes.harboursBody, `无法读取渔港：${e.message}`);
    }
  }

  let eventsSeq = 0;
  async function loadEvents() {
    const seq = ++eventsSeq;
    try {
      const answer = await vesselEvents({ limit: EVENTS_MAX });
      if (seq !== eventsSeq) return;
      state.events = mergeEvents(state.events, Array.isArray(answer?.events) ? answer.events : []);
      state.eventsLoaded = true;
      state.eventsError = null;
    } catch (e) {
      if (seq !== eventsSeq) return;
      state.eventsError = `无法读取动态：${e.message}`;
    }
    drawEvents();
  }

  function eventArrived(e) {
    if (!e || e.id === undefined) return;
    state.events = mergeEvents(state.events, [e]);
    drawEvents();
  }

  function drawEvents() {
    renderEvents(nodes, state.events, { loaded: state.eventsLoaded, error: state.eventsError, onEvent: (e) => e.mmsi != null && selectBoat(e.mmsi, { fly: true }) });
  }

  // --- the selected boat --------------------------------------------------------------------------

  /** Opens a boat's card and draws its track (null closes the card). */
  function selectBoat(mmsi, { fly = false } = {}) {
    const key = mmsi == null ? null : String(mmsi);
    if (key !== state.selected) {
      state.selected = key;
      state.detail = null;
      state.detailError = null;
      state.track = null;
      state.trackError = null;
      setTrackData();
      selectBoatOnMap(map, key);
      renderCardNow();
      renderTrackInfo(nodes, {});
      if (key) {
        loadDetail(key);
        loadTrack(key);
      }
      onUrl();
    }
    if (key && !state.open) open();
    if (key && fly && !flyToBoat(key)) flyPending = key;
    if (key) nodes.card.scrollIntoView?.({ block: 'nearest' });
  }

  /** A boat to fly to once its position is read (a link's ?vessel=MMSI before the list came). */
  let flyPending = null;
  function flyIfPending() {
    if (flyPending && flyPending === state.selected && flyToBoat(flyPending)) flyPending = null;
  }

  let detailSeq = 0;
  async function loadDetail(key) {
    const seq = ++detailSeq;
    try {
      const detail = await vesselDetail(key);
      if (seq !== detailSeq || key !== state.selected) return;
      detail._rx = Date.now();
      state.detail = detail;
      state.detailError = null;
      flyIfPending();
    } catch (e) {
      if (seq !== detailSeq || key !== state.selected) return;
      state.detailError = e.status === 404 ? `没有 MMSI 为 ${key} 的渔船` : `无法读取渔船：${e.message}`;
    }
    renderCardNow();
  }

  let trackSeq = 0;
  async function loadTrack(key) {
    if (!key) return;
    const seq = ++trackSeq;
    state.trackLoading = true;
    renderTrackInfo(nodes, { loading: true });
    try {
      const track = await vesselTrack(key);
      if (seq !== trackSeq || key !== state.selected) return;
      state.track = track?.geometry ? track : null;
      state.trackError = null;
    } catch (e) {
      if (seq !== trackSeq || key !== state.selected) return;
      state.track = null;
      state.trackError = e.message;
    }
    state.trackLoading = false;
    setTrackData();
    renderTrackInfo(nodes, { track: state.track, error: state.trackError });
    nodes.trackInfo.dataset.mmsi = key;
  }

  function trackData() {
    const coords = state.track?.geometry?.coordinates;
    if (!Array.isArray(coords) || coords.length < 2) return EMPTY;
    return { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { mmsi: state.selected }, geometry: state.track.geometry }] };
  }

  function setTrackData() {
    map.getSource(TRACK_SOURCE)?.setData(trackData());
  }

  function renderCardNow() {
    renderCard(nodes, { mmsi: state.selected, detail: state.detail, boat: state.selected ? state.boats.get(state.selected) : null, error: state.detailError });
  }

  /** The stream moved the selected boat: the card follows, the track grows, a new trip is read. */
  function selectedMoved(before, after) {
    renderCardNow();
    const coords = state.track?.geometry?.coordinates;
    if (Array.isArray(coords) && after.lon != null && after.lat != null && (!before || before.at !== after.at)) {
      const last = coords[coords.length - 1];
      const point = [Number(after.lon), Number(after.lat)];
      if (!last || last[0] !== point[0] || last[1] !== point[1]) {
        coords.push(point);
        setTrackData();
        renderTrackInfo(nodes, { track: state.track });
      }
    }
    if (!before || stateOf(before) !== stateOf(after)) loadDetail(state.selected);
  }

  setInterval(() => {
    if (state.open && state.selected && state.detail) renderCardNow();
  }, CARD_TICK_MS);

  function flyToPoint(p, zoom = 12) {
    const lon = Number(p?.lon);
    const lat = Number(p?.lat);
    if (p?.lon != null && p?.lat != null && Number.isFinite(lon) && Number.isFinite(lat)) map.flyTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), zoom), duration: 900 });
  }

  /** Flies to a boat's position; false if none is known (yet). */
  function flyToBoat(key) {
    if (!key) return false;
    const v = state.boats.get(String(key)) || (String(state.detail?.mmsi) === String(key) ? state.detail : null);
    const p = v?.lon != null ? v : v?.last?.lon != null ? v.last : null;
    if (!p) return false;
    flyToPoint(p, 12);
    return true;
  }

  // --- map hooks ------------------------------------------------------------------------------------

  // The zones' hatch is drawn here, never fetched (the styles have no sprite). MapLibre 6 asks a
  // resolver (the map has one: this is the page's only generated image); older ones fire an event.
  if (typeof map.setMissingStyleImageResolver === 'function') map.setMissingStyleImageResolver((id) => void provideImage(map, id));
  else map.on('styleimagemissing', (e) => provideImage(map, e.id));

  // A new style (light/dark): the layers come with it (decorate), the panel's swatches change colour.
  map.on('style.load', () => {
    ensureLayers();
    paintPanel(panel, theme());
  });

  /** Whether a style layer of the vessels group should show. */
  function layerVisible(layer) {
    const part = layer.metadata?.['onemap:vessels'];
    if (!state.installed) return false;
    if (part === 'track') return true;
    if (part === 'labels') return state.shown.has('labels') && state.shown.has('boats');
    return state.shown.has(part);
  }

  /** A transformStyle step: the vessel layers go into every style once the panel has been opened. */
  function decorate(style) {
    if (!state.installed) return style;
    pending.clear();
    return decorateStyle(style, { theme: style.metadata?.['onemap:theme'] || theme(), boats: collection(), track: trackData(), selected: state.selected, visible: layerVisible });
  }

  /** A map click on a boat opens its card (true: the click is used up). */
  function handleClick(e) {
    if (!state.installed || !map.getLayer(BOATS_LAYER) || map.getLayoutProperty(BOATS_LAYER, 'visibility') === 'none') return false;
    const { x, y } = e.point;
    const hits = map.queryRenderedFeatures(
      [
        [x - CLICK_SLOP_PX, y - CLICK_SLOP_PX],
        [x + CLICK_SLOP_PX, y + CLICK_SLOP_PX],
      ],
      { layers: [BOATS_LAYER] },
    );
    if (!hits.length) return false;
    // The boat nearest to the click.
    let best = null;
    let bestD = Infinity;
    for (const f of hits) {
      const p = map.project(f.geometry.coordinates);
      const d = (p.x - x) ** 2 + (p.y - y) ** 2;
      if (d < bestD) {
        bestD = d;
        best = f;
      }
    }
    selectBoat(best.properties.mmsi);
    return true;
  }

  function readParams(p) {
    if (p.get('vessels') === '1') openAtStart = true;
    const mmsi = p.get('vessel');
    if (mmsi && /^\d{1,9}$/.test(mmsi)) {
      selectAtStart = mmsi;
      openAtStart = true;
    }
    const off = (p.get('vessels_off') || '').split(',');
    for (const id of off) state.shown.delete(id);
  }

  /** Writes the panel's state into `url`'s query (only while it is open). */
  function writeParams(url) {
    const set = (k, v) => (v ? url.searchParams.set(k, v) : url.searchParams.delete(k));
    set('vessels', state.open ? '1' : '');
    set('vessel', state.open && state.selected ? state.selected : '');
    const off = TOGGLES.map(([id]) => id).filter((id) => !state.shown.has(id));
    set('vessels_off', state.open ? off.join(',') : '');
  }

  /** Opens the panel if the page's link says so (?vessels=1, ?vessel=MMSI); main.js calls this once the view is set. */
  function startFromUrl({ fly }) {
    if (!openAtStart) return;
    open();
    if (selectAtStart) selectBoat(selectAtStart, { fly });
  }

  // A link that opens the panel: the layers go into the first style already.
  if (openAtStart) state.installed = true;

  return {
    state,
    group: GROUP,
    alerts: alerts.state,
    open,
    close,
    hidePanel,
    selectBoat,
    layerVisible,
    decorate,
    handleClick,
    writeParams,
    startFromUrl,
  };
}
