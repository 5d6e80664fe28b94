/**
 * FHIR data at scale (`BENCH_ONLY=fhir npm run bench`): every Synthea patient of the fixtures (24 R4 + 11 US Core
 * v3, with their hospital and practitioner bundles: 13,006 resources) posted as transaction/batch bundles.
 *   1. ingest (resources/s): our /fhir on a real node — validate, seal, store, anchor — against Medplum's
 *      MemoryRepository + FhirRouter on the same bundles in the same run (conditional references resolved on both
 *      sides, as the gateway does); plus our store alone (the gateway's repository through the same router, no sealing)
 *   2. search p50/p99 (ms) over all of it for a set of queries: the gateway (transport-agnostic `handle`, in process)
 *      against Medplum's router over its MemoryRepository, and the gateway over HTTP; each query's results are
 *      checked to be the same resources on both sides.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadFhirDefinitions } from '@medbloc/core';
import { createClient } from '@medbloc/sdk';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import type { Bundle } from '@medplum/fhirtypes';
import { resolveConditionalReferences } from '../packages/node/src/fhir/conditional.ts';
import { LedgerRepository } from '../packages/node/src/fhir/repository.ts';
import { mountGateway } from '../test/support/fhir-gateway.ts';
import { FIXTURES, newIdentity, startTestNode } from '../test/support/harness.ts';

const OURS_ROUNDS = Number(process.env.BENCH_FHIR_ROUNDS ?? 50);
const MEDPLUM_ROUNDS = Number(process.env.BENCH_FHIR_MEDPLUM_ROUNDS ?? 3);

/** v3 first: its conditional references must resolve before the R4 set repeats organisations. */
function syntheaBundles(): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  for (const set of ['synthea-v3', 'synthea']) {
    const dir = path.join(FIXTURES, 'fhir', set);
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    const shared = files.filter((f) => /^(hospital|practitioner)Information/.test(f));
    for (const f of [...shared, ...files.filter((x) => !shared.includes(x))])
      out.push({ file: f, text: readFileSync(path.join(dir, f), 'utf8') });
  }
  return out;
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
};

type Query = (patientId: string) => string;
const QUERIES: Query[] = [
  () => 'Observation?code=http://loinc.org|8302-2&_count=20',
  () => 'Observation?code=8302-2,29463-7&_count=20',
  (p) => `Observation?patient=${p}&_count=20`,
  (p) => `Encounter?patient=${p}&date=ge2015-01-01`,
  (p) => `Condition?patient=${p}&clinical-status=active`,
  () => 'Observation?date=ge2016-01-01&date=lt2017-01-01&_count=20',
  () => 'Immunization?date=eq2015&_count=20',
  () => 'MedicationRequest?status=active',
  () => 'Patient?identifier=http://hl7.org/fhir/sid/us-ssn|999-52-9302',
  () => 'Observation?code=8302-2&_sort=-date&_count=10',
  () => 'Encounter?class=AMB&date=ge2012&_count=20',
  (p) => `Patient?_id=${p}&_revinclude=Encounter:subject`,
];

export async function benchFhir(line: (s: string) => void) {
  loadFhirDefinitions();
  const bundles = syntheaBundles();
  const total = bundles.reduce((n, b) => n + ((JSON.parse(b.text) as Bundle).entry?.length ?? 0), 0);
  const router = new FhirRouter();
  const post = (body: unknown) =>
    ({ method: 'POST', url: '', pathname: '', params: {}, query: {}, body }) as Parameters<
      FhirRouter['handleRequest']
    >[0];

  // Ours end to end: /fhir on a real node and chain.
  const t = await startTestNode();
  const client = createClient({ node: t.node.url, identity: newIdentity() });
  await client.register({ roles: ['patient'] });
  const g = await mountGateway(client);
  try {
    let ourPatient = '';
    let started = performance.now();
    for (const b of bundles) {
      const res = await g.fetch('', {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: b.text,
      });
      const body = (await res.json()) as Bundle;
      if (res.status !== 200)
        throw new Error(`/fhir refused ${b.file}: ${JSON.stringify(body).slice(0, 300)}`);
      if (b.file.startsWith('Antonio_Carmona')) ourPatient = patientIdOf(body);
    }
    const oursSeconds = (performance.now() - started) / 1000;
    // Then Medplum, and our store alone, in the same process — which by now also holds our node's data, just as
    // ours ran with nothing extra in the heap.
    // Medplum: its MemoryRepository through its router.
    const medplum = new MemoryRepository();
    let medplumPatient = '';
    started = performance.now();
    for (const b of bundles) {
      const body = JSON.parse(b.text) as Bundle;
      await resolveConditionalReferences(body, medplum);
      const [outcome, res] = await router.handleRequest(post(body), medplum);
      if (outcome.issue?.[0]?.severity !== 'information') throw new Error(`Medplum refused ${b.file}`);
      if (b.file.startsWith('Antonio_Carmona')) medplumPatient = patientIdOf(res as Bundle);
    }
    const medplumSeconds = (performance.now() - started) / 1000;

    // Our store alone: the gateway's indexed repository through the same router, nothing sealed.
    const store = new LedgerRepository();
    started = performance.now();
    for (const b of bundles) {
      const body = JSON.parse(b.text) as Bundle;
      await resolveConditionalReferences(body, store);
      await router.handleRequest(post(body), store);
    }
    const storeSeconds = (performance.now() - started) / 1000;
    // Those loads held the event loop for seconds: let the gateway's server close the connections that idled past its
    // keep-alive (and the client see it) before the next request goes out.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const ingest = {
      resources: total,
      oursPerSecond: total / oursSeconds,
      medplumPerSecond: total / medplumSeconds,
      ratio: medplumSeconds / oursSeconds,
      storeOnlyPerSecond: total / storeSeconds,
    };
    line(
      `FHIR ingest of ${total} Synthea resources (35 patients): /fhir sealed+anchored ${ingest.oursPerSecond.toFixed(0)}/s (${oursSeconds.toFixed(1)} s) vs Medplum MemoryRepository+FhirRouter ${ingest.medplumPerSecond.toFixed(0)}/s (${medplumSeconds.toFixed(1)} s): ${ingest.ratio.toFixed(2)}x; our indexed store alone ${ingest.storeOnlyPerSecond.toFixed(0)}/s`,
    );

    // Search: every query on both sides; the same resources must come back (compared by their identifiers).
    const ours: number[] = [];
    const oursHttp: number[] = [];
    const theirs: number[] = [];
    const perQuery: { query: string; p50: number; p99: number; cold: number; medplumP50: number }[] = [];
    // Ours first (in process, then over HTTP), Medplum after: its multi-second scans block this process and would
    // outlast the test server's keep-alive between HTTP requests.
    const firsts: Bundle[] = [];
    const colds: number[] = [];
    const oursByQuery: number[][] = [];
    for (const q of QUERIES) {
      const mine = q(ourPatient);
      const [path0, qs = ''] = mine.split('?');
      const query: Record<string, string | string[]> = {};
      for (const [k, v] of new URLSearchParams(qs)) {
        const prev = query[k];
        query[k] = prev === undefined ? v : [prev, v].flat();
      }
      const request = { method: 'GET', path: path0 as string, query, headers: {}, baseUrl: g.base };
      // The first search of a parameter indexes every resource of the type (one FHIRPath evaluation each, like one
      // Medplum scan); later ones only index what was written since.
      const cold = performance.now();
      firsts.push((await g.gateway.handle(request)).body as Bundle);
      colds.push(performance.now() - cold);
      const times: number[] = [];
      for (let i = 0; i < OURS_ROUNDS; i++) {
        const s = performance.now();
        await g.gateway.handle(request);
        times.push(performance.now() - s);
      }
      for (let i = 0; i < Math.min(OURS_ROUNDS, 20); i++) {
        const s = performance.now();
        await (await g.fetch(mine, { headers: { accept: 'application/fhir+json' } })).arrayBuffer();
        oursHttp.push(performance.now() - s);
      }
      ours.push(...times);
      oursByQuery.push(times);
    }
    for (const [n, q] of QUERIES.entries()) {
      const medplumTimes: number[] = [];
      let reference: Bundle | undefined;
      for (let i = 0; i < MEDPLUM_ROUNDS; i++) {
        const s = performance.now();
        const [, res] = await router.handleRequest(
          { method: 'GET', url: q(medplumPatient), pathname: '', params: {}, query: {}, body: undefined },
          medplum,
        );
        medplumTimes.push(performance.now() - s);
        reference = res as Bundle;
      }
      if (!sameResources(firsts[n] as Bundle, reference as Bundle))
        throw new Error(`${q('<patient>')}: results differ from Medplum's`);
      theirs.push(...medplumTimes);
      const times = oursByQuery[n] as number[];
      perQuery.push({
        query: q('<patient>'),
        p50: percentile(times, 50),
        p99: percentile(times, 99),
        cold: colds[n] as number,
        medplumP50: percentile(medplumTimes, 50),
      });
    }
    for (const r of perQuery)
      line(
        `  ${r.query}: ours p50 ${r.p50.toFixed(2)} ms p99 ${r.p99.toFixed(2)} ms (first, building indexes: ${r.cold.toFixed(0)} ms); Medplum p50 ${r.medplumP50.toFixed(0)} ms`,
      );
    const search = {
      queries: QUERIES.length,
      oursP50: percentile(ours, 50),
      oursP99: percentile(ours, 99),
      oursHttpP50: percentile(oursHttp, 50),
      oursHttpP99: percentile(oursHttp, 99),
      medplumP50: percentile(theirs, 50),
      medplumP99: percentile(theirs, 99),
    };
    line(
      `FHIR search over all Synthea patients (${QUERIES.length} queries, same results on both sides): ours p50 ${search.oursP50.toFixed(2)} ms p99 ${search.oursP99.toFixed(2)} ms (over HTTP p50 ${search.oursHttpP50.toFixed(2)} p99 ${search.oursHttpP99.toFixed(2)}) vs Medplum p50 ${search.medplumP50.toFixed(0)} ms p99 ${search.medplumP99.toFixed(0)} ms: p99 ${(search.medplumP99 / search.oursP99).toFixed(0)}x faster`,
    );
    return { ingest, search, perQuery };
  } finally {
    await g.close();
    await t.stop();
  }
}

function patientIdOf(response: Bundle): string {
  const loc = response.entry?.find((e) => e.response?.location?.startsWith('Patient/'))?.response?.location;
  return loc?.split('/')[1] ?? '';
}

/** Same entries in the same order, compared by what both sides keep (type, mode and the first identifier or code). */
function sameResources(a: Bundle, b: Bundle): boolean {
  const key = (x: Bundle) =>
    JSON.stringify([
      x.total,
      (x.entry ?? [])
        .filter((e) => !e.resource?.meta?.tag?.some((t) => t.code === 'anchor-provenance'))
        .map((e) => {
          const r = e.resource as {
            resourceType: string;
            identifier?: { value?: string }[];
            effectiveDateTime?: string;
            code?: { coding?: { code?: string }[] };
          };
          return `${e.search?.mode}:${r.resourceType}:${r.identifier?.[0]?.value ?? ''}:${r.code?.coding?.[0]?.code ?? ''}:${r.effectiveDateTime ?? ''}`;
        }),
    ]);
  return key(a) === key(b);
}
