/**
 * Browser benchmarks (Debian Chromium through playwright-core) against a real node that serves the web app:
 *   - time to first render of the patient with the largest Synthea history: from unlocking the patient portal to
 *     the first page of records rendered and verified, vs the same SDK work in Node (list + verify that page);
 *   - sealing and uploading a 100 MB file in the page (MB/s) vs the same SDK operation in Node.
 * Run with `npm run bench` (BENCH_ONLY=web) — needs /usr/bin/chromium.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createClient } from '@medbloc/sdk';
import { CHROMIUM, launchChromium } from '../test/support/browser.ts';
import { FIXTURES, newIdentity, spawnNode, tempDir } from '../test/support/harness.ts';

const PASS = 'bench passphrase 123';
const FILE_MB = Number(process.env.BENCH_WEB_FILE_MB ?? 100);

export async function benchWeb(line: (s: string) => void): Promise<Record<string, unknown> | undefined> {
  if (!existsSync(CHROMIUM)) {
    line('web: skipped (no /usr/bin/chromium; install Debian chromium)');
    return undefined;
  }
  const home = await tempDir('medbloc-bench-web-');
  const authorityId = newIdentity();
  const { url, child } = await spawnNode(home, {
    MEDBLOC_AUTHORITIES: authorityId.address,
    MEDBLOC_FREE_QUOTA_BYTES: String(4 * 1024 ** 3),
  });
  const browser = await launchChromium();
  try {
    const patientId = newIdentity();
    const authority = createClient({ node: url, identity: authorityId });
    const provider = createClient({ node: url, identity: newIdentity() });
    const patient = createClient({ node: url, identity: patientId });
    await authority.register();
    await provider.register({ roles: ['provider'] });
    await patient.register();
    await authority.certify(provider.address);

    // The largest Synthea history, written for the patient in one batch.
    const dir = path.join(FIXTURES, 'fhir/synthea');
    const largest = readdirSync(dir)
      .filter((f) => f.endsWith('.json') && !/hospital|practitioner/i.test(f))
      .map(
        (f) =>
          JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as {
            entry: { resource: Record<string, unknown> }[];
          },
      )
      .sort((a, b) => b.entry.length - a.entry.length)[0]!;
    await provider.addRecords(
      largest.entry.map((e) => ({ resource: e.resource })),
      { owner: patient.address },
    );

    // Node baseline: list everything and verify the newest page of 50, as the timeline does.
    const reader = createClient({ node: url, identity: patientId });
    let t = performance.now();
    const listed = await reader.listRecords();
    await Promise.all(listed.slice(-50).map((r) => reader.getRecord(r.recordId)));
    const nodeFirstRenderMs = performance.now() - t;

    // Browser: restore the patient from its phrase, then time unlock → first page rendered and verified.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(120_000);
    await page.goto(url);
    await page.getByRole('button', { name: 'Restore from a recovery phrase' }).click();
    await page.getByLabel(/Recovery phrase/).fill(patientId.mnemonic);
    await page.getByLabel('Passphrase (at least 8 characters)').fill(PASS);
    await page.getByLabel('Repeat the passphrase').fill(PASS);
    t = performance.now();
    await page.getByRole('button', { name: 'Restore' }).click();
    await page.locator('article.record').first().waitFor();
    for (;;) {
      const shown = await page.locator('article.record').count();
      const pending = await page.locator('article.record[data-status=pending]').count();
      if (shown > 0 && pending === 0) break;
      await page.waitForTimeout(20);
    }
    const browserFirstRenderMs = performance.now() - t;
    const shown = await page.locator('article.record').count();

    // 100 MB sealed and uploaded in the page, then the same in Node.
    const file = path.join(home, 'scan.bin');
    const block = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i * 31) & 0xff;
    await writeFile(file, Buffer.concat(Array.from({ length: FILE_MB }, () => block)));
    await page.getByRole('button', { name: 'Upload a file' }).click();
    await page.locator('input[type=file]').setInputFiles(file);
    t = performance.now();
    await page.getByRole('button', { name: 'Seal and upload' }).click();
    await page.getByText('sealed and anchored').waitFor({ timeout: 600_000 });
    const browserMBps = FILE_MB / ((performance.now() - t) / 1000);
    t = performance.now();
    await patient.addRecord({ content: Buffer.concat(Array.from({ length: FILE_MB }, () => block)) });
    const nodeMBps = FILE_MB / ((performance.now() - t) / 1000);
    await context.close();

    line(
      `web first render of ${listed.length} records (${shown} shown, all verified): browser ${browserFirstRenderMs.toFixed(0)} ms vs SDK in Node ${nodeFirstRenderMs.toFixed(0)} ms (ratio ${(browserFirstRenderMs / nodeFirstRenderMs).toFixed(2)}x)`,
    );
    line(
      `web seal+upload ${FILE_MB} MB: browser ${browserMBps.toFixed(0)} MB/s vs SDK in Node ${nodeMBps.toFixed(0)} MB/s (ratio ${(browserMBps / nodeMBps).toFixed(2)}x)`,
    );
    return { records: listed.length, shown, browserFirstRenderMs, nodeFirstRenderMs, browserMBps, nodeMBps };
  } finally {
    await browser.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await rm(home, { recursive: true, force: true });
  }
}

/**
 * In-page FHIR validation (BENCH_ONLY=web-validate): the largest Synthea bundle pasted into the patient's "Add FHIR
 * data" form, with its last entry made invalid so the page validates every resource and then refuses (nothing is
 * sealed or sent). Timed from the click to the refusal: cold (the validator chunk and its R4 definitions load and
 * index first) and warm; vs core's validateFhirResource on the same resources in Node (definitions already loaded).
 */
export async function benchWebValidation(
  line: (s: string) => void,
): Promise<Record<string, unknown> | undefined> {
  if (!existsSync(CHROMIUM)) {
    line('web-validate: skipped (no /usr/bin/chromium; install Debian chromium)');
    return undefined;
  }
  const { validateFhirResource, loadValidationDefinitions } = await import('@medbloc/core');
  const home = await tempDir('medbloc-bench-webval-');
  const { url, child } = await spawnNode(home, {});
  const browser = await launchChromium();
  try {
    const dir = path.join(FIXTURES, 'fhir/synthea');
    const largest = readdirSync(dir)
      .filter((f) => f.endsWith('.json') && !/hospital|practitioner/i.test(f))
      .map(
        (f) =>
          JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as {
            entry: { resource: Record<string, unknown> }[];
          },
      )
      .sort((a, b) => b.entry.length - a.entry.length)[0]!;
    const resources = largest.entry.map((e) => e.resource);
    const n = resources.length;
    /** The bundle as pasted, its last entry invalid with a status that names the run. */
    const bundleText = (run: number) =>
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'collection',
        entry: [
          ...resources.slice(0, -1),
          { resourceType: 'Observation', status: `nonsense${run}`, code: { text: 'x' } },
        ].map((resource) => ({ resource })),
      });

    // Node: definitions loaded, one run to warm up (as the page's cold run), then the best of three.
    loadValidationDefinitions();
    const judged = resources.slice(0, -1);
    const invalid = judged.filter((r) => !validateFhirResource(r).ok).length + 1;
    const nodeRuns: number[] = [];
    for (let run = 0; run < 3; run++) {
      const t = performance.now();
      for (const r of judged) validateFhirResource(r);
      nodeRuns.push(performance.now() - t);
    }
    const nodeMs = Math.min(...nodeRuns);

    const patientId = newIdentity();
    await createClient({ node: url, identity: patientId }).register();
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.setDefaultTimeout(120_000);
    await page.goto(url);
    await page.getByRole('button', { name: 'Restore from a recovery phrase' }).click();
    await page.getByLabel(/Recovery phrase/).fill(patientId.mnemonic);
    await page.getByLabel('Passphrase (at least 8 characters)').fill(PASS);
    await page.getByLabel('Repeat the passphrase').fill(PASS);
    await page.getByRole('button', { name: 'Restore' }).click();
    await page.getByRole('button', { name: 'Add FHIR data' }).click();
    // Sets the text without focusing the box (focus starts loading the validator), so the first run is cold.
    const paste = (text: string) =>
      page.evaluate((v) => {
        const el = document.querySelector('textarea') as HTMLTextAreaElement;
        Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value')!.set!.call(el, v);
        el.dispatchEvent(new Event('input', { bubbles: true }));
      }, text);
    /** Click to refusal shown, and the page's own measure of the validation inside it. */
    const once = async (run: number) => {
      await paste(bundleText(run));
      const s = performance.now();
      await page.getByRole('button', { name: 'Seal and add' }).click();
      await page
        .getByRole('alert')
        .filter({ hasText: `nonsense${run}` })
        .waitFor();
      const roundTrip = performance.now() - s;
      const validation = await page.evaluate(
        () => performance.getEntriesByName('medbloc:fhir-validate').at(-1)?.duration ?? Number.NaN,
      );
      return { roundTrip, validation };
    };
    const cold = await once(0);
    const warm: { roundTrip: number; validation: number }[] = [];
    for (let run = 1; run <= 3; run++) warm.push(await once(run));
    const warmMs = Math.min(...warm.map((w) => w.roundTrip));
    const warmValidationMs = Math.min(...warm.map((w) => w.validation));
    const coldMs = cold.roundTrip;
    line(
      `web-validate ${n} Synthea resources (${invalid} invalid): in the page cold ${coldMs.toFixed(0)} ms (chunk + definitions + validation), warm ${warmMs.toFixed(0)} ms from click to refusal shown, of which validation ${warmValidationMs.toFixed(0)} ms = ${Math.round(n / (warmValidationMs / 1000))} resources/s vs core in Node ${nodeMs.toFixed(0)} ms = ${Math.round(n / (nodeMs / 1000))} resources/s (ratio ${(nodeMs / warmValidationMs).toFixed(2)}x)`,
    );
    return { resources: n, invalid, coldMs, warmMs, warmValidationMs, nodeMs };
  } finally {
    await browser.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await rm(home, { recursive: true, force: true });
  }
}
