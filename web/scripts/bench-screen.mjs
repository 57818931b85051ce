// Benchmark of the big screen's start: opens ONEMAP_URL/screen in headless Debian Chromium at
// 1920×1080, N times (a fresh browser context each: no cache, no cookies), and prints the median
// and max of window.onemapScreen.readyMs — milliseconds from navigation start until the map is
// idle and every chart has drawn. The goal is ≤ 3 s. A benchmark, not a test: nothing is asserted.
//
//   ONEMAP_URL=http://127.0.0.1:8080 node scripts/bench-screen.mjs [runs] [path]
//
// `path` defaults to /screen?rotate=0 (e.g. /screen/350304100?rotate=0 for a town).

import { chromium } from 'playwright-core';

const BASE = process.env.ONEMAP_URL?.replace(/\/+$/, '');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const runs = Math.max(1, Number(process.argv[2]) || 5);
const pagePath = process.argv[3] || '/screen?rotate=0';
const GOAL_MS = 3000;

if (!BASE) {
  console.error('ONEMAP_URL is not set: point it at a running onemap server (e.g. http://127.0.0.1:8080)');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--use-gl=swiftshader', '--enable-unsafe-swiftshader'],
});
const host = new URL(BASE).host;
const times = [];
try {
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN', deviceScaleFactor: 1 });
    // Nothing may leave the machine, here as in the tests.
    await context.route('**/*', (route) => (new URL(route.request().url()).host === host ? route.continue() : route.abort('blockedbyclient')));
    const page = await context.newPage();
    await page.goto(`${BASE}${pagePath}`);
    await page.waitForFunction(() => window.onemapScreen?.ready === true, null, { timeout: 180_000 });
    const ms = await page.evaluate(() => window.onemapScreen.readyMs);
    times.push(ms);
    console.log(`run ${i + 1}/${runs}: ${ms} ms`);
    await context.close();
  }
} finally {
  await browser.close();
}

const sorted = times.slice().sort((a, b) => a - b);
const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : Math.round((sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2);
const max = sorted[sorted.length - 1];
const row = (a, b, c) => `| ${a.padEnd(22)} | ${String(b).padStart(8)} | ${String(c).padStart(8)} |`;
console.log('');
console.log(`big screen readyMs, ${BASE}${pagePath}, 1920×1080, ${runs} runs (goal ≤ ${GOAL_MS} ms)`);
console.log(row('', 'median', 'max'));
console.log(`|${'-'.repeat(24)}|${'-'.repeat(9)}:|${'-'.repeat(9)}:|`);
console.log(row('readyMs (ms)', median, max));
console.log(row('within goal', median <= GOAL_MS ? 'yes' : 'no', max <= GOAL_MS ? 'yes' : 'no'));
