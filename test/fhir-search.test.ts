/**
 * The gateway store's indexed search against Medplum's MemoryRepository, in process: the same writes go to both,
 * and every search must give the same entries, order and totals — including after updates and deletes, on forks
 * (a fork sees its own writes, its parent does not, a discarded fork leaves no trace), and for the filters the
 * index leaves to Medplum's matcher (:not, :missing, string, chained parameters).
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { loadFhirDefinitions } from '@medbloc/core';
import { parseSearchRequest } from '@medplum/core';
import { type FhirRequest, FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, Observation, Resource } from '@medplum/fhirtypes';
import { LedgerRepository } from '../packages/node/src/fhir/repository.ts';
import { FIXTURES } from './support/harness.ts';

const router = new FhirRouter();
const post = (body: unknown): FhirRequest => ({
  method: 'POST',
  url: '',
  pathname: '',
  params: {},
  query: {},
  body,
});

/** Same entries (by type and id: both stores receive the same ids through PUT), order, modes and total. */
async function same(mine: LedgerRepository, theirs: MemoryRepository, query: string) {
  const a = await mine.search(parseSearchRequest(query));
  const b = await theirs.search(parseSearchRequest(query));
  const ids = (x: Bundle) =>
    (x.entry ?? []).map((e) => `${e.search?.mode}:${e.resource?.resourceType}/${e.resource?.id}`);
  assert.deepEqual(ids(a), ids(b), query);
  assert.equal(a.total, b.total, `total of ${query}`);
  return a;
}

/** A bundle whose entries are PUTs to their own ids, so both stores hold the same ids. */
function asPuts(bundle: Bundle): Bundle {
  const copy = structuredClone(bundle);
  const byUrl = new Map<string, string>();
  for (const e of copy.entry ?? []) {
    const r = e.resource as Resource & { id: string };
    if (e.fullUrl) byUrl.set(e.fullUrl, `${r.resourceType}/${r.id}`);
  }
  const rewrite = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) rewrite(x);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.reference === 'string') o.reference = byUrl.get(o.reference) ?? o.reference;
      for (const x of Object.values(o)) if (typeof x === 'object') rewrite(x);
    }
  };
  for (const e of copy.entry ?? []) {
    const r = e.resource as Resource & { id: string };
    rewrite(r);
    e.request = { method: 'PUT', url: `${r.resourceType}/${r.id}` };
  }
  return copy;
}

describe('indexed search equals Medplum’s scan', () => {
  const mine = new LedgerRepository();
  const theirs = new MemoryRepository();
  let patientId = '';

  before(async () => {
    loadFhirDefinitions();
    const dir = path.join(FIXTURES, 'fhir/synthea');
    const files = (await readdir(dir)).filter((f) => /^(Antonio|Giovanni|Norma)_/.test(f)).sort();
    for (const f of files) {
      const bundle = asPuts(JSON.parse(await readFile(path.join(dir, f), 'utf8')) as Bundle);
      for (const repo of [mine, theirs]) {
        const [outcome] = await router.handleRequest(post(structuredClone(bundle)), repo);
        assert.equal(outcome.issue?.[0]?.severity, 'information', JSON.stringify(outcome));
      }
      if (f.startsWith('Antonio'))
        patientId = bundle.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource?.id as string;
    }
  });

  test('token, reference and date filters, alone and together, with sorting and paging', async () => {
    const queries = [
      'Observation?code=http://loinc.org|8302-2',
      'Observation?code=HTTP://LOINC.ORG|8302-2', // tokens compare case-insensitively, as Medplum does
      'Observation?code=8302-2,29463-7,nope',
      'Observation?code=http://loinc.org|',
      'Observation?code=|8302-2',
      `Observation?subject=Patient/${patientId}&_count=5&_offset=5`,
      `Observation?patient=${patientId}&code=8302-2`,
      'Observation?date=2014',
      'Observation?date=ap2014',
      'Observation?date=lt2012-01-01&date=ge2011-01-01',
      'Observation?date=le2012-01-01&_sort=date',
      'Observation?date=gt2016-01-01&_sort=-date&_count=7',
      'Observation?date=sa2016-06-01',
      'Observation?date=eb2012-01-01',
      'Encounter?date=ge2015-01-01T00:00:00Z',
      'Encounter?date=lt1900',
      'Condition?clinical-status=active,resolved&_sort=code',
      'MedicationRequest?status=stopped',
      'AllergyIntolerance?criticality=low',
      `Patient?_id=${patientId}`,
      'Observation?_lastUpdated=ge2000-01-01&_count=3',
      'Immunization?date=eq2015&vaccine-code=140',
    ];
    const empty: string[] = [];
    for (const q of queries) if (((await same(mine, theirs, q)).total ?? 0) === 0) empty.push(q);
    console.log(`# empty on both sides: ${empty.join(', ')}`);
    assert.ok(empty.length <= 2, `only a few queries find nothing: ${empty.join(', ')}`);
  });

  test('filters left to Medplum’s matcher mix with indexed ones', async () => {
    for (const q of [
      'Observation?status:not=final',
      'Observation?code:not=8302-2&_count=10',
      'Observation?value-quantity:missing=true&code=8302-2',
      'Observation?date:missing=false&_count=4',
      'Patient?family=Carm',
      'Patient?name=antonio&gender=male',
      'Observation?date=ne2014-01-01&_count=5',
      'Encounter?unknown-parameter=1',
      'Observation?subject:Patient.family=Carmona&code=8302-2',
      `Patient?_id=${patientId}&_revinclude=Observation:subject&_count=1`,
      'Encounter?_include=Encounter:patient&_count=2',
    ])
      await same(mine, theirs, q);
  });

  test('a fork sees its own writes; its parent does not; a discarded fork leaves no trace', async () => {
    const q = 'Observation?code=http://loinc.org|8302-2&_count=1000';
    const before = (await mine.search(parseSearchRequest(q))).total ?? 0;
    const fork = mine.fork();
    const first = (await fork.search(parseSearchRequest(q))).entry?.[0]?.resource as Observation;
    // An update that changes the code, a delete, and a new resource with the code.
    await fork.updateResource({
      ...first,
      code: { coding: [{ system: 'http://loinc.org', code: '9279-1' }] },
    });
    const second = (await fork.search(parseSearchRequest(q))).entry?.[0]?.resource as Observation;
    await fork.deleteResource('Observation', second.id as string);
    const made = await fork.createResource<Observation>({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8302-2' }] },
      effectiveDateTime: '2030-01-01',
    });
    const inFork = await fork.search(parseSearchRequest(q));
    assert.equal(inFork.total, before - 1);
    assert.ok(inFork.entry?.some((e) => e.resource?.id === made.id));
    assert.ok(!inFork.entry?.some((e) => e.resource?.id === first.id || e.resource?.id === second.id));
    const updated = await fork.search(
      parseSearchRequest('Observation?code=http://loinc.org|9279-1&_count=1000'),
    );
    assert.ok(updated.entry?.some((e) => e.resource?.id === first.id));
    const future = await fork.search(parseSearchRequest('Observation?date=ge2029-12-31'));
    assert.deepEqual(
      future.entry?.map((e) => e.resource?.id),
      [made.id],
    );
    // The parent is untouched (the fork is discarded, as a failed write is).
    await same(mine, theirs, q);
    await same(mine, theirs, 'Observation?date=ge2029-12-31');
    assert.equal((await mine.search(parseSearchRequest(q))).total, before);

    // The same writes on the parent itself (a committed fork becomes the live store in the gateway).
    const live = mine.fork();
    for (const repo of [live, theirs]) {
      await repo.updateResource({
        ...first,
        code: { coding: [{ system: 'http://loinc.org', code: '9279-1' }] },
      });
      await repo.deleteResource('Observation', second.id as string);
      await repo.updateResource({ ...(made as Observation) });
    }
    for (const query of [
      q,
      'Observation?code=http://loinc.org|9279-1',
      'Observation?date=ge2029-12-31',
      'Observation?date=lt2030&code=8302-2&_sort=-date',
    ])
      await same(live, theirs, query);
  });
});
