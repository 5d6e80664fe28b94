import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { validateFhirResource } from '@medbloc/core';
import type { Bundle, Observation, Resource } from '@medplum/fhirtypes';
import { vcfToFhir } from './convert.ts';
import type { GenomeBuild } from './reference.ts';

const pairs = new URL('../../../../../shared/fixtures/vcf/vcf2fhir-pairs/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, pairs), 'utf8');

/**
 * vcf2fhir's own functional tests: input VCF, the regions they converted and the build they passed. vcf2fhir
 * reports variants as somatic by default and drops filtered records; we ask for the same.
 */
const cases: { expected: string; vcf: string; regions?: string; build: GenomeBuild }[] = [
  { expected: 'expected_example1_with_patient.json', vcf: 'vcf_example1.vcf', build: 'GRCh37' },
  {
    expected: 'expected_example3.json',
    vcf: 'vcf_example3.vcf',
    regions: 'RegionsToConvert_example3.bed',
    build: 'GRCh38',
  },
  {
    expected: 'expected_example4.json',
    vcf: 'vcf_example4.vcf',
    regions: 'RegionsToConvert_example4.bed',
    build: 'GRCh38',
  },
  { expected: 'expected_fhir_germline_structural.json', vcf: 'vcf_structural_variants.vcf', build: 'GRCh37' },
  {
    expected: 'expected_annotation.json',
    vcf: 'NB6TK328_filtered.vcf',
    regions: 'NB6TK328_conversion_region.bed',
    build: 'GRCh38',
  },
];

const code = (o: Observation, loinc: string) => o.component?.find((c) => c.code.coding?.[0]?.code === loinc);
/** accession:start:ref:alt, the meaning both tools must agree on. */
const key = (o: Observation) =>
  [
    code(o, '48013-7')?.valueCodeableConcept?.coding?.[0]?.code,
    code(o, '81254-5')?.valueRange?.low?.value,
    code(o, '69547-8')?.valueString,
    code(o, '69551-0')?.valueString,
  ].join(':');
const isVariant = (r: Resource): r is Observation =>
  r.resourceType === 'Observation' && r.code.coding?.[0]?.code === '69548-6';

test('agreement with vcf2fhir on which variants a VCF holds (positions, alleles, reference sequence)', async () => {
  let expectedTotal = 0;
  let oursTotal = 0;
  let common = 0;
  // Structural variants (SVTYPE records) are outside what we convert: counted apart.
  let simpleExpected = 0;
  let simpleOurs = 0;
  let simpleCommon = 0;
  const lines: string[] = [];
  for (const c of cases) {
    const bundle = JSON.parse(read(c.expected)) as { contained?: Resource[] } & Partial<Bundle>;
    const expected = new Set((bundle.contained ?? []).filter(isVariant).map(key));
    const ours: Observation[] = [];
    for await (const r of vcfToFhir(read(c.vcf), {
      patientRef: 'Patient/example',
      genomeBuild: c.build,
      genomicSource: 'somatic',
      ...(c.regions ? { regions: read(c.regions) } : {}),
    })) {
      assert.ok(validateFhirResource(r).ok);
      if (isVariant(r)) ours.push(r);
    }
    const mine = new Set(ours.map(key));
    const both = [...expected].filter((k) => mine.has(k)).length;
    expectedTotal += expected.size;
    oursTotal += mine.size;
    common += both;
    if (!c.vcf.includes('structural')) {
      simpleExpected += expected.size;
      simpleOurs += mine.size;
      simpleCommon += both;
    }
    lines.push(`${c.vcf}: vcf2fhir ${expected.size}, ours ${mine.size}, common ${both}`);
  }
  const recall = common / expectedTotal;
  const precision = common / oursTotal;
  const simpleRecall = simpleCommon / simpleExpected;
  const simplePrecision = simpleCommon / simpleOurs;
  console.log(
    `${lines.join('\n')}\nall: recall ${recall.toFixed(3)} precision ${precision.toFixed(3)}` +
      `\nsmall variants: recall ${simpleRecall.toFixed(3)} precision ${simplePrecision.toFixed(3)}`,
  );
  // Measured: small variants 23/23 found, 1 extra (a heteroplasmic MT call vcf2fhir drops); overall 23/37.
  assert.ok(simpleRecall >= 1, `small-variant recall ${simpleRecall}`);
  assert.ok(simplePrecision >= 0.95, `small-variant precision ${simplePrecision}`);
  assert.ok(recall >= 0.6, `recall ${recall}`);
  assert.ok(precision >= 0.95, `precision ${precision}`);
});
