/**
 * The web portals end to end, in Chromium against a real node and chain: an authority certifies a provider in the
 * browser; a patient onboards in the browser; the provider writes for the patient (in the browser and with the SDK);
 * the patient sees every record verified, uploads one of their own, and a blob altered on disk shows as failing
 * verification with its content withheld. Every request body the pages send is captured: none carries a recovery
 * phrase, a private key or the plaintext of a record. Screenshots of each portal land in artifacts/screenshots/.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { getRequestListener } from '@hono/node-server';
import { identityFromMnemonic } from '@medbloc/core';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { createWebApp } from '../packages/node/src/web.ts';
import { cast, newIdentity, ROOT, startTestNode } from './support/harness.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const DIST = path.join(ROOT, 'apps/web/dist');
const SHOTS = path.join(ROOT, 'artifacts/screenshots');
const PASS = 'correct horse battery staple';
const API = /^\/(v1\/|fhir|health|openapi\.json)/;

/** Plaintext that only ever exists in the browsers (and this test): it must never appear in a request body. */
const SECRETS = {
  labNote: 'MB-LAB-NOTE-5e1f0c kalium recheck tomorrow',
  labTest: 'Serum potassium MB-7d3a',
  allergy: 'Penicillin MB-ALLERGY-91b2',
  reaction: 'Hives MB-REACTION-44c0',
};

let testNode: Awaited<ReturnType<typeof startTestNode>>;
let server: http.Server;
let origin: string;
let browser: Browser;
const bodies: { url: string; body: Buffer }[] = [];

/** One origin for the page and the API, as the node serves them: API paths go to the node, the rest to the app. */
function serveTogether(nodeUrl: string) {
  const web = getRequestListener(createWebApp({ dist: DIST }).fetch);
  const target = new URL(nodeUrl);
  return http.createServer((req, res) => {
    if (!API.test(req.url ?? '')) return void web(req, res);
    // Forwarded with the original Host header: the node checks the SIWE domain against it.
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
}

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('request', (r) => {
    const body = r.postDataBuffer();
    if (body) bodies.push({ url: r.url(), body });
  });
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(origin);
  return { context, page };
}

async function shoot(page: Page, name: string) {
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: path.join(SHOTS, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(SHOTS, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
}

async function savePassphrase(page: Page) {
  await page.getByLabel('Passphrase (at least 8 characters)').fill(PASS);
  await page.getByLabel('Repeat the passphrase').fill(PASS);
}

/** Creates an identity in the browser (phrase shown, three words confirmed) and registers it; returns it. */
async function onboard(page: Page, role: 'Patient' | 'Provider', screenshot?: string) {
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

/** Waits until every record card has settled (verified, failed, or unopenable) and `n` are shown. */
async function settled(page: Page, n: number) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const total = await page.locator('article.record').count();
    const pending = await page.locator('article.record[data-status=pending]').count();
    if (total >= n && pending === 0) return;
    if (Date.now() > deadline)
      assert.fail(`expected ${n} settled records, saw ${total} (${pending} pending)`);
    if (total < n) await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    await page.waitForTimeout(300);
  }
}

before(async () => {
  await build({ root: path.join(ROOT, 'apps/web'), logLevel: 'error' });
  await mkdir(SHOTS, { recursive: true });
  testNode = await startTestNode();
  server = serveTogether(testNode.node.url);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
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
});

after(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await testNode?.stop();
});

test('the node serves the built app with content types and an SPA fallback', {
  skip: !existsSync(CHROMIUM),
}, async () => {
  const index = await fetch(`${origin}/records/anything`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(index.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  const html = await index.text();
  const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(asset, 'index.html references its script');
  const js = await fetch(`${origin}${asset}`);
  assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.match(js.headers.get('cache-control') ?? '', /immutable/);
  assert.equal((await fetch(`${origin}/assets/missing.js`)).status, 404);
  assert.equal((await fetch(`${origin}/%2e%2e/package.json`)).status, 404);
  const app = createWebApp({ dist: DIST });
  assert.equal((await app.request('/v1/nothing')).status, 404, 'API paths never fall back to the page');
});

test('patients, providers and authorities in the browser; keys and plaintext never leave it', {
  skip: !existsSync(CHROMIUM),
}, async () => {
  const started = Date.now();
  // An SDK cast on the same node: a second certified provider who writes a batch for the browser patient.
  const sdk = await cast(testNode.node);
  const authorityId = newIdentity();
  await testNode.node.addAuthority(authorityId.address);

  // The provider onboards in the browser and is not certified yet.
  const provider = await newPage();
  const providerId = await onboard(provider.page, 'Provider', 'onboarding-phrase');
  await provider.page.getByRole('link', { name: 'Provider' }).click();
  await provider.page.getByTestId('cert-status').filter({ hasText: 'Not certified yet' }).waitFor();

  // The authority restores its identity from its phrase and certifies the provider.
  const authority = await newPage();
  await shoot(authority.page, 'onboarding-welcome');
  await authority.page.getByRole('button', { name: 'Restore from a recovery phrase' }).click();
  await authority.page.getByLabel(/Recovery phrase/).fill(authorityId.mnemonic);
  await savePassphrase(authority.page);
  await authority.page.getByRole('button', { name: 'Restore' }).click();
  await authority.page.getByRole('radio', { name: /Patient/ }).check();
  await authority.page.getByRole('button', { name: 'Register' }).click();
  await authority.page.getByRole('link', { name: 'Authority' }).click();
  await authority.page.getByLabel('Account address').fill(providerId.address);
  await authority.page.getByLabel(/Credential evidence/).fill('Medical board licence 12345');
  await authority.page.getByRole('button', { name: 'Certify', exact: true }).click();
  await authority.page.getByText(`Certified ${providerId.address} as provider`).waitFor();
  await authority.page.getByRole('heading', { name: 'Account status' }).waitFor();
  await shoot(authority.page, 'authority');

  // The patient onboards in the browser.
  const patient = await newPage();
  const patientId = await onboard(patient.page, 'Patient');
  await patient.page.getByText('No records yet.').waitFor();

  // The provider, now certified, writes a lab result for the patient through the form.
  await provider.page.getByRole('button', { name: 'Check again' }).click();
  await provider.page.getByTestId('cert-status').filter({ hasText: 'Certified provider' }).waitFor();
  await provider.page.getByLabel('Patient address').fill(patientId.address);
  await provider.page.getByLabel('Record type').selectOption('lab');
  await provider.page.getByLabel('Test name').fill(SECRETS.labTest);
  await provider.page.getByLabel('Result', { exact: true }).fill('5.9');
  await provider.page.getByLabel('Unit').fill('mmol/L');
  await provider.page.getByLabel('Reference range low').fill('3.5');
  await provider.page.getByLabel('Reference range high').fill('5.1');
  await provider.page.getByLabel('Comment').fill(SECRETS.labNote);
  await provider.page.getByRole('button', { name: 'Seal and add for patient' }).click();
  await provider.page.getByText('Lab result sealed for the patient and anchored.').waitFor();
  await shoot(provider.page, 'provider');

  // The SDK provider writes vitals (one batch, one transaction) and a blood pressure for the same patient.
  const day = (d: number) => new Date(Date.UTC(2026, 0, d, 9)).toISOString();
  const heartRate = (d: number, bpm: number) => ({
    resource: {
      resourceType: 'Observation',
      status: 'final',
      category: [
        {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
          ],
        },
      ],
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
      effectiveDateTime: day(d),
      valueQuantity: { value: bpm, unit: 'beats/min', system: 'http://unitsofmeasure.org', code: '/min' },
    },
  });
  await sdk.provider.addRecords([heartRate(3, 72), heartRate(10, 80), heartRate(17, 76)], {
    owner: patientId.address,
  });
  await sdk.provider.addRecord({
    owner: patientId.address,
    resource: {
      resourceType: 'Condition',
      clinicalStatus: { coding: [{ code: 'active' }] },
      code: { text: 'Essential hypertension' },
      onsetDateTime: day(12),
    },
  });

  // The patient adds an allergy of their own as FHIR JSON.
  await patient.page.getByRole('button', { name: 'Add FHIR data' }).click();
  await patient.page.getByLabel('FHIR resource or Bundle (JSON)').fill(
    JSON.stringify({
      resourceType: 'AllergyIntolerance',
      code: { text: SECRETS.allergy },
      criticality: 'high',
      reaction: [{ manifestation: [{ text: SECRETS.reaction }] }],
      recordedDate: day(20),
    }),
  );
  await patient.page.getByRole('button', { name: 'Seal and add' }).click();
  await patient.page.getByText('1 record sealed and anchored.').waitFor();

  // Every record shows, verified on chain, rendered readably, with its creator.
  await settled(patient.page, 6);
  assert.equal(await patient.page.locator('article.record[data-status=verified]').count(), 6);
  const lab = patient.page.locator('article.record', { hasText: SECRETS.labTest });
  await lab.getByText('▲ high').waitFor();
  await lab.getByText('reference 3.5–5.1 mmol/L').waitFor();
  await patient.page.getByRole('heading', { name: 'Vital signs over time' }).waitFor();
  await patient.page.getByText(SECRETS.allergy).first().waitFor();
  await patient.page.getByText(/of 1\.0 GiB used/).waitFor();
  // Records the providers added show up as notifications.
  const notices = patient.page.locator('section.notifications');
  await notices.getByRole('heading', { name: 'Notifications' }).waitFor();
  await notices.getByText('added a record for you').first().waitFor();
  await shoot(patient.page, 'patient');
  await patient.page.getByRole('link', { name: 'Sharing & access log' }).click();
  await patient.page.getByRole('heading', { name: /Who can see your records|Sharing is coming/ }).waitFor();
  if (await patient.page.getByRole('heading', { name: 'Who can see your records' }).isVisible()) {
    // The patient shares lab results with the browser provider for care; the provider can then open them.
    await patient.page.getByLabel('Their address').fill(providerId.address);
    await patient.page.getByLabel('What').selectOption('labs');
    await patient.page.getByRole('button', { name: 'Share', exact: true }).click();
    await patient.page.getByText(/can see your lab results for care until/).waitFor();
    await provider.page.getByRole('button', { name: 'Refresh', exact: true }).click();
    await provider.page
      .locator('article.record[data-status=verified]', { hasText: SECRETS.labTest })
      .waitFor({ timeout: 30_000 });
    assert.equal(await provider.page.locator('article.record[data-status=verified]').count(), 1);
    await shoot(provider.page, 'provider-shared');
  }
  await shoot(patient.page, 'sharing');
  await patient.page.getByRole('link', { name: 'My records' }).click();

  // A blob altered on disk: the record fails verification and its content is withheld.
  const cid = await lab.getAttribute('data-cid');
  assert.ok(cid);
  const blobs = path.join(testNode.home, 'storage/blobs');
  let blobPath: string | undefined;
  for (const shard of await readdir(blobs))
    if ((await readdir(path.join(blobs, shard))).includes(cid)) blobPath = path.join(blobs, shard, cid);
  assert.ok(blobPath, 'the lab record has its own blob on disk');
  const blob = await readFile(blobPath);
  blob[blob.length - 20]! ^= 0x01;
  await writeFile(blobPath, blob);

  // Reopen the portal: a wrong passphrase is refused clearly, then the right one unlocks.
  await patient.page.reload();
  await patient.page.getByLabel('Passphrase', { exact: true }).fill('not my passphrase');
  await patient.page.getByRole('button', { name: 'Unlock' }).click();
  await patient.page.getByRole('alert').filter({ hasText: 'Wrong passphrase' }).waitFor();
  await patient.page.getByLabel('Passphrase', { exact: true }).fill(PASS);
  await patient.page.getByRole('button', { name: 'Unlock' }).click();
  await settled(patient.page, 6);
  const tampered = patient.page.locator(`article.record[data-cid="${cid}"]`);
  assert.equal(await tampered.getAttribute('data-status'), 'tampered');
  await tampered.getByText('✗ Failed verification').waitFor();
  console.log(
    'tampered record:',
    ((await tampered.getByRole('alert').textContent()) ?? '').replace(/\s+/g, ' '),
  );
  const text = (await patient.page.locator('main').textContent()) ?? '';
  assert.ok(
    !text.includes(SECRETS.labTest) && !text.includes(SECRETS.labNote),
    'tampered content is not shown',
  );
  assert.ok(!text.includes('5.9 mmol/L'), 'tampered values are not shown');
  assert.equal(await patient.page.locator('article.record[data-status=verified]').count(), 5);
  await shoot(patient.page, 'patient-tampered');

  // Nothing secret left any browser: no phrase, no private key, no plaintext in any request body.
  assert.ok(bodies.length > 20, `captured ${bodies.length} request bodies`);
  const forbidden = [
    ...[providerId, patientId, authorityId].flatMap((id) => [
      id.mnemonic,
      id.signingKey.slice(2).toLowerCase(),
      Buffer.from(id.encryption.privateKey).toString('hex'),
      Buffer.from(id.encryption.privateKey).toString('base64'),
    ]),
    ...Object.values(SECRETS),
    'kalium',
    '5.9 mmol',
  ];
  for (const { url, body } of bodies) {
    const s = body.toString('latin1');
    const lower = s.toLowerCase();
    for (const f of forbidden)
      assert.ok(!lower.includes(f.toLowerCase()), `a request to ${url} carried a secret`);
  }
  console.log(
    `web e2e: ${bodies.length} request bodies checked, ${Math.round((Date.now() - started) / 1000)} s`,
  );
  await Promise.all([provider.context.close(), authority.context.close(), patient.context.close()]);
});
