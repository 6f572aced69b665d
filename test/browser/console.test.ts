import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminOf, type Admin } from '../helpers/admin.js';
import { crusoeClient, publicKey, type CrusoeClient } from '../helpers/crusoe.js';
import { createInstance, CPU_TYPE } from '../helpers/genesis.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { DESKTOP, openBrowser, PHONE, shoot } from './support.js';

// The console in a real Chromium (Debian's, driven by playwright-core): the flows the issue
// names, each watched as a user would, without a reload. Run by `npm run test:browser`, which
// builds the console first. HANGAR_SCREENSHOTS=docs writes the README's pictures.

/** A row of the fleet table, found by the resource's id. */
const fleetRow = (page: Page, id: string) => page.locator(`[data-testid="fleet-body"] a[data-id="${id}"]`);

describe('the web console in Chromium', () => {
  let h: TestHangar;
  let admin: Admin;
  let crusoe: CrusoeClient;
  let browser: Browser;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    h = await startHangar();
    admin = adminOf(h);
    crusoe = crusoeClient(h);
    base = `${h.url}/console/`;
    ({ browser, page } = await openBrowser());
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('shows a Genesis instance and a Crusoe VM reaching running in the fleet table without a reload', async () => {
    await page.goto(base);
    await expect.poll(() => page.locator('[data-testid="fleet-total"]').textContent()).toMatch(/resources?/);
    // A mark on the window: a reload would lose it.
    await page.evaluate(() => ((globalThis as any).notReloaded = true));

    const instance = await createInstance(h.genesis, { name: 'watched-gpu', hostname: 'watched-gpu', type: CPU_TYPE });
    const op = await crusoe.post(`/projects/${crusoe.projectId}/compute/vms/instances`, { name: 'watched-vm', type: 'c1a.2x', location: 'us-east1-a', ssh_public_key: publicKey() });
    expect(op.status, op.text).toBe(200);
    const vmId = String(op.body.operation.metadata?.id ?? (await admin.get('/fleet?kind=crusoe.vm&q=watched-vm')).body.resources[0].id);

    // Both appear, still on their way.
    await expect.poll(() => fleetRow(page, instance.id).locator('.badge').textContent()).toBe('creating');
    await expect.poll(() => fleetRow(page, vmId).locator('.badge').textContent()).toBe('STATE_DEFINING');

    // Time passes (through the admin API here; the clock test does it from the console).
    expect((await admin.post('/clock/advance', { by: '1m' })).status).toBe(200);
    await expect.poll(() => fleetRow(page, instance.id).locator('.badge').textContent()).toBe('active');
    await expect.poll(() => fleetRow(page, vmId).locator('.badge').textContent()).toBe('STATE_RUNNING');
    expect(await page.evaluate(() => (globalThis as any).notReloaded)).toBe(true);

    // The filters and the search narrow the table on the server.
    await page.getByLabel('Cloud').selectOption('crusoe');
    await expect.poll(() => page.locator('[data-testid="fleet-body"] a[role="row"]').count()).toBeGreaterThan(0);
    expect(await fleetRow(page, instance.id).count()).toBe(0);
    await page.getByLabel('Cloud').selectOption('');
    await page.getByLabel('Search by id or name').fill('watched-gpu');
    await expect.poll(() => page.locator('[data-testid="fleet-body"] a[role="row"]').count()).toBe(1);
    await page.getByLabel('Search by id or name').fill('');
    await expect.poll(() => page.locator('[data-testid="fleet-body"] a[role="row"]').count()).toBeGreaterThan(1);
    await shoot(page, 'fleet');

    // Readable at phone width: the table keeps name, status and kind.
    await page.setViewportSize(PHONE);
    await expect.poll(() => fleetRow(page, instance.id).locator('.name').isVisible()).toBe(true);
    await shoot(page, 'fleet-phone');
    await page.setViewportSize(DESKTOP);
  });

  it('opens a resource page from the table with the keyboard and shows its history and wire JSON', async () => {
    const [line] = (await admin.get('/fleet?kind=genesis.instance&q=watched-gpu')).body.resources;
    await page.goto(`${base}#/fleet?q=watched-gpu`);
    await expect.poll(() => fleetRow(page, line.id).count()).toBe(1);
    await fleetRow(page, line.id).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#resource-title').textContent()).toBe('watched-gpu');
    const history = page.locator('[data-testid="history"] tbody tr');
    await expect.poll(() => history.count()).toBe(1);
    expect(await history.first().textContent()).toContain('boot');
    expect(await history.first().locator('.badge').allTextContents()).toEqual(['creating', 'active']);
    // Applied on Hangar's clock (frozen at the test's T0 plus the minute advanced).
    expect(await history.first().locator('time').first().getAttribute('datetime')).toMatch(/^2026-01-05T10:0/);
    const wire = JSON.parse((await page.locator('[data-testid="wire"]').textContent())!);
    const api = await h.genesis.get(`/instances/${line.id}`);
    expect(wire).toEqual(api.body);
    // The attachments link to their own pages.
    await expect.poll(() => page.locator('.links a').count()).toBeGreaterThan(0);
    await shoot(page, 'resource');
  });

  it('advances the clock from the console and shows the pending transition apply', async () => {
    const instance = await createInstance(h.genesis, { name: 'waits-for-clock', hostname: 'waits-for-clock', type: CPU_TYPE });
    await page.goto(`${base}#/clock`);
    await expect.poll(() => page.locator('[data-testid="clock-state"]').textContent()).toBe('Frozen');
    const pendingRow = page.locator('[data-testid="pending"] tbody tr', { hasText: instance.id.slice(0, 8) });
    await expect.poll(() => pendingRow.count()).toBe(1);
    expect(await pendingRow.textContent()).toContain('boot');
    const before = await page.locator('[data-testid="clock-now"]').textContent();
    await page.getByLabel('Advance by').fill('10s');
    // (the step's reach is shown before it is taken)
    await expect.poll(() => page.locator('[data-testid="pending-summary"]').textContent()).toMatch(/advancing by 10s applies [1-9]/);
    await shoot(page, 'clock');
    await page.getByRole('button', { name: 'Advance', exact: true }).click();
    await expect.poll(() => page.locator('[data-testid="clock-message"]').textContent()).toMatch(/Advanced by 10s: [1-9]\d* transitions? applied/);
    await expect.poll(() => pendingRow.count()).toBe(0);
    expect(await page.locator('[data-testid="clock-now"]').textContent()).not.toBe(before);
    expect((await h.genesis.get(`/instances/${instance.id}`)).body.instance.status).toBe('active');
    // Freeze and resume from the console too.
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await expect.poll(() => page.locator('[data-testid="clock-state"]').textContent()).toBe('Running');
    expect((await admin.get('/clock')).body.frozen).toBe(false);
    await page.getByRole('button', { name: 'Freeze', exact: true }).click();
    await expect.poll(() => page.locator('[data-testid="clock-state"]').textContent()).toBe('Frozen');
    expect((await admin.get('/clock')).body.frozen).toBe(true);
  });

  it('adds a fault from the form and the next API call fails with it', async () => {
    await page.goto(`${base}#/faults`);
    await expect.poll(() => page.getByText('No fault rule').count()).toBe(1);
    const form = page.getByRole('form', { name: 'Add a fault' });
    await form.getByLabel('Cloud').selectOption('genesis');
    await form.getByLabel('Method').selectOption('GET');
    await form.getByLabel('Path').fill('/compute/v1/instances');
    await form.getByLabel('Status').fill('503');
    await form.getByLabel('Code').fill('maintenance');
    await form.getByLabel('Count').fill('1');
    await form.getByRole('button', { name: 'Add fault' }).click();
    const rule = page.locator('[data-testid="faults"] tbody tr');
    await expect.poll(() => rule.count()).toBe(1);
    expect(await rule.textContent()).toContain('genesis GET /compute/v1/instances');

    const failed = await h.genesis.get('/instances');
    expect(failed.status).toBe(503);
    expect(failed.body.code).toBe('maintenance');
    const next = await h.genesis.get('/instances');
    expect(next.status).toBe(200);
    // The fired count shows live.
    await expect.poll(() => rule.locator('[data-testid="fired"]').textContent()).toBe('1');
    await shoot(page, 'faults');

    await rule.getByRole('button', { name: /Remove fault/ }).click();
    await expect.poll(() => page.getByText('No fault rule').count()).toBe(1);
    expect((await admin.get('/faults')).body.faults).toEqual([]);
  });
});
