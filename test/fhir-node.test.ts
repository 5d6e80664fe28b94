/**
 * The FHIR R4 API served by `medbloc node start` itself (MEDBLOC_FHIR_KEYSTORE): a patient's own node answers FHIR
 * clients for that patient, sealing and anchoring what they write.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { encryptKeystore, generateMnemonic, identityFromMnemonic } from '@medbloc/core';
import { createClient } from '@medbloc/sdk';
import { spawnNode, tempDir } from './support/harness.ts';

test('a node started with a FHIR identity serves /fhir for it', { timeout: 120_000 }, async () => {
  const home = await tempDir();
  const mnemonic = generateMnemonic();
  const keystore = path.join(home, 'patient.json');
  await writeFile(keystore, JSON.stringify(await encryptKeystore(mnemonic, 'fhir passphrase')));
  const { url, child } = await spawnNode(home, {
    MEDBLOC_FHIR_KEYSTORE: keystore,
    MEDBLOC_FHIR_PASSPHRASE: 'fhir passphrase',
  });
  try {
    const patient = createClient({ node: url, identity: identityFromMnemonic(mnemonic) });
    await patient.register();
    const meta = await fetch(`${url}/fhir/metadata`, { headers: { accept: 'application/fhir+json' } });
    assert.equal(meta.status, 200);
    assert.equal(((await meta.json()) as { resourceType: string }).resourceType, 'CapabilityStatement');
    const created = await fetch(`${url}/fhir/AllergyIntolerance`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'AllergyIntolerance',
        clinicalStatus: {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' },
          ],
        },
        patient: { reference: 'Patient/example' },
        code: { text: 'peanut' },
      }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const { id } = (await created.json()) as { id: string };
    const read = (await (await fetch(`${url}/fhir/AllergyIntolerance/${id}`)).json()) as {
      code: { text: string };
    };
    assert.equal(read.code.text, 'peanut');
    // What the FHIR API wrote is an ordinary sealed record of the patient's.
    const records = await patient.listRecords();
    assert.ok(records.some((r) => r.meta?.resourceType === 'AllergyIntolerance'));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});
