/**
 * Real FHIR clients, unchanged, against a patient's FHIR gateway on a real node and chain: Medplum's MedplumClient
 * and SMART Health IT's fhirclient read, search, create and post transactions; FHIR XML is served on request
 * (`_format`, `Accept`) and read from request bodies, round-tripping through packages/interop's converter.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fhirJsonToXml, fhirXmlToJson } from '@medbloc/interop';
import { createClient, type MedblocClient } from '@medbloc/sdk';
import { MedplumClient } from '@medplum/core';
import type { Bundle, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { countsOf, mountGateway, syntheaBundle } from './support/fhir-gateway.ts';
import { FIXTURES, newIdentity, startTestNode } from './support/harness.ts';

const require = createRequire(import.meta.url);
/** The parts of fhirclient's FhirClient (its Node entry's `FhirClient`, a client for an open server) used here. */
interface FhirClientApi {
  getFhirVersion(): Promise<string>;
  fhirRequest<T = unknown>(uri: string, options?: RequestInit): Promise<T>;
  resources(url: string): AsyncIterable<Resource>;
  create(resource: Resource): Promise<Resource>;
  update(resource: Resource): Promise<Resource>;
}
const { FhirClient } = require('fhirclient') as { FhirClient: new (baseUrl: string) => FhirClientApi };

const PAIRS = path.join(FIXTURES, 'fhir/xml/json-xml-pairs');
const FHIR_XML = 'application/fhir+xml';

const heartRate: Observation = {
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
};

/** A resource without what the server assigns (id, meta, narrative it may keep): what a client's content is. */
function content(r: Resource): Record<string, unknown> {
  const { id: _id, meta: _meta, ...rest } = r as Resource & Record<string, unknown>;
  return rest;
}

async function newPatient(url: string): Promise<MedblocClient> {
  const patient = createClient({ node: url, identity: newIdentity() });
  await patient.register({ roles: ['patient'] });
  return patient;
}

describe('FHIR XML on request', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let g: Awaited<ReturnType<typeof mountGateway>>;
  before(async () => {
    t = await startTestNode();
    g = await mountGateway(await newPatient(t.node.url));
  });
  after(async () => {
    await g?.close();
    await t?.stop();
  });

  test('an XML body is created; _format and Accept return XML that reads back to the same JSON', async () => {
    for (const name of ['observation-example', 'patient-example', 'condition-example']) {
      const xml = await readFile(path.join(PAIRS, `${name}.xml`), 'utf8');
      const json = JSON.parse(await readFile(path.join(PAIRS, `${name}.json`), 'utf8')) as Resource;
      const made = await g.fetch(json.resourceType, {
        method: 'POST',
        headers: { 'content-type': `${FHIR_XML}; charset=utf-8`, accept: FHIR_XML },
        body: xml,
      });
      assert.equal(made.status, 201, await made.clone().text());
      assert.match(made.headers.get('content-type') ?? '', /^application\/fhir\+xml/);
      const echoed = fhirXmlToJson(await made.text());
      assert.deepEqual(
        content(echoed),
        content(fhirXmlToJson(xml)),
        `${name}: the created resource is the XML's content`,
      );
      const id = echoed.id as string;

      for (const [url, headers] of [
        [`${json.resourceType}/${id}?_format=xml`, {}],
        [`${json.resourceType}/${id}?_format=${encodeURIComponent(FHIR_XML)}`, {}],
        [`${json.resourceType}/${id}`, { accept: FHIR_XML }],
        [`${json.resourceType}/${id}`, { accept: 'application/xml' }],
      ] as const) {
        const res = await g.fetch(url, { headers });
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /^application\/fhir\+xml/, url);
        const text = await res.text();
        assert.match(text, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<\w+ xmlns="http:\/\/hl7.org\/fhir">/);
        assert.deepEqual(fhirXmlToJson(text), await (await g.fetch(`${json.resourceType}/${id}`)).json());
      }
    }
  });

  test('searches answer a Bundle in XML; _format beats Accept', async () => {
    const res = await g.fetch('Observation?_format=xml', { headers: { accept: 'application/fhir+json' } });
    assert.equal(res.status, 200);
    const bundle = fhirXmlToJson(await res.text()) as Bundle;
    assert.equal(bundle.resourceType, 'Bundle');
    assert.equal(bundle.type, 'searchset');
    assert.ok((bundle.entry?.length ?? 0) >= 1);
    assert.ok(bundle.entry?.every((e) => e.resource?.resourceType === 'Observation'));
    const json = await g.fetch('Observation?_format=json', { headers: { accept: FHIR_XML } });
    assert.match(json.headers.get('content-type') ?? '', /^application\/fhir\+json/);
    const metadata = await g.fetch('metadata', { headers: { accept: FHIR_XML } });
    const cs = fhirXmlToJson(await metadata.text()) as { resourceType: string; format: string[] };
    assert.equal(cs.resourceType, 'CapabilityStatement');
    assert.ok(cs.format.includes('xml'));
  });

  test('update (PUT) and a transaction Bundle sent as XML', async () => {
    const created = (await (
      await g.fetch('Observation', {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(heartRate),
      })
    ).json()) as Observation;
    const changed = { ...created, valueQuantity: { ...heartRate.valueQuantity, value: 80 } };
    const put = await g.fetch(`Observation/${created.id}`, {
      method: 'PUT',
      headers: { 'content-type': FHIR_XML },
      body: fhirJsonToXml(changed),
    });
    assert.equal(put.status, 200, await put.clone().text());
    const read = (await (await g.fetch(`Observation/${created.id}`)).json()) as Observation;
    assert.equal(read.valueQuantity?.value, 80);
    assert.equal(read.meta?.versionId !== created.meta?.versionId, true);

    const tx: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:6f1f4b8e-0c55-4a8a-9a53-1b0f2b8d6c11',
          resource: { resourceType: 'Patient', name: [{ family: 'Chalmers', given: ['Peter'] }] },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          resource: { ...heartRate, subject: { reference: 'urn:uuid:6f1f4b8e-0c55-4a8a-9a53-1b0f2b8d6c11' } },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    };
    const res = await g.fetch('', {
      method: 'POST',
      headers: { 'content-type': FHIR_XML, accept: FHIR_XML },
      body: fhirJsonToXml(tx),
    });
    assert.equal(res.status, 200);
    const answer = fhirXmlToJson(await res.text()) as Bundle;
    assert.equal(answer.type, 'transaction-response');
    assert.deepEqual(
      answer.entry?.map((e) => e.response?.status),
      ['201', '201'],
    );
    const patientId = answer.entry?.[0]?.response?.location?.split('/')[1];
    const obsId = answer.entry?.[1]?.response?.location?.split('/')[1];
    const obs = (await (await g.fetch(`Observation/${obsId}`)).json()) as Observation;
    assert.equal(obs.subject?.reference, `Patient/${patientId}`);
  });

  test('errors are OperationOutcomes in the asked format; bad XML and unknown formats are refused', async () => {
    const missing = await g.fetch('Observation/does-not-exist?_format=xml');
    assert.equal(missing.status, 404);
    const outcome = fhirXmlToJson(await missing.text()) as {
      resourceType: string;
      issue: { code: string }[];
    };
    assert.equal(outcome.resourceType, 'OperationOutcome');
    assert.equal(outcome.issue[0]?.code, 'not-found');

    const broken = await g.fetch('Observation', {
      method: 'POST',
      headers: { 'content-type': FHIR_XML, accept: FHIR_XML },
      body: '<Observation xmlns="http://hl7.org/fhir"><status value="final"/>',
    });
    assert.equal(broken.status, 400);
    const why = fhirXmlToJson(await broken.text()) as { issue: { code: string; diagnostics: string }[] };
    assert.equal(why.issue[0]?.code, 'structure');
    assert.match(why.issue[0]?.diagnostics ?? '', /not valid FHIR XML: \d+:\d+/);

    const notFhir = await g.fetch('Observation', {
      method: 'POST',
      headers: { 'content-type': FHIR_XML },
      body: '<Observation xmlns="http://hl7.org/fhir"><colour value="red"/></Observation>',
    });
    assert.equal(notFhir.status, 400);
    assert.match(JSON.stringify(await notFhir.json()), /colour/);

    const turtle = await g.fetch('Observation?_format=ttl');
    assert.equal(turtle.status, 406);
    assert.equal(((await turtle.json()) as { resourceType: string }).resourceType, 'OperationOutcome');
    const png = await g.fetch('Observation', { headers: { accept: 'image/png' } });
    assert.equal(png.status, 406);
  });
});

describe('real FHIR clients over a Synthea patient', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let g: Awaited<ReturnType<typeof mountGateway>>;
  let bundle: Bundle;
  let patientId: string;
  before(async () => {
    t = await startTestNode();
    g = await mountGateway(await newPatient(t.node.url));
    bundle = await syntheaBundle('Antonio_Carmona');
  });
  after(async () => {
    await g?.close();
    await t?.stop();
  });

  test('MedplumClient posts the transaction, reads, searches, creates and batches', async () => {
    const medplum = new MedplumClient({ baseUrl: g.origin, fhirUrlPath: 'fhir', fetch });
    const answer = await medplum.executeBatch(bundle);
    assert.equal(answer.type, 'transaction-response');
    assert.equal(answer.entry?.length, bundle.entry?.length);
    const loc = answer.entry?.find((e) => e.response?.location?.startsWith('Patient/'))?.response?.location;
    patientId = loc?.split('/')[1] as string;

    const patient = await medplum.readResource('Patient', patientId);
    assert.equal(patient.id, patientId);
    assert.equal(
      patient.name?.[0]?.family,
      (bundle.entry?.[0]?.resource as Patient | undefined)?.name?.[0]?.family,
    );
    for (const [type, n] of Object.entries(countsOf(bundle))) {
      const found = await medplum.search(type as 'Observation', { _count: 0, _total: 'accurate' });
      assert.equal(found.total, n, `${type} count`);
    }
    const page = await medplum.searchResources('Observation', {
      patient: `Patient/${patientId}`,
      _count: 10,
    });
    assert.equal(page.length, 10);
    assert.ok(page.every((o) => o.subject?.reference === `Patient/${patientId}`));
    const one = await medplum.searchOne('Condition', { patient: patientId });
    assert.equal(one?.resourceType, 'Condition');

    const made = await medplum.createResource({
      ...heartRate,
      subject: { reference: `Patient/${patientId}` },
    });
    assert.ok(made.id);
    const again = await medplum.readResource('Observation', made.id, { cache: 'no-cache' });
    assert.equal(again.valueQuantity?.value, 72);
    const updated = await medplum.updateResource({ ...again, status: 'amended' });
    assert.equal(updated.status, 'amended');
    assert.notEqual(updated.meta?.versionId, again.meta?.versionId);
    const history = await medplum.readHistory('Observation', made.id);
    assert.equal(history.entry?.length, 2);

    const batch = await medplum.executeBatch({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:2b0f1c4e-8d7a-4e55-b1a2-3c4d5e6f7a8b',
          resource: { resourceType: 'Practitioner', name: [{ family: 'Osler' }] },
          request: { method: 'POST', url: 'Practitioner' },
        },
        {
          resource: {
            ...heartRate,
            subject: { reference: `Patient/${patientId}` },
            performer: [{ reference: 'urn:uuid:2b0f1c4e-8d7a-4e55-b1a2-3c4d5e6f7a8b' }],
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    });
    const practitioner = batch.entry?.[0]?.response?.location?.split('/')[1];
    const obs = await medplum.readResource(
      'Observation',
      batch.entry?.[1]?.response?.location?.split('/')[1] as string,
    );
    assert.equal(obs.performer?.[0]?.reference, `Practitioner/${practitioner}`);

    await assert.rejects(medplum.readResource('Observation', 'nope'), /not found/i);
  });

  test('a Synthea record round-trips through XML: $everything, searches, history and Provenance', async () => {
    for (const url of [
      `Patient/${patientId}/$everything`,
      'Encounter?_include=Encounter:patient&_count=3',
      'Provenance?_count=20',
      'Claim?_count=5',
      'ExplanationOfBenefit?_count=5',
      'Observation/_history?_count=10',
    ]) {
      const json = await (await g.fetch(url, { headers: { accept: 'application/fhir+json' } })).json();
      const xml = await g.fetch(url, { headers: { accept: FHIR_XML } });
      assert.equal(xml.status, 200, url);
      assert.deepEqual(fhirXmlToJson(await xml.text()), json, url);
    }
  });

  test('fhirclient reads, pages through a search, creates and posts a transaction', async () => {
    const client = new FhirClient(g.base);
    assert.equal(await client.getFhirVersion(), '4.0.1');
    const patient = (await client.fhirRequest(`Patient/${patientId}`)) as Patient;
    assert.equal(patient.id, patientId);

    const expected = countsOf(bundle).Encounter as number;
    let seen = 0;
    const ids = new Set<string>();
    for await (const r of client.resources(`Encounter?patient=${patientId}&_count=7`)) {
      seen++;
      ids.add(r.id as string);
    }
    assert.equal(seen, expected, 'every page followed');
    assert.equal(ids.size, expected, 'each encounter once');

    const made = (await client.create({
      ...heartRate,
      subject: { reference: `Patient/${patientId}` },
    } as Resource)) as Observation;
    assert.ok(made.id);
    const updated = (await client.update({ ...made, status: 'corrected' } as Resource)) as Observation;
    assert.equal(updated.status, 'corrected');

    const tx = (await client.fhirRequest('', {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: { ...heartRate, subject: { reference: `Patient/${patientId}` } },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      }),
    })) as Bundle;
    assert.equal(tx.type, 'transaction-response');
    assert.equal(tx.entry?.[0]?.response?.status, '201');

    await assert.rejects(client.fhirRequest('Observation/nope'), /404|not found/i);
  });
});
