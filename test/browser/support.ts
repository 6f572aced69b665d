import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

// HANGAR_SCREENSHOTS=docs writes the README's pictures; otherwise they go to a temporary folder.
const shots = process.env.HANGAR_SCREENSHOTS === 'docs' ? join(process.cwd(), 'docs', 'console') : join(tmpdir(), 'hangar-console-shots');
mkdirSync(shots, { recursive: true });
mkdirSync(join(tmpdir(), 'hangar-console-shots'), { recursive: true });
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export async function shoot(page: Page, name: string) {
  await page.screenshot({ path: join(shots, `${name}.png`) });
}

/** Debian's Chromium (or CHROMIUM), driven by playwright-core, and a page at 1280×800. */
export async function openBrowser(): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const page = await browser.newPage({ viewport: DESKTOP });
  page.on('pageerror', (error) => console.error('page error:', error));
  return { browser, page };
}

/** The page at phone width too, for a look (kept out of docs/: the README shows one). */
export async function checkPhone(page: Page, name: string) {
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: join(tmpdir(), 'hangar-console-shots', `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
}
