/**
 * The FHIR R4 API served by `medbloc node start` itself (MEDBLOC_FHIR_KEYSTORE): a patient's own node answers FHIR
 * clients for that patient, sealing and anchoring what they write.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { encryptKeystore, generateMnemonic, identityFromMnemonic } from '@medbloc/core';
import { createClient } from '@medbloc/sdk';
import { MedplumClient } from '@medplum/core';
import type { Observation, Patient, Resource } from '@medplum/fhirtypes';
import { Client } from 'fhir-kit-client';
import { countsOf, syntheaBundle } from './support/fhir-gateway.ts';
import { spawnNode, tempDir } from './support/harness.ts';

const require = createRequire(import.meta.url);
/** The parts of fhirclient's FhirClient (its Node entry's client for an open server) used here. */
interface FhirClientApi {
  fhirRequest<T = unknown>(uri: string, options?: RequestInit): Promise<T>;
  resources(url: string): AsyncIterable<Resource>;
  create(resource: Resource): Promise<Resource>;
}
const { FhirClient } = require('fhirclient') as { FhirClient: new (baseUrl: string) => FhirClientApi };

const heartRate = {
  resourceType: 'Observation' as const,
  status: 'final' as const,
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  valueQuantity: { value: 61, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
};

test('a node started with a FHIR identity serves /fhir for it, to MedplumClient, fhirclient and fhir-kit-client', {
  timeout: 120_000,
}, async () => {
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

    // Real clients, unchanged, against this very process (what `npm start` runs).
    const bundle = await syntheaBundle();
    const medplum = new MedplumClient({ baseUrl: url, fhirUrlPath: 'fhir', fetch });
    const answer = await medplum.executeBatch(bundle);
    assert.equal(answer.type, 'transaction-response');
    const patientId = answer.entry
      ?.find((e) => e.response?.location?.startsWith('Patient/'))
      ?.response?.location?.split('/')[1] as string;
    assert.equal((await medplum.readResource('Patient', patientId)).id, patientId);
    const encounters = await medplum.search('Encounter', {
      patient: `Patient/${patientId}`,
      _total: 'accurate',
    });
    assert.equal(encounters.total, countsOf(bundle).Encounter);
    const made = await medplum.createResource<Observation>({
      ...heartRate,
      subject: { reference: `Patient/${patientId}` },
    });
    assert.equal((await medplum.readResource('Observation', made.id as string)).valueQuantity?.value, 61);

    const fc = new FhirClient(`${url}/fhir`);
    assert.equal(((await fc.fhirRequest(`Patient/${patientId}`)) as Patient).id, patientId);
    let conditions = 0;
    for await (const _ of fc.resources(`Condition?patient=${patientId}&_count=5`)) conditions++;
    assert.equal(conditions, countsOf(bundle).Condition ?? 0);
    const fcMade = (await fc.create({
      ...heartRate,
      subject: { reference: `Patient/${patientId}` },
    } as Resource)) as Observation;
    assert.ok(fcMade.id);

    const kit = new Client({ baseUrl: `${url}/fhir` });
    const viaKit = (await kit.read({
      resourceType: 'Observation',
      id: fcMade.id as string,
    })) as unknown as Observation;
    assert.equal(viaKit.valueQuantity?.value, 61);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});
