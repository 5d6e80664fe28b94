import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateFhirResource } from '@medbloc/core';
import { dicomFixtures, expectedJson } from './fixtures.test-helpers.ts';
import { dicomToImagingStudy, dicomToPatient, patientFullUrl } from './imaging-study.ts';
import { parseDicom } from './parse.ts';
import type { DicomJson } from './values.ts';
import { dicomString } from './values.ts';

const first = (json: DicomJson, tag: string) => json[tag]?.Value?.[0];

for (const { dir, name, bytes } of dicomFixtures.filter((f) => f.name !== 'MR_truncated.dcm')) {
  test(`${dir}/${name}: ImagingStudy and Patient carry the reference dump's identifiers and pass R4 validation`, () => {
    const ds = parseDicom(bytes);
    const study = dicomToImagingStudy(ds, { attachmentUrl: 'https://records.example/blob/1' });
    const patient = dicomToPatient(ds);
    for (const resource of [study, patient]) {
      const result = validateFhirResource(resource);
      assert.ok(result.ok, JSON.stringify(result.ok ? '' : result.outcome.issue));
    }
    assert.equal(study.subject.reference, patientFullUrl(ds));
    assert.equal(study.numberOfSeries, 1);
    // A data set without SOP Instance UID (nested_priv_SQ.dcm) is a series with no identifiable instance.
    assert.equal(study.numberOfInstances, dicomString(ds, 'SOPInstanceUID') === undefined ? 0 : 1);
    const expected = expectedJson(dir, name);
    if (expected === undefined) return;
    const studyUid = first(expected, '0020000D');
    if (studyUid !== undefined) assert.equal(study.identifier?.[0]?.value, `urn:oid:${studyUid}`);
    const series = study.series?.[0];
    assert.equal(series?.uid, first(expected, '0020000E') ?? 'unknown');
    assert.equal(series?.modality.code, first(expected, '00080060') ?? 'OT');
    if (first(expected, '00080018') !== undefined) {
      assert.equal(series?.instance?.[0]?.uid, first(expected, '00080018'));
      assert.equal(series?.instance?.[0]?.sopClass.code, `urn:oid:${first(expected, '00080016')}`);
    }
    const description = first(expected, '00081030');
    if (typeof description === 'string' && description.trim())
      assert.equal(study.description, description.trim());
    const bodyPart = first(expected, '00180015');
    if (typeof bodyPart === 'string' && bodyPart.trim())
      assert.equal(series?.bodySite?.display, bodyPart.trim());
    const date = first(expected, '00080020');
    if (typeof date === 'string' && /^\d{8}$/.test(date))
      assert.ok(study.started?.startsWith(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6)}`));
    const patientId = first(expected, '00100020');
    if (typeof patientId === 'string' && patientId.trim())
      assert.equal(patient.identifier?.[0]?.value, patientId.trim());
    const patientName = first(expected, '00100010') as { Alphabetic?: string } | undefined;
    const family = patientName?.Alphabetic?.split('^')[0];
    if (family) assert.equal(patient.name?.[0]?.family, family);
  });
}

test('instances of one study merge into one ImagingStudy with per-series counts', () => {
  const mr = dicomFixtures
    .filter((f) => /^MR_small(_implicit|_bigendian)?\.dcm$/.test(f.name))
    .map((f) => parseDicom(f.bytes));
  assert.equal(mr.length, 3);
  const study = dicomToImagingStudy(mr);
  // The three encodings hold the same instance: it is counted once.
  assert.equal(study.numberOfSeries, 1);
  assert.equal(study.numberOfInstances, 1);
  const ct = parseDicom(dicomFixtures.find((f) => f.name === 'CT_small.dcm')?.bytes ?? new Uint8Array());
  const mixed = dicomToImagingStudy([mr[0] as never, ct]);
  assert.equal(mixed.numberOfSeries, 2);
  assert.deepEqual(mixed.modality?.map((m) => m.code).sort(), ['CT', 'MR']);
  assert.ok(validateFhirResource(mixed).ok);
});
