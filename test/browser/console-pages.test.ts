import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminOf, genesisFor, type Admin } from '../helpers/admin.js';
import { crusoeClient, publicKey } from '../helpers/crusoe.js';
import { createInstance, GPU_TYPE, REGION } from '../helpers/genesis.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { checkPhone, DESKTOP, openBrowser, PHONE, shoot } from './support.js';

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
    const crusoe = crusoeClient(h);
    const vm = await crusoe.post(`/projects/${crusoe.projectId}/compute/vms/instances`, { name: 'stocked', type: 'a100.2x', location: 'us-east1-a', ssh_public_key: publicKey() });
    expect(vm.status, vm.text).toBe(200);
    // Only the types in use, with the keyboard.
    await page.getByRole('switch', { name: 'Only types in use' }).focus();
    await page.keyboard.press('Space');
    await expect.poll(() => page.locator('[data-testid="stock"] li').count()).toBeGreaterThan(0);
    const shown = await page.locator('[data-testid="stock"] li [role="meter"]').evaluateAll((meters) => meters.map((m) => Number(m.getAttribute('aria-valuenow'))));
    expect(shown.every((n) => n > 0)).toBe(true);
    // (the Crusoe VM's type in its location among them)
    await expect.poll(() => page.locator('[data-testid="stock"] article', { hasText: 'crusoe · us-east1-a' }).locator('[role="meter"]').count()).toBe(1);
    // The demo account's quota row counts its instances.
    const quota = page.locator(`[data-testid="quotas"] tr[data-account="${h.demoAccountId}"] [aria-label="genesis.instances of demo"]`);
    await expect.poll(() => quota.getAttribute('aria-valuenow')).toBe(String((await admin.get('/quotas')).body.accounts.find((a: any) => a.name === 'demo').quotas['genesis.instances'].used));
    await shoot(page, 'capacity');
    await checkPhone(page, 'capacity');
  });

  it('charts usage per day: Crusoe gpu-hours per project, Genesis instance-hours per account', async () => {
    const crusoe = crusoeClient(h);
    const op = await crusoe.post(`/projects/${crusoe.projectId}/compute/vms/instances`, { name: 'charted', type: 'a100.2x', location: 'us-east1-a', ssh_public_key: publicKey() });
    expect(op.status, op.text).toBe(200);
    await h.advance(60_000);
    await page.goto(`${base}#/usage`);
    await expect.poll(() => page.locator('[data-testid="crusoe-chart"] canvas').count()).toBe(1);
    await expect.poll(() => page.locator('[data-testid="genesis-chart"] canvas').count()).toBe(1);
    // Time passes: the tables follow the clock without a reload (the clock event reaches the
    // page on the feed's next look, every 2 s).
    expect((await admin.post('/clock/advance', { by: '6h' })).status).toBe(200);
    const api = (await admin.get('/usage/daily')).body;
    const demoGenesis = api.genesis.series.find((s: any) => s.account_name === 'demo');
    const demoCrusoe = api.crusoe.series.find((s: any) => s.account_name === 'demo');
    expect(demoCrusoe.total).toBeGreaterThan(11);
    await expect.poll(() => page.locator('[data-testid="genesis-usage"] tbody tr', { hasText: 'demo' }).locator('[data-testid="total"]').textContent(), { timeout: 15_000 }).toBe(demoGenesis.total.toFixed(1));
    await expect.poll(() => page.locator('[data-testid="crusoe-usage"] tbody tr', { hasText: 'demo' }).locator('[data-testid="total"]').textContent()).toBe(demoCrusoe.total.toFixed(1));
    await shoot(page, 'usage');
    await checkPhone(page, 'usage');
  });

  /** Runs a shell snippet as a user pasting it would (from the repository, where scripts/ is). */
  // (not execFileSync: the server answering it runs in this process)
  const runSnippet = async (text: string) => (await promisify(execFile)('bash', ['-c', text], { cwd: process.cwd(), encoding: 'utf8' })).stdout;
  const snippet = (id: string) => page.locator(`[data-snippet="${id}"] pre`);

  it("fills the demo account's real credentials into each client's settings, and the curl lines work as pasted", async () => {
    await page.goto(`${base}#/connect`);
    await expect.poll(() => snippet('curl-genesis').count()).toBe(1);
    const demo = h.hangar.demo.credentials;
    for (const id of ['curl-genesis', 'genesiscloud-js', 'genesiscloud-go', 'terraform-genesis']) expect(await snippet(id).textContent(), id).toContain(String(demo.genesis!.token));
    for (const id of ['curl-crusoe', 'crusoe-client-go', 'dstack', 'terraform-crusoe']) {
      const text = await snippet(id).textContent();
      expect(text, id).toContain(String(demo.crusoe!.access_key));
      expect(text, id).toContain(String(demo.crusoe!.secret_key));
    }
    expect(await snippet('dstack').textContent()).toContain(`project_id: ${demo.crusoe!.project_id}`);
    const genesis = JSON.parse(await runSnippet((await snippet('curl-genesis').textContent())!));
    expect(genesis.instances.length).toBeGreaterThan(0);
    const crusoe = JSON.parse(await runSnippet((await snippet('curl-crusoe').textContent())!));
    expect(crusoe.items.map((vm: any) => vm.name)).toContain('charted');
    await shoot(page, 'connect');
    await checkPhone(page, 'connect');
  });

  it('manages accounts: create, quotas, issue and revoke a credential, connect with it, export, delete, reset', async () => {
    await page.goto(`${base}#/accounts`);
    const form = page.getByRole('form', { name: 'Create an account' });
    await form.getByLabel('Account name').fill('console-made');
    await form.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => page.locator('[data-testid="issued"]').count()).toBe(1);
    const created = JSON.parse((await page.locator('[data-testid="issued"] pre').textContent())!);
    expect(created.name).toBe('console-made');
    expect((await genesisFor(h, created.genesis.token).get('/instances')).status).toBe(200);
    const row = page.locator(`[data-testid="accounts"] tr[data-account="${created.id}"]`);
    await expect.poll(() => row.count()).toBe(1);
    await shoot(page, 'accounts');
    await checkPhone(page, 'accounts');

    // Its page, reached with the keyboard.
    await row.getByRole('link', { name: 'console-made' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#account-title').textContent()).toBe('console-made');
    await page.getByLabel('Limit of genesis.instances').fill('2');
    await page.getByRole('button', { name: 'Save quotas' }).click();
    await expect.poll(() => page.locator('[data-testid="account-note"]').textContent()).toBe('Quotas saved.');
    expect((await admin.get(`/accounts/${created.id}/quotas`)).body.quotas['genesis.instances']).toMatchObject({ limit: 2, custom: true });

    // Issue a Genesis token (shown once), use it, revoke it.
    await page.getByLabel('Cloud of the credential').selectOption('genesis');
    await page.getByRole('button', { name: 'Issue credential' }).click();
    await expect.poll(() => page.locator('[data-testid="issued"]').count()).toBe(1);
    const issued = JSON.parse((await page.locator('[data-testid="issued"] pre').textContent())!);
    const client = genesisFor(h, issued.token);
    expect((await client.get('/instances')).status).toBe(200);
    await shoot(page, 'account');
    await checkPhone(page, 'account');
    const revoke = page.locator(`[data-credential="${issued.credential_id}"] button`);
    await revoke.click();
    await revoke.click(); // asked once more
    await expect.poll(() => page.locator(`[data-credential="${issued.credential_id}"]`).count()).toBe(0);
    expect((await client.get('/instances')).status).toBe(401);

    // Connect: the account's secrets are not readable, so the page issues new ones and fills them in.
    await page.goto(`${base}#/connect/${created.id}`);
    await expect.poll(() => snippet('curl-genesis').textContent()).toContain('<genesis token>');
    await page.getByTestId('issue').click();
    await expect.poll(() => page.locator('[data-testid="connect-note"]').textContent()).toMatch(/shown on this page only, once/);
    const curl = (await snippet('curl-genesis').textContent())!;
    expect(curl).not.toContain('<genesis token>');
    expect(JSON.parse(await runSnippet(curl)).instances).toEqual([]);
    const signed = (await snippet('curl-crusoe').textContent())!;
    expect(signed).not.toContain('<crusoe secret key>');
    expect(signed).toContain(`CRUSOE_DEFAULT_PROJECT=${created.crusoe.project_id}`);
    expect(JSON.parse(await runSnippet(signed)).items).toEqual([]);

    // Export this account's state (a download), then delete the account.
    await page.goto(`${base}#/accounts/${created.id}`);
    await expect.poll(() => page.locator('#account-title').textContent()).toBe('console-made');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export this account' }).click()]);
    const exported = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    expect(JSON.stringify(exported)).toContain(created.id);
    const remove = page.getByRole('button', { name: 'Delete account' });
    await remove.click();
    await page.getByRole('button', { name: 'Delete it and all it owns?' }).click();
    await expect.poll(() => page.locator('[data-testid="account-deleted"]').count()).toBe(1);
    expect((await admin.get(`/accounts/${created.id}`)).status).toBe(404);

    // Import the whole store back from a file after a reset from the console.
    const whole = (await admin.get('/state')).body;
    const file = join(tmpdir(), `hangar-console-state-${process.pid}.json`);
    writeFileSync(file, JSON.stringify(whole));
    await page.goto(`${base}#/accounts`);
    await page.getByRole('button', { name: 'Reset' }).click();
    await page.getByRole('button', { name: 'Really reset?' }).click();
    await expect.poll(() => page.locator('[data-testid="accounts-note"]').textContent()).toBe('The store was reset.');
    expect((await h.genesis.get('/instances')).body.instances).toEqual([]);
    await page.getByLabel('Import state from a file').setInputFiles(file);
    await expect.poll(() => page.locator('[data-testid="accounts-note"]').textContent()).toMatch(/^Imported/);
    expect((await h.genesis.get('/instances')).body.instances.length).toBeGreaterThan(0);
  });

  it("moves one account's own clock from the clock page, and lets it follow the global clock again", async () => {
    const tenant = await admin.createAccount('own-clock');
    await page.goto(`${base}#/clock`);
    const row = page.locator(`[data-testid="account-clocks"] tr[data-account="${tenant.id}"]`);
    await expect.poll(() => row.locator('[data-testid="account-clock-state"]').textContent()).toBe('follows the global clock');
    const global = Date.parse((await admin.get('/clock')).body.now);
    await page.getByLabel('Advance by').fill('10s');
    await row.getByRole('button', { name: "Advance own-clock's clock by 10s" }).click();
    await expect.poll(() => row.locator('[data-testid="account-clock-state"]').textContent()).not.toBe('follows the global clock');
    const own = (await admin.get(`/accounts/${tenant.id}/clock`)).body;
    expect(own.follows_global).toBe(false);
    expect(Date.parse(own.now) - global).toBe(10_000);
    await row.getByRole('button', { name: "Release own-clock's clock" }).click();
    await expect.poll(() => row.locator('[data-testid="account-clock-state"]').textContent()).toBe('follows the global clock');
    expect((await admin.get(`/accounts/${tenant.id}/clock`)).body.follows_global).toBe(true);
  });
});
