/**
 * VCF -> FHIR R4 genomics resources per the HL7 Genomics Reporting IG: one variant `Observation` (LOINC 69548-6)
 * per called ALT allele, then one `DiagnosticReport` (81247-9) grouping them. Streaming: records are read, converted
 * and yielded one at a time, so memory does not grow with the file (only the report's list of references does).
 * Records are parsed by @gmod/vcf; this module decides what converts and builds the resources.
 */
import { createHash } from 'node:crypto';
import VCFParser from '@gmod/vcf';
import type {
  CodeableConcept,
  DiagnosticReport,
  Observation,
  ObservationComponent,
} from '@medplum/fhirtypes';
import type { BedRange } from './bed.ts';
import { parseBed, RegionFilter } from './bed.ts';
import { VcfError } from './errors.ts';
import { vcfLines } from './lines.ts';
import type { GenomeBuild } from './reference.ts';
import { BUILD_CODES, buildFromHeader, normalizeChromosome, refSeqAccession } from './reference.ts';

export interface VcfToFhirOptions {
  /** Reference to the patient, e.g. `Patient/123` or a `urn:uuid:`. */
  patientRef: string;
  /** Only records inside these BED ranges convert (BED text or parsed ranges). */
  regions?: string | readonly BedRange[];
  /** Build of the coordinates; read from the header (`##reference`, `##assembly`, `##contig`) when absent. */
  genomeBuild?: GenomeBuild;
  /** Sample column whose genotype gives the allelic state; the first sample by default. */
  sample?: string;
  /** Convert records whose FILTER is neither PASS nor `.` too (default false, as variant callers intend). */
  includeFiltered?: boolean;
  /**
   * Skip records without a GT for the sample, when the VCF has samples (default true: an uncalled site says nothing
   * about the patient). Sites-only VCFs convert either way.
   */
  requireGenotype?: boolean;
  /** Genomic source class of every variant, when known. */
  genomicSource?: 'germline' | 'somatic';
  /** Told of every data record that does not convert, with its 1-based line number and why. */
  onSkipped?: (line: number, reason: string) => void;
}

export type VcfFhirResource = Observation | DiagnosticReport;

const LOINC = 'http://loinc.org';
const VARIANT_PROFILE = 'http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/variant';
const REPORT_PROFILE = 'http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/genomics-report';
const SIMPLE_ALLELE = /^[ACGTN]+$/i;

const loinc = (code: string, display: string): CodeableConcept => ({
  coding: [{ system: LOINC, code, display }],
});

/**
 * Convert a VCF (text, or a byte stream that may be gzip/BGZF-compressed) into FHIR resources.
 *
 * @throws {VcfError} on a malformed header or record (the error names the line) or BCF input.
 * @example
 * for await (const resource of vcfToFhir(createReadStream('sample.vcf.gz'), { patientRef: 'Patient/p1' })) {
 *   bundle.entry.push({ resource });
 * }
 */
export async function* vcfToFhir(
  source: AsyncIterable<Uint8Array> | string,
  options: VcfToFhirOptions,
): AsyncGenerator<VcfFhirResource> {
  const regions =
    options.regions === undefined
      ? undefined
      : new RegionFilter(typeof options.regions === 'string' ? parseBed(options.regions) : options.regions);
  const headerLines: string[] = [];
  let build = options.genomeBuild;
  let parser: VCFParser | undefined;
  let columns = 0;
  let sampleIndex = -1;
  let lineNumber = 0;
  const results: string[] = [];
  const skip = (reason: string) => options.onSkipped?.(lineNumber, reason);

  for await (const line of vcfLines(source)) {
    lineNumber++;
    if (parser === undefined) {
      if (lineNumber === 1 && !line.startsWith('##fileformat=VCF')) {
        throw new VcfError('the first line must be ##fileformat=VCFv4.x', lineNumber);
      }
      if (line.startsWith('##')) {
        headerLines.push(line);
        build ??= buildFromHeader(line);
        continue;
      }
      if (!line.startsWith('#CHROM')) throw new VcfError('data before the #CHROM header line', lineNumber);
      const fields = line.split('\t');
      if (fields.length < 8) throw new VcfError('the #CHROM line has fewer than 8 columns', lineNumber);
      columns = fields.length;
      headerLines.push(line);
      try {
        parser = new VCFParser({ header: headerLines.join('\n'), strict: false });
      } catch (cause) {
        throw new VcfError('header does not parse', lineNumber, { cause });
      }
      sampleIndex =
        options.sample === undefined
          ? parser.samples.length > 0
            ? 0
            : -1
          : parser.samples.indexOf(options.sample);
      if (options.sample !== undefined && sampleIndex < 0)
        throw new VcfError('the requested sample is not in the header', lineNumber);
      continue;
    }
    if (line === '') continue;
    const fields = line.split('\t');
    if (fields.length < 8)
      throw new VcfError(
        `a record needs at least 8 tab-separated columns, found ${fields.length}`,
        lineNumber,
      );
    if (fields.length > columns) {
      throw new VcfError(`record has ${fields.length} columns, the header declares ${columns}`, lineNumber);
    }
    if (!/^[1-9]\d*$|^0$/.test(fields[1] ?? ''))
      throw new VcfError('POS is not a non-negative integer', lineNumber);
    let variant: ReturnType<VCFParser['parseLine']>;
    try {
      variant = parser.parseLine(line);
    } catch (cause) {
      throw new VcfError('record does not parse', lineNumber, { cause });
    }
    const chrom = variant.CHROM ?? '';
    const pos = variant.POS;
    const ref = variant.REF ?? '';
    const filter = variant.FILTER;
    const filters = filter === undefined ? [] : Array.isArray(filter) ? filter : [filter];
    if (!options.includeFiltered && filters.length > 0 && !(filters.length === 1 && filters[0] === 'PASS')) {
      skip(`FILTER ${filters.join(';')}`);
      continue;
    }
    if (!SIMPLE_ALLELE.test(ref)) {
      skip('REF is not a sequence of bases');
      continue;
    }
    if (regions !== undefined && !regions.contains(chrom, pos)) {
      skip('outside the requested regions');
      continue;
    }
    if (variant.INFO.SVTYPE !== undefined) {
      skip('structural variant (INFO SVTYPE)');
      continue;
    }
    const genotype = sampleIndex < 0 ? undefined : genotypeOf(fields, sampleIndex);
    if (sampleIndex >= 0 && genotype === undefined && options.requireGenotype !== false) {
      skip('no genotype (GT) for the sample');
      continue;
    }
    const alts = variant.ALT ?? [];
    if (alts.length === 0) skip('no ALT allele');
    for (const [i, alt] of alts.entries()) {
      if (!SIMPLE_ALLELE.test(alt)) {
        skip(
          `ALT ${alt.startsWith('<') ? 'symbolic allele' : alt.includes('[') || alt.includes(']') ? 'breakend' : 'not a sequence of bases'}`,
        );
        continue;
      }
      const observation = variantObservation({
        chrom,
        pos,
        ref,
        alt,
        allele: i + 1,
        genotype,
        build,
        options,
      });
      results.push(`Observation/${observation.id}`);
      yield observation;
    }
  }
  if (parser === undefined)
    throw new VcfError(lineNumber === 0 ? 'input is empty' : 'no #CHROM header line', lineNumber);
  yield report(results, options, lineNumber);
}

/** The GT of one sample column, as allele indices (null for `.`) and whether it is phased. */
function genotypeOf(fields: string[], sampleIndex: number): number[] | undefined {
  const format = fields[8]?.split(':') ?? [];
  const gtAt = format.indexOf('GT');
  if (gtAt < 0) return undefined;
  const gt = fields[9 + sampleIndex]?.split(':')[gtAt];
  if (gt === undefined || gt === '') return undefined;
  return gt.split(/[/|]/).map((a) => (a === '.' ? Number.NaN : Number(a)));
}

/** LOINC allelic state (53034-5) of allele `allele` in a genotype, or undefined when it is not called. */
function allelicState(
  genotype: number[] | undefined,
  allele: number,
  chrom: string,
): CodeableConcept | undefined {
  if (genotype === undefined || genotype.some(Number.isNaN)) return undefined;
  const copies = genotype.filter((a) => a === allele).length;
  if (copies === 0) return undefined;
  if (normalizeChromosome(chrom) === 'MT') {
    return copies === genotype.length ? loinc('LA6704-6', 'Homoplasmic') : loinc('LA6703-8', 'Heteroplasmic');
  }
  if (genotype.length === 1) return loinc('LA6707-9', 'Hemizygous');
  return copies === genotype.length ? loinc('LA6705-3', 'Homozygous') : loinc('LA6706-1', 'Heterozygous');
}

interface VariantInput {
  chrom: string;
  pos: number;
  ref: string;
  alt: string;
  allele: number;
  genotype: number[] | undefined;
  build: GenomeBuild | undefined;
  options: VcfToFhirOptions;
}

function variantObservation(v: VariantInput): Observation {
  const component: ObservationComponent[] = [];
  const add = (code: string, display: string, value: Omit<ObservationComponent, 'code'>) =>
    component.push({ code: loinc(code, display), ...value });
  const accession = v.build === undefined ? undefined : refSeqAccession(v.chrom, v.build);
  if (v.build !== undefined) {
    const b = BUILD_CODES[v.build];
    add('62374-4', 'Human reference sequence assembly version', {
      valueCodeableConcept: loinc(b.code, b.display),
    });
  }
  if (accession !== undefined) {
    add('48013-7', 'Genomic reference sequence ID', {
      valueCodeableConcept: { coding: [{ system: 'http://www.ncbi.nlm.nih.gov/nuccore', code: accession }] },
    });
    add('81252-9', 'Discrete genetic variant', {
      valueCodeableConcept: {
        coding: [
          {
            system: 'https://api.ncbi.nlm.nih.gov/variation/v0/',
            code: `${accession}:${v.pos - 1}:${v.ref}:${v.alt}`,
          },
        ],
      },
    });
  }
  add('48000-4', 'Chromosome', { valueCodeableConcept: { text: normalizeChromosome(v.chrom) } });
  add('92822-6', 'Genomic coordinate system', {
    valueCodeableConcept: loinc('LA30102-0', '1-based character counting'),
  });
  add('81254-5', 'Variant exact start-end', {
    valueRange: { low: { value: v.pos }, high: { value: v.pos + v.ref.length - 1 } },
  });
  add('69547-8', 'Genomic ref allele [ID]', { valueString: v.ref });
  add('69551-0', 'Genomic alt allele [ID]', { valueString: v.alt });
  const state = allelicState(v.genotype, v.allele, v.chrom);
  if (state !== undefined) add('53034-5', 'Allelic state', { valueCodeableConcept: state });
  if (v.options.genomicSource !== undefined) {
    const source =
      v.options.genomicSource === 'germline' ? loinc('LA6683-2', 'Germline') : loinc('LA6684-0', 'Somatic');
    add('48002-0', 'Genomic source class', { valueCodeableConcept: source });
  }
  return {
    resourceType: 'Observation',
    id: stableId(v.options.patientRef, v.chrom, String(v.pos), v.ref, v.alt),
    meta: { profile: [VARIANT_PROFILE] },
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
        ],
      },
    ],
    code: loinc('69548-6', 'Genetic variant assessment'),
    subject: { reference: v.options.patientRef },
    valueCodeableConcept: loinc('LA9633-4', 'Present'),
    component,
  };
}

function report(results: string[], options: VcfToFhirOptions, lines: number): DiagnosticReport {
  const dr: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    id: stableId(options.patientRef, 'report', String(lines), String(results.length), results[0] ?? ''),
    meta: { profile: [REPORT_PROFILE] },
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'GE', display: 'Genetics' },
        ],
      },
    ],
    code: loinc('81247-9', 'Master HL7 genetic variant reporting panel'),
    subject: { reference: options.patientRef },
  };
  if (results.length > 0) dr.result = results.map((reference) => ({ reference }));
  return dr;
}

/** A deterministic id (64 hex chars max 64): converting the same file twice yields the same resources. */
function stableId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}
