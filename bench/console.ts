// The web console under a large fleet: first paint on loopback, and the fleet page with
// 10,000 instances scrolled end to end and filtered, in Debian's Chromium (playwright-core).
//
//   node --import tsx bench/console.ts [--count 10000] [--quick]     (npm run bench:console)
//
// The store is filled through the store layer (bench/fill.ts), Hangar runs as `npm start` runs
// it (the built console), and the browser measures: first-contentful-paint and the first fleet
// row of a cold load; the frames and long tasks (main-thread work over 50 ms, the browser's own
// count) while the table scrolls from the first row to the last in 240 animation frames; the
// time from typing a search or choosing a filter to the table showing the answer. The admin
// API's own times (GET /fleet pages, facets) are measured from Node.
import { existsSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { ensureConsole } from '../scripts/console.mjs';
import { fill } from './fill.js';
import { fmt, hangarEnv, log, scratch, sqliteStore, startHangar } from './lib/common.js';

const { values } = parseArgs({ options: { count: { type: 'string' }, quick: { type: 'boolean', default: false } } });
const count = Number(values.count ?? (values.quick ? 1_000 : 10_000));
const chromiumPath = process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!chromiumPath) throw new Error('no Chromium (apt-get install chromium, or CHROMIUM=/path)');

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

if (!(await ensureConsole((line: string) => log(line)))) throw new Error('the console could not be built');
const dir = scratch('console');
const store = sqliteStore(dir);
log(`filling ${count} Genesis instances (a tenth still creating)`);
await fill(store, { count: count - Math.floor(count / 10), status: 'active' });
await fill(store, { count: Math.floor(count / 10), status: 'creating', dueAt: Date.parse('2100-01-01T00:00:00Z') });
const server = await startHangar('console', hangarEnv(store));
const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
try {
  // --- the admin API ---------------------------------------------------------------------
  const api = async (path: string, rounds = 20) => {
    const times: number[] = [];
    let body: any;
    for (let i = 0; i < rounds; i++) {
      const started = performance.now();
      const res = await fetch(`${server.url}/admin/v1${path}`);
      body = await res.json();
      times.push(performance.now() - started);
    }
    return { p50: percentile(times, 50), p95: percentile(times, 95), body };
  };
  const first = await api('/fleet?limit=100');
  const last = await api(`/fleet?limit=100&offset=${Math.max(0, first.body.total - 100)}`);
  const search = await api('/fleet?limit=100&q=bench-4321');
  const status = await api('/fleet?limit=100&status=creating');
  const facets = await api('/fleet/facets');

  // --- first paint, cold ---------------------------------------------------------------------
  const paints: { fcp: number; firstRow: number }[] = [];
  for (let i = 0; i < (values.quick ? 1 : 5); i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const started = Date.now();
    await page.goto(`${server.url}/console/`);
    await page.waitForSelector('[data-testid="fleet-body"] a[role="row"]');
    const firstRow = Date.now() - started;
    const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1);
    paints.push({ fcp, firstRow });
    await context.close();
  }

  // --- scrolling 10,000 rows, then filtering ----------------------------------------------------
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.addInitScript(() => {
    (globalThis as any).longTasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) (globalThis as any).longTasks.push(entry.duration);
    }).observe({ type: 'longtask' as any, buffered: true });
  });
  await page.goto(`${server.url}/console/`);
  await page.waitForSelector('[data-testid="fleet-body"] a[role="row"]');
  await page.evaluate(() => ((globalThis as any).longTasks = []));
  const scroll = await page.evaluate(async () => {
    const body = (globalThis as any).document.querySelector('[data-testid="fleet-body"]');
    const frames: number[] = [];
    const steps = 240;
    let previous = performance.now();
    for (let i = 1; i <= steps; i++) {
      body.scrollTop = ((body.scrollHeight - body.clientHeight) * i) / steps;
      await new Promise((resolve) => (globalThis as any).requestAnimationFrame(resolve));
      const now = performance.now();
      frames.push(now - previous);
      previous = now;
    }
    return { frames, rows: body.querySelectorAll('[role="row"]').length };
  });
  // The last rows arrive (their page is read when it comes into view).
  const lastId = last.body.resources[last.body.resources.length - 1].id;
  const lastStarted = Date.now();
  await page.waitForSelector(`[data-testid="fleet-body"] a[data-id="${lastId}"]`);
  const lastRowMs = Date.now() - lastStarted;
  const scrollLong = await page.evaluate(() => (globalThis as any).longTasks as number[]);

  await page.evaluate(() => ((globalThis as any).longTasks = []));
  const searchStarted = Date.now();
  await page.getByLabel('Search by id or name').fill('bench-4321');
  await page.waitForFunction(() => (globalThis as any).document.querySelector('[data-testid="fleet-total"]')?.textContent?.startsWith('1 resource') ?? false);
  const searchMs = Date.now() - searchStarted;
  await page.getByLabel('Search by id or name').fill('');
  await page.waitForFunction((n) => (globalThis as any).document.querySelector('[data-testid="fleet-total"]')?.textContent?.startsWith(n) ?? false, first.body.total.toLocaleString('en'));
  const filterStarted = Date.now();
  await page.getByLabel('Status').selectOption('creating');
  await page.waitForFunction((n) => (globalThis as any).document.querySelector('[data-testid="fleet-total"]')?.textContent?.startsWith(`${n} `) ?? false, status.body.total.toLocaleString('en'));
  const filterMs = Date.now() - filterStarted;
  const filterLong = await page.evaluate(() => (globalThis as any).longTasks as number[]);
  await context.close();

  const ms = fmt.ms;
  const pair = (a: number, b: number) => `${fmt.ms(a).replace(' ms', '')} / ${fmt.ms(b)}`;
  const lines = [
    `| fleet of ${count.toLocaleString('en')} instances | figure |`,
    '| --- | --- |',
    `| first contentful paint, cold (median of ${paints.length}) | ${ms(percentile(paints.map((p) => p.fcp), 50))} |`,
    `| first fleet row on screen, cold (median) | ${ms(percentile(paints.map((p) => p.firstRow), 50))} |`,
    `| GET /fleet first page of 100, p50 / p95 | ${pair(first.p50, first.p95)} |`,
    `| GET /fleet last page (offset ${Math.max(0, first.body.total - 100)}), p50 / p95 | ${pair(last.p50, last.p95)} |`,
    `| GET /fleet search by name, p50 / p95 | ${pair(search.p50, search.p95)} |`,
    `| GET /fleet status filter, p50 / p95 | ${pair(status.p50, status.p95)} |`,
    `| GET /fleet/facets, p50 / p95 | ${pair(facets.p50, facets.p95)} |`,
    `| scroll first row to last in 240 frames: frame p50 / p95 / max | ${pair(percentile(scroll.frames, 50), percentile(scroll.frames, 95)).replace(' ms', '')} / ${ms(Math.max(...scroll.frames))} |`,
    `| rows in the DOM while scrolling | ${scroll.rows} |`,
    `| long tasks (> 50 ms) while scrolling: count, longest | ${scrollLong.length}, ${ms(Math.max(0, ...scrollLong))} |`,
    `| last row on screen after the scroll ends | ${ms(lastRowMs)} |`,
    `| typing a search to the table showing its one match | ${ms(searchMs)} |`,
    `| choosing a status filter to the table showing it | ${ms(filterMs)} |`,
    `| long tasks while searching and filtering: count, longest | ${filterLong.length}, ${ms(Math.max(0, ...filterLong))} |`,
  ];
  console.log(lines.join('\n'));
} finally {
  await browser.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
