// What the browser tests share: Debian's Chromium (never a downloaded browser) launched headless
// with software WebGL, and a guard on a browser context that refuses and records requests to
// any other host and collects failed requests.

import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-gl=swiftshader',
  '--enable-unsafe-swiftshader',
];

/** Launches Debian's Chromium for a test. */
export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/**
 * Routes every request of `context`: each URL is appended to `lists.requests` (if given); a
 * request to another host than `host` is refused and appended to `lists.foreign`; responses of
 * 400 and above and failed requests go to `lists.errors` — except MapLibre's cancellations of
 * tiles it no longer needs (ERR_ABORTED) and our own refusals.
 */
export async function guard(context, host, { requests = [], foreign = [], errors = [] } = {}) {
  await context.route('**/*', (route) => {
    const url = route.request().url();
    requests.push(url);
    const u = new URL(url);
    if ((u.protocol === 'http:' || u.protocol === 'https:') && u.host !== host) {
      foreign.push(url);
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  context.on('response', (res) => {
    if (res.status() >= 400) errors.push(`${res.status()} ${res.url()}`);
  });
  context.on('requestfailed', (req) => {
    const text = req.failure()?.errorText;
    if (text === 'net::ERR_ABORTED' || text === 'net::ERR_BLOCKED_BY_CLIENT') return;
    if (!foreign.includes(req.url())) errors.push(`failed ${req.url()} (${text})`);
  });
  return { requests, foreign, errors };
}
