/** @medbloc/interop — converters from the formats hospitals send into FHIR R4. */
export * from './apple-health/index.ts';
export * from './ccda/index.ts';
export * from './dicom/index.ts';
export * from './fhir-xml/index.ts';
export * from './hl7v2/index.ts';
export * from './vcf/index.ts';
