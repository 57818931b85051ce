// The 渔船 panel's alerts: the open vessel alerts (GET /api/vessels/alerts?state=open), kept live by
// the panel's stream (index.js hands over every `alert` frame of a vessel kind), new ones
// prepended and flashed, each acknowledged (确认) through an inline form with a note, by the
// signed-in user. Rows are keyed by id and moved, never rebuilt, so a form being typed in keeps
// its text and focus when another alert arrives. The same behaviour as the 消防 panel's list
// (src/fire/alerts.js), which opens its own stream per area; this one opens none.

import { el } from '../dom.js';
import { sessionUser } from '../session.js';
import { alertOpen, mergeAlerts } from '../fire/format.js';
import { acknowledgeVesselAlert, vesselAlerts } from './api.js';
import { VESSEL_ALERT_KINDS, formatTime, isVesselAlert, placeText } from './format.js';

/** The most alerts the list reads and holds (newest first); a closure can raise hundreds. */
export const ALERTS_MAX = 1000;

/** Who acknowledges: the signed-in user (the server records the session's user). */
function acker() {
  return sessionUser()?.name || '';
}

/** What a row shows, as one string: a row is rebuilt only when this changes. */
function signature(a) {
  return JSON.stringify([a.kind, a.message, a.raised_at, a.acked_at, a.acked_by, a.note, placeText(a.village), a.mmsi]);
}

/**
 * The alert list of the panel. `nodes` are panel.js's; `onAlert(alert, {live})` is told of every
 * alert that arrives; `onBoat(alert)` opens the alert's boat; `onCount(n)` gets the number of
 * open alerts (the toolbar badge).
 */
export function createVesselAlerts({ nodes, onAlert, onBoat, onCount }) {
  const state = { alerts: [], via: new Map(), loaded: false, error: null };
  const rows = new Map(); // id → {li, sig}
  let listSeq = 0;

  async function load() {
    const seq = ++listSeq;
    try {
      const body = await vesselAlerts({ state: 'open', limit: ALERTS_MAX });
      if (seq !== listSeq) return;
      const list = (Array.isArray(body?.alerts) ? body.alerts : []).filter((a) => !a.kind || isVesselAlert(a));
      // An alert acknowledged elsewhere since the last read is no longer open: drop it.
      const open = new Set(list.map((a) => String(a.id)));
      state.alerts = state.alerts.filter((a) => open.has(String(a.id)) || !alertOpen(a) || state.via.get(String(a.id)) === 'stream');
      for (const a of list) if (!state.via.has(String(a.id))) state.via.set(String(a.id), 'list');
      state.alerts = mergeAlerts(state.alerts, list).slice(0, ALERTS_MAX);
      state.loaded = true;
      state.error = null;
      for (const a of list) onAlert(a, { live: false });
    } catch (e) {
      if (seq !== listSeq) return;
      state.error = `无法读取告警：${e.message}`;
    }
    render();
  }

  /** Reads one alert's acknowledgement (someone else's, after a 409) into the list. */
  async function refreshOne(id) {
    try {
      const body = await vesselAlerts({ state: 'acknowledged' });
      const done = (Array.isArray(body?.alerts) ? body.alerts : []).find((x) => String(x.id) === String(id));
      if (done) {
        state.alerts = mergeAlerts(state.alerts, [done]);
        render();
      }
    } catch {
      // the form already says the alert was acknowledged elsewhere
    }
  }

  /** An `alert` frame of a vessel kind: a new alert is prepended and flashed; a known one updated. */
  function arrived(a) {
    if (!isVesselAlert(a) || a.id === undefined || a.id === null) return;
    const id = String(a.id);
    const known = state.alerts.some((x) => String(x.id) === id);
    if (!known && !alertOpen(a)) return;
    if (!known) state.via.set(id, 'stream');
    state.alerts = mergeAlerts(state.alerts, [a]).slice(0, ALERTS_MAX);
    render();
    if (!known) flash(id);
    onAlert(a, { live: true });
  }

  function flash(id) {
    const li = rows.get(id)?.li;
    if (!li) return;
    li.classList.remove('fire-flash');
    void li.offsetWidth;
    li.classList.add('fire-flash');
    li.addEventListener('animationend', () => li.classList.remove('fire-flash'), { once: true });
  }

  function render() {
    const open = state.alerts.filter(alertOpen).length;
    onCount(open);
    const count = nodes.alerts.querySelector('[data-role="count"]');
    if (count) count.textContent = `${open} 条`;
    const list = nodes.alertList;
    for (const node of list.querySelectorAll(':scope > .fire-placeholder')) node.remove();
    const wanted = state.alerts.map((a) => {
      const id = String(a.id);
      const sig = signature(a);
      let row = rows.get(id);
      if (!row || row.sig !== sig) {
        const li = alertRow(a);
        if (row) row.li.replaceWith(li);
        row = { li, sig };
        rows.set(id, row);
      }
      row.li.dataset.via = state.via.get(id) || 'list';
      return row.li;
    });
    const keep = new Set(wanted);
    for (const [id, row] of rows) {
      if (!keep.has(row.li)) {
        row.li.remove();
        rows.delete(id);
      }
    }
    wanted.forEach((li, i) => {
      if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
    });
    if (!wanted.length) {
      const text = state.error || (state.loaded ? '当前没有未确认的告警' : '正在读取…');
      list.append(el('li', { class: `fire-placeholder ${state.error ? 'fire-error' : 'fire-muted'}` }, text));
    } else if (state.error) {
      list.append(el('li', { class: 'fire-placeholder fire-error' }, state.error));
    }
  }

  function alertRow(a) {
    const acked = !alertOpen(a);
    const li = el('li', {
      class: `fire-alert fire-alert-${acked ? 'acked' : 'open'}`,
      dataset: { id: String(a.id), kind: String(a.kind), mmsi: a.mmsi == null ? '' : String(a.mmsi), state: acked ? 'acknowledged' : 'open', raised: String(a.raised_at || '') },
    });
    const village = placeText(a.village);
    const head = el(
      'div',
      { class: 'fire-alert-head' },
      el('span', { class: `fire-badge vs-alert-kind vs-kind-${a.kind}` }, a.kind_name || VESSEL_ALERT_KINDS[a.kind] || a.kind),
      el('span', { class: 'fire-muted' }, formatTime(a.raised_at)),
      village !== '—' ? el('span', { class: 'fire-muted' }, village) : null,
    );
    const message = el('button', { type: 'button', class: 'fire-alert-message', disabled: a.mmsi == null && (a.lon == null || a.lat == null), onclick: () => onBoat(a) }, a.message || (a.mmsi != null ? `MMSI ${a.mmsi}` : ''));
    li.append(head, message);
    if (acked) {
      li.append(el('div', { class: 'fire-alert-ack', dataset: { field: 'ack' } }, `已确认 · ${a.acked_by || '—'} · ${formatTime(a.acked_at)}`, a.note ? `：${a.note}` : ''));
      return li;
    }
    const ackButton = el('button', { type: 'button', class: 'btn fire-small fire-ack-open', onclick: () => showForm() }, '确认');
    li.append(el('div', { class: 'fire-alert-actions' }, ackButton));
    const form = ackForm(a, () => {
      form.hidden = true;
      ackButton.hidden = false;
    });
    form.hidden = true;
    li.append(form);
    function showForm() {
      form.hidden = false;
      ackButton.hidden = true;
      form.elements.note.focus();
    }
    return li;
  }

  function ackForm(a, onCancel) {
    const who = acker();
    const note = el('textarea', { name: 'note', rows: '2', maxlength: '2000', 'aria-label': '处理说明', placeholder: '处理说明，如：已电话联系船主，渔船正在返港' });
    const error = el('div', { class: 'fire-error', 'data-role': 'error', hidden: true });
    const submit = el('button', { type: 'submit', class: 'btn fire-small fire-ack-submit' }, '提交确认');
    const form = el(
      'form',
      { class: 'fire-ack-form', onsubmit: (e) => send(e) },
      el('div', { class: 'fire-field' }, el('span', {}, '确认人'), el('span', { class: 'fire-ack-by', 'data-field': 'by' }, who || '—')),
      el('label', { class: 'fire-field' }, el('span', {}, '处理说明'), note),
      error,
      el('div', { class: 'fire-alert-actions' }, submit, el('button', { type: 'button', class: 'btn fire-small', onclick: () => onCancel() }, '取消')),
    );
    async function send(e) {
      e.preventDefault();
      const text = note.value.trim();
      const problem = !text ? '请填写处理说明' : '';
      error.hidden = !problem;
      error.textContent = problem;
      if (problem) return;
      submit.disabled = true;
      try {
        const answer = await acknowledgeVesselAlert(a.id, { by: who, note: text });
        state.alerts = mergeAlerts(state.alerts, [answer && answer.id !== undefined ? answer : { ...a, acked_at: new Date().toISOString(), acked_by: who, note: text }]);
        render();
      } catch (err) {
        submit.disabled = false;
        error.hidden = false;
        error.textContent = err.status === 409 ? '该告警已被他人确认' : `确认失败：${err.message}`;
        if (err.status === 409) refreshOne(a.id);
      }
    }
    return form;
  }

  render();
  return { state, load, arrived };
}
