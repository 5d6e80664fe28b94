/**
 * C-CDA both ways on real data: every Synthea patient bundle of the fixtures is written as a C-CDA document and
 * read back, and what a clinician relies on must survive — name and birth date, problem, medication, allergy and
 * immunisation codes, result codes with their values. Malformed documents are refused with a precise reason.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadFhirDefinitions, validateFhirResource } from '@medbloc/core';
import type {
  AllergyIntolerance,
  Bundle,
  CodeableConcept,
  Condition,
  Immunization,
  MedicationRequest,
  Observation,
  Patient,
  Resource,
} from '@medplum/fhirtypes';
import { CcdaError, ccdaResources, ccdaToFhir, fhirToCcda, isCcda } from './index.ts';

const FIXTURES = path.resolve(fileURLToPath(new URL('../../../../', import.meta.url)), '../shared/fixtures');

async function patientBundles(): Promise<{ name: string; bundle: Bundle }[]> {
  const out: { name: string; bundle: Bundle }[] = [];
  for (const set of ['synthea', 'synthea-v3']) {
    const dir = path.join(FIXTURES, 'fhir', set);
    for (const f of (await readdir(dir)).sort()) {
      if (/Information/.test(f)) continue;
      out.push({ name: f, bundle: JSON.parse(await readFile(path.join(dir, f), 'utf8')) as Bundle });
    }
  }
  return out;
}

const ofType = <T extends Resource>(rs: Resource[], type: T['resourceType']) =>
  rs.filter((r): r is T => r.resourceType === type);
const codes = (cc: CodeableConcept | undefined) => (cc?.coding ?? []).map((c) => `${c.system}|${c.code}`);
const codesOnly = (cc: CodeableConcept | undefined) => (cc?.coding ?? []).map((c) => c.code);
const sorted = (xs: string[]) => [...xs].sort();

test('every Synthea patient survives FHIR → C-CDA → FHIR with its clinical meaning', async () => {
  loadFhirDefinitions();
  const bundles = await patientBundles();
  assert.equal(bundles.length, 35);
  const seen = { problems: 0, medications: 0, allergies: 0, immunizations: 0, results: 0 };
  for (const { name, bundle } of bundles) {
    const before = (bundle.entry ?? []).map((e) => e.resource as Resource);
    const xml = fhirToCcda(bundle, { date: '2024-01-01T00:00:00Z' });
    assert.ok(isCcda(xml), name);
    assert.match(xml, /<ClinicalDocument xmlns="urn:hl7-org:v3"/);
    const back = ccdaToFhir(xml);
    assert.equal(back.type, 'document');
    const after = ccdaResources(back);

    const [p0] = ofType<Patient>(before, 'Patient');
    const [p1] = ofType<Patient>(after, 'Patient');
    assert.equal(p1?.birthDate, p0?.birthDate, `${name}: birthDate`);
    assert.equal(p1?.name?.[0]?.family, p0?.name?.[0]?.family, `${name}: family name`);
    assert.deepEqual(p1?.name?.[0]?.given, p0?.name?.[0]?.given, `${name}: given names`);
    assert.equal(p1?.gender, p0?.gender, `${name}: gender`);

    const problems = (rs: Resource[]) =>
      sorted(
        ofType<Condition>(rs, 'Condition').flatMap((c) =>
          codes(c.code).map((code) => `${code} ${c.clinicalStatus?.coding?.[0]?.code}`),
        ),
      );
    assert.deepEqual(problems(after), problems(before), `${name}: problem codes and clinical status`);
    const ids = after.map((r) => `${r.resourceType}/${r.id}`);
    assert.equal(new Set(ids).size, ids.length, `${name}: every converted resource has its own id`);
    for (const r of after) {
      const v = validateFhirResource(r);
      assert.ok(v.ok, `${name}: ${r.resourceType} ${JSON.stringify(v.ok ? '' : v.outcome.issue?.[0])}`);
    }
    const meds = (rs: Resource[]) =>
      sorted(
        ofType<MedicationRequest>(rs, 'MedicationRequest').flatMap((m) => codes(m.medicationCodeableConcept)),
      );
    assert.deepEqual(meds(after), meds(before), `${name}: medication codes`);
    const allergies = (rs: Resource[]) =>
      sorted(ofType<AllergyIntolerance>(rs, 'AllergyIntolerance').flatMap((a) => codes(a.code)));
    assert.deepEqual(allergies(after), allergies(before), `${name}: allergy codes`);
    // CVX codes keep their value; Medplum's library names the CVX system http://nucc.org/cvx on the way back.
    const shots = (rs: Resource[]) =>
      sorted(
        ofType<Immunization>(rs, 'Immunization').map(
          (i) => `${codesOnly(i.vaccineCode).join()}@${i.occurrenceDateTime?.slice(0, 10)}`,
        ),
      );
    assert.deepEqual(shots(after), shots(before), `${name}: immunisations (CVX code and date)`);
    // Each laboratory or vital-sign value comes back under the same LOINC code with the same value and unit.
    const results = (rs: Resource[], only: boolean) =>
      ofType<Observation>(rs, 'Observation')
        .filter(
          (o) =>
            !only ||
            o.category?.some((c) =>
              c.coding?.some((x) => x.code === 'laboratory' || x.code === 'vital-signs'),
            ),
        )
        .flatMap((o) => [
          o,
          ...(o.component ?? []).map((c) => ({ ...c, resourceType: 'Observation' }) as Observation),
        ])
        .filter((o) => o.valueQuantity?.value !== undefined)
        .map((o) => `${codes(o.code)[0]}=${o.valueQuantity?.value} ${o.valueQuantity?.unit ?? ''}`);
    const back1 = new Set(results(after, false));
    const missing = results(before, true).filter((r) => !back1.has(r));
    assert.deepEqual(missing, [], `${name}: results lost`);

    seen.problems += problems(before).length;
    seen.medications += meds(before).length;
    seen.allergies += allergies(before).length;
    seen.immunizations += shots(before).length;
    seen.results += results(before, true).length;
  }
  console.log(`# compared after a C-CDA round trip: ${JSON.stringify(seen)}`);
  // The comparison covered real content of every kind.
  for (const [kind, n] of Object.entries(seen)) assert.ok(n > 5, `${kind}: ${n}`);
});

test('a resource list with literal references converts as a Bundle does', async () => {
  const giovanni = (await patientBundles()).find((b) => b.name.startsWith('Giovanni'));
  assert.ok(giovanni);
  const xml = fhirToCcda(giovanni.bundle, { title: 'For Dr Osler' });
  assert.match(xml, /<title>For Dr Osler<\/title>/);
  assert.match(xml, /Balistreri/);
  const again = ccdaResources(ccdaToFhir(xml));
  // In any order (records come back from the ledger in theirs).
  const byList = ccdaResources(ccdaToFhir(fhirToCcda([...again].reverse(), { title: 'Again' })));
  // Observations may be split differently (a vital-signs organizer and its members), so those compare by value.
  const kinds = (rs: Resource[]) =>
    sorted(
      rs.filter((r) => !['Practitioner', 'Observation'].includes(r.resourceType)).map((r) => r.resourceType),
    );
  assert.deepEqual(kinds(byList), kinds(again));
  const values = (rs: Resource[]) =>
    new Set(
      ofType<Observation>(rs, 'Observation').map(
        (o) => `${codes(o.code)[0]}=${o.valueQuantity?.value ?? ''}`,
      ),
    );
  const second = values(byList);
  assert.deepEqual(
    [...values(again)].filter((v) => !second.has(v)),
    [],
  );
});

test('malformed or foreign documents are refused with the reason', () => {
  const good = `<?xml version="1.0"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <recordTarget><patientRole><id root="1.2.3" extension="42"/>
    <patient><name><given>Ada</given><family>Lovelace</family></name>
      <administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>
      <birthTime value="18151210"/></patient>
  </patientRole></recordTarget>
</ClinicalDocument>`;
  const ok = ccdaResources(ccdaToFhir(good));
  const ada = ok.find((r) => r.resourceType === 'Patient') as Patient;
  assert.equal(ada.name?.[0]?.family, 'Lovelace');
  assert.equal(ada.birthDate, '1815-12-10');

  const truncated = good.slice(0, good.indexOf('</patientRole>'));
  assert.throws(
    () => ccdaToFhir(truncated),
    (e: unknown) =>
      e instanceof CcdaError && e.code === 'CCDA_INVALID' && /^\d+:\d+: malformed XML/.test(e.message),
  );
  assert.throws(() => ccdaToFhir(good.replace('</family>', '</famly>')), /malformed XML/);
  assert.throws(
    () => ccdaToFhir('<Bundle xmlns="http://hl7.org/fhir"><type value="document"/></Bundle>'),
    /root element is Bundle in http:\/\/hl7.org\/fhir, not ClinicalDocument/,
  );
  assert.throws(
    () => ccdaToFhir('<ClinicalDocument><recordTarget/></ClinicalDocument>'),
    /not ClinicalDocument in urn:hl7-org:v3/,
  );
  assert.throws(
    () => ccdaToFhir('<ClinicalDocument xmlns="urn:hl7-org:v3"><title>x</title></ClinicalDocument>'),
    /recordTarget\/patientRole\/patient is missing/,
  );
  assert.throws(() => ccdaToFhir(''), CcdaError);
  assert.equal(isCcda('<Bundle/>'), false);
  assert.equal(
    isCcda('\uFEFF<?xml version="1.0"?>\n<!-- c -->\n<ClinicalDocument xmlns="urn:hl7-org:v3">'),
    true,
  );
  assert.throws(
    () => fhirToCcda([{ resourceType: 'Observation', status: 'final', code: {} } as Observation]),
    /found 0 Patient/,
  );
});
