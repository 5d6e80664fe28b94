import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateResource } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { provedValid } from './fast-path.ts';
import { loadFhirDefinitions, validateFhirResource } from './index.ts';

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));

type Json = Record<string, unknown>;
type JsonResource = Json & { resourceType: string };

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined; // the validator suite has deliberately malformed files
  }
}

function isResource(value: unknown): value is JsonResource {
  return typeof value === 'object' && value !== null && typeof (value as Json).resourceType === 'string';
}

/** Every resource of the fixtures: Synthea bundles' entries, the official examples, the validator suite. */
function fixtureResources(): { synthea: JsonResource[]; all: JsonResource[] } {
  const synthea: JsonResource[] = [];
  for (const dir of ['fhir/synthea/', 'fhir/synthea-v3/'])
    for (const file of readdirSync(fixtures + dir).filter((f) => f.endsWith('.json'))) {
      const bundle = readJson(fixtures + dir + file) as { entry?: { resource?: unknown }[] };
      for (const e of bundle.entry ?? []) if (isResource(e.resource)) synthea.push(e.resource);
    }
  const others: JsonResource[] = [];
  for (const dir of ['fhir/examples/', 'fhir-validation/r4-core/instances/'])
    for (const file of readdirSync(fixtures + dir).filter((f) => f.endsWith('.json'))) {
      const value = readJson(fixtures + dir + file);
      if (isResource(value)) others.push(value);
    }
  return { synthea, all: [...synthea, ...others] };
}

/** Medplum's verdict: no issue of severity error (it throws when there is one). */
function medplumAccepts(resource: Json): boolean {
  try {
    return !validateResource(resource as unknown as Resource).some((i) => i.severity === 'error');
  } catch {
    return false;
  }
}

/**
 * Mutants of a resource, one change each at every object and value it holds: removed, null, empty, the wrong JSON
 * type, an array for a single value and back, an unknown or primitive-extension sibling, a malformed string, a
 * choice property renamed to another type, a number out of range.
 */
function* mutants(resource: JsonResource): Generator<JsonResource> {
  const clone = () => structuredClone(resource);
  const paths: (string | number)[][] = [];
  const visit = (value: unknown, path: (string | number)[]) => {
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) visit(v, [...path, i]);
    } else if (typeof value === 'object' && value !== null)
      for (const [k, v] of Object.entries(value)) {
        paths.push([...path, k]);
        visit(v, [...path, k]);
      }
  };
  visit(resource, []);
  const at = (root: Json, path: (string | number)[]) => {
    let parent: unknown = root;
    for (const step of path.slice(0, -1)) parent = (parent as Json)[step];
    return { parent: parent as Json, key: path[path.length - 1] as string };
  };
  const changes: ((parent: Json, key: string) => void)[] = [
    (p, k) => delete p[k],
    (p, k) => (p[k] = null),
    (p, k) => (p[k] = ''),
    (p, k) => (p[k] = ' '),
    (p, k) => (p[k] = {}),
    (p, k) => (p[k] = []),
    (p, k) => (p[k] = 42.5),
    (p, k) => (p[k] = -1),
    (p, k) => (p[k] = 2 ** 40),
    (p, k) => (p[k] = true),
    (p, k) => (p[k] = 'not a valid value with spaces'),
    (p, k) => (p[k] = '2023-02-30'),
    (p, k) => (p[k] = [p[k]]),
    (p, k) => (p[k] = Array.isArray(p[k]) ? (p[k] as unknown[])[0] : p[k]),
    (p, k) => (p[k] = Array.isArray(p[k]) ? [...(p[k] as unknown[]), ...(p[k] as unknown[])] : p[k]),
    (p, k) => (p[`${k}Extra`] = p[k]),
    (p, k) => (p[`_${k}`] = { extension: [{ url: 'http://example.org/x', valueString: 'x' }] }),
    (p, k) => (p[k.replace(/[A-Z].*$/, 'String')] = p[k]),
    (p, k) => {
      const value = p[k];
      delete p[k];
      p[k.replace(/[A-Z].*$/, 'Boolean')] = value;
    },
    (p, k) => (p[k] = typeof p[k] === 'string' ? `${p[k] as string} ` : p[k]),
    (p, k) => (p[k] = typeof p[k] === 'string' ? `${p[k] as string}\u0001` : p[k]),
    (p, k) =>
      (p[k] =
        typeof p[k] === 'object' && p[k] !== null ? { ...(p[k] as Json), resourceType: 'Patient' } : p[k]),
  ];
  for (const path of paths)
    for (const change of changes) {
      const root = clone();
      const { parent, key } = at(root, path);
      change(parent, key);
      yield root;
    }
}

test('the fast path proves valid only what Medplum accepts, across every fixture', () => {
  loadFhirDefinitions();
  const { all } = fixtureResources();
  assert.ok(all.length > 10_000);
  const unsound = all.filter((r) => provedValid(r) && !medplumAccepts(r));
  assert.deepEqual(
    unsound.map((r) => `${r.resourceType}/${r.id}`),
    [],
  );
});

test('the fast path proves every valid Synthea resource (so ingest takes it)', () => {
  loadFhirDefinitions();
  const { synthea } = fixtureResources();
  const notProved = synthea.filter((r) => medplumAccepts(r) && !provedValid(r));
  // A few Synthea resources carry primitive extensions or other shapes the fast path leaves to Medplum.
  assert.ok(
    notProved.length <= synthea.length / 1000,
    `${notProved.length} of ${synthea.length} valid Synthea resources were not proved`,
  );
});

test('no mutation of a fixture is proved valid unless Medplum accepts it', () => {
  loadFhirDefinitions();
  const { all } = fixtureResources();
  // One resource of each type from the fixtures, kept small enough that every mutant of it is checked.
  const sample = new Map<string, JsonResource>();
  for (const r of all) {
    const size = JSON.stringify(r).length;
    const kept = sample.get(r.resourceType);
    if (size < 4000 && (!kept || JSON.stringify(kept).length < size)) sample.set(r.resourceType, r);
  }
  assert.ok(sample.size >= 35, `only ${sample.size} resource types sampled`);
  let rejected = 0;
  let proved = 0;
  const unsound: string[] = [];
  for (const resource of sample.values())
    for (const mutant of mutants(resource)) {
      const fast = provedValid(mutant);
      const accepted = medplumAccepts(mutant);
      if (fast) proved++;
      if (!accepted) rejected++;
      if (fast && !accepted) unsound.push(JSON.stringify(mutant).slice(0, 300));
    }
  assert.deepEqual(unsound.slice(0, 5), []);
  // The mutations do reach both verdicts: many are rejected, and harmless ones are still proved.
  assert.ok(rejected > 5000, `${rejected} mutants rejected`);
  assert.ok(proved > 1000, `${proved} mutants proved`);
});

test('validation verdicts and issues are Medplum’s whichever path runs', () => {
  loadFhirDefinitions();
  const patient = {
    resourceType: 'Patient',
    birthDate: '2020-02-30',
    name: [{ family: 'Doe' }],
  };
  assert.equal(provedValid(patient), false);
  const result = validateFhirResource(patient);
  assert.equal(result.ok, false);
  assert.match(JSON.stringify(result.ok ? '' : result.outcome.issue), /Invalid date value/);
  const fine = { ...patient, birthDate: '2020-02-29' };
  assert.equal(provedValid(fine), true);
  assert.equal(validateFhirResource(fine).ok, true);
});

test('invariants that hold for lack of an element are still enforced when the element is there', () => {
  loadFhirDefinitions();
  const observation = {
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'x' },
    valueQuantity: { value: 1 },
  };
  assert.equal(provedValid(observation), true);
  // obs-6: dataAbsentReason only when there is no value.
  const both = { ...observation, dataAbsentReason: { text: 'unknown' } };
  assert.equal(provedValid(both), false);
  assert.equal(medplumAccepts(both), false);
  // dom-2: a contained resource does not contain others.
  const nested = {
    ...observation,
    contained: [{ resourceType: 'Patient', id: 'p', contained: [{ resourceType: 'Patient', id: 'q' }] }],
  };
  assert.equal(provedValid(nested), false);
  assert.equal(medplumAccepts(nested), false);
  // … and holds, proved without evaluating it, when the contained resources contain none; dom-4: a contained
  // resource has no version id or last-updated time.
  const plain = {
    ...observation,
    contained: [{ resourceType: 'Patient', id: 'p', meta: { tag: [{ code: 't' }] } }],
  };
  assert.equal(medplumAccepts(plain), true);
  assert.equal(provedValid(plain), true);
  const versioned = {
    ...observation,
    contained: [{ resourceType: 'Patient', id: 'p', meta: { versionId: '2' } }],
  };
  assert.equal(provedValid(versioned), false);
  assert.equal(medplumAccepts(versioned), false);
  // dom-5: a contained resource has no security labels; a primitive extension counts as present.
  const labelled = {
    ...observation,
    contained: [{ resourceType: 'Patient', id: 'p', meta: { security: [{ code: 'R' }] } }],
  };
  assert.equal(provedValid(labelled), false);
  assert.equal(medplumAccepts(labelled), false);
});
