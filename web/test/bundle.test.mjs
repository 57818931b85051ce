// The built client (dist/, from `npm run build`): self-contained, every URL it could load is on
// our server. URLs to other hosts may appear only as text that is never fetched (XML namespaces,
// licence comments, links in messages); each allowed one is listed here with the reason.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, '../dist');

/** Hosts that may be named in the bundle, and why naming them loads nothing. */
const NAMED_NOT_LOADED = {
  'www.w3.org': 'XML namespace of inline SVG (data: URIs and createElementNS)',
  'github.com': 'MapLibre licence comment',
  'maplibre.org': 'href of the MapLibre logo/attribution link: followed only if a person clicks it',
  'maplibre.invalid': 'base URL MapLibre uses to parse attribute values; .invalid never resolves',
  'wiki.openstreetmap.org': 'text of MapLibre\'s "WebGL2 is not supported" error message',
};

const PAGES = ['index.html', 'screen.html', 'profile.html', 'ledger.html', 'login.html'];

function files(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : [p];
  });
}

describe('built bundle', () => {
  it('exists (run npm run build first)', () => {
    assert.ok(fs.existsSync(path.join(dist, 'index.html')), 'dist/index.html is missing: run `npm run build`');
  });

  // Five pages: the desk client (index.html), the command centre's big screen (screen.html), the
  // profile of a town or village (profile.html), the ledgers (ledger.html) and sign-in
  // (login.html).
  for (const page of PAGES) {
    it(`${page} loads its scripts and styles from /assets/ on our server only`, () => {
      assert.ok(fs.existsSync(path.join(dist, page)), `dist/${page} is missing: run \`npm run build\``);
      const html = fs.readFileSync(path.join(dist, page), 'utf8');
      // What the page loads (scripts, styles, icons, images); <a href> links to our own pages
      // (/ledger, /profile/…) load nothing until followed, and must name no host.
      const refs = [...html.matchAll(/<(?:script|link|img|source|iframe)\b[^>]*?\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
      for (const m of html.matchAll(/<a\b[^>]*?\bhref="([^"]+)"/g)) assert.match(m[1], /^(?:\/(?!\/)|#)/, `${page} links to ${m[1]}`);
      assert.ok(refs.some((r) => /^\/assets\/.+\.js$/.test(r)), `no script in ${page}`);
      for (const ref of refs) {
        assert.ok(ref.startsWith('/assets/') || ref.startsWith('data:'), `${page} loads ${ref}`);
      }
    });
  }

  // The server's Content-Security-Policy says `script-src 'self'`: no script in the page itself
  // and no event handler attribute would run.
  for (const page of PAGES) {
    it(`${page} holds no inline script and no inline event handler (CSP script-src 'self')`, () => {
      const html = fs.readFileSync(path.join(dist, page), 'utf8');
      for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
        assert.match(m[1], /\bsrc="/, `${page} has an inline script: ${m[0].slice(0, 120)}`);
        assert.equal(m[2].trim(), '', `${page}: a script with src has a body`);
      }
      const handlers = [...html.matchAll(/<[a-z][^>]*\s(on[a-z]+)\s*=/gi)].map((m) => m[1]);
      assert.deepEqual(handlers, [], `${page} has inline event handlers`);
      assert.ok(!/javascript:/i.test(html), `${page} has a javascript: URL`);
    });
  }

  it('bundles the MapLibre worker and ECharts (nothing from a CDN)', () => {
    const assets = fs.readdirSync(path.join(dist, 'assets'));
    assert.ok(assets.some((f) => /^maplibre-gl-worker.*\.mjs$/.test(f)), 'the MapLibre worker is not in dist/assets');
    const screenJs = assets.filter((f) => f.endsWith('.js')).map((f) => fs.readFileSync(path.join(dist, 'assets', f), 'utf8'));
    assert.ok(screenJs.some((t) => t.includes('zrender') || t.includes('echarts')), 'ECharts is not in dist/assets');
  });

  it('keeps MapLibre out of the profile, ledger and login pages (they draw no map)', () => {
    for (const page of ['profile.html', 'ledger.html', 'login.html']) {
      const html = fs.readFileSync(path.join(dist, page), 'utf8');
      const seen = new Set();
      const todo = [...html.matchAll(/\b(?:src|href)="\/assets\/([^"]+\.js)"/g)].map((m) => m[1]);
      while (todo.length) {
        const f = todo.pop();
        if (seen.has(f)) continue;
        seen.add(f);
        const text = fs.readFileSync(path.join(dist, 'assets', f), 'utf8');
        assert.ok(!/maplibre/i.test(text), `${page} loads ${f}, which holds MapLibre`);
        for (const m of text.matchAll(/(?:from|import)\s*["']\.\/([^"']+\.js)["']/g)) todo.push(m[1]);
      }
    }
  });

  it('names no other host except as text that is never fetched', () => {
    const found = new Map();
    for (const file of files(dist)) {
      if (!/\.(html|js|mjs|css|json)$/.test(file)) continue;
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\b(?:https?|wss?|ftp):\/\/([a-z0-9.-]+)/gi)) {
        const host = m[1].toLowerCase();
        if (!found.has(host)) found.set(host, path.relative(dist, file));
      }
      // Protocol-relative URLs in CSS or markup would load from wherever the page came from:
      // they are the same host, but a CDN one would not be.
      for (const m of text.matchAll(/url\(\s*['"]?\/\/([a-z0-9.-]+)/gi)) found.set(m[1], path.relative(dist, file));
    }
    const unexpected = [...found].filter(([host]) => !(host in NAMED_NOT_LOADED)).map(([h, f]) => `${h} (in ${f})`);
    assert.deepEqual(unexpected, [], 'hosts named by the bundle');
  });

  it('ships the glyphs at dist/fonts/', () => {
    const stacks = fs.readdirSync(path.join(dist, 'fonts'));
    assert.ok(stacks.length >= 2, `font stacks: ${stacks}`);
    for (const s of stacks) assert.ok(fs.existsSync(path.join(dist, 'fonts', s, '0-255.pbf')), `${s}/0-255.pbf`);
  });
});
