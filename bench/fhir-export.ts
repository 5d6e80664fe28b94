/**
 * FHIR API protocol costs on a real node: Bulk Data `$export` of Synthea patients loaded through the gateway (kick-off
 * to every NDJSON file downloaded over HTTP) against serialising the same resources as NDJSON straight out of
 * Medplum's in-memory repository; and answering a search in FHIR XML against JSON. Run alone with
 * `BENCH_ONLY=fhir-export npm run bench` (BENCH_EXPORT_PATIENTS sets how many Synthea patients, default 8).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createClient } from '@medbloc/sdk';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { mountGateway } from '../test/support/fhir-gateway.ts';
import { FIXTURES, newIdentity, startTestNode } from '../test/support/harness.ts';

const ROUNDS = 5;

export async function benchFhirExport(line: (s: string) => void) {
  const patients = Number(process.env.BENCH_EXPORT_PATIENTS ?? 8);
  const dir = path.join(FIXTURES, 'fhir/synthea');
  const bundles = readdirSync(dir)
    .filter((f) => !/^(hospital|practitioner)Information/.test(f))
    .sort()
    .slice(0, patients)
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Bundle);
  const t = await startTestNode();
  const client = createClient({ node: t.node.url, identity: newIdentity() });
  await client.register({ roles: ['patient'] });
  const g = await mountGateway(client);
  try {
    for (const b of bundles) {
      const res = await g.fetch('', {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(b),
      });
      if (res.status !== 200) throw new Error(`loading a bundle failed: ${await res.text()}`);
    }

    const exportOnce = async () => {
      const start = performance.now();
      const kick = await g.fetch('$export', { headers: { prefer: 'respond-async' } });
      const status = kick.headers.get('content-location') as string;
      let manifest: { output: { url: string; count: number }[] } | undefined;
      while (!manifest) {
        const res = await fetch(status);
        if (res.status === 200) manifest = (await res.json()) as typeof manifest;
        else await new Promise((r) => setTimeout(r, 5));
      }
      let resources = 0;
      let bytes = 0;
      for (const o of manifest?.output ?? []) {
        const text = await (await fetch(o.url)).text();
        bytes += text.length;
        resources += text.split('\n').length - 1;
      }
      await fetch(status, { method: 'DELETE' });
      return { ms: performance.now() - start, resources, bytes };
    };
    await exportOnce();
    const runs = [];
    for (let i = 0; i < ROUNDS; i++) runs.push(await exportOnce());
    const best = runs.reduce((a, b) => (a.ms < b.ms ? a : b));

    // Baseline: the same bundles in Medplum's memory repository, every resource serialised as NDJSON in-process.
    const router = new FhirRouter();
    const repo = new MemoryRepository();
    for (const b of bundles)
      await router.handleRequest(
        { method: 'POST', url: '', pathname: '', params: {}, query: {}, body: structuredClone(b) },
        repo,
      );
    const types = [...new Set(bundles.flatMap((b) => (b.entry ?? []).map((e) => e.resource?.resourceType)))];
    const baseline = async () => {
      const start = performance.now();
      let n = 0;
      for (const type of types) {
        const found = await repo.searchResources({
          resourceType: type as Resource['resourceType'],
          count: 100_000,
        });
        n +=
          found
            .map((r) => `${JSON.stringify(r)}\n`)
            .join('')
            .split('\n').length - 1;
      }
      return { ms: performance.now() - start, n };
    };
    await baseline();
    let base = await baseline();
    for (let i = 1; i < ROUNDS; i++) {
      const r = await baseline();
      if (r.ms < base.ms) base = r;
    }

    // XML vs JSON for the same search answer.
    const timed = async (accept: string) => {
      let best = Number.POSITIVE_INFINITY;
      for (let i = 0; i < ROUNDS; i++) {
        const start = performance.now();
        await (await g.fetch('Observation?_count=500', { headers: { accept } })).text();
        best = Math.min(best, performance.now() - start);
      }
      return best;
    };
    await timed('application/fhir+xml');
    const xmlMs = await timed('application/fhir+xml');
    const jsonMs = await timed('application/fhir+json');

    const exportRate = (best.resources / best.ms) * 1000;
    const baseRate = (base.n / base.ms) * 1000;
    line(
      `FHIR $export of ${patients} Synthea patients (${best.resources} resources incl. Provenance, ${(best.bytes / 1e6).toFixed(1)} MB NDJSON): ` +
        `${best.ms.toFixed(0)} ms kick-off to last file = ${exportRate.toFixed(0)} resources/s vs Medplum memory repository ` +
        `search + NDJSON in-process ${baseRate.toFixed(0)} resources/s (ratio ${(exportRate / baseRate).toFixed(2)}x)`,
    );
    line(
      `FHIR search of 500 Observations: XML ${xmlMs.toFixed(1)} ms vs JSON ${jsonMs.toFixed(1)} ms (${(xmlMs / jsonMs).toFixed(2)}x)`,
    );
    return {
      patients,
      resources: best.resources,
      exportMs: best.ms,
      exportResourcesPerSecond: exportRate,
      baselineResourcesPerSecond: baseRate,
      ratio: exportRate / baseRate,
      searchXmlMs: xmlMs,
      searchJsonMs: jsonMs,
    };
  } finally {
    await g.close();
    await t.stop();
  }
}
