import assert from 'node:assert/strict';
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { validateFhirResource } from '@medbloc/core';
import type { Observation } from '@medplum/fhirtypes';
import type { VcfFhirResource, VcfToFhirOptions } from './convert.ts';
import { vcfToFhir } from './convert.ts';
import { VcfError } from './errors.ts';

const fixtures = new URL('../../../../../shared/fixtures/vcf/', import.meta.url);
const patientRef = 'Patient/example';

async function convert(source: AsyncIterable<Uint8Array> | string, options: Partial<VcfToFhirOptions> = {}) {
  const resources: VcfFhirResource[] = [];
  for await (const r of vcfToFhir(source, { patientRef, ...options })) resources.push(r);
  return resources;
}

const component = (o: Observation, code: string) =>
  o.component?.find((c) => c.code.coding?.[0]?.code === code);
/** chrom:pos:ref:alt of a variant Observation. */
function key(o: Observation): string {
  return [
    component(o, '48000-4')?.valueCodeableConcept?.text,
    component(o, '81254-5')?.valueRange?.low?.value,
    component(o, '69547-8')?.valueString,
    component(o, '69551-0')?.valueString,
  ].join(':');
}
const observations = (rs: VcfFhirResource[]) =>
  rs.filter((r): r is Observation => r.resourceType === 'Observation');
const normChrom = (c: string) => {
  const bare = c.replace(/^chr/i, '');
  return /^(M|MT)$/i.test(bare) ? 'MT' : bare;
};

function assertValid(resources: VcfFhirResource[]) {
  for (const r of resources) {
    const result = validateFhirResource(r);
    assert.ok(result.ok, JSON.stringify(result.ok ? '' : result.outcome.issue?.slice(0, 3)));
  }
}

const vcfFiles = ['gmod-vcf-js', 'htslib'].flatMap((dir) =>
  readdirSync(new URL(`${dir}/`, fixtures))
    .sort()
    .map((name) => ({ dir, name, url: new URL(`${dir}/${name}`, fixtures) })),
);

for (const { dir, name, url } of vcfFiles) {
  test(`${dir}/${name}: converts to valid FHIR, or is refused with a VcfError`, async () => {
    const head = readFileSync(url).subarray(0, 2);
    const isGzip = head[0] === 0x1f && head[1] === 0x8b;
    const isText = readFileSync(url, 'latin1').startsWith('##fileformat=VCF');
    let resources: VcfFhirResource[];
    try {
      resources = await convert(createReadStream(url), { includeFiltered: true });
    } catch (e) {
      assert.ok(e instanceof VcfError, String(e));
      assert.equal(e.code, 'VCF_INVALID');
      // Only non-VCF input (BCF) may be refused.
      assert.ok(!isText, `${name} refused: ${e.message}`);
      assert.match(e.message, /BCF|first line/);
      return;
    }
    assert.ok(isText || isGzip);
    assertValid(resources);
    const report = resources.at(-1);
    assert.equal(report?.resourceType, 'DiagnosticReport');
    assert.equal(
      report?.resourceType === 'DiagnosticReport' ? (report.result?.length ?? 0) : -1,
      resources.length - 1,
    );
  });
}

// bcftools query output: CHROM POS ID REF ALT QUAL FILTER INFO, one line per record.
const bcftools = readdirSync(new URL('expected-bcftools/', fixtures)).filter((f) =>
  f.endsWith('.records.tsv'),
);
for (const tsv of bcftools) {
  const [, dir, file] = /^(gmod-vcf-js|htslib)_(.+)\.records\.tsv$/.exec(tsv) ?? [];
  if (dir === undefined || file === undefined || file.endsWith('.bcf')) continue;
  const url = new URL(`${dir}/${file}`, fixtures);
  if (!existsSync(url)) continue;
  test(`${dir}/${file}: every simple allele bcftools reports becomes one Observation at the same position`, async () => {
    const expected = readFileSync(new URL(`expected-bcftools/${tsv}`, fixtures), 'utf8')
      .split('\n')
      .filter(Boolean)
      .flatMap((line) => {
        const [chrom = '', pos = '', , ref = '', alt = '', , , info = ''] = line.split('\t');
        // Structural variant records are outside what the converter turns into variant Observations.
        if (!/^[ACGTN]+$/i.test(ref) || /(^|;)SVTYPE=/.test(info)) return [];
        return alt
          .split(',')
          .filter((a) => /^[ACGTN]+$/i.test(a))
          .map((a) => `${normChrom(chrom)}:${pos}:${ref}:${a}`);
      });
    const got = observations(
      await convert(createReadStream(url), { includeFiltered: true, requireGenotype: false }),
    ).map(key);
    assert.deepEqual(got, expected);
  });
}

test('a malformed record fails with a VcfError naming its line number', async () => {
  const text =
    '##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t100\t.\tA\tG\t.\tPASS\t.\n1\tabc\t.\tA\tG\t.\tPASS\t.\n';
  await assert.rejects(
    convert(text),
    (e: unknown) => e instanceof VcfError && e.line === 4 && /line 4/.test(e.message),
  );
  const short = '##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t100\t.\tA\n';
  await assert.rejects(convert(short), (e: unknown) => e instanceof VcfError && e.line === 3);
  await assert.rejects(convert('not a vcf\n'), (e: unknown) => e instanceof VcfError && e.line === 1);
});

test('bgzip input is detected and inflated: htslib modhdr.vcf.gz equals its expected text', async () => {
  const gz = await convert(createReadStream(new URL('htslib/modhdr.vcf.gz', fixtures)));
  const text = await convert(readFileSync(new URL('htslib/modhdr.expected.vcf', fixtures), 'utf8'));
  assert.deepEqual(observations(gz).map(key), observations(text).map(key));
});

test('allelic state comes from GT: heterozygous, homozygous, hemizygous (haploid Y)', async () => {
  const text = [
    '##fileformat=VCFv4.2',
    '##reference=GRCh38',
    '#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1',
    '1\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1',
    '1\t200\t.\tC\tT\t.\tPASS\t.\tGT\t1|1',
    'Y\t300\t.\tG\tA\t.\tPASS\t.\tGT\t1',
    '1\t400\t.\tT\tC,G\t.\tPASS\t.\tGT\t1/2',
  ].join('\n');
  const obs = observations(await convert(text));
  assertValid(obs);
  const states = obs.map((o) => component(o, '53034-5')?.valueCodeableConcept?.coding?.[0]?.code);
  assert.deepEqual(states, ['LA6706-1', 'LA6705-3', 'LA6707-9', 'LA6706-1', 'LA6706-1']);
  assert.equal(
    component(obs[0] as Observation, '48013-7')?.valueCodeableConcept?.coding?.[0]?.code,
    'NC_000001.11',
  );
});

test('a 200,000-record VCF streams through in bounded memory', async () => {
  const records = 200_000;
  async function* synthetic(): AsyncGenerator<Uint8Array> {
    const enc = new TextEncoder();
    yield enc.encode(
      '##fileformat=VCFv4.2\n##reference=GRCh38\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n',
    );
    const bases = ['A', 'C', 'G', 'T'];
    for (let i = 0; i < records; i += 1000) {
      let chunk = '';
      for (let j = i; j < i + 1000; j++) {
        chunk += `1\t${j + 1}\t.\t${bases[j % 4]}\t${bases[(j + 1) % 4]}\t50\tPASS\tDP=10\tGT\t0/1\n`;
      }
      yield enc.encode(chunk);
    }
  }
  setFlagsFromString('--expose_gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const rssBefore = process.memoryUsage().rss;
  let heapAt50k = 0;
  let heapAtEnd = 0;
  let peakRss = rssBefore;
  let count = 0;
  let last: VcfFhirResource | undefined;
  for await (const r of vcfToFhir(synthetic(), { patientRef })) {
    count++;
    last = r;
    if (count % 20_000 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (count === 50_000 || count === records) {
      gc();
      if (count === 50_000) heapAt50k = process.memoryUsage().heapUsed;
      else heapAtEnd = process.memoryUsage().heapUsed;
    }
  }
  assert.equal(count, records + 1);
  assert.equal(last?.resourceType, 'DiagnosticReport');
  // What stays live is the report's list of references (~100 B a variant), not the resources: 150k more records
  // may add ~15 MiB of heap, far from the ~1 GiB that 200k retained Observations would take.
  const heapGrowth = (heapAtEnd - heapAt50k) / 2 ** 20;
  console.log(
    `heap growth ${heapGrowth.toFixed(1)} MiB, RSS growth ${((peakRss - rssBefore) / 2 ** 20).toFixed(0)} MiB`,
  );
  assert.ok(heapGrowth < 40, `live heap grew ${heapGrowth.toFixed(1)} MiB between 50k and 200k records`);
  const rssGrowth = (peakRss - rssBefore) / 2 ** 20;
  assert.ok(rssGrowth < 400, `RSS grew ${rssGrowth.toFixed(0)} MiB`);
});
