import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminOf, type Admin } from '../helpers/admin.js';
import { GPU_TYPE, REGION } from '../helpers/genesis.js';
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
});
