/**
 * `medbloc import` on the real fixtures against a real node: HL7 v2, FHIR XML, DICOM and VCF become validated,
 * sealed, anchored FHIR records; malformed input is refused with a message naming where, and nothing is stored.
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cli, FIXTURES, startTestNode, tempDir } from './support/harness.ts';

describe('medbloc import', () => {
  let t: Awaited<ReturnType<typeof startTestNode>>;
  let env: Record<string, string>;
  const count = async () =>
    JSON.parse((await cli(['--json', 'record', 'list'], env)).stdout) as {
      meta?: { resourceType?: string };
    }[];
  before(async () => {
    t = await startTestNode();
    env = {
      MEDBLOC_NODE: t.node.url,
      MEDBLOC_KEYS_DIR: await tempDir(),
      MEDBLOC_PASSPHRASE: 'import passphrase',
    };
    assert.equal((await cli(['init'], env)).code, 0);
    assert.equal((await cli(['account', 'register'], env)).code, 0);
  });
  after(() => t.stop());

  const imports = async (file: string) => {
    const r = await cli(['--json', 'import', file], env);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { format: string; recordIds: string[]; types: Record<string, number> };
  };

  test('an HL7 v2 ORU message becomes Patient, Observations and a DiagnosticReport', async () => {
    const dir = path.join(FIXTURES, 'hl7v2/messages');
    const oru = (await readdir(dir)).find((f) => f.startsWith('ORU'))!;
    const before = (await count()).length;
    const out = await imports(path.join(dir, oru));
    assert.equal(out.format, 'hl7v2');
    assert.ok(out.types.Patient && out.types.Observation);
    const listed = await count();
    assert.equal(listed.length, before + out.recordIds.length);
    assert.ok(
      listed.some(
        (r) => r.meta?.resourceType === 'DiagnosticReport' || r.meta?.resourceType === 'Observation',
      ),
    );
  });

  test('FHIR XML and VCF import', async () => {
    assert.equal((await imports(path.join(FIXTURES, 'fhir/xml/condition-example.xml'))).types.Condition, 1);
    const vcfDir = path.join(FIXTURES, 'vcf/vcf2fhir-pairs');
    const vcf = (await readdir(vcfDir, { recursive: true })).find((f) => String(f).endsWith('.vcf'));
    assert.ok(vcf, 'a VCF fixture exists');
    const out = await imports(path.join(vcfDir, String(vcf)));
    assert.equal(out.format, 'vcf');
    assert.ok((out.types.Observation ?? 0) > 0 && out.types.DiagnosticReport === 1);
  });

  test('a DICOM file is stored whole and described by an ImagingStudy; de-identified on request', async () => {
    const out = await imports(path.join(FIXTURES, 'dicom/dev/CT_small.dcm'));
    assert.equal(out.types.ImagingStudy, 1);
    const r = await cli(
      ['--json', 'import', '--deidentify', path.join(FIXTURES, 'dicom/dev/MR_small.dcm')],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    const listed = await count();
    assert.ok(listed.filter((x) => x.meta?.resourceType === 'ImagingStudy').length >= 2);
  });

  test('malformed and unsupported input is refused with a one-line message naming where, and nothing is stored', async () => {
    const dir = await tempDir();
    const noMsh = path.join(dir, 'no-msh.hl7');
    await writeFile(noMsh, 'PID|1||12345^^^MRN||Doe^Jane\rOBX|1|NM|8867-4^Heart rate^LN||72|/min\r');
    const prose = path.join(dir, 'notes.txt');
    await writeFile(prose, 'just some words');
    const dft = path.join(
      FIXTURES,
      'hl7v2/messages',
      (await readdir(path.join(FIXTURES, 'hl7v2/messages'))).find((f) => f.startsWith('DFT'))!,
    );
    const before = (await count()).length;
    const cases: [string, RegExp][] = [
      [noMsh, /line 1/],
      [prose, /UNSUPPORTED_FORMAT/],
      [dft, /HL7V2_UNSUPPORTED/],
    ];
    for (const [file, expected] of cases) {
      const r = await cli(['import', file], env);
      assert.notEqual(r.code, 0, `${file} should be refused`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^medbloc: error: /);
      assert.match(r.stderr, expected);
    }
    assert.equal((await count()).length, before);
  });
});
