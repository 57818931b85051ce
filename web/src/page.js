// What the profile page (/profile/{code}) and the ledger page (/ledger) share with the map client:
// the light/dark theme (body[data-theme], kept in localStorage as the map keeps it, or ?style=),
// the signed-in user in the top bar, the toast, and number and time formats in Chinese, Beijing
// time.

import { renderUserBox, requireUser } from './session.js';

export const THEMES = ['light', 'dark'];
export const TZ = 'Asia/Shanghai';

const numberFormat = new Intl.NumberFormat('zh-CN');

/** Sets the page's theme from ?style= or localStorage and wires the [data-theme-choice] buttons. */
export function initTheme(onChange = () => {}) {
  const params = new URLSearchParams(window.location.search);
  let stored = null;
  try {
    stored = localStorage.getItem('onemap.theme');
  } catch {
    // no storage: light
  }
  let theme = THEMES.includes(params.get('style')) ? params.get('style') : THEMES.includes(stored) ? stored : 'light';
  const buttons = [...document.querySelectorAll('[data-theme-choice]')];
  function apply(next, notify) {
    theme = next;
    document.body.dataset.theme = theme;
    for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.themeChoice === theme));
    if (notify) onChange(theme);
  }
  for (const b of buttons) {
    b.addEventListener('click', () => {
      if (!THEMES.includes(b.dataset.themeChoice) || b.dataset.themeChoice === theme) return;
      try {
        localStorage.setItem('onemap.theme', b.dataset.themeChoice);
      } catch {
        // not kept
      }
      apply(b.dataset.themeChoice, true);
    });
  }
  apply(theme, false);
  return () => theme;
}

/**
 * Asks who is signed in and shows it in the top bar (#userbox): true. Not signed in: the login
 * page, and this never settles. The server unreachable: a toast, and false.
 */
export async function showSignedIn() {
  try {
    renderUserBox(document.getElementById('userbox'), await requireUser());
    return true;
  } catch (e) {
    toast(`无法确认登录状态：${e.message}`, 'error', { timeoutMs: 0 });
    return false;
  }
}

let toastTimer = null;

/** A toast at the bottom (#status): info, ok or error. */
export function toast(message, kind = 'info', { timeoutMs = 6000 } = {}) {
  const node = document.getElementById('status');
  if (!node) return;
  node.textContent = message;
  node.dataset.kind = kind;
  node.hidden = false;
  clearTimeout(toastTimer);
  if (timeoutMs > 0) toastTimer = setTimeout(() => (node.hidden = true), timeoutMs);
}

/** 12,345 (or — for anything that is not a finite number). */
export function formatInt(v) {
  return typeof v === 'number' && Number.isFinite(v) ? numberFormat.format(v) : '—';
}

/** A number with at most `digits` decimals, grouped. */
export function formatNumber(v, digits = 2) {
  return typeof v === 'number' && Number.isFinite(v) ? new Intl.NumberFormat('zh-CN', { maximumFractionDigits: digits }).format(v) : '—';
}

/** 0.931 → "93.1%". */
export function formatPercent(rate, digits = 1) {
  return typeof rate === 'number' && Number.isFinite(rate) ? `${(rate * 100).toFixed(digits)}%` : '—';
}

/** An RFC 3339 time as "2026/12/03 16:00" in Beijing time. */
export function formatDateTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString('zh-CN', { timeZone: TZ, hour12: false, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

/** Today in Beijing as YYYY-MM-DD. */
export function todayInCity(now = new Date()) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/** A byte count as 12.3 KB / 4.5 MB. */
export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
