// A small toast for errors and notices, in Chinese.

let timer = null;

export function showStatus(message, kind = 'info', { timeoutMs = 6000 } = {}) {
  const el = document.getElementById('status');
  el.textContent = message;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(timer);
  if (timeoutMs > 0) timer = setTimeout(() => (el.hidden = true), timeoutMs);
}
