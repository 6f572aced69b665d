import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminOf, type Admin } from '../helpers/admin.js';
import { crusoeClient, publicKey } from '../helpers/crusoe.js';
import { createInstance, GPU_TYPE, REGION } from '../helpers/genesis.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { DESKTOP, openBrowser, PHONE, shoot } from './support.js';

// The console's other pages in Chromium: the journal, capacity and quotas, usage, connect and
// accounts, each through the flow a user takes (npm run test:browser runs this file too).
describe('the web console in Chromium: journal, capacity, usage, connect, accounts', () => {
  let h: TestHangar;
  let admin: Admin;
  let browser: Browser;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    h = await startHangar();
    admin = adminOf(h);
    base = `${h.url}/console/`;
    ({ browser, page } = await openBrowser());
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('tails the journal live, filters it, and opens a request with its body and answer (secrets redacted)', async () => {
    await page.goto(`${base}#/journal`);
    await expect.poll(() => page.getByText('No request matches yet').count()).toBe(1);
    await page.evaluate(() => ((globalThis as any).notReloaded = true));
    const password = 'journal-page-passphrase-1';
    const created = await h.genesis.post('/instances', { name: 'journaled', hostname: 'journaled', type: GPU_TYPE, region: REGION, image: 'ubuntu-22.04', password, colour: 'blue' });
    expect(created.status, created.text).toBe(201);
    expect((await h.genesis.get('/instances/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    const rows = page.locator('[data-testid="journal"] tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.first().textContent()).toContain('404');
    expect(await rows.nth(1).textContent()).toContain('colour'); // the ignored field
    expect(await page.evaluate(() => (globalThis as any).notReloaded)).toBe(true);

    // Filter to the failures, then back.
    await page.getByLabel('Status').selectOption('4xx');
    await expect.poll(() => rows.count()).toBe(1);
    await page.getByLabel('Status').selectOption('');
    await expect.poll(() => rows.count()).toBe(2);

    // Open the POST with the keyboard: its body (password redacted) and its answer.
    await rows.nth(1).getByRole('link').focus();
    await page.keyboard.press('Enter');
    const detail = page.locator('[data-testid="request-detail"]');
    await expect.poll(() => detail.locator('[data-testid="request-body"]').count()).toBe(1);
    const sent = JSON.parse((await detail.locator('[data-testid="request-body"]').textContent())!);
    expect(sent).toMatchObject({ name: 'journaled', password: '[redacted]', colour: 'blue' });
    expect(JSON.parse((await detail.locator('[data-testid="response-body"]').textContent())!)).toEqual(created.body);
    expect(await detail.textContent()).toContain('Bearer [redacted]');
    expect(await detail.textContent()).not.toContain(password);
    await shoot(page, 'journal');
    await page.setViewportSize(PHONE);
    await shoot(page, 'journal-phone');
    await page.setViewportSize(DESKTOP);
  });

  it('shows stock in use as bars that move when an instance is created, and every account’s quotas', async () => {
    await page.goto(`${base}#/capacity`);
    const line = page.locator(`[data-testid="stock"] article`, { hasText: `genesis · ${REGION}` }).locator(`li[data-sku="${GPU_TYPE}"] [role="meter"]`);
    await expect.poll(() => line.count()).toBe(1);
    const before = Number(await line.getAttribute('aria-valuenow'));
    await createInstance(h.genesis, { name: 'takes-stock', hostname: 'takes-stock', type: GPU_TYPE });
    await expect.poll(async () => Number(await line.getAttribute('aria-valuenow'))).toBe(before + 1);
    // Only the types in use, with the keyboard.
    await page.getByRole('switch', { name: 'Only types in use' }).focus();
    await page.keyboard.press('Space');
    await expect.poll(() => page.locator('[data-testid="stock"] li').count()).toBeGreaterThan(0);
    const shown = await page.locator('[data-testid="stock"] li [role="meter"]').evaluateAll((meters) => meters.map((m) => Number(m.getAttribute('aria-valuenow'))));
    expect(shown.every((n) => n > 0)).toBe(true);
    // The demo account's quota row counts its instances.
    const quota = page.locator(`[data-testid="quotas"] tr[data-account="${h.demoAccountId}"] [aria-label="genesis.instances of demo"]`);
    await expect.poll(() => quota.getAttribute('aria-valuenow')).toBe(String((await admin.get('/quotas')).body.accounts.find((a: any) => a.name === 'demo').quotas['genesis.instances'].used));
    await shoot(page, 'capacity');
  });

  it('charts usage per day: Crusoe gpu-hours per project, Genesis instance-hours per account', async () => {
    const crusoe = crusoeClient(h);
    const op = await crusoe.post(`/projects/${crusoe.projectId}/compute/vms/instances`, { name: 'charted', type: 'a100.2x', location: 'us-east1-a', ssh_public_key: publicKey() });
    expect(op.status, op.text).toBe(200);
    await h.advance(60_000);
    await page.goto(`${base}#/usage`);
    await expect.poll(() => page.locator('[data-testid="crusoe-chart"] canvas').count()).toBe(1);
    await expect.poll(() => page.locator('[data-testid="genesis-chart"] canvas').count()).toBe(1);
    // Time passes: the tables follow the clock without a reload.
    await h.advance(6 * 3_600_000);
    const api = (await admin.get('/usage/daily')).body;
    const demoGenesis = api.genesis.series.find((s: any) => s.account_name === 'demo');
    const demoCrusoe = api.crusoe.series.find((s: any) => s.account_name === 'demo');
    expect(demoCrusoe.total).toBeGreaterThan(11);
    await expect.poll(() => page.locator('[data-testid="genesis-usage"] tbody tr', { hasText: 'demo' }).locator('[data-testid="total"]').textContent()).toBe(demoGenesis.total.toFixed(1));
    await expect.poll(() => page.locator('[data-testid="crusoe-usage"] tbody tr', { hasText: 'demo' }).locator('[data-testid="total"]').textContent()).toBe(demoCrusoe.total.toFixed(1));
    await shoot(page, 'usage');
  });
});
