/**
 * Browser end-to-end plumbing shared by the web tests: one origin serving the built app and proxying the API to a
 * node (as `npm start` serves them), and screenshots at desktop and phone width.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { chromium, type Page } from 'playwright-core';
import { createWebApp } from '../../packages/node/src/web.ts';
import { ROOT } from './harness.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SHOTS = path.join(ROOT, 'artifacts/screenshots');
/** Paths the node answers; everything else is the web app. */
export const API = /^\/(v1\/|fhir|health|openapi\.json)/;

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
