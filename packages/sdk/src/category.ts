/**
 * Record categories: what a patient shares by. The writer derives a record's category from its FHIR resource; the
 * category itself never leaves the client in the clear on chain (only the patient's opaque scope id does).
 */

export const CATEGORIES = ['labs', 'imaging', 'medications', 'notes', 'genomics', 'other'] as const;
export type Category = (typeof CATEGORIES)[number];

export function isCategory(value: unknown): value is Category {
  return typeof value === 'string' && (CATEGORIES as readonly string[]).includes(value);
}

interface Coding {
  system?: string;
  code?: string;
}
interface Concept {
  coding?: Coding[];
  text?: string;
}

const codesOf = (concepts: unknown): string[] =>
  (Array.isArray(concepts) ? (concepts as Concept[]) : concepts ? [concepts as Concept] : [])
    .flatMap((c) => c?.coding ?? [])
    .map((c) => String(c.code ?? '').toLowerCase());

/** LOINC codes of genomics reporting (variant, genotype, haplotype, genetic analysis panels). */
const GENOMICS_LOINC = new Set(['69548-6', '81247-9', '51969-4', '84413-4', '84414-2', '53041-0', '48018-6']);

function isGenomics(r: Record<string, unknown>): boolean {
  const profiles = ((r.meta as { profile?: string[] } | undefined)?.profile ?? []).join(' ');
  if (/genomics-reporting|genetic/i.test(profiles)) return true;
  if (codesOf(r.category).some((c) => c === 'ge' || c === 'genomics' || c === 'genetics')) return true;
  return codesOf(r.code).some((c) => GENOMICS_LOINC.has(c));
}

/**
 * The category of a FHIR resource: lab Observations and DiagnosticReports → labs, ImagingStudy and imaging reports →
 * imaging, Medication* → medications, DocumentReference and other DiagnosticReports → notes, genomics reporting →
 * genomics, anything else → other.
 * @example categoryOf({ resourceType: 'Observation', category: [{ coding: [{ code: 'laboratory' }] }] }) // 'labs'
 */
export function categoryOf(resource: Record<string, unknown>): Category {
  const type = String(resource.resourceType ?? '');
  if (type === 'ImagingStudy' || type === 'Media') return 'imaging';
  if (type.startsWith('Medication')) return 'medications';
  if (type === 'MolecularSequence') return 'genomics';
  if (type === 'Observation' || type === 'DiagnosticReport') {
    if (isGenomics(resource)) return 'genomics';
    const cats = codesOf(resource.category);
    if (cats.some((c) => c === 'laboratory' || c === 'lab')) return 'labs';
    if (cats.some((c) => c === 'imaging' || c === 'rad' || c === 'radiology')) return 'imaging';
    if (type === 'DiagnosticReport') return 'notes';
    return 'other';
  }
  if (type === 'DocumentReference' || type === 'ClinicalImpression' || type === 'Composition') return 'notes';
  return 'other';
}

const DATE_FIELDS = [
  'effectiveDateTime',
  'effectiveInstant',
  'occurrenceDateTime',
  'onsetDateTime',
  'authoredOn',
  'recordedDate',
  'issued',
  'started',
  'date',
  'performedDateTime',
  'created',
];
const PERIOD_FIELDS = ['effectivePeriod', 'period', 'performedPeriod', 'onsetPeriod'];

/**
 * The clinically relevant date of a FHIR resource (ISO text), if it has one. Sealed into the record's metadata, so a
 * reader can order records before opening each of them.
 */
export function clinicalDateOf(r: Record<string, unknown>): string | undefined {
  for (const f of DATE_FIELDS) {
    const v = r[f];
    if (typeof v === 'string' && v) return v;
  }
  for (const f of PERIOD_FIELDS) {
    const p = r[f] as { start?: unknown } | undefined;
    if (p && typeof p === 'object' && typeof p.start === 'string' && p.start) return p.start;
  }
  return undefined;
}
