/** VCF -> FHIR Genomics Reporting resources, streaming. */
export type { BedRange } from './bed.ts';
export { parseBed } from './bed.ts';
export type { VcfFhirResource, VcfToFhirOptions } from './convert.ts';
export { vcfToFhir } from './convert.ts';
export { VcfError } from './errors.ts';
export type { GenomeBuild } from './reference.ts';
export { refSeqAccession } from './reference.ts';
