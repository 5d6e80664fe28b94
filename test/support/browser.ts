/**
 * Browser end-to-end plumbing shared by the web tests: one origin serving the built app and proxying the API to a
 * node (as `npm start` serves them), and screenshots at desktop and phone width.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { identityFromMnemonic } from '@medbloc/core';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { createWebApp } from '../../packages/node/src/web.ts';
import { ROOT, tempDir } from './harness.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SHOTS = path.join(ROOT, 'artifacts/screenshots');
/** Paths the node answers; everything else is the web app. */
export const API = /^\/(v1\/|fhir|health|openapi\.json)/;

/**
 * Builds the web app into a folder of its own and returns it. Never into apps/web/dist: the web tests run side by
 * side, and a build there empties the folder another test's browser is loading pages from.
 */
export async function buildWebApp(): Promise<string> {
  // Loaded here, not with this module: the benchmarks import this module, and a process that has loaded vite writes
  // large files at a third of the speed (the sealing benchmark's 1 GB puts fell from ~1.7 to ~0.6 GB/s).
  const { build } = await import('vite');
  const dist = path.join(await tempDir('medbloc-web-'), 'dist');
  await build({
    root: path.join(ROOT, 'apps/web'),
    logLevel: 'error',
    build: { outDir: dist, emptyOutDir: true },
  });
  return dist;
}

/**
 * Serves the app built in `dist` and forwards API paths to `nodeUrl` with the original Host header (the node checks
 * the SIWE domain against it). Resolves with the server and its origin.
 */
export async function serveTogether(nodeUrl: string, dist: string) {
  const web = getRequestListener(createWebApp({ dist }).fetch);
  const target = new URL(nodeUrl);
  const server = http.createServer((req, res) => {
    if (!API.test(req.url ?? '')) return void web(req, res);
    const up = http.request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** What the web tests check across every page they open. */
export interface PageTraffic {
  /** Every request body sent (scanned for plaintext and keys). */
  bodies: { url: string; body: Buffer }[];
  /** Every API request, in order (method and path). */
  apiRequests: { method: string; path: string }[];
  /** Errors the pages logged or threw. Failed resource loads are left out: the app shows those (e.g. a 404 problem). */
  consoleErrors: string[];
}

export function pageTraffic(): PageTraffic {
  return { bodies: [], apiRequests: [], consoleErrors: [] };
}

/** A desktop-size page in a fresh context, opened at `origin`, whose requests and errors go to `traffic`. */
export async function openPage(
  browser: Browser,
  origin: string,
  traffic: PageTraffic,
  timeout = 30_000,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on('request', (r) => {
    const body = r.postDataBuffer();
    if (body) traffic.bodies.push({ url: r.url(), body });
    const u = new URL(r.url());
    if (API.test(u.pathname)) traffic.apiRequests.push({ method: r.method(), path: u.pathname });
  });
  page.on('pageerror', (e) => {
    console.error('page error:', e.message);
    traffic.consoleErrors.push(`pageerror: ${e.message}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
      traffic.consoleErrors.push(`console: ${m.text()}`);
  });
  await page.goto(origin);
  return { context, page };
}

/** The passphrase the web tests keep their browser identities under. */
export const PASSPHRASE = 'correct horse battery staple';

/** Fills both passphrase fields of the onboarding and restore forms with {@link PASSPHRASE}. */
export async function savePassphrase(page: Page) {
  await page.getByLabel('Passphrase (at least 8 characters)').fill(PASSPHRASE);
  await page.getByLabel('Repeat the passphrase').fill(PASSPHRASE);
}

/**
 * Creates an identity in the browser (12-word phrase shown, its words confirmed, passphrase saved) and registers it
 * with `role`; returns it. `screenshot` names screenshots of the phrase screen.
 */
export async function onboard(page: Page, role: 'Patient' | 'Provider', screenshot?: string) {
  await page.getByRole('button', { name: 'Create a new identity' }).click();
  const words = await page.locator('[data-testid=mnemonic] .w').allTextContents();
  assert.equal(words.length, 12);
  if (screenshot) await shoot(page, screenshot);
  await page.getByLabel('I have written down my recovery phrase').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  for (const input of await page.getByLabel(/^Word #\d+$/).all()) {
    const n = Number((await input.getAttribute('id'))!.replace('word-', ''));
    await input.fill(words[n - 1]!);
  }
  await page.getByRole('button', { name: 'Confirm' }).click();
  await savePassphrase(page);
  await page.getByRole('button', { name: 'Save and continue' }).click();
  await page.getByRole('radio', { name: new RegExp(role) }).check();
  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByRole('navigation', { name: 'Portals' }).getByRole('link').first().waitFor();
  return identityFromMnemonic(words.join(' '));
}

/** Restores an already registered identity in the browser from its phrase. */
export async function restore(page: Page, mnemonic: string) {
  await page.getByRole('button', { name: 'Restore from a recovery phrase' }).click();
  await page.getByLabel(/Recovery phrase/).fill(mnemonic);
  await savePassphrase(page);
  await page.getByRole('button', { name: 'Restore' }).click();
  await page.getByRole('navigation', { name: 'Portals' }).getByRole('link').first().waitFor();
}

/** Full-page screenshots of `page` at desktop (1280×800) and phone (390×844) width, as `<name>-desktop|phone.png`. */
export async function shoot(page: Page, name: string) {
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: path.join(SHOTS, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(SHOTS, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
}

/** Headless Debian Chromium, without background traffic (so captured requests are the page's own). */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
