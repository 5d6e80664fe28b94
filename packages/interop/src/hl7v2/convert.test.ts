import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isMedblocError, validateFhirResource } from '@medbloc/core';
import type { Bundle, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { type Agreement, compareBundles } from './agreement.ts';
import { convertHl7v2, Hl7v2Error, Hl7v2UnsupportedError } from './index.ts';

const fixtures = new URL('../../../../../shared/fixtures/hl7v2/', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, fixtures), 'utf8');

function resources(bundle: Bundle): Resource[] {
  return (bundle.entry ?? []).map((e) => e.resource as Resource);
}

/** Every resource (and the bundle) passes R4 validation; every urn:uuid reference resolves inside the bundle. */
function assertValidBundle(bundle: Bundle, name: string): void {
  const urls = new Set((bundle.entry ?? []).map((e) => e.fullUrl));
  for (const r of resources(bundle)) {
    const v = validateFhirResource(r);
    assert.ok(v.ok, `${name}: ${r.resourceType} invalid: ${v.ok ? '' : JSON.stringify(v.outcome.issue)}`);
  }
  assert.ok(validateFhirResource(bundle).ok, `${name}: bundle invalid`);
  for (const ref of JSON.stringify(bundle).match(/"reference":"urn:uuid:[0-9a-f-]+"/g) ?? []) {
    assert.ok(urls.has(ref.slice(13, -1)), `${name}: dangling ${ref}`);
  }
}

test('every fixture message converts to valid FHIR R4 or is rejected as unsupported', () => {
  const files = readdirSync(new URL('messages/', fixtures)).sort();
  let converted = 0;
  const unsupported: string[] = [];
  for (const f of files) {
    let result: ReturnType<typeof convertHl7v2>;
    try {
      result = convertHl7v2(read(`messages/${f}`));
    } catch (e) {
      assert.ok(e instanceof Hl7v2UnsupportedError, `${f}: ${(e as Error).message}`);
      assert.equal(e.code, 'HL7V2_UNSUPPORTED');
      assert.match(e.message, /^line 1 \(MSH\): unsupported message type [A-Z]{3}\^[A-Z0-9]{3}$/);
      unsupported.push(e.messageType);
      continue;
    }
    assert.equal(result.bundle.type, 'collection');
    assert.ok(
      resources(result.bundle).some((r) => r.resourceType === 'Patient'),
      `${f}: no Patient`,
    );
    assertValidBundle(result.bundle, f);
    converted++;
  }
  console.log(
    `hl7v2 fixtures: ${converted}/${files.length} converted and valid, ${unsupported.length} unsupported (${[...new Set(unsupported)].join(' ')})`,
  );
  // Measured: 116 of 139 convert (ADT, ORU, OUL, VXU, ORM, OML, OMG, MDM, SIU); 23 are BAR/DFT/PPR/RDE/RDS/REF.
  assert.ok(converted >= 116, `only ${converted} converted`);
  assert.equal(converted + unsupported.length, files.length);
});

test('agrees with the reference converter on identity, demographics and observations', () => {
  const dir = new URL('v2-to-fhir-pairs/', fixtures);
  const agreement: Agreement = {};
  for (const pair of readdirSync(dir).sort()) {
    const expected = JSON.parse(
      readFileSync(new URL(`${pair}/expected-microsoft.json`, dir), 'utf8'),
    ) as Bundle;
    let bundle: Bundle;
    try {
      bundle = convertHl7v2(readFileSync(new URL(`${pair}/input.hl7`, dir), 'utf8')).bundle;
    } catch (e) {
      assert.ok(isMedblocError(e, 'HL7V2_UNSUPPORTED'), `${pair}: ${(e as Error).message}`);
      continue;
    }
    compareBundles(bundle, expected, agreement);
  }
  const rate = (field: string) => {
    const t = agreement[field];
    assert.ok(t && t.total > 0, `no comparisons for ${field}`);
    return t.agree / t.total;
  };
  console.log(
    Object.entries(agreement)
      .map(([k, t]) => `${k} ${t.agree}/${t.total}`)
      .join('; '),
  );
  // Floors are the measured figures. Given names differ where the reference adds XPN-15 ("called by") to given.
  assert.equal(rate('patient.identifier'), 1);
  assert.equal(rate('patient.name.family'), 1);
  assert.equal(rate('patient.birthDate'), 1);
  assert.equal(rate('patient.gender'), 1);
  assert.ok(rate('patient.name.given') >= 0.5);
  assert.ok(rate('observation.code') >= 0.78);
  assert.ok(rate('observation.value') >= 0.73);
  assert.equal(rate('observation.unit'), 1);
  assert.equal(rate('count.Patient') >= 0.95, true);
  assert.equal(rate('count.Encounter'), 1);
  assert.equal(rate('count.AllergyIntolerance'), 1);
  assert.equal(rate('count.Immunization'), 1);
  assert.equal(rate('count.Appointment'), 1);
});

test('reads CR, LF and CRLF line endings and a UTF-8 BOM alike', () => {
  const unix = convertHl7v2(read('linuxforhealth/sample_unix.hl7'));
  const win = convertHl7v2(read('linuxforhealth/sample_win.hl7'));
  assertValidBundle(win.bundle, 'sample_win');
  const patientOf = (b: Bundle) => resources(b).find((r) => r.resourceType === 'Patient') as Patient;
  assert.deepEqual(patientOf(win.bundle).name, patientOf(unix.bundle).name);
  assert.equal(patientOf(win.bundle).birthDate, '1980-02-02');
  assert.deepEqual(
    resources(win.bundle).map((r) => r.resourceType),
    resources(unix.bundle).map((r) => r.resourceType),
  );

  const lf = read('messages/LAB-ORU-1.hl7');
  assert.equal(lf.charCodeAt(0), 0xfeff, 'fixture starts with a BOM');
  const variants = [lf, lf.slice(1), lf.replace(/\n/g, '\r'), lf.slice(1).replace(/\n/g, '\r\n')];
  const bundles = variants.map((t) => convertHl7v2(t).bundle);
  // Ids derive from the exact text, so compare with each entry's id replaced by its position.
  const shape = (b: Bundle) => {
    let json = JSON.stringify(resources(b));
    (b.entry ?? []).forEach((e, i) => {
      json = json.replaceAll((e.fullUrl ?? '').slice(9), `#${i}`);
    });
    return JSON.parse(json);
  };
  for (const b of bundles.slice(1)) assert.deepEqual(shape(b), shape(bundles[0] as Bundle));
});

test('OBX values keep their type, units, reference range, flags and status', () => {
  const { bundle } = convertHl7v2(read('messages/LAB-ORU-1.hl7'));
  assertValidBundle(bundle, 'LAB-ORU-1');
  const obs = resources(bundle).filter((r): r is Observation => r.resourceType === 'Observation');
  // OBX|2|NM|11273-0^ERYTHROCYTES^LN||4.06|tera.l-1||N|||P|||20141006062700+0700
  const rbc = obs.find((o) => o.code.coding?.[0]?.code === '11273-0') as Observation;
  assert.equal(rbc.code.coding?.[0]?.system, 'http://loinc.org');
  assert.deepEqual(rbc.valueQuantity, { value: 4.06, unit: 'tera.l-1' });
  assert.equal(rbc.status, 'preliminary');
  assert.equal(rbc.interpretation?.[0]?.coding?.[0]?.code, 'N');
  assert.equal(rbc.effectiveDateTime, '2014-10-06T06:27:00+07:00');
  // OBX|1|NM|11156-7^LEUKOCYTES^LN||||||||I| : registered, no value yet
  const wbc = obs.find((o) => o.code.coding?.[0]?.code === '11156-7') as Observation;
  assert.equal(wbc.status, 'registered');
  assert.equal(wbc.valueQuantity, undefined);
  // Both OBR groups become reports that list their own results.
  const reports = resources(bundle).filter((r) => r.resourceType === 'DiagnosticReport');
  assert.equal(reports.length, 2);
  assert.deepEqual(
    reports.map((r) => (r as { result?: unknown[] }).result?.length),
    [5, 5],
  );

  const adt = convertHl7v2(read('messages/ADT-A01-01.hl7')).bundle;
  // OBX|27|NM|8867-4^heartrate^LN||60~120|beats/min^^ISO|70-80|A^A^HL7nnnn~B^B|||S|...
  const hr = resources(adt).find((r) => r.resourceType === 'Observation') as Observation;
  assert.equal(hr.valueQuantity?.value, 60);
  assert.deepEqual(hr.referenceRange?.[0]?.low, { value: 70, unit: 'beats/min' });
  assert.deepEqual(hr.referenceRange?.[0]?.high, { value: 80, unit: 'beats/min' });
  assert.equal(hr.status, 'preliminary');
});

test('vaccinations, documents, appointments and orders map to their resources', () => {
  const vxu = convertHl7v2(read('messages/VXU.hl7')).bundle;
  assertValidBundle(vxu, 'VXU');
  const imms = resources(vxu).filter(
    (r) => r.resourceType === 'Immunization',
  ) as import('@medplum/fhirtypes').Immunization[];
  assert.equal(imms.length, 3);
  // RXA|0|1|20150624||49281-0215-88^TENIVAC^NDC|0.5|mL^mL^UCUM||00^New Record^NIP001|...|315841|20151216|PMC^Sanofi Pasteur^MVX|||CP|A
  const first = imms[0] as import('@medplum/fhirtypes').Immunization;
  assert.equal(first.vaccineCode.coding?.[0]?.system, 'http://hl7.org/fhir/sid/ndc');
  assert.equal(first.occurrenceDateTime, '2015-06-24');
  assert.equal(first.lotNumber, '315841');
  assert.equal(first.doseQuantity?.value, 0.5);
  assert.equal(first.primarySource, true);
  assert.equal(first.route?.coding?.[0]?.code, 'C28161');

  const mdm = convertHl7v2(read('messages/MDM-T02-01.hl7')).bundle;
  assertValidBundle(mdm, 'MDM-T02-01');
  const doc = resources(mdm).find(
    (r) => r.resourceType === 'DocumentReference',
  ) as import('@medplum/fhirtypes').DocumentReference;
  assert.equal(doc.masterIdentifier?.value, '1.2.840.317.5947431.51.20080131160038');
  assert.equal(doc.docStatus, 'final');
  assert.ok(doc.content.some((c) => c.attachment.contentType === 'application/pdf'));

  const siu = convertHl7v2(read('messages/SIU-S12-01.hl7')).bundle;
  assertValidBundle(siu, 'SIU-S12-01');
  const appt = resources(siu).find(
    (r) => r.resourceType === 'Appointment',
  ) as import('@medplum/fhirtypes').Appointment;
  assert.equal(appt.status, 'booked');
  assert.equal(appt.start, '2021-09-24T09:30:00+02:15');
  assert.equal(appt.end, '2021-09-24T10:20:00+02:15');
  assert.ok(
    appt.participant.some(
      (p) => p.actor?.reference?.startsWith('urn:uuid:') && p.actor.display?.includes('Robert'),
    ),
  );

  const orm = convertHl7v2(read('messages/ORM-O01-01.hl7')).bundle;
  assertValidBundle(orm, 'ORM-O01-01');
  const sr = resources(orm).find(
    (r) => r.resourceType === 'ServiceRequest',
  ) as import('@medplum/fhirtypes').ServiceRequest;
  assert.equal(sr.code?.coding?.[0]?.code, '24725-4');
  assert.deepEqual(
    sr.identifier?.map((i) => [i.type?.coding?.[0]?.code, i.value]),
    [
      ['PLAC', '1101'],
      ['FILL', '1201'],
    ],
  );
  assert.equal(sr.status, 'active');
});

test('the same message always gives the same bundle', () => {
  const text = read('messages/ADT-A01-01.hl7');
  assert.deepEqual(convertHl7v2(text), convertHl7v2(text));
});

test('malformed input is rejected with the line and segment', () => {
  const bad = (text: string, pattern: RegExp) =>
    assert.throws(
      () => convertHl7v2(text),
      (e: unknown) => e instanceof Hl7v2Error && e.code === 'HL7V2_INVALID' && pattern.test(e.message),
    );
  bad('', /^line 1 \(\?\): empty message/);
  bad('PID|1||123\r', /^line 1 \(PID\): a message must start with an MSH segment/);
  bad(
    'MSH|^~\\&|A|B|C|D|20200101||ADT^A01|1|P|2.5\nEVN|A01\nnot a segment\n',
    /^line 3 \(\?\): line is not a segment/,
  );
  bad('MSH|^~\\&|A|B|C|D|20200101||ADT^A01|1|P|2.5\nPV1|1|I\n', /^line 2 \(PV1\): PV1 needs a patient/);
  bad('MSH|^~\\&|A|B|C|D|20200101||||1|P|2.5\n', /^line 1 \(MSH\): MSH-9/);
  bad(
    'MSH|^~\\&|A|B|C|D|20200101||VXU^V04|1|P|2.5\nPID|1||1^^^X^MR||Doe^J\nRXA|0|1|20200101||\n',
    /^line 3 \(RXA\): RXA-5/,
  );
  assert.throws(
    () => convertHl7v2('MSH|^~\\&|A|B|C|D|20200101||ACK^A01|1|P|2.5\nMSA|AA|1\n'),
    (e: unknown) => isMedblocError(e, 'HL7V2_UNSUPPORTED') && /ACK\^A01/.test(e.message),
  );
});

test('escape sequences are resolved and times without a zone take the zone of MSH-7', () => {
  const text = [
    'MSH|^~\\&|A|B|C|D|20200101120000+0100||ORU^R01|1|P|2.5',
    'PID|1||77^^^X^MR||O\\T\\Brien^Ann||19700101|F',
    'OBR|1||F1|1234-5^Panel^LN|||202001011000',
    'OBX|1|ST|5678-9^Note^LN||a\\F\\b\\S\\c\\E\\d\\.br\\e||||||F',
    'OBX|2|SN|1111-1^Ratio^LN||^1^:^128||||||F',
    'OBX|3|SN|2222-2^Lt^LN||<^5|mg/dL^^UCUM|||||F',
  ].join('\r');
  const { bundle } = convertHl7v2(text);
  assertValidBundle(bundle, 'inline');
  const all = resources(bundle);
  assert.equal((all.find((r) => r.resourceType === 'Patient') as Patient).name?.[0]?.family, 'O&Brien');
  const obs = all.filter((r): r is Observation => r.resourceType === 'Observation');
  assert.equal(obs[0]?.valueString, 'a|b^c\\d\ne');
  assert.equal(obs[0]?.effectiveDateTime, '2020-01-01T10:00:00+01:00');
  assert.deepEqual(obs[1]?.valueRatio, { numerator: { value: 1 }, denominator: { value: 128 } });
  assert.deepEqual(obs[2]?.valueQuantity, {
    value: 5,
    comparator: '<',
    unit: 'mg/dL',
    system: 'http://unitsofmeasure.org',
    code: 'mg/dL',
  });
});
