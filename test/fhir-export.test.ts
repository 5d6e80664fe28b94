/**
 * FHIR Bulk Data `$export` from a patient's gateway on a real node and chain, with a Synthea patient loaded through
 * the FHIR API: the async kick-off / poll / manifest / NDJSON download pattern of the Bulk Data Access IG, `_type`
 * and `_since`, cancellation, errors as OperationOutcomes, and no plaintext left on the node's disk.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient } from '@medbloc/sdk';
import type { Bundle, Observation, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { countsOf, mountGateway, syntheaBundle } from './support/fhir-gateway.ts';
import { assertAbsent, fileHaystacks, filesUnder, newIdentity, startTestNode } from './support/harness.ts';

interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string; count: number }[];
  error: unknown[];
}

const ASYNC = { prefer: 'respond-async', accept: 'application/fhir+json' };

describe('Bulk Data $export', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let g: Awaited<ReturnType<typeof mountGateway>>;
  let bundle: Bundle;
  let patientId: string;

  /** Kicks off, polls to completion; returns the manifest and the statuses seen while polling. */
  async function runExport(url: string, headers: Record<string, string> = ASYNC) {
    const kick = await g.fetch(url, { headers });
    assert.equal(kick.status, 202, await kick.clone().text());
    const statusUrl = kick.headers.get('content-location') as string;
    assert.match(statusUrl, /\/fhir\/\$export-status\/[0-9a-f]{32}$/);
    const polls: { status: number; progress: string | null }[] = [];
    for (let i = 0; i < 200; i++) {
      const res = await fetch(statusUrl);
      polls.push({ status: res.status, progress: res.headers.get('x-progress') });
      if (res.status === 200) {
        assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
        return { manifest: (await res.json()) as Manifest, polls, statusUrl };
      }
      assert.equal(res.status, 202, await res.text());
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('export did not finish');
  }

  async function download(url: string): Promise<Resource[]> {
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/fhir\+ndjson/);
    const text = await res.text();
    assert.ok(text.endsWith('\n'));
    return text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Resource);
  }

  const countsIn = (m: Manifest) => Object.fromEntries(m.output.map((o) => [o.type, o.count]));

  before(async () => {
    t = await startTestNode();
    const patient = createClient({ node: t.node.url, identity: newIdentity() });
    await patient.register({ roles: ['patient'] });
    g = await mountGateway(patient, { export: { sliceSize: 1 } });
    bundle = await syntheaBundle('Antonio_Carmona');
    const res = await g.fetch('', {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(bundle),
    });
    assert.equal(res.status, 200);
    const answer = (await res.json()) as Bundle;
    patientId = answer.entry
      ?.find((e) => e.response?.location?.startsWith('Patient/'))
      ?.response?.location?.split('/')[1] as string;
  });
  after(async () => {
    await g?.close();
    await t?.stop();
  });

  test('system $export: 202, progress while running, a manifest whose counts equal what was loaded', async () => {
    const { manifest, polls } = await runExport('$export');
    assert.equal(polls[0]?.status, 202, 'the first poll finds the job still running');
    assert.ok(polls[0]?.progress, 'X-Progress on a 202');
    assert.equal(manifest.request, `${g.base}/$export`);
    assert.equal(manifest.requiresAccessToken, false);
    assert.deepEqual(manifest.error, []);
    assert.ok(Date.parse(manifest.transactionTime) <= Date.now());
    const loaded = countsOf(bundle);
    const counts = countsIn(manifest);
    for (const [type, n] of Object.entries(loaded)) assert.equal(counts[type], n, `${type} count`);
    // Every anchored resource has its derived Provenance, and nothing else is exported.
    const anchored = Object.values(loaded).reduce((a, b) => a + b, 0);
    assert.deepEqual(counts, { ...loaded, Provenance: anchored });

    for (const out of manifest.output) {
      assert.match(out.url, new RegExp(`/fhir/\\$export-file/[0-9a-f]{32}/${out.type}\\.ndjson$`));
      const resources = await download(out.url);
      assert.equal(resources.length, out.count, `${out.type} lines`);
      assert.ok(resources.every((r) => r.resourceType === out.type));
      assert.equal(new Set(resources.map((r) => r.id)).size, out.count, 'each resource once');
    }
  });

  test('Patient/$export and Patient/<id>/$export give the patient compartment', async () => {
    const expected = countsOf(bundle);
    delete expected.Organization;
    delete expected.Practitioner;
    for (const url of ['Patient/$export', `Patient/${patientId}/$export`]) {
      const { manifest } = await runExport(url);
      assert.deepEqual(countsIn(manifest), expected, url);
    }
    const [patient] = await download(
      (await runExport(`Patient/${patientId}/$export?_type=Patient`)).manifest.output[0]?.url as string,
    );
    assert.equal(patient?.id, patientId);
  });

  test('_type selects resource types', async () => {
    const { manifest } = await runExport('$export?_type=Observation,Condition&_type=Immunization');
    assert.deepEqual(countsIn(manifest), {
      Condition: countsOf(bundle).Condition,
      Immunization: countsOf(bundle).Immunization,
      Observation: countsOf(bundle).Observation,
    });
    const obs = await download(manifest.output.find((o) => o.type === 'Observation')?.url as string);
    assert.ok(obs.every((o) => o.resourceType === 'Observation'));
  });

  test('_since exports only what changed after the instant', async () => {
    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    const made = await g.fetch('Observation', {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'pulse after export' },
        subject: { reference: `Patient/${patientId}` },
      } satisfies Observation),
    });
    assert.equal(made.status, 201);
    const { id } = (await made.json()) as Observation;
    const { manifest } = await runExport(`Patient/${patientId}/$export?_since=${encodeURIComponent(since)}`);
    assert.deepEqual(countsIn(manifest), { Observation: 1 });
    const [obs] = await download(manifest.output[0]?.url as string);
    assert.equal(obs?.id, id);
    const system = await runExport(`$export?_since=${encodeURIComponent(since)}`);
    assert.deepEqual(countsIn(system.manifest), { Observation: 1, Provenance: 1 });
  });

  test('DELETE on the status URL cancels the job and removes its files', async () => {
    const { manifest, statusUrl } = await runExport('$export?_type=Patient');
    const file = manifest.output[0]?.url as string;
    assert.equal((await fetch(file)).status, 200);
    const del = await fetch(statusUrl, { method: 'DELETE' });
    assert.equal(del.status, 202);
    const gone = await fetch(statusUrl);
    assert.equal(gone.status, 404);
    assert.equal(((await gone.json()) as OperationOutcome).resourceType, 'OperationOutcome');
    assert.equal((await fetch(file)).status, 404);

    const kick = await g.fetch('$export', { headers: ASYNC });
    const running = kick.headers.get('content-location') as string;
    assert.equal((await fetch(running, { method: 'DELETE' })).status, 202);
    assert.equal((await fetch(running)).status, 404, 'a running job is cancelled too');
  });

  test('errors are OperationOutcomes', async () => {
    const cases: [string, Record<string, string>, number, RegExp][] = [
      ['$export', { accept: 'application/fhir+json' }, 400, /Prefer: respond-async/],
      ['$export?_type=Spaceship', ASYNC, 400, /Spaceship/],
      ['$export?_since=yesterday', ASYNC, 400, /_since/],
      ['$export?_outputFormat=text/csv', ASYNC, 400, /_outputFormat/],
      ['$export?_typeFilter=Observation%3Fstatus%3Dfinal', ASYNC, 400, /_typeFilter/],
      ['Patient/nobody/$export', ASYNC, 404, /Patient\/nobody/],
      ['$export-status/00000000000000000000000000000000', {}, 404, /no export job/],
      ['$export-file/00000000000000000000000000000000/Patient.ndjson', {}, 404, /no export file/],
    ];
    for (const [url, headers, status, why] of cases) {
      const res = await g.fetch(url, { headers });
      assert.equal(res.status, status, url);
      const body = (await res.json()) as OperationOutcome;
      assert.equal(body.resourceType, 'OperationOutcome', url);
      assert.match(body.issue?.[0]?.diagnostics ?? '', why, url);
    }
    const post = await g.fetch('$export', { method: 'POST', headers: ASYNC });
    assert.equal(post.status, 405);
  });

  test('nothing decrypted is left on the node’s disk after an export', async () => {
    const { manifest } = await runExport('$export?_type=Patient,Observation');
    for (const o of manifest.output) await download(o.url);
    const name = 'Carmona';
    const obsId = (await download(manifest.output.find((o) => o.type === 'Observation')?.url as string))[0]
      ?.id as string;
    assertAbsent([name, obsId], await fileHaystacks(await filesUnder(t.home)));
  });
});
