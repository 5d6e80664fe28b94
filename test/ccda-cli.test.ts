/**
 * C-CDA through the CLI against a real node: `medbloc import <file.xml>` recognises a ClinicalDocument, converts it
 * to FHIR here, validates, seals and anchors the resources; `medbloc export --format ccda` writes the patient's
 * records back as a C-CDA document. Malformed documents are refused with one line naming the problem, and nothing
 * is stored.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ccdaResources, ccdaToFhir, fhirToCcda } from '@medbloc/interop';
import type { AllergyIntolerance, Bundle, Condition, Patient, Resource } from '@medplum/fhirtypes';
import { cli, FIXTURES, startTestNode, tempDir } from './support/harness.ts';

const codesOf = (rs: Resource[], type: 'AllergyIntolerance' | 'Condition') =>
  rs
    .filter((r) => r.resourceType === type)
    .flatMap((r) => (r as AllergyIntolerance | Condition).code?.coding?.map((c) => c.code) ?? [])
    .sort();

describe('C-CDA with medbloc import and export', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let env: Record<string, string>;
  let dir: string;
  let original: Resource[];
  const records = async () =>
    JSON.parse((await cli(['--json', 'record', 'list'], env)).stdout) as {
      meta?: { resourceType?: string };
    }[];

  before(async () => {
    t = await startTestNode();
    dir = await tempDir();
    env = {
      MEDBLOC_NODE: t.node.url,
      MEDBLOC_KEYS_DIR: await tempDir(),
      MEDBLOC_PASSPHRASE: 'ccda passphrase',
    };
    assert.equal((await cli(['init'], env)).code, 0);
    assert.equal((await cli(['account', 'register'], env)).code, 0);
    const synthea = path.join(FIXTURES, 'fhir/synthea');
    const file = (await readdir(synthea)).find((f) => f.startsWith('Giovanni_Balistreri')) as string;
    const bundle = JSON.parse(await readFile(path.join(synthea, file), 'utf8')) as Bundle;
    original = (bundle.entry ?? []).map((e) => e.resource as Resource);
    await writeFile(path.join(dir, 'giovanni-ccd.xml'), fhirToCcda(bundle));
  });
  after(() => t.stop());

  test('import recognises a C-CDA document and anchors its resources', async () => {
    const before = (await records()).length;
    const r = await cli(['--json', 'import', path.join(dir, 'giovanni-ccd.xml')], env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      format: string;
      recordIds: string[];
      types: Record<string, number>;
    };
    assert.equal(out.format, 'ccda');
    assert.equal(out.types.Patient, 1);
    assert.equal(out.types.AllergyIntolerance, 5);
    assert.equal(out.types.Condition, codesOf(original, 'Condition').length);
    assert.ok((out.types.Immunization ?? 0) > 10);
    const listed = await records();
    assert.equal(listed.length, before + out.recordIds.length);
    assert.ok(listed.some((x) => x.meta?.resourceType === 'AllergyIntolerance'));
  });

  test('export --format ccda writes the stored records back as a C-CDA document', async () => {
    const out = path.join(dir, 'export.xml');
    const r = await cli(
      ['--json', 'export', '--format', 'ccda', '--title', 'For Dr Osler', '--out', out],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    const xml = await readFile(out, 'utf8');
    assert.match(xml, /<title>For Dr Osler<\/title>/);
    const back = ccdaResources(ccdaToFhir(xml));
    const patient = back.find((x) => x.resourceType === 'Patient') as Patient;
    const source = original.find((x) => x.resourceType === 'Patient') as Patient;
    assert.equal(patient.birthDate, source.birthDate);
    assert.equal(patient.name?.[0]?.family, source.name?.[0]?.family);
    assert.deepEqual(codesOf(back, 'AllergyIntolerance'), codesOf(original, 'AllergyIntolerance'));
    assert.deepEqual(codesOf(back, 'Condition'), codesOf(original, 'Condition'));
    // To stdout when no --out is given.
    const stdout = await cli(['export'], env);
    assert.equal(stdout.code, 0, stdout.stderr);
    assert.match(stdout.stdout, /^<\?xml[^>]*\?>\s*(<\?xml-stylesheet[^>]*\?>\s*)?<ClinicalDocument/);
  });

  test('malformed C-CDA is refused with one line naming the problem; nothing is stored', async () => {
    const good = await readFile(path.join(dir, 'giovanni-ccd.xml'), 'utf8');
    const truncated = path.join(dir, 'truncated.xml');
    await writeFile(truncated, good.slice(0, Math.floor(good.length / 2)));
    const noPatient = path.join(dir, 'no-patient.xml');
    await writeFile(
      noPatient,
      '<?xml version="1.0"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3"><title>Empty</title></ClinicalDocument>\n',
    );
    const wrongNs = path.join(dir, 'wrong-namespace.xml');
    await writeFile(wrongNs, '<ClinicalDocument xmlns="urn:example"><recordTarget/></ClinicalDocument>');
    const before = (await records()).length;
    for (const [file, expected] of [
      [truncated, /CCDA_INVALID|malformed XML/],
      [noPatient, /patientRole\/patient is missing/],
      [wrongNs, /not ClinicalDocument in urn:hl7-org:v3/],
    ] as const) {
      const r = await cli(['import', file], env);
      assert.notEqual(r.code, 0, `${file} should be refused`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^medbloc: error: /);
      assert.match(r.stderr, expected);
    }
    assert.match((await cli(['import', truncated], env)).stderr, /\d+:\d+: malformed XML/);
    assert.equal((await records()).length, before);
    const bad = await cli(['export', '--format', 'pdf'], env);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unsupported export format "pdf"/);
  });
});
