/**
 * A patient imports an Apple Health export in the browser, against a real node and chain: export.xml becomes
 * verified Observation records in the timeline (readable by the patient through the SDK too), Apple's export.zip is
 * read in place and stored in batches of 500, and malformed XML is refused in the page naming the line, with nothing
 * stored. No request body carries the plaintext of a measurement. The app is built into a private directory.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createClient } from '@medbloc/sdk';
import type { Browser, Page } from 'playwright-core';
import {
  heartRateExport,
  SAMPLE,
  SAMPLE_OBSERVATIONS,
  zipOf,
} from '../packages/interop/src/apple-health/sample.test-helpers.ts';
import {
  buildWebApp,
  CHROMIUM,
  launchChromium,
  onboard,
  openPage,
  pageTraffic,
  serveTogether,
} from './support/browser.ts';
import { startTestNode, tempDir } from './support/harness.ts';

let testNode: Awaited<ReturnType<typeof startTestNode>>;
let server: http.Server;
let origin: string;
let browser: Browser;
let dir: string;
const traffic = pageTraffic();

before(async () => {
  dir = await tempDir();
  const dist = await buildWebApp();
  testNode = await startTestNode();
  ({ server, origin } = await serveTogether(testNode.node.url, dist));
  if (existsSync(CHROMIUM)) browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await testNode?.stop();
});

async function upload(page: Page, file: string) {
  const form = page.locator('form.upload');
  await form.getByLabel(/^File/).setInputFiles(file);
  await form.getByRole('button', { name: 'Seal and upload' }).click();
}

test('a patient imports an Apple Health export in the browser; nothing readable leaves the page', {
  skip: !existsSync(CHROMIUM),
  timeout: 300_000,
}, async () => {
  const { context, page } = await openPage(browser, origin, traffic, 60_000);
  const me = await onboard(page, 'Patient');
  const sdk = createClient({ node: testNode.node.url, identity: me });
  await page.getByRole('link', { name: 'My records' }).click();
  await page.getByRole('button', { name: 'Upload a file' }).click();

  // export.xml: every mapped sample becomes an Observation record, shown verified in the timeline.
  const xml = path.join(dir, 'export.xml');
  await writeFile(xml, SAMPLE);
  await upload(page, xml);
  await page
    .getByRole('status')
    .filter({
      hasText: `Apple Health: ${SAMPLE_OBSERVATIONS} observations sealed and anchored in 1 batch (`,
    })
    .waitFor();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const verified = await page.locator('article.record[data-status=verified]').count();
    if (verified >= SAMPLE_OBSERVATIONS) break;
    if (Date.now() > deadline) assert.fail(`saw ${verified} verified records`);
    await page.waitForTimeout(500);
  }
  const listed = await sdk.listRecords();
  assert.equal(listed.length, SAMPLE_OBSERVATIONS);
  const panel = [];
  for (const r of listed) {
    const opened = await sdk.openRecord(r.recordId);
    const parts: Uint8Array[] = [];
    for await (const c of opened.stream) parts.push(c);
    const o = JSON.parse(Buffer.concat(parts).toString('utf8'));
    assert.equal(o.resourceType, 'Observation');
    assert.equal(o.subject.identifier.value, me.address);
    if (o.code.coding[0].code === '85354-9') panel.push(o);
  }
  assert.deepEqual(
    panel[0]?.component.map((c: { valueQuantity: { value: number } }) => c.valueQuantity.value),
    [124, 81],
  );

  // Malformed XML: refused in the page, naming the line; nothing is sealed.
  const broken = path.join(dir, 'broken.xml');
  const text = SAMPLE.replace('<Workout ', '<Workout x="1" x="2" ');
  await writeFile(broken, text);
  const line = text.split('\n').findIndex((l) => l.includes('x="1" x="2"')) + 1;
  await upload(page, broken);
  await page
    .getByRole('alert')
    .filter({ hasText: new RegExp(`malformed XML at line ${line}, column \\d+`) })
    .waitFor();
  assert.equal((await sdk.listRecords()).length, SAMPLE_OBSERVATIONS);

  // Apple's export.zip, read in place: 520 heart rates stored as 500 + 20 in two batches.
  const zip = path.join(dir, 'export.zip');
  await writeFile(zip, zipOf('apple_health_export/export.xml', [...heartRateExport(520)].join('')));
  await upload(page, zip);
  await page
    .getByRole('status')
    .filter({ hasText: 'Apple Health: 520 observations sealed and anchored in 2 batches (' })
    .waitFor();
  assert.equal((await sdk.listRecords()).length, SAMPLE_OBSERVATIONS + 520);
  // The batch of 500 was sealed in the page's sealing worker, not on its thread.
  const sealer = page.workers().find((w) => w.url().includes('seal-worker'));
  assert.ok(sealer, `a sealing worker runs (workers: ${page.workers().map((w) => w.url())})`);
  assert.ok((await sealer.evaluate(() => (self as unknown as { batchesSealed: number }).batchesSealed)) >= 1);

  // Any other file is sealed as it is read from disk and stored as one record, byte for byte.
  const scan = path.join(dir, 'discharge-letter.txt');
  const letter = `Discharge letter\n${'Resting well; follow up in two weeks.\n'.repeat(40_000)}`;
  await writeFile(scan, letter);
  await upload(page, scan);
  await page.getByRole('status').filter({ hasText: 'discharge-letter.txt sealed and anchored.' }).waitFor();
  const stored = (await sdk.listRecords()).find((r) => r.meta?.kind === 'file');
  assert.ok(stored, 'the file is listed');
  const got = await sdk.getRecord(stored.recordId);
  assert.equal(Buffer.from(got.bytes).toString('utf8'), letter);
  assert.equal(got.meta?.name, 'discharge-letter.txt');
  assert.equal(got.meta?.size, Buffer.byteLength(letter));

  // The node saw ciphertext only: no source name, code or metadata of a measurement in any request body.
  assert.ok(traffic.bodies.length > 5);
  for (const { body } of traffic.bodies) {
    const s = body.toString('latin1');
    for (const needle of [
      'Apple Watch',
      'Omron',
      '85354-9',
      '8867-4',
      'HeartRateMotionContext',
      'Resting well',
    ])
      assert.ok(!s.includes(needle), `a request body carries "${needle}"`);
  }
  assert.deepEqual(traffic.consoleErrors, [], 'the page logged no error');
  await context.close();
});
