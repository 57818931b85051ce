// The styles in styles/ and the glyphs in public/fonts/: valid MapLibre styles, generated from
// scripts/styles.mjs, naming no host, and every font stack they use served for every range
// MapLibre may fetch. Needs no server.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';
import { THEMES, LEVELS, CATEGORIES, CHOROPLETH_CLASSES, EVENTS_SOURCE, styleText, stylesDir } from '../scripts/styles.mjs';
import { STACKS, RANGES, renderGlyph, encodeRange, loadFace } from '../scripts/glyphs.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const fontsDir = path.resolve(here, '../public/fonts');
const require = createRequire(import.meta.url);
const validatorCli = path.join(path.dirname(require.resolve('@maplibre/maplibre-gl-style-spec')), 'gl-style-validate.mjs');

const read = (theme) => JSON.parse(fs.readFileSync(path.join(stylesDir, `${theme}.json`), 'utf8'));

/** Every string anywhere in a JSON value. */
function strings(value, out = []) {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => strings(v, out));
  return out;
}

/** The fields of one protobuf message: [field number, varint or bytes] pairs. */
function fields(buf) {
  const out = [];
  let pos = 0;
  const varint = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = buf[pos++];
      v += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return v;
    }
  };
  while (pos < buf.length) {
    const key = varint();
    if ((key & 7) === 0) out.push([key >> 3, varint()]);
    else if ((key & 7) === 2) {
      const len = varint();
      out.push([key >> 3, buf.subarray(pos, pos + len)]);
      pos += len;
    } else throw new Error(`unexpected wire type ${key & 7}`);
  }
  return out;
}

/** Decodes a glyphs PBF (glyphs.proto) into [{name, range, glyphs: [{id, bitmap, width, ...}]}]. */
function decodeGlyphPbf(buf) {
  const unzig = (n) => (n >>> 1) ^ -(n & 1);
  const names = { 1: 'id', 2: 'bitmap', 3: 'width', 4: 'height', 5: 'left', 6: 'top', 7: 'advance' };
  return fields(buf)
    .filter(([f]) => f === 1)
    .map(([, stackBytes]) => {
      const stack = { glyphs: [] };
      for (const [f, v] of fields(stackBytes)) {
        if (f === 1) stack.name = Buffer.from(v).toString('utf8');
        else if (f === 2) stack.range = Buffer.from(v).toString('utf8');
        else if (f === 3) {
          const g = { bitmap: new Uint8Array(0) };
          for (const [gf, gv] of fields(v)) g[names[gf]] = gf === 5 || gf === 6 ? unzig(gv) : gv;
          stack.glyphs.push(g);
        }
      }
      return stack;
    });
}

describe('styles', () => {
  for (const theme of THEMES) {
    it(`${theme}.json is a valid MapLibre style (style-spec validator)`, () => {
      const errors = validateStyleMin(read(theme));
      assert.deepEqual(errors.map((e) => e.message), []);
      // The package's command-line validator too: it also parses the file with line numbers.
      const out = execFileSync(process.execPath, [validatorCli, path.join(stylesDir, `${theme}.json`)], { encoding: 'utf8' });
      assert.equal(out.trim(), '');
    });

    it(`${theme}.json is what scripts/styles.mjs generates (run npm run styles)`, () => {
      assert.equal(fs.readFileSync(path.join(stylesDir, `${theme}.json`), 'utf8'), styleText(theme));
    });

    it(`${theme}.json names no host: every URL is root-relative to our server`, () => {
      const style = read(theme);
      assert.ok(!strings(style).some((s) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s) || s.startsWith('//')), 'absolute URL in the style');
      assert.ok(!('sprite' in style), 'sprites are not served');
      assert.match(style.glyphs, /^\/fonts\/\{fontstack\}\/\{range\}\.pbf$/);
      for (const [id, source] of Object.entries(style.sources)) {
        if (source.type === 'vector') {
          assert.equal(source.url, `/tiles/${id}`, `source ${id}`);
          assert.ok(!source.tiles, `source ${id} lists tile URLs itself`);
        } else {
          assert.equal(source.type, 'geojson', `source ${id}`);
          assert.equal(typeof source.data, 'object', `source ${id} must hold its data inline`);
        }
      }
    });
  }

  it('the validator catches a broken style (it is really run)', () => {
    const broken = read('light');
    broken.layers.push({ id: 'x', type: 'fill', source: 'nowhere', 'source-layer': 'x' });
    broken.layers[0].paint['background-color'] = 'not-a-colour';
    const messages = validateStyleMin(broken).map((e) => e.message);
    assert.ok(messages.some((m) => /not-a-colour/.test(m)), messages.join('; '));
    assert.ok(messages.some((m) => /nowhere/.test(m)), messages.join('; '));
  });

  it('both styles have the layers and sources the client relies on', () => {
    const [light, dark] = THEMES.map(read);
    assert.deepEqual(light.layers.map((l) => l.id), dark.layers.map((l) => l.id));
    assert.deepEqual(Object.keys(light.sources), Object.keys(dark.sources));
    const ids = new Set(light.layers.map((l) => l.id));
    for (const level of LEVELS) {
      for (const suffix of ['hover', 'line', 'label']) assert.ok(ids.has(`${level}-${suffix}`), `${level}-${suffix}`);
    }
    for (const id of ['selection', 'probe']) assert.equal(light.sources[id].type, 'geojson');
    for (const layer of light.layers) {
      if (layer.source && layer.source !== 'selection' && layer.source !== 'probe') {
        assert.equal(layer.metadata?.['onemap:group'] !== undefined, true, `${layer.id} belongs to no level of the layer switcher`);
      }
    }
  });
});

describe('event layers', () => {
  for (const theme of THEMES) {
    it(`${theme}.json has the event source, heat, points and choropleth, hidden until turned on`, () => {
      const style = read(theme);
      assert.deepEqual(style.sources[EVENTS_SOURCE], { type: 'vector', url: '/tiles/events', attribution: '事件：onemap' });
      const byId = Object.fromEntries(style.layers.map((l) => [l.id, l]));
      const want = { 'events-heat': 'heatmap', 'events-point': 'circle', 'village-events': 'fill', 'grid-events': 'fill' };
      for (const [id, type] of Object.entries(want)) {
        const layer = byId[id];
        assert.ok(layer, `no layer ${id}`);
        assert.equal(layer.type, type, id);
        assert.equal(layer.layout?.visibility, 'none', `${id} should start hidden`);
        assert.equal(layer.metadata['onemap:group'], 'events', id);
      }
      assert.equal(byId['events-heat']['source-layer'], 'events');
      assert.equal(byId['village-events'].source, 'areas');
      // The heat is weighted by the cells' count; the points are coloured by every category.
      assert.ok(JSON.stringify(byId['events-heat'].paint['heatmap-weight']).includes('"count"'));
      const colour = byId['events-point'].paint['circle-color'];
      for (const c of CATEGORIES) assert.ok(colour.includes(c), `no colour for ${c}`);
      // The choropleth has a colour for "no events" and for each class the client sets.
      const fill = byId['village-events'].paint['fill-color'];
      for (let b = 0; b <= CHOROPLETH_CLASSES; b++) assert.ok(fill.includes(b), `no colour for bucket ${b}`);
      // Heat under the names: it must not hide the labels.
      const ids = style.layers.map((l) => l.id);
      assert.ok(ids.indexOf('events-heat') < ids.indexOf('village-label'));
      assert.ok(ids.indexOf('village-events') < ids.indexOf('village-line'));
    });
  }
});

describe('glyphs', () => {
  const fontsUsed = new Set();
  for (const theme of THEMES) {
    for (const layer of read(theme).layers) {
      const font = layer.layout?.['text-font'];
      if (font) fontsUsed.add(font.join(','));
    }
  }

  it('every font stack the styles use is served for every range we ship', () => {
    assert.ok(fontsUsed.size > 0);
    for (const stack of fontsUsed) {
      assert.ok(STACKS.some((s) => s.name === stack), `no glyphs are generated for "${stack}"`);
      for (const start of RANGES) {
        const file = path.join(fontsDir, stack, `${start}-${start + 255}.pbf`);
        assert.ok(fs.existsSync(file), `missing ${path.relative(fontsDir, file)}`);
      }
    }
  });

  it('the PBFs decode into SDF glyphs MapLibre can place (digits, letters, punctuation)', () => {
    for (const stack of fontsUsed) {
      const [decoded] = decodeGlyphPbf(fs.readFileSync(path.join(fontsDir, stack, '0-255.pbf')));
      assert.equal(decoded.name, stack);
      assert.equal(decoded.range, '0-255');
      const byId = new Map(decoded.glyphs.map((g) => [g.id, g]));
      for (const ch of '0123456789ABCXYZabcxyz-()#') {
        const g = byId.get(ch.codePointAt(0));
        assert.ok(g, `${stack} lacks ${ch}`);
        assert.equal(g.bitmap.length, (g.width + 6) * (g.height + 6), `${ch}: bitmap size`);
        assert.ok(g.advance > 4 && g.advance < 24, `${ch}: advance ${g.advance}`);
        // Hung from the ascender (28 px at 24 px per em), never from the baseline.
        assert.ok(g.top <= 0 && g.top > -32, `${ch}: top ${g.top}`);
        if (/[0-9]/.test(ch)) assert.ok(g.top >= -12 && g.top <= -8, `digit ${ch}: top ${g.top}`);
        // An SDF: some pixels inside the edge (>= 192), some well outside it.
        assert.ok(g.bitmap.some((v) => v >= 192) && g.bitmap.some((v) => v < 100), `${ch}: not a distance field`);
      }
      const space = byId.get(32);
      assert.ok(space && space.width === 0 && space.advance > 0, 'space has an advance and no bitmap');
    }
  });

  it('the committed PBFs are what scripts/glyphs.mjs makes from Debian\'s font (reproducible)', (t) => {
    const stack = STACKS[0];
    if (!fs.existsSync(stack.file)) {
      // scripts/setup --test installs fonts-noto-cjk; without it there is nothing to compare.
      t.skip(`${stack.file} is not installed (Debian package fonts-noto-cjk)`);
      return;
    }
    const font = loadFace(stack.file, 'Noto Sans CJK SC');
    const start = 0;
    const glyphs = [];
    for (let cp = start; cp < start + 256; cp++) {
      const g = renderGlyph(font, cp);
      if (g) glyphs.push(g);
    }
    const made = Buffer.from(encodeRange(stack.name, start, glyphs));
    const committed = fs.readFileSync(path.join(fontsDir, stack.name, '0-255.pbf'));
    assert.ok(made.equals(committed), 'public/fonts differs from the generator: run npm run glyphs and commit');
  });
});
