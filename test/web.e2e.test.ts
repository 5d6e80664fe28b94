/**
 * The web portals end to end, in Chromium against a real node and chain: an authority certifies a provider in the
 * browser; a patient onboards in the browser; the provider writes for the patient (in the browser and with the SDK);
 * the patient sees every record verified, uploads one of their own, and a blob altered on disk shows as failing
 * verification with its content withheld. Then the rest of the patient's world: an emergency profile and a
 * provider's break-glass (seen in the patient's access log and notifications), a carer appointed and acting for the
 * patient, recovery guardians restoring the patient on a new device, a correction creating a new version with its
 * history, invalid FHIR refused in the page with no request sent, and a researcher reading what was shared for
 * research. Every request body the pages send is captured: none carries a recovery phrase, a private key or the
 * plaintext of a record. No page logs an error. Screenshots of each screen, at desktop and phone width, land in
 * artifacts/screenshots/.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createClient } from '@medbloc/sdk';
import type { Browser, Page } from 'playwright-core';
import { createWebApp } from '../packages/node/src/web.ts';
import {
  buildWebApp,
  CHROMIUM,
  launchChromium,
  onboard,
  openPage,
  PASSPHRASE,
  pageTraffic,
  restore,
  SHOTS,
  savePassphrase,
  serveTogether,
  shoot,
} from './support/browser.ts';
import { cast, newIdentity, startTestNode } from './support/harness.ts';

let DIST: string;

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
const traffic = pageTraffic();
const { bodies, apiRequests, consoleErrors } = traffic;
const newPage = () => openPage(browser, origin, traffic, 20_000);
/** Creates an identity in the browser (phrase shown, three words confirmed) and registers it; returns it. */

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
  DIST = await buildWebApp();
  await mkdir(SHOTS, { recursive: true });
  testNode = await startTestNode();
  ({ server, origin } = await serveTogether(testNode.node.url, DIST));
  browser = await launchChromium();
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

test('the page may compile WebAssembly (its hashes run on it) but never evaluate strings as script', {
  skip: !existsSync(CHROMIUM),
}, async () => {
  // A context of its own: the refused eval is reported on this page's console, not the other tests'.
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(origin);
    const allowed = await page.evaluate(async () => {
      // The smallest module: the magic number and version.
      const wasm = await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])).then(
        () => true,
        () => false,
      );
      let evaluated = true;
      try {
        // biome-ignore lint/security/noGlobalEval: checking that the page's policy refuses it
        eval('1');
      } catch {
        evaluated = false;
      }
      return { wasm, evaluated };
    });
    assert.deepEqual(allowed, { wasm: true, evaluated: false });
  } finally {
    await context.close();
  }
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
      clinicalStatus: {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' },
        ],
      },
      code: { text: SECRETS.allergy },
      patient: { display: 'Me' },
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
  await patient.page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
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

test('emergency, delegates, recovery, versions, in-page validation and research in the browser', {
  skip: !existsSync(CHROMIUM),
}, async () => {
  const started = Date.now();
  const bodiesBefore = bodies.length;
  const MORE = {
    allergy: 'Latex MB-EMERG-ALLERGY-6a1d',
    medication: 'Warfarin MB-EMERG-MED-2c9e',
    contact: 'Robin MB-EMERG-CONTACT-1f0a',
    reason: 'Unconscious after a fall MB-REASON-7f3b',
    carerLab: 'Ferritin MB-CARER-3e8a',
    corrected: 'Recheck in 3 months MB-CORRECTED-5b7c',
    invalid: 'MB-INVALID-0d4f',
    providerFix: 'Haemolysed sample, corrected MB-PROVIDER-FIX-9a4e',
  };
  const c = await cast(testNode.node);
  const carerId = newIdentity();
  const researcherId = newIdentity();
  const carer = createClient({ node: testNode.node.url, identity: carerId });
  const guardian2 = createClient({ node: testNode.node.url, identity: newIdentity() });
  const researcher = createClient({ node: testNode.node.url, identity: researcherId });
  await carer.register({ roles: ['patient'] });
  await guardian2.register({ roles: ['patient'] });
  await researcher.register({ roles: ['researcher'] });
  await c.authority.certify(researcher.address, { role: 'researcher' });

  // The patient onboards and writes an emergency profile.
  const patient = await newPage();
  const patientId = await onboard(patient.page, 'Patient');
  const p = patient.page;
  await p.getByRole('link', { name: 'Emergency' }).click();
  await p.getByRole('heading', { name: 'Create your emergency profile' }).waitFor();
  await p.getByLabel('Blood type').selectOption('O-');
  await p.getByLabel('Allergies (one per line)').fill(MORE.allergy);
  await p.getByLabel('Medications (one per line)').fill(MORE.medication);
  await p.getByLabel('Conditions (one per line)').fill('Asthma');
  await p.getByLabel('Contact 1 name').fill(MORE.contact);
  await p.getByLabel('Contact 1 phone').fill('+1 555 0199');
  await p.getByLabel('Contact 1 relation').fill('sister');
  await p.getByRole('button', { name: 'Seal and save the profile' }).click();
  await p.getByText('Emergency profile sealed and saved.').waitFor();
  await p.getByTestId('emergency-profile').getByText(MORE.allergy).waitFor();
  await shoot(p, 'emergency-profile');

  // A certified provider breaks the glass in the browser: reason and confirmation required, then the profile.
  const provider = await newPage();
  const v = provider.page;
  await restore(v, c.ids.provider.mnemonic);
  await v.getByRole('link', { name: 'Provider' }).click();
  const glass = v.locator('section.break-glass');
  await glass.getByLabel('Address of the patient in the emergency').fill(patientId.address);
  const breakButton = glass.getByRole('button', { name: 'Break the glass' });
  assert.equal(await breakButton.isDisabled(), true, 'no break-glass without a reason and confirmation');
  await glass.getByLabel('Reason (required)').fill(MORE.reason);
  assert.equal(await breakButton.isDisabled(), true, 'no break-glass without confirmation');
  // By keyboard, as a clinician in a hurry might: Space ticks the confirmation, Enter breaks the glass.
  await glass.getByLabel(/I confirm this is an emergency/).focus();
  await v.keyboard.press('Space');
  await breakButton.focus();
  await v.keyboard.press('Enter');
  await glass.getByText('Emergency access recorded.').waitFor({ timeout: 30_000 });
  await glass.getByText(/logged in the patient’s access log and the patient has been notified/).waitFor();
  const opened = glass.getByTestId('emergency-profile');
  for (const t of [MORE.allergy, MORE.medication, 'O-', MORE.contact]) await opened.getByText(t).waitFor();
  await shoot(v, 'break-glass');

  // The patient sees the opening in the access log and in the notifications.
  await p.getByRole('link', { name: 'Sharing & access log' }).click();
  const row = p.locator('table.log tbody tr', { hasText: 'emergency' });
  await row.waitFor();
  assert.match((await row.textContent()) ?? '', new RegExp(c.provider.address, 'i'));
  assert.match((await row.textContent()) ?? '', /granted/);
  await shoot(p, 'access-log-break-glass');
  await p.getByRole('link', { name: 'My records' }).click();
  await p.locator('section.notifications').getByText('opened your emergency profile (break-glass)').waitFor();

  // The patient appoints a carer.
  await p.getByRole('link', { name: 'Delegates & recovery' }).click();
  await p.getByLabel('Delegate address').fill(carer.address);
  await p.getByLabel('Acts as').selectOption('carer');
  await p.getByRole('button', { name: 'Add delegate' }).click();
  await p.getByText(`${carer.address} is now your carer.`).waitFor({ timeout: 30_000 });
  await p.getByTestId('delegate').filter({ hasText: carer.address }).waitFor();
  assert.equal((await carer.delegates({ as: 'delegate' }))[0]?.patient, patientId.address);
  await shoot(p, 'delegates');

  // The carer, in their own browser, acts for the patient: a lab result through the form, signed as the carer.
  const carerPage = await newPage();
  const k = carerPage.page;
  await restore(k, carerId.mnemonic);
  await k.getByRole('link', { name: 'Delegates & recovery' }).click();
  await k.getByRole('button', { name: 'Act for this patient' }).click();
  await k.getByLabel('Record type').selectOption('lab');
  await k.getByLabel('Test name').fill(MORE.carerLab);
  await k.getByLabel('Result', { exact: true }).fill('250');
  await k.getByLabel('Unit').fill('ug/L');
  await k.getByRole('button', { name: 'Seal and add for patient' }).click();
  await k.getByText('Lab result sealed for the patient and anchored.').waitFor({ timeout: 30_000 });
  // The carer opens the patient's records with the keys the patient gave it: the one it just added, verified.
  const carerView = k.locator('section.act-for article.record', { hasText: MORE.carerLab });
  await carerView.waitFor({ timeout: 30_000 });
  await k
    .locator('section.act-for article.record[data-status=verified]', { hasText: MORE.carerLab })
    .waitFor();
  await shoot(k, 'acting-for');

  // Two more glucose results from the SDK provider, for the lab trend chart.
  const glucose = (d: number, value: number) => ({
    resource: {
      resourceType: 'Observation',
      status: 'final',
      category: [
        {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
          ],
        },
      ],
      code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }] },
      effectiveDateTime: new Date(Date.UTC(2026, 1, d, 8)).toISOString(),
      valueQuantity: { value, unit: 'mg/dL' },
    },
  });
  await c.provider.addRecords([glucose(2, 96), glucose(9, 104)], { owner: patientId.address });

  // The patient sees the carer's record, verified and attributed to the carer, and the lab trend.
  await p.getByRole('link', { name: 'My records' }).click();
  await settled(p, 3);
  const carerCard = p.locator('article.record', { hasText: MORE.carerLab });
  assert.equal(await carerCard.getAttribute('data-status'), 'verified');
  assert.match((await carerCard.locator('.meta').textContent()) ?? '', new RegExp(carer.address, 'i'));
  await p.getByRole('heading', { name: 'Lab results over time' }).waitFor();

  // A correction: a new version superseding the carer's record; the timeline shows the latest and the history.
  await carerCard.getByRole('button', { name: 'Correct this record' }).click();
  const editor = carerCard.getByLabel('Corrected FHIR resource (JSON)');
  const original = JSON.parse(await editor.inputValue()) as Record<string, unknown>;
  assert.equal((original.valueQuantity as { value: number }).value, 250);
  await editor.fill(
    JSON.stringify({
      ...original,
      valueQuantity: { value: 25, unit: 'ug/L' },
      note: [{ text: MORE.corrected }],
    }),
  );
  await carerCard.getByRole('button', { name: 'Save as a new version' }).click();
  const latest = p.locator('article.record', { hasText: MORE.corrected });
  await latest.waitFor({ timeout: 30_000 });
  await settled(p, 3);
  await latest.getByText('version 2').waitFor();
  assert.equal(
    await p.locator('article.record', { hasText: MORE.carerLab }).count(),
    1,
    'one card per record',
  );
  await latest.getByText('History: 1 earlier version').click();
  const earlier = latest.locator('li.version');
  await earlier.getByText('250 ug/L').waitFor();
  assert.equal(await earlier.getAttribute('data-status'), 'verified');
  const newest = await latest.getAttribute('data-record-id');
  const oldId = await earlier.getAttribute('data-record-id');
  const listed = await createClient({ node: testNode.node.url, identity: patientId }).listRecords();
  assert.equal(
    listed.find((r) => r.recordId === newest)?.supersedes,
    oldId,
    'the new version supersedes the old',
  );
  await shoot(p, 'record-versions');

  // Invalid FHIR is refused in the page, before anything is sealed: no request leaves it.
  await p.getByRole('button', { name: 'Add FHIR data' }).click();
  await p
    .getByLabel('FHIR resource or Bundle (JSON)')
    .fill(JSON.stringify({ resourceType: 'Observation', status: 'nonsense', code: { text: MORE.invalid } }));
  await p.waitForTimeout(500);
  const sentBefore = apiRequests.length;
  await p.getByRole('button', { name: 'Seal and add' }).click();
  const refusal = p.getByRole('alert').filter({ hasText: 'Not valid FHIR R4 — nothing was sealed or sent' });
  await refusal.waitFor();
  assert.match((await refusal.textContent()) ?? '', /Observation\.status/);
  assert.deepEqual(apiRequests.slice(sentBefore), [], 'no request was sent for an invalid resource');
  await shoot(p, 'invalid-fhir');

  // Recovery guardians: the carer and another account, any 2 of 2.
  await p.getByRole('link', { name: 'Delegates & recovery' }).click();
  await p.getByLabel('Guardian addresses (one per line)').fill(`${carer.address}\n${guardian2.address}`);
  await p.getByLabel('Guardians needed to recover').fill('2');
  await p.getByRole('button', { name: 'Set up recovery' }).click();
  await p.getByText('Recovery set up: any 2 of your 2 guardians').waitFor({ timeout: 30_000 });
  await p.getByTestId('recovery-set').getByText(guardian2.address).waitFor();
  await shoot(p, 'recovery-guardians');

  // A new device with no phrase asks the guardians; it shows a code to compare.
  const device = await newPage();
  const d = device.page;
  await d.getByRole('button', { name: 'Lost your phrase? Recover with your guardians' }).click();
  await d.getByLabel('Your MedBloc address').fill(patientId.address);
  await d.getByRole('button', { name: 'Ask my guardians' }).click();
  const code = ((await d.getByTestId('recovery-code').textContent()) ?? '').trim();
  assert.match(code, /^[0-9A-F]{4}( [0-9A-F]{4}){3}$/);
  await shoot(d, 'recovery-request');
  await d.getByRole('button', { name: 'Check and recover' }).click();
  await d
    .getByRole('alert')
    .filter({ hasText: 'Not enough guardians have released their share yet' })
    .waitFor();

  // The carer releases their share in the browser after comparing the code; the other guardian with the SDK.
  await k.getByLabel('Address of the person recovering').fill(patientId.address);
  await k.getByRole('button', { name: 'Look for requests' }).click();
  await k.getByText(`Device code ${code}`).waitFor();
  await k.getByRole('button', { name: `Release my share to ${code}` }).click();
  await k.getByText('Share released').waitFor({ timeout: 30_000 });
  await shoot(k, 'guardian-release');
  const [asked] = await guardian2.recoveryRequests(patientId.address);
  assert.ok(asked);
  await guardian2.releaseRecoveryShare({ patient: patientId.address, recoveryKey: asked.recoveryKey });

  // The new device recovers the patient's identity: the same phrase, then the patient's own records.
  await d.getByRole('button', { name: 'Check and recover' }).click();
  await d.getByTestId('recovered-mnemonic').waitFor({ timeout: 30_000 });
  const words = await d.getByTestId('recovered-mnemonic').locator('.w').allTextContents();
  assert.equal(words.join(' '), patientId.mnemonic);
  await shoot(d, 'recovered');
  await savePassphrase(d);
  await d.getByRole('button', { name: 'Save and continue' }).click();
  await d.getByRole('link', { name: 'My records' }).waitFor();
  await settled(d, 3);
  await d.locator('article.record[data-status=verified]', { hasText: MORE.corrected }).waitFor();

  // The patient shares labs for research; the certified researcher reads them in the research portal.
  await p.getByRole('link', { name: 'Sharing & access log' }).click();
  await p.getByLabel('Their address').fill(researcher.address);
  await p.getByLabel('What').selectOption('labs');
  await p.getByLabel('Why').selectOption('research');
  await p.getByRole('button', { name: 'Share', exact: true }).click();
  await p.getByText(/can see your lab results for research until/).waitFor({ timeout: 30_000 });
  const research = await newPage();
  const r = research.page;
  await restore(r, researcherId.mnemonic);
  await r.getByRole('link', { name: 'Research' }).click();
  await r.getByTestId('researcher-cert-status').filter({ hasText: 'Certified researcher' }).waitFor();
  await r.getByText('Coming later: data requests and the data market').waitFor();
  await r.getByRole('button', { name: 'Open records' }).click();
  await r
    .locator('article.record[data-status=verified]', { hasText: MORE.corrected })
    .waitFor({ timeout: 30_000 });
  await settled(r, 3);
  assert.equal(await r.locator('article.record[data-status=verified]').count(), 3);
  await shoot(r, 'research');

  // The provider, once the patient shares labs for care, corrects a result: a new version the patient sees.
  await p.getByLabel('Their address').fill(c.provider.address);
  await p.getByLabel('What').selectOption('labs');
  await p.getByLabel('Why').selectOption('care');
  await p.getByRole('button', { name: 'Share', exact: true }).click();
  await p.getByText(/can see your lab results for care until/).waitFor({ timeout: 30_000 });
  // The provider finds the patient among those who shared with them.
  await v.getByRole('link', { name: 'Delegates & recovery' }).click();
  await v.getByRole('link', { name: 'Provider' }).click();
  const sharedWithMe = v.locator('section', {
    has: v.getByRole('heading', { name: 'Patients who shared records with you' }),
  });
  await sharedWithMe.getByText(patientId.address).waitFor();
  await sharedWithMe.getByRole('button', { name: 'Open this patient' }).click();
  assert.equal(await v.getByLabel('Patient address').inputValue(), patientId.address);
  const glucoseCard = v.locator('article.record[data-status=verified]', { hasText: 'Glucose: 104' });
  await glucoseCard.waitFor({ timeout: 30_000 });
  await glucoseCard.getByRole('button', { name: 'Correct this record' }).click();
  const providerEditor = glucoseCard.getByLabel('Corrected FHIR resource (JSON)');
  const wrong = JSON.parse(await providerEditor.inputValue()) as Record<string, unknown>;
  await providerEditor.fill(
    JSON.stringify({
      ...wrong,
      valueQuantity: { value: 110, unit: 'mg/dL' },
      note: [{ text: MORE.providerFix }],
    }),
  );
  await glucoseCard.getByRole('button', { name: 'Save as a new version' }).click();
  await v
    .locator('article.record', { hasText: MORE.providerFix })
    .getByText('version 2')
    .waitFor({ timeout: 30_000 });
  await p.getByRole('link', { name: 'My records' }).click();
  const fixed = p.locator('article.record[data-status=verified]', { hasText: MORE.providerFix });
  for (let i = 0; i < 20 && !(await fixed.count()); i++) {
    await p.getByRole('button', { name: 'Refresh', exact: true }).click();
    await p.waitForTimeout(500);
  }
  await fixed.getByText('version 2').waitFor();
  assert.match(
    (await fixed.locator('.meta').first().textContent()) ?? '',
    new RegExp(c.provider.address, 'i'),
  );
  await settled(p, 3);
  assert.equal(
    await p.locator('article.record').count(),
    3,
    'corrections replace, never add, a timeline entry',
  );

  // The patient removes the carer, who no longer sees the patient among those they act for.
  await p.getByRole('link', { name: 'Delegates & recovery' }).click();
  await p.getByRole('button', { name: `Remove delegate ${carer.address}` }).click();
  await p.getByText(`${carer.address} no longer acts for you`).waitFor({ timeout: 60_000 });
  await p.getByText('Nobody acts for you.').waitFor();
  await k.getByRole('link', { name: 'My records' }).click();
  await k.getByRole('link', { name: 'Delegates & recovery' }).click();
  await k.getByRole('heading', { name: 'Help someone recover (as their guardian)' }).waitFor();
  assert.equal(await k.getByRole('button', { name: 'Act for this patient' }).count(), 0);

  // Nothing secret left any browser in these flows either.
  const forbidden = [
    ...[patientId, c.ids.provider, carerId, researcherId].flatMap((id) => [
      id.mnemonic,
      id.signingKey.slice(2).toLowerCase(),
      Buffer.from(id.encryption.privateKey).toString('hex'),
      Buffer.from(id.encryption.privateKey).toString('base64'),
    ]),
    ...Object.values(MORE),
  ];
  const mine = bodies.slice(bodiesBefore);
  assert.ok(mine.length > 20, `captured ${mine.length} request bodies`);
  for (const { url, body } of mine) {
    const lower = body.toString('latin1').toLowerCase();
    for (const f of forbidden)
      assert.ok(
        !lower.includes(f.toLowerCase()),
        `a request to ${url} carried a secret (${f.slice(0, 12)}…)`,
      );
  }
  assert.deepEqual(consoleErrors, [], 'no page logged an error');
  console.log(
    `web e2e (emergency, delegates, recovery, versions, validation, research): ${mine.length} request bodies checked, ${Math.round((Date.now() - started) / 1000)} s`,
  );
  await Promise.all([patient, provider, carerPage, device, research].map((x) => x.context.close()));
});
