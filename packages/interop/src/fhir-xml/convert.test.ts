import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { validateFhirResource } from '@medbloc/core';
import type { Observation, Patient, Resource } from '@medplum/fhirtypes';
import { FhirXmlError, fhirJsonToXml, fhirXmlToJson } from './index.ts';

const fhir = new URL('../../../../../shared/fixtures/fhir/', import.meta.url);
const xmlDir = new URL('xml/', fhir);
const pairDir = new URL('xml/json-xml-pairs/', fhir);
const read = (url: URL) => readFileSync(url, 'utf8');

test('XML of each pair reads as its JSON twin; JSON → XML → JSON is the identity', () => {
  const names = readdirSync(pairDir).filter((f) => f.endsWith('.xml'));
  assert.equal(names.length, 5);
  for (const name of names) {
    const fromXml = fhirXmlToJson(read(new URL(name, pairDir))) as Resource & {
      extension?: { url: string }[];
    };
    const json = JSON.parse(read(new URL(name.replace(/\.xml$/, '.json'), pairDir))) as Resource;
    if (name === 'observation-example.xml') {
      // Fixture difference: this XML carries a patient-age extension its JSON twin lacks. Everything else must match.
      assert.deepEqual(
        fromXml.extension?.map((e) => e.url),
        ['http://example.com/fhir/StructureDefinition/patient-age'],
      );
      delete fromXml.extension;
    }
    // Normalisation: XML decimals become JSON numbers, so `1.00` in the JSON text compares as 1 (JSON.parse does the same).
    assert.deepEqual(fromXml, json, name);
    assert.deepEqual(fhirXmlToJson(fhirJsonToXml(json)), json, `${name}: JSON → XML → JSON`);
  }
});

test('every R4 XML example converts to a resource that passes validation and round-trips', () => {
  const names = readdirSync(xmlDir).filter((f) => f.endsWith('.xml'));
  assert.equal(names.length, 15);
  for (const name of names) {
    const resource = fhirXmlToJson(read(new URL(name, xmlDir)));
    const verdict = validateFhirResource(resource);
    if (name === 'codesystem-example.xml') {
      // The fixture repeats the code "chol-mass" (its own comment says "wrong!"): the converted resource must keep
      // that and fail exactly the uniqueness invariant csd-1.
      assert.ok(!verdict.ok);
      assert.deepEqual(
        verdict.outcome.issue?.map((i) => i.details?.text?.slice(0, 25)),
        ['Constraint csd-1 not met:'],
      );
    } else {
      assert.ok(verdict.ok, `${name}: ${verdict.ok ? '' : JSON.stringify(verdict.outcome.issue)}`);
    }
    assert.deepEqual(fhirXmlToJson(fhirJsonToXml(resource)), resource, name);
  }
});

test('every official JSON example (bundles included) survives JSON → XML → JSON', () => {
  const dir = new URL('examples/', fhir);
  const names = readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(names.length >= 60);
  for (const name of names) {
    const json = JSON.parse(read(new URL(name, dir))) as Resource;
    assert.deepEqual(fhirXmlToJson(fhirJsonToXml(json)), json, name);
  }
});

test('XML details: primitive extensions, element order, attributes, choice types, decimals', () => {
  const xml = read(new URL('patient-example.xml', pairDir));
  const patient = fhirXmlToJson(xml) as Patient & { _birthDate?: { extension?: { url: string }[] } };
  assert.equal(patient.birthDate, '1974-12-25');
  assert.equal(
    patient._birthDate?.extension?.[0]?.url,
    'http://hl7.org/fhir/StructureDefinition/patient-birthTime',
  );
  assert.equal(patient.active, true);
  assert.deepEqual(patient.name?.[0]?.given, ['Peter', 'James']);

  const out = fhirJsonToXml({
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'a "quoted"\nline & <tag>' },
    valueQuantity: { value: 1.5, unit: 'g' },
    id: 'o1',
    extension: [{ url: 'http://example.org/x', valueBoolean: false }],
  } as Observation);
  // Definition order, not JSON order: id, extension, status, code, value[x].
  const order = ['<id ', '<extension ', '<status ', '<code>', '<valueQuantity>'].map((t) => out.indexOf(t));
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    order,
  );
  assert.match(out, /<extension url="http:\/\/example.org\/x">/);
  assert.match(out, /<text value="a &quot;quoted&quot;&#10;line &amp; &lt;tag&gt;"\/>/);
  const back = fhirXmlToJson(out) as Observation;
  assert.equal(back.code.text, 'a "quoted"\nline & <tag>');
  assert.equal(back.valueQuantity?.value, 1.5);
  assert.ok(validateFhirResource(back).ok);
});

test('malformed or non-FHIR XML is rejected with line and column', () => {
  const rejects = (xml: string, pattern: RegExp, line?: number) =>
    assert.throws(
      () => fhirXmlToJson(xml),
      (e: unknown) =>
        e instanceof FhirXmlError &&
        e.code === 'FHIR_XML_INVALID' &&
        pattern.test(e.message) &&
        (line === undefined || e.line === line),
    );
  rejects(
    '<Patient xmlns="http://hl7.org/fhir">\n  <id value="x">\n</Patient>',
    /^\d+:\d+: malformed XML/,
    3,
  );
  rejects('', /malformed XML|no root element/);
  rejects('<Patient><id value="x"/></Patient>', /^1:\d+: <Patient> is not in the FHIR namespace/);
  rejects('<Nonsense xmlns="http://hl7.org/fhir"/>', /not an R4 resource type/);
  rejects(
    '<Patient xmlns="http://hl7.org/fhir">\n<colour value="red"/>\n</Patient>',
    /^2:\d+: Patient: unknown element <colour>/,
    2,
  );
  rejects(
    '<Patient xmlns="http://hl7.org/fhir"><active value="yes"/></Patient>',
    /Patient\.active: boolean value must be true or false/,
  );
  rejects(
    '<Patient xmlns="http://hl7.org/fhir"><gender value="male"/><gender value="female"/></Patient>',
    /Patient\.gender: repeats/,
  );
  assert.throws(
    () => fhirJsonToXml({ resourceType: 'Patient', colour: 'red' } as unknown as Patient),
    (e: unknown) => e instanceof FhirXmlError && /Patient: unknown property "colour"/.test(e.message),
  );
});
