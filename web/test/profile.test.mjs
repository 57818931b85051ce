// Village profiles (一村一档) and the ledgers (一张表) in a real browser against a real onemap
// server: headless Debian Chromium via playwright-core, the server at ONEMAP_URL (scripts/test
// starts one on the demo city). The map's side panel shows the 村情档案 of 东星社区 with a link
// to its profile page; the profile page shows the introduction, the event figures as a chart, and
// the three lists; a problem is promoted to the development list; the resident population is
// edited and saved, the server's 400 and 409 answers are shown in the form; the history diffs two
// versions; the print layout hides the controls. The ledger page, signed in as the 分析员 (who
// may not see personal data), previews people in 荔城区 with a tag, masks ID numbers, pages, and
// downloads the CSV. Fails on any console error, failed
// request or request to another host, except the 400 and 409 this test provokes on purpose.
// The pure parts (URL, labels, messages, query body) are checked in Node first.
//
// Screenshots go to web/test-output/ (ignored by git): panel-archive.png, profile-light.png,
// profile-invalid.png, profile-conflict.png, profile-dark.png, profile-print.png and
// profile-print.pdf, ledger-preview.png, ledger-dark.png; the CSV to ledger-people.csv.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { authFetch, guard, launch, sessionFor, signInContext } from './chromium.mjs';
import { codeFromLocation, diffValue, editedIntroduction, overdue, parseCount, pathLabel, saveErrorText, stateInfo } from '../src/profile/model.js';
import { VALUE_LABELS, buildQuery, cellText, csvFileName, hasNext, localToRfc3339, pageText, valueLabel } from '../src/ledger/model.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, '../test-output');
const BASE = process.env.ONEMAP_URL?.replace(/\/+$/, '');
/** The demo account that may not see personal data (--demo-accounts): the ledger's masks. */
const ANALYST = { name: 'analyst', password: 'demo-analyst' };
const WAIT_MS = 120_000;

// Known places of the demo city (seed 3503).
const VILLAGE = { code: '350304100001', name: '东星社区' };
const DISTRICT = { code: '350304', name: '荔城区' };
const fmt = (n) => new Intl.NumberFormat('zh-CN').format(n);

describe('profile and ledger pages: pure parts', () => {
  it('reads the area from the URL', () => {
    assert.equal(codeFromLocation('/profile/350304100001'), '350304100001');
    assert.equal(codeFromLocation('/profile/350304100/'), '350304100');
    assert.equal(codeFromLocation('/profile.html', '?area=350304100001'), '350304100001');
    assert.equal(codeFromLocation('/profile/abc'), null);
    assert.equal(codeFromLocation('/profile'), null);
  });

  it('names states, diff paths and values in Chinese', () => {
    assert.deepEqual(stateInfo('development', 'in_progress'), { label: '实施中', tone: 'doing' });
    assert.deepEqual(stateInfo('problems', 'promoted'), { label: '已转办', tone: 'off' });
    assert.deepEqual(stateInfo('tasks', 'weird'), { label: 'weird', tone: 'off' });
    assert.equal(pathLabel('introduction.population.resident'), '村情简介 · 人口 · 常住');
    assert.equal(pathLabel('introduction.committee[0].name'), '村情简介 · 村（居）两委 第1项 · 姓名');
    assert.equal(diffValue(null), '（无）');
    assert.equal(diffValue({ a: 1 }), '{"a":1}');
    assert.equal(overdue({ deadline: '2026-01-01', state: 'active' }, '2026-12-03'), true);
    assert.equal(overdue({ deadline: '2026-01-01', state: 'done' }, '2026-12-03'), false);
    assert.equal(overdue({ deadline: null, state: 'active' }, '2026-12-03'), false);
  });

  it('reads the edit form and keeps the rest of the introduction', () => {
    assert.deepEqual(parseCount(' 2,850 '), { value: 2850 });
    assert.deepEqual(parseCount(''), { value: null });
    assert.ok(parseCount('2.5').error);
    assert.ok(parseCount('很多').error);
    const intro = { summary: 'a', population: { registered: 1, resident: 2 }, households: 3, party: { members: 4, branches: 1 }, committee: [{ role: '书记', name: '甲', phone: '138****1234' }] };
    const next = editedIntroduction(intro, { resident: 5, summary: 'b' });
    assert.deepEqual(next.population, { registered: 1, resident: 5 });
    assert.equal(next.summary, 'b');
    assert.equal(next.committee[0].phone, '138****1234', 'a masked phone goes back as it came');
    assert.equal(intro.population.resident, 2, 'the loaded introduction is not changed');
    assert.equal('area_km2' in editedIntroduction({ area_km2: 2.3 }, {}), false, 'area_km2 is read-only');
  });

  it('words the refusals: 409 with the current version, 400 with each field', () => {
    const conflict = saveErrorText({ status: 409, body: { error: { code: 'version_conflict', message: 'x', current_version: 7 } }, error: { code: 'version_conflict', current_version: 7 } });
    assert.equal(conflict.title, '档案已被他人修改（当前版本 7），请刷新后重试');
    const inDetails = saveErrorText({ status: 409, error: { code: 'version_conflict', details: { current_version: 8 } } });
    assert.equal(inDetails.title, '档案已被他人修改（当前版本 8），请刷新后重试');
    const errors = [{ path: 'introduction.population.resident', message: '应为 0 到 10000000 的整数' }];
    const invalid = saveErrorText({ status: 400, message: 'x', error: { code: 'invalid_profile', details: { errors } } });
    assert.deepEqual(invalid.items, ['村情简介 · 人口 · 常住：应为 0 到 10000000 的整数']);
    // The server puts them beside code and message (error.errors): read both.
    assert.deepEqual(saveErrorText({ status: 400, message: 'x', error: { code: 'invalid_profile', errors } }).items, invalid.items);
  });

  it('builds the ledger query from the form', () => {
    const ledger = { fields: [{ name: 'age', type: 'int' }, { name: 'tags', type: 'tags' }, { name: 'reported_at', type: 'time' }] };
    const q = buildQuery(
      ledger,
      {
        fields: ['name', 'id_number'],
        area: ' 350304 ',
        tags: { tags: { mode: 'all', values: ['独居老人'] } },
        ranges: { age: { min: '60', max: '' }, reported_at: { min: '', max: '2026-11-30T18:00' } },
        in: { sex: ['女'], other: [] },
        contains: { name: ' 林 ', address: '' },
        updatedSince: '2026-01-01',
        sort: { field: 'age', dir: 'desc' },
      },
      { offset: 50 },
    );
    assert.deepEqual(q, {
      fields: ['name', 'id_number'],
      filters: {
        area: '350304',
        tags: { all: ['独居老人'] },
        ranges: { age: { min: 60 }, reported_at: { max: '2026-11-30T18:00:00+08:00' } },
        in: { sex: ['女'] },
        contains: { name: '林' },
        updated_since: '2026-01-01T00:00:00+08:00',
      },
      sort: [{ field: 'age', dir: 'desc' }],
      page: { size: 50, offset: 50 },
      count: true,
    });
    assert.deepEqual(buildQuery(ledger, { fields: ['name'] }).filters, {});
    assert.equal(localToRfc3339('2026-11-30'), '2026-11-30T00:00:00+08:00');
  });

  it('formats cells, pages and the CSV file name', () => {
    assert.equal(cellText(['独居老人', '低保户']), '独居老人、低保户');
    assert.equal(cellText(null), '—');
    assert.equal(cellText(1999, 'int'), '1999');
    assert.equal(cellText('closed', 'enum', VALUE_LABELS['events.status']), '已结案');
    assert.equal(valueLabel('projects', 'state', 'in_progress'), '实施中');
    assert.equal(valueLabel('people', 'sex', '女'), '女');
    assert.equal(pageText(50, 50, 1234), '第 51–100 条，共 1,234 条');
    assert.equal(hasNext(50, 50, 50, 100), false);
    assert.equal(hasNext(0, 50, 50, undefined), true);
    assert.equal(csvFileName(`attachment; filename="people.csv"; filename*=UTF-8''%E4%BA%BA%E5%8F%A3.csv`, '人口', '2026-12-03'), '人口.csv');
    assert.equal(csvFileName('attachment; filename="people.csv"', '人口', '2026-12-03'), 'people.csv');
    assert.equal(csvFileName(null, '人口', '2026-12-03'), '人口_20261203.csv');
  });
});

describe('profiles and ledgers in headless Chromium', { timeout: 20 * 60_000 }, () => {
  let browser;
  let context;
  let page;
  const requests = [];
  const foreign = [];
  const consoleErrors = [];
  const httpErrors = [];
  /** Answers this test provokes on purpose: [status, path], each expected at most `times`. */
  const provoked = [];

  before(async () => {
    assert.ok(BASE, 'ONEMAP_URL is not set: run the browser test through scripts/test, or point ONEMAP_URL at a running onemap server');
    fs.mkdirSync(outDir, { recursive: true });
    // The server may still be loading the demo city: wait for /readyz, within reason.
    let ready = await fetch(`${BASE}/readyz`).catch(() => null);
    for (const until = Date.now() + 300_000; ready?.status !== 200 && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 1000));
      ready = await fetch(`${BASE}/readyz`).catch(() => null);
    }
    assert.equal(ready?.status, 200, `${BASE}/readyz did not answer 200`);
    const res = await authFetch(`${BASE}/api/areas/${VILLAGE.code}/profile`);
    assert.equal(res.status, 200, `GET /api/areas/${VILLAGE.code}/profile answered ${res.status}: does this server have the profiles (docs/PROFILES.md) and the demo data?`);

    browser = await launch();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'zh-CN', deviceScaleFactor: 1, acceptDownloads: true });
    await guard(context, new URL(BASE).host, { requests, foreign, errors: httpErrors });
    await signInContext(context, BASE);
    page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
  });

  after(async () => {
    await browser?.close();
  });

  async function api(pathAndQuery, init) {
    const res = await authFetch(`${BASE}${pathAndQuery}`, init);
    const body = await res.json();
    assert.ok(res.ok, `${init?.method || 'GET'} ${pathAndQuery} answered ${res.status}: ${JSON.stringify(body)}`);
    return body;
  }

  const profileUrl = `/api/areas/${VILLAGE.code}/profile`;

  /** Opens the edit form (编辑 toggles it). */
  async function openForm() {
    if (await page.isHidden('#pf-edit')) await page.click('#pf-edit-open');
    await page.locator('#pf-edit').waitFor({ state: 'visible', timeout: WAIT_MS });
  }

  it('the map panel shows the 村情档案 of 东星社区 and links to its profile', async () => {
    const profile = await api(profileUrl);
    await page.goto(`${BASE}/?test=1&style=light&area=${VILLAGE.code}`);
    await page.waitForFunction((name) => document.querySelector('#panel .area-name')?.textContent === name, VILLAGE.name, { timeout: WAIT_MS });
    const section = page.locator('#panel [data-field="archive"]');
    await section.locator('.archive-stats').waitFor({ timeout: WAIT_MS });
    assert.equal(await section.locator('h3').textContent(), '村情档案');
    const value = async (field) => (await section.locator(`[data-field="${field}"] .archive-value`).textContent()).replace(/[^\d,]/g, '');
    assert.equal(await value('registered'), fmt(profile.introduction.population.registered));
    assert.equal(await value('resident'), fmt(profile.introduction.population.resident));
    assert.equal(await value('households'), fmt(profile.introduction.households));
    assert.equal(await value('party'), fmt(profile.introduction.party.members));
    for (const list of ['development', 'problems', 'tasks']) {
      assert.equal(await value(list), fmt(profile.counts[list]), `count of ${list}`);
    }
    const link = section.locator('a.profile-link');
    assert.equal(await link.textContent(), '查看完整档案');
    assert.equal(await link.getAttribute('href'), `/profile/${VILLAGE.code}`);
    // The panel writes no stray "null" where a section does not apply.
    assert.ok(!(await page.textContent('#panel')).includes('null'), 'the panel shows "null"');
    await page.screenshot({ path: path.join(outDir, 'panel-archive.png') });
  });

  it('the ledger link is in the sidebar', async () => {
    assert.equal(await page.getAttribute('#link-ledger', 'href'), '/ledger');
    assert.ok(await page.isVisible('#link-ledger'));
  });

  it('the profile page shows the introduction and the three lists', async () => {
    await page.click('#panel a.profile-link');
    await page.waitForURL(`${BASE}/profile/${VILLAGE.code}`, { timeout: WAIT_MS });
    await page.waitForFunction(() => window.onemapProfile?.ready, null, { timeout: WAIT_MS });
    const profile = await api(profileUrl);
    assert.match(await page.textContent('#pf-header [data-field="name"]'), new RegExp(`^${VILLAGE.name}`));
    assert.equal(await page.textContent('#pf-header [data-field="version"]'), `第 ${profile.version} 版`);
    const chain = await page.locator('#pf-header .chain li').allTextContents();
    assert.deepEqual(chain.slice(-2), [profile.parent.name, VILLAGE.name]);
    const stat = async (field) => (await page.textContent(`#pf-intro [data-field="${field}"] .stat-value`)).replace(/[^\d,.]/g, '');
    assert.equal(await stat('resident'), fmt(profile.introduction.population.resident));
    assert.equal(await stat('households'), fmt(profile.introduction.households));
    const committee = profile.introduction.committee || [];
    assert.equal(await page.locator('#pf-intro [data-field="committee"] tbody tr').count(), committee.length);
    for (const phone of await page.locator('#pf-intro [data-field="phone"]').allTextContents()) {
      assert.ok(phone === '—' || phone.includes('*'), `a phone is shown unmasked: ${phone}`);
    }
    if (profile.introduction.summary) assert.equal(await page.textContent('#pf-intro [data-field="summary"]'), profile.introduction.summary);

    for (const list of ['development', 'problems', 'tasks']) {
      const { items } = await api(`/api/areas/${VILLAGE.code}/${list}`);
      assert.ok(items.length >= 1, `the demo data gives ${VILLAGE.name} no ${list}`);
      const ids = await page.locator(`#pf-${list} .item`).evaluateAll((nodes) => nodes.map((n) => n.dataset.id));
      assert.deepEqual(ids, items.map((i) => String(i.id)), `the ${list} list`);
      const first = page.locator(`#pf-${list} .item`).first();
      assert.equal(await first.locator('.item-title').textContent(), items[0].title);
      assert.ok(await first.locator('.badge').first().textContent(), 'no state badge');
    }
    // Development items have a progress bar when they carry a progress.
    const { items: dev } = await api(`/api/areas/${VILLAGE.code}/development`);
    const withProgress = dev.filter((d) => typeof d.progress === 'number').length;
    assert.equal(await page.locator('#pf-development .progress').count(), withProgress);
  });

  it('the figures are drawn: events per month as an SVG chart', async () => {
    assert.ok(
      requests.some((u) => new URL(u).pathname === `/api/areas/${VILLAGE.code}/profile/figures`),
      'the page never asked for the figures',
    );
    const figures = await api(`${profileUrl}/figures`);
    assert.equal(figures.months.length, 12, 'figures: 12 months');
    await page.waitForFunction(() => window.onemapProfile.chartsDrawn, null, { timeout: WAIT_MS });
    const box = await page.locator('#chart-months svg').boundingBox();
    assert.ok(box && box.width > 200 && box.height > 100, `the month chart is ${JSON.stringify(box)}`);
    const shapes = await page.locator('#chart-months svg path').count();
    assert.ok(shapes >= 12, `the month chart has only ${shapes} shapes`);
    const axis = await page.evaluate(() => window.onemapProfile.charts.months.getOption().xAxis[0].data.length);
    assert.equal(axis, 12);
    assert.match(await page.textContent('#pf-kpis [data-field="total"]'), new RegExp(fmt(figures.total)));
    const hotspots = await page.locator('#pf-hotspots li').count();
    assert.ok(hotspots >= 1);
    await page.screenshot({ path: path.join(outDir, 'profile-light.png'), fullPage: true });
  });

  it('a problem promoted to the development list appears there', async () => {
    const { items: problems } = await api(`/api/areas/${VILLAGE.code}/problems`);
    let candidate = problems.find((p) => p.state !== 'promoted' && p.state !== 'resolved' && !p.promoted_to);
    if (!candidate) {
      // A database this test ran on before may have none left: file one, and load it.
      candidate = await api(`/api/areas/${VILLAGE.code}/problems`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: '浏览器测试：待转办问题', state: 'open', description: '由浏览器测试创建' }),
      });
      await page.reload();
      await page.waitForFunction(() => window.onemapProfile?.ready, null, { timeout: WAIT_MS });
    }
    const card = page.locator(`#pf-problems .item[data-id="${candidate.id}"]`);
    await card.locator('button[data-to="development"]').click();
    const created = page.locator(`#pf-development .item[data-origin="problems:${candidate.id}"]`);
    await created.waitFor({ timeout: WAIT_MS });
    assert.equal(await created.locator('.item-title').textContent(), candidate.title);
    assert.match(await created.locator('[data-field="origin"]').textContent(), /由问题清单/);
    await page.waitForFunction((id) => document.querySelector(`#pf-problems .item[data-id="${id}"]`)?.dataset.state === 'promoted', candidate.id, { timeout: WAIT_MS });
    assert.equal(await page.locator(`#pf-problems .item[data-id="${candidate.id}"] button[data-action="promote"]`).count(), 0, 'a promoted problem still offers promotion');
    const after = (await api(`/api/areas/${VILLAGE.code}/problems`)).items.find((p) => p.id === candidate.id);
    assert.equal(after.state, 'promoted');
    assert.equal(after.promoted_to?.list, 'development');
  });

  it('edits the resident population and saves a new version', async () => {
    const before = await api(profileUrl);
    const resident = before.introduction.population.resident + 7;
    await openForm();
    await page.fill('#pf-edit input[name="resident"]', String(resident));
    await page.fill('#pf-edit input[name="note"]', '浏览器测试：更新常住人口');
    // Who saves: the signed-in user, shown in the form (nobody types a name).
    const { user } = await sessionFor(BASE);
    assert.equal(await page.textContent('#pf-edit [data-field="editor"]'), user.name);
    await page.click('#pf-edit button[type="submit"]');
    await page.waitForFunction((v) => document.querySelector('#pf-header [data-field="version"]')?.textContent === `第 ${v} 版`, before.version + 1, { timeout: WAIT_MS });
    assert.equal(await page.isHidden('#pf-edit'), true, 'the form stays open after saving');
    assert.equal((await page.textContent('#pf-intro [data-field="resident"] .stat-value')).replace(/[^\d,]/g, ''), fmt(resident));
    const after = await api(profileUrl);
    assert.equal(after.version, before.version + 1);
    assert.equal(after.introduction.population.resident, resident);
    assert.equal(after.note, '浏览器测试：更新常住人口');
    assert.equal(after.updated_by, user.name);
    assert.ok((await page.textContent('#pf-header [data-field="updated"]')).endsWith(user.name), 'the header names who saved');
    // The masked phones went back masked: the stored ones are kept, so they read the same.
    assert.deepEqual(
      (after.introduction.committee || []).map((c) => c.phone),
      (before.introduction.committee || []).map((c) => c.phone),
    );
  });

  it('shows the fields the server refuses (400 invalid_profile)', async () => {
    provoked.push([400, profileUrl]);
    await openForm();
    await page.fill('#pf-edit input[name="resident"]', '20000000');
    await page.click('#pf-edit button[type="submit"]');
    const box = page.locator('#pf-edit-error');
    await box.locator('[data-field="invalid"]').waitFor({ timeout: WAIT_MS });
    const items = await box.locator('li').allTextContents();
    assert.ok(items.some((t) => t.startsWith('村情简介 · 人口 · 常住：')), `the refusal lists ${JSON.stringify(items)}`);
    await page.locator('#pf-edit').screenshot({ path: path.join(outDir, 'profile-invalid.png') });
    await page.click('#pf-edit-cancel');
  });

  it('a stale page gets the version-conflict message when it saves (409)', async () => {
    provoked.push([409, profileUrl]);
    if (await page.isVisible('#pf-edit')) await page.click('#pf-edit-cancel');
    await openForm(); // it starts from the version the page shows
    const base = await page.evaluate(() => window.onemapProfile.state.editBase);
    // Someone else saves behind the page's back (households + 1).
    const saved = await page.evaluate(async (url) => {
      const current = await (await fetch(url)).json();
      const introduction = { ...current.introduction, households: current.introduction.households + 1 };
      delete introduction.area_km2; // read-only (computed from the map)
      // A state-changing request carries the session's CSRF token (the readable cookie).
      const csrf = decodeURIComponent(/(?:^|;\s*)onemap_csrf=([^;]*)/.exec(document.cookie)?.[1] || '');
      const res = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify({ version: current.version, introduction, note: '他人修改' }) });
      return { status: res.status, body: await res.json() };
    }, profileUrl);
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    assert.equal(saved.body.version, base + 1);
    const stale = saved.body.introduction.population.resident + 1000;
    await page.fill('#pf-edit input[name="resident"]', String(stale));
    await page.click('#pf-edit button[type="submit"]');
    const conflict = page.locator('#pf-edit-error [data-field="conflict"]');
    await conflict.waitFor({ timeout: WAIT_MS });
    assert.equal(await conflict.textContent(), `档案已被他人修改（当前版本 ${base + 1}），请刷新后重试`);
    await page.locator('#pf-intro').screenshot({ path: path.join(outDir, 'profile-conflict.png') });
    // Nothing was stored from the stale page.
    const now = await api(profileUrl);
    assert.equal(now.version, base + 1);
    assert.equal(now.introduction.population.resident, saved.body.introduction.population.resident);
    // 刷新档案 loads the other's version.
    await page.click('#pf-edit-error button');
    await page.waitForFunction((v) => document.querySelector('#pf-header [data-field="version"]')?.textContent === `第 ${v} 版`, base + 1, { timeout: WAIT_MS });
    assert.equal(await page.isHidden('#pf-edit'), true);
  });

  it('the history lists the versions and diffs the last two', async () => {
    const { versions } = await api(`${profileUrl}/history`);
    assert.ok(versions.length >= 3, `only ${versions.length} versions`);
    await page.waitForFunction((n) => document.querySelectorAll('#pf-versions tbody tr').length === n, versions.length, { timeout: WAIT_MS });
    assert.equal(await page.getAttribute('#pf-versions tbody tr:first-child', 'data-version'), String(versions[0].version));
    await page.locator('#pf-versions tbody tr:first-child button').click();
    const row = page.locator('#pf-diff tr[data-path="introduction.households"]');
    await row.waitFor({ timeout: WAIT_MS });
    const cells = await row.locator('td').allTextContents();
    const diff = await api(`${profileUrl}/diff?from=${versions[1].version}&to=${versions[0].version}`);
    const change = diff.changes.find((c) => c.path === 'introduction.households');
    assert.ok(change, JSON.stringify(diff));
    assert.equal(cells[1], String(change.from));
    assert.equal(cells[2], String(change.to));
  });

  it('prints on A4 without buttons, forms or navigation', async () => {
    await page.evaluate(() => {
      window.__printed = 0;
      window.print = () => window.__printed++;
    });
    await page.click('#pf-print');
    assert.equal(await page.evaluate(() => window.__printed), 1, '打印 does not call window.print()');
    await page.emulateMedia({ media: 'print' });
    for (const sel of ['#pf-print', '#pf-edit-open', '.topbar', '.pf-toc', '#pf-history', '#pf-problems button']) {
      const visible = await page.locator(sel).evaluateAll((nodes) => nodes.filter((n) => n.getClientRects().length > 0 && getComputedStyle(n).display !== 'none' && getComputedStyle(n).visibility !== 'hidden').length);
      assert.equal(visible, 0, `${sel} shows in print`);
    }
    assert.ok(await page.isVisible('#pf-development .item'), 'the lists are not printed');
    const chart = await page.locator('#chart-months svg').boundingBox();
    assert.ok(chart && chart.width > 100 && chart.height > 50, 'the month chart is not printed');
    assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('.item')).breakInside), 'avoid');
    await page.screenshot({ path: path.join(outDir, 'profile-print.png'), fullPage: true });
    await page.pdf({ path: path.join(outDir, 'profile-print.pdf'), format: 'A4', printBackground: true, preferCSSPageSize: true });
    await page.emulateMedia({ media: 'screen' });
  });

  it('the dark theme redraws the charts', async () => {
    await page.click('[data-theme-choice="dark"]');
    assert.equal(await page.getAttribute('body', 'data-theme'), 'dark');
    await page.waitForFunction(() => window.onemapProfile.charts.months.getOption().legend[0].textStyle.color === '#a9bdd6', null, { timeout: WAIT_MS });
    await page.screenshot({ path: path.join(outDir, 'profile-dark.png'), fullPage: true });
    await page.click('[data-theme-choice="light"]');
  });

  let ledgerMeta;
  let tag;
  let expectedTotal;

  it('the ledger page previews people in 荔城区 with a tag, ID numbers masked', async () => {
    const { ledgers } = await api('/api/ledgers');
    ledgerMeta = ledgers.find((l) => l.name === 'people');
    assert.ok(ledgerMeta, 'no people ledger');
    const tagField = ledgerMeta.fields.find((f) => f.filter === 'tags');
    assert.ok(tagField?.values?.length, 'the people ledger has no tags field with values');
    assert.ok(ledgerMeta.fields.some((f) => f.name === 'id_number' && f.personal), 'people.id_number is not personal');
    const fields = [...new Set([...ledgerMeta.default_fields, 'id_number'])];
    // A tag that someone in 荔城区 has.
    for (const t of tagField.values) {
      const body = await api('/api/ledgers/people/query', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fields, filters: { area: DISTRICT.code, tags: { any: [t] } }, page: { size: 1, offset: 0 }, count: true }),
      });
      if (body.total > 0) {
        tag = t;
        expectedTotal = body.total;
        break;
      }
    }
    assert.ok(tag, `nobody in ${DISTRICT.name} has any tag`);

    // Personal fields are masked for an account that may not see them (分析员); the city's
    // administrator, whom the other tests sign in as, sees them in full.
    const analyst = await signInContext(context, BASE, ANALYST);
    assert.equal(analyst.user.may_see_personal, false, 'the analyst may see personal data');
    await page.goto(`${BASE}/ledger`);
    await page.waitForFunction(() => window.onemapLedger?.ready, null, { timeout: WAIT_MS });
    assert.equal(await page.textContent('#userbox [data-field="user-name"]'), ANALYST.name);
    await page.selectOption('#lg-ledger', 'people');
    const ticked = await page.locator('#lg-fields input[name="field"]:checked').evaluateAll((ns) => ns.map((n) => n.value));
    assert.deepEqual(ticked, ledgerMeta.fields.map((f) => f.name).filter((n) => ledgerMeta.default_fields.includes(n)), 'default fields are not ticked');
    await page.check('#lg-fields input[value="id_number"]');
    // The area by search: type the code, pick 荔城区 from the list.
    await page.fill('#lg-area', DISTRICT.code);
    const option = page.locator(`#lg-area-results li[data-code="${DISTRICT.code}"]`);
    await option.waitFor({ timeout: WAIT_MS });
    await option.dispatchEvent('mousedown');
    assert.equal(await page.textContent('#lg-area-picked'), `${DISTRICT.name} · ${DISTRICT.code}`);
    await page.check(`#lg-filters input[data-tags="${tagField.name}"][value="${tag}"]`);
    await page.click('#lg-preview');
    await page.locator('#lg-table tbody tr').first().waitFor({ timeout: WAIT_MS });
    await page.waitForFunction(() => document.querySelector('#lg-summary [data-field="total"]'), null, { timeout: WAIT_MS });

    assert.equal(await page.textContent('#lg-summary [data-field="total"]'), `共 ${fmt(expectedTotal)} 条`);
    assert.match(await page.textContent('#lg-summary [data-field="elapsed"]'), /^查询用时 [\d,.]+ ms$/);
    assert.match(await page.textContent('#lg-summary [data-field="masked"]'), /身份证/);
    const rows = await page.locator('#lg-table tbody tr').count();
    assert.equal(rows, Math.min(50, expectedTotal));
    const ids = await page.locator('#lg-table td[data-field="id_number"]').allTextContents();
    assert.equal(ids.length, rows);
    for (const id of ids) assert.ok(id.includes('*'), `an ID number is not masked: ${id}`);
    assert.equal(await page.getAttribute('#lg-table th[data-field="id_number"]', 'class'), 'masked');
    const tagsCells = await page.locator(`#lg-table td[data-field="${tagField.name}"]`).allTextContents();
    if (tagsCells.length) for (const t of tagsCells) assert.ok(t.split('、').includes(tag), `a row without the tag ${tag}: ${t}`);
    await page.screenshot({ path: path.join(outDir, 'ledger-preview.png'), fullPage: true });

    if (expectedTotal > 50) {
      await page.click('#lg-next');
      await page.waitForFunction(() => document.querySelector('#lg-table tbody tr td.lg-rownum')?.textContent === '51', null, { timeout: WAIT_MS });
      assert.match(await page.textContent('#lg-page'), /^第 51–/);
      await page.click('#lg-prev');
      await page.waitForFunction(() => document.querySelector('#lg-table tbody tr td.lg-rownum')?.textContent === '1', null, { timeout: WAIT_MS });
    }
    assert.equal(await page.isDisabled('#lg-prev'), true);
  });

  it('downloads the CSV: BOM, Chinese header, every row', async () => {
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: WAIT_MS }), page.click('#lg-csv')]);
    const file = path.join(outDir, 'ledger-people.csv');
    await download.saveAs(file);
    const bytes = fs.readFileSync(file);
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the CSV has no UTF-8 BOM');
    const text = bytes.subarray(3).toString('utf8');
    const lines = text.split(/\r?\n/).filter((l) => l !== '');
    const header = lines[0];
    assert.match(header, /姓名/);
    assert.match(header, /身份证号?（已脱敏）/, `header: ${header}`);
    assert.equal(lines.length - 1, expectedTotal, 'CSV rows');
    await page.waitForFunction(() => document.querySelector('#lg-download [data-field="done"]'), null, { timeout: WAIT_MS });
    assert.match(await page.textContent('#lg-download [data-field="done"]'), new RegExp(`${fmt(expectedTotal)} 行`));
    assert.equal(await page.textContent('#lg-csv'), '下载 CSV');
  });

  it('downloads the same table as an Excel workbook', async () => {
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: WAIT_MS }), page.click('#lg-xlsx')]);
    assert.match(download.suggestedFilename(), /\.xlsx$/);
    const file = path.join(outDir, 'ledger-people.xlsx');
    await download.saveAs(file);
    const bytes = fs.readFileSync(file);
    assert.equal(bytes.subarray(0, 2).toString('latin1'), 'PK', 'an XLSX file is a zip archive');
    await page.waitForFunction(() => /xlsx/.test(document.querySelector('#lg-download [data-field="done"]')?.textContent || ''), null, { timeout: WAIT_MS });
    assert.equal(await page.textContent('#lg-xlsx'), '下载 Excel');
  });

  it('the ledger page in the dark theme', async () => {
    await page.click('[data-theme-choice="dark"]');
    assert.equal(await page.getAttribute('body', 'data-theme'), 'dark');
    await page.screenshot({ path: path.join(outDir, 'ledger-dark.png') });
    await page.click('[data-theme-choice="light"]');
  });

  it('asked for nothing outside the server, and nothing failed but what was provoked', () => {
    assert.deepEqual(foreign, [], 'requests to other hosts');
    // Take off each provoked answer once, with its console line.
    for (const [status, p] of provoked) {
      const i = httpErrors.findIndex((e) => e === `${status} ${BASE}${p}`);
      assert.ok(i >= 0, `the provoked ${status} on ${p} was not seen`);
      httpErrors.splice(i, 1);
      const j = consoleErrors.findIndex((e) => e.includes(`status of ${status}`));
      if (j >= 0) consoleErrors.splice(j, 1);
    }
    assert.deepEqual(httpErrors, [], 'failed requests');
    assert.deepEqual(consoleErrors, [], 'console errors');
  });
});
