#!/usr/bin/env node
// Generates the MapLibre glyph PBFs in public/fonts/ from Debian's Noto Sans CJK SC
// (package fonts-noto-cjk). Run with `npm run glyphs`; the output is committed, so building the
// client needs neither the font nor this script.
//
// Only the ranges MapLibre fetches are generated: Latin, punctuation, digits in circles and the
// like. CJK ideographs, kana, CJK punctuation and full-width forms are never fetched: MapLibre
// draws them in the browser with the local CJK font (see web/README.md, "Fonts").
//
// The signed distance field follows the de-facto standard of fontnik / sdf-glyph-foundry: glyphs
// at 24 px per em, a 3 px buffer, distances scaled by 256/8 per px, the edge at 192; `left` is the
// rounded outline box's left edge from the pen position and `top` its top edge from the line's
// ascender (as FreeType rounds it), which is where MapLibre expects server glyphs to hang from.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import opentype from 'opentype.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, '../public/fonts');

const SIZE = 24; // px per em
const BUFFER = 3; // px of padding around each bitmap (MapLibre assumes 3)
const RADIUS = 8; // px over which the distance field falls from 255 to 0
const CUTOFF = 0.25; // share of the 0..255 scale given to the inside of the outline

/** Font stacks we serve and the file (and family in it) each is drawn from. */
export const STACKS = [
  { name: 'Noto Sans CJK SC Regular', file: '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc' },
  { name: 'Noto Sans CJK SC Bold', file: '/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc' },
];

/** Ranges of 256 code points to generate (first code point of each). */
export const RANGES = [
  0x0000, // Basic Latin, Latin-1 (digits, letters, · × etc.)
  0x0100, // Latin Extended-A/B (pinyin with tone marks)
  0x2000, // General punctuation: — ‘ ’ “ ” … ‰
  0x2100, // Letterlike, number forms: № Ⅰ Ⅱ Ⅲ ℃
  0x2400, // Enclosed alphanumerics: ① ② ③

];

/** Reads one face of a TrueType/OpenType collection (opentype.js reads single fonts only). */
export function loadFace(file, wantFamily) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 4) !== 'ttcf') return opentype.parse(toArrayBuffer(buf));
  const numFonts = buf.readUInt32BE(8);
  for (let i = 0; i < numFonts; i++) {
    const dir = buf.readUInt32BE(12 + 4 * i);
    const numTables = buf.readUInt16BE(dir + 4);
    // Put this face's table directory at the start of a copy; its table offsets are absolute,
    // so the copy reads as a single font. The directories are all before the first table.
    const copy = Buffer.from(buf);
    buf.copy(copy, 0, dir, dir + 12 + 16 * numTables);
    const font = opentype.parse(toArrayBuffer(copy));
    const family = font.names.fontFamily?.en ?? font.names.windows?.fontFamily?.en;
    if (family === wantFamily) return font;
  }
  throw new Error(`${file} holds no face named ${wantFamily}`);
}

function toArrayBuffer(buf) {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
}

/** The outline of a glyph at SIZE px per em as closed rings of points, y up. */
function outlineRings(glyph, scale) {
  const rings = [];
  let ring = null;
  let x0 = 0;
  let y0 = 0;
  const push = (x, y) => ring.push([x, y]);
  // Enough segments that the chord error stays far below a pixel at 24 px.
  const steps = (len) => Math.max(2, Math.min(24, Math.ceil(len / 1.5)));
  for (const c of glyph.path.commands) {
    if (c.type === 'M') {
      if (ring && ring.length > 2) rings.push(ring);
      ring = [];
      x0 = c.x * scale;
      y0 = c.y * scale;
      push(x0, y0);
    } else if (c.type === 'L') {
      x0 = c.x * scale;
      y0 = c.y * scale;
      push(x0, y0);
    } else if (c.type === 'Q') {
      const [x1, y1, x2, y2] = [c.x1 * scale, c.y1 * scale, c.x * scale, c.y * scale];
      const n = steps(Math.hypot(x1 - x0, y1 - y0) + Math.hypot(x2 - x1, y2 - y1));
      for (let i = 1; i <= n; i++) {
        const t = i / n;
        const u = 1 - t;
        push(u * u * x0 + 2 * u * t * x1 + t * t * x2, u * u * y0 + 2 * u * t * y1 + t * t * y2);
      }
      [x0, y0] = [x2, y2];
    } else if (c.type === 'C') {
      const [x1, y1, x2, y2, x3, y3] = [c.x1, c.y1, c.x2, c.y2, c.x, c.y].map((v) => v * scale);
      const n = steps(Math.hypot(x1 - x0, y1 - y0) + Math.hypot(x2 - x1, y2 - y1) + Math.hypot(x3 - x2, y3 - y2));
      for (let i = 1; i <= n; i++) {
        const t = i / n;
        const u = 1 - t;
        push(
          u * u * u * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t * t * t * x3,
          u * u * u * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t * t * t * y3,
        );
      }
      [x0, y0] = [x3, y3];
    } else if (c.type === 'Z') {
      if (ring && ring.length > 2) rings.push(ring);
      ring = null;
    }
  }
  if (ring && ring.length > 2) rings.push(ring);
  for (const r of rings) {
    const [fx, fy] = r[0];
    const [lx, ly] = r[r.length - 1];
    if (fx !== lx || fy !== ly) r.push([fx, fy]);
  }
  return rings;
}

function distToSegmentSq(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const l2 = dx * dx + dy * dy;
  let t = l2 === 0 ? 0 : ((px - ax) * dx + (py - ay) * dy) / l2;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const qx = ax + t * dx - px;
  const qy = ay + t * dy - py;
  return qx * qx + qy * qy;
}

/** Non-zero winding: CFF outlines may overlap, and overlapping contours are still inside. */
function inside(rings, px, py) {
  let winding = 0;
  for (const r of rings) {
    for (let i = 0; i + 1 < r.length; i++) {
      const [ax, ay] = r[i];
      const [bx, by] = r[i + 1];
      if (ay <= py) {
        if (by > py && (bx - ax) * (py - ay) - (px - ax) * (by - ay) > 0) winding++;
      } else if (by <= py && (bx - ax) * (py - ay) - (px - ax) * (by - ay) < 0) winding--;
    }
  }
  return winding !== 0;
}

/** One glyph as MapLibre wants it: metrics plus an SDF bitmap of (w+6)×(h+6) bytes, rows top down. */
export function renderGlyph(font, codePoint) {
  const glyph = font.charToGlyph(String.fromCodePoint(codePoint));
  if (!glyph || glyph.index === 0) return null; // .notdef: the font lacks it
  const scale = SIZE / font.unitsPerEm;
  const ascender = Math.ceil(font.tables.hhea.ascender * scale);
  const advance = Math.round(glyph.advanceWidth * scale);
  const rings = outlineRings(glyph, scale);
  if (rings.length === 0) return { id: codePoint, width: 0, height: 0, left: 0, top: 0, advance };
  let [xmin, ymin, xmax, ymax] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const r of rings) {
    for (const [x, y] of r) {
      xmin = Math.min(xmin, x);
      ymin = Math.min(ymin, y);
      xmax = Math.max(xmax, x);
      ymax = Math.max(ymax, y);
    }
  }
  [xmin, ymin, xmax, ymax] = [Math.round(xmin), Math.round(ymin), Math.round(xmax), Math.round(ymax)];
  const width = xmax - xmin;
  const height = ymax - ymin;
  if (width <= 0 || height <= 0) return { id: codePoint, width: 0, height: 0, left: 0, top: 0, advance };
  const segs = [];
  for (const r of rings) {
    for (const p of r) {
      p[0] += BUFFER - xmin;
      p[1] += BUFFER - ymin;
    }
    for (let i = 0; i + 1 < r.length; i++) segs.push([r[i][0], r[i][1], r[i + 1][0], r[i + 1][1]]);
  }
  const bw = width + 2 * BUFFER;
  const bh = height + 2 * BUFFER;
  const bitmap = new Uint8Array(bw * bh);
  const r2 = RADIUS * RADIUS;
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const px = x + 0.5;
      const py = y + 0.5;
      let best = r2;
      for (const [ax, ay, bx, by] of segs) {
        if (Math.min(ax, bx) - px > RADIUS || px - Math.max(ax, bx) > RADIUS) continue;
        if (Math.min(ay, by) - py > RADIUS || py - Math.max(ay, by) > RADIUS) continue;
        const d2 = distToSegmentSq(px, py, ax, ay, bx, by);
        if (d2 < best) best = d2;
      }
      let d = Math.sqrt(best) * (256 / RADIUS);
      if (inside(rings, px, py)) d = -d;
      d += CUTOFF * 256;
      const n = Math.max(0, Math.min(255, Math.trunc(d)));
      bitmap[(bh - y - 1) * bw + x] = 255 - n; // y up in the outline, rows top down in the bitmap
    }
  }
  return { id: codePoint, bitmap, width, height, left: xmin, top: ymax - ascender, advance };
}

// --- a minimal protobuf writer for glyphs.proto ---
function varint(out, v) {
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}
const zigzag = (v) => (v << 1) ^ (v >> 31);
function key(out, field, wire) {
  varint(out, (field << 3) | wire);
}
function bytesField(out, field, bytes) {
  key(out, field, 2);
  varint(out, bytes.length);
  for (const b of bytes) out.push(b);
}

function encodeGlyph(g) {
  const out = [];
  key(out, 1, 0);
  varint(out, g.id);
  if (g.bitmap) bytesField(out, 2, g.bitmap);
  key(out, 3, 0);
  varint(out, g.width);
  key(out, 4, 0);
  varint(out, g.height);
  key(out, 5, 0);
  varint(out, zigzag(g.left));
  key(out, 6, 0);
  varint(out, zigzag(g.top));
  key(out, 7, 0);
  varint(out, g.advance);
  return out;
}

/** A glyphs message holding one font stack and one range. */
export function encodeRange(stackName, start, glyphs) {
  const stack = [];
  bytesField(stack, 1, Buffer.from(stackName, 'utf8'));
  bytesField(stack, 2, Buffer.from(`${start}-${start + 255}`, 'utf8'));
  for (const g of glyphs) bytesField(stack, 3, encodeGlyph(g));
  const out = [];
  bytesField(out, 1, stack);
  return Uint8Array.from(out);
}

function main() {
  for (const stack of STACKS) {
    const font = loadFace(stack.file, 'Noto Sans CJK SC');
    const dir = path.join(outDir, stack.name);
    fs.mkdirSync(dir, { recursive: true });
    let total = 0;
    for (const start of RANGES) {
      const glyphs = [];
      for (let cp = start; cp < start + 256; cp++) {
        const g = renderGlyph(font, cp);
        if (g) glyphs.push(g);
      }
      const bytes = encodeRange(stack.name, start, glyphs);
      fs.writeFileSync(path.join(dir, `${start}-${start + 255}.pbf`), bytes);
      total += bytes.length;
      console.log(`${stack.name} ${start}-${start + 255}: ${glyphs.length} glyphs, ${bytes.length} bytes`);
    }
    console.log(`${stack.name}: ${total} bytes`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
