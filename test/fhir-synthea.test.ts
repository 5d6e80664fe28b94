/**
 * Every Synthea patient of the fixtures (24 R4 + 11 US Core v3, with their hospital and practitioner bundles) loaded
 * unchanged through a patient's /fhir gateway on a real node and chain, each bundle sealed and anchored. The same
 * bundles go, in the same order, into Medplum's own MemoryRepository + FhirRouter; every search must then return the
 * same resources, in the same order, with the same totals, from our indexed store as from Medplum's linear scan.
 *
 * Load order: the v3 set first (its hospital and practitioner batches use ifNoneExist and its patients use
 * conditional references `Organization?identifier=...`); the R4 set repeats some organisations inside every
 * patient bundle, so loading it first would make those conditional references ambiguous.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { loadFhirDefinitions } from '@medbloc/core';
import { createClient } from '@medbloc/sdk';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { Hono } from 'hono';
import { resolveConditionalReferences } from '../packages/node/src/fhir/conditional.ts';
import { createFhirGateway } from '../packages/node/src/fhir/index.ts';
import { FIXTURES, newIdentity, startTestNode } from './support/harness.ts';

const FHIR_JSON = 'application/fhir+json';
const isDerived = (r: Resource | undefined) =>
  r?.meta?.tag?.some((t) => t.code === 'anchor-provenance') ?? false;

/** The fixture bundles in load order: shared (hospital, practitioner) before patients, v3 before R4. */
async function syntheaFiles(): Promise<string[]> {
  const out: string[] = [];
  for (const set of ['synthea-v3', 'synthea']) {
    const dir = path.join(FIXTURES, 'fhir', set);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
    const shared = files.filter((f) => /^(hospital|practitioner)Information/.test(f));
    out.push(...[...shared, ...files.filter((f) => !shared.includes(f))].map((f) => path.join(dir, f)));
  }
  return out;
}

/** `Type/id` → the entry's fullUrl in its bundle, from a batch/transaction response. */
function recordOrigins(request: Bundle, response: Bundle, into: Map<string, string>): void {
  (response.entry ?? []).forEach((e, i) => {
    const loc = e.response?.location?.split('/');
    const fullUrl = request.entry?.[i]?.fullUrl;
    if (loc && fullUrl) into.set(`${loc[0]}/${loc[1]}`, fullUrl);
  });
}

describe('all Synthea patients through /fhir, searched like Medplum', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let gateway: ReturnType<typeof createFhirGateway>;
  let server: ReturnType<typeof serve>;
  let base: string;
  const router = new FhirRouter();
  const reference = new MemoryRepository();
  const mine = new Map<string, string>();
  const theirs = new Map<string, string>();
  const expected: Record<string, number> = {};
  const statuses: string[] = [];
  let patients = 0;
  /** Patient fullUrl by the first word of its fixture file name (`Antonio`, `Bob965`, ...). */
  const patientUrl = new Map<string, string>();

  async function get<T = Bundle>(url: string): Promise<{ status: number; body: T }> {
    const res = await fetch(url.startsWith('http') ? url : `${base}/${url}`, {
      headers: { accept: FHIR_JSON },
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  before(async () => {
    loadFhirDefinitions();
    t = await startTestNode();
    const patient = createClient({ node: t.node.url, identity: newIdentity() });
    await patient.register({ roles: ['patient'] });
    gateway = createFhirGateway({ client: patient });
    const app = new Hono();
    app.route('/fhir', gateway.app);
    server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    // Medplum's reference searches block this process for seconds; keep the client's sockets open across them.
    (server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = 120_000;
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
    await gateway.ready;

    const started = performance.now();
    let resources = 0;
    for (const file of await syntheaFiles()) {
      const text = await readFile(file, 'utf8');
      const bundle = JSON.parse(text) as Bundle;
      for (const e of bundle.entry ?? []) {
        const type = e.resource?.resourceType as string;
        expected[type] = (expected[type] ?? 0) + 1;
        if (type === 'Patient') {
          patients++;
          patientUrl.set(path.basename(file).split('_')[0] as string, e.fullUrl as string);
        }
      }
      resources += bundle.entry?.length ?? 0;
      const res = await fetch(`${base}/`, {
        method: 'POST',
        headers: { accept: FHIR_JSON, 'content-type': FHIR_JSON },
        body: text,
      });
      const body = (await res.json()) as Bundle;
      assert.equal(res.status, 200, `${path.basename(file)}: ${JSON.stringify(body).slice(0, 400)}`);
      statuses.push(...(body.entry ?? []).map((e) => e.response?.status ?? '?'));
      recordOrigins(bundle, body, mine);

      const copy = JSON.parse(text) as Bundle;
      await resolveConditionalReferences(copy, reference);
      const [outcome, refBody] = await router.handleRequest(
        { method: 'POST', url: '', pathname: '', params: {}, query: {}, body: copy },
        reference,
      );
      assert.equal(outcome.issue?.[0]?.severity, 'information', JSON.stringify(outcome));
      recordOrigins(bundle, refBody as Bundle, theirs);
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `# loaded ${patients} patients, ${resources} resources through /fhir (and Medplum) in ${seconds.toFixed(1)} s`,
    );
  });
  after(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await gateway?.stop();
    await t?.stop();
  });

  test('every resource of every bundle is created; counts per type equal the bundles', async () => {
    assert.equal(patients, 35);
    assert.ok(statuses.length > 13_000);
    assert.deepEqual([...new Set(statuses)], ['201']);
    for (const [type, n] of Object.entries(expected)) {
      // The gateway's own Provenance (one per anchored version) is tagged; only the bundles' ones are counted.
      const q =
        type === 'Provenance'
          ? 'Provenance?_tag:not=https://medbloc.org/fhir/CodeSystem/tags|anchor-provenance&_summary=count'
          : `${type}?_summary=count`;
      const res = await get(q);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.total, n, `${type}: served ${res.body.total}, bundles hold ${n}`);
      assert.equal(res.body.entry, undefined, `${type}: _summary=count returns no entries`);
    }
    const served = gateway.counts();
    for (const [type, n] of Object.entries(expected))
      if (type !== 'Provenance') assert.equal(served[type], n, type);
  });

  /** The id on each side of the resource a bundle called `fullUrl`. */
  const idOn = (map: Map<string, string>) => (fullUrl: string) => {
    const key = [...map].find(([, f]) => f === fullUrl)?.[0];
    assert.ok(key, `${fullUrl} was loaded`);
    return key.split('/')[1] as string;
  };

  async function both(query: (id: (fullUrl: string) => string) => string) {
    const ours = await get(query(idOn(mine)));
    assert.equal(ours.status, 200, JSON.stringify(ours.body));
    const started = performance.now();
    const [outcome, refBundle] = await router.handleRequest(
      { method: 'GET', url: query(idOn(theirs)), pathname: '', params: {}, query: {}, body: undefined },
      reference,
    );
    const medplumMs = performance.now() - started;
    assert.equal(outcome.issue?.[0]?.severity, 'information', JSON.stringify(outcome));
    const names = (b: Bundle, map: Map<string, string>) =>
      (b.entry ?? [])
        .filter((e) => !isDerived(e.resource))
        .map(
          (e) => `${e.search?.mode ?? 'match'}:${map.get(`${e.resource?.resourceType}/${e.resource?.id}`)}`,
        );
    return {
      mine: names(ours.body, mine),
      theirs: names(refBundle as Bundle, theirs),
      totals: [ours.body.total, (refBundle as Bundle).total],
      medplumMs,
    };
  }

  test('searches return the same entries, order and totals as Medplum’s MemoryRepository', async () => {
    const carmona = patientUrl.get('Antonio') as string;
    const keeling = patientUrl.get('Bob965') as string;
    const giovanni = patientUrl.get('Giovanni') as string;
    const queries: ((id: (f: string) => string) => string)[] = [
      () => `Observation?code=${encodeURIComponent('http://loinc.org|8302-2')}`,
      () => 'Observation?code=8302-2,29463-7&_count=50',
      () => `Observation?code=${encodeURIComponent('|8302-2')}`,
      () => `Observation?code=${encodeURIComponent('http://loinc.org|')}&_count=30&_offset=500`,
      (id) => `Observation?patient=${id(carmona)}`,
      (id) => `Observation?subject=Patient/${id(keeling)}&_count=10&_offset=10`,
      (id) => `Encounter?patient=${id(keeling)}&date=ge2015-01-01`,
      () => 'Observation?date=ge2016-01-01&date=lt2017-01-01',
      () => 'Observation?date=lt2010-06&status=final&_count=100',
      () => 'Observation?date=eq2014-03&_count=100',
      () => 'Encounter?date=sa2018-01-01&_count=100',
      () => 'Encounter?date=eb1990-01-01&_count=100',
      () => 'Encounter?date=le2000&date=gt1999-06',
      (id) => `Condition?clinical-status=active&patient=${id(giovanni)}`,
      () => 'MedicationRequest?status=stopped,active',
      () => 'Immunization?date=eq2015&_count=40',
      () => `Patient?identifier=${encodeURIComponent('http://hl7.org/fhir/sid/us-ssn|999-52-9302')}`,
      () => 'Patient?family=Carmona',
      () => 'Patient?birthdate=lt1970&gender=female',
      () => 'Observation?_lastUpdated=ge2000-01-01&_count=5&_offset=3000',
      (id) => `Encounter?patient=${id(carmona)}&_include=Encounter:patient&_count=15`,
      (id) => `Patient?_id=${id(keeling)}&_revinclude=Encounter:subject`,
      (id) => `DiagnosticReport?patient=${id(keeling)}&_include=DiagnosticReport:result&_count=5`,
      () => 'Observation?code=8302-2&_sort=-date&_count=10',
      () => 'Encounter?class=AMB&date=ge2012&_sort=date&_count=20',
      (id) => `DocumentReference?patient=${id(keeling)}`,
      (id) => `Claim?patient=${id(carmona)}&_count=5`,
      () => 'Observation?_count=25&_offset=3100',
      () => 'Observation?status:not=preliminary&_count=10',
      () => 'Observation?value-quantity=gt100&_count=10',
    ];
    let slowest = 0;
    for (const q of queries) {
      const shown = q(() => 'ID');
      const r = await both(q);
      assert.deepEqual(r.mine, r.theirs, shown);
      assert.deepEqual(r.totals[0], r.totals[1], `total of ${shown}`);
      // `|code` asks for codings without a system: Synthea always names one. Medplum's matcher has no quantity
      // search, so value-quantity matches nothing on either side. Everything else finds something.
      const none =
        shown.includes(`code=${encodeURIComponent('|8302-2')}`) || shown.includes('value-quantity');
      assert.equal(r.mine.length === 0, none, `${shown} finds ${none ? 'nothing' : 'something'}`);
      slowest = Math.max(slowest, r.medplumMs);
    }
    console.log(`# ${queries.length} searches equal; Medplum's slowest took ${slowest.toFixed(0)} ms`);
  });

  test('paging one patient’s observations by next links visits every match once', async () => {
    const id = idOn(mine)(patientUrl.get('Antonio') as string);
    const all = await get(`Observation?patient=${id}&_summary=count`);
    const seen: string[] = [];
    let url: string | undefined = `${base}/Observation?patient=${id}&_count=17`;
    while (url) {
      const page: { body: Bundle } = await get(url);
      assert.ok((page.body.entry?.length ?? 0) <= 17);
      for (const e of page.body.entry ?? []) seen.push(e.resource?.id as string);
      url = page.body.link?.find((l) => l.relation === 'next')?.url;
    }
    assert.ok((all.body.total ?? 0) > 17);
    assert.equal(seen.length, all.body.total);
    assert.equal(new Set(seen).size, seen.length);
  });
});
