/**
 * `medbloc import` of an Apple Health export against a real node: export.xml and Apple's export.zip become validated,
 * sealed, anchored Observations in batches of 500 that the patient lists and reads back; counts per type and the
 * skipped types are printed; malformed XML is refused naming the line and nothing is stored.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  heartRateExport,
  SAMPLE,
  SAMPLE_OBSERVATIONS,
  zipOf,
} from '../packages/interop/src/apple-health/sample.test-helpers.ts';
import { cli, startTestNode, tempDir } from './support/harness.ts';

interface ImportOut {
  format: string;
  observations: number;
  recordIds: string[];
  txHashes: string[];
  types: Record<string, number>;
  healthKit: Record<string, { records: number; observations: number }>;
  skipped: Record<string, number>;
}

describe('medbloc import of an Apple Health export', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let env: Record<string, string>;
  let dir: string;
  const listed = async () =>
    JSON.parse((await cli(['--json', 'record', 'list'], env)).stdout) as {
      recordId: string;
      meta?: { resourceType?: string };
    }[];
  const imports = async (file: string, ...flags: string[]) => {
    const r = await cli(['--json', 'import', ...flags, file], env);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as ImportOut;
  };
  before(async () => {
    t = await startTestNode();
    dir = await tempDir();
    env = {
      MEDBLOC_NODE: t.node.url,
      MEDBLOC_KEYS_DIR: await tempDir(),
      MEDBLOC_PASSPHRASE: 'apple health passphrase',
    };
    assert.equal((await cli(['init'], env)).code, 0);
    assert.equal((await cli(['account', 'register'], env)).code, 0);
  });
  after(() => t.stop());

  test('export.xml becomes Observations the patient lists and reads; counts per type and skipped types are printed', async () => {
    const file = path.join(dir, 'export.xml');
    await writeFile(file, SAMPLE);
    const before = (await listed()).length;

    const dry = await imports(file, '--dry-run', '--patient', 'Patient/ana');
    assert.equal(dry.observations, SAMPLE_OBSERVATIONS);
    assert.equal((await listed()).length, before, 'a dry run stores nothing');

    const out = await imports(file, '--patient', 'Patient/ana');
    assert.equal(out.format, 'apple-health');
    assert.equal(out.observations, SAMPLE_OBSERVATIONS);
    assert.deepEqual(out.types, { Observation: SAMPLE_OBSERVATIONS });
    assert.equal(out.recordIds.length, SAMPLE_OBSERVATIONS);
    assert.equal(out.txHashes.length, 1);
    assert.deepEqual(out.healthKit.HKQuantityTypeIdentifierStepCount, { records: 4, observations: 3 });
    assert.deepEqual(out.healthKit.HKCorrelationTypeIdentifierBloodPressure, { records: 1, observations: 1 });
    assert.equal(out.skipped.HKQuantityTypeIdentifierDistanceWalkingRunning, 1);
    assert.equal(out.skipped.Workout, 1);

    const records = await listed();
    assert.equal(records.length, before + SAMPLE_OBSERVATIONS);
    const mine = records.filter((r) => out.recordIds.includes(r.recordId));
    assert.equal(mine.length, SAMPLE_OBSERVATIONS);
    assert.ok(mine.every((r) => r.meta?.resourceType === 'Observation'));

    // The patient reads back, verified and decrypted, the blood-pressure panel.
    const codes: string[] = [];
    let panel: { component?: { valueQuantity?: { value?: number } }[]; subject?: { reference?: string } } =
      {};
    for (const id of out.recordIds) {
      const r = await cli(['--json', 'record', 'get', id], env);
      assert.equal(r.code, 0, r.stderr);
      const { resource } = JSON.parse(r.stdout) as {
        resource: { code: { coding: { code: string }[] } } & typeof panel;
      };
      const code = resource.code.coding[0]!.code;
      codes.push(code);
      if (code === '85354-9') panel = resource;
    }
    assert.deepEqual(
      panel.component?.map((c) => c.valueQuantity?.value),
      [124, 81],
    );
    assert.equal(panel.subject?.reference, 'Patient/ana');
    for (const code of [
      '8867-4',
      '80404-7',
      '29463-7',
      '8302-2',
      '59408-5',
      '2339-0',
      '15074-8',
      '55423-8',
      '41981-2',
    ])
      assert.ok(codes.includes(code), `an Observation coded ${code} was stored`);

    // People get a summary per type on stdout.
    const text = await cli(['import', '--dry-run', file], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /BloodPressure: 1 sample → 1 observation\n/);
    assert.match(text.stdout, /StepCount: 4 samples → 3 observations\n/);
    assert.match(text.stdout, /Skipped:\n[\s\S]*DistanceWalkingRunning: 1 \(no FHIR mapping for this type\)/);
  });

  test('a large export is stored in batches of 500, and Apple’s export.zip is read without unpacking', async () => {
    const N = 1_100;
    const big = [...heartRateExport(N)].join('');
    const zip = path.join(dir, 'export.zip');
    await writeFile(zip, zipOf('apple_health_export/export.xml', big));
    const before = (await listed()).length;
    const out = await imports(zip);
    assert.equal(out.format, 'apple-health');
    assert.equal(out.observations, N);
    assert.deepEqual(out.healthKit, { HKQuantityTypeIdentifierHeartRate: { records: N, observations: N } });
    assert.equal(out.txHashes.length, 3, '500 + 500 + 100');
    assert.equal(new Set(out.txHashes).size, 3);
    assert.equal((await listed()).length, before + N);
  });

  test('a refused batch stops the import with one line saying how much was stored', async () => {
    // Writing for somebody else without a provider's certification: the node refuses the first batch.
    const other = await tempDir();
    const otherEnv = { ...env, MEDBLOC_KEYS_DIR: other };
    assert.equal((await cli(['init'], otherEnv)).code, 0);
    assert.equal((await cli(['account', 'register'], otherEnv)).code, 0);
    const someoneElse = (
      JSON.parse((await cli(['--json', 'account', 'show'], otherEnv)).stdout) as { address: string }
    ).address;
    const file = path.join(dir, 'for-someone-else.xml');
    await writeFile(file, [...heartRateExport(600)].join(''));
    const before = (await listed()).length;
    const r = await cli(['import', file, '--owner', someoneElse], env);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(
      r.stderr.trim(),
      /stopped after storing 0 of 600 observations in 0 batches: .*certified provider.*\(IMPORT_PARTIAL\)$/,
    );
    assert.equal((await listed()).length, before);
  });

  test('malformed XML is refused with one line naming where; nothing is stored, even after valid records', async () => {
    const before = (await listed()).length;
    // Valid for 1,000 records (two batches' worth), then broken: the check pass refuses it before anything is sealed.
    const good = [...heartRateExport(1_000)].join('');
    const broken = good.replace('</HealthData>', '<Record type="x" value="1" value="2"/></HealthData>');
    const brokenLine = broken.split('\n').findIndex((l) => l.includes('value="1" value="2"')) + 1;
    const cases: [string, string | Buffer, RegExp][] = [
      ['broken.xml', broken, new RegExp(`malformed XML at line ${brokenLine}, column \\d+`)],
      [
        'truncated.xml',
        SAMPLE.slice(0, SAMPLE.indexOf('<Workout')),
        /malformed XML at line \d+, column \d+: unclosed tag: HealthData/,
      ],
      ['other.zip', zipOf('notes/readme.txt', 'hello'), /no export\.xml in this zip/],
    ];
    for (const [name, content, expected] of cases) {
      const file = path.join(dir, name);
      await writeFile(file, content);
      const r = await cli(['import', file], env);
      assert.notEqual(r.code, 0, `${name} should be refused`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^medbloc: error: /);
      assert.match(r.stderr, expected);
    }
    assert.equal((await listed()).length, before);
  });
});
