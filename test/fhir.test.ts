/**
 * The FHIR R4 gateway as a patient runs it on their own node: a real node and chain, the gateway acting for the
 * patient's identity on a real HTTP server. Writes must be validated, sealed and anchored before they are served;
 * searches must answer exactly as Medplum's own router does over the same data; a new gateway on the same identity
 * must rebuild everything from the chain-anchored records.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { loadFhirDefinitions } from '@medbloc/core';
import { createClient, type MedblocClient } from '@medbloc/sdk';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { Client } from 'fhir-kit-client';
import { Hono } from 'hono';
import { createDeferredFhirGateway, createFhirGateway } from '../packages/node/src/fhir/index.ts';
import { cast, FIXTURES, newIdentity, startTestNode } from './support/harness.ts';

const FHIR_JSON = 'application/fhir+json';

const heartRate = {
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
};

interface Reply<T = Resource> {
  status: number;
  headers: Headers;
  body: T;
}

/** A gateway for `client` on its own HTTP server, mounted at /fhir as the node mounts it. */
async function mountGateway(client: MedblocClient) {
  const gateway = createFhirGateway({ client });
  const app = new Hono();
  app.route('/fhir', gateway.app);
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  await gateway.ready;
  async function call<T = Resource>(
    method: string,
    url: string,
    o: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Reply<T>> {
    const res = await fetch(url.startsWith('http') ? url : `${base}/${url}`, {
      method,
      headers: {
        accept: FHIR_JSON,
        ...(o.body !== undefined ? { 'content-type': FHIR_JSON } : {}),
        ...o.headers,
      },
      ...(o.body !== undefined ? { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
  }
  return {
    gateway,
    base,
    call,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.stop();
    },
  };
}

async function newPatient(url: string) {
  const patient = createClient({ node: url, identity: newIdentity() });
  await patient.register({ roles: ['patient'] });
  return patient;
}

const isDerived = (r: Resource | undefined) =>
  r?.meta?.tag?.some((t) => t.code === 'anchor-provenance') ?? false;

async function readBundle(file: string): Promise<Bundle> {
  return JSON.parse(await readFile(file, 'utf8')) as Bundle;
}

/** `Type/id` of each created entry → the entry's original fullUrl (the bundle's own identity for it). */
function originOf(request: Bundle, response: Bundle): Map<string, string> {
  const out = new Map<string, string>();
  (response.entry ?? []).forEach((e, i) => {
    const loc = e.response?.location?.split('/');
    const fullUrl = request.entry?.[i]?.fullUrl;
    if (loc && fullUrl) out.set(`${loc[0]}/${loc[1]}`, fullUrl);
  });
  return out;
}

describe('FHIR gateway for a patient', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let c: Awaited<ReturnType<typeof cast>>;
  let g: Awaited<ReturnType<typeof mountGateway>>;
  before(async () => {
    t = await startTestNode();
    c = await cast(t.node);
    g = await mountGateway(c.patient);
  });
  after(async () => {
    await g?.close();
    await t?.stop();
  });

  test('metadata is a CapabilityStatement naming what is supported', async () => {
    const res = await g.call<{
      resourceType: string;
      fhirVersion: string;
      rest: {
        resource: { type: string; interaction: { code: string }[] }[];
        interaction: { code: string }[];
      }[];
    }>('GET', 'metadata');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/fhir\+json/);
    assert.equal(res.body.resourceType, 'CapabilityStatement');
    assert.equal(res.body.fhirVersion, '4.0.1');
    const obs = res.body.rest[0]?.resource.find((r) => r.type === 'Observation');
    assert.ok(obs?.interaction.some((i) => i.code === 'vread'));
    assert.ok(res.body.rest[0]?.interaction.some((i) => i.code === 'transaction'));
  });

  test('create, read, vread, update with If-Match (412 when stale), delete and history', async () => {
    const created = await g.call('POST', 'Observation', { body: heartRate });
    assert.equal(created.status, 201);
    const id = created.body.id as string;
    const v1 = created.body.meta?.versionId as string;
    assert.equal(created.headers.get('etag'), `W/"${v1}"`);
    assert.equal(created.headers.get('location'), `${g.base}/Observation/${id}/_history/${v1}`);

    const read = await g.call('GET', `Observation/${id}`);
    assert.equal(read.status, 200);
    assert.equal(read.headers.get('etag'), `W/"${v1}"`);
    assert.deepEqual((read.body as typeof heartRate).valueQuantity, heartRate.valueQuantity);

    // The version is a sealed record owned by the patient and anchored with the patient as creator.
    const records = await c.patient.listRecords();
    const rec = records.find((r) => r.meta?.resourceType === 'Observation' && r.meta.resourceId === id);
    assert.ok(rec, 'the create is a record of the patient');
    assert.equal(rec.creator, c.patient.address);
    assert.deepEqual((await c.patient.getRecord(rec.recordId)).resource, created.body);

    const changed = { ...read.body, valueQuantity: { ...heartRate.valueQuantity, value: 80 } };
    const updated = await g.call('PUT', `Observation/${id}`, {
      body: changed,
      headers: { 'if-match': `W/"${v1}"` },
    });
    assert.equal(updated.status, 200);
    const v2 = updated.body.meta?.versionId as string;
    assert.notEqual(v2, v1);
    const stale = await g.call('PUT', `Observation/${id}`, {
      body: changed,
      headers: { 'if-match': `W/"${v1}"` },
    });
    assert.equal(stale.status, 412);
    assert.equal(stale.body.resourceType, 'OperationOutcome');

    const updRec = (await c.patient.listRecords()).find((r) => r.supersedes === rec.recordId);
    assert.ok(updRec, 'the update is a new record superseding the first version');

    const old = await g.call('GET', `Observation/${id}/_history/${v1}`);
    assert.equal(old.status, 200);
    assert.equal((old.body as typeof heartRate).valueQuantity.value, 72);

    const minimal = await g.call('PUT', `Observation/${id}`, {
      body: { ...changed, valueQuantity: { ...heartRate.valueQuantity, value: 81 } },
      headers: { prefer: 'return=minimal' },
    });
    assert.equal(minimal.status, 200);
    assert.equal(minimal.body, undefined);
    const v3 = /W\/"(.+)"/.exec(minimal.headers.get('etag') ?? '')?.[1];
    assert.ok(v3);

    const stalDelete = await g.call('DELETE', `Observation/${id}`, { headers: { 'if-match': `W/"${v1}"` } });
    assert.equal(stalDelete.status, 412);
    const deleted = await g.call('DELETE', `Observation/${id}`, { headers: { 'if-match': `W/"${v3}"` } });
    assert.equal(deleted.status, 200);
    assert.equal((await g.call('GET', `Observation/${id}`)).status, 410);
    assert.equal((await g.call('GET', `Observation/${id}/_history/${v1}`)).status, 200);

    const history = await g.call<Bundle>('GET', `Observation/${id}/_history`);
    assert.equal(history.status, 200);
    assert.equal(history.body.type, 'history');
    assert.deepEqual(
      history.body.entry?.map((e) => e.request?.method),
      ['DELETE', 'PUT', 'PUT', 'POST'],
      'newest first, the delete included',
    );
    const typeHistory = await g.call<Bundle>('GET', 'Observation/_history');
    assert.equal(typeHistory.status, 200);
    assert.ok((typeHistory.body.entry?.length ?? 0) >= 4);

    // Each anchored version has a Provenance naming its creator and on-chain record.
    const prov = await g.call<Bundle>('GET', `Provenance?target=Observation/${id}`);
    assert.equal(prov.body.total, 4);
    type Prov = {
      entity: { what: { identifier: { value: string } } }[];
      agent: { who: { identifier: { value: string } } }[];
    };
    const provs = (prov.body.entry ?? []).map((e) => e.resource as unknown as Prov);
    const recordIds = provs.map((p) => p.entity[0]?.what.identifier.value);
    assert.ok(recordIds?.includes(rec.recordId));
    const agent = provs[0]?.agent[0];
    assert.equal(agent?.who.identifier.value, c.patient.address);
  });

  test('an invalid resource is refused with an OperationOutcome and nothing is anchored', async () => {
    const before = (await c.patient.listRecords()).length;
    const bad = await g.call('POST', 'Observation', { body: { ...heartRate, status: 'nonsense' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.resourceType, 'OperationOutcome');
    assert.match(JSON.stringify(bad.body), /Observation\.status/);

    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:6b1f6c1c-1111-4a4a-8b8b-000000000001',
          resource: heartRate,
          request: { method: 'POST', url: 'Observation' },
        },
        {
          fullUrl: 'urn:uuid:6b1f6c1c-1111-4a4a-8b8b-000000000002',
          resource: { resourceType: 'Patient', gender: 'sometimes' },
          request: { method: 'POST', url: 'Patient' },
        },
      ],
    };
    const badBundle = await g.call('POST', '', { body: bundle });
    assert.equal(badBundle.status, 400);
    assert.match(JSON.stringify(badBundle.body), /Bundle\.entry\[1\]\.resource/);

    const badJson = await g.call('POST', 'Observation', { body: '{"resourceType": "Observation",' });
    assert.equal(badJson.status, 400);
    assert.equal(badJson.body.resourceType, 'OperationOutcome');
    const unknown = await g.call('GET', 'Spaceship/1');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.resourceType, 'OperationOutcome');
    const missing = await g.call('GET', 'Observation/does-not-exist');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.resourceType, 'OperationOutcome');
    const mismatch = await g.call('PUT', 'Observation/abc', { body: { ...heartRate, id: 'xyz' } });
    assert.equal(mismatch.status, 400);
    const turtle = await g.call('GET', 'Observation', { headers: { accept: 'text/turtle' } });
    assert.equal(turtle.status, 406);

    assert.equal((await c.patient.listRecords()).length, before, 'no record was added');
  });

  test('a JSON Patch is validated whole: an invalid result is refused, a valid one is a new version', async () => {
    const created = await g.call<{ id: string }>('POST', 'Observation', { body: heartRate });
    assert.equal(created.status, 201);
    const before = (await c.patient.listRecords()).length;
    const patch = (ops: unknown[]) =>
      g.call('PATCH', `Observation/${created.body.id}`, {
        body: JSON.stringify(ops),
        headers: { 'content-type': 'application/json-patch+json' },
      });
    const bad = await patch([{ op: 'replace', path: '/status', value: 'nonsense' }]);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.resourceType, 'OperationOutcome');
    assert.match(JSON.stringify(bad.body), /status/);
    assert.equal((await c.patient.listRecords()).length, before, 'nothing anchored for the invalid patch');
    const good = await patch([{ op: 'replace', path: '/status', value: 'amended' }]);
    assert.equal(good.status, 200);
    const read = await g.call<{ status: string; meta: { versionId: string } }>(
      'GET',
      `Observation/${created.body.id}`,
    );
    assert.equal(read.body.status, 'amended');
    assert.equal((await c.patient.listRecords()).length, before + 1, 'the patched version is a new record');
  });

  test('a certified provider’s gateway writes for a patient with X-MedBloc-Owner and keeps no copy', async () => {
    const pg = await mountGateway(c.provider);
    try {
      const res = await pg.call('POST', 'Observation', {
        body: heartRate,
        headers: { 'x-medbloc-owner': c.patient.address },
      });
      assert.equal(res.status, 201);
      const rec = (await c.patient.listRecords()).find((r) => r.meta?.resourceId === res.body.id);
      assert.ok(rec, 'the record belongs to the patient');
      assert.equal(rec.creator, c.provider.address);
      assert.equal(
        (await pg.call('GET', `Observation/${res.body.id}`)).status,
        404,
        'the provider holds no key',
      );
      const update = await pg.call('PUT', `Observation/${res.body.id}`, {
        body: res.body,
        headers: { 'x-medbloc-owner': c.patient.address },
      });
      assert.equal(update.status, 400, 'only creates can be written for another owner');
    } finally {
      await pg.close();
    }
  });

  test('a deferred mount answers 503 until its gateway starts, then serves it', async () => {
    const deferred = createDeferredFhirGateway();
    const app = new Hono();
    app.route('/fhir', deferred.app);
    const early = await app.request('http://node/fhir/Observation');
    assert.equal(early.status, 503);
    assert.equal(((await early.json()) as Resource).resourceType, 'OperationOutcome');
    await deferred.start({ client: c.patient }).ready;
    const later = await app.request('http://node/fhir/Observation?_count=1');
    assert.equal(later.status, 200);
    assert.equal(((await later.json()) as Bundle).type, 'searchset');
    await deferred.stop();
  });

  test('Prefer: return=OperationOutcome and plain application/json', async () => {
    const res = await g.call('POST', 'Observation', {
      body: heartRate,
      headers: {
        prefer: 'return=OperationOutcome',
        accept: 'application/json',
        'content-type': 'application/json',
      },
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.resourceType, 'OperationOutcome');
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.ok(res.headers.get('location'));
  });
});

describe('FHIR gateway over a Synthea patient', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let patient: MedblocClient;
  let g: Awaited<ReturnType<typeof mountGateway>>;
  let bundle: Bundle;
  let origin: Map<string, string>;
  const reference = {
    router: new FhirRouter(),
    repo: new MemoryRepository(),
    origin: new Map<string, string>(),
  };

  before(async () => {
    loadFhirDefinitions();
    t = await startTestNode();
    patient = await newPatient(t.node.url);
    g = await mountGateway(patient);
    const dir = path.join(FIXTURES, 'fhir/synthea');
    const file = (await readdir(dir)).find((f) => f.startsWith('Antonio_Carmona'))!;
    bundle = await readBundle(path.join(dir, file));
    const [outcome, refResponse] = await reference.router.handleRequest(
      { method: 'POST', url: '', pathname: '', params: {}, query: {}, body: structuredClone(bundle) },
      reference.repo,
    );
    assert.equal(outcome.issue?.[0]?.severity, 'information');
    reference.origin = originOf(bundle, refResponse as Bundle);
  });
  after(async () => {
    await g?.close();
    await t?.stop();
  });

  test('a transaction bundle posted unchanged is anchored in one batch; counts per type match the bundle', async () => {
    const res = await g.call<Bundle>('POST', '', { body: bundle });
    assert.equal(res.status, 200);
    assert.equal(res.body.type, 'transaction-response');
    assert.equal(res.body.entry?.length, bundle.entry?.length);
    assert.ok(res.body.entry?.every((e) => e.response?.status === '201'));
    origin = originOf(bundle, res.body);

    const expected: Record<string, number> = {};
    for (const e of bundle.entry ?? []) {
      const type = e.resource?.resourceType as string;
      expected[type] = (expected[type] ?? 0) + 1;
    }
    for (const [type, n] of Object.entries(expected)) {
      const found = await g.call<Bundle>('GET', `${type}?_count=0`);
      assert.equal(found.body.total, n, `${type} count`);
    }
    const records = (await patient.listRecords()).filter((r) => r.meta?.kind === 'fhir');
    assert.equal(records.length, bundle.entry?.length);
    assert.equal(new Set(records.map((r) => r.txHash)).size, 1, 'one chain transaction for the bundle');
    // References were rewritten from urn:uuid to the assigned ids before sealing.
    const obs = await g.call<Bundle>('GET', 'Observation?_count=1');
    assert.match(JSON.stringify(obs.body.entry?.[0]?.resource), /"reference":"Patient\/[0-9a-f-]{36}"/);
  });

  /** Runs a search on both sides, with `Patient/<id>` style placeholders resolved per side; returns origin ids. */
  async function both(query: (ids: (fullUrl: string) => string) => string) {
    const idOf = (map: Map<string, string>) => (fullUrl: string) =>
      ([...map].find(([, f]) => f === fullUrl)?.[0] ?? '').split('/')[1] as string;
    const mine = await g.call<Bundle>('GET', query(idOf(origin)));
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    const [outcome, refBundle] = await reference.router.handleRequest(
      {
        method: 'GET',
        url: query(idOf(reference.origin)),
        pathname: '',
        params: {},
        query: {},
        body: undefined,
      },
      reference.repo,
    );
    assert.equal(outcome.issue?.[0]?.severity, 'information', JSON.stringify(outcome));
    const names = (b: Bundle, map: Map<string, string>) =>
      (b.entry ?? [])
        .filter((e) => !isDerived(e.resource))
        .map(
          (e) => `${e.search?.mode ?? 'match'}:${map.get(`${e.resource?.resourceType}/${e.resource?.id}`)}`,
        );
    return {
      mine: names(mine.body, origin),
      theirs: names(refBundle as Bundle, reference.origin),
      total: [mine.body.total, (refBundle as Bundle).total],
      bundle: mine.body,
    };
  }

  test('searches return the same resources as Medplum’s router over the same bundle', async () => {
    const patientUrl = bundle.entry?.find((e) => e.resource?.resourceType === 'Patient')?.fullUrl as string;
    const firstObs = bundle.entry?.find((e) => e.resource?.resourceType === 'Observation')?.resource as {
      code: { coding: { system: string; code: string }[] };
      effectiveDateTime: string;
    };
    const code = firstObs.code.coding[0]!;
    const obsDates = (bundle.entry ?? [])
      .filter((e) => e.resource?.resourceType === 'Observation')
      .map((e) => (e.resource as { effectiveDateTime: string }).effectiveDateTime)
      .sort();
    const midDate = obsDates[Math.floor(obsDates.length / 2)]!.slice(0, 10);
    const immunization = bundle.entry?.find((e) => e.resource?.resourceType === 'Immunization')
      ?.fullUrl as string;
    const queries: ((id: (f: string) => string) => string)[] = [
      () => `Observation?code=${encodeURIComponent(`${code.system}|${code.code}`)}`,
      () => `Observation?code=${code.code}`,
      (id) => `Observation?patient=${id(patientUrl)}`,
      (id) => `Encounter?subject=Patient/${id(patientUrl)}`,
      () => `Observation?date=ge${midDate}`,
      () => `Observation?date=lt${midDate}&status=final`,
      () => `Encounter?_include=Encounter:patient`,
      () => `Encounter?_include=Encounter:participant&_include=Encounter:service-provider`,
      (id) => `Patient?_id=${id(patientUrl)}&_revinclude=Encounter:subject`,
      () => `Condition?clinical-status=active,resolved,inactive`,
      (id) => `Immunization?_id=${id(immunization)}`,
      () => `Patient?identifier=${encodeURIComponent('http://hl7.org/fhir/sid/us-ssn|999-52-9302')}`,
      () => `Patient?family=Carmona`,
      () => `MedicationRequest?status=stopped,active`,
      () => `Observation?_count=7`,
      () => `Observation?_count=7&_offset=14`,
      () => `Observation?_lastUpdated=ge2000-01-01&_count=3`,
    ];
    for (const q of queries) {
      const r = await both(q);
      assert.deepEqual(
        r.mine,
        r.theirs,
        q(() => 'ID'),
      );
      assert.deepEqual(r.total[0], r.total[1], `total of ${q(() => 'ID')}`);
      assert.ok(r.mine.length > 0, `${q(() => 'ID')} finds something`);
    }
  });

  test('_count paging: following next links visits every match once', async () => {
    const all = await g.call<Bundle>('GET', 'Observation');
    const seen: string[] = [];
    let url: string | undefined = `${g.base}/Observation?_count=20`;
    while (url) {
      const page: Reply<Bundle> = await g.call<Bundle>('GET', url);
      assert.ok((page.body.entry?.length ?? 0) <= 20);
      for (const e of page.body.entry ?? []) seen.push(e.resource?.id as string);
      url = page.body.link?.find((l) => l.relation === 'next')?.url;
    }
    assert.equal(seen.length, all.body.total);
    assert.equal(new Set(seen).size, seen.length);
  });

  test('Patient/$everything returns the compartment and what it references', async () => {
    const patientId = [...origin].find(([k]) => k.startsWith('Patient/'))![0].split('/')[1];
    const res = await g.call<Bundle>('GET', `Patient/${patientId}/$everything`);
    assert.equal(res.status, 200);
    const types = new Set<string | undefined>(res.body.entry?.map((e) => e.resource?.resourceType));
    for (const tpe of ['Patient', 'Encounter', 'Observation', 'Condition', 'Practitioner', 'Organization'])
      assert.ok(types.has(tpe), `$everything includes ${tpe}`);
    assert.equal(res.body.total, bundle.entry?.length);
  });

  test('fhir-kit-client reads, searches, creates and posts transactions unchanged', async () => {
    const fkc = new Client({ baseUrl: g.base });
    const patientId = [...origin].find(([k]) => k.startsWith('Patient/'))![0].split('/')[1] as string;
    const p = (await fkc.read({ resourceType: 'Patient', id: patientId })) as Resource;
    assert.equal(p.id, patientId);
    const found = (await fkc.search({
      resourceType: 'Observation',
      searchParams: { patient: patientId, _count: 10 },
    })) as unknown as Bundle;
    assert.equal(found.entry?.length, 10);
    const next = (await fkc.nextPage({
      bundle: found as unknown as Parameters<typeof fkc.nextPage>[0]['bundle'],
    })) as unknown as Bundle;
    assert.equal(next.entry?.length, 10);
    const made = (await fkc.create({
      resourceType: 'Observation',
      body: { ...heartRate, subject: { reference: `Patient/${patientId}` } },
    })) as Resource;
    assert.ok(made.id);
    const tx = (await fkc.transaction({
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:0d7e3f7a-5a6b-4c1d-9e2f-3a4b5c6d7e8f',
            resource: { resourceType: 'Practitioner', name: [{ family: 'Osler' }] },
            request: { method: 'POST', url: 'Practitioner' },
          },
          {
            resource: {
              ...heartRate,
              subject: { reference: `Patient/${patientId}` },
              performer: [{ reference: 'urn:uuid:0d7e3f7a-5a6b-4c1d-9e2f-3a4b5c6d7e8f' }],
            },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      },
    })) as unknown as Bundle;
    assert.equal(tx.type, 'transaction-response');
    const practitionerId = tx.entry?.[0]?.response?.location?.split('/')[1];
    const obs = (await fkc.read({
      resourceType: 'Observation',
      id: tx.entry?.[1]?.response?.location?.split('/')[1] as string,
    })) as unknown as {
      performer: { reference: string }[];
    };
    assert.equal(obs.performer[0]?.reference, `Practitioner/${practitionerId}`);
  });

  test('a new gateway on the same identity reloads everything from the anchored records', async () => {
    const again = await mountGateway(patient);
    try {
      assert.deepEqual(again.gateway.failed(), []);
      assert.deepEqual(again.gateway.counts(), g.gateway.counts());
      for (const q of [
        'Observation?_count=500',
        'Encounter?_include=Encounter:patient',
        'Provenance?_count=1000',
      ]) {
        const a = await g.call<Bundle>('GET', q);
        const b = await again.call<Bundle>('GET', q);
        const ids = (x: Bundle) =>
          (x.entry ?? [])
            .map((e) => `${e.resource?.resourceType}/${e.resource?.id}/${e.resource?.meta?.versionId}`)
            .sort();
        assert.deepEqual(ids(b.body), ids(a.body), q);
      }
      const some = (await g.call<Bundle>('GET', 'Condition?_count=1')).body.entry?.[0]?.resource as Resource;
      const reread = await again.call('GET', `Condition/${some.id}`);
      assert.deepEqual(reread.body, some);
    } finally {
      await again.close();
    }
  });
});

describe('FHIR gateway over Synthea v3 (conditional creates and references)', () => {
  test('hospital and practitioner batches, then patient transactions with conditional references', async () => {
    const t = await startTestNode();
    const patient = await newPatient(t.node.url);
    const g = await mountGateway(patient);
    try {
      const dir = path.join(FIXTURES, 'fhir/synthea-v3');
      const files = (await readdir(dir)).sort();
      const shared = files.filter((f) => /hospital|practitioner/i.test(f));
      const people = files.filter((f) => !/hospital|practitioner/i.test(f));
      let expected = 0;
      for (const f of shared) {
        const b = await readBundle(path.join(dir, f));
        const res = await g.call<Bundle>('POST', '', { body: b });
        assert.equal(res.status, 200, `${f}: ${JSON.stringify(res.body).slice(0, 400)}`);
        assert.ok(
          res.body.entry?.every((e: BundleEntry) => e.response?.status === '201'),
          f,
        );
        expected += b.entry?.length ?? 0;
      }
      // A second load of the same batch creates nothing: ifNoneExist finds every resource.
      const again = await g.call<Bundle>('POST', '', { body: await readBundle(path.join(dir, shared[0]!)) });
      assert.ok(again.body.entry?.every((e) => e.response?.status === '200'));
      for (const f of people) {
        const b = await readBundle(path.join(dir, f));
        const res = await g.call<Bundle>('POST', '', { body: b });
        assert.equal(res.status, 200, `${f}: ${JSON.stringify(res.body).slice(0, 300)}`);
        expected += b.entry?.length ?? 0;
      }
      const records = (await patient.listRecords()).filter((r) => r.meta?.kind === 'fhir');
      assert.equal(records.length, expected);
      const served = Object.entries(g.gateway.counts()).reduce((n, [, v]) => n + v, 0);
      assert.equal(served, expected * 2, 'every resource plus its Provenance');
      // Conditional references were resolved to the loaded practitioners.
      const enc = (await g.call<Bundle>('GET', 'Encounter?_count=1&_include=Encounter:participant')).body;
      assert.ok(enc.entry?.some((e) => e.resource?.resourceType === 'Practitioner'));
      assert.doesNotMatch(JSON.stringify(enc), /Practitioner\?identifier/);
    } finally {
      await g.close();
      await t.stop();
    }
  });
});
