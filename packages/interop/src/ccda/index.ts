/** C-CDA R2.1 documents ↔ FHIR R4. */
export { ccdaResources, ccdaToFhir, type FhirToCcdaOptions, fhirToCcda, isCcda } from './convert.ts';
export { CcdaError } from './errors.ts';
